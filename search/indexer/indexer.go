// Package indexer is the search indexer: a bus consumer group that folds
// conversation, outbox and contact events into search documents, plus a
// reader of routing's log for statuses and agents, and writes the
// documents to a search.Index in batches.
//
// Guarantees:
//
//   - Idempotent. Entries are keyed by message, note and call id, and
//     attributes are set to a value, so an event applied twice writes the
//     same document.
//   - Resumable. A delivery is acknowledged only once the batch holding its
//     effect is written, so the group's committed offset never passes an
//     event whose effect is not durable in the index. A restart resumes
//     from that offset; a conversation not held in memory is read back from
//     the index (an LRU keeps recent ones).
//   - Backpressure. At most Config.MaxInFlight events are received and not
//     yet written; a slow or failing index stops the receiving. Failed
//     writes are retried with backoff, never dropped, and an outage is
//     logged once.
//
// Statuses and agents come only from hotline.routing, folded through
// routing.State like the web inbox does, because an assignment on
// hotline.conversations is a request that routing may find void. That log
// is replayed from its beginning on every start (the fold needs all of
// it), without a group. Like the inbox, the indexer publishes a
// router.started marker per tenant and mirrors the state only once the
// marker is read back, so a replay writes final statuses only, and only
// where they differ from the stored ones. Everything else (entries, channel, contact,
// customer, language, times) comes from the other topics. Entries are
// kept in time order, so the order in which the conversations and outbox
// topics arrive does not matter.
package indexer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
)

// Source is the CloudEvents source of the start markers the indexer
// writes on the routing log.
const Source = "/search/indexer"

// Defaults applied by New to zero fields of Config.
const (
	DefaultGroup         = "hotline-indexer"
	DefaultBatchSize     = 500
	DefaultFlushInterval = 200 * time.Millisecond
	DefaultMaxInFlight   = 4096
	DefaultCacheSize     = 10000
	DefaultRetryMin      = 100 * time.Millisecond
	DefaultRetryMax      = 10 * time.Second
	DefaultWriteTimeout  = 30 * time.Second
	DefaultCloseTimeout  = 5 * time.Second
)

// Config configures an Indexer. Zero fields take the defaults above.
type Config struct {
	// Group is the consumer group over the conversations, outbox and
	// contacts topics.
	Group string
	// BatchSize is how many changed documents trigger a write.
	BatchSize int
	// FlushInterval is the longest an applied event waits for its write.
	FlushInterval time.Duration
	// MaxInFlight bounds the events received and not yet written.
	MaxInFlight int
	// CacheSize is how many conversations and contacts stay in memory.
	CacheSize int
	// PhoneRegion is the ISO 3166 region national phone numbers are read
	// in (see search.NormalizePhone); empty accepts international forms only.
	PhoneRegion string
	// Routing is the routing configuration the routers run with: its base
	// tenant configurations decide, with the directory facts on the log,
	// which assignments are valid. It must match the routers'.
	Routing routing.Config
	// RetryMin and RetryMax bound the backoff between failed writes.
	RetryMin, RetryMax time.Duration
	// WriteTimeout bounds one Write call.
	WriteTimeout time.Duration
	// CloseTimeout bounds the last write when Run ends.
	CloseTimeout time.Duration
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	def(&c.BatchSize, DefaultBatchSize)
	def(&c.MaxInFlight, DefaultMaxInFlight)
	def(&c.CacheSize, DefaultCacheSize)
	defDur(&c.FlushInterval, DefaultFlushInterval)
	defDur(&c.RetryMin, DefaultRetryMin)
	defDur(&c.RetryMax, DefaultRetryMax)
	defDur(&c.WriteTimeout, DefaultWriteTimeout)
	defDur(&c.CloseTimeout, DefaultCloseTimeout)
	if c.Routing.DedupeWindow == 0 {
		c.Routing.DedupeWindow = routing.DefaultDedupeWindow
	}
	return c
}

// Validate reports the first field that cannot be used.
func (c Config) Validate() error {
	switch {
	case c.BatchSize < 0:
		return fmt.Errorf("indexer: batch size must be positive, got %d", c.BatchSize)
	case c.MaxInFlight < 0:
		return fmt.Errorf("indexer: max in flight must be positive, got %d", c.MaxInFlight)
	case c.CacheSize < 0:
		return fmt.Errorf("indexer: cache size must be positive, got %d", c.CacheSize)
	case c.FlushInterval < 0 || c.RetryMin < 0 || c.RetryMax < 0 || c.WriteTimeout < 0 || c.CloseTimeout < 0:
		return errors.New("indexer: durations must be positive")
	case c.RetryMax != 0 && c.RetryMin > c.RetryMax:
		return fmt.Errorf("indexer: retry min %s exceeds retry max %s", c.RetryMin, c.RetryMax)
	}
	if c.PhoneRegion != "" {
		// A region NormalizePhone does not know still validates numbers
		// written internationally; only reject what is not a region code.
		if len(c.PhoneRegion) != 2 {
			return fmt.Errorf("indexer: phone region %q is not an ISO 3166 code", c.PhoneRegion)
		}
	}
	if err := c.Routing.Validate(); err != nil {
		return fmt.Errorf("indexer: routing: %w", err)
	}
	return nil
}

