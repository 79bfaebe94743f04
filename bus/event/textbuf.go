package event

import (
	"math"
	"time"
	"unsafe"
)

// TextBuf keeps strings for a view's records in one byte buffer, each
// named by its offset and length, so that records which hold those two
// numbers instead of strings have no pointers: the collector marks the
// buffer and the records' array and scans neither. A view that keeps
// thousands of such records (a conversation's thread) costs the
// collector two objects instead of one per string and one scan per
// record.
//
// String returns a string sharing the buffer, without a copy. That is
// safe because bytes once written are never written again: Add appends
// past everything written, and Compact copies the live bytes into a new
// buffer, leaving the old one to the strings still using it.
//
// The zero TextBuf is empty and ready to use. It is not safe for
// concurrent use; strings it returned are.
type TextBuf struct {
	buf  []byte
	dead int // bytes no record refers to any more (Drop)
}

// MaxTextBuf is the most bytes a TextBuf holds: offsets are 32-bit.
const MaxTextBuf = math.MaxUint32

// Add appends ss, one after the other, and returns the offset of the
// first; ok is false, and nothing is added, if they would take the buffer
// past MaxTextBuf (a caller may Compact and try again).
func (t *TextBuf) Add(ss ...string) (off uint32, ok bool) {
	n := 0
	for _, s := range ss {
		n += len(s)
	}
	if len(t.buf)+n > MaxTextBuf {
		return 0, false
	}
	off = uint32(len(t.buf))
	for _, s := range ss {
		t.buf = append(t.buf, s...)
	}
	return off, true
}

// String returns the n bytes at off, sharing the buffer.
func (t *TextBuf) String(off, n uint32) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&t.buf[off], int(n))
}

// Drop notes that no record refers to n bytes any more.
func (t *TextBuf) Drop(n uint32) { t.dead += int(n) }

// Wasteful reports whether at least half the buffer is dropped bytes: a
// view compacts then, so that compacting costs at most one copy of each
// byte added.
func (t *TextBuf) Wasteful() bool { return t.dead > 0 && 2*t.dead >= len(t.buf) }

// Len returns the bytes the buffer holds, dropped ones included, and the
// dropped ones.
func (t *TextBuf) Len() (held, dropped int) { return len(t.buf), t.dead }

// Compact copies the bytes still used into a new buffer. spans is called
// once and calls keep for every span its records refer to, setting each
// record's offset to what keep returns.
func (t *TextBuf) Compact(spans func(keep func(off, n uint32) uint32)) {
	buf := make([]byte, 0, len(t.buf)-t.dead)
	spans(func(off, n uint32) uint32 {
		at := uint32(len(buf))
		buf = append(buf, t.buf[off:off+n]...)
		return at
	})
	t.buf, t.dead = buf, 0
}

// noTime is PackTime's number for the zero time.Time, which UnixNano
// cannot hold.
const noTime = math.MinInt64

// PackTime returns t as a number, for records that keep their strings in
// a TextBuf and so hold no pointer: Unix nanoseconds, or a number of its
// own for the zero time. UnpackTime reverses it.
func PackTime(t time.Time) int64 {
	if t.IsZero() {
		return noTime
	}
	return t.UnixNano()
}

// UnpackTime returns the time PackTime packed as n, in UTC.
func UnpackTime(n int64) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
