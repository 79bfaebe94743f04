package routing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// simTenant has queues with skills, priorities, an overflow, and agents
// with mixed skills and per-channel capacities.
func simTenant(agents int) TenantConfig {
	cfg := TenantConfig{
		ID: tenantID,
		Queues: []QueueConfig{
			{ID: "billing", Skills: []string{"billing"}, Priority: 1, OfferTimeout: 20 * time.Second, ReofferAfter: 30 * time.Second,
				OverflowAfter: 3 * time.Minute, OverflowQueue: "general"},
			{ID: "tech", Skills: []string{"tech"}, OfferTimeout: 20 * time.Second, ReofferAfter: 30 * time.Second},
			{ID: "general", OfferTimeout: 15 * time.Second, ReofferAfter: 30 * time.Second},
		},
	}
	skills := [][]string{{"billing"}, {"tech"}, {"billing", "tech"}, {"billing", "lang:de"}, {}}
	for i := range agents {
		cfg.Agents = append(cfg.Agents, AgentConfig{
			ID: fmt.Sprintf("a%02d", i), Skills: skills[i%len(skills)],
			Capacity: map[string]int{event.ChannelVoice: 1, event.ChannelChat: 1 + i%3, event.ChannelEmail: 2},
		})
	}
	return cfg
}

// world simulates customers and agents around one or more deciders. It
// keeps the merged routing log and a verifier state folding it, and
// checks the safety invariants after every event.
type world struct {
	t     *testing.T
	rng   *rand.Rand
	cfg   TenantConfig
	now   time.Time
	log   []*event.Envelope
	ver   *State
	nconv int
	// reply is what each agent will do with an offer, decided when it lands.
	reply map[string]reply // by offer id
	// done is when an assigned conversation is resolved.
	done map[string]time.Time
	// assignedOnce counts the events that made each conversation assigned.
	assignedOnce map[string]int
	transfers    map[string]int
	voids        int
}

type reply struct {
	at     time.Time
	accept bool
	ignore bool
}

func newWorld(t *testing.T, seed uint64, agents int) *world {
	cfg := simTenant(agents)
	ver, err := NewState(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), cfg: cfg, now: t0, ver: ver,
		reply: map[string]reply{}, done: map[string]time.Time{}, assignedOnce: map[string]int{}, transfers: map[string]int{}}
}

func (w *world) build(typ, conv string, p event.Payload, opts ...event.Option) *event.Envelope {
	w.t.Helper()
	base := []event.Option{event.WithTime(w.now), event.WithSource("/sim")}
	if conv != "" {
		base = append(base, event.WithConversation(conv))
	}
	e, err := event.New(typ, tenantID, p, append(base, opts...)...)
	if err != nil {
		w.t.Fatalf("build %s: %v", typ, err)
	}
	return e
}

// append adds e to the log, folds it into the verifier and checks the
// invariants.
func (w *world) append(e *event.Envelope) {
	w.t.Helper()
	w.log = append(w.log, e)
	before := w.ver.Conversation(e.ConversationID)
	wasAssigned := before != nil && before.Status == Assigned
	err := w.ver.Apply(e)
	switch {
	case errors.Is(err, ErrVoid):
		w.voids++
	case err != nil:
		w.t.Fatalf("apply %s: %v", e.Type, err)
	default:
		if c := w.ver.Conversation(e.ConversationID); c != nil && c.Status == Assigned && !wasAssigned {
			w.assignedOnce[c.ID]++
		}
		switch e.Type {
		case event.ConversationOffered:
			w.plan(e)
		case event.ConversationTransferred:
			w.transfers[e.ConversationID]++
		}
	}
	w.check()
}

// plan decides how the offered agent will react.
func (w *world) plan(e *event.Envelope) {
	c := w.ver.Conversation(e.ConversationID)
	r := reply{at: w.now.Add(time.Duration(1+w.rng.IntN(12)) * time.Second)}
	switch x := w.rng.IntN(100); {
	case x < 75:
		r.accept = true
	case x < 88:
	default:
		r.ignore = true // the offer will expire
	}
	w.reply[c.OfferID] = r
}

