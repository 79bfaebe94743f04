package routing

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// describeConfig renders the queues and agents of cfg compactly, in
// order: "queues=general,billing(p2,overflow 1m0s->general) agents=a1{chat:2}[billing]".
func describeConfig(cfg TenantConfig) string {
	var qs, as []string
	for _, q := range cfg.Queues {
		s := q.ID
		var extra []string
		if q.Priority != 0 {
			extra = append(extra, fmt.Sprintf("p%d", q.Priority))
		}
		if q.OverflowQueue != "" {
			extra = append(extra, fmt.Sprintf("overflow %s->%s", q.OverflowAfter, q.OverflowQueue))
		}
		if q.OfferTimeout != 0 {
			extra = append(extra, fmt.Sprintf("offer %s", q.OfferTimeout))
		}
		if len(q.Skills) > 0 {
			extra = append(extra, strings.Join(q.Skills, "+"))
		}
		if len(extra) > 0 {
			s += "(" + strings.Join(extra, ",") + ")"
		}
		qs = append(qs, s)
	}
	for _, a := range cfg.Agents {
		var caps []string
		for _, ch := range slices.Sorted(maps.Keys(a.Capacity)) {
			caps = append(caps, fmt.Sprintf("%s:%d", ch, a.Capacity[ch]))
		}
		s := a.ID + "{" + strings.Join(caps, ",") + "}"
		if len(a.Skills) > 0 {
			s += "[" + strings.Join(a.Skills, "+") + "]"
		}
		as = append(as, s)
	}
	return "queues=" + strings.Join(qs, ",") + " agents=" + strings.Join(as, ",")
}

func (f *fixture) saveQueue(d event.QueueSavedData) *event.Envelope {
	f.t.Helper()
	if d.Name == "" {
		d.Name = strings.ToUpper(d.QueueID)
	}
	if len(d.Channels) == 0 {
		d.Channels = []string{event.ChannelChat}
	}
	return f.build(event.QueueSaved, "", &d)
}

func (f *fixture) removeQueue(id string) *event.Envelope {
	f.t.Helper()
	return f.build(event.QueueRemoved, "", &event.QueueRemovedData{QueueID: id})
}

func (f *fixture) setProfile(id string, capacity map[string]int, skills ...string) *event.Envelope {
	f.t.Helper()
	return f.build(event.AgentProfileSet, "", &event.AgentProfileSetData{AgentID: id, Skills: skills, Capacity: capacity})
}

func (f *fixture) removeProfile(id string) *event.Envelope {
	f.t.Helper()
	return f.build(event.AgentProfileRemoved, "", &event.AgentProfileRemovedData{AgentID: id})
}

// wantConfig fails unless the configuration in force is want.
func (f *fixture) wantConfig(want string) {
	f.t.Helper()
	if got := describeConfig(f.st.Config()); got != want {
		f.t.Fatalf("config\n %s\nwant\n %s", got, want)
	}
}

// replayMatches folds the fixture's log into a new state built from base
// and checks it reaches the same configuration and state.
func (f *fixture) replayMatches(base TenantConfig) {
	f.t.Helper()
	if base.ID == "" {
		base.ID = tenantID
	}
	st, err := NewState(base)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, e := range f.log {
		_ = st.Apply(e)
	}
	if got, want := st.Config(), f.st.Config(); !reflect.DeepEqual(got, want) {
		f.t.Fatalf("replayed config\n %s\nwant\n %s", describeConfig(got), describeConfig(want))
	}
	if got, want := snapshot(st), snapshot(f.st); got != want {
		f.t.Fatalf("replayed state\n%s\nwant\n%s", got, want)
	}
}

