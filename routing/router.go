package routing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// ErrMisrouted is logged (and the message skipped) for a message on the
// routing topic not keyed by its tenant: its order against the tenant's
// other facts is undefined, so no reader may act on it.
var ErrMisrouted = errors.New("routing: routing message not keyed by its tenant")

// Clock is the router's time source. Decisions, offer deadlines and timers
// all read it, so tests drive a router through hours and timeouts without
// sleeping.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Option changes a Router.
type Option func(*Router)

// WithClock replaces the system clock.
func WithClock(c Clock) Option { return func(r *Router) { r.clock = c } }

// WithStateOptions passes options (a Selector) to every tenant's State.
func WithStateOptions(opts ...StateOption) Option {
	return func(r *Router) { r.stateOpts = append(r.stateOpts, opts...) }
}

// Router runs routing on a bus for its configured tenants and for every
// tenant the directory gives a queue or an agent. It copies routing
// requests (queued, accepted, transferred, resolved conversations,
// presence) from the conversation, agent and contact topics, and queue and
// agent profile changes from the directory topic, onto the routing topic,
// folds the routing topic from its beginning into one State per tenant,
// and publishes its decisions there. Any number of routers may
// run on one bus: their proposals race, and the order of the routing log
// decides which ones hold (see State.Apply and docs/ROUTING.md).
type Router struct {
	cfg       Config
	bus       bus.Bus
	log       *slog.Logger
	clock     Clock
	stateOpts []StateOption

	mu      sync.Mutex
	tenants map[string]*tenant // every tenant seen on the log, configured or not
	wake    chan struct{}
}

// tenant is a router's bookkeeping for one tenant.
type tenant struct {
	st *State
	// configured: the tenant has a static configuration (Config.Tenants).
	configured bool
	// marker is the id of this router's router.started event, published
	// for every tenant seen; the tenant is synced once it is read back, and
	// only synced tenants are decided for.
	marker string
	synced bool
	dirty  bool
	// pending are the ids of this router's proposals not yet read back; the
	// router does not decide again for the tenant until they are, so it
	// never proposes twice from the same state.
	pending      map[string]struct{}
	pendingSince time.Time
	// wakeAt is the deadline the router last scheduled for the tenant; once
	// reached the tenant is decided for even if the deadline has vanished
	// from NextDeadline (a queue that opened is no longer "opening").
	wakeAt time.Time
}

