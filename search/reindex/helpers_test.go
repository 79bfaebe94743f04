package reindex

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	busembedded "github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
	"github.com/hotline-hub/hotline/search/embedded"
	"github.com/hotline-hub/hotline/search/indexer"
)

const tenant = "t1"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func testLog() *slog.Logger {
	if os.Getenv("REINDEX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return nil
}

func openBus(t testing.TB) *busembedded.Bus {
	t.Helper()
	b, err := busembedded.Open(busembedded.Config{Dir: t.TempDir(), Partitions: 4, CommitInterval: 10 * time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// indexerConfig is the live indexer's configuration in these tests; the
// rebuild uses the same.
func indexerConfig() indexer.Config {
	return indexer.Config{
		FlushInterval: 20 * time.Millisecond,
		RetryMin:      5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Routing: routing.Config{Tenants: []routing.TenantConfig{{
			ID:     tenant,
			Queues: []routing.QueueConfig{{ID: "support", Name: "support"}},
			Agents: []routing.AgentConfig{{ID: "a1", Capacity: map[string]int{"chat": 100000}}},
		}}},
	}
}

// conversation is a chat conversation as the channels and routing write
// it: queued, the customer's message, assigned, the agent's reply, and,
// when resolved, resolved.
func conversation(t testing.TB, id string, sec int, resolved bool) []*event.Envelope {
	t.Helper()
	opts := func(s int) []event.Option {
		return []event.Option{event.WithChannel(event.ChannelChat), event.WithContact("visitor-" + id),
			event.WithConversation(id), event.WithTime(t0.Add(time.Duration(s) * time.Second))}
	}
	mk := func(typ string, s int, p event.Payload) *event.Envelope {
		e, err := event.New(typ, tenant, p, opts(s)...)
		if err != nil {
			t.Fatalf("event.New(%s): %v", typ, err)
		}
		return e
	}
	evs := []*event.Envelope{
		mk(event.ConversationQueued, sec, &event.ConversationQueuedData{Queue: "support", Language: "fr"}),
		mk(event.MessageReceived, sec+1, &event.MessageReceivedData{
			MessageID: "in-" + id, From: event.Address{Address: "visitor-" + id, Name: "Zoé Martin"},
			To: []event.Address{{Address: "support"}}, Text: "Mon colis n'est toujours pas arrivé " + id, Language: "fr",
		}),
		mk(event.ConversationAssigned, sec+2, &event.ConversationAssignedData{AgentID: "a1", Queue: "support"}),
		mk(event.MessageSent, sec+3, &event.MessageSentData{
			MessageID: "out-" + id, AgentID: "a1", From: event.Address{Address: "support"},
			To: []event.Address{{Address: "visitor-" + id}}, Text: "Nous vérifions votre livraison", Language: "fr",
		}),
	}
	if resolved {
		evs = append(evs, mk(event.ConversationResolved, sec+4, &event.ConversationResolvedData{AgentID: "a1", Resolution: "solved"}))
	}
	return evs
}

// routed are the types routing's forwarder copies onto the routing log.
var routed = map[string]bool{
	event.ConversationQueued: true, event.ConversationAssigned: true, event.ConversationResolved: true,
}

// publish publishes events on their topics, and the routing facts on the
// routing log as routing's forwarder does.
func publish(ctx context.Context, b bus.Publisher, evs ...*event.Envelope) error {
	for _, e := range evs {
		m, err := event.ToMessage(e)
		if err != nil {
			return fmt.Errorf("encode %s: %w", e.Type, err)
		}
		if err := b.Publish(ctx, event.TopicFor(e.Type), m); err != nil {
			return fmt.Errorf("publish %s: %w", e.Type, err)
		}
		if routed[e.Type] {
			m, err := event.RoutingMessage(e)
			if err != nil {
				return fmt.Errorf("encode %s for routing: %w", e.Type, err)
			}
			if err := b.Publish(ctx, event.TopicRouting, m); err != nil {
				return fmt.Errorf("publish %s on routing: %w", e.Type, err)
			}
		}
	}
	return nil
}

// openIndex opens the embedded index in a directory of its own, closed
// when t ends.
func openIndex(t testing.TB) (string, *embedded.Index) {
	t.Helper()
	dir := t.TempDir()
	x, err := embedded.Open(dir)
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return dir, x
}

// mustPublish publishes evs as publish does, and fails t if it cannot.
func mustPublish(t testing.TB, ctx context.Context, b bus.Publisher, evs ...*event.Envelope) {
	t.Helper()
	if err := publish(ctx, b, evs...); err != nil {
		t.Fatal(err)
	}
}

// publishBefore publishes n conversations, before-000 and on, resolved
// where resolved(i) holds, and returns their ids.
func publishBefore(t testing.TB, ctx context.Context, b bus.Publisher, n int, resolved func(i int) bool) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		id := fmt.Sprintf("before-%03d", i)
		ids = append(ids, id)
		mustPublish(t, ctx, b, conversation(t, id, i*10, resolved(i))...)
	}
	return ids
}

// newJob is a job with the tests' indexer configuration, measuring
// progress every interval.
func newJob(t testing.TB, interval time.Duration, b bus.Bus, ends EndOffsetter, target Target, live Pauser) *Job {
	t.Helper()
	job, err := New(Config{Indexer: indexerConfig(), Interval: interval}, b, ends, target, live, testLog())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return job
}

// runLive runs the live indexer of idx in the background, stopped when t
// ends.
func runLive(t testing.TB, b bus.Bus, idx search.Index) *Live {
	t.Helper()
	ix, err := indexer.New(indexerConfig(), b, idx, testLog())
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(ix)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- live.Run(ctx) }()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("live indexer: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("the live indexer did not stop within 30s")
			}
		})
	})
	return live
}

