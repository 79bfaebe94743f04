package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/internal/commit"
)

// Subscribe starts reading topic, creating it if needed. With opts.Group the
// subscription is a member of that Kafka consumer group, and Subscribe
// returns once the member has joined and been given its partitions (so
// nothing published after Subscribe returns is missed, even with
// StartLatest); joining waits for the group's other members to rejoin, up to
// a few seconds. Without a group it reads every partition, from opts.Offsets
// or opts.Start.
func (b *Bus) Subscribe(ctx context.Context, topic string, opts bus.SubscribeOptions) (bus.Subscription, error) {
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if closed {
		return nil, bus.ErrClosed
	}
	if err := bus.ValidTopic(topic); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}

	var parts int
	err := b.retry(ctx, "creating topic "+topic, func() (err error) {
		parts, err = b.ensureTopic(ctx, topic)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kafka: subscribe to %q: %w", topic, err)
	}
	for p := range opts.Offsets {
		if p >= parts {
			return nil, fmt.Errorf("kafka: subscribe to %q: replay offset for partition %d, but the topic has %d partitions", topic, p, parts)
		}
	}
	// The end of each partition now is where StartLatest begins, so that
	// what is published after Subscribe returns is read.
	var latest map[int]int64
	if opts.Start == bus.StartLatest {
		err := b.retry(ctx, "reading end offsets of "+topic, func() (err error) {
			latest, err = b.endOffsets(ctx, topic, parts)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("kafka: subscribe to %q: %w", topic, err)
		}
	}

	sctx, cancel := context.WithCancel(context.Background())
	s := &subscription{
		b:      b,
		topic:  topic,
		group:  opts.Group,
		log:    b.log.With("topic", topic),
		out:    make(chan *bus.Delivery),
		closed: make(chan struct{}),
		ctx:    sctx,
		cancel: cancel,
		latest: latest,
	}
	if opts.Group != "" {
		s.log = s.log.With("group", opts.Group)
		start := kafkago.FirstOffset
		if opts.Start == bus.StartLatest {
			start = kafkago.LastOffset
		}
		cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
			ID:                    opts.Group,
			Brokers:               b.cfg.Brokers,
			Dialer:                b.dialer,
			Topics:                []string{topic},
			HeartbeatInterval:     heartbeatInterval,
			SessionTimeout:        sessionTimeout,
			RebalanceTimeout:      rebalanceTimeout,
			JoinGroupBackoff:      joinBackoff,
			WatchPartitionChanges: true,
			StartOffset:           start,
			Timeout:               requestTimeout,
			ErrorLogger:           kafkaLogger(s.log, slog.LevelInfo, "group"),
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("kafka: subscribe to %q as group %q: %w", topic, opts.Group, err)
		}
		s.cg = cg
		s.tracker = commit.New()
		s.joined = make(chan struct{})
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		if s.cg != nil {
			_ = s.cg.Close()
		}
		cancel()
		return nil, bus.ErrClosed
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	if s.cg == nil {
		for p := range parts {
			off := kafkago.FirstOffset
			if o, ok := opts.Offsets[p]; ok {
				off = o
			} else if opts.Start == bus.StartLatest {
				off = latest[p]
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.read(s.ctx, p, off, false)
			}()
		}
		return s, nil
	}

	s.wg.Add(1)
	go s.runGroup()
	select {
	case <-s.joined:
		s.log.Debug("kafka group joined")
		return s, nil
	case <-ctx.Done():
		err := s.lastError()
		_ = s.Close()
		return nil, fmt.Errorf("kafka: subscribe to %q: joining group %q: %w (last error: %v)", topic, opts.Group, ctx.Err(), err)
	case <-s.closed:
		return nil, bus.ErrClosed
	}
}

// retry calls fn until it succeeds, fails for good, ctx ends or the bus
// closes.
func (b *Bus) retry(ctx context.Context, what string, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
		}
		if !retriable(err) {
			return fmt.Errorf("%s: %w", what, err)
		}
		b.log.Log(ctx, retryLevel(attempt), "kafka request failed; retrying", "what", what, "attempt", attempt, "err", err)
		if !sleep(ctx, b.closing, backoff(attempt, publishBackoffMin, publishBackoffMax)) {
			if ctx.Err() != nil {
				return fmt.Errorf("%s: %w (last error: %v)", what, ctx.Err(), err)
			}
			return fmt.Errorf("%s: %w", what, bus.ErrClosed)
		}
	}
}

