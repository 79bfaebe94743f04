package routing

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// waitFor polls cond until it holds; the deadline only bounds a hung test,
// it is not a performance assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openBus(t *testing.T, dir string) *embedded.Bus {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: dir, Partitions: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// body is a snapshot without its version line.
func body(snap string) string {
	for i := range snap {
		if snap[i] == '\n' {
			return snap[i+1:]
		}
	}
	return snap
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// publish writes events where their producers would: routing's own types
// on the routing topic keyed by tenant, everything else on its topic.
func publish(t *testing.T, b bus.Bus, es ...*event.Envelope) {
	t.Helper()
	for _, e := range es {
		topic := event.TopicFor(e.Type)
		var m bus.Message
		var err error
		if topic == event.TopicRouting {
			m, err = event.RoutingMessage(e)
		} else {
			m, err = event.ToMessage(e)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(context.Background(), topic, m); err != nil {
			t.Error(err)
		}
	}
}

func newEvent(t *testing.T, typ, conv string, p event.Payload, opts ...event.Option) *event.Envelope {
	t.Helper()
	if conv != "" {
		opts = append(opts, event.WithConversation(conv))
	}
	e, err := event.New(typ, tenantID, p, append(opts, event.WithSource("/test"))...)
	if err != nil {
		t.Fatalf("new %s: %v", typ, err)
	}
	return e
}

// inbox plays the agents' web inbox: it folds the routing topic like any
// reader, checks capacity after every fact, and reacts to what it folds
// (accepting offers, resolving) by publishing as the web UI would.
type inbox struct {
	t     *testing.T
	b     bus.Bus
	react func(in *inbox, e *event.Envelope) []*event.Envelope

	mu       sync.Mutex
	st       *State
	held     map[string]map[string]int // agent -> channel -> conversations held, after the last fact
	assigned map[string]int            // conversation -> times it became assigned
	voids    int
	problems []string
	byRouter map[string]int // valid offers per router instance
}

func startInbox(t *testing.T, ctx context.Context, b bus.Bus, cfg TenantConfig,
	react func(in *inbox, e *event.Envelope) []*event.Envelope) *inbox {
	t.Helper()
	st, err := NewState(cfg)
	if err != nil {
		t.Fatal(err)
	}
	in := &inbox{t: t, b: b, react: react, st: st, assigned: map[string]int{}, byRouter: map[string]int{}}
	sub, err := b.Subscribe(ctx, event.TopicRouting, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sub.Close()
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				return
			}
			in.fold(d)
		}
	}()
	t.Cleanup(func() { <-done })
	return in
}

func (in *inbox) fold(d *bus.Delivery) {
	e, err := event.FromMessage(&d.Message)
	if err != nil || string(d.Key) != e.Tenant || e.Tenant != tenantID {
		return
	}
	in.mu.Lock()
	before := in.st.Conversation(e.ConversationID)
	wasAssigned := before != nil && before.Status == Assigned
	err = in.st.Apply(e)
	if errors.Is(err, ErrVoid) {
		in.voids++
	} else if err == nil {
		if c := in.st.Conversation(e.ConversationID); c != nil && c.Status == Assigned && !wasAssigned {
			in.assigned[c.ID]++
		}
		if e.Type == event.ConversationOffered {
			router, _ := e.Extension(ExtensionRouter)
			in.byRouter[router]++
		}
	}
	in.checkLocked()
	var out []*event.Envelope
	if err == nil && in.react != nil {
		out = in.react(in, e)
	}
	in.mu.Unlock()
	publish(in.t, in.b, out...)
}

// checkLocked records any agent whose holdings grew past its capacity in
// force (the directory may lower a capacity below what an agent holds: it
// keeps that, but must get nothing more).
func (in *inbox) checkLocked() {
	held := map[string]map[string]int{}
	for _, c := range in.st.Conversations() {
		if c.Status != Waiting {
			if held[c.AgentID] == nil {
				held[c.AgentID] = map[string]int{}
			}
			held[c.AgentID][c.Channel]++
		}
	}
	capacity := map[string]map[string]int{}
	for _, ac := range in.st.Config().Agents {
		capacity[ac.ID] = ac.Capacity
	}
	for agentID, chs := range held {
		for ch, n := range chs {
			if n > capacity[agentID][ch] && n > in.held[agentID][ch] {
				in.problems = append(in.problems, fmt.Sprintf("v%d: %s holds %d on %s, capacity %d",
					in.st.Version(), agentID, n, ch, capacity[agentID][ch]))
			}
		}
	}
	in.held = held
}