// check verifies that no agent holds more than its capacity on any channel
// and that each agent's load is exactly what it holds.
func (w *world) check() {
	w.t.Helper()
	held := map[string]map[string]int{}
	for _, c := range w.ver.Conversations() {
		if c.Status == Waiting {
			continue
		}
		if held[c.AgentID] == nil {
			held[c.AgentID] = map[string]int{}
		}
		held[c.AgentID][c.Channel]++
	}
	for _, ac := range w.cfg.Agents {
		a := w.ver.Agent(ac.ID)
		for _, ch := range []string{event.ChannelVoice, event.ChannelChat, event.ChannelEmail, event.ChannelSMS} {
			n := held[ac.ID][ch]
			if n > ac.Capacity[ch] {
				w.t.Fatalf("after event %d: agent %s holds %d %s conversations, capacity %d", len(w.log), ac.ID, n, ch, ac.Capacity[ch])
			}
			if a != nil && a.Load(ch) != n {
				w.t.Fatalf("after event %d: agent %s load %d on %s, holds %d", len(w.log), ac.ID, a.Load(ch), ch, n)
			}
		}
	}
}

// customers queue new conversations and change agents' presence.
func (w *world) customers(arrivals int) {
	channels := []string{event.ChannelChat, event.ChannelChat, event.ChannelVoice, event.ChannelEmail}
	queues := []string{"billing", "tech", "general"}
	for range arrivals {
		w.nconv++
		id := fmt.Sprintf("c%05d", w.nconv)
		d := &event.ConversationQueuedData{Queue: queues[w.rng.IntN(len(queues))], Priority: w.rng.IntN(3)}
		if w.rng.IntN(10) == 0 {
			d.Skills = []string{"lang:de"}
		}
		opts := []event.Option{event.WithChannel(channels[w.rng.IntN(len(channels))])}
		if w.rng.IntN(3) == 0 {
			opts = append(opts, event.WithContact(fmt.Sprintf("k%d", w.rng.IntN(20))))
		}
		w.append(w.build(event.ConversationQueued, id, d, opts...))
	}
	if w.rng.IntN(4) == 0 {
		a := w.cfg.Agents[w.rng.IntN(len(w.cfg.Agents))].ID
		p := []string{event.PresenceAvailable, event.PresenceAvailable, event.PresenceAway, event.PresenceWrapUp}[w.rng.IntN(4)]
		w.append(w.build(event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a, Presence: p}))
	}
}

// agents answer offers whose reply is due, resolve finished conversations
// and now and then transfer one.
func (w *world) agents() {
	for _, c := range w.ver.Conversations() {
		switch c.Status {
		case Offered:
			r, ok := w.reply[c.OfferID]
			if !ok || r.ignore || w.now.Before(r.at) {
				continue
			}
			delete(w.reply, c.OfferID)
			if r.accept {
				w.append(w.build(event.ConversationAssigned, c.ID, &event.ConversationAssignedData{AgentID: c.AgentID, Queue: c.Queue}))
				w.done[c.ID] = w.now.Add(time.Duration(20+w.rng.IntN(120)) * time.Second)
			} else {
				w.append(w.build(event.ConversationOfferDeclined, c.ID,
					&event.ConversationOfferDeclinedData{AgentID: c.AgentID, OfferID: c.OfferID}))
			}
		case Assigned:
			at, ok := w.done[c.ID]
			if !ok || w.now.Before(at) {
				continue
			}
			delete(w.done, c.ID)
			if w.rng.IntN(8) == 0 {
				w.append(w.build(event.ConversationTransferred, c.ID,
					&event.ConversationTransferredData{FromAgentID: c.AgentID, ToQueue: "general", Note: "second opinion"}))
				continue
			}
			w.append(w.build(event.ConversationResolved, c.ID, &event.ConversationResolvedData{AgentID: c.AgentID}))
		}
	}
}

// decider is one router's state: it folds the shared log up to some
// position and proposes from there.
type decider struct {
	st   *State
	read int // log entries folded
}

func (d *decider) catchUp(w *world, upTo int) {
	for ; d.read < upTo; d.read++ {
		_ = d.st.Apply(w.log[d.read])
	}
}