// TestDirectoryFacts folds queue and profile facts over a static base: each
// changes the configuration in force in log order, a fact that would make
// it invalid is void and changes nothing, and a replay of the same log
// reaches the same configuration.
func TestDirectoryFacts(t *testing.T) {
	base := TenantConfig{
		Queues: []QueueConfig{{ID: "general"}, {ID: "billing", Skills: []string{"billing"}}},
		Agents: []AgentConfig{agent("a1", chat(2), "billing")},
	}
	const start = "queues=general,billing(billing) agents=a1{chat:2}[billing]"
	type step struct {
		fact func(f *fixture) *event.Envelope
		void string // a substring of the void error; "" for a valid fact
		want string // the configuration after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a saved queue is added after the base's", []step{
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "vip", Priority: 2, OfferTimeoutMs: 15000})
			}, "", "queues=general,billing(billing),vip(p2,offer 15s) agents=a1{chat:2}[billing]"},
		}},
		{"a saved queue replaces the base's in place; ms become durations", []step{
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "general", OverflowAfterMs: 90000, OverflowQueue: "billing"})
			}, "", "queues=general(overflow 1m30s->billing),billing(billing) agents=a1{chat:2}[billing]"},
		}},
		{"a removed queue is dropped, and saved again comes back last", []step{
			{func(f *fixture) *event.Envelope { return f.removeQueue("general") }, "",
				"queues=billing(billing) agents=a1{chat:2}[billing]"},
			{func(f *fixture) *event.Envelope { return f.saveQueue(event.QueueSavedData{QueueID: "general"}) }, "",
				"queues=general,billing(billing) agents=a1{chat:2}[billing]"},
			{func(f *fixture) *event.Envelope { return f.removeQueue("general") }, "",
				"queues=billing(billing) agents=a1{chat:2}[billing]"},
		}},
		{"later facts win over earlier ones", []step{
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "vip", Priority: 1})
			}, "",
				"queues=general,billing(billing),vip(p1) agents=a1{chat:2}[billing]"},
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "vip", Priority: 5})
			}, "",
				"queues=general,billing(billing),vip(p5) agents=a1{chat:2}[billing]"},
		}},
		{"an overflow into a missing queue is void", []step{
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "vip", OverflowAfterMs: 1000, OverflowQueue: "nowhere"})
			}, `"nowhere" is not a queue of this tenant`, start},
		}},
		{"removing a queue another overflows into is void", []step{
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "vip", OverflowAfterMs: 1000, OverflowQueue: "general"})
			}, "", "queues=general,billing(billing),vip(overflow 1s->general) agents=a1{chat:2}[billing]"},
			{func(f *fixture) *event.Envelope { return f.removeQueue("general") }, `"general" is not a queue of this tenant`,
				"queues=general,billing(billing),vip(overflow 1s->general) agents=a1{chat:2}[billing]"},
		}},
		{"an overflow loop is void", []step{
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "general", OverflowAfterMs: 1000, OverflowQueue: "billing"})
			}, "", "queues=general(overflow 1s->billing),billing(billing) agents=a1{chat:2}[billing]"},
			{func(f *fixture) *event.Envelope {
				return f.saveQueue(event.QueueSavedData{QueueID: "billing", OverflowAfterMs: 1000, OverflowQueue: "general"})
			}, "overflow loops", "queues=general(overflow 1s->billing),billing(billing) agents=a1{chat:2}[billing]"},
		}},
		{"removing what is not there is void", []step{
			{func(f *fixture) *event.Envelope { return f.removeQueue("vip") }, `queue "vip" is not configured`, start},
			{func(f *fixture) *event.Envelope { return f.removeProfile("a9") }, `agent "a9" has no routing profile`, start},
		}},
		{"an invalid payload is void", []step{
			{func(f *fixture) *event.Envelope {
				e := f.setProfile("a2", chat(1))
				e.Data = []byte(`{"agent_id":"a2","capacity":{"fax":1}}`) // as a faulty producer would write it
				return e
			}, `"fax" is not a channel`, start},
		}},
		{"profiles replace, add and remove agents", []step{
			{func(f *fixture) *event.Envelope { return f.setProfile("a1", map[string]int{"chat": 1, "voice": 1}) }, "",
				"queues=general,billing(billing) agents=a1{chat:1,voice:1}"},
			{func(f *fixture) *event.Envelope { return f.setProfile("a2", chat(3), "billing", "de") }, "",
				"queues=general,billing(billing) agents=a1{chat:1,voice:1},a2{chat:3}[billing+de]"},
			{func(f *fixture) *event.Envelope { return f.removeProfile("a1") }, "",
				"queues=general,billing(billing) agents=a2{chat:3}[billing+de]"},
			{func(f *fixture) *event.Envelope { return f.setProfile("a1", chat(4)) }, "",
				"queues=general,billing(billing) agents=a1{chat:4},a2{chat:3}[billing+de]"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, base)
			f.wantConfig(start)
			for n, s := range tt.steps {
				e := s.fact(f)
				before := f.st.Config()
				err := f.apply(e)
				switch {
				case s.void == "" && err != nil:
					t.Fatalf("step %d: %s = %v", n, e.Type, err)
				case s.void != "" && !errors.Is(err, ErrVoid):
					t.Fatalf("step %d: %s = %v, want void", n, e.Type, err)
				case s.void != "" && !strings.Contains(err.Error(), s.void):
					t.Fatalf("step %d: %s = %v, want it to say %q", n, e.Type, err, s.void)
				case s.void != "" && !reflect.DeepEqual(f.st.Config(), before):
					t.Fatalf("step %d: a void fact changed the config to %s", n, describeConfig(f.st.Config()))
				}
				f.wantConfig(s.want)
				f.advance(time.Second)
			}
			f.replayMatches(base)
			// A copy delivered again is dropped, whatever it says.
			if err := f.st.Apply(f.log[0]); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("a second copy of %s = %v, want ErrDuplicate", f.log[0].Type, err)
			}
		})
	}
}

