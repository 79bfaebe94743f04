// Package inbox is the agent side of the web inbox: a per-tenant view of
// conversations folded from the bus, the JSON API agents and supervisors
// act through, and the live agent WebSocket.
//
// The view folds three topics from their beginning: hotline.conversations
// (messages received and delivered, notes, calls, lifecycle),
// hotline.outbox (replies) and hotline.routing. Offers and assignments are
// taken only from the routing log, folded through a routing.State with the
// same configuration as the routers, so the inbox never shows an offer or
// an assignment the routers consider void (docs/ROUTING.md).
//
// Every write is an event published where its readers expect it; a
// request returns once the view has folded its own event back
// (read-your-writes), with the routing verdict for routing requests.
//
// Memory: every conversation of the log is folded; a closed one is dropped
// RetainClosed after its last activity, and each keeps at most MaxThread
// messages and MaxNotes notes (the oldest are dropped and counted). The
// fold holds about 3.9 KB per conversation of ten 100-byte messages
// (BenchmarkFoldConversations). Attachments are not in the view.
//
// Wiring: build auth, a routing.Router and the inbox on one bus with the
// same routing.Config, then Run auth, the router and the inbox, and mount
// auth.Routes and Inbox.Routes on one mux.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/webui/auth"
)

// Source is the CloudEvents source of the inbox's events.
const Source = "/webui/inbox"

// Defaults applied to zero Config fields.
const (
	// DefaultMaxThread bounds the thread entries kept per conversation: the
	// oldest are dropped past it (and counted), so one endless conversation
	// cannot grow the process without bound. Full history is search's job.
	DefaultMaxThread = 1000
	// DefaultMaxNotes bounds the notes kept per conversation, likewise.
	DefaultMaxNotes = 200
	// DefaultMaxBodyBytes bounds JSON request bodies.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxTextBytes bounds a reply or note text.
	DefaultMaxTextBytes = 32 << 10
	// DefaultWaitTimeout bounds how long a request waits for its own event
	// to be folded back before answering 503.
	DefaultWaitTimeout = 10 * time.Second
	// DefaultSignalsTopic is where typing signals travel (channels/chat).
	DefaultSignalsTopic = "hotline.signals"
	// DefaultSendQueue is the frames queued per WebSocket before the client
	// is considered too slow and disconnected.
	DefaultSendQueue = 64
	// DefaultMaxFrameBytes bounds one frame read from an agent's socket;
	// the socket's read limit is the larger of MaxFrameBytes and
	// MaxBodyBytes, so that a reply frame carries a text as long as the
	// HTTP reply request's.
	DefaultMaxFrameBytes = 4 << 10
	// DefaultTypingMaxAge drops typing signals older than this.
	DefaultTypingMaxAge = 5 * time.Second
	// DefaultRetainClosed is how long a resolved or abandoned conversation
	// stays in the view after its last activity: long enough to reopen it
	// from the inbox; older ones are found through search.
	DefaultRetainClosed = 72 * time.Hour
)

// ErrInvalidConfig is wrapped by configuration errors.
var ErrInvalidConfig = errors.New("inbox: invalid configuration")

// ErrNotReady is returned while a tenant's view has not caught up with
// the routing log since start.
var ErrNotReady = errors.New("inbox: not caught up yet")

// Config configures the inbox. Plain data, filled by cmd/.
type Config struct {
	// Routing is the routing configuration: the same tenants, queues and
	// agents the routers are given, because whether an offer or an
	// assignment holds depends on it. Agent ids are account ids.
	Routing routing.Config
	// ReaderID names this instance in its start markers; default host/pid.
	ReaderID string
	// MaxThread, MaxNotes: see DefaultMaxThread, DefaultMaxNotes.
	MaxThread int
	MaxNotes  int
	// MaxBodyBytes, MaxTextBytes: see the defaults.
	MaxBodyBytes int64
	MaxTextBytes int
	// WaitTimeout: see DefaultWaitTimeout.
	WaitTimeout time.Duration
	// SignalsTopic: see DefaultSignalsTopic.
	SignalsTopic string
	// SendQueue, MaxFrameBytes, TypingMaxAge: see the defaults.
	SendQueue     int
	MaxFrameBytes int64
	TypingMaxAge  time.Duration
	// RetainClosed: see DefaultRetainClosed.
	RetainClosed time.Duration
	// RecordingsDir is the voice channel's recordings directory, where
	// call.recorded's WAV files are <sha256>.wav; empty serves none.
	RecordingsDir string
}