// TestSimulatedRoutersAgree runs two deciders that see the log with
// different lags and publish concurrently: the merged log never puts an
// agent past capacity, every conversation is assigned at most once at a
// time, and every reader of the log holds the same state.
func TestSimulatedRoutersAgree(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newWorld(t, seed, 30)
			var ds [2]*decider
			for i := range ds {
				st, err := NewState(w.cfg)
				if err != nil {
					t.Fatal(err)
				}
				ds[i] = &decider{st: st}
			}
			for _, a := range w.cfg.Agents {
				w.append(w.build(event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a.ID, Presence: event.PresenceAvailable}))
			}
			for tick := 0; tick < 2400; tick++ {
				w.now = w.now.Add(time.Second)
				if tick < 1200 {
					w.customers(w.rng.IntN(2))
				}
				w.agents()
				// Both decide on a view of the log that may lag, then their
				// proposals land interleaved.
				var proposals []*event.Envelope
				for _, d := range ds {
					d.catchUp(w, len(w.log)-w.rng.IntN(min(len(w.log), 4)))
					for _, dec := range d.st.Decide(w.now) {
						e, err := dec.Envelope(tenantID, w.now)
						if err != nil {
							t.Fatal(err)
						}
						proposals = append(proposals, e)
					}
				}
				w.rng.Shuffle(len(proposals), func(i, j int) { proposals[i], proposals[j] = proposals[j], proposals[i] })
				for _, e := range proposals {
					w.append(e)
				}
			}
			for _, d := range ds {
				d.catchUp(w, len(w.log))
			}
			if a, b, v := snapshot(ds[0].st), snapshot(ds[1].st), snapshot(w.ver); a != v || b != v {
				t.Fatalf("readers disagree:\n--- decider 0\n%s--- decider 1\n%s--- verifier\n%s", a, b, v)
			}
			for id, n := range w.assignedOnce {
				if n > 1+w.transfers[id] { // a transfer to a queue leads to one new assignment
					t.Errorf("%s assigned %d times with %d transfers", id, n, w.transfers[id])
				}
			}
			if w.voids == 0 {
				t.Error("no proposal collided; the test did not exercise the void rule")
			}
			assigned := 0
			for _, n := range w.assignedOnce {
				assigned += n
			}
			if assigned < w.nconv/2 {
				t.Errorf("only %d assignments for %d conversations", assigned, w.nconv)
			}
			t.Logf("%d events, %d conversations, %d assignments, %d void", len(w.log), w.nconv, assigned, w.voids)
		})
	}
}

// TestReplayRebuildsTheSameState folds a simulated log, then rebuilds from
// it: from scratch, and by a reader that stopped half-way and resumed. All
// hold the same assignments, and a decider that restarts from the log
// proposes nothing that changes an assignment.
func TestReplayRebuildsTheSameState(t *testing.T) {
	w := newWorld(t, 42, 10)
	st, err := NewState(w.cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := &decider{st: st}
	for _, a := range w.cfg.Agents {
		w.append(w.build(event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: a.ID, Presence: event.PresenceAvailable}))
	}
	for tick := 0; tick < 800; tick++ {
		w.now = w.now.Add(time.Second)
		w.customers(w.rng.IntN(3))
		w.agents()
		d.catchUp(w, len(w.log))
		for _, dec := range d.st.Decide(w.now) {
			e, err := dec.Envelope(tenantID, w.now)
			if err != nil {
				t.Fatal(err)
			}
			w.append(e)
		}
	}
	d.catchUp(w, len(w.log))
	want := snapshot(d.st)

	fresh, _ := NewState(w.cfg)
	for _, e := range w.log {
		_ = fresh.Apply(e)
	}
	if got := snapshot(fresh); got != want {
		t.Fatalf("replay differs:\n%s\nwant\n%s", got, want)
	}

	half, _ := NewState(w.cfg)
	for _, e := range w.log[:len(w.log)/2] {
		_ = half.Apply(e)
	}
	restarted, _ := NewState(w.cfg) // a restart rebuilds from the whole log
	for _, e := range w.log {
		_ = restarted.Apply(e)
	}
	for _, e := range w.log[len(w.log)/2:] {
		_ = half.Apply(e)
	}
	if got := snapshot(half); got != want {
		t.Fatal("a reader resuming half-way differs")
	}
	if got := snapshot(restarted); got != want {
		t.Fatal("a restarted reader differs")
	}

	// Whatever the restarted decider proposes now, folding it changes no
	// existing assignment.
	assigned := map[string]string{}
	for _, c := range restarted.Conversations() {
		if c.Status == Assigned {
			assigned[c.ID] = c.AgentID
		}
	}
	if len(assigned) == 0 {
		t.Fatal("no assignment to protect; the scenario is too small")
	}
	for _, dec := range restarted.Decide(w.now) {
		e, err := dec.Envelope(tenantID, w.now)
		if err != nil {
			t.Fatal(err)
		}
		_ = restarted.Apply(e)
	}
	for id, agentID := range assigned {
		if c := restarted.Conversation(id); c == nil || c.Status != Assigned || c.AgentID != agentID {
			t.Errorf("%s moved from %s after the restart", id, agentID)
		}
	}
}