// Stats are the indexer's counters, for metrics.
type Stats struct {
	// Events counts events of the group's topics whose effect is written
	// and acknowledged.
	Events int64
	// RoutingFacts counts routing log messages whose effect is written.
	RoutingFacts int64
	// Replaying counts tenants whose routing log is being replayed: their
	// statuses are written once it is read to the end.
	Replaying int64
	// Documents counts documents written (a document written twice counts twice).
	Documents int64
	// Writes counts successful Write calls; Retries failed ones.
	Writes, Retries int64
	// InFlight is the number of events received and not yet written.
	InFlight int64
	// LastWrite is when the last successful write ended.
	LastWrite time.Time
	// Down is true while writes fail.
	Down bool
}

// Indexer folds bus events into search documents.
type Indexer struct {
	cfg Config
	bus bus.Bus
	idx search.Index
	log *slog.Logger

	events, documents, writes, retries atomic.Int64
	inflight                           atomic.Int64
	lastWrite                          atomic.Int64 // unix nanoseconds
	oldest                             atomic.Int64 // bus time of the oldest unwritten event, unix ns; 0 if none
	down                               atomic.Bool
	routingFacts                       atomic.Int64
	replaying                          atomic.Int64 // tenants whose routing log is being replayed
	bg                                 sync.WaitGroup

	running atomic.Bool
	f       *fold // owned by Run's goroutine
}

