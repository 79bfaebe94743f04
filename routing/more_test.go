package routing

import (
	"errors"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name string
		cfg  TenantConfig
		run  func(f *fixture)
	}{
		{
			name: "abandonment frees the agent holding an offer",
			cfg:  basic(agent("a1", chat(1))),
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "general"})
				f.queue(queued{conv: "c2", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.must(f.build(event.ConversationAbandoned, "c1",
					&event.ConversationAbandonedData{Queue: "general", WaitMs: 4000, Reason: event.AbandonCustomerLeft}))
				f.wantHolder("c1", "closed")
				wantDecisions(f.t, f.step(), "offer c2 a1")
			},
		},
		{
			name: "an agent picks a waiting conversation directly",
			cfg:  basic(agent("a1", chat(1)), agent("a2", chat(1))),
			run: func(f *fixture) {
				f.queue(queued{conv: "c1", queue: "general"})
				f.accept("c1", "a2") // no presence needed, only room
				f.wantHolder("c1", "assigned:a2")
				f.mustVoid(f.build(event.ConversationAssigned, "c1", &event.ConversationAssignedData{AgentID: "a1"}))
			},
		},
		{
			name: "an outbound conversation routing never saw",
			cfg:  basic(agent("a1", chat(1))),
			run: func(f *fixture) {
				f.must(f.build(event.ConversationAssigned, "out-1", &event.ConversationAssignedData{AgentID: "a1"},
					event.WithChannel(event.ChannelChat), event.WithContact("k1")))
				f.wantHolder("out-1", "assigned:a1")
				if f.st.LastAgent("k1") != "a1" {
					f.t.Error("the contact's last agent is not recorded")
				}
			},
		},
		{
			name: "a re-queue moves a waiting conversation and keeps its arrival",
			cfg:  basic(agent("a1", chat(1), "tech")),
			run: func(f *fixture) {
				f.queue(queued{conv: "c1", queue: "general"})
				f.advance(time.Second)
				f.queue(queued{conv: "c2", queue: "tech"})
				f.queue(queued{conv: "c1", queue: "tech"})
				f.available("a1")
				wantDecisions(f.t, f.step(), "offer c1 a1")
			},
		},
		{
			name: "a queue configured later routes what waited in it",
			cfg:  basic(agent("a1", chat(1))),
			run: func(f *fixture) {
				f.available("a1")
				f.queue(queued{conv: "c1", queue: "returns"})
				wantDecisions(f.t, f.step())
				if f.st.Waiting("returns") != 1 {
					f.t.Fatalf("Waiting(returns) = %d", f.st.Waiting("returns"))
				}
				cfg := f.st.Config()
				cfg.Queues = append(cfg.Queues, QueueConfig{ID: "returns"})
				if err := f.st.SetConfig(cfg); err != nil {
					f.t.Fatal(err)
				}
				wantDecisions(f.t, f.step(), "offer c1 a1")
			},
		},
		{
			name: "an agent removed from the configuration keeps what it holds but gets nothing new",
			cfg:  basic(agent("a1", chat(2)), agent("a2", chat(2))),
			run: func(f *fixture) {
				f.available("a1", "a2")
				f.queue(queued{conv: "c1", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c1 a1")
				f.accept("c1", "a1")
				cfg := f.st.Config()
				cfg.Agents = cfg.Agents[1:]
				if err := f.st.SetConfig(cfg); err != nil {
					f.t.Fatal(err)
				}
				f.wantHolder("c1", "assigned:a1")
				f.queue(queued{conv: "c2", queue: "general"})
				wantDecisions(f.t, f.step(), "offer c2 a2")
				f.mustVoid(f.build(event.ConversationOffered, "c3",
					&event.ConversationOfferedData{AgentID: "a1", Queue: "general"}, event.WithChannel(event.ChannelChat)))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(newFixture(t, tt.cfg)) })
	}
}

func TestReadRouting(t *testing.T) {
	e, err := event.New(event.ConversationOffered, tenantID, &event.ConversationOfferedData{AgentID: "a1", Queue: "q"},
		event.WithConversation("c1"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := event.RoutingMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ReadRouting(&good); err != nil || got.ID != e.ID {
		t.Fatalf("ReadRouting = %v, %v", got, err)
	}
	conversationKeyed, err := event.ToMessage(e) // keyed acme/c1: wrong partition for the routing log
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRouting(&conversationKeyed); !errors.Is(err, ErrMisrouted) {
		t.Fatalf("ReadRouting of a conversation-keyed message = %v, want ErrMisrouted", err)
	}
	junk := good
	junk.Headers = nil
	if _, err := ReadRouting(&junk); !errors.Is(err, event.ErrMalformed) {
		t.Fatalf("ReadRouting of a message without headers = %v", err)
	}
}

func TestIsRequest(t *testing.T) {
	for typ, want := range map[string]bool{
		event.ConversationQueued: true, event.ConversationAssigned: true, event.AgentPresenceChanged: true,
		event.ConversationResolved: true, event.ContactIdentified: true,
		event.ConversationOffered: false, event.MessageReceived: false, event.NoteAdded: false,
	} {
		if IsRequest(typ) != want {
			t.Errorf("IsRequest(%s) = %v", typ, !want)
		}
	}
}
