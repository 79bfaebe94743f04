// Package embedded is Hotline's default bus: a durable log on the local
// disk, in process, with no server to run.
//
// # Layout
//
//	<Dir>/LOCK                              flock: one process at a time
//	<Dir>/wal/<position>.wal                write-ahead log segments, by first WAL position
//	<Dir>/wal/checkpoint.json               the last checkpoint
//	<Dir>/topics/<topic>/topic.json         partition count, fixed at creation
//	<Dir>/topics/<topic>/<p>/<offset>.log   segments of partition p, by first offset
//	<Dir>/topics/<topic>/groups/<g>.json    a consumer group's committed offsets
//
// # Durability
//
// Publish returns once its records are in a synced write-ahead log (WAL)
// shared by the whole bus. One committer goroutine takes everything
// enqueued on every partition since its last cycle, writes it to the WAL
// as CRC-framed entries (topic, partition, first offset, and the records
// exactly as they go to the partition's segment) with one pwrite, appends
// each partition's records to the partition's active segment, and moves
// the partition's written end, which is as far as readers read. A segment
// holds its newest records in memory, where readers copy them from, and
// writes them to its file (the page cache, not synced) once 64 KiB have
// gathered, and before a checkpoint, a roll or a close: the WAL has them
// already, and a pwrite per cycle of a few records cost the hub 5 % of its
// CPU under the chat bench. The committer then hands the cycle to the
// syncer and goes on with the next one. The syncer issues ONE fdatasync of
// the WAL for every cycle written since its last one, however many
// partitions and topics they touch, and only then releases their
// publishers. Publishers that the syncer released and that publish again
// at once join the next cycle (the committer yields to them before
// collecting), so N publishers of single events share one fdatasync, not
// one per partition. The committer runs at most 16 MiB of WAL ahead of the
// syncer.
//
// So consumers in the process see a record as soon as it is written, while
// the disk's flush (a fraction of a millisecond, now and then a hundred
// milliseconds) delays only its publisher's acknowledgement. A written
// record survives the process's crash (kill -9: the kernel has it in the
// WAL, which recovery replays into the segments), which
// is what the acknowledgement promises too. Only a crash of the machine
// can lose a record a consumer saw, and only one that was never
// acknowledged. Recovery then cuts the log at the first damaged entry,
// losing with it everything written after, so what consumers published in
// reaction to the lost records (later in the same WAL) is lost with them,
// and no consumer group resumes past the new end (see Consumer groups). A
// chat customer whose message was not acknowledged sends it again, with
// the same client id and so the same event ids.
//
// A checkpoint (every CheckpointInterval, when the WAL passed 64 MiB since
// the last one, after recovery and on Close) takes a cut between two
// cycles, fdatasyncs the active segment of every partition written since
// the previous checkpoint (segments are synced as they are sealed, and
// their directory entries when they are created), writes the cut (per
// partition the offset up to which it is durable on its own, and the WAL
// position) to checkpoint.json atomically, then drops the WAL segments
// wholly before it, keeping two as spares that are recycled as later
// segments. WAL segments are allocated and zero-filled before use (or
// recycled), so a WAL write changes no metadata and its fdatasync only
// flushes data (see walZeroFill). Partition segments are allocated with
// fallocate; the next one is prepared in the background while the current
// one fills; their sizes start at 1 MiB and double up to SegmentBytes. A
// zero length field marks the end of a segment's data; Close trims the
// active segment to its data.
//
// Reads go through pread on the segment files, a 64 KiB chunk at a time,
// located through a sparse in-memory index (one entry per 64 KiB), so memory
// stays flat whatever the size of the log. Readers near the end of a
// partition (consumers keeping up) read from its tail cache instead: the
// committer puts each record, as it makes it durable, into a ring of the
// partition's latest records (at most 1,024 records or 1 MiB) as the message
// its publisher handed over, whose bytes the bus keeps instead of copying
// them (see bus.Publisher), and every subscription of the process takes the
// same read-only record from it, with one bus.Memo, so the layer above
// decodes it once too; the ring forgets that decoded value once the record
// is 64 behind the end, and keeps the bytes (tailcache.go).
//
// # Recovery
//
// On Open every partition segment is read and checked (length, CRC-32C,
// offset sequence). Records up to a partition's checkpointed offset were
// synced: damage there, or anywhere in a segment other than the last, is
// corruption and Open fails naming the file and position. After it, the
// last segment may hold anything a crash left of writes that were never
// synced on their own: it is cut at the first damaged record and logged.
// Then the WAL is replayed from the checkpoint: every entry's records that
// the partition does not hold yet are appended again. A torn tail (a
// damaged entry followed by nothing written after the log was synced past
// it: it was never acknowledged) ends the WAL and is logged; damage
// followed by an entry written once the log was synced past the damage is
// corruption of acknowledged data and Open fails naming the WAL file and
// position. Each entry names its own WAL position, so
// stale entries of a recycled file are never taken for live ones. A
// checkpoint then makes the recovered state the new starting point.
//
// # Consumer groups
//
// Groups live in the process: the members of a group share a topic's
// partitions (partition p goes to member p mod n in join order) and are
// rebalanced when a member joins or leaves. Acknowledgements become
// committed offsets through commit.Tracker and are written (temp file,
// fsync, rename, directory fsync) every CommitInterval, on
// Subscription.Close and on Bus.Close. A committed offset past the end of
// the log at Open (records a crash of the machine took before they were
// synced) resumes the group at the end, so it reads the records that take
// those offsets next.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/internal/commit"
)

