package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

const (
	// pendingLimit is how many encoded bytes may wait for a partition's
	// committer before publishers wait for room.
	pendingLimit = 16 << 20
	// keepBuffer is the largest write buffer the committer keeps for reuse.
	keepBuffer = 8 << 20
	// keepMessages is the most batch message slots (bus.Message values)
	// the committer keeps for reuse.
	keepMessages = 64 << 10
	// firstSegment is the size of a partition's first segment, and of a
	// segment made on the spot when no spare is ready; the spares prepared
	// in the background double in size up to SegmentBytes, so an idle
	// topic takes little disk and a busy one reaches full segments fast.
	firstSegment = 1 << 20
)

// partition is one append-only log: a directory of segments, the bus-wide
// goroutine that group-commits what publishers enqueue, and the written end
// readers may read up to.
type partition struct {
	b   *Bus
	t   *topic
	id  int
	dir string

	// Publishing side, guarded by mu.
	mu      sync.Mutex
	room    *sync.Cond // signalled when the committer takes the pending batch
	pend    *batch
	nextOff int64  // offset the next enqueued record gets
	stopped bool   // the bus is closing: enqueue refuses
	failed  error  // a write failed: the partition refuses publishes
	freeBuf []byte // the committer's last buffer, for the next batch
	queued  bool   // p is in the committer's queue
	// freeMsgs is the committer's last batch's message slice, cleared,
	// for the next batch.
	freeMsgs []bus.Message

	// segMu guards segs, segment.idx and segment.deleted. The committer is
	// the only one that changes them.
	segMu sync.RWMutex
	segs  []*segment // oldest first; the last one is written
	// act is the segment being written (the last of segs), owned by the
	// committer (and by open and stop, before and after it runs).
	act *segment
	// end is the offset after the last record written to the write-ahead
	// log and to the segment (maybe only in the page cache; the syncer
	// makes it durable later). Readers never read at or past it.
	end atomic.Int64
	// ckptNext is the offset up to which the last checkpoint made the
	// segments durable on their own.
	ckptNext atomic.Int64

	// spare is the next segment file, being allocated and zero-filled in
	// the background (committer-owned; nil if none).
	spare *spare

	// tail holds the most recent records (see
	// tailcache.go); cacheScratch is the committer's buffer for filling it.
	tail         tailCache
	cacheScratch []*cachedRecord
}

// spare is a segment file prepared ahead of need under a temporary name.
type spare struct {
	path string
	f    *os.File
	size int64
	err  error
	done chan struct{}
}

// batch is the records enqueued between two writes.
type batch struct {
	buf   []byte
	first int64 // offset of the first record
	n     int
	// msgs are the messages the publishers handed over, one per frame of
	// buf and in the same order, kept for the tail cache so that it holds
	// the publishers' bytes instead of a decoded copy of the frames (see
	// cacheChunk). Batches made otherwise (WAL replay) have none. The
	// committer clears it once the batch is written.
	msgs []bus.Message
	done chan struct{}
	err  error
}

func newBatch(buf []byte, msgs []bus.Message, first int64) *batch {
	return &batch{buf: buf[:0], msgs: msgs[:0], first: first, done: make(chan struct{})}
}

// kept returns the messages of the cnt frames from offset off, or nil if
// the batch did not keep its messages.
func (bt *batch) kept(off int64, cnt int) []bus.Message {
	if len(bt.msgs) != bt.n {
		return nil
	}
	i := int(off - bt.first)
	return bt.msgs[i : i+cnt : i+cnt]
}

