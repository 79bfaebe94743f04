package embedded

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// committer is the bus's one writer: it takes what publishers enqueued on
// every partition, writes it to the write-ahead log with one write, then
// appends it to the partitions' segments (held in memory until a flush,
// see flushAt, then in the page cache), where readers see it, and
// hands the cycle to its syncer, which fdatasyncs the WAL once for every
// cycle written while it synced the last, and releases the publishers.
// Readers do not wait for the disk's flush; publishers do.
type committer struct {
	b    *Bus
	w    *wal
	qmu  sync.Mutex
	q    []*partition // partitions with something pending
	spq  []*partition
	stop bool
	seq  atomic.Int64 // counts enqueues, so run can tell when they stop coming
	kick chan struct{}
	done chan struct{}

	// hkeys interns the header names of the records the committer puts
	// in the partitions' tail caches.
	hkeys headerKeys

	ckptMu   sync.Mutex // one checkpoint at a time
	ckptKick chan struct{}
	stopCkpt chan struct{}
	ckptDone chan struct{}

	// The syncer's queue, guarded by smu: cycles written and not yet
	// synced, in WAL order, and their bytes. scond signals both ways: a
	// cycle queued, a sync done.
	smu      sync.Mutex
	scond    *sync.Cond
	sjobs    []syncJob
	unsynced int64
	pending  int // records in sjobs
	sstop    bool
	syncDone chan struct{}
	serr     error // the syncer's: a failed sync, which fails every later one
}

// maxUnsynced bounds how far (in WAL bytes) the committer writes ahead of
// the syncer before it waits for a sync.
const maxUnsynced = 16 << 20

// syncGap bounds how long the syncer waits for publishers before a sync.
// A sync carries what was written since the last one; each fdatasync costs
// some 60 µs of CPU in the kernel here, whatever it carries, so at
// thousands of syncs a second fewer, fuller ones save a tenth of a core.
// The syncer waits until as many records are written as the last sync
// acknowledged (the publishers it released have published again: closed
// loops, a lone publisher, never wait) or until syncGap has passed since
// the last sync began, whichever comes first. Open-loop traffic (chat
// customers) then shares syncs up to syncGap apart.
const syncGap = 2 * time.Millisecond

// syncWait is how long the syncer waits before syncing, with pending
// records written since the last sync, which began at last and
// acknowledged released records.
func syncWait(pending, released int, last, now time.Time) time.Duration {
	if pending >= released {
		return 0
	}
	return max(0, last.Add(syncGap).Sub(now))
}

// syncJob is one written cycle waiting for its sync: its publishers are
// released once the WAL is synced up to end.
type syncJob struct {
	seg  *walSegment // nil if the cycle's WAL write failed
	end  int64
	n    int64 // bytes written
	recs int   // records written
	bts  []*batch
}

// item is one partition's batch of a cycle.
type item struct {
	p  *partition
	bt *batch
}