func (in *inbox) view(fn func(st *State)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	fn(in.st)
}

func (in *inbox) finish() {
	in.t.Helper()
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, p := range in.problems {
		in.t.Error(p)
	}
}

// acceptAndResolve accepts every offer and resolves every assignment.
func acceptAndResolve(in *inbox, e *event.Envelope) []*event.Envelope {
	c := in.st.Conversation(e.ConversationID)
	switch {
	case e.Type == event.ConversationOffered && c != nil:
		return []*event.Envelope{newEvent(in.t, event.ConversationAssigned, c.ID,
			&event.ConversationAssignedData{AgentID: c.AgentID, Queue: c.Queue})}
	case e.Type == event.ConversationAssigned && c != nil:
		return []*event.Envelope{newEvent(in.t, event.ConversationResolved, c.ID,
			&event.ConversationResolvedData{AgentID: c.AgentID})}
	}
	return nil
}

func startRouter(t *testing.T, ctx context.Context, cfg Config, b bus.Bus, opts ...Option) (*Router, <-chan error) {
	t.Helper()
	r, err := New(cfg, b, quietLog(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(ctx) }()
	return r, errc
}

func stopRouter(t *testing.T, cancel context.CancelFunc, errc <-chan error) {
	t.Helper()
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestTwoRoutersOneBus runs two routers on one embedded bus. Customers and
// agents publish where channels and the web UI do; both routers copy,
// fold, and propose concurrently. Folding the merged log, no agent is ever
// past capacity, every conversation is assigned exactly once, and the two
// routers and the inbox end with the same state.
func TestTwoRoutersOneBus(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tc := TenantConfig{ID: tenantID, Queues: []QueueConfig{{ID: "general"}, {ID: "billing", Skills: []string{"billing"}, Priority: 2}}}
	for i := range 8 {
		skills := []string{}
		if i%2 == 0 {
			skills = []string{"billing"}
		}
		tc.Agents = append(tc.Agents, AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: skills,
			Capacity: map[string]int{event.ChannelChat: 1 + i%3, event.ChannelVoice: 1}})
	}
	in := startInbox(t, ctx, b, tc, acceptAndResolve)

	rctx, rcancel := context.WithCancel(ctx)
	cfgA := Config{RouterID: "router-a", Tenants: []TenantConfig{tc}}
	cfgB := Config{RouterID: "router-b", Tenants: []TenantConfig{tc}}
	ra, errA := startRouter(t, rctx, cfgA, b)
	rb, errB := startRouter(t, rctx, cfgB, b)

	for _, a := range tc.Agents {
		publish(t, b, newEvent(t, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a.ID, Presence: event.PresenceAvailable}))
	}
	const conversations = 300
	var wg sync.WaitGroup
	for w := range 3 { // three channel adapters queueing at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < conversations; i += 3 {
				q, ch := "general", event.ChannelChat
				if i%3 == 0 {
					q = "billing"
				}
				if i%5 == 0 {
					ch = event.ChannelVoice
				}
				publish(t, b, newEvent(t, event.ConversationQueued, fmt.Sprintf("c%03d", i),
					&event.ConversationQueuedData{Queue: q, Priority: i % 2}, event.WithChannel(ch)))
			}
		}()
	}
	wg.Wait()

	waitFor(t, "every conversation assigned and resolved", func() bool {
		done := false
		in.view(func(st *State) { done = len(in.assigned) == conversations && len(st.Conversations()) == 0 })
		return done
	})
	var version uint64
	in.view(func(st *State) { version = st.Version() })
	for _, r := range []*Router{ra, rb} {
		waitFor(t, "routers caught up", func() bool {
			var v uint64
			r.View(tenantID, func(st *State) { v = st.Version() })
			return v >= version
		})
	}
	stopRouter(t, rcancel, errA)
	stopRouter(t, rcancel, errB)

	in.finish()
	in.view(func(st *State) {
		for id, n := range in.assigned {
			if n != 1 {
				t.Errorf("%s assigned %d times", id, n)
			}
		}
		want := snapshot(st)
		for _, r := range []*Router{ra, rb} {
			r.View(tenantID, func(rs *State) {
				if got := snapshot(rs); got != want {
					t.Errorf("a router disagrees with the inbox:\n%s\nwant\n%s", got, want)
				}
			})
		}
		t.Logf("%d routing events, %d void (proposals that lost a race, duplicates), valid offers by router %v",
			st.Version(), in.voids, in.byRouter)
	})
}

