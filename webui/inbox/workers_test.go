package inbox

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Tasks one after another run on one kept goroutine; tasks at once each
// get a goroutine, and never wait for one another; no more than
// maxIdleWorkers stay; every one ends once done is closed.
func TestWorkersReuseGoroutines(t *testing.T) {
	done := make(chan struct{})
	w := newWorkers(done)
	base := runtime.NumGoroutine()

	ran := make(chan struct{})
	w.run(func() { ran <- struct{}{} })
	<-ran
	waitIdle(t, w, 1)
	before := goroutinesCreated()
	for range 100 {
		time.Sleep(time.Millisecond) // for the worker to reach its wait
		w.run(func() { ran <- struct{}{} })
		<-ran
		waitIdle(t, w, 1)
	}
	// A few for the runtime's own, or a worker not yet waiting in a stall.
	if n := goroutinesCreated() - before; n > 10 {
		t.Fatalf("100 tasks in turn created %d goroutines, want them run on the kept one", n)
	}

	// Twice maxIdleWorkers tasks at once, each blocked until all started.
	const at = 2 * maxIdleWorkers
	var started, release sync.WaitGroup
	started.Add(at)
	release.Add(1)
	for range at {
		w.run(func() {
			started.Done()
			release.Wait()
		})
	}
	started.Wait() // would hang if a task waited for another's goroutine
	release.Done()
	waitIdle(t, w, maxIdleWorkers)
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base+maxIdleWorkers {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want at most %d idle workers more than the %d before", runtime.NumGoroutine(), maxIdleWorkers, base)
		}
		time.Sleep(time.Millisecond)
	}

	close(done)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after done, want the %d before", runtime.NumGoroutine(), base)
		}
		time.Sleep(time.Millisecond)
	}
	w.run(func() { ran <- struct{}{} }) // still runs, on a goroutine of its own
	<-ran
}

// waitIdle waits until at least n workers wait (or are about to wait) for
// a task.
func waitIdle(t *testing.T, w *workers, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for w.idle.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d idle workers, want %d", w.idle.Load(), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
}