// New validates cfg and prepares a router; nothing runs until Run.
func New(cfg Config, b bus.Bus, log *slog.Logger, opts ...Option) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("routing: nil bus")
	}
	if log == nil {
		return nil, errors.New("routing: nil logger")
	}
	cfg = cfg.withDefaults()
	r := &Router{
		cfg:     cfg,
		bus:     b,
		log:     log.With("component", "routing", "router_id", cfg.RouterID),
		clock:   systemClock{},
		tenants: map[string]*tenant{},
		wake:    make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(r)
	}
	if r.clock == nil {
		return nil, errors.New("routing: nil clock")
	}
	for _, tc := range r.cfg.Tenants {
		if _, err := r.configure(tc); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// configure installs tc, keeping what was folded for the tenant so far.
func (r *Router) configure(tc TenantConfig) (*tenant, error) {
	if tc.DedupeWindow == 0 {
		tc.DedupeWindow = r.cfg.DedupeWindow
	}
	t := r.tenants[tc.ID]
	if t == nil {
		st, err := NewState(tc, r.stateOpts...)
		if err != nil {
			return nil, err
		}
		t = &tenant{st: st}
		r.tenants[tc.ID] = t
	} else if err := t.st.SetConfig(tc); err != nil {
		return nil, err
	}
	t.configured = true
	t.dirty = true
	return t, nil
}

// SetConfig replaces the static configuration (the tenants, their queues
// and agents) while the router runs. Changes folded from the directory are
// kept on top of it. A tenant added starts being decided for once its
// marker is read back; a tenant removed is still folded, and decided for
// only while the directory gives it a queue or an agent. It fails,
// changing nothing, if a tenant's static configuration combined with its
// directory changes is invalid.
func (r *Router) SetConfig(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := map[string]bool{}
	for _, tc := range cfg.Tenants {
		keep[tc.ID] = true
		if tc.DedupeWindow == 0 {
			tc.DedupeWindow = r.cfg.DedupeWindow
		}
		if t := r.tenants[tc.ID]; t != nil {
			if _, err := t.st.withBase(tc); err != nil {
				return fmt.Errorf("routing: tenant %s: %w", tc.ID, err)
			}
		}
	}
	empty := func(id string) TenantConfig { return TenantConfig{ID: id, DedupeWindow: r.cfg.DedupeWindow} }
	for id, t := range r.tenants {
		if !keep[id] && t.configured {
			if _, err := t.st.withBase(empty(id)); err != nil {
				return fmt.Errorf("routing: tenant %s: %w", id, err)
			}
		}
	}
	for _, tc := range cfg.Tenants {
		if _, err := r.configure(tc); err != nil {
			return err
		}
	}
	for id, t := range r.tenants {
		if !keep[id] && t.configured {
			t.configured = false
			if err := t.st.SetConfig(empty(id)); err != nil {
				return fmt.Errorf("routing: tenant %s: %w", id, err)
			}
			t.dirty = true
		}
	}
	r.cfg.Tenants = cfg.Tenants
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// View calls fn with the state of tenant, or nil if the router has not seen
// it, while holding the router's lock: fn must not keep the state.
func (r *Router) View(tenantID string, fn func(*State)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var st *State
	if t := r.tenants[tenantID]; t != nil {
		st = t.st
	}
	fn(st)
}

// Synced reports whether the router has caught up with tenant's log since
// it started (its start marker was read back).
func (r *Router) Synced(tenantID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tenants[tenantID]
	return t != nil && t.synced
}

// Run folds, decides and forwards until ctx ends (then it returns nil) or
// the bus fails. It replays the routing topic from its beginning first and
// decides for a tenant only once caught up. Call it once per Router.
func (r *Router) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	reader, err := r.bus.Subscribe(ctx, event.TopicRouting, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("routing: subscribe to %s: %w", event.TopicRouting, err)
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(forwardTopics)+1)
	// Reading, decoding and folding are a pipeline: decoding (the costly,
	// stateless part) runs beside the fold, in batches, so replaying a long
	// log uses two cores and the fold loop wakes once per batch.
	raw := make(chan *bus.Delivery, foldBatch)
	batches := make(chan []folded, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer close(raw)
		for {
			d, err := reader.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil {
					errc <- fmt.Errorf("routing: read %s: %w", event.TopicRouting, err)
				}
				return
			}
			select {
			case raw <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for d := range raw {
			batch := make([]folded, 0, 64)
			batch = append(batch, decodeDelivery(d))
		drain:
			for len(batch) < foldBatch {
				select {
				case d, ok := <-raw:
					if !ok {
						break drain
					}
					batch = append(batch, decodeDelivery(d))
				default:
					break drain
				}
			}
			select {
			case batches <- batch:
			case <-ctx.Done():
				return
			}
		}
	}()
	for _, topic := range forwardTopics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.forward(ctx, topic); err != nil && ctx.Err() == nil {
				errc <- err
			}
		}()
	}
	defer func() {
		cancel()
		_ = reader.Close()
		wg.Wait()
	}()

	r.log.Info("routing started", "tenants", len(r.cfg.Tenants))
	for {
		if err := r.publishMarkers(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var timer <-chan time.Time
		if d, ok := r.nextWake(); ok {
			timer = r.clock.After(d)
		}
		select {
		case <-ctx.Done():
			r.log.Info("routing stopped")
			return nil
		case err := <-errc:
			return err
		case batch := <-batches:
			r.mu.Lock()
			for i := range batch {
				r.fold(&batch[i])
			}
			r.mu.Unlock()
		case <-timer:
		case <-r.wake:
		}
		r.decideAll(ctx)
	}
}

// publishMarkers writes a router.started event for every tenant that has
// none yet: configured ones at start, others when first seen on the log,
// so that a tenant configured later through the directory is decided for
// only once the router has caught up with it.
func (r *Router) publishMarkers(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var msgs []bus.Message
	var marked []*tenant
	for id, t := range r.tenants {
		if t.marker != "" {
			continue
		}
		e, err := event.New(event.RouterStarted, id, &event.RouterStartedData{RouterID: r.cfg.RouterID},
			event.WithSource(Source), event.WithTime(r.clock.Now()))
		if err != nil {
			return fmt.Errorf("routing: start marker: %w", err)
		}
		m, err := event.RoutingMessage(e)
		if err != nil {
			return fmt.Errorf("routing: start marker: %w", err)
		}
		msgs = append(msgs, m)
		t.marker = e.ID
		marked = append(marked, t)
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := r.bus.Publish(ctx, event.TopicRouting, msgs...); err != nil {
		for _, t := range marked {
			t.marker = ""
		}
		return fmt.Errorf("routing: publish start markers: %w", err)
	}
	return nil
}

// foldBatch bounds how many routing messages are folded under one lock.
const foldBatch = 1024

// folded is a routing message read and decoded, ready to fold.
type folded struct {
	d    *bus.Delivery
	e    *event.Envelope
	err  error // unreadable or misrouted: skipped by every reader
	p    event.Payload
	perr error // the payload's decoding or validation error: a void fact
}

func decodeDelivery(d *bus.Delivery) folded {
	f := folded{d: d}
	f.e, f.err = ReadRoutingDelivery(d)
	if f.err == nil {
		f.p, f.perr = decodePayload(f.e)
	}
	return f
}

// ReadRouting decodes a message of the routing topic for folding. It fails
// for what no reader may fold: a message that is not an event, or one not
// keyed by its tenant (ErrMisrouted), whose position among the tenant's
// facts means nothing. Every reader of the routing log (routers, the web
// inbox) skips those the same way.
func ReadRouting(m *bus.Message) (*event.Envelope, error) {
	e, err := event.FromMessage(m)
	if err != nil {
		return nil, err
	}
	return checkRouting(e, m.Key)
}

// ReadRoutingDelivery is ReadRouting for a delivery, through
// event.FromDelivery: the envelope (and its payload) is decoded once per
// process and shared by every reader of the record, so it is read-only.
func ReadRoutingDelivery(d *bus.Delivery) (*event.Envelope, error) {
	e, err := event.FromDelivery(d)
	if err != nil {
		return nil, err
	}
	return checkRouting(e, d.Key)
}

// checkRouting fails for an envelope not keyed by its tenant.
func checkRouting(e *event.Envelope, key []byte) (*event.Envelope, error) {
	if string(key) != e.Tenant {
		return nil, fmt.Errorf("%w: key %q, tenant %q", ErrMisrouted, key, e.Tenant)
	}
	return e, nil
}

// fold applies one message of the routing topic. Called with r.mu held.
func (r *Router) fold(f *folded) {
	if f.err != nil {
		r.log.Warn("routing message skipped", "topic", f.d.Topic, "position", f.d.String(), "err", f.err)
		return
	}
	e := f.e
	t := r.tenants[e.Tenant]
	if t == nil {
		if !event.ValidTenant(e.Tenant) {
			return
		}
		st, err := NewState(TenantConfig{ID: e.Tenant, DedupeWindow: r.cfg.DedupeWindow}, r.stateOpts...)
		if err != nil {
			r.log.Error("cannot fold tenant", "tenant", e.Tenant, "err", err)
			return
		}
		t = &tenant{st: st}
		r.tenants[e.Tenant] = t
	}
	if err := t.st.apply(e, f.p, f.perr); err != nil {
		if t.routed() {
			r.log.Debug("routing fact void", "tenant", e.Tenant, "conversation_id", e.ConversationID,
				"type", e.Type, "event_id", e.ID, "err", err)
		}
	}
	if t.pending != nil {
		delete(t.pending, e.ID)
		if len(t.pending) == 0 {
			t.pending = nil
		}
	}
	if e.ID == t.marker && !t.synced {
		t.synced = true
		r.log.Info("caught up with the routing log", "tenant", e.Tenant, "version", t.st.Version())
	}
	t.dirty = true
}

// routed reports whether the router decides for t (once synced): it has
// a static configuration, or the directory gave it a queue or an agent.
func (t *tenant) routed() bool { return t.configured || t.st.routable() }

// nextWake is how long until a tenant needs a decision without any event
// arriving.
func (r *Router) nextWake() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	var best time.Time
	for _, t := range r.tenants {
		if !t.routed() || !t.synced {
			continue
		}
		var at time.Time
		if t.pending != nil {
			at = t.pendingSince.Add(r.cfg.PendingTimeout)
		} else if dl, ok := t.st.NextDeadline(now); ok {
			at = dl
			t.wakeAt = dl
		} else {
			continue
		}
		if best.IsZero() || at.Before(best) {
			best = at
		}
	}
	if best.IsZero() {
		return 0, false
	}
	return max(best.Sub(now), 0), true
}

// decideAll decides and publishes for every synced tenant that changed or
// has a deadline due, unless its previous proposals are still in flight.
func (r *Router) decideAll(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock.Now()
	ids := make([]string, 0, len(r.tenants))
	for id := range r.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := r.tenants[id]
		if !t.routed() || !t.synced {
			continue
		}
		if t.pending != nil {
			if now.Sub(t.pendingSince) < r.cfg.PendingTimeout {
				continue
			}
			r.log.Warn("proposals not read back in time; deciding again", "tenant", id, "pending", len(t.pending))
			t.pending = nil
		}
		if !t.dirty && (t.wakeAt.IsZero() || now.Before(t.wakeAt)) {
			continue
		}
		t.dirty, t.wakeAt = false, time.Time{}
		r.decide(ctx, id, t, now)
	}
}