// TestDirectoryCapacityReduced lowers an agent's capacity below its load
// mid-stream: it keeps what it holds and is offered nothing until its
// load is below the new capacity.
func TestDirectoryCapacityReduced(t *testing.T) {
	base := basic(agent("a1", chat(3)))
	f := newFixture(t, base)
	f.available("a1")
	for _, c := range []string{"c1", "c2", "c3"} {
		f.queue(queued{conv: c, queue: "general"})
	}
	for _, c := range []string{"c1", "c2", "c3"} {
		wantDecisions(t, f.step(), "offer "+c+" a1") // one new offer per agent per round
		f.accept(c, "a1")
	}
	f.must(f.setProfile("a1", chat(1)))
	for _, c := range []string{"c1", "c2", "c3"} {
		f.wantHolder(c, "assigned:a1")
	}
	if a := f.st.Agent("a1"); a.Load(event.ChannelChat) != 3 || a.Capacity(event.ChannelChat) != 1 {
		t.Fatalf("a1 load %d capacity %d, want 3 and 1", a.Load(event.ChannelChat), a.Capacity(event.ChannelChat))
	}
	f.queue(queued{conv: "c4", queue: "general"})
	wantDecisions(t, f.step())
	// Nor can it take one directly.
	f.mustVoid(f.build(event.ConversationAssigned, "c4", &event.ConversationAssignedData{AgentID: "a1"}))
	f.resolve("c1", "a1")
	wantDecisions(t, f.step()) // 2 held, capacity 1
	f.resolve("c2", "a1")
	wantDecisions(t, f.step()) // 1 held, capacity 1
	f.resolve("c3", "a1")
	wantDecisions(t, f.step(), "offer c4 a1")
	f.queue(queued{conv: "c5", queue: "general"})
	wantDecisions(t, f.step())
	// Raised again, it takes more.
	f.must(f.setProfile("a1", chat(2)))
	wantDecisions(t, f.step(), "offer c5 a1")
	f.replayMatches(base)
}

