// Package embedded is Hotline's default bus: a durable log on the local
// disk, in process, with no server to run.
//
// # Layout
//
//	<Dir>/LOCK                              flock: one process at a time
//	<Dir>/topics/<topic>/topic.json         partition count, fixed at creation
//	<Dir>/topics/<topic>/<p>/<offset>.log   segments of partition p, by first offset
//	<Dir>/topics/<topic>/groups/<g>.json    a consumer group's committed offsets
//
// # Durability
//
// Publish returns once its records are written and fdatasynced. Each
// partition has a writer goroutine that takes everything enqueued since its
// last write, writes it with one pwrite into the active segment (4 MiB at
// most per write), fdatasyncs, and only then moves the partition's durable
// end, which is as far as readers read: no consumer ever sees a record
// that a crash could lose. Concurrent publishes to a partition share one
// write and one fdatasync (group commit).
//
// Segments are allocated with fallocate before they are written, so a write
// does not change the file size and fdatasync has no size change to commit
// (see preallocate for what was measured). The next segment is prepared in the background while the
// current one fills; segment sizes start at 1 MiB and double up to
// SegmentBytes, so idle topics take little disk. A zero length field marks
// the end of the data; Close trims the active segment to its data.
//
// Reads go through pread on the segment files, a 64 KiB chunk at a time,
// located through a sparse in-memory index (one entry per 64 KiB), so memory
// stays flat whatever the size of the log.
//
// On Open every segment is read and checked (length, CRC-32C, offset
// sequence). The tail of the last segment may hold a write torn by a crash:
// it was never acknowledged, so it is cut and logged. Damage anywhere else,
// or damage followed by a record of a later write, is corruption of
// acknowledged data and Open fails naming the file and position.
//
// # Consumer groups
//
// Groups live in the process: the members of a group share a topic's
// partitions (partition p goes to member p mod n in join order) and are
// rebalanced when a member joins or leaves. Acknowledgements become
// committed offsets through commit.Tracker and are written (temp file,
// fsync, rename, directory fsync) every CommitInterval, on
// Subscription.Close and on Bus.Close.
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
	ents, err := os.ReadDir(filepath.Join(cfg.Dir, "topics"))
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("embedded: %w", err)
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
		t, err := b.openTopic(name)
		if err != nil {
			for _, t := range b.topics {
				t.stop()
			}
			lock.Close()
			return nil, err
		}
		b.topics[name] = t
	}
	log.Debug("embedded bus: open", "dir", cfg.Dir, "topics", len(b.topics), "took", time.Since(start))
	go b.background()
	return b, nil
}

// Ping reports whether the bus is open and no partition has failed.
func (b *Bus) Ping(ctx context.Context) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return bus.ErrClosed
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
					off = part.durable.Load()
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
		for _, t := range b.allTopics() {
			if err := t.stop(); err != nil {
				errs = append(errs, err)
			}
		}
		if err := b.lock.Close(); err != nil {
			errs = append(errs, err)
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}
