package inbox

import "sync/atomic"

// maxIdleWorkers bounds the goroutines kept waiting for the next reply
// frame. Replies take a few milliseconds (until the bus has the message
// durably), so at a thousand agents answering a few a second each, some
// tens are busy at once.
const maxIdleWorkers = 64

// workers runs tasks (the reply frames' work) on goroutines it keeps for
// the next task instead of a new goroutine each: a new one starts with a
// small stack and grows it (copying it) on the deep reply path every
// time, which cost the hub some 2 % of its CPU under the chat bench. At
// most maxIdleWorkers wait; the rest end after their task, and every one
// once done is closed (the inbox stopped).
type workers struct {
	tasks chan func()
	done  <-chan struct{}
	idle  atomic.Int32
}

func newWorkers(done <-chan struct{}) *workers {
	return &workers{tasks: make(chan func()), done: done}
}

// run runs f on a waiting goroutine, or on a new one if none waits.
func (w *workers) run(f func()) {
	select {
	case w.tasks <- f:
	default:
		go w.work(f)
	}
}

func (w *workers) work(f func()) {
	for {
		f()
		if w.idle.Add(1) > maxIdleWorkers {
			w.idle.Add(-1)
			return
		}
		select {
		case f = <-w.tasks:
			w.idle.Add(-1)
		case <-w.done:
			w.idle.Add(-1)
			return
		}
	}
}
