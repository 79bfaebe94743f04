package bus

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// Do computes once for every caller, concurrent ones too; after Forget
// the next caller computes again, and callers that had the old value keep
// it.
func TestMemoOnceAndForget(t *testing.T) {
	var m Memo
	var calls atomic.Int32
	build := func() (any, error) {
		calls.Add(1)
		return new(int), nil
	}
	var wg sync.WaitGroup
	vals := make([]any, 8)
	for i := range vals {
		wg.Go(func() { vals[i], _ = m.Do(build) })
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("8 concurrent callers built %d times", calls.Load())
	}
	for _, v := range vals {
		if v != vals[0] {
			t.Fatal("callers got different values")
		}
	}
	m.Forget()
	v, err := m.Do(build)
	if err != nil || calls.Load() != 2 || v == vals[0] {
		t.Fatalf("after Forget: %d builds, same value %v, err %v", calls.Load(), v == vals[0], err)
	}
	if again, _ := m.Do(build); again != v || calls.Load() != 2 {
		t.Fatal("the value computed after Forget is not kept")
	}
	m.Forget()
	m.Forget() // forgetting nothing is fine
	if _, _ = m.Do(build); calls.Load() != 3 {
		t.Fatalf("%d builds after a second Forget, want 3", calls.Load())
	}
}

// An error is kept like a value; a panicking computation panics on its
// caller's goroutine and leaves errMemoPanicked for later callers.
func TestMemoErrorAndPanic(t *testing.T) {
	var m Memo
	boom := errors.New("boom")
	calls := 0
	for range 2 {
		if _, err := m.Do(func() (any, error) { calls++; return nil, boom }); err != boom {
			t.Fatalf("err = %v", err)
		}
	}
	if calls != 1 {
		t.Fatalf("an error was computed %d times", calls)
	}

	var p Memo
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic did not reach the caller")
			}
		}()
		p.Do(func() (any, error) { panic("decoder bug") })
	}()
	if _, err := p.Do(func() (any, error) { return 1, nil }); err != errMemoPanicked {
		t.Fatalf("after a panic: err = %v", err)
	}
	// Forget lets the next caller try again.
	p.Forget()
	if v, err := p.Do(func() (any, error) { return 1, nil }); v != 1 || err != nil {
		t.Fatalf("after Forget: %v, %v", v, err)
	}
}
