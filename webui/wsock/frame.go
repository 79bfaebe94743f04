package wsock

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Frame is a frame's bytes in a pooled buffer, for the frames the hub
// writes for every message (an agent's copy of a customer's message, the
// answer to a reply, a visitor's acknowledgement): at thousands of
// messages a second, a new slice for each made a good part of the garbage
// that sets how often the collector runs.
//
// A Frame counts its references. NewFrame returns one held by the caller;
// SendFrame takes another for the socket, released once the frame is
// written or dropped. Whoever holds a reference calls Release once, and
// the buffer returns to the pool with the last one. Nothing may read B
// after releasing its reference.
type Frame struct {
	// B is the frame: append to B[:0] before the frame is first sent, and
	// never change it after.
	B    []byte
	refs atomic.Int32
}

// Pooled buffers go by size class, powers of two from minPooled to
// maxPooled bytes; a buffer holds at least its class's size. A larger
// frame gets a buffer of its own that is not kept.
const (
	minPooledShift = 9  // 512 B
	maxPooledShift = 15 // 32 KiB
)

var framePools [maxPooledShift - minPooledShift + 1]sync.Pool

// NewFrame returns a frame with an empty B of at least size bytes'
// capacity, and one reference, the caller's.
func NewFrame(size int) *Frame {
	c := sizeClass(size)
	var f *Frame
	if c >= 0 {
		if v, ok := framePools[c].Get().(*Frame); ok {
			f = v
		}
	}
	if f == nil {
		n := size
		if c >= 0 {
			n = 1 << (c + minPooledShift)
		}
		f = &Frame{B: make([]byte, 0, n)}
	}
	f.refs.Store(1)
	return f
}

// sizeClass is the pool holding buffers of at least size bytes, or -1.
func sizeClass(size int) int {
	shift := bits.Len(uint(max(size, 1) - 1))
	if shift > maxPooledShift {
		return -1
	}
	return max(shift, minPooledShift) - minPooledShift
}

// retain adds a reference.
func (f *Frame) retain() {
	if f.refs.Add(1) <= 1 {
		panic("wsock: frame retained after its last release")
	}
}

// Release gives up one reference; the last returns the buffer to its
// pool.
func (f *Frame) Release() {
	switch n := f.refs.Add(-1); {
	case n > 0:
		return
	case n < 0:
		panic("wsock: frame released more often than referenced")
	}
	// B may have outgrown its first class while being appended to; it
	// goes back in the largest class its capacity fills.
	shift := bits.Len(uint(cap(f.B))) - 1
	if shift < minPooledShift || shift > maxPooledShift {
		return
	}
	f.B = f.B[:0]
	framePools[shift-minPooledShift].Put(f)
}
