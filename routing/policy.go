package routing

import (
	"iter"
	"slices"
)

// Selector chooses which agent is offered a conversation. Policies are small
// values composed by wrapping (LastAgent{Next: LongestIdle{}}), in the
// manner of caddy's load-balancing selection policies, so a tenant's rule is
// read off its construction.
//
// The engine hands a selector only agents who may take the conversation at
// this moment: configured, available, holding every skill the conversation
// needs, with room on its channel, not passed over after a decline, not
// already chosen in the same round. A selector picks among them or returns
// nil to leave the conversation waiting; it must be deterministic (no clock,
// no randomness), since every router must reach the same choice.
type Selector interface {
	Select(c *Conversation, cands Candidates) *Agent
}

// Candidates are the agents a Selector may choose from for one conversation.
// The engine serves them from an index kept in longest-idle order, so a
// policy reading the first few costs the same with 10 agents as with 10,000.
type Candidates interface {
	// Idle yields the candidates longest idle first (IdleSince, then id).
	Idle() iter.Seq[*Agent]
	// Lookup returns the candidate with this id, or nil if that agent is not
	// a candidate.
	Lookup(id string) *Agent
}

// Interface guards.
var (
	_ Selector   = LongestIdle{}
	_ Selector   = LastAgent{}
	_ Candidates = CandidateList(nil)
)

// DefaultSelector is what a State uses unless told otherwise: a returning
// customer's last agent when that agent can take them, else the longest-idle
// agent.
var DefaultSelector Selector = LastAgent{Next: LongestIdle{}}

// LongestIdle offers the conversation to the agent idle the longest, which
// spreads work evenly and is what agents perceive as fair.
type LongestIdle struct{}

// Select returns the first candidate in idle order.
func (LongestIdle) Select(_ *Conversation, cands Candidates) *Agent {
	for a := range cands.Idle() {
		return a
	}
	return nil
}

// LastAgent sends a returning customer (same contact) to the agent who
// served them last, when that agent is a candidate; otherwise Next decides.
// Customers do not have to explain their case twice.
type LastAgent struct {
	Next Selector
}

// Select prefers c.LastAgentID.
func (s LastAgent) Select(c *Conversation, cands Candidates) *Agent {
	if c.LastAgentID != "" {
		if a := cands.Lookup(c.LastAgentID); a != nil {
			return a
		}
	}
	if s.Next == nil {
		return nil
	}
	return s.Next.Select(c, cands)
}

// CandidateList is Candidates over a fixed list, for policies' tests and
// tools; NewCandidateList puts it in idle order.
type CandidateList []*Agent

// NewCandidateList returns agents in longest-idle order (the list is copied).
func NewCandidateList(agents ...*Agent) CandidateList {
	l := slices.Clone(agents)
	slices.SortFunc(l, func(a, b *Agent) int {
		switch {
		case idleBefore(a, b):
			return -1
		case idleBefore(b, a):
			return 1
		}
		return 0
	})
	return CandidateList(l)
}

// Idle yields the list in order.
func (l CandidateList) Idle() iter.Seq[*Agent] { return slices.Values(l) }

// Lookup finds an agent by id.
func (l CandidateList) Lookup(id string) *Agent {
	for _, a := range l {
		if a.ID == id {
			return a
		}
	}
	return nil
}