// TestRestartChangesNoAssignment stops a router mid-work, reopens the bus
// as a new process would, and starts a new router: it rebuilds the same
// state by replay and moves no assigned conversation.
func TestRestartChangesNoAssignment(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, dir)
	ctx, cancel := context.WithCancel(context.Background())

	tc := TenantConfig{ID: tenantID, Queues: []QueueConfig{{ID: "general"}}}
	for i := range 4 {
		tc.Agents = append(tc.Agents, AgentConfig{ID: fmt.Sprintf("a%d", i), Capacity: chat(1)})
	}
	acceptOnly := func(in *inbox, e *event.Envelope) []*event.Envelope {
		if c := in.st.Conversation(e.ConversationID); e.Type == event.ConversationOffered && c != nil {
			return []*event.Envelope{newEvent(in.t, event.ConversationAssigned, c.ID, &event.ConversationAssignedData{AgentID: c.AgentID})}
		}
		return nil
	}
	in := startInbox(t, ctx, b, tc, acceptOnly)
	rctx, rcancel := context.WithCancel(ctx)
	_, errc := startRouter(t, rctx, Config{RouterID: "first", Tenants: []TenantConfig{tc}}, b)
	for _, a := range tc.Agents {
		publish(t, b, newEvent(t, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a.ID, Presence: event.PresenceAvailable}))
	}
	for i := range 7 {
		publish(t, b, newEvent(t, event.ConversationQueued, fmt.Sprintf("c%d", i), &event.ConversationQueuedData{Queue: "general"},
			event.WithChannel(event.ChannelChat), event.WithContact(fmt.Sprintf("k%d", i))))
	}
	// Four assigned, and the three others folded too: the queued events
	// of the last ones may come after the assignments in the log.
	waitFor(t, "four assignments and seven conversations", func() bool {
		n, all := 0, 0
		in.view(func(st *State) {
			for _, c := range st.Conversations() {
				all++
				if c.Status == Assigned {
					n++
				}
			}
		})
		return n == 4 && all == 7
	})
	stopRouter(t, rcancel, errc)
	var before string
	assigned := map[string]string{}
	in.view(func(st *State) {
		before = snapshot(st)
		for _, c := range st.Conversations() {
			if c.Status == Assigned {
				assigned[c.ID] = c.AgentID
			}
		}
	})
	cancel()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// A new process: the bus reopened from disk, a new router replaying.
	b = openBus(t, dir)
	defer b.Close()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r, errc := startRouter(t, ctx, Config{RouterID: "second", Tenants: []TenantConfig{tc}}, b)
	waitFor(t, "the new router to catch up", func() bool { return r.Synced(tenantID) })
	r.View(tenantID, func(st *State) {
		// The new router's state is the old one's plus its start marker.
		if got := body(snapshot(st)); got != body(before) {
			t.Fatalf("replayed state differs:\n%s\nwant\n%s", got, before)
		}
	})
	in2 := startInbox(t, ctx, b, tc, acceptOnly)
	// Free one agent: the router offers it a waiting conversation, and no
	// other assignment moves.
	var freed, freedAgent string
	for id, a := range assigned {
		freed, freedAgent = id, a
		break
	}
	publish(t, b, newEvent(t, event.ConversationResolved, freed, &event.ConversationResolvedData{AgentID: freedAgent}))
	waitFor(t, "the freed agent to get a new conversation", func() bool {
		ok := false
		in2.view(func(st *State) {
			for _, c := range st.Conversations() {
				if c.AgentID == freedAgent && c.Status == Assigned && c.ID != freed {
					ok = true
				}
			}
		})
		return ok
	})
	in2.view(func(st *State) {
		for id, agentID := range assigned {
			if id == freed {
				continue
			}
			if c := st.Conversation(id); c == nil || c.Status != Assigned || c.AgentID != agentID {
				t.Errorf("%s moved from %s after the restart", id, agentID)
			}
		}
	})
	stopRouter(t, cancel, errc)
	in2.finish()
}

