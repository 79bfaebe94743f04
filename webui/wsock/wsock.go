// Package wsock writes frames to a server-side WebSocket from a bounded
// queue, for the hub's sockets with many idle peers (chat visitors, agent
// inboxes).
//
// A socket has no goroutine of its own while it has nothing to write: a
// writer goroutine is started when a frame, a ping or a close is due and
// ends when the queue is empty. With 10,000 visitors connected and a few
// hundred of them written to at any moment, this keeps only the busy
// sockets' stacks in memory. Frames are never dropped silently: a peer
// that does not read fast enough to keep its queue below the limit is
// disconnected with 1013 ("slow reader"), so a slow browser cannot hold up
// whoever enqueues.
package wsock

import (
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Config sets a Writer's limits.
type Config struct {
	// Queue is how many frames may wait for the socket; one more closes it
	// as a slow reader. At least 1.
	Queue int
	// WriteTimeout bounds each write, the close frame included.
	WriteTimeout time.Duration
	// PingInterval is how long a socket may stay quiet before it is
	// pinged, and pinged again; 0 sends none. A peer heard from (see Heard)
	// has proved itself alive, so a socket in use is not pinged at all.
	// Each wait is drawn between three quarters of the interval and the
	// whole of it, so that sockets opened together (every client
	// reconnecting after a restart) do not ping together. The reader
	// extends its read deadline on each frame and each pong.
	PingInterval time.Duration
}

// Slow-reader close reason: such a socket is closed without writing the
// frames still queued.
const slowReader = "slow reader"

// Writer owns the writing side of one WebSocket. Its methods are safe for
// concurrent use and never block on the network, so they may be called
// with a caller's lock held.
type Writer struct {
	ws  *websocket.Conn
	cfg Config

	mu sync.Mutex
	// queue holds the frames waiting, in order. It is allocated when a
	// frame is due and dropped when drained: most of a hub's sockets are
	// idle, and a channel of Queue slots for each would hold (and have the
	// GC scan) memory for frames that never come.
	queue   []queued
	pingDue atomic.Bool
	running atomic.Bool // a flush goroutine is (or is about to be) running
	ping    *time.Timer
	// heard is when the last frame came from the peer (Heard), as time
	// since epoch.
	heard atomic.Int64

	once    sync.Once
	code    int
	text    string
	closing chan struct{} // closed by Close
	closed  chan struct{} // closed once the socket is closed
}

// New starts writing to ws. The caller keeps reading ws in its own
// goroutine and calls Close when it is done.
func New(ws *websocket.Conn, cfg Config) *Writer {
	if cfg.Queue < 1 {
		cfg.Queue = 1
	}
	w := &Writer{ws: ws, cfg: cfg, closing: make(chan struct{}), closed: make(chan struct{})}
	if cfg.PingInterval > 0 {
		w.ping = time.AfterFunc(w.pingWait(), w.pingTimer)
	}
	return w
}

// epoch is the origin of Writer.heard: times since it are monotonic.
var epoch = time.Now()

// Heard tells the writer that a frame came from the peer, which proves
// the peer alive: the next ping waits for the socket to be quiet a whole
// interval again.
func (w *Writer) Heard() { w.heard.Store(int64(time.Since(epoch))) }

// pingTimer asks for a ping, unless the peer was heard from within the
// last three quarters of the interval: then it waits again, counting from
// that frame.
func (w *Writer) pingTimer() {
	if isClosed(w.closing) {
		return
	}
	quiet := time.Since(epoch) - time.Duration(w.heard.Load())
	if quiet < w.cfg.PingInterval-w.cfg.PingInterval/4 {
		w.ping.Reset(w.pingWait() - quiet)
		return
	}
	w.pingDue.Store(true)
	w.kick()
}

// pingWait is one wait of the ping timer: between three quarters of the
// interval and the interval.
func (w *Writer) pingWait() time.Duration {
	return w.cfg.PingInterval - rand.N(w.cfg.PingInterval/4+1)
}

// queued is a frame waiting for the socket, with its Frame if it came
// through SendFrame.
type queued struct {
	b []byte
	f *Frame
}

// release gives up the queue's reference to a pooled frame.
func (q queued) release() {
	if q.f != nil {
		q.f.Release()
	}
}

// Send queues the text frame f and reports whether it was taken. A full
// queue closes the socket (1013, slow reader); a closing socket takes
// nothing. f must not be changed afterwards; the same slice may be sent to
// many sockets.
func (w *Writer) Send(f []byte) bool {
	return w.enqueue(queued{b: f})
}

// SendFrame is Send for a pooled frame: the socket takes a reference of
// its own, released once f is written or dropped, and the caller still
// releases its own. (A frame taken just as a closing socket finished
// draining is never released: the collector frees it instead of the pool
// getting it back, which costs nothing else.)
func (w *Writer) SendFrame(f *Frame) bool {
	f.retain()
	if !w.enqueue(queued{b: f.B, f: f}) {
		f.Release()
		return false
	}
	return true
}

func (w *Writer) enqueue(q queued) bool {
	select {
	case <-w.closing:
		return false
	default:
	}
	w.mu.Lock()
	if len(w.queue) >= w.cfg.Queue {
		w.mu.Unlock()
		w.Close(websocket.CloseTryAgainLater, slowReader)
		return false
	}
	w.queue = append(w.queue, q)
	w.mu.Unlock()
	w.kick()
	return true
}

// next takes the oldest queued frame, if any.
func (w *Writer) next() (queued, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return queued{}, false
	}
	f := w.queue[0]
	w.queue[0] = queued{}
	w.queue = w.queue[1:]
	if len(w.queue) == 0 {
		w.queue = nil
	}
	return f, true
}