// Bus is the embedded bus. It implements bus.Bus.
type Bus struct {
	cfg  Config
	log  *slog.Logger
	lock *os.File

	mu       sync.RWMutex
	topics   map[string]*topic
	subs     map[*subscription]struct{}
	closed   bool
	inflight sync.WaitGroup // Publish calls under way

	createMu sync.Mutex // serializes topic creation

	cm *committer // the write-ahead log and its writer

	// tailRecords and tailBytes bound each partition's tail cache
	// (tailCacheRecords and tailCacheBytes; 0 keeps nothing). Set before
	// the committer starts, so recovery leaves the rings empty; tests
	// change them before their first publish.
	tailRecords, tailBytes int

	stopBg    chan struct{}
	bgDone    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

var _ bus.Bus = (*Bus)(nil)

// Open opens (creating if needed) the log in cfg.Dir, recovering every
// topic found there. log may be nil.
func Open(cfg Config, log *slog.Logger) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "topics"), 0o755); err != nil {
		return nil, fmt.Errorf("embedded: create %s: %w", cfg.Dir, err)
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	b := &Bus{
		cfg: cfg, log: log, lock: lock,
		topics: map[string]*topic{},
		subs:   map[*subscription]struct{}{},
		stopBg: make(chan struct{}),
		bgDone: make(chan struct{}),
	}
	walDir := filepath.Join(cfg.Dir, "wal")
	w, err := openWAL(walDir)
	if err != nil {
		lock.Close()
		return nil, err
	}
	b.cm = &committer{b: b, w: w, hkeys: headerKeys{},
		kick: make(chan struct{}, 1), done: make(chan struct{}),
		ckptKick: make(chan struct{}, 1), stopCkpt: make(chan struct{}), ckptDone: make(chan struct{})}
	fail := func(err error) (*Bus, error) {
		for _, t := range b.topics {
			t.stop()
		}
		w.close()
		lock.Close()
		return nil, err
	}
	cp, err := readCheckpoint(walDir)
	if err != nil {
		return fail(err)
	}
	ents, err := os.ReadDir(filepath.Join(cfg.Dir, "topics"))
	if err != nil {
		return fail(fmt.Errorf("embedded: %w", err))
	}
	start := time.Now()
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() {
			continue
		}
		if bus.ValidTopic(name) != nil {
			log.Warn("embedded bus: ignoring a directory that is not a topic", "dir", filepath.Join(cfg.Dir, "topics", name))
			continue
		}
		if _, err := os.Stat(filepath.Join(cfg.Dir, "topics", name, metaFile)); errors.Is(err, os.ErrNotExist) {
			// Creation was interrupted before the metadata was written: no
			// record can have been published to it.
			log.Warn("embedded bus: topic directory without metadata (interrupted creation); it will be recreated on use", "topic", name)
			continue
		}
		t, err := b.openTopic(name, cp.Partitions[name])
		if err != nil {
			return fail(err)
		}
		b.topics[name] = t
	}
	w.ckpt = cp.WAL
	replayed := 0
	err = w.replay(cp.WAL, func(e walEntry, file string, at int64) error {
		replayed++
		return b.replayEntry(e, file, at)
	}, func(file string, at int64, why string) {
		log.Warn("embedded bus: cut the torn tail of the write-ahead log left by a crash (never acknowledged to a publisher)",
			"file", file, "pos", at, "reason", why)
	})
	if err != nil {
		return fail(err)
	}
	if err := b.cm.checkpoint(); err != nil {
		return fail(fmt.Errorf("embedded: checkpoint after recovery: %w", err))
	}
	// What recovery kept is in the partition files the checkpoint synced.
	w.synced.Store(w.pos)
	log.Debug("embedded bus: open", "dir", cfg.Dir, "topics", len(b.topics), "wal_entries_replayed", replayed, "took", time.Since(start))
	b.tailRecords, b.tailBytes = tailCacheRecords, tailCacheBytes
	go b.cm.run()
	go b.cm.checkpointLoop()
	go b.background()
	return b, nil
}