// openPartition loads (or creates) partition id of t, checking every
// segment. Records before offset trusted (the last checkpoint) must be
// intact; after it the last segment may hold anything a crash left of
// writes that were never synced on their own: that is cut, and the
// write-ahead log replay writes it again.
func openPartition(b *Bus, t *topic, id int, trusted int64) (*partition, error) {
	p := &partition{
		b: b, t: t, id: id,
		dir: filepath.Join(t.dir, fmt.Sprint(id)),
	}
	p.room = sync.NewCond(&p.mu)
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, err
	}
	if stale, _ := filepath.Glob(filepath.Join(p.dir, "*.tmp")); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f) // a spare segment of an earlier run
		}
	}
	bases, err := listSegments(p.dir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*partition, error) {
		for _, s := range p.segs {
			s.close()
		}
		return nil, err
	}
	for i, base := range bases {
		s, err := openSegment(p.dir, base)
		if err != nil {
			return fail(err)
		}
		p.segs = append(p.segs, s)
		last := i == len(bases)-1
		if i > 0 {
			prev := p.segs[i-1]
			if prev.next.Load() != base {
				return fail(&CorruptionError{File: s.path, Pos: 0, Offset: base,
					Reason: fmt.Sprintf("the previous segment %s ends at offset %d: records are missing or overlap", filepath.Base(prev.path), prev.next.Load())})
			}
		}
		torn, err := s.scan(last, trusted)
		if err != nil {
			return fail(err)
		}
		if torn != nil {
			b.log.Warn("embedded bus: cut the unsynced tail of a partition left by a crash (the write-ahead log replay restores what was acknowledged)",
				"topic", t.name, "partition", id, "offset", torn.offset, "file", s.path, "pos", torn.pos, "bytes", torn.bytes)
		}
		if !last {
			s.sealed.Store(true)
		}
	}
	if len(p.segs) == 0 {
		s, err := p.createSegment(0, min(b.cfg.SegmentBytes, firstSegment))
		if err != nil {
			return fail(err)
		}
		p.segs = append(p.segs, s)
	}
	p.act = p.segs[len(p.segs)-1]
	act := p.act
	next := act.next.Load()
	if next < trusted {
		return fail(&CorruptionError{File: act.path, Pos: act.size.Load(), Offset: next,
			Reason: fmt.Sprintf("the partition ends at offset %d but the checkpoint recorded it durable up to %d", next, trusted)})
	}
	p.nextOff = next
	p.end.Store(next)
	p.ckptNext.Store(min(trusted, next))
	p.pend = newBatch(nil, nil, next)
	if act.capacity-act.size.Load() < firstSegment/2 {
		p.prepareSpare(p.spareSize(act)) // the next write will most likely need it
	}
	return p, nil
}

func (p *partition) active() *segment { return p.act }

// createSegment creates a segment of the given size on the spot:
// allocated, zero-filled and synced under a temporary name, then renamed
// into place (replacing an empty segment of the same base, see roll) and
// its directory synced.
func (p *partition) createSegment(base, size int64) (*segment, error) {
	f, err := os.CreateTemp(p.dir, "segment-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if err := preallocate(f.Name(), f, size, zeroFill); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return p.install(f, size, base)
}

// install renames a prepared file into place as the segment starting at
// base.
func (p *partition) install(f *os.File, size, base int64) (*segment, error) {
	path := filepath.Join(p.dir, segmentName(base))
	if err := os.Rename(f.Name(), path); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("create segment: %w", err)
	}
	if err := syncDir(p.dir); err != nil {
		f.Close()
		return nil, err
	}
	s := &segment{base: base, path: path, f: f, fd: int(f.Fd()), lastIdx: -1, capacity: size}
	s.next.Store(base)
	return s, nil
}

// spareSize is the size of the spare prepared while s is active: twice
// s's, at most SegmentBytes.
func (p *partition) spareSize(s *segment) int64 {
	return min(p.b.cfg.SegmentBytes, max(firstSegment, 2*s.capacity))
}

// prepareSpare starts preparing the next segment file in the background.
func (p *partition) prepareSpare(size int64) {
	sp := &spare{size: size, done: make(chan struct{})}
	p.spare = sp
	go func() {
		defer close(sp.done)
		f, err := os.CreateTemp(p.dir, "spare-*.tmp")
		if err != nil {
			sp.err = err
			return
		}
		sp.f, sp.path = f, f.Name()
		sp.err = preallocate(sp.path, f, size, zeroFill)
	}()
}

// nextSegment returns a new active segment starting at base with room for
// at least need bytes: the spare if it is ready and big enough (renamed into
// place), else one made on the spot. A new spare is started either way.
func (p *partition) nextSegment(base, need int64) (*segment, error) {
	var s *segment
	if sp := p.spare; sp != nil {
		select {
		case <-sp.done:
			p.spare = nil
			if sp.err == nil && sp.size >= need {
				var err error
				if s, err = p.install(sp.f, sp.size, base); err != nil {
					return nil, err
				}
			} else {
				if sp.err != nil {
					p.b.log.Warn("embedded bus: could not prepare a spare segment", "dir", p.dir, "err", sp.err)
				}
				if sp.f != nil {
					sp.f.Close()
					os.Remove(sp.path)
				}
			}
		default: // still being prepared: keep it for the next roll
		}
	}
	if s == nil {
		var err error
		if s, err = p.createSegment(base, min(p.b.cfg.SegmentBytes, max(firstSegment, need))); err != nil {
			return nil, err
		}
	}
	if p.spare == nil {
		p.prepareSpare(p.spareSize(s))
	}
	return s, nil
}