// pending reports whether frames are queued.
func (w *Writer) pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue) > 0
}

// Close writes the frames still queued (unless the peer was too slow to
// read them), then a close frame with code and text, and closes the
// socket. code websocket.CloseAbnormalClosure closes without a close
// frame, for a connection already broken. Only the first call counts; it
// returns at once, and Done tells when the socket is closed.
func (w *Writer) Close(code int, text string) {
	w.once.Do(func() {
		w.code, w.text = code, text
		close(w.closing)
	})
	w.kick()
}

// Closing is closed as soon as Close is called.
func (w *Writer) Closing() <-chan struct{} { return w.closing }

// Done is closed once the socket is closed.
func (w *Writer) Done() <-chan struct{} { return w.closed }

// kick makes sure a flush goroutine will look at the queue, the ping and
// the close.
func (w *Writer) kick() {
	if w.running.CompareAndSwap(false, true) {
		go w.flush()
	}
}

// flush writes until there is nothing to do, or closes the socket. Once it
// has closed the socket it leaves running set, so no other flush starts.
func (w *Writer) flush() {
	for {
		select {
		case <-w.closing:
			w.finish()
			return
		default:
		}
		if w.pingDue.Swap(false) {
			if w.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(w.cfg.WriteTimeout)) != nil {
				w.broken()
				return
			}
			w.ping.Reset(w.pingWait())
			continue
		}
		if q, ok := w.next(); ok {
			written := w.write(q.b)
			q.release()
			if !written {
				w.broken()
				return
			}
			continue
		}
		w.running.Store(false)
		// A Send, ping or Close between the checks above and the store
		// found running set and left its work to this goroutine: look
		// again, unless another flush has started since.
		if !w.pending() && !w.pingDue.Load() && !isClosed(w.closing) {
			return
		}
		if !w.running.CompareAndSwap(false, true) {
			return
		}
	}
}

func (w *Writer) write(f []byte) bool {
	w.ws.SetWriteDeadline(time.Now().Add(w.cfg.WriteTimeout))
	return w.ws.WriteMessage(websocket.TextMessage, f) == nil
}

// broken closes after a failed write: the connection is gone, so nothing
// more is written.
func (w *Writer) broken() {
	w.once.Do(func() {
		w.code, w.text = websocket.CloseAbnormalClosure, ""
		close(w.closing)
	})
	w.finish()
}

// finish drains the queue as Close promises, writes the close frame and
// closes the socket.
func (w *Writer) finish() {
	if w.ping != nil {
		w.ping.Stop()
	}
	drain := w.code != websocket.CloseAbnormalClosure && w.text != slowReader
	for q, ok := w.next(); ok; q, ok = w.next() {
		if drain && !w.write(q.b) {
			drain = false
		}
		q.release()
	}
	if w.code != websocket.CloseAbnormalClosure {
		w.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(w.code, w.text), time.Now().Add(w.cfg.WriteTimeout))
	}
	w.ws.Close()
	close(w.closed)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// keptBuffer is the largest buffer a Reader keeps between messages; a
// larger message's buffer is dropped once read, so that one big frame does
// not stay in memory for the life of an idle socket.
const keptBuffer = 4 << 10

// Reader reads whole messages from a socket, as websocket.Conn.ReadMessage
// does, into a buffer it reuses instead of a new slice per message: the
// hub's read loops decode each frame at once and keep nothing of its
// bytes. A Reader belongs to one read loop.
type Reader struct {
	buf []byte
}

// Read reads the next message from ws. data is valid until the next Read;
// the errors are ws.ReadMessage's (websocket.ErrReadLimit for a message
// over the read limit).
func (r *Reader) Read(ws *websocket.Conn) (messageType int, data []byte, err error) {
	messageType, mr, err := ws.NextReader()
	if err != nil {
		return messageType, nil, err
	}
	data = r.buf[:0]
	if cap(data) == 0 {
		data = make([]byte, 0, 512)
	}
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := mr.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err != nil {
			if cap(data) <= keptBuffer {
				r.buf = data[:0]
			} else {
				r.buf = nil
			}
			if err == io.EOF {
				return messageType, data, nil
			}
			return messageType, nil, err
		}
	}
}