func (c Config) withDefaults() Config {
	if c.ReaderID == "" {
		host, _ := os.Hostname()
		c.ReaderID = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if c.MaxThread == 0 {
		c.MaxThread = DefaultMaxThread
	}
	if c.MaxNotes == 0 {
		c.MaxNotes = DefaultMaxNotes
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxTextBytes == 0 {
		c.MaxTextBytes = DefaultMaxTextBytes
	}
	if c.WaitTimeout == 0 {
		c.WaitTimeout = DefaultWaitTimeout
	}
	if c.SignalsTopic == "" {
		c.SignalsTopic = DefaultSignalsTopic
	}
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if c.TypingMaxAge == 0 {
		c.TypingMaxAge = DefaultTypingMaxAge
	}
	if c.RetainClosed == 0 {
		c.RetainClosed = DefaultRetainClosed
	}
	return c
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if err := c.Routing.Validate(); err != nil {
		return fmt.Errorf("%w: routing: %w", ErrInvalidConfig, err)
	}
	for name, v := range map[string]int64{
		"max_thread": int64(c.MaxThread), "max_notes": int64(c.MaxNotes), "max_body_bytes": c.MaxBodyBytes,
		"max_text_bytes": int64(c.MaxTextBytes), "wait_timeout": int64(c.WaitTimeout), "send_queue": int64(c.SendQueue),
		"max_frame_bytes": c.MaxFrameBytes, "typing_max_age": int64(c.TypingMaxAge), "retain_closed": int64(c.RetainClosed),
	} {
		if v < 0 {
			return fmt.Errorf("%w: %s is negative", ErrInvalidConfig, name)
		}
	}
	if c.SignalsTopic != "" {
		if err := bus.ValidTopic(c.SignalsTopic); err != nil {
			return fmt.Errorf("%w: signals_topic: %w", ErrInvalidConfig, err)
		}
	}
	return nil
}

// Inbox is the conversation view, its API and the agent WebSocket.
type Inbox struct {
	cfg  Config
	bus  bus.Bus
	auth *auth.Auth
	log  *slog.Logger

	mu       sync.Mutex
	tenants  map[string]*tenantView
	waiters  map[waitKey]chan error // fold verdicts awaited
	inflight map[string]chan struct{}
	clients  map[string]*sockets // by tenant
	done     chan struct{}
	// unmarked is signalled when a tenant first seen on the bus needs its
	// start marker.
	unmarked chan struct{}
	// replyWork serves the sockets' reply frames.
	replyWork *workers
}

// tenantView is one tenant's conversations and routing fold.
type tenantView struct {
	id string
	st *routing.State
	// static: the tenant is in Config.Routing. configured: it is served,
	// being static or having a queue or an agent from the directory.
	static     bool
	configured bool
	marker     string
	synced     bool
	convs      map[string]*Conversation
}

// refresh recomputes whether t is served after its routing configuration
// changed. Called with i.mu held.
func (t *tenantView) refresh() {
	cfg := t.st.Config()
	t.configured = t.static || len(cfg.Queues) > 0 || len(cfg.Agents) > 0
}

// New validates cfg and builds an inbox; nothing runs until Run.
func New(cfg Config, b bus.Bus, a *auth.Auth, log *slog.Logger) (*Inbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if b == nil {
		return nil, errors.New("inbox: nil bus")
	}
	if a == nil {
		return nil, errors.New("inbox: nil auth")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	i := &Inbox{
		cfg: cfg, bus: b, auth: a, log: log.With("component", "inbox"),
		tenants: map[string]*tenantView{}, waiters: map[waitKey]chan error{},
		inflight: map[string]chan struct{}{}, clients: map[string]*sockets{},
		done: make(chan struct{}), unmarked: make(chan struct{}, 1),
	}
	i.replyWork = newWorkers(i.done)
	for _, tc := range cfg.Routing.Tenants {
		if tc.DedupeWindow == 0 {
			tc.DedupeWindow = cfg.Routing.DedupeWindow
		}
		if tc.DedupeWindow == 0 {
			tc.DedupeWindow = routing.DefaultDedupeWindow
		}
		st, err := routing.NewState(tc)
		if err != nil {
			return nil, fmt.Errorf("inbox: tenant %s: %w", tc.ID, err)
		}
		i.tenants[tc.ID] = &tenantView{id: tc.ID, st: st, static: true, configured: true, convs: map[string]*Conversation{}}
	}
	return i, nil
}

// Run replays the conversation, outbox and routing topics from their
// beginning, then follows them (and typing signals) until ctx ends (nil)
// or the bus fails. A tenant is served once it has a routing
// configuration (static, or a queue or an agent from the directory) and
// this instance's start marker on the routing log is read back; a tenant
// first seen on the bus gets its marker then.
func (i *Inbox) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		i.mu.Lock()
		select {
		case <-i.done:
		default:
			close(i.done)
		}
		for _, cs := range i.clients {
			for c := range cs.all {
				c.stop()
			}
		}
		i.mu.Unlock()
	}()
	type reader struct {
		topic string
		start bus.Start
		fold  func(*bus.Delivery)
	}
	readers := []reader{
		{event.TopicRouting, bus.StartEarliest, i.foldRouting},
		{event.TopicConversations, bus.StartEarliest, i.foldConversations},
		{event.TopicOutbox, bus.StartEarliest, i.foldOutbox},
		{i.cfg.SignalsTopic, bus.StartLatest, i.foldSignal},
	}
	subs := make([]bus.Subscription, 0, len(readers))
	for _, r := range readers {
		sub, err := i.bus.Subscribe(ctx, r.topic, bus.SubscribeOptions{Start: r.start})
		if err != nil {
			for _, s := range subs {
				_ = s.Close()
			}
			if ctx.Err() != nil {
				return nil // stopped while starting: a clean stop, as Run promises
			}
			return fmt.Errorf("inbox: subscribe to %s: %w", r.topic, err)
		}
		subs = append(subs, sub)
	}
	errc := make(chan error, len(readers))
	var wg sync.WaitGroup
	for n, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				d, err := subs[n].Receive(ctx)
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("inbox: read %s: %w", r.topic, err)
					}
					return
				}
				r.fold(d)
			}
		}()
	}
	defer func() {
		cancel()
		for _, s := range subs {
			_ = s.Close()
		}
		wg.Wait()
	}()
	if err := i.publishMarkers(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	i.log.Info("inbox started", "tenants", len(i.cfg.Routing.Tenants))
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case <-i.unmarked:
			if err := i.publishMarkers(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		case now := <-sweep.C:
			i.evict(now)
		}
	}
}

