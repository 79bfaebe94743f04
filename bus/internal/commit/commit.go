// Package commit turns acknowledgements of single messages, in any order,
// into the offsets a consumer group may commit: a partition's committed
// offset only moves past a message once it and every message delivered
// before it in that partition are acknowledged.
package commit

import (
	"sort"
	"sync"
)

// Tracker follows the delivered and acknowledged offsets of the partitions
// one group member reads. It is safe for concurrent use.
type Tracker struct {
	mu    sync.Mutex
	parts map[int]*partition
}

type partition struct {
	pending []entry // delivered, not yet committable, in offset order
	next    int64   // offset to commit: all before it are acknowledged
	dirty   bool    // next moved since the last Committable call
}

type entry struct {
	offset int64
	acked  bool
}

// New returns an empty tracker.
func New() *Tracker { return &Tracker{parts: make(map[int]*partition)} }

// Start begins tracking partition p, whose reading resumes at offset next.
// It forgets whatever was tracked for p before.
func (t *Tracker) Start(p int, next int64) {
	t.mu.Lock()
	t.parts[p] = &partition{next: next}
	t.mu.Unlock()
}

// Stop forgets partition p (it was handed to another member).
func (t *Tracker) Stop(p int) {
	t.mu.Lock()
	delete(t.parts, p)
	t.mu.Unlock()
}

// Delivered records that offset of partition p was handed to the consumer.
// Offsets of one partition are delivered in increasing order. It reports
// false if p is not tracked.
func (t *Tracker) Delivered(p int, offset int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.parts[p]
	if pt == nil {
		return false
	}
	pt.pending = append(pt.pending, entry{offset: offset})
	return true
}

// Ack records that offset of partition p is handled. It reports false if p
// is not tracked (any more) or the offset was never delivered, which happens
// when a partition moved to another member before the ack: that member will
// deliver the message again.
func (t *Tracker) Ack(p int, offset int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.parts[p]
	if pt == nil {
		return false
	}
	i := sort.Search(len(pt.pending), func(i int) bool { return pt.pending[i].offset >= offset })
	if i == len(pt.pending) || pt.pending[i].offset != offset {
		return false
	}
	pt.pending[i].acked = true
	n := 0
	for n < len(pt.pending) && pt.pending[n].acked {
		n++
	}
	if n > 0 {
		pt.next = pt.pending[n-1].offset + 1
		pt.dirty = true
		// Drop the committable prefix; copy down so the backing array does
		// not grow without bound on a long-lived subscription.
		rest := copy(pt.pending, pt.pending[n:])
		clear(pt.pending[rest:])
		pt.pending = pt.pending[:rest]
	}
	return true
}

// Committable returns, for each partition whose committable offset moved
// since the last call, the offset to commit (the next one to read). It
// resets the moved flags, so a caller whose commit fails calls Reset.
func (t *Tracker) Committable() map[int]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out map[int]int64
	for p, pt := range t.parts {
		if pt.dirty {
			if out == nil {
				out = make(map[int]int64)
			}
			out[p] = pt.next
			pt.dirty = false
		}
	}
	return out
}

// Redo marks partitions as moved again after a failed commit, so the next
// Committable call returns them.
func (t *Tracker) Redo(offsets map[int]int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for p := range offsets {
		if pt := t.parts[p]; pt != nil {
			pt.dirty = true
		}
	}
}

// Next returns the offset to commit for partition p and whether p is tracked.
func (t *Tracker) Next(p int) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pt := t.parts[p]
	if pt == nil {
		return 0, false
	}
	return pt.next, true
}

// Outstanding returns how many delivered messages of partition p await an ack.
func (t *Tracker) Outstanding(p int) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pt := t.parts[p]; pt != nil {
		return len(pt.pending)
	}
	return 0
}