// dropSpare waits for the spare being prepared, if any, and removes it.
func (p *partition) dropSpare() {
	if sp := p.spare; sp != nil {
		<-sp.done
		if sp.f != nil {
			sp.f.Close()
			os.Remove(sp.path)
		}
		p.spare = nil
	}
}

// enqueue appends msgs (all of this partition) to the pending batch and
// returns it; the caller waits on its done channel.
func (p *partition) enqueue(msgs []bus.Message, idx []int, unixNano int64) (*batch, error) {
	p.mu.Lock()
	for len(p.pend.buf) >= pendingLimit && !p.stopped && p.failed == nil {
		p.room.Wait()
	}
	if p.failed != nil {
		err := p.failed
		p.mu.Unlock()
		return nil, err
	}
	if p.stopped {
		p.mu.Unlock()
		return nil, bus.ErrClosed
	}
	bt := p.pend
	if idx == nil {
		for i := range msgs {
			bt.buf = appendFrame(bt.buf, &msgs[i], p.nextOff, unixNano)
			p.nextOff++
		}
		bt.msgs = append(bt.msgs, msgs...)
		bt.n += len(msgs)
	} else {
		for _, i := range idx {
			bt.buf = appendFrame(bt.buf, &msgs[i], p.nextOff, unixNano)
			bt.msgs = append(bt.msgs, msgs[i])
			p.nextOff++
		}
		bt.n += len(idx)
	}
	p.b.cm.queue(p)
	p.mu.Unlock()
	return bt, nil
}

// write stores a batch whose frames are sealed and written to the
// write-ahead log (not necessarily synced yet): in chunks that fit the
// active segment (rolling to a new one when full), without fdatasync (the
// checkpoint syncs), moving the written end past each chunk. Readers read
// it from the segment's held bytes or through the page cache.
// Called by the committer (and by recovery before it starts).
func (p *partition) write(bt *batch) error {
	if p.failed != nil {
		return p.failed
	}
	buf, off := bt.buf, bt.first
	for len(buf) > 0 {
		s := p.active()
		size := s.size.Load()
		room := s.capacity - size
		n, cnt := 0, 0
		for n < len(buf) {
			fl := 4 + frameLen(buf[n:])
			if n > 0 && (n+fl > writeChunk || int64(n+fl) > room) {
				break
			}
			if n == 0 && int64(fl) > room && size > 0 {
				break
			}
			n += fl
			cnt++
		}
		if n == 0 {
			if err := p.roll(int64(4 + frameLen(buf))); err != nil {
				return err
			}
			continue
		}
		chunk := buf[:n]
		var maxTime int64
		for q := 0; q < n; {
			maxTime = max(maxTime, int64(le64(chunk[q+16:])))
			q += 4 + frameLen(chunk[q:])
		}
		if err := s.append(chunk, size); err != nil {
			return err
		}
		// Index the frames of the chunk that start a new index interval.
		if s.lastIdx < 0 || size+int64(n)-s.lastIdx >= indexEvery {
			p.segMu.Lock()
			o := off
			for q := 0; q < n; o++ {
				s.addIndex(o, size+int64(q))
				q += 4 + frameLen(chunk[q:])
			}
			p.segMu.Unlock()
		}
		if maxTime > s.maxTime.Load() {
			s.maxTime.Store(maxTime)
		}
		// Into the ring before the written end moves: a reader that sees
		// the new end finds them there.
		p.cacheChunk(chunk, off, bt.kept(off, cnt))
		s.size.Store(size + int64(n))
		s.next.Store(off + int64(cnt))
		p.end.Store(off + int64(cnt))
		p.t.wake()
		buf, off = buf[n:], off+int64(cnt)
	}
	return nil
}

