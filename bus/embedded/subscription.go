package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/internal/commit"
)

const readChunk = 64 << 10

// subscription is a consumer group member or a group-less reader.
type subscription struct {
	b       *Bus
	t       *topic
	g       *group // nil for a reader
	start   bus.Start
	tracker *commit.Tracker

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	closeDone chan struct{}

	mu      sync.Mutex
	cursors []*cursor // per partition; nil where not owned
	owned   []int     // partitions with a cursor, for round robin
	rr      int
	changed chan struct{} // closed (and replaced) on reassignment and Close
}

func newSubscription(b *Bus, t *topic, opts bus.SubscribeOptions) *subscription {
	return &subscription{
		b: b, t: t, start: opts.Start,
		cursors:   make([]*cursor, len(t.parts)),
		changed:   make(chan struct{}),
		closeDone: make(chan struct{}),
	}
}

// signal wakes Receive calls waiting on the old assignment. s.mu is held.
func (s *subscription) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// assign makes s read partition p from offset off (group rebalance).
func (s *subscription) assign(p int, off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cursors[p] == nil {
		s.owned = append(s.owned, p)
	}
	s.cursors[p] = &cursor{p: s.t.parts[p], next: off}
	s.tracker.Start(p, off)
	s.signal()
}

// release takes partition p away from s.
func (s *subscription) release(p int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursors[p] = nil
	for i, q := range s.owned {
		if q == p {
			s.owned = append(s.owned[:i], s.owned[i+1:]...)
			break
		}
	}
	s.tracker.Stop(p)
	s.signal()
}

// Receive returns the next written message of the partitions s reads.
func (s *subscription) Receive(ctx context.Context) (*bus.Delivery, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, changed, err := s.next()
		if d != nil || err != nil {
			return d, err
		}
		// Nothing ready: take the wake-up channel first, then look again,
		// so an append between the two is not missed.
		wake := s.t.waitChan()
		if d, changed, err = s.next(); d != nil || err != nil {
			return d, err
		}
		select {
		case <-wake:
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// next returns a ready delivery, or nil and the channel that announces a
// change of assignment.
func (s *subscription) next() (*bus.Delivery, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, nil, bus.ErrClosed
	}
	n := len(s.owned)
	for i := 0; i < n; i++ {
		p := s.owned[(s.rr+i)%n]
		c := s.cursors[p]
		m, h, rec, err := c.read()
		if err != nil {
			if errors.Is(err, bus.ErrClosed) {
				return nil, nil, err
			}
			return nil, nil, fmt.Errorf("embedded: read %s/%d at offset %d: %w", s.t.name, p, c.next, err)
		}
		if m == nil {
			continue
		}
		s.rr = (s.rr + i + 1) % n
		var ack func() error
		if s.g != nil {
			s.tracker.Delivered(p, h.offset)
			ack = s.acker(p, h.offset)
		}
		if rec != nil {
			if ack == nil {
				// No group, nothing to acknowledge: every such
				// subscription gets the record's one delivery.
				return &rec.d, nil, nil
			}
			return bus.NewSharedDelivery(*m, s.t.name, p, h.offset, time.Unix(0, h.unixNano), ack, &rec.memo), nil, nil
		}
		return bus.NewDelivery(*m, s.t.name, p, h.offset, time.Unix(0, h.unixNano), ack), nil, nil
	}
	return nil, s.changed, nil
}

func (s *subscription) acker(p int, off int64) func() error {
	return func() error {
		if s.closed.Load() {
			return bus.ErrClosed
		}
		s.tracker.Ack(p, off)
		return nil
	}
}

// Close leaves the group (its partitions go to the other members) and
// writes the group's committed offsets.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		defer close(s.closeDone)
		s.mu.Lock()
		s.closed.Store(true)
		s.signal()
		s.mu.Unlock()
		if s.g != nil {
			s.g.leave(s)
			s.closeErr = s.g.flush()
		}
		s.b.removeSub(s)
	})
	<-s.closeDone
	return s.closeErr
}