// TestDirectoryProfileRemoved removes the profile of an agent who holds
// an assignment and an offer: the assignment stays until resolved or
// transferred, the offer goes back to the queue, and the agent is offered
// nothing more.
func TestDirectoryProfileRemoved(t *testing.T) {
	base := basic(agent("a1", chat(3)), agent("a2", chat(1)))
	f := newFixture(t, base)
	f.available("a1")
	f.queue(queued{conv: "c1", queue: "general"})
	f.queue(queued{conv: "c2", queue: "general"})
	f.queue(queued{conv: "c3", queue: "general"})
	wantDecisions(t, f.step(), "offer c1 a1")
	wantDecisions(t, f.step(), "offer c2 a1")
	wantDecisions(t, f.step(), "offer c3 a1")
	f.accept("c1", "a1")
	f.accept("c2", "a1")
	f.must(f.removeProfile("a1"))
	f.wantHolder("c1", "assigned:a1")
	f.wantHolder("c2", "assigned:a1")
	f.wantHolder("c3", "waiting:general")
	f.wantConfig("queues=billing(billing),tech(tech),general agents=a2{chat:1}")

	f.queue(queued{conv: "c4", queue: "general"})
	wantDecisions(t, f.step()) // a1 has no profile, a2 is offline
	f.mustVoid(f.build(event.ConversationOffered, "c3",
		&event.ConversationOfferedData{AgentID: "a1", Queue: "general"}, event.WithChannel(event.ChannelChat)))
	f.mustVoid(f.build(event.ConversationAssigned, "c3", &event.ConversationAssignedData{AgentID: "a1"}))
	f.available("a2")
	wantDecisions(t, f.step(), "offer c3 a2")
	// What a1 holds it can still hand over or close.
	f.must(f.build(event.ConversationTransferred, "c1", &event.ConversationTransferredData{FromAgentID: "a1", ToQueue: "general"}))
	f.wantHolder("c1", "waiting:general")
	f.resolve("c2", "a1")
	f.wantHolder("c2", "closed")
	if a := f.st.Agent("a1"); a.Load(event.ChannelChat) != 0 {
		t.Fatalf("a1 still holds %d", a.Load(event.ChannelChat))
	}
	// Given a profile again, a1 is routed to again.
	f.must(f.setProfile("a1", chat(1)))
	wantDecisions(t, f.step(), "offer c1 a1")
	f.replayMatches(base)
}

// TestDirectoryQueueRemoved removes a queue with conversations waiting in
// it: they keep waiting there (counted, offered to nobody) until
// transferred or the queue is saved again.
func TestDirectoryQueueRemoved(t *testing.T) {
	base := basic(agent("a1", chat(5), "billing"))
	f := newFixture(t, base)
	f.queue(queued{conv: "c1", queue: "billing"})
	f.queue(queued{conv: "c2", queue: "billing"})
	f.queue(queued{conv: "c3", queue: "billing"})
	f.must(f.removeQueue("billing"))
	f.available("a1")
	wantDecisions(t, f.step())
	for _, c := range []string{"c1", "c2", "c3"} {
		f.wantHolder(c, "waiting:billing")
	}
	if n := f.st.Waiting("billing"); n != 3 {
		t.Fatalf("Waiting(billing) = %d, want 3", n)
	}
	// An agent moves one to a queue that exists.
	f.must(f.build(event.ConversationTransferred, "c1", &event.ConversationTransferredData{FromQueue: "billing", ToQueue: "general"}))
	wantDecisions(t, f.step(), "offer c1 a1")
	// An agent picks one directly.
	f.must(f.build(event.ConversationAssigned, "c2", &event.ConversationAssignedData{AgentID: "a1"}))
	f.wantHolder("c2", "assigned:a1")
	// The queue comes back: the one left is offered, in arrival order.
	f.must(f.saveQueue(event.QueueSavedData{QueueID: "billing", Skills: []string{"billing"}}))
	if n := f.st.Waiting("billing"); n != 1 {
		t.Fatalf("Waiting(billing) = %d, want 1", n)
	}
	wantDecisions(t, f.step(), "offer c3 a1")
	f.replayMatches(base)
}