// roll seals the active segment (trimmed to its data and synced) and makes
// a new one, with room for at least need bytes, the active segment. An
// empty active segment (after a restart that trimmed it) is replaced in
// place.
func (p *partition) roll(need int64) error {
	old := p.active()
	if old.size.Load() == 0 {
		s, err := p.nextSegment(old.base, need)
		if err != nil {
			return err
		}
		p.segMu.Lock()
		p.segs[len(p.segs)-1] = s
		old.deleted = true
		p.segMu.Unlock()
		p.act = s
		old.close()
		return nil
	}
	if err := old.flush(); err != nil {
		return err
	}
	old.dropHeld()
	if err := old.f.Truncate(old.size.Load()); err != nil {
		return fmt.Errorf("trim %s: %w", old.path, err)
	}
	if err := old.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", old.path, err)
	}
	s, err := p.nextSegment(old.next.Load(), need)
	if err != nil {
		return err
	}
	old.sealed.Store(true)
	p.segMu.Lock()
	p.segs = append(p.segs, s)
	p.segMu.Unlock()
	p.act = s
	p.b.log.Debug("embedded bus: new segment", "topic", p.t.name, "partition", p.id, "file", s.path, "size", s.capacity)
	p.applyRetention(time.Now())
	return nil
}

// applyRetention deletes the oldest segments (never the active one) while
// the partition is over RetentionBytes or their newest record is older
// than RetentionAge. Only the active segment holds records that are not
// durable on their own (roll syncs a segment as it seals it), so every
// segment retention may delete is checkpointed in effect, and a WAL
// replay never needs it (it skips offsets below the partition's end).
// Called by the committer after a roll and by the bus's background loop
// for age.
func (p *partition) applyRetention(now time.Time) {
	cfg := p.b.cfg
	if cfg.RetentionBytes <= 0 && cfg.RetentionAge <= 0 {
		return
	}
	p.segMu.Lock()
	var total int64
	for _, s := range p.segs {
		total += s.size.Load()
	}
	var drop []*segment
	for len(p.segs) > 1 {
		s := p.segs[0]
		overSize := cfg.RetentionBytes > 0 && total > cfg.RetentionBytes
		tooOld := cfg.RetentionAge > 0 && s.maxTime.Load() < now.Add(-cfg.RetentionAge).UnixNano()
		if !overSize && !tooOld {
			break
		}
		total -= s.size.Load()
		s.deleted = true
		drop = append(drop, s)
		p.segs = p.segs[1:]
	}
	if len(drop) > 0 {
		// The ring never holds what the files no longer do: a reader
		// behind retention moves up to the oldest retained record.
		p.tail.trimBelow(p.segs[0].base)
	}
	p.segMu.Unlock()
	for _, s := range drop {
		err := os.Remove(s.path)
		s.close()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			p.b.log.Error("embedded bus: retention could not delete a segment", "file", s.path, "err", err)
			continue
		}
		p.b.log.Info("embedded bus: retention deleted a segment", "topic", p.t.name, "partition", p.id, "file", s.path,
			"first_offset", s.base, "next_offset", s.next.Load())
	}
	if len(drop) > 0 {
		_ = syncDir(p.dir)
	}
}

// oldest returns the offset of the oldest retained record.
func (p *partition) oldest() int64 {
	p.segMu.RLock()
	defer p.segMu.RUnlock()
	return p.segs[0].base
}

// locate returns the segment holding offset off, a frame position at or
// before off in it and that frame's offset. An offset older than the oldest
// retained record is moved up to it (the returned from says where reading
// really starts).
func (p *partition) locate(off int64) (s *segment, pos, from int64) {
	p.segMu.RLock()
	defer p.segMu.RUnlock()
	if off <= p.segs[0].base {
		return p.segs[0], 0, p.segs[0].base
	}
	i := len(p.segs) - 1
	for i > 0 && p.segs[i].base > off {
		i--
	}
	s = p.segs[i]
	pos, from = s.seek(off)
	return s, pos, from
}

// refuse makes enqueue refuse new records (the bus is closing).
func (p *partition) refuse() {
	p.mu.Lock()
	p.stopped = true
	p.room.Broadcast()
	p.mu.Unlock()
}

// stop trims the active segment to its data, syncs it and closes every
// file. The committer has stopped (or never ran).
func (p *partition) stop() error {
	p.refuse()
	p.dropSpare()
	var first error
	p.segMu.Lock()
	defer p.segMu.Unlock()
	act := p.active()
	if p.failed == nil {
		if err := act.flush(); err != nil {
			first = err
		} else if err := act.f.Truncate(act.size.Load()); err != nil {
			first = fmt.Errorf("trim %s: %w", act.path, err)
		} else if err := act.f.Sync(); err != nil {
			first = fmt.Errorf("sync %s: %w", act.path, err)
		}
	}
	for _, s := range p.segs {
		s.deleted = true
		if err := s.close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (p *partition) isStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stopped
}
