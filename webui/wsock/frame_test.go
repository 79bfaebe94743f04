package wsock

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSizeClass(t *testing.T) {
	for _, tc := range []struct{ size, class int }{
		{0, 0}, {1, 0}, {512, 0}, {513, 1}, {1024, 1}, {1025, 2},
		{16 << 10, 5}, {32 << 10, 6}, {32<<10 + 1, -1}, {1 << 20, -1},
	} {
		if got := sizeClass(tc.size); got != tc.class {
			t.Errorf("sizeClass(%d) = %d, want %d", tc.size, got, tc.class)
		}
		if f := NewFrame(tc.size); cap(f.B) < tc.size || len(f.B) != 0 {
			t.Errorf("NewFrame(%d): len %d cap %d", tc.size, len(f.B), cap(f.B))
		}
	}
}

func TestFrameReferences(t *testing.T) {
	f := NewFrame(10)
	f.retain()
	f.Release()
	f.Release()
	mustPanic(t, "retain after the last release", f.retain)
	g := NewFrame(10)
	g.Release()
	mustPanic(t, "a second release", g.Release)
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}

// waitReleased waits until every reference to f is released.
func waitReleased(t *testing.T, f *Frame) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.refs.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("frame still has %d references", f.refs.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSharedFrameReachesEverySocketThenIsReleased(t *testing.T) {
	var ws []*Writer
	var cs []*websocket.Conn
	for range 3 {
		w, c := pair(t, Config{Queue: 8, WriteTimeout: time.Second})
		ws, cs = append(ws, w), append(cs, c)
	}
	f := NewFrame(64)
	f.B = append(f.B, `{"type":"message","text":"bonjour"}`...)
	for _, w := range ws {
		if !w.SendFrame(f) {
			t.Fatal("frame refused")
		}
	}
	f.Release()
	for i, c := range cs {
		if got := read(t, c); got != `{"type":"message","text":"bonjour"}` {
			t.Fatalf("socket %d got %q", i, got)
		}
	}
	waitReleased(t, f)
}

func TestFramesRefusedOrDroppedAreReleased(t *testing.T) {
	w, c := pair(t, Config{Queue: 4, WriteTimeout: time.Second})
	big := strings.Repeat("x", 16<<10)
	var sent []*Frame
	for range 10000 {
		f := NewFrame(len(big))
		f.B = append(f.B, big...)
		ok := w.SendFrame(f)
		f.Release()
		sent = append(sent, f)
		if !ok {
			break
		}
	}
	closedAsSlowReader(t, w, c)
	// Written, dropped by the slow reader's close, or refused: each
	// frame's references are all given back (a frame back in the pool may
	// have been handed out again, and released again since).
	for _, f := range sent {
		waitReleased(t, f)
	}
	f := NewFrame(1)
	if w.SendFrame(f) {
		t.Error("a closed writer took a frame")
	}
	f.Release()
	waitReleased(t, f)
}
