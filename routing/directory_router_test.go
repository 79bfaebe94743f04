package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// acceptOffers accepts every offer; assignments are resolved elsewhere.
func acceptOffers(in *inbox, e *event.Envelope) []*event.Envelope {
	if c := in.st.Conversation(e.ConversationID); e.Type == event.ConversationOffered && c != nil {
		return []*event.Envelope{newEvent(in.t, event.ConversationAssigned, c.ID, &event.ConversationAssignedData{AgentID: c.AgentID})}
	}
	return nil
}

// resolveAssigned plays agents finishing their work: every few
// milliseconds, until ctx ends, it resolves what the inbox shows assigned.
func resolveAssigned(ctx context.Context, t *testing.T, b bus.Bus, in *inbox) {
	for ctx.Err() == nil {
		var out []*event.Envelope
		in.view(func(st *State) {
			for _, c := range st.Conversations() {
				if c.Status == Assigned {
					out = append(out, newEvent(t, event.ConversationResolved, c.ID, &event.ConversationResolvedData{AgentID: c.AgentID}))
				}
			}
		})
		publish(t, b, out...)
		select {
		case <-ctx.Done():
		case <-time.After(15 * time.Millisecond):
		}
	}
}

// directoryChanges is an admin's session of queue and profile changes,
// one void among them. Applied in order over tc they leave every queue
// with an agent able to take its conversations.
func directoryChanges(t *testing.T) []*event.Envelope {
	queue := func(d event.QueueSavedData) *event.Envelope {
		d.Name, d.Channels = d.QueueID, []string{event.ChannelChat, event.ChannelVoice}
		return newEvent(t, event.QueueSaved, "", &d)
	}
	profile := func(id string, capacity map[string]int, skills ...string) *event.Envelope {
		return newEvent(t, event.AgentProfileSet, "", &event.AgentProfileSetData{AgentID: id, Skills: skills, Capacity: capacity})
	}
	return []*event.Envelope{
		profile("a1", chat(1)), // from 2
		newEvent(t, event.AgentProfileRemoved, "", &event.AgentProfileRemovedData{AgentID: "a2"}),
		queue(event.QueueSavedData{QueueID: "vip", Skills: []string{"billing"}, Priority: 3}),
		queue(event.QueueSavedData{QueueID: "lost", OverflowAfterMs: 1000, OverflowQueue: "nowhere"}), // void
		profile("a8", map[string]int{event.ChannelChat: 2, event.ChannelVoice: 1}, "billing"),
		profile("a0", chat(1), "billing"), // no more voice
		newEvent(t, event.QueueRemoved, "", &event.QueueRemovedData{QueueID: "billing"}),
		profile("a3", map[string]int{event.ChannelChat: 3, event.ChannelVoice: 1}), // from 1 chat
		queue(event.QueueSavedData{QueueID: "billing", Skills: []string{"billing"}, Priority: 2, OfferTimeoutMs: 20000}),
		profile("a2", chat(2), "billing"), // back, from 3 chat and 1 voice
	}
}

// twoRouterTenant is the base of the directory tests on a bus.
func twoRouterTenant() TenantConfig {
	tc := TenantConfig{ID: tenantID, Queues: []QueueConfig{{ID: "general"}, {ID: "billing", Skills: []string{"billing"}, Priority: 2}}}
	for i := range 8 {
		skills := []string{}
		if i%2 == 0 {
			skills = []string{"billing"}
		}
		tc.Agents = append(tc.Agents, AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: skills,
			Capacity: map[string]int{event.ChannelChat: 1 + i%3, event.ChannelVoice: 1}})
	}
	return tc
}

// foldConfig is the configuration folding es over base gives.
func foldConfig(t *testing.T, base TenantConfig, es []*event.Envelope) TenantConfig {
	t.Helper()
	st, err := NewState(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		_ = st.Apply(e)
	}
	return st.Config()
}

