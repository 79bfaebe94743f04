package event

import (
	"bytes"
	"testing"
)

func TestRoutingTypesLiveOnTheRoutingTopic(t *testing.T) {
	for _, typ := range []string{ConversationOfferDeclined, ConversationOfferExpired, RouterStarted} {
		if got := TopicFor(typ); got != TopicRouting {
			t.Errorf("TopicFor(%s) = %q, want %q", typ, got, TopicRouting)
		}
	}
	if err := validTopicForBus(TopicRouting); err != nil {
		t.Fatal(err)
	}
}

// Every event on the routing topic is keyed by tenant, whatever its type,
// so one tenant's routing facts share one partition and one order.
func TestRoutingMessageKeyedByTenant(t *testing.T) {
	for _, typ := range []string{ConversationQueued, ConversationOffered, ConversationAssigned,
		ConversationOfferDeclined, ConversationOfferExpired, AgentPresenceChanged, RouterStarted} {
		e := newSample(t, typ)
		m, err := RoutingMessage(e)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !bytes.Equal(m.Key, []byte("acme")) {
			t.Errorf("%s: key = %q, want acme", typ, m.Key)
		}
		back, err := FromMessage(&m)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if err := back.Validate(); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if _, err := RoutingMessage(&Envelope{Type: ConversationOffered}); err == nil {
		t.Error("RoutingMessage accepted an envelope without id, source, tenant")
	}
}

func TestRoutingPayloadsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Payload
		bad  []string
	}{
		{"declined ok", &ConversationOfferDeclinedData{AgentID: "a"}, nil},
		{"declined no agent", &ConversationOfferDeclinedData{}, []string{"agent_id"}},
		{"expired ok", &ConversationOfferExpiredData{AgentID: "a", OfferID: "o"}, nil},
		{"expired missing", &ConversationOfferExpiredData{TimeoutMs: -1}, []string{"agent_id", "offer_id", "timeout_ms"}},
		{"started ok", &RouterStartedData{RouterID: "r"}, nil},
		{"started no id", &RouterStartedData{}, []string{"router_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if len(tt.bad) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			var got []string
			for _, p := range ve.Problems {
				got = append(got, p.Field)
			}
			if len(got) != len(tt.bad) {
				t.Fatalf("problems %v, want fields %v", got, tt.bad)
			}
			for i := range got {
				if got[i] != tt.bad[i] {
					t.Fatalf("problems %v, want fields %v", got, tt.bad)
				}
			}
		})
	}
}