// fakeClock is a Clock moved by hand.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

var _ Clock = (*fakeClock)(nil)

// waiting reports whether someone waits for the clock to reach at.
func (c *fakeClock) waiting(at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(at) {
			return true
		}
	}
	return false
}

// TestRouterTimers drives a router with an injected clock through a queue
// opening and an offer expiring, with no sleeping on the test's side.
func TestRouterTimers(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := &fakeClock{now: t0} // Monday 09:00 UTC
	tc := TenantConfig{ID: tenantID,
		Queues: []QueueConfig{{ID: "office", OfferTimeout: 20 * time.Second, ReofferAfter: 10 * time.Minute,
			Hours: &hours.Config{TimeZone: "UTC", Weekly: map[string][]string{"monday": {"10:00-18:00"}}}}},
		Agents: []AgentConfig{{ID: "a1", Capacity: chat(1)}, {ID: "a2", Capacity: chat(1)}},
	}
	// a1 never answers; a2 accepts.
	in := startInbox(t, ctx, b, tc, func(in *inbox, e *event.Envelope) []*event.Envelope {
		if c := in.st.Conversation(e.ConversationID); e.Type == event.ConversationOffered && c != nil && c.AgentID == "a2" {
			return []*event.Envelope{newEvent(in.t, event.ConversationAssigned, c.ID, &event.ConversationAssignedData{AgentID: "a2"},
				event.WithTime(clock.Now()))}
		}
		return nil
	})
	r, errc := startRouter(t, ctx, Config{RouterID: "timed", Tenants: []TenantConfig{tc}}, b, WithClock(clock))
	publish(t, b,
		newEvent(t, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: "a1", Presence: event.PresenceAvailable}, event.WithTime(t0)),
		newEvent(t, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: "a2", Presence: event.PresenceAvailable}, event.WithTime(t0.Add(time.Second))),
		newEvent(t, event.ConversationQueued, "c1", &event.ConversationQueuedData{Queue: "office"}, event.WithChannel(event.ChannelChat), event.WithTime(t0.Add(2*time.Second))),
	)
	status := func() string {
		s := ""
		in.view(func(st *State) {
			if c := st.Conversation("c1"); c != nil {
				s = c.Status.String() + ":" + c.AgentID
			}
		})
		return s
	}
	waitFor(t, "c1 queued and the router synced", func() bool { return status() == "waiting:" && r.Synced(tenantID) })
	// Closed until 10:00: the router sleeps until then.
	opens := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	waitFor(t, "a timer for the opening", func() bool { return clock.waiting(opens) })
	clock.Advance(59 * time.Minute)
	clock.Advance(time.Minute)
	waitFor(t, "an offer to a1 at opening", func() bool { return status() == "offered:a1" })
	in.view(func(st *State) {
		if dl := st.Conversation("c1").OfferDeadline; !dl.Equal(opens.Add(20 * time.Second)) {
			t.Fatalf("offer deadline %s: the offer was not made at the opening", dl)
		}
	})
	waitFor(t, "a timer for the offer deadline", func() bool { return clock.waiting(opens.Add(20 * time.Second)) })
	clock.Advance(20 * time.Second) // a1 let it ring out
	waitFor(t, "the offer to move to a2", func() bool { return status() == "assigned:a2" })
	stopRouter(t, cancel, errc)
	in.finish()
}