// withConversation is the embedded bus and the embedded index in dir,
// its live indexer running, and conversation c1, resolved, published.
func withConversation(t testing.TB) (b *busembedded.Bus, dir string, x *embedded.Index, live *Live) {
	t.Helper()
	b = openBus(t)
	dir, x = openIndex(t)
	live = runLive(t, b, x)
	mustPublish(t, context.Background(), b, conversation(t, "c1", 0, true)...)
	return b, dir, x, live
}

// complete reports whether conversation id is stored with both messages,
// and resolved if it should be.
func complete(ctx context.Context, idx search.Index, id string, resolved bool) (bool, error) {
	c, ok, err := idx.Conversation(ctx, tenant, id)
	if err != nil || !ok {
		return false, err
	}
	if len(c.Entries) != 2 || (resolved && c.Status != search.StatusResolved) {
		return false, nil
	}
	return true, nil
}

// waitComplete waits until every conversation of ids is complete in idx.
func waitComplete(t testing.TB, idx search.Index, ids []string, resolved func(string) bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		for {
			ok, err := complete(ctx, idx, id, resolved(id))
			if ok {
				break
			}
			if time.Now().After(deadline) {
				c, found, _ := idx.Conversation(ctx, tenant, id)
				t.Fatalf("conversation %s is not complete in the index (found %v, err %v): %+v", id, found, err, c)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// blockingTarget holds Create until release is closed.
type blockingTarget struct {
	Target
	entered chan struct{}
	release chan struct{}
}

func (t *blockingTarget) Create(ctx context.Context) (Build, error) {
	close(t.entered)
	select {
	case <-t.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return t.Target.Create(ctx)
}

// failingTarget builds for real, but its switch fails before switching.
type failingTarget struct{ Target }

type failingBuild struct{ Build }

var errSwitch = errors.New("test double: switch refused")

func (t failingTarget) Create(ctx context.Context) (Build, error) {
	b, err := t.Target.Create(ctx)
	if err != nil {
		return nil, err
	}
	return failingBuild{b}, nil
}

func (failingBuild) Switch(context.Context) error { return errSwitch }

// slowTarget builds for real, but every write into the new generation
// takes delay longer: the rebuild lags behind the live indexer, so that at
// the switch the live indexer has written events the rebuild has not.
type slowTarget struct {
	Target
	delay time.Duration
}

type slowBuild struct {
	Build
	idx search.Index
}

type slowIndex struct {
	search.Index
	delay time.Duration
}

func (t slowTarget) Create(ctx context.Context) (Build, error) {
	b, err := t.Target.Create(ctx)
	if err != nil {
		return nil, err
	}
	return slowBuild{Build: b, idx: slowIndex{Index: b.Index(), delay: t.delay}}, nil
}

func (b slowBuild) Index() search.Index { return b.idx }

func (x slowIndex) Write(ctx context.Context, b search.Batch) error {
	select {
	case <-time.After(x.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return x.Index.Write(ctx, b)
}

// gateBus holds the deliveries of the rebuild's consumer group (groups
// named with prefix) while closed: the test decides what the rebuild has
// read when the live indexer pauses.
type gateBus struct {
	bus.Bus
	prefix string

	mu   sync.Mutex
	gate chan struct{} // nil while open
}

func (g *gateBus) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate == nil {
		g.gate = make(chan struct{})
	}
}

func (g *gateBus) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *gateBus) Subscribe(ctx context.Context, topic string, opts bus.SubscribeOptions) (bus.Subscription, error) {
	sub, err := g.Bus.Subscribe(ctx, topic, opts)
	if err != nil || !strings.HasPrefix(opts.Group, g.prefix) {
		return sub, err
	}
	return &gatedSub{Subscription: sub, g: g}, nil
}

type gatedSub struct {
	bus.Subscription
	g *gateBus
}

func (s *gatedSub) Receive(ctx context.Context) (*bus.Delivery, error) {
	d, err := s.Subscription.Receive(ctx)
	if err != nil {
		return nil, err
	}
	s.g.mu.Lock()
	gate := s.g.gate
	s.g.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return d, nil
}

// lateArrivals is the live indexer as a job pauses it, with conversations
// arriving at the worst moment: after the rebuild caught up with the
// job's first target, read by the live indexer (written into the current
// generation, offsets committed) but not yet by the rebuild, whose
// deliveries the gate holds until the live indexer has stopped.
type lateArrivals struct {
	t    testing.TB
	live *Live
	gate *gateBus
	idx  search.Index
	ids  []string
}

// newLateArrivals pauses live for a job whose rebuild reads b through
// l.gate, and writes the late conversations into idx.
func newLateArrivals(t testing.TB, live *Live, b bus.Bus, idx search.Index) *lateArrivals {
	gate := &gateBus{Bus: b, prefix: indexer.DefaultGroup + "-"}
	return &lateArrivals{t: t, live: live, gate: gate, idx: idx}
}

func (l *lateArrivals) Pause(ctx context.Context) (func(), error) {
	l.gate.hold()
	defer l.gate.release()
	for i := range 20 {
		id := fmt.Sprintf("late-%02d", i)
		if err := publish(ctx, l.gate.Bus, conversation(l.t, id, 50000+i*10, false)...); err != nil {
			return nil, err
		}
		l.ids = append(l.ids, id)
	}
	waitComplete(l.t, l.idx, l.ids, func(string) bool { return false })
	return l.live.Pause(ctx)
}

// restartTarget builds and switches for real, then reports the switch
// as ErrRestartNeeded (as if the serving index had failed to load it).
type restartTarget struct{ Target }

type restartBuild struct{ Build }

func (t restartTarget) Create(ctx context.Context) (Build, error) {
	b, err := t.Target.Create(ctx)
	if err != nil {
		return nil, err
	}
	return restartBuild{b}, nil
}

func (b restartBuild) Switch(ctx context.Context) error {
	if err := b.Build.Switch(ctx); err != nil {
		return err
	}
	return fmt.Errorf("test double: reload failed: %w", ErrRestartNeeded)
}

// pauseSpy records whether the job resumed the live indexer.
type pauseSpy struct {
	Pauser
	paused, resumed atomic.Bool
	resume          func()
}

func (p *pauseSpy) Pause(ctx context.Context) (func(), error) {
	resume, err := p.Pauser.Pause(ctx)
	if err != nil {
		return nil, err
	}
	p.paused.Store(true)
	p.resume = resume
	return func() { p.resumed.Store(true); resume() }, nil
}

// searchLoad is an analyst searching idx over and over while a job runs:
// every answer check refuses, or a failed search, counts as a failure.
type searchLoad struct {
	searches, failures atomic.Int64
	first              atomic.Value // the first failure's message
	stop, done         chan struct{}
}

// startSearching searches idx for q until stopped, pausing between
// searches.
func startSearching(idx search.Index, q search.Query, pause time.Duration, check func(search.Result) error) *searchLoad {
	l := &searchLoad{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.stop:
				return
			default:
			}
			res, err := idx.Search(context.Background(), q)
			l.searches.Add(1)
			if err == nil {
				err = check(res)
			}
			if err != nil {
				l.failures.Add(1)
				l.first.CompareAndSwap(nil, err.Error())
			}
			time.Sleep(pause)
		}
	}()
	return l
}

// stopAndCheck stops the searches and fails t if any of them failed.
func (l *searchLoad) stopAndCheck(t testing.TB) {
	t.Helper()
	close(l.stop)
	<-l.done
	if n := l.failures.Load(); n > 0 {
		t.Errorf("%d of %d searches during the reindex failed; first: %v", n, l.searches.Load(), l.first.Load())
	}
	t.Logf("%d searches during the reindex", l.searches.Load())
}