// New returns an indexer of b's events into idx. log may be nil.
func New(cfg Config, b bus.Bus, idx search.Index, log *slog.Logger) (*Indexer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil || idx == nil {
		return nil, errors.New("indexer: a bus and an index are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	ix := &Indexer{cfg: cfg, bus: b, idx: idx, log: log}
	return ix, nil
}

// Stats returns the counters.
func (ix *Indexer) Stats() Stats {
	s := Stats{
		Events: ix.events.Load(), Documents: ix.documents.Load(), Writes: ix.writes.Load(),
		Retries: ix.retries.Load(), InFlight: ix.inflight.Load(), Down: ix.down.Load(),
		RoutingFacts: ix.routingFacts.Load(), Replaying: ix.replaying.Load(),
	}
	if n := ix.lastWrite.Load(); n != 0 {
		s.LastWrite = time.Unix(0, n)
	}
	return s
}

// Lag is how long ago the bus appended the oldest event applied and not
// yet written; 0 when everything applied is written.
func (ix *Indexer) Lag() time.Duration {
	n := ix.oldest.Load()
	if n == 0 {
		return 0
	}
	return time.Since(time.Unix(0, n))
}

// item is one delivery on its way to the fold.
type item struct {
	d       *bus.Delivery
	routing bool
}

// Run indexes until ctx ends; it then writes what it has applied (within
// Config.CloseTimeout), leaves the group and returns nil. It returns an
// error if a subscription fails. Run may be called once at a time.
func (ix *Indexer) Run(ctx context.Context) error {
	if !ix.running.CompareAndSwap(false, true) {
		return errors.New("indexer: already running")
	}
	defer ix.running.Store(false)
	ix.f = newFold(ix)
	ix.replaying.Store(0)
	ix.inflight.Store(0)
	defer ix.bg.Wait()
	ctx, cancelRun := context.WithCancel(ctx) // ends the marker publishers
	defer cancelRun()

	var subs []bus.Subscription
	defer func() {
		for _, s := range subs {
			if err := s.Close(); err != nil {
				ix.log.Warn("indexer: close subscription", "err", err)
			}
		}
	}()
	type source struct {
		topic   string
		opts    bus.SubscribeOptions
		routing bool
	}
	sources := []source{
		{event.TopicConversations, bus.SubscribeOptions{Group: ix.cfg.Group, Start: bus.StartEarliest}, false},
		{event.TopicOutbox, bus.SubscribeOptions{Group: ix.cfg.Group, Start: bus.StartEarliest}, false},
		{event.TopicContacts, bus.SubscribeOptions{Group: ix.cfg.Group, Start: bus.StartEarliest}, false},
		// No group: the routing fold needs the whole log on every start.
		{event.TopicRouting, bus.SubscribeOptions{Start: bus.StartEarliest}, true},
	}
	for _, s := range sources {
		sub, err := ix.bus.Subscribe(ctx, s.topic, s.opts)
		if err != nil {
			return fmt.Errorf("indexer: subscribe %s: %w", s.topic, err)
		}
		subs = append(subs, sub)
	}

	recvCtx, stopRecv := context.WithCancel(ctx)
	defer stopRecv()
	in := make(chan item, ix.cfg.MaxInFlight)
	tokens := make(chan struct{}, ix.cfg.MaxInFlight)
	errc := make(chan error, len(subs))
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ix.receive(recvCtx, sources[i].topic, sub, sources[i].routing, in, tokens, errc)
		}()
	}
	release := func(n int) {
		for range n {
			<-tokens
		}
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	var runErr error
loop:
	for {
		select {
		case it := <-in:
			if err := ix.f.apply(ctx, it); err != nil {
				break loop // ctx ended while the index could not be read
			}
			ix.noteOldest(it.d.Time)
			if !armed {
				timer.Reset(ix.cfg.FlushInterval)
				armed = true
			}
			if ix.f.dirty() >= ix.cfg.BatchSize || len(ix.f.pending)+ix.f.routingFacts >= ix.cfg.MaxInFlight {
				n, err := ix.flush(ctx)
				release(n)
				if err != nil {
					break loop
				}
			}
		case <-timer.C:
			armed = false
			n, err := ix.flush(ctx)
			release(n)
			if err != nil {
				break loop
			}
		case err := <-errc:
			runErr = err
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	stopRecv()
	wg.Wait()
	// Write what was applied, so that a clean stop leaves nothing to
	// replay; on failure the events are simply delivered again.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ix.cfg.CloseTimeout)
	defer cancel()
	if _, err := ix.flush(fctx); err != nil {
		ix.log.Warn("indexer: last write failed; its events will be delivered again", "events", len(ix.f.pending), "err", err)
	}
	return runErr
}

// receive feeds one subscription into in, taking a token per delivery so
// that at most MaxInFlight are unwritten.
func (ix *Indexer) receive(ctx context.Context, topic string, sub bus.Subscription, routingLog bool, in chan<- item, tokens chan struct{}, errc chan<- error) {
	for {
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			return
		}
		d, err := sub.Receive(ctx)
		if err != nil {
			<-tokens
			if ctx.Err() == nil {
				errc <- fmt.Errorf("indexer: receive %s: %w", topic, err)
			}
			return
		}
		ix.inflight.Add(1)
		select {
		case in <- item{d: d, routing: routingLog}:
		case <-ctx.Done():
			ix.inflight.Add(-1)
			<-tokens
			return
		}
	}
}

// publishMarker publishes a tenant's start marker on the routing log,
// retrying until it is durable or ctx ends.
func (ix *Indexer) publishMarker(ctx context.Context, tenant string, m bus.Message) {
	backoff := ix.cfg.RetryMin
	for {
		err := ix.bus.Publish(ctx, event.TopicRouting, m)
		if err == nil || ctx.Err() != nil {
			return
		}
		ix.log.Warn("indexer: publish start marker", "tenant", tenant, "err", err)
		if sleep(ctx, backoff) != nil {
			return
		}
		backoff = min(backoff*2, ix.cfg.RetryMax)
	}
}

func (ix *Indexer) noteOldest(t time.Time) {
	n := t.UnixNano()
	if cur := ix.oldest.Load(); cur == 0 || n < cur {
		ix.oldest.Store(n)
	}
}

// flush writes the changed documents, retrying until it succeeds or ctx
// ends, then acknowledges the events applied. It returns how many events
// it acknowledged.
func (ix *Indexer) flush(ctx context.Context) (int, error) {
	f := ix.f
	if len(f.pending) == 0 && f.routingFacts == 0 && f.dirty() == 0 {
		return 0, nil
	}
	b := f.batch()
	if b.Len() > 0 {
		backoff := ix.cfg.RetryMin
		failures := 0
		for {
			wctx, cancel := context.WithTimeout(ctx, ix.cfg.WriteTimeout)
			err := ix.idx.Write(wctx, b)
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			failures++
			ix.retries.Add(1)
			if ix.down.CompareAndSwap(false, true) {
				ix.log.Warn("indexer: search index write failed; retrying without acknowledging",
					"documents", b.Len(), "err", err, "unavailable", errors.Is(err, search.ErrUnavailable))
			}
			if err := sleep(ctx, backoff); err != nil {
				return 0, err
			}
			backoff = min(backoff*2, ix.cfg.RetryMax)
		}
		if ix.down.CompareAndSwap(true, false) {
			ix.log.Info("indexer: search index writes again", "failed_attempts", failures)
		}
		ix.writes.Add(1)
		ix.documents.Add(int64(b.Len()))
		ix.lastWrite.Store(time.Now().UnixNano())
	}
	n, facts := len(f.pending), f.routingFacts
	for _, d := range f.pending {
		if err := d.Ack(); err != nil && !errors.Is(err, bus.ErrClosed) {
			ix.log.Warn("indexer: ack", "position", d.String(), "err", err)
		}
	}
	f.written()
	ix.events.Add(int64(n))
	ix.routingFacts.Add(int64(facts))
	ix.inflight.Add(-int64(n + facts))
	ix.oldest.Store(0)
	return n + facts, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
