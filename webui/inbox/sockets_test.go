package inbox

import (
	"slices"
	"testing"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/auth"
)

// TestSocketCandidates checks which sockets a conversation change is
// offered to: every socket while it waits in a queue, otherwise the
// privileged ones and those of the agents holding or offered it, before or
// after the change, each once.
func TestSocketCandidates(t *testing.T) {
	s := newSockets()
	mk := func(id, role string) *client {
		cl := &client{p: auth.Principal{AccountID: id, Tenant: "acme", Role: role}}
		s.add(cl)
		return cl
	}
	a1, a1b := mk("a1", event.RoleAgent), mk("a1", event.RoleAgent) // two tabs
	a2, a3 := mk("a2", event.RoleAgent), mk("a3", event.RoleAgent)
	sup := mk("s1", event.RoleSupervisor)
	names := map[*client]string{a1: "a1", a1b: "a1b", a2: "a2", a3: "a3", sup: "s1"}
	got := func(sums ...Summary) []string {
		var out []string
		s.candidates(func(cl *client) { out = append(out, names[cl]) }, sums...)
		slices.Sort(out)
		return out
	}
	assigned := func(agent string) Summary { return Summary{Status: StatusAssigned, AgentID: agent} }
	offered := func(agent string) Summary {
		return Summary{Status: StatusOffered, Offer: &Offer{AgentID: agent}}
	}
	for _, tc := range []struct {
		name string
		sums []Summary
		want []string
	}{
		{"assigned", []Summary{assigned("a1")}, []string{"a1", "a1b", "s1"}},
		{"offered", []Summary{offered("a2")}, []string{"a2", "s1"}},
		{"transferred a1 to a2", []Summary{assigned("a2"), assigned("a1")}, []string{"a1", "a1b", "a2", "s1"}},
		{"same agent twice", []Summary{assigned("a1"), offered("a1")}, []string{"a1", "a1b", "s1"}},
		{"waiting now", []Summary{{Status: StatusWaiting}}, []string{"a1", "a1b", "a2", "a3", "s1"}},
		{"waiting before", []Summary{offered("a3"), {Status: StatusWaiting}}, []string{"a1", "a1b", "a2", "a3", "s1"}},
		{"resolved by a3", []Summary{{Status: StatusResolved}, assigned("a3")}, []string{"a3", "s1"}},
	} {
		if g := got(tc.sums...); !slices.Equal(g, tc.want) {
			t.Errorf("%s: candidates %v, want %v", tc.name, g, tc.want)
		}
	}
	s.remove(a1)
	s.remove(sup)
	if g := got(assigned("a1")); !slices.Equal(g, []string{"a1b"}) {
		t.Errorf("after closing a tab and the supervisor: %v, want [a1b]", g)
	}
	s.remove(a1b)
	if _, ok := s.byAgent["a1"]; ok || len(s.all) != 2 {
		t.Errorf("index not emptied: byAgent %v, all %d", s.byAgent, len(s.all))
	}
	var nilSet *sockets
	nilSet.candidates(func(*client) { t.Error("called on a nil set") }, assigned("a1"))
}
