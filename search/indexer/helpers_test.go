package indexer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
	searchembedded "github.com/hotline-hub/hotline/search/embedded"
)

const tenant = "t1"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func testLog() *slog.Logger {
	if os.Getenv("INDEXER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func openBus(t testing.TB) *embedded.Bus {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Partitions: 4, CommitInterval: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func openIndex(t testing.TB) *searchembedded.Index {
	t.Helper()
	x, err := searchembedded.Open(t.TempDir())
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// routingConfig configures agent a1 for every channel.
func routingConfig() routing.Config {
	return routing.Config{Tenants: []routing.TenantConfig{{
		ID:     tenant,
		Queues: []routing.QueueConfig{{ID: "support", Name: "support"}},
		Agents: []routing.AgentConfig{{ID: "a1", Capacity: map[string]int{"chat": 100, "voice": 1, "email": 100, "sms": 100}}},
	}}}
}

// ev builds an event of conversation conv at t0+sec seconds.
func ev(t testing.TB, typ, conv string, sec int, p event.Payload, opts ...event.Option) *event.Envelope {
	t.Helper()
	base := []event.Option{event.WithTime(t0.Add(time.Duration(sec) * time.Second))}
	if conv != "" {
		base = append(base, event.WithConversation(conv))
	}
	e, err := event.New(typ, tenant, p, append(base, opts...)...)
	if err != nil {
		t.Fatalf("event.New(%s): %v", typ, err)
	}
	return e
}

// routed are the types routing's forwarder copies onto the routing log.
var routed = map[string]bool{
	event.ConversationQueued: true, event.ConversationAssigned: true, event.ConversationTransferred: true,
	event.ConversationResolved: true, event.ConversationAbandoned: true, event.ContactIdentified: true,
	event.AgentPresenceChanged: true,
}

// publish publishes events on their topics, and copies the routing facts
// onto the routing log as routing's forwarder does.
func publish(t testing.TB, b bus.Publisher, evs ...*event.Envelope) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, e := range evs {
		m, err := event.ToMessage(e)
		if err != nil {
			t.Fatalf("encode %s: %v", e.Type, err)
		}
		if err := b.Publish(ctx, event.TopicFor(e.Type), m); err != nil {
			t.Fatalf("publish %s: %v", e.Type, err)
		}
		if routed[e.Type] {
			publishRouting(t, b, e)
		}
	}
}

// publishRouting publishes e on the routing log only.
func publishRouting(t testing.TB, b bus.Publisher, e *event.Envelope) {
	t.Helper()
	m, err := event.RoutingMessage(e)
	if err != nil {
		t.Fatalf("encode %s for routing: %v", e.Type, err)
	}
	if err := b.Publish(context.Background(), event.TopicRouting, m); err != nil {
		t.Fatalf("publish %s on routing: %v", e.Type, err)
	}
}

// running is an indexer running in the background.
type running struct {
	ix   *Indexer
	stop func() error
}

func start(t testing.TB, cfg Config, b bus.Bus, idx search.Index) *running {
	t.Helper()
	if cfg.Routing.Tenants == nil {
		cfg.Routing = routingConfig()
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = 20 * time.Millisecond
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = 5*time.Millisecond, 50*time.Millisecond
	}
	ix, err := New(cfg, b, idx, testLog())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = errors.New("Run did not return within 30s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return &running{ix: ix, stop: stop}
}

// eventually polls cond until it holds, failing the test after 20 s.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not reached in 20s: %s", what, last)
}

// stored reads a conversation from the index.
func stored(t testing.TB, idx search.Index, id string) (search.Conversation, bool) {
	t.Helper()
	c, ok, err := idx.Conversation(context.Background(), tenant, id)
	if err != nil {
		t.Fatalf("Conversation(%s): %v", id, err)
	}
	return c, ok
}

// recorder wraps an index: it can fail writes and records what was written.
type recorder struct {
	search.Index
	failures atomic.Int64 // writes left to fail with ErrUnavailable
	failed   atomic.Int64

	mu      sync.Mutex
	writes  int
	convs   map[string]int // conversation id -> times written
	written map[string]time.Time
	agents  map[string][]string // conversation id -> agent of each write
}

func newRecorder(idx search.Index) *recorder {
	return &recorder{Index: idx, convs: map[string]int{}, written: map[string]time.Time{}, agents: map[string][]string{}}
}

func (r *recorder) Write(ctx context.Context, b search.Batch) error {
	if r.failures.Add(-1) >= 0 {
		r.failed.Add(1)
		return fmt.Errorf("test double: %w", search.ErrUnavailable)
	}
	r.failures.Store(0)
	if err := r.Index.Write(ctx, b); err != nil {
		return err
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	for _, c := range b.Conversations {
		r.convs[c.ID]++
		r.written[c.ID] = now
		r.agents[c.ID] = append(r.agents[c.ID], c.AgentID)
	}
	return nil
}

func (r *recorder) written1() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.convs))
	for k, v := range r.convs {
		out[k] = v
	}
	return out
}