// replayEntry appends the records of a write-ahead log entry that its
// partition does not hold yet (recovery, before the committer runs).
func (b *Bus) replayEntry(e walEntry, file string, at int64) error {
	t := b.topics[e.topic]
	if t == nil {
		return fmt.Errorf("embedded: write-ahead log %s at byte %d holds records of topic %q, which has no metadata in %s: restore the topic directory",
			file, at, e.topic, filepath.Join(b.cfg.Dir, "topics"))
	}
	if e.part >= len(t.parts) {
		return &CorruptionError{File: file, Pos: at, Offset: e.first,
			Reason: fmt.Sprintf("write-ahead log entry for partition %d of topic %s, which has %d", e.part, e.topic, len(t.parts))}
	}
	p := t.parts[e.part]
	next := p.nextOff
	if e.first > next {
		return &CorruptionError{File: file, Pos: at, Offset: e.first,
			Reason: fmt.Sprintf("write-ahead log entry starts at offset %d but partition %s/%d ends at %d: records are missing", e.first, e.topic, e.part, next)}
	}
	rec, off, skip, n := e.records, e.first, 0, 0
	for q := 0; q < len(rec); n++ {
		h, err := checkFrame(rec[q:])
		if err == nil && h.offset != e.first+int64(n) {
			err = fmt.Errorf("record %d holds offset %d", n, h.offset)
		}
		if err != nil {
			return &CorruptionError{File: file, Pos: at, Offset: e.first + int64(n),
				Reason: fmt.Sprintf("write-ahead log entry holds a bad record: %v", err)}
		}
		q += h.size
		if h.offset < next { // already in the partition
			skip, off = q, h.offset+1
		}
	}
	rec = rec[skip:]
	if n != e.n {
		return &CorruptionError{File: file, Pos: at, Offset: e.first,
			Reason: fmt.Sprintf("write-ahead log entry says %d records but holds %d", e.n, n)}
	}
	if len(rec) == 0 {
		return nil
	}
	cnt := int(e.first + int64(e.n) - off)
	if err := p.write(&batch{buf: rec, first: off, n: cnt}); err != nil {
		return fmt.Errorf("embedded: replay into partition %s/%d: %w", e.topic, e.part, err)
	}
	p.nextOff = off + int64(cnt)
	p.pend = newBatch(nil, nil, p.nextOff)
	return nil
}