// subscription is a consumer group member (cg != nil) or a group-less
// reader of every partition.
type subscription struct {
	b      *Bus
	topic  string
	group  string
	log    *slog.Logger
	out    chan *bus.Delivery // unbuffered: a delivery is handed over, never queued
	closed chan struct{}      // closed when Close begins
	ctx    context.Context    // ends when Close begins: stops the readers
	cancel context.CancelFunc
	latest map[int]int64 // StartLatest: end offsets when Subscribe was called
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	// Consumer group members only.
	cg      *kafkago.ConsumerGroup
	tracker *commit.Tracker
	joined  chan struct{} // closed once the first generation has started
	errMu   sync.Mutex
	lastErr error // the last error joining the group, for Subscribe's error
	finalMu sync.Mutex
	final   error // the commit at the end of the last generation, for Close
}

var _ bus.Subscription = (*subscription)(nil)

// Receive returns the next delivery.
func (s *subscription) Receive(ctx context.Context) (*bus.Delivery, error) {
	select {
	case <-s.closed:
		return nil, bus.ErrClosed
	default:
	}
	select {
	case d := <-s.out:
		return d, nil
	case <-s.closed:
		return nil, bus.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops reading; for a group member it commits every acknowledged
// offset, then leaves the group so its partitions move to the other members
// at once.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		if s.cg != nil {
			// Ends the current generation, whose commit loop commits one
			// last time, then leaves the group.
			_ = s.cg.Close()
		}
		s.cancel()
		s.wg.Wait()
		s.b.forget(s)
		s.finalMu.Lock()
		s.closeErr = s.final
		s.finalMu.Unlock()
	})
	return s.closeErr
}

func (s *subscription) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

func (s *subscription) lastError() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.lastErr
}

// runGroup follows the group's generations: each rebalance ends one and
// starts the next with a new assignment of partitions.
func (s *subscription) runGroup() {
	defer s.wg.Done()
	first, failures := true, 0
	for {
		gen, err := s.cg.Next(s.ctx)
		if err != nil {
			if errors.Is(err, kafkago.ErrGroupClosed) || s.ctx.Err() != nil {
				return
			}
			s.errMu.Lock()
			s.lastErr = err
			s.errMu.Unlock()
			failures++
			// kafka-go waits JoinGroupBackoff before its next attempt.
			s.log.Log(s.ctx, retryLevel(failures), "kafka group join failed; retrying", "attempt", failures, "err", err)
			continue
		}
		failures = 0
		s.generation(gen)
		if first {
			first = false
			close(s.joined)
		}
	}
}

// generation starts one reader per assigned partition and the commit loop,
// all bound to the generation: kafka-go waits for them to return before
// the member rejoins.
func (s *subscription) generation(gen *kafkago.Generation) {
	assigned := gen.Assignments[s.topic]
	ids := make([]int, 0, len(assigned))
	var readers sync.WaitGroup
	for _, pa := range assigned {
		p, off := pa.ID, pa.Offset
		ids = append(ids, p)
		tracked := false
		switch {
		case off >= 0: // the group's committed offset
			s.tracker.Start(p, off)
			tracked = true
		case off == kafkago.LastOffset:
			// No committed offset and StartLatest: begin where the
			// partition ended when Subscribe was called, and commit that
			// position now so the group keeps it even if nothing arrives
			// before it stops.
			if end, ok := s.latest[p]; ok {
				off = end
				s.tracker.Start(p, off)
				s.tracker.Redo(map[int]int64{p: off})
				tracked = true
			}
		}
		readers.Add(1)
		gen.Start(func(gctx context.Context) {
			defer readers.Done()
			ctx, cancel := context.WithCancel(s.ctx)
			defer cancel()
			stop := context.AfterFunc(gctx, cancel)
			defer stop()
			s.read(ctx, p, off, tracked)
		})
	}
	s.log.Debug("kafka group generation", "generation", gen.ID, "partitions", ids)
	gen.Start(func(gctx context.Context) {
		s.commitLoop(gctx, gen, ids, &readers)
	})
}