// cursor reads one partition from a position, never past the written end:
// from the partition's tail cache when it holds the next record, else
// through pread, a chunk at a time.
type cursor struct {
	p    *partition
	next int64    // offset of the next record to deliver
	seg  *segment // nil: locate next on the next read
	buf  []byte   // frames read from seg starting at file position bufPos
	bpos int      // next unread byte of buf
	at   int64    // file position of buf[0]
}

var errNoData = errors.New("no data")

// read returns the next record, or nil if none is written yet. A record
// from the tail cache comes with its cachedRecord, whose delivery and memo
// its deliveries share (and its Message is shared: read-only); one read
// from the files with a nil cachedRecord.
func (c *cursor) read() (*bus.Message, frameHead, *cachedRecord, error) {
	for c.next < c.p.end.Load() {
		if r := c.p.tail.get(c.next); r != nil {
			h := frameHead{offset: c.next, unixNano: r.unixNano}
			c.next++
			// The file position is stale now; locate again if the ring
			// ever moves past this cursor.
			c.seg, c.buf, c.bpos = nil, c.buf[:0], 0
			return &r.d.Message, h, r, nil
		}
		if rest := c.buf[c.bpos:]; len(rest) >= 4 {
			if l := frameLen(rest); l > 0 && 4+l <= len(rest) {
				h, err := checkFrame(rest)
				if err != nil {
					return nil, h, nil, &CorruptionError{File: c.seg.path, Pos: c.at + int64(c.bpos), Offset: c.next, Reason: err.Error()}
				}
				frame := rest[:h.size]
				c.bpos += h.size
				if h.offset < c.next {
					continue // reading forward from an index entry
				}
				if h.offset != c.next {
					return nil, h, nil, &CorruptionError{File: c.seg.path, Pos: c.at + int64(c.bpos-h.size), Offset: c.next,
						Reason: fmt.Sprintf("record holds offset %d", h.offset)}
				}
				m, err := decodeMessage(frame)
				if err != nil {
					return nil, h, nil, &CorruptionError{File: c.seg.path, Pos: c.at + int64(c.bpos-h.size), Offset: c.next, Reason: err.Error()}
				}
				c.next++
				return &m, h, nil, nil
			}
		}
		if err := c.fill(); err != nil {
			if err == errNoData {
				return nil, frameHead{}, nil, nil
			}
			return nil, frameHead{}, nil, err
		}
	}
	return nil, frameHead{}, nil, nil
}

// fill reads the next chunk of frames into buf, moving to the next segment
// at the end of a sealed one, and jumping forward when retention deleted
// the segment being read.
func (c *cursor) fill() error {
	p := c.p
	if c.seg == nil {
		s, pos, from := p.locate(c.next)
		if from > c.next {
			c.next = from
		}
		c.seg, c.at, c.buf, c.bpos = s, pos, c.buf[:0], 0
	}
	p.segMu.RLock()
	defer p.segMu.RUnlock()
	s := c.seg
	if s.deleted {
		if p.isStopped() {
			return bus.ErrClosed
		}
		c.seg = nil // deleted by retention: relocate
		return nil
	}
	pos := c.at + int64(c.bpos)
	size := s.size.Load()
	if pos >= size {
		if !s.sealed.Load() {
			return errNoData
		}
		for i, x := range p.segs {
			if x == s && i+1 < len(p.segs) {
				c.seg, c.at, c.buf, c.bpos = p.segs[i+1], 0, c.buf[:0], 0
				return nil
			}
		}
		return errNoData
	}
	need := readChunk
	if rest := c.buf[c.bpos:]; len(rest) >= 4 {
		need = max(need, 4+frameLen(rest))
	}
	n := int(min(int64(need), size-pos))
	if cap(c.buf) < n {
		c.buf = make([]byte, n)
	}
	c.buf = c.buf[:n]
	if err := s.readAt(c.buf, pos); err != nil {
		c.buf = c.buf[:0]
		return err
	}
	c.at, c.bpos = pos, 0
	return nil
}