// TestDirectoryQueueChangedKeepsArrivalOrder changes a queue's priority and
// overflow while conversations wait: they keep their arrival order and
// their overflow clock starts from when they entered the queue.
func TestDirectoryQueueChangedKeepsArrivalOrder(t *testing.T) {
	base := basic(agent("a1", chat(1)))
	f := newFixture(t, base)
	f.queue(queued{conv: "c1", queue: "tech"})
	f.advance(time.Second)
	f.queue(queued{conv: "c2", queue: "general"})
	f.advance(time.Minute)
	f.must(f.saveQueue(event.QueueSavedData{QueueID: "tech", OverflowAfterMs: 30000, OverflowQueue: "general"}))
	wantDecisions(t, f.step(), "overflow c1 tech->general") // waited 61 s, past the new 30 s
	f.available("a1")
	wantDecisions(t, f.step(), "offer c1 a1") // arrived first
	f.replayMatches(base)
}

// TestDirectoryBaseChangeKeepsOverlay changes the static base under
// directory facts: the directory's changes stay on top, and a base that
// would contradict them is refused without changing anything.
func TestDirectoryBaseChangeKeepsOverlay(t *testing.T) {
	base := TenantConfig{ID: tenantID, Queues: []QueueConfig{{ID: "general"}, {ID: "billing"}}, Agents: []AgentConfig{agent("a1", chat(1))}}
	f := newFixture(t, base)
	f.must(f.saveQueue(event.QueueSavedData{QueueID: "vip", OverflowAfterMs: 1000, OverflowQueue: "billing"}))
	f.must(f.setProfile("a1", chat(2)))
	f.must(f.removeQueue("general"))

	next := TenantConfig{ID: tenantID, Queues: []QueueConfig{{ID: "general"}, {ID: "billing", Priority: 3}, {ID: "tech"}},
		Agents: []AgentConfig{agent("a1", chat(9)), agent("a2", chat(1))}}
	if err := f.st.SetConfig(next); err != nil {
		t.Fatal(err)
	}
	f.wantConfig("queues=billing(p3),tech,vip(overflow 1s->billing) agents=a1{chat:2},a2{chat:1}")

	before := f.st.Config()
	bad := TenantConfig{ID: tenantID, Queues: []QueueConfig{{ID: "tech"}}}
	if err := f.st.SetConfig(bad); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), `"billing" is not a queue`) {
		t.Fatalf("SetConfig without the queue vip overflows into = %v", err)
	}
	if !reflect.DeepEqual(f.st.Config(), before) {
		t.Fatalf("a refused base changed the config to %s", describeConfig(f.st.Config()))
	}
	f.replayMatches(next)
}

// TestDirectoryOnlyTenant routes a tenant with no static configuration:
// everything comes from the directory.
func TestDirectoryOnlyTenant(t *testing.T) {
	f := newFixture(t, TenantConfig{})
	if f.st.routable() {
		t.Fatal("an empty tenant is routable")
	}
	f.available("a1")
	f.queue(queued{conv: "c1", queue: "general"})
	wantDecisions(t, f.step())
	f.must(f.saveQueue(event.QueueSavedData{QueueID: "general"}))
	f.must(f.setProfile("a1", chat(1)))
	if !f.st.routable() {
		t.Fatal("a tenant with a queue and an agent is not routable")
	}
	wantDecisions(t, f.step(), "offer c1 a1")
	f.replayMatches(TenantConfig{})
}

func TestIsDirectoryFact(t *testing.T) {
	for typ, want := range map[string]bool{
		event.QueueSaved: true, event.QueueRemoved: true, event.AgentProfileSet: true, event.AgentProfileRemoved: true,
		event.SkillSaved: false, event.CannedAnswerSaved: false, event.WidgetConfigured: false,
		event.DirectoryReaderStarted: false, event.ConversationQueued: false,
	} {
		if IsDirectoryFact(typ) != want {
			t.Errorf("IsDirectoryFact(%s) = %v", typ, !want)
		}
	}
}