// evict drops closed conversations whose last activity is older than
// RetainClosed, so the view holds the live work and recent history, not
// the whole log.
func (i *Inbox) evict(now time.Time) int {
	horizon := now.Add(-i.cfg.RetainClosed)
	i.mu.Lock()
	defer i.mu.Unlock()
	n := 0
	for _, t := range i.tenants {
		for id, c := range t.convs {
			if (c.Status == StatusResolved || c.Status == StatusAbandoned) && c.LastActivity.Before(horizon) {
				delete(t.convs, id)
				n++
			}
		}
	}
	return n
}

// publishMarkers writes one router.started marker on the routing log per
// tenant that has none: the configured ones at start, others once seen on
// the bus (the directory may configure them later). A tenant's view is
// caught up once its marker is read back, exactly as a router's (routing
// folds it as a no-op).
func (i *Inbox) publishMarkers(ctx context.Context) error {
	i.mu.Lock()
	var msgs []bus.Message
	var marked []*tenantView
	for id, t := range i.tenants {
		if t.marker != "" {
			continue
		}
		e, err := event.New(event.RouterStarted, id, &event.RouterStartedData{RouterID: "inbox/" + i.cfg.ReaderID},
			event.WithSource(Source))
		if err != nil {
			i.mu.Unlock()
			return fmt.Errorf("inbox: start marker: %w", err)
		}
		m, err := event.RoutingMessage(e)
		if err != nil {
			i.mu.Unlock()
			return fmt.Errorf("inbox: start marker: %w", err)
		}
		t.marker = e.ID
		msgs = append(msgs, m)
		marked = append(marked, t)
	}
	i.mu.Unlock()
	if len(msgs) == 0 {
		return nil
	}
	if err := i.bus.Publish(ctx, event.TopicRouting, msgs...); err != nil {
		i.mu.Lock()
		for _, t := range marked {
			if !t.synced {
				t.marker = "" // marked again by the next call
			}
		}
		i.mu.Unlock()
		return fmt.Errorf("inbox: publish start markers: %w", err)
	}
	return nil
}

// Synced reports whether tenant's view has caught up since start.
func (i *Inbox) Synced(tenant string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	t := i.tenants[tenant]
	return t != nil && t.synced
}

// waitKey names one event on one topic for read-your-writes. A struct, not
// the two strings joined: settle looks one up for every event folded, with
// the inbox's lock held.
type waitKey struct{ topic, id string }

// expect registers a waiter for the fold of event id on topic; call it
// before publishing.
func (i *Inbox) expect(topic, id string) chan error {
	ch := make(chan error, 1)
	i.mu.Lock()
	i.waiters[waitKey{topic, id}] = ch
	i.mu.Unlock()
	return ch
}

// forget drops waiters that will not be read.
func (i *Inbox) forget(topic string, ids ...string) {
	i.mu.Lock()
	for _, id := range ids {
		delete(i.waiters, waitKey{topic, id})
	}
	i.mu.Unlock()
}

// settle tells the waiter of (topic, id), if any, the fold's verdict.
// Called with i.mu held.
func (i *Inbox) settle(topic, id string, verdict error) {
	k := waitKey{topic, id}
	if ch, ok := i.waiters[k]; ok {
		ch <- verdict
		delete(i.waiters, k)
	}
}

// await waits for a registered fold verdict.
func (i *Inbox) await(ctx context.Context, topic, id string, ch chan error) error {
	t := time.NewTimer(i.cfg.WaitTimeout)
	defer t.Stop()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		i.forget(topic, id)
		return fmt.Errorf("inbox: waiting for %s to be folded: %w", id, ctx.Err())
	case <-t.C:
		i.forget(topic, id)
		return fmt.Errorf("%w: %s on %s was not read back within %s", ErrNotReady, id, topic, i.cfg.WaitTimeout)
	case <-i.done:
		return fmt.Errorf("%w: stopped", ErrNotReady)
	}
}