// TestTwoRoutersDirectoryChanges runs two routers on one embedded bus while
// an admin changes queues and agent profiles on the directory topic and
// conversations flow; one router is restarted half-way. Folding the merged
// log, no agent's holdings ever grow past its capacity in force, no
// conversation is assigned twice, every one is served, and the routers
// and the inbox end with the same configuration and state.
func TestTwoRoutersDirectoryChanges(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tc := twoRouterTenant()
	in := startInbox(t, ctx, b, tc, acceptOffers)
	cfgA := Config{RouterID: "router-a", Tenants: []TenantConfig{tc}}
	cfgB := Config{RouterID: "router-b", Tenants: []TenantConfig{tc}}
	actx, acancel := context.WithCancel(ctx)
	ra, errA := startRouter(t, actx, cfgA, b)
	bctx, bcancel := context.WithCancel(ctx)
	_, errB := startRouter(t, bctx, cfgB, b)

	agents := []string{"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"}
	for _, a := range agents {
		publish(t, b, newEvent(t, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a, Presence: event.PresenceAvailable}))
	}
	wctx, wcancel := context.WithCancel(ctx)
	var workers sync.WaitGroup
	workers.Add(1)
	go func() { defer workers.Done(); resolveAssigned(wctx, t, b, in) }()

	changes := directoryChanges(t)
	const conversations = 240
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the admin
		defer wg.Done()
		for _, e := range changes {
			publish(t, b, e)
			time.Sleep(20 * time.Millisecond) // spread the changes over the traffic
		}
	}()
	for w := range 3 { // three channel adapters queueing at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < conversations; i += 3 {
				q, ch := "general", event.ChannelChat
				switch i % 4 {
				case 0:
					q = "billing"
				case 1:
					q = "vip" // waits unrouted until the directory creates it
				}
				if i%5 == 0 {
					ch = event.ChannelVoice
				}
				publish(t, b, newEvent(t, event.ConversationQueued, fmt.Sprintf("c%03d", i),
					&event.ConversationQueuedData{Queue: q, Priority: i % 2}, event.WithChannel(ch)))
				if i%30 == w {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	// Restart router B half-way, as a new process would: it replays the
	// log, directory facts included, and joins in again.
	waitFor(t, "half the conversations assigned", func() bool {
		n := 0
		in.view(func(*State) { n = len(in.assigned) })
		return n >= conversations/2
	})
	stopRouter(t, bcancel, errB)
	bctx, bcancel = context.WithCancel(ctx)
	rb, errB := startRouter(t, bctx, cfgB, b)
	wg.Wait()

	waitFor(t, "every conversation assigned and resolved", func() bool {
		done := false
		in.view(func(st *State) { done = len(in.assigned) == conversations && len(st.Conversations()) == 0 })
		return done
	})
	wcancel()
	workers.Wait()
	want := foldConfig(t, tc, changes)
	var version uint64
	in.view(func(st *State) { version = st.Version() })
	for _, r := range []*Router{ra, rb} {
		waitFor(t, "routers caught up", func() bool {
			var v uint64
			r.View(tenantID, func(st *State) { v = st.Version() })
			return v >= version
		})
	}
	stopRouter(t, acancel, errA)
	stopRouter(t, bcancel, errB)

	in.finish()
	in.view(func(st *State) {
		if got := describeConfig(st.Config()); got != describeConfig(want) {
			t.Errorf("the inbox's config is\n %s\nwant\n %s", got, describeConfig(want))
		}
		for id, n := range in.assigned {
			if n != 1 {
				t.Errorf("%s assigned %d times", id, n)
			}
		}
		snap := snapshot(st)
		for _, r := range []*Router{ra, rb} {
			r.View(tenantID, func(rs *State) {
				if got := describeConfig(rs.Config()); got != describeConfig(want) {
					t.Errorf("a router's config is\n %s\nwant\n %s", got, describeConfig(want))
				}
				if got := snapshot(rs); got != snap {
					t.Errorf("a router disagrees with the inbox:\n%s\nwant\n%s", got, snap)
				}
			})
		}
		t.Logf("%d routing events, %d void, valid offers by router %v; config %s",
			st.Version(), in.voids, in.byRouter, describeConfig(st.Config()))
	})
}

// byID describes cfg with queues and agents sorted by id. A base changed
// under directory facts gives the same queues and agents as folding those
// facts over the new base from the start, but not always in the same
// order: an id keeps the place of its first fact (order is cosmetic, no
// decision depends on it).
func byID(cfg TenantConfig) string {
	cfg.Queues = slices.SortedFunc(slices.Values(cfg.Queues), func(a, b QueueConfig) int { return strings.Compare(a.ID, b.ID) })
	cfg.Agents = slices.SortedFunc(slices.Values(cfg.Agents), func(a, b AgentConfig) int { return strings.Compare(a.ID, b.ID) })
	return describeConfig(cfg)
}

// TestRestartRebuildsDirectoryConfig changes the configuration through the
// directory, stops everything, reopens the bus from disk and starts a new
// router: it rebuilds the same configuration and state from the log, and
// SetConfig (a new static base) keeps the directory's changes.
func TestRestartRebuildsDirectoryConfig(t *testing.T) {
	dir := t.TempDir()
	b := openBus(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	tc := twoRouterTenant()
	in := startInbox(t, ctx, b, tc, acceptOffers)
	r, errc := startRouter(t, ctx, Config{RouterID: "first", Tenants: []TenantConfig{tc}}, b)
	changes := append(directoryChanges(t), newEvent(t, event.QueueSaved, "", &event.QueueSavedData{
		QueueID: "spill", Name: "Spill", Channels: []string{event.ChannelChat}, OverflowAfterMs: 60000, OverflowQueue: "general"}))
	publish(t, b, changes...)
	for i := range 6 {
		publish(t, b, newEvent(t, event.ConversationQueued, fmt.Sprintf("c%d", i), &event.ConversationQueuedData{Queue: "vip"},
			event.WithChannel(event.ChannelChat)))
	}
	publish(t, b, newEvent(t, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: "a8", Presence: event.PresenceAvailable}))
	// Both offers accepted (not merely offered: the inbox could accept
	// after the router stopped, and the replay would then differ).
	waitFor(t, "a8 assigned its capacity of two", func() bool {
		n := 0
		in.view(func(st *State) {
			for _, c := range st.Conversations() {
				if c.AgentID == "a8" && c.Status == Assigned {
					n++
				}
			}
		})
		return n == 2
	})
	var version uint64
	in.view(func(st *State) { version = st.Version() })
	waitFor(t, "the router caught up", func() bool {
		var v uint64
		r.View(tenantID, func(st *State) { v = st.Version() })
		return v >= version
	})
	stopRouter(t, cancel, errc)
	var before string
	var beforeCfg TenantConfig
	r.View(tenantID, func(st *State) { before, beforeCfg = snapshot(st), st.Config() })
	if got, want := describeConfig(beforeCfg), describeConfig(foldConfig(t, tc, changes)); got != want {
		t.Fatalf("config before the restart\n %s\nwant\n %s", got, want)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openBus(t, dir)
	defer b.Close()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	r2, errc := startRouter(t, ctx, Config{RouterID: "second", Tenants: []TenantConfig{tc}}, b)
	waitFor(t, "the new router to catch up", func() bool { return r2.Synced(tenantID) })
	r2.View(tenantID, func(st *State) {
		if got := describeConfig(st.Config()); got != describeConfig(beforeCfg) {
			t.Errorf("replayed config\n %s\nwant\n %s", got, describeConfig(beforeCfg))
		}
		if got := body(snapshot(st)); got != body(before) {
			t.Errorf("replayed state differs:\n%s\nwant\n%s", got, before)
		}
	})

	// A new static base: vip and a8 (directory-only) stay, as do the
	// directory's edits of a0..a3; a new static agent a9 appears.
	next := tc
	next.Agents = append(append([]AgentConfig{}, tc.Agents...), AgentConfig{ID: "a9", Capacity: chat(1)})
	if err := r2.SetConfig(Config{Tenants: []TenantConfig{next}}); err != nil {
		t.Fatal(err)
	}
	r2.View(tenantID, func(st *State) {
		want := byID(foldConfig(t, next, changes))
		if got := byID(st.Config()); got != want {
			t.Errorf("config after SetConfig\n %s\nwant\n %s", got, want)
		}
	})
	// No static base at all would drop general, which the directory's
	// queue spill overflows into: refused, nothing changes.
	if err := r2.SetConfig(Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("SetConfig without general = %v, want ErrInvalidConfig", err)
	}
	r2.View(tenantID, func(st *State) {
		want := byID(foldConfig(t, next, changes))
		if got := byID(st.Config()); got != want {
			t.Errorf("config after a refused SetConfig\n %s\nwant\n %s", got, want)
		}
	})
	// A base of general alone keeps everything the directory made.
	minimal := TenantConfig{ID: tenantID, Queues: []QueueConfig{{ID: "general"}}}
	if err := r2.SetConfig(Config{Tenants: []TenantConfig{minimal}}); err != nil {
		t.Fatal(err)
	}
	r2.View(tenantID, func(st *State) {
		want := byID(foldConfig(t, minimal, changes))
		if got := byID(st.Config()); got != want {
			t.Errorf("config on a minimal base\n %s\nwant\n %s", got, want)
		}
	})
	stopRouter(t, cancel, errc)
}

// TestDynamicTenantRouted starts a router with no static tenant at all.
// The directory gives a tenant a queue and an agent; once the agent is
// available, a conversation queued there is offered to it. Directory types
// that are not routing's are not copied onto the routing log.
func TestDynamicTenantRouted(t *testing.T) {
	b := openBus(t, t.TempDir())
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := startInbox(t, ctx, b, TenantConfig{ID: tenantID}, nil)
	r, errc := startRouter(t, ctx, Config{RouterID: "dyn"}, b)

	publish(t, b,
		newEvent(t, event.SkillSaved, "", &event.SkillSavedData{SkillID: "billing", Name: "Billing"}),
		newEvent(t, event.QueueSaved, "", &event.QueueSavedData{QueueID: "general", Name: "General", Channels: []string{event.ChannelChat}}),
		newEvent(t, event.AgentProfileSet, "", &event.AgentProfileSetData{AgentID: "a1", Capacity: chat(1)}),
		newEvent(t, event.WidgetConfigured, "", &event.WidgetConfiguredData{AllowedOrigins: []string{"https://www.example.com"}}),
		newEvent(t, event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: "a1", Presence: event.PresenceAvailable}),
		newEvent(t, event.ConversationQueued, "c1", &event.ConversationQueuedData{Queue: "general"}, event.WithChannel(event.ChannelChat)),
	)
	waitFor(t, "c1 offered to a1", func() bool {
		ok := false
		in.view(func(st *State) {
			c := st.Conversation("c1")
			ok = c != nil && c.Status == Offered && c.AgentID == "a1"
		})
		return ok
	})
	if !r.Synced(tenantID) {
		t.Error("the router decided for a tenant it is not synced with")
	}
	stopRouter(t, cancel, errc)
	in.finish()

	// Read the routing log back: the queue and the profile are on it,
	// keyed by tenant; the skill and the widget are not.
	rctx, rcancel := context.WithTimeout(context.Background(), time.Minute)
	defer rcancel()
	sentinel := newEvent(t, event.RouterStarted, "", &event.RouterStartedData{RouterID: "sentinel"})
	publish(t, b, sentinel)
	sub, err := b.Subscribe(rctx, event.TopicRouting, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	types := map[string]int{}
	for {
		d, err := sub.Receive(rctx)
		if err != nil {
			t.Fatalf("read the routing log: %v", err)
		}
		e, err := ReadRouting(&d.Message)
		if errors.Is(err, ErrMisrouted) {
			t.Errorf("misrouted: %v", err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if e.ID == sentinel.ID {
			break
		}
		types[e.Type]++
	}
	for typ, want := range map[string]bool{event.QueueSaved: true, event.AgentProfileSet: true,
		event.SkillSaved: false, event.WidgetConfigured: false} {
		if got := types[typ] > 0; got != want {
			t.Errorf("%s on the routing log: %v, want %v (%v)", typ, got, want, types)
		}
	}
}