// decide runs one round for t and publishes it. Called with r.mu held.
func (r *Router) decide(ctx context.Context, id string, t *tenant, now time.Time) {
	ds := t.st.Decide(now)
	if len(ds) == 0 {
		return
	}
	msgs := make([]bus.Message, 0, len(ds))
	pending := make(map[string]struct{}, len(ds))
	for _, d := range ds {
		e, err := d.Envelope(id, now)
		if err == nil {
			err = e.SetExtension(ExtensionRouter, r.cfg.RouterID)
		}
		if err == nil {
			var m bus.Message
			if m, err = event.RoutingMessage(e); err == nil {
				msgs = append(msgs, m)
				pending[e.ID] = struct{}{}
				r.log.Debug("proposing", "tenant", id, "conversation_id", d.ConversationID, "decision", d.Kind.String(),
					"agent_id", d.AgentID, "queue", d.Queue, "event_id", e.ID, "version", d.Version)
				continue
			}
		}
		r.log.Error("cannot encode decision", "tenant", id, "conversation_id", d.ConversationID, "err", err)
	}
	if len(msgs) == 0 {
		return
	}
	t.pending, t.pendingSince = pending, now
	if err := r.bus.Publish(ctx, event.TopicRouting, msgs...); err != nil {
		// Some may be stored; the pending timeout paces the retry, and a
		// proposal stored twice is void the second time.
		if ctx.Err() == nil {
			r.log.Error("publish decisions", "tenant", id, "topic", event.TopicRouting, "err", err)
		}
	}
}