// Ping reports whether the bus is open and no partition has failed.
func (b *Bus) Ping(ctx context.Context) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return bus.ErrClosed
	}
	b.cm.w.mu.Lock()
	err := b.cm.w.failed
	b.cm.w.mu.Unlock()
	if err != nil {
		return err
	}
	for _, t := range b.topics {
		for _, p := range t.parts {
			p.mu.Lock()
			err := p.failed
			p.mu.Unlock()
			if err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// topic returns the named topic, creating it on first use. It fails with
// ErrClosed once Close began.
func (b *Bus) topic(name string) (*topic, error) {
	if err := bus.ValidTopic(name); err != nil {
		return nil, err
	}
	b.mu.RLock()
	t, closed := b.topics[name], b.closed
	b.mu.RUnlock()
	if closed {
		return nil, bus.ErrClosed
	}
	if t != nil {
		return t, nil
	}
	b.createMu.Lock()
	defer b.createMu.Unlock()
	b.mu.RLock()
	t, closed = b.topics[name], b.closed
	b.mu.RUnlock()
	if closed {
		return nil, bus.ErrClosed
	}
	if t != nil {
		return t, nil
	}
	t, err := b.createTopic(name)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		t.stop()
		return nil, bus.ErrClosed
	}
	b.topics[name] = t
	b.mu.Unlock()
	return t, nil
}

// Publish appends msgs to topic and returns once all of them are durable.
// Messages with the same key keep their order. If ctx ends while waiting
// for the disk, Publish returns ctx.Err() and the messages may or may not
// be stored.
func (b *Bus) Publish(ctx context.Context, topicName string, msgs ...bus.Message) error {
	if err := bus.ValidTopic(topicName); err != nil {
		return err
	}
	for i := range msgs {
		if sz := msgs[i].Size(); sz > b.cfg.MaxMessageBytes {
			return fmt.Errorf("%w: message %d of %d is %d bytes, the limit is %d", bus.ErrMessageTooLarge, i, len(msgs), sz, b.cfg.MaxMessageBytes)
		}
		if len(msgs[i].Headers) > maxHeaders {
			return fmt.Errorf("%w: message %d has %d headers, the limit is %d", bus.ErrMessageTooLarge, i, len(msgs[i].Headers), maxHeaders)
		}
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("publish to %s: %w", topicName, bus.ErrClosed)
	}
	b.inflight.Add(1)
	t := b.topics[topicName]
	b.mu.RUnlock()
	defer b.inflight.Done()
	if t == nil {
		var err error
		if t, err = b.topic(topicName); err != nil {
			return err
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now().UnixNano()

	if len(msgs) == 1 {
		bt, err := t.parts[t.partitionFor(&msgs[0])].enqueue(msgs, nil, now)
		if err != nil {
			return err
		}
		return wait(ctx, bt)
	}
	// Group the messages by partition, keeping their order within each.
	var partsBuf [64]int
	parts := partsBuf[:0]
	if len(msgs) > len(partsBuf) {
		parts = make([]int, 0, len(msgs))
	}
	for i := range msgs {
		parts = append(parts, t.partitionFor(&msgs[i]))
	}
	var batches [8]*batch
	waits := batches[:0]
	var idx []int
	var firstErr error
	done := make([]bool, len(t.parts))
	for i, p := range parts {
		if done[p] {
			continue
		}
		done[p] = true
		idx = idx[:0]
		for j := i; j < len(parts); j++ {
			if parts[j] == p {
				idx = append(idx, j)
			}
		}
		bt, err := t.parts[p].enqueue(msgs, idx, now)
		if err != nil {
			firstErr = err
			break
		}
		waits = append(waits, bt)
	}
	for _, bt := range waits {
		if err := wait(ctx, bt); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func wait(ctx context.Context, bt *batch) error {
	select {
	case <-bt.done:
		return bt.err
	default:
	}
	select {
	case <-bt.done:
		return bt.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe starts a consumer group member (opts.Group set) or a reader.
func (b *Bus) Subscribe(ctx context.Context, topicName string, opts bus.SubscribeOptions) (bus.Subscription, error) {
	if err := bus.ValidTopic(topicName); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t, err := b.topic(topicName)
	if err != nil {
		return nil, err
	}
	for p := range opts.Offsets {
		if p >= len(t.parts) {
			return nil, fmt.Errorf("embedded: replay offset for partition %d, but topic %s has %d partitions", p, topicName, len(t.parts))
		}
	}
	s := newSubscription(b, t, opts)
	if opts.Group != "" {
		s.tracker = commit.New()
		s.g = t.group(opts.Group)
	} else {
		for p, part := range t.parts {
			off, ok := opts.Offsets[p]
			if !ok {
				if opts.Start == bus.StartLatest {
					off = part.end.Load()
				} else {
					off = part.oldest()
				}
			}
			s.cursors[p] = &cursor{p: part, next: off}
			s.owned = append(s.owned, p)
		}
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("subscribe to %s: %w", topicName, bus.ErrClosed)
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	if s.g != nil {
		s.g.join(s)
	}
	return s, nil
}

// EndOffsets returns, for each partition of topicName, the offset the next
// message will get: a reader that has read up to there has seen every
// message published so far. A topic that does not exist yet has no
// partitions (it is not created).
func (b *Bus) EndOffsets(ctx context.Context, topicName string) (map[int]int64, error) {
	if err := bus.ValidTopic(topicName); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	t, closed := b.topics[topicName], b.closed
	b.mu.RUnlock()
	if closed {
		return nil, bus.ErrClosed
	}
	out := make(map[int]int64)
	if t == nil {
		return out, nil
	}
	for i, p := range t.parts {
		out[i] = p.end.Load()
	}
	return out, nil
}

func (b *Bus) removeSub(s *subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}

// background writes group commits every CommitInterval and applies age
// retention.
func (b *Bus) background() {
	defer close(b.bgDone)
	tick := time.NewTicker(b.cfg.CommitInterval)
	defer tick.Stop()
	lastRetention := time.Now()
	retentionEvery := time.Second
	if b.cfg.RetentionAge > 0 {
		retentionEvery = min(max(b.cfg.RetentionAge/10, 10*time.Millisecond), time.Minute)
	}
	for {
		select {
		case <-b.stopBg:
			return
		case now := <-tick.C:
			b.commitAll()
			if b.cfg.RetentionAge > 0 && now.Sub(lastRetention) >= retentionEvery {
				lastRetention = now
				for _, t := range b.allTopics() {
					for _, p := range t.parts {
						p.applyRetention(now)
					}
				}
			}
		}
	}
}

func (b *Bus) allTopics() []*topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]*topic, 0, len(b.topics))
	for _, t := range b.topics {
		out = append(out, t)
	}
	return out
}

func (b *Bus) commitAll() error {
	var errs []error
	for _, t := range b.allTopics() {
		for _, g := range t.allGroups() {
			if err := g.flush(); err != nil {
				b.log.Error("embedded bus: commit failed; will retry", "err", err)
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Close waits for publishes under way, closes every subscription (writing
// the groups' offsets), stops the writers, trims the active segments and
// releases the directory. Calls after the first return its result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.inflight.Wait()

		b.mu.Lock()
		subs := make([]*subscription, 0, len(b.subs))
		for s := range b.subs {
			subs = append(subs, s)
		}
		b.mu.Unlock()
		var errs []error
		for _, s := range subs {
			if err := s.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		close(b.stopBg)
		<-b.bgDone
		if err := b.commitAll(); err != nil {
			errs = append(errs, err)
		}
		// Publishes still pending (their callers gave up waiting) are
		// committed before the committer exits.
		for _, t := range b.allTopics() {
			for _, p := range t.parts {
				p.refuse()
			}
		}
		b.cm.qmu.Lock()
		b.cm.stop = true
		b.cm.qmu.Unlock()
		select {
		case b.cm.kick <- struct{}{}:
		default:
		}
		<-b.cm.done
		close(b.cm.stopCkpt)
		<-b.cm.ckptDone
		if err := b.cm.checkpoint(); err != nil {
			errs = append(errs, fmt.Errorf("embedded: final checkpoint: %w", err))
		}
		for _, t := range b.allTopics() {
			if err := t.stop(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := b.cm.w.close(); err != nil {
			errs = append(errs, err)
		}
		if err := b.lock.Close(); err != nil {
			errs = append(errs, err)
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}