// commitLoop commits acknowledged offsets every CommitInterval, and once
// more when the generation ends (rebalance or Close), after the
// generation's readers have stopped.
func (s *subscription) commitLoop(gctx context.Context, gen *kafkago.Generation, ids []int, readers *sync.WaitGroup) {
	t := time.NewTicker(s.b.cfg.CommitInterval)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-t.C:
			if err := s.commit(gen); err != nil {
				s.log.Warn("kafka commit failed; retrying at the next interval", "err", err)
			}
			continue
		case <-gctx.Done():
		case <-s.ctx.Done():
		}
		done = true
	}
	readers.Wait()
	err := s.commit(gen)
	if err != nil {
		s.log.Warn("kafka commit at the end of a generation failed; acknowledged messages will be delivered again", "generation", gen.ID, "err", err)
		err = fmt.Errorf("kafka: committing offsets of %q for group %q: %w", s.topic, s.group, err)
	}
	if s.isClosed() {
		// This generation ended because of Close, which reports it.
		s.finalMu.Lock()
		s.final = err
		s.finalMu.Unlock()
	}
	for _, p := range ids {
		s.tracker.Stop(p)
	}
}

func (s *subscription) commit(gen *kafkago.Generation) error {
	offs := s.tracker.Committable()
	if len(offs) == 0 {
		return nil
	}
	if err := gen.CommitOffsets(map[string]map[int]int64{s.topic: offs}); err != nil {
		s.tracker.Redo(offs)
		return err
	}
	return nil
}

// read hands the messages of partition p, from offset off on, to Receive
// until ctx ends. For a group member, tracked says whether the tracker
// already follows p; if not, it starts at the first message read.
func (s *subscription) read(ctx context.Context, p int, off int64, tracked bool) {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:        s.b.cfg.Brokers,
		Topic:          s.topic,
		Partition:      p,
		Dialer:         s.b.dialer,
		MinBytes:       1,
		MaxBytes:       max(1<<20, s.b.cfg.MaxMessageBytes+2*batchOverhead),
		MaxWait:        readMaxWait,
		ReadBackoffMin: readBackoffMin,
		ReadBackoffMax: readBackoffMax,
		// Lag reporting would open one more connection per partition.
		ReadLagInterval: -1,
		ErrorLogger:     kafkaLogger(s.log, slog.LevelInfo, "reader"),
	})
	defer r.Close()
	if err := r.SetOffset(off); err != nil {
		s.log.Error("kafka reader: cannot set offset", "partition", p, "offset", off, "err", err)
		return
	}
	for failures := 0; ; {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			s.log.Log(ctx, retryLevel(failures), "kafka read failed; the reader reconnects", "partition", p, "err", err)
			if !sleep(ctx, nil, backoff(failures, readBackoffMin, readBackoffMax)) {
				return
			}
			continue
		}
		failures = 0
		var ack func() error
		if s.tracker != nil {
			if !tracked {
				s.tracker.Start(p, m.Offset)
				tracked = true
			}
			s.tracker.Delivered(p, m.Offset)
			offset := m.Offset
			ack = func() error {
				if s.isClosed() {
					return bus.ErrClosed
				}
				s.tracker.Ack(p, offset)
				return nil
			}
		}
		d := bus.NewDelivery(fromKafka(m), s.topic, p, m.Offset, m.Time, ack)
		select {
		case s.out <- d:
		case <-ctx.Done():
			return
		}
	}
}