// queue tells the committer p has something pending. p.mu is held.
func (c *committer) queue(p *partition) {
	c.seq.Add(1)
	if !p.queued {
		p.queued = true
		c.qmu.Lock()
		c.q = append(c.q, p)
		c.qmu.Unlock()
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *committer) run() {
	c.scond = sync.NewCond(&c.smu)
	c.syncDone = make(chan struct{})
	go c.syncLoop()
	defer func() {
		c.smu.Lock()
		c.sstop = true
		c.scond.Broadcast()
		c.smu.Unlock()
		<-c.syncDone
		close(c.done)
	}()
	var items []item
	for {
		c.qmu.Lock()
		for len(c.q) == 0 && !c.stop {
			c.qmu.Unlock()
			<-c.kick
			c.qmu.Lock()
		}
		if len(c.q) == 0 {
			c.qmu.Unlock()
			return
		}
		c.qmu.Unlock()
		// Publishers just released by the syncer are runnable and about
		// to publish again: let them enqueue first, so they share this
		// cycle's write (and the next fdatasync) instead of each making
		// a cycle of its own.
		for range 16 {
			n := c.seq.Load()
			runtime.Gosched()
			if c.seq.Load() == n {
				break
			}
		}
		c.qmu.Lock()
		parts := c.q
		c.q = c.spq[:0]
		c.qmu.Unlock()

		c.w.mu.Lock()
		items = items[:0]
		for _, p := range parts {
			p.mu.Lock()
			p.queued = false
			bt := p.pend
			if bt.n == 0 {
				p.mu.Unlock()
				continue
			}
			p.pend = newBatch(p.freeBuf, p.freeMsgs, p.nextOff)
			p.freeBuf, p.freeMsgs = nil, nil
			p.room.Broadcast()
			p.mu.Unlock()
			items = append(items, item{p, bt})
		}
		clear(parts)
		c.spq = parts
		start := c.w.pos
		seg := c.cycle(items)
		job := syncJob{seg: seg, end: c.w.pos, n: c.w.pos - start, bts: make([]*batch, len(items))}
		big := c.w.pos-c.w.ckpt >= walCheckpointBytes
		c.w.mu.Unlock()
		for i, it := range items {
			job.bts[i] = it.bt
			job.recs += it.bt.n
			// The WAL and the segment have the frames, the ring what it
			// keeps of the publishers' messages: the batch pins none of
			// them any longer, and its buffers go to the next batch.
			clear(it.bt.msgs)
			if cap(it.bt.buf) <= keepBuffer {
				it.p.mu.Lock()
				it.p.freeBuf = it.bt.buf[:0]
				if cap(it.bt.msgs) <= keepMessages {
					it.p.freeMsgs = it.bt.msgs[:0]
				}
				it.p.mu.Unlock()
			}
		}
		clear(items)
		c.toSync(job)
		if big {
			select {
			case c.ckptKick <- struct{}{}:
			default:
			}
		}
	}
}

// toSync queues a written cycle for the syncer, first waiting while the
// syncer is more than maxUnsynced behind.
func (c *committer) toSync(job syncJob) {
	c.smu.Lock()
	for c.unsynced > maxUnsynced {
		c.scond.Wait()
	}
	c.sjobs = append(c.sjobs, job)
	c.unsynced += job.n
	c.pending += job.recs
	c.scond.Broadcast()
	c.smu.Unlock()
}

// syncLoop is the syncer: it takes every cycle written since its last
// sync (waiting for more as syncWait says), syncs the WAL through the last
// of them with one fdatasync, and releases their publishers. It runs until
// the committer stops and has nothing more queued.
func (c *committer) syncLoop() {
	defer close(c.syncDone)
	broadcast := func() {
		c.smu.Lock()
		c.scond.Broadcast()
		c.smu.Unlock()
	}
	var jobs []syncJob
	var last time.Time // when the last sync began
	released := 0      // records the last sync acknowledged
	for {
		c.smu.Lock()
		for len(c.sjobs) == 0 && !c.sstop {
			c.scond.Wait()
		}
		if len(c.sjobs) == 0 {
			c.smu.Unlock()
			return
		}
		if d := syncWait(c.pending, released, last, time.Now()); d > 0 {
			// A new timer each time, not one reset: the runtime scans
			// every timer of a processor (each socket's deadlines)
			// whenever a timer modified to an earlier time comes due,
			// and this one would come due hundreds of times a second.
			// A stopped new timer is only dropped when it reaches the
			// top of the timer heap.
			wake := time.AfterFunc(d, broadcast)
			for !c.sstop && syncWait(c.pending, released, last, time.Now()) > 0 {
				c.scond.Wait()
			}
			wake.Stop()
		}
		jobs, c.sjobs = c.sjobs, jobs[:0]
		released, c.pending = c.pending, 0
		c.smu.Unlock()

		last = time.Now()
		n, err := c.syncJobs(jobs)
		for _, j := range jobs {
			for _, bt := range j.bts {
				if bt.err == nil {
					bt.err = err
				}
				close(bt.done)
			}
		}
		clear(jobs)
		c.smu.Lock()
		c.unsynced -= n
		c.scond.Broadcast()
		c.smu.Unlock()
	}
}

// syncJobs syncs the WAL through the last of jobs and returns the bytes
// the jobs wrote and the error the publishers get (nil once synced). Only
// the last segment can hold unsynced writes (wal.write syncs a segment
// before the next one is used), so that is the one it syncs.
func (c *committer) syncJobs(jobs []syncJob) (int64, error) {
	var n int64
	var seg *walSegment
	var end int64
	for _, j := range jobs {
		n += j.n
		if j.seg != nil {
			seg, end = j.seg, j.end
		}
	}
	if c.serr != nil {
		// After a failed fdatasync a later one may succeed without the
		// data having reached the disk: nothing written since counts.
		return n, c.serr
	}
	w := c.w
	if seg == nil || end <= w.synced.Load() {
		return n, nil
	}
	if err := w.sync(seg, end); err != nil {
		w.mu.Lock()
		if w.failed == nil {
			w.failed = fmt.Errorf("embedded: write-ahead log: %w", err)
			c.b.log.Error("embedded bus: write-ahead log sync failed; the bus refuses publishes until it is reopened", "err", err)
		}
		c.serr = w.failed
		w.mu.Unlock()
		return n, c.serr
	}
	return n, nil
}

// cycle writes the batches of one cycle: WAL entries in one write, then
// the partition files, which readers then see. It returns the WAL segment
// written, nil if the WAL refused the write. c.w.mu is held.
func (c *committer) cycle(items []item) *walSegment {
	w := c.w
	var seg *walSegment
	if w.failed == nil {
		buf := w.buf[:0]
		pos := w.pos
		// Every entry names the position the WAL is synced up to as it
		// is written: recovery tells a torn unsynced tail from
		// corruption by it (see the WAL format).
		synced := w.synced.Load()
		for _, it := range items {
			// Seal the frames once: these bytes go to the WAL and, as they
			// are, to the partition's segments.
			for q := 0; q < len(it.bt.buf); {
				fl := 4 + frameLen(it.bt.buf[q:])
				sealFrame(it.bt.buf[q:q+fl], q)
				q += fl
			}
			// One entry per partition batch, split if a batch outgrows
			// what one entry may hold.
			rec, first := it.bt.buf, it.bt.first
			for len(rec) > 0 {
				n, cnt := 0, 0
				for n < len(rec) {
					fl := 4 + frameLen(rec[n:])
					if n > 0 && n+fl > walMaxEntry-walHeader-len(it.p.t.name) {
						break
					}
					n += fl
					cnt++
				}
				buf = appendWALEntry(buf, pos+int64(len(buf)), synced, it.p.t.name, it.p.id, first, cnt, rec[:n])
				rec, first = rec[n:], first+int64(cnt)
			}
		}
		if w.pos != pos {
			panic("embedded: WAL position moved while encoding")
		}
		// Entries were encoded for w.pos; a new segment starts at w.pos too.
		var err error
		if seg, err = w.write(buf); err != nil {
			w.failed = fmt.Errorf("embedded: write-ahead log: %w", err)
			c.b.log.Error("embedded bus: write-ahead log write failed; the bus refuses publishes until it is reopened", "err", err)
		}
		if cap(buf) <= keepBuffer {
			w.buf = buf[:0]
		} else {
			w.buf = nil
		}
	}
	for _, it := range items {
		if w.failed != nil {
			it.bt.err = w.failed
			continue
		}
		p := it.p
		if p.failed != nil {
			it.bt.err = p.failed
			continue
		}
		if err := p.write(it.bt); err != nil {
			c.b.log.Error("embedded bus: partition write failed (the records are in the write-ahead log); the partition refuses publishes until the bus is reopened",
				"topic", p.t.name, "partition", p.id, "err", err)
			p.mu.Lock()
			p.failed = fmt.Errorf("embedded: partition %s/%d: %w", p.t.name, p.id, err)
			p.mu.Unlock()
			it.bt.err = p.failed
		}
	}
	return seg
}

// checkpointLoop checkpoints every CheckpointInterval, and sooner when the
// WAL grew past walCheckpointBytes.
func (c *committer) checkpointLoop() {
	defer close(c.ckptDone)
	tick := time.NewTicker(c.b.cfg.CheckpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stopCkpt:
			return
		case <-tick.C:
		case <-c.ckptKick:
		}
		if err := c.checkpoint(); err != nil {
			c.b.log.Error("embedded bus: checkpoint failed; will retry (the write-ahead log keeps growing meanwhile)", "err", err)
		}
	}
}

