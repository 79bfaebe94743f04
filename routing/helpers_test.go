package routing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// t0 is a Monday morning.
var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

const tenantID = "acme"

// fixture drives one State through events stamped with its own clock.
type fixture struct {
	t   *testing.T
	st  *State
	now time.Time
	log []*event.Envelope // every event applied, in order
}

func newFixture(t *testing.T, cfg TenantConfig, opts ...StateOption) *fixture {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = tenantID
	}
	st, err := NewState(cfg, opts...)
	if err != nil {
		t.Fatalf("NewState: %v", err)
	}
	return &fixture{t: t, st: st, now: t0}
}

func (f *fixture) advance(d time.Duration) { f.now = f.now.Add(d) }

// build makes an event of the fixture's tenant at the fixture's time.
func (f *fixture) build(typ, conv string, p event.Payload, opts ...event.Option) *event.Envelope {
	f.t.Helper()
	base := []event.Option{event.WithTime(f.now), event.WithSource("/test")}
	if conv != "" {
		base = append(base, event.WithConversation(conv))
	}
	e, err := event.New(typ, tenantID, p, append(base, opts...)...)
	if err != nil {
		f.t.Fatalf("build %s: %v", typ, err)
	}
	return e
}

// apply folds e and returns Apply's verdict.
func (f *fixture) apply(e *event.Envelope) error {
	f.log = append(f.log, e)
	return f.st.Apply(e)
}

// must folds e and fails the test if it is void.
func (f *fixture) must(e *event.Envelope) {
	f.t.Helper()
	if err := f.apply(e); err != nil {
		f.t.Fatalf("apply %s of %s: %v", e.Type, e.ConversationID, err)
	}
}

// mustVoid folds e and fails the test unless it is void.
func (f *fixture) mustVoid(e *event.Envelope) {
	f.t.Helper()
	if err := f.apply(e); !errors.Is(err, ErrVoid) {
		f.t.Fatalf("apply %s of %s = %v, want void", e.Type, e.ConversationID, err)
	}
}

func (f *fixture) presence(agent, presence string) {
	f.t.Helper()
	f.must(f.build(event.AgentPresenceChanged, "", &event.AgentPresenceChangedData{AgentID: agent, Presence: presence}))
}

func (f *fixture) available(agents ...string) {
	f.t.Helper()
	for _, a := range agents {
		f.presence(a, event.PresenceAvailable)
	}
}

// queued describes a conversation.queued.
type queued struct {
	conv, queue, channel, contact string
	priority                      int
	skills                        []string
}

func (f *fixture) queue(q queued) {
	f.t.Helper()
	if q.channel == "" {
		q.channel = event.ChannelChat
	}
	opts := []event.Option{event.WithChannel(q.channel)}
	if q.contact != "" {
		opts = append(opts, event.WithContact(q.contact))
	}
	f.must(f.build(event.ConversationQueued, q.conv,
		&event.ConversationQueuedData{Queue: q.queue, Priority: q.priority, Skills: q.skills}, opts...))
}

func (f *fixture) decide() []Decision { return f.st.Decide(f.now) }

// envelope turns a decision into its event at the fixture's time.
func (f *fixture) envelope(d Decision) *event.Envelope {
	f.t.Helper()
	e, err := d.Envelope(tenantID, f.now)
	if err != nil {
		f.t.Fatalf("envelope of %+v: %v", d, err)
	}
	return e
}

// step decides and applies every decision, failing on a void one (a
// single decider's own proposals are always valid).
func (f *fixture) step() []Decision {
	f.t.Helper()
	ds := f.decide()
	for _, d := range ds {
		f.must(f.envelope(d))
	}
	return ds
}

func (f *fixture) accept(conv, agent string) {
	f.t.Helper()
	f.must(f.build(event.ConversationAssigned, conv, &event.ConversationAssignedData{AgentID: agent}))
}

func (f *fixture) resolve(conv, agent string) {
	f.t.Helper()
	f.must(f.build(event.ConversationResolved, conv, &event.ConversationResolvedData{AgentID: agent}))
}

// holder says who holds conv and how: "offered:a1", "assigned:a1",
// "waiting:billing", or "closed".
func (f *fixture) holder(conv string) string {
	c := f.st.Conversation(conv)
	switch {
	case c == nil:
		return "closed"
	case c.Status == Waiting:
		return "waiting:" + c.Queue
	default:
		return c.Status.String() + ":" + c.AgentID
	}
}

func (f *fixture) wantHolder(conv, want string) {
	f.t.Helper()
	if got := f.holder(conv); got != want {
		f.t.Fatalf("%s is %s, want %s", conv, got, want)
	}
}

// describe lists decisions compactly: "offer c1 a1", "expire_offer c1 a1",
// "overflow c1 a->b".
func describe(ds []Decision) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		switch d.Kind {
		case Overflow:
			out = append(out, fmt.Sprintf("overflow %s %s->%s", d.ConversationID, d.Queue, d.ToQueue))
		default:
			out = append(out, fmt.Sprintf("%s %s %s", d.Kind, d.ConversationID, d.AgentID))
		}
	}
	return out
}

func wantDecisions(t *testing.T, got []Decision, want ...string) {
	t.Helper()
	g := describe(got)
	if !slices.Equal(g, want) {
		t.Fatalf("decisions = %q, want %q", g, want)
	}
}

// snapshot renders everything a State decides with, for replay comparisons.
func snapshot(st *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %d\n", st.Version())
	for _, c := range st.Conversations() {
		fmt.Fprintf(&b, "conv %s %s agent=%s queue=%s offer=%s deadline=%s seq=%d note=%q last=%s\n",
			c.ID, c.Status, c.AgentID, c.Queue, c.OfferID, c.OfferDeadline.Format(time.RFC3339Nano), c.Seq, c.Note, c.LastAgentID)
	}
	for _, a := range st.Agents() {
		fmt.Fprintf(&b, "agent %s %s idle=%s", a.ID, a.Presence, a.IdleSince.Format(time.RFC3339Nano))
		for _, ch := range []string{event.ChannelVoice, event.ChannelChat, event.ChannelEmail, event.ChannelSMS} {
			if a.Load(ch) > 0 {
				fmt.Fprintf(&b, " %s=%d", ch, a.Load(ch))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// chat gives an agent capacity on chat.
func chat(n int) map[string]int { return map[string]int{event.ChannelChat: n} }

func agent(id string, capacity map[string]int, skills ...string) AgentConfig {
	return AgentConfig{ID: id, Name: strings.ToUpper(id), Skills: skills, Capacity: capacity}
}

func declined(agentID string) *event.ConversationOfferDeclinedData {
	return &event.ConversationOfferDeclinedData{AgentID: agentID}
}
