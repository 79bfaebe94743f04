package wsock

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// pair starts a server socket driven by a Writer and returns the client
// end. The server reads (answering pings with pongs, telling the Writer of
// each frame it hears) until the client goes.
func pair(t *testing.T, cfg Config) (*Writer, *websocket.Conn) {
	t.Helper()
	got := make(chan *Writer, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{WriteBufferPool: &sync.Pool{}}).Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		w := New(ws, cfg)
		got <- w
		go func() {
			for {
				if _, _, err := ws.ReadMessage(); err != nil {
					w.Close(websocket.CloseAbnormalClosure, "")
					return
				}
				w.Heard()
			}
		}()
	}))
	t.Cleanup(srv.Close)
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return <-got, c
}

func read(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func closeCode(t *testing.T, c *websocket.Conn) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Text
		}
		if err != nil {
			t.Fatalf("expected a close frame, got %v", err)
		}
	}
}

func TestFramesArriveInOrder(t *testing.T) {
	const n = 500
	w, c := pair(t, Config{Queue: n, WriteTimeout: time.Second})
	go func() {
		for i := range n {
			if !w.Send([]byte(fmt.Sprint(i))) {
				t.Error("frame refused")
				return
			}
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // let the writer go idle now and then
			}
		}
	}()
	for i := range n {
		if got := read(t, c); got != fmt.Sprint(i) {
			t.Fatalf("frame %d is %q", i, got)
		}
	}
}

func TestCloseWritesQueuedFramesThenTheCode(t *testing.T) {
	w, c := pair(t, Config{Queue: 8, WriteTimeout: time.Second})
	w.Send([]byte("one"))
	w.Send([]byte("two"))
	w.Close(websocket.CloseGoingAway, "server stopping")
	if w.Send([]byte("three")) {
		t.Error("a closing writer took a frame")
	}
	if a, b := read(t, c), read(t, c); a != "one" || b != "two" {
		t.Fatalf("got %q, %q", a, b)
	}
	if code, text := closeCode(t, c); code != websocket.CloseGoingAway || text != "server stopping" {
		t.Fatalf("close %d %q", code, text)
	}
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed")
	}
}

func TestSlowReaderIsDisconnected(t *testing.T) {
	w, c := pair(t, Config{Queue: 4, WriteTimeout: time.Second})
	big := []byte(strings.Repeat("x", 64<<10))
	refused := false
	// The client does not read: once the socket buffers are full the
	// queue fills and the writer gives up on the peer.
	for range 10000 {
		if !w.Send(big) {
			refused = true
			break
		}
	}
	if !refused {
		t.Fatal("the queue never filled")
	}
	closedAsSlowReader(t, w, c)
}

func TestPings(t *testing.T) {
	_, c := pair(t, Config{Queue: 4, WriteTimeout: time.Second, PingInterval: 20 * time.Millisecond})
	pings := make(chan struct{}, 10)
	c.SetPingHandler(func(string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return nil
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for range 3 {
		select {
		case <-pings:
		case <-time.After(5 * time.Second):
			t.Fatal("no ping")
		}
	}
}

// A peer that keeps talking is not pinged; once it falls quiet it is,
// within the interval.
func TestSocketHeardFromIsNotPinged(t *testing.T) {
	// A frame every twentieth of the interval: only a stall of over half
	// the interval (three quarters, less a frame's gap) on a loaded
	// machine could let a ping through.
	const interval = 500 * time.Millisecond
	_, c := pair(t, Config{Queue: 4, WriteTimeout: time.Second, PingInterval: interval})
	var mu sync.Mutex
	var pings []time.Time
	c.SetPingHandler(func(string) error {
		mu.Lock()
		pings = append(pings, time.Now())
		mu.Unlock()
		return nil
	})
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(pings)
	}
	// Talking for six intervals.
	stop := time.Now().Add(6 * interval)
	for time.Now().Before(stop) {
		if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(interval / 20)
	}
	quiet := time.Now()
	if n := count(); n != 0 {
		t.Fatalf("%d pings to a peer that spoke every %s (interval %s)", n, interval/20, interval)
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pings in 5s once the peer fell quiet", count())
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	first := pings[0].Sub(quiet)
	mu.Unlock()
	if first < interval/2 {
		t.Errorf("first ping %s after the peer's last frame, before three quarters of the %s interval", first, interval)
	}
}

func TestPingWaitsAreSpread(t *testing.T) {
	w := &Writer{cfg: Config{PingInterval: time.Minute}}
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := w.pingWait()
		if d < 45*time.Second || d > time.Minute {
			t.Fatalf("ping wait %s outside [45s, 1m]", d)
		}
		seen[d] = true
	}
	if len(seen) < 900 {
		t.Fatalf("%d distinct waits in 1,000: sockets opened together would ping together", len(seen))
	}
}

func TestIdleWriterHasNoGoroutine(t *testing.T) {
	w, c := pair(t, Config{Queue: 4, WriteTimeout: time.Second})
	w.Send([]byte("hi"))
	read(t, c)
	deadline := time.Now().Add(5 * time.Second)
	for w.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the flush goroutine did not end with an empty queue")
		}
		time.Sleep(time.Millisecond)
	}
	w.Send([]byte("again"))
	if got := read(t, c); got != "again" {
		t.Fatalf("got %q", got)
	}
}