// checkpoint makes the partition files durable up to a cut taken between
// two cycles, records the cut, and drops the WAL before it.
func (c *committer) checkpoint() error {
	c.ckptMu.Lock()
	defer c.ckptMu.Unlock()
	type synced struct {
		p    *partition
		s    *segment
		next int64
	}
	w := c.w
	w.mu.Lock()
	if w.failed != nil {
		w.mu.Unlock()
		return w.failed
	}
	walPos := w.pos
	topics := c.b.allTopics()
	cp := checkpoint{Version: 1, WAL: walPos, Partitions: make(map[string][]int64, len(topics))}
	var todo []synced
	for _, t := range topics {
		ends := make([]int64, len(t.parts))
		for i, p := range t.parts {
			ends[i] = p.end.Load()
			if ends[i] != p.ckptNext.Load() {
				todo = append(todo, synced{p, p.active(), ends[i]})
			}
		}
		cp.Partitions[t.name] = ends
	}
	// The cut is the partitions' ends: their files need every byte the
	// active segments hold. The committer waits for w.mu meanwhile.
	for _, x := range todo {
		if err := x.s.flush(); err != nil {
			w.mu.Unlock()
			return err
		}
	}
	w.mu.Unlock()
	if walPos == w.ckpt && len(todo) == 0 {
		return nil
	}
	// Segments sealed since the last checkpoint were synced when sealed;
	// the active one at the cut holds the rest.
	for _, x := range todo {
		if x.s.size.Load() == 0 {
			continue
		}
		if err := fdatasync(x.s.f, x.s.path); err != nil && !errors.Is(err, os.ErrClosed) {
			return err
		}
	}
	if err := writeFileAtomic(filepath.Join(w.dir, checkpointFile), mustJSON(cp)); err != nil {
		return err
	}
	for _, x := range todo {
		x.p.ckptNext.Store(x.next)
	}
	w.mu.Lock()
	w.ckpt = walPos
	w.release(walPos)
	w.mu.Unlock()
	return nil
}

func mustJSON(v any) []byte {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only maps of slices of integers
	}
	return append(raw, '\n')
}
