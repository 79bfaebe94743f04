package routing

import (
	"testing"
	"time"
)

func TestSelectors(t *testing.T) {
	mk := func(id string, idle time.Duration) *Agent {
		return &Agent{ID: id, IdleSince: t0.Add(idle)}
	}
	a1, a2, a3 := mk("a1", 0), mk("a2", -time.Minute), mk("a3", -time.Minute)
	tests := []struct {
		name  string
		sel   Selector
		conv  *Conversation
		cands []*Agent
		want  string
	}{
		{"longest idle: oldest IdleSince", LongestIdle{}, &Conversation{}, []*Agent{a1, a2}, "a2"},
		{"longest idle: ties broken by id", LongestIdle{}, &Conversation{}, []*Agent{a1, a3, a2}, "a2"},
		{"longest idle: no candidates", LongestIdle{}, &Conversation{}, nil, ""},
		{"last agent: preferred when a candidate", DefaultSelector, &Conversation{LastAgentID: "a1"}, []*Agent{a1, a2}, "a1"},
		{"last agent: not a candidate, next policy", DefaultSelector, &Conversation{LastAgentID: "a9"}, []*Agent{a1, a2}, "a2"},
		{"last agent: first contact, next policy", DefaultSelector, &Conversation{}, []*Agent{a1, a3}, "a3"},
		{"last agent: no next policy", LastAgent{}, &Conversation{LastAgentID: "a9"}, []*Agent{a1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.sel.Select(tt.conv, NewCandidateList(tt.cands...))
			id := ""
			if got != nil {
				id = got.ID
			}
			if id != tt.want {
				t.Fatalf("Select = %q, want %q", id, tt.want)
			}
		})
	}
}

// A custom policy plugs in through WithSelector and sees only agents who
// may take the conversation.
type mostSkilled struct{}

func (mostSkilled) Select(_ *Conversation, cands Candidates) *Agent {
	var best *Agent
	for a := range cands.Idle() {
		if best == nil || len(a.Skills) > len(best.Skills) {
			best = a
		}
	}
	return best
}

func TestCustomSelector(t *testing.T) {
	f := newFixture(t, basic(agent("a1", chat(1)), agent("a2", chat(1), "billing", "tech"), agent("a3", chat(1), "billing", "tech")),
		WithSelector(mostSkilled{}))
	f.available("a1")
	f.advance(time.Second)
	f.available("a2", "a3")
	f.presence("a3", "away")
	f.queue(queued{conv: "c1", queue: "general"})
	wantDecisions(t, f.step(), "offer c1 a2")
}

// Candidates that an exclusion hides are not handed to the selector.
func TestCandidatesSkipPassedOver(t *testing.T) {
	f := newFixture(t, basic(agent("a1", chat(1)), agent("a2", chat(1))))
	f.available("a1")
	f.advance(time.Second)
	f.available("a2")
	f.queue(queued{conv: "c1", queue: "general", contact: "k1"})
	wantDecisions(t, f.step(), "offer c1 a1")
	f.must(f.build("conversation.offer_declined", "c1", declined("a1")))
	c := f.st.Conversation("c1")
	c.LastAgentID = "a1" // even the sticky preference yields to a decline
	lc := &laneCandidates{s: f.st, c: c, l: c.lane, now: f.now}
	if a := lc.Lookup("a1"); a != nil {
		t.Fatal("Lookup returned an agent who declined")
	}
	var ids []string
	for a := range lc.Idle() {
		ids = append(ids, a.ID)
	}
	if len(ids) != 1 || ids[0] != "a2" || !lc.passedOver {
		t.Fatalf("Idle = %v (passedOver %v), want [a2] and passedOver", ids, lc.passedOver)
	}
}
