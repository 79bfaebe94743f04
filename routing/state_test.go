package routing

import (
	"errors"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// basic is a tenant with a billing queue (skill billing), a tech queue
// (skill tech) and a general queue (no skills).
func basic(agents ...AgentConfig) TenantConfig {
	return TenantConfig{
		Queues: []QueueConfig{
			{ID: "billing", Name: "Billing", Skills: []string{"billing"}},
			{ID: "tech", Name: "Tech", Skills: []string{"tech"}},
			{ID: "general", Name: "General"},
		},
		Agents: agents,
	}
}

// TestRoutingPolicies runs one scenario per policy: each builds a state,
// folds events, and checks the decisions and who holds what.
func TestRoutingPolicies(t *testing.T) {
	tests := []struct {
		name string
		cfg  TenantConfig
		run  func(f *fixture)
	}{
		{
			name: "skills: only an agent with the queue's skills is offered",
			cfg:  basic(agent("a1", chat(3), "tech"), agent("a2", chat(3), "billing")),
			run: func(f *fixture) {
				f.available("a1", "a2")
				f.queue(queued{conv: "c1", queue: "billing"})
				wantDecisions(f.t, f.step(), "offer c1 a2")
			},
		},
		{
			name: "skills: a conversation's own skills add to the queue's",
			cfg:  basic(agent("a1", chat(3), "billing"), agent("a2", chat(3), "billing", "lang:de")),
			run: func(f *fixture) {
				f.available("a1")
				f.advance(time.Minute)
				f.available("a2") // a1 idle longer, but lacks German
				f.queue(queued{conv: "c1", queue: "billing", skills: []string{"lang:de"}})
				wantDecisions(f.t, f.step(), "offer c1 a2")
			},
		},
		{
			name: "skills: nobody skilled, the conversation waits",
			cfg:  basic(agent("a1", chat(3), "tech")),
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "billing"})
				wantDecisions(f.t, f.step())
				f.wantHolder("c1", "waiting:billing")
			},
		},
		{
			name: "capacity: per channel, offers count against it",
			cfg:  basic(agent("a1", map[string]int{event.ChannelChat: 1, event.ChannelEmail: 2})),
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "v1", queue: "general", channel: event.ChannelVoice})
				f.queue(queued{conv: "c1", queue: "general"})
				f.queue(queued{conv: "c2", queue: "general"})
				f.queue(queued{conv: "e1", queue: "general", channel: event.ChannelEmail})
				f.queue(queued{conv: "e2", queue: "general", channel: event.ChannelEmail})
				f.queue(queued{conv: "e3", queue: "general", channel: event.ChannelEmail})
				// One new offer per agent per round.
				wantDecisions(f.t, f.step(), "offer c1 a1")
				wantDecisions(f.t, f.step(), "offer e1 a1")
				wantDecisions(f.t, f.step(), "offer e2 a1")
				wantDecisions(f.t, f.step()) // chat 1/1 (an offer), email 2/2, no voice capacity
				f.accept("c1", "a1")
				wantDecisions(f.t, f.step())
				f.resolve("c1", "a1")
				wantDecisions(f.t, f.step(), "offer c2 a1")
				f.wantHolder("v1", "waiting:general")
				f.wantHolder("e3", "waiting:general")
			},
		},
		{
			name: "presence: away, wrap-up and offline agents get nothing",
			cfg:  basic(agent("a1", chat(3)), agent("a2", chat(3)), agent("a3", chat(3)), agent("a4", chat(3))),
			run: func(f *fixture) {
				f.presence("a1", event.PresenceAway)
				f.presence("a2", event.PresenceWrapUp)
				f.presence("a3", event.PresenceOffline)
				f.queue(queued{conv: "c1", queue: "general"})
				wantDecisions(f.t, f.step())
				f.available("a2")
				wantDecisions(f.t, f.step(), "offer c1 a2")
			},
		},
		{
			name: "presence: leaving withdraws a standing offer at once",
			cfg:  basic(agent("a1", chat(1)), agent("a2", chat(1))),
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.presence("a1", event.PresenceAway)
				f.wantHolder("c1", "waiting:general")
				if f.st.Agent("a1").Load(event.ChannelChat) != 0 {
					f.t.Fatal("a1 still carries the withdrawn offer")
				}
				f.available("a2")
				wantDecisions(f.t, f.step(), "offer c1 a2")
			},
		},
		{
			name: "longest idle: the agent available longest is offered first",
			cfg:  basic(agent("a1", chat(1)), agent("a2", chat(1)), agent("a3", chat(1))),
			run: func(f *fixture) {
				f.available("a2")
				f.advance(time.Second)
				f.available("a3")
				f.advance(time.Second)
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "general"})
				f.queue(queued{conv: "c2", queue: "general"})
				f.queue(queued{conv: "c3", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c1 a2", "offer c2 a3", "offer c3 a1")
			},
		},
		{
			name: "longest idle: finishing a conversation puts the agent last",
			cfg:  basic(agent("a1", chat(1)), agent("a2", chat(1))),
			run: func(f *fixture) {
				f.available("a1")
				f.advance(time.Second)
				f.available("a2")
				f.queue(queued{conv: "c1", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.accept("c1", "a1")
				f.advance(time.Minute)
				f.resolve("c1", "a1")
				f.queue(queued{conv: "c2", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c2 a2")
			},
		},
		{
			name: "priority: higher priority before older lower priority",
			cfg:  basic(agent("a1", chat(1))),
			run: func(f *fixture) {
				f.queue(queued{conv: "old-low", queue: "general", priority: 0})
				f.advance(time.Second)
				f.queue(queued{conv: "new-high", queue: "general", priority: 5})
				f.advance(time.Second)
				f.queue(queued{conv: "newer-low", queue: "general", priority: 0})
				f.available("a1")
				wantDecisions(f.t, f.step(), "offer new-high a1")
				f.resolve("new-high", "a1")
				wantDecisions(f.t, f.step(), "offer old-low a1")
				f.resolve("old-low", "a1")
				wantDecisions(f.t, f.step(), "offer newer-low a1")
			},
		},
		{
			name: "priority: the queue's priority adds to the conversation's",
			cfg: TenantConfig{
				Queues: []QueueConfig{{ID: "vip", Priority: 10}, {ID: "std"}},
				Agents: []AgentConfig{agent("a1", chat(1))},
			},
			run: func(f *fixture) {
				f.queue(queued{conv: "std-1", queue: "std", priority: 5})
				f.queue(queued{conv: "vip-1", queue: "vip"})
				f.available("a1")
				wantDecisions(f.t, f.step(), "offer vip-1 a1")
			},
		},
		{
			name: "sticky: a returning customer goes to their last agent",
			cfg:  basic(agent("a1", chat(2)), agent("a2", chat(2))),
			run: func(f *fixture) {
				f.available("a1", "a2")
				f.advance(time.Second)
				f.queue(queued{conv: "c1", queue: "general", contact: "k-jane"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.accept("c1", "a1")
				f.advance(time.Second)
				f.resolve("c1", "a1") // a1 is now the least idle
				f.queue(queued{conv: "c2", queue: "general", contact: "k-jane"})
				wantDecisions(f.t, f.step(), "offer c2 a1")
				f.queue(queued{conv: "c3", queue: "general", contact: "k-bob"})
				wantDecisions(f.t, f.step(), "offer c3 a2")
			},
		},
		{
			name: "sticky: not when the last agent is unavailable",
			cfg:  basic(agent("a1", chat(2)), agent("a2", chat(2))),
			run: func(f *fixture) {
				f.available("a1", "a2")
				f.queue(queued{conv: "c1", queue: "general", contact: "k-jane"})
				f.step()
				f.accept("c1", "a1")
				f.resolve("c1", "a1")
				f.presence("a1", event.PresenceAway)
				f.queue(queued{conv: "c2", queue: "general", contact: "k-jane"})
				wantDecisions(f.t, f.step(), "offer c2 a2")
			},
		},
		{
			name: "sticky: a contact identified while waiting",
			cfg:  basic(agent("a1", chat(2)), agent("a2", chat(2))),
			run: func(f *fixture) {
				f.available("a1", "a2")
				f.queue(queued{conv: "c1", queue: "general", contact: "k-jane"})
				f.step()
				f.accept("c1", "a1")
				f.resolve("c1", "a1")
				f.queue(queued{conv: "c2", queue: "tech"}) // nobody has tech: it waits
				f.queue(queued{conv: "c3", queue: "general"})
				f.must(f.build(event.ContactIdentified, "c3",
					&event.ContactIdentifiedData{ContactID: "k-jane", Method: event.IdentifiedAuto}, event.WithContact("k-jane")))
				wantDecisions(f.t, f.step(), "offer c3 a1")
			},
		},
		{
			name: "hours: queued while closed waits, offered when the queue opens",
			cfg: TenantConfig{
				Queues: []QueueConfig{{ID: "office", Hours: &hours.Config{
					TimeZone: "UTC", Weekly: map[string][]string{"monday": {"10:00-18:00"}},
				}}},
				Agents: []AgentConfig{agent("a1", chat(1))},
			},
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "office"}) // 09:00, closed
				wantDecisions(f.t, f.step())
				opens := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
				if dl, ok := f.st.NextDeadline(f.now); !ok || !dl.Equal(opens) {
					f.t.Fatalf("NextDeadline = %v %v, want %v", dl, ok, opens)
				}
				f.now = opens
				wantDecisions(f.t, f.step(), "offer c1 a1")
			},
		},
		{
			name: "overflow: after the threshold to the overflow queue",
			cfg: TenantConfig{
				Queues: []QueueConfig{
					{ID: "fr", Skills: []string{"lang:fr"}, OverflowAfter: 2 * time.Minute, OverflowQueue: "any"},
					{ID: "any"},
				},
				Agents: []AgentConfig{agent("a1", chat(1))}, // speaks no French
			},
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "fr"})
				wantDecisions(f.t, f.step())
				if dl, ok := f.st.NextDeadline(f.now); !ok || !dl.Equal(t0.Add(2*time.Minute)) {
					f.t.Fatalf("NextDeadline = %v %v, want the overflow time", dl, ok)
				}
				f.advance(119 * time.Second)
				wantDecisions(f.t, f.step())
				f.advance(time.Second)
				wantDecisions(f.t, f.step(), "overflow c1 fr->any")
				f.wantHolder("c1", "waiting:any")
				if c := f.st.Conversation("c1"); c.Note == "" {
					f.t.Error("overflow left no note")
				}
				wantDecisions(f.t, f.step(), "offer c1 a1")
			},
		},
		{
			name: "offer timeout: the next agent is offered",
			cfg: TenantConfig{
				Queues: []QueueConfig{{ID: "general", OfferTimeout: 20 * time.Second, ReofferAfter: time.Minute}},
				Agents: []AgentConfig{agent("a1", chat(1)), agent("a2", chat(1))},
			},
			run: func(f *fixture) {
				f.available("a1")
				f.advance(time.Second)
				f.available("a2")
				f.queue(queued{conv: "c1", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.advance(19 * time.Second)
				wantDecisions(f.t, f.step())
				f.advance(time.Second)
				wantDecisions(f.t, f.step(), "expire_offer c1 a1")
				f.wantHolder("c1", "waiting:general")
				wantDecisions(f.t, f.step(), "offer c1 a2")
			},
		},
		{
			name: "offer timeout: alone, the agent is offered again after reoffer_after",
			cfg: TenantConfig{
				Queues: []QueueConfig{{ID: "general", OfferTimeout: 20 * time.Second, ReofferAfter: time.Minute}},
				Agents: []AgentConfig{agent("a1", chat(1))},
			},
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "general"})
				f.queue(queued{conv: "c2", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.advance(20 * time.Second)
				// c1 passes a1 over; the next conversation in line gets a1.
				wantDecisions(f.t, f.step(), "expire_offer c1 a1")
				wantDecisions(f.t, f.step(), "offer c2 a1")
				f.resolve("c2", "a1")
				wantDecisions(f.t, f.step())
				if dl, ok := f.st.NextDeadline(f.now); !ok || !dl.Equal(f.now.Add(time.Minute)) {
					f.t.Fatalf("NextDeadline = %v %v, want the end of the exclusion", dl, ok)
				}
				f.advance(time.Minute)
				wantDecisions(f.t, f.step(), "offer c1 a1")
			},
		},
		{
			name: "decline: the next agent is offered",
			cfg:  basic(agent("a1", chat(1)), agent("a2", chat(1))),
			run: func(f *fixture) {
				f.available("a1")
				f.advance(time.Second)
				f.available("a2")
				f.queue(queued{conv: "c1", queue: "general"})
				ds := f.step()
				wantDecisions(f.t, ds, "offer c1 a1")
				offerID := f.st.Conversation("c1").OfferID
				f.must(f.build(event.ConversationOfferDeclined, "c1",
					&event.ConversationOfferDeclinedData{AgentID: "a1", OfferID: offerID, Reason: "busy"}))
				wantDecisions(f.t, f.step(), "offer c1 a2")
			},
		},
		{
			name: "transfer to a queue with a note",
			cfg:  basic(agent("a1", chat(2), "billing"), agent("a2", chat(2), "tech")),
			run: func(f *fixture) {
				f.available("a1", "a2")
				f.queue(queued{conv: "c1", queue: "billing"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.accept("c1", "a1")
				f.must(f.build(event.ConversationTransferred, "c1", &event.ConversationTransferredData{
					FromAgentID: "a1", ToQueue: "tech", Note: "router keeps rebooting",
				}))
				f.wantHolder("c1", "waiting:tech")
				if got := f.st.Conversation("c1").Note; got != "router keeps rebooting" {
					f.t.Errorf("note = %q", got)
				}
				if f.st.Agent("a1").Load(event.ChannelChat) != 0 {
					f.t.Error("a1 still carries the transferred conversation")
				}
				wantDecisions(f.t, f.step(), "offer c1 a2")
			},
		},
		{
			name: "transfer to an agent",
			cfg:  basic(agent("a1", chat(2)), agent("a2", chat(1)), agent("a3", chat(1))),
			run: func(f *fixture) {
				f.available("a1", "a2")
				f.queue(queued{conv: "c1", queue: "general"})
				f.queue(queued{conv: "c2", queue: "general"})
				f.step()
				f.accept("c1", "a1")
				f.accept("c2", "a2")
				// a3 is away: the transfer is void and c1 stays with a1.
				f.mustVoid(f.build(event.ConversationTransferred, "c1",
					&event.ConversationTransferredData{FromAgentID: "a1", ToAgentID: "a3", Note: "x"}))
				// a2 is full.
				f.mustVoid(f.build(event.ConversationTransferred, "c1",
					&event.ConversationTransferredData{FromAgentID: "a1", ToAgentID: "a2"}))
				f.available("a3")
				f.must(f.build(event.ConversationTransferred, "c1",
					&event.ConversationTransferredData{FromAgentID: "a1", ToAgentID: "a3", Note: "VIP, call back"}))
				f.wantHolder("c1", "assigned:a3")
				if got := f.st.Conversation("c1").Note; got != "VIP, call back" {
					f.t.Errorf("note = %q", got)
				}
				if f.st.Agent("a1").Load(event.ChannelChat) != 0 || f.st.Agent("a3").Load(event.ChannelChat) != 1 {
					f.t.Error("loads did not move with the transfer")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(newFixture(t, tt.cfg))
		})
	}
}

// TestVoidFacts checks the rule that makes concurrent routers safe: a fact
// not valid at its position changes nothing.
func TestVoidFacts(t *testing.T) {
	cfg := basic(agent("a1", chat(1), "billing"), agent("a2", chat(1)))
	offer := func(f *fixture, conv, agentID, queue string) *event.Envelope {
		return f.build(event.ConversationOffered, conv,
			&event.ConversationOfferedData{AgentID: agentID, Queue: queue, TimeoutMs: 30000}, event.WithChannel(event.ChannelChat))
	}
	tests := []struct {
		name string
		run  func(f *fixture)
	}{
		{"offer to an agent at capacity", func(f *fixture) {
			f.must(offer(f, "c1", "a1", "general"))
			f.mustVoid(offer(f, "c2", "a1", "general"))
		}},
		{"second offer of one conversation", func(f *fixture) {
			f.must(offer(f, "c1", "a1", "general"))
			f.mustVoid(offer(f, "c1", "a2", "general"))
		}},
		{"offer to an unavailable agent", func(f *fixture) {
			f.presence("a2", event.PresenceAway)
			f.mustVoid(offer(f, "c1", "a2", "general"))
		}},
		{"offer to an unskilled agent", func(f *fixture) {
			f.queue(queued{conv: "b1", queue: "billing"})
			f.mustVoid(offer(f, "b1", "a2", "billing"))
			f.must(offer(f, "b1", "a1", "billing"))
		}},
		{"offer of a conversation in another queue", func(f *fixture) {
			f.mustVoid(offer(f, "c1", "a1", "billing"))
		}},
		{"offer to an unknown agent", func(f *fixture) {
			f.mustVoid(offer(f, "c1", "ghost", "general"))
		}},
		{"accept by another agent", func(f *fixture) {
			f.must(offer(f, "c1", "a1", "general"))
			f.mustVoid(f.build(event.ConversationAssigned, "c1", &event.ConversationAssignedData{AgentID: "a2"}))
		}},
		{"accept after expiry and a new offer", func(f *fixture) {
			o := offer(f, "c1", "a1", "general")
			f.must(o)
			f.advance(30 * time.Second)
			f.must(f.build(event.ConversationOfferExpired, "c1", &event.ConversationOfferExpiredData{AgentID: "a1", OfferID: o.ID}))
			f.must(offer(f, "c1", "a2", "general"))
			f.mustVoid(f.build(event.ConversationAssigned, "c1", &event.ConversationAssignedData{AgentID: "a1"}))
			f.wantHolder("c1", "offered:a2")
		}},
		{"expiry before the deadline", func(f *fixture) {
			o := offer(f, "c1", "a1", "general")
			f.must(o)
			f.advance(29 * time.Second)
			f.mustVoid(f.build(event.ConversationOfferExpired, "c1", &event.ConversationOfferExpiredData{AgentID: "a1", OfferID: o.ID}))
			f.wantHolder("c1", "offered:a1")
		}},
		{"expiry after acceptance", func(f *fixture) {
			o := offer(f, "c1", "a1", "general")
			f.must(o)
			f.accept("c1", "a1")
			f.advance(time.Minute)
			f.mustVoid(f.build(event.ConversationOfferExpired, "c1", &event.ConversationOfferExpiredData{AgentID: "a1", OfferID: o.ID}))
			f.wantHolder("c1", "assigned:a1")
		}},
		{"decline of an older offer", func(f *fixture) {
			o := offer(f, "c1", "a1", "general")
			f.must(o)
			f.advance(30 * time.Second)
			f.must(f.build(event.ConversationOfferExpired, "c1", &event.ConversationOfferExpiredData{AgentID: "a1", OfferID: o.ID}))
			f.advance(2 * time.Minute)
			f.must(offer(f, "c1", "a1", "general"))
			f.mustVoid(f.build(event.ConversationOfferDeclined, "c1", &event.ConversationOfferDeclinedData{AgentID: "a1", OfferID: o.ID}))
			f.wantHolder("c1", "offered:a1")
		}},
		{"overflow of a conversation already offered", func(f *fixture) {
			f.must(offer(f, "c1", "a1", "general"))
			f.mustVoid(f.build(event.ConversationTransferred, "c1", &event.ConversationTransferredData{FromQueue: "general", ToQueue: "tech"}))
		}},
		{"direct assignment past capacity", func(f *fixture) {
			f.accept("c1", "a1")
			f.mustVoid(f.build(event.ConversationAssigned, "c9", &event.ConversationAssignedData{AgentID: "a1"}, event.WithChannel(event.ChannelChat)))
		}},
		{"re-queue of an assigned conversation", func(f *fixture) {
			f.accept("c1", "a1")
			f.mustVoid(f.build(event.ConversationQueued, "c1", &event.ConversationQueuedData{Queue: "tech"}, event.WithChannel(event.ChannelChat)))
		}},
		{"queued without a channel", func(f *fixture) {
			f.mustVoid(f.build(event.ConversationQueued, "c7", &event.ConversationQueuedData{Queue: "general"}))
		}},
		{"resolution of an unknown conversation", func(f *fixture) {
			f.mustVoid(f.build(event.ConversationResolved, "nope", &event.ConversationResolvedData{AgentID: "a1"}))
		}},
		{"a duplicate is dropped", func(f *fixture) {
			o := offer(f, "c1", "a1", "general")
			f.must(o)
			f.accept("c1", "a1")
			f.resolve("c1", "a1")
			err := f.apply(o)
			if !errors.Is(err, ErrDuplicate) || !errors.Is(err, ErrVoid) {
				t.Fatalf("duplicate: %v", err)
			}
			f.wantHolder("c1", "closed")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, cfg)
			f.available("a1", "a2")
			f.queue(queued{conv: "c1", queue: "general"})
			f.queue(queued{conv: "c2", queue: "general"})
			tt.run(f)
			for _, a := range f.st.Agents() {
				if a.Load(event.ChannelChat) > a.Capacity(event.ChannelChat) {
					t.Fatalf("agent %s over capacity: %d of %d", a.ID, a.Load(event.ChannelChat), a.Capacity(event.ChannelChat))
				}
			}
		})
	}
}

func TestApplyOtherTenant(t *testing.T) {
	f := newFixture(t, basic(agent("a1", chat(1))))
	e, err := event.New(event.AgentPresenceChanged, "globex",
		&event.AgentPresenceChangedData{AgentID: "a1", Presence: event.PresenceAvailable}, event.WithTime(t0))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.Apply(e); !errors.Is(err, ErrWrongTenant) {
		t.Fatalf("Apply = %v, want ErrWrongTenant", err)
	}
	if f.st.Version() != 0 {
		t.Fatalf("version = %d after another tenant's event", f.st.Version())
	}
}

// Ids are forgotten once they fall out of the window of event time, so
// memory does not grow with the log.
func TestDedupeWindow(t *testing.T) {
	var d dedupe
	d.window = time.Hour
	if d.seenBefore("e1", t0) || !d.seenBefore("e1", t0) {
		t.Fatal("e1 not remembered")
	}
	if d.seenBefore("0199d6a4-8c4e-7b6a-9f2e-3c1d2e4f5a6b", t0) {
		t.Fatal("new uuid seen")
	}
	if !d.seenBefore("0199d6a4-8c4e-7b6a-9f2e-3c1d2e4f5a6b", t0.Add(time.Minute)) {
		t.Fatal("uuid not remembered")
	}
	d.seenBefore("later", t0.Add(2*time.Hour))
	if d.seenBefore("e1", t0.Add(2*time.Hour)) {
		t.Fatal("e1 still remembered after the window")
	}
	if len(d.seen) != 2 { // "later" and the second "e1"
		t.Fatalf("%d ids kept, want 2", len(d.seen))
	}
}

// Decide must not change the state: deciding twice at one version gives
// the same decisions.
func TestDecideIsPure(t *testing.T) {
	f := newFixture(t, basic(agent("a1", chat(2)), agent("a2", chat(1)), agent("a3", chat(1), "tech")))
	f.available("a1", "a2", "a3")
	for _, c := range []string{"c1", "c2", "c3", "c4"} {
		f.queue(queued{conv: c, queue: "general"})
	}
	before := snapshot(f.st)
	first := describe(f.decide())
	second := describe(f.decide())
	if before != snapshot(f.st) {
		t.Fatalf("Decide changed the state:\n%s\nvs\n%s", before, snapshot(f.st))
	}
	if len(first) != 3 {
		t.Fatalf("first round %q, want one offer per agent", first)
	}
	for i := range first {
		if first[i] != second[i] {
			t.Fatalf("rounds differ: %q vs %q", first, second)
		}
	}
}