func TestBrokenConnection(t *testing.T) {
	w, c := pair(t, Config{Queue: 64, WriteTimeout: time.Second})
	c.Close()
	// The server's reader sees the peer go and closes without a close
	// frame; later sends are refused.
	select {
	case <-w.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the peer went")
	}
	if w.Send([]byte("late")) {
		t.Error("a closed writer took a frame")
	}
}

// TestReaderReadsWholeMessages sends messages of sizes around the
// Reader's first buffer and its kept limit, in one frame and in
// fragments, and a message over the read limit: each arrives whole and
// typed as ReadMessage would give it, small buffers are reused and a large
// one is not kept.
func TestReaderReadsWholeMessages(t *testing.T) {
	type got struct {
		typ  int
		data string
		cap  int
		err  error
	}
	out := make(chan got, 32)
	const limit = 64 << 10
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(rw, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		ws.SetReadLimit(limit)
		var rd Reader
		for {
			typ, data, err := rd.Read(ws)
			out <- got{typ, string(data), cap(rd.buf), err}
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteByte("abcdefghijklmnopqrstuvwxyz"[i%26])
		}
		return b.String()
	}
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 5000, 2, 40000, 3} {
		msg := body(n)
		if n%2 == 0 {
			// In fragments: each Write of a NextWriter past the
			// writer's buffer goes out as a frame of its own.
			w, err := c.NextWriter(websocket.TextMessage)
			if err != nil {
				t.Fatal(err)
			}
			for part := range strings.SplitSeq(msg, "m") {
				w.Write([]byte(part))
				w.Write([]byte("m"))
			}
			w.Close()
			msg += "m"
		} else if err := c.WriteMessage(websocket.BinaryMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		g := <-out
		wantTyp := websocket.BinaryMessage
		if n%2 == 0 {
			wantTyp = websocket.TextMessage
		}
		if g.err != nil || g.typ != wantTyp || g.data != msg {
			t.Fatalf("message of %d bytes: got type %d, %d bytes, err %v", len(msg), g.typ, len(g.data), g.err)
		}
		if kept := len(msg) <= keptBuffer; kept != (g.cap > 0) || g.cap > keptBuffer {
			t.Errorf("after a message of %d bytes the Reader keeps a buffer of %d", len(msg), g.cap)
		}
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(body(limit+1))); err != nil {
		t.Fatal(err)
	}
	if g := <-out; !errors.Is(g.err, websocket.ErrReadLimit) {
		t.Fatalf("message over the read limit: err %v, want ErrReadLimit", g.err)
	}
}

// closedAsSlowReader checks that w is closing after its queue filled, then
// closes the client end and waits for w to finish.
func closedAsSlowReader(t *testing.T, w *Writer, c *websocket.Conn) {
	t.Helper()
	select {
	case <-w.Closing():
	default:
		t.Fatal("a full queue did not close the socket")
	}
	c.Close()
	select {
	case <-w.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed")
	}
}
