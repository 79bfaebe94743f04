package routing

import (
	"slices"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// Status is where a conversation stands in routing.
type Status int

// Conversation statuses. A resolved or abandoned conversation leaves the
// state altogether.
const (
	// Waiting: in a queue, no agent holds it.
	Waiting Status = iota + 1
	// Offered: reserved for one agent until they accept, decline, or the
	// offer expires. It counts against the agent's capacity.
	Offered
	// Assigned: an agent owns it.
	Assigned
)

// String names the status for logs.
func (s Status) String() string {
	switch s {
	case Waiting:
		return "waiting"
	case Offered:
		return "offered"
	case Assigned:
		return "assigned"
	}
	return "unknown"
}

// Conversation is routing's view of one live conversation. Policies and
// tests read it; only the State changes it.
type Conversation struct {
	ID        string
	ContactID string
	Channel   string
	// Queue is the queue it waits in or came from.
	Queue string
	// Priority is the conversation's own priority; the queue's is added.
	Priority int
	// Skills are needed on top of the queue's, sorted.
	Skills   []string
	Language string
	// Note is the hand-over note of the last transfer.
	Note string
	// ArrivedAt is when it was first queued; Seq is the routing log
	// position of that, which orders equal priorities (arrival order).
	ArrivedAt time.Time
	Seq       uint64
	// QueuedAt is when it entered its current queue; overflow counts from it.
	QueuedAt time.Time

	Status Status
	// AgentID holds the offer or the assignment.
	AgentID string
	// OfferID is the id of the standing conversation.offered event, and
	// OfferDeadline when it expires.
	OfferID       string
	OfferDeadline time.Time
	OfferTimeout  time.Duration
	// LastAgentID is the agent who last had a conversation of the same
	// contact, for sticky routing; empty for a first contact.
	LastAgentID string

	// excluded maps an agent who declined or let an offer expire to when
	// they may be offered this conversation again.
	excluded map[string]time.Time

	lane        *lane
	lanePos     int // in lane.waiting
	overflowPos int // in State.overflow
	offerPos    int // in State.offers
	decideGen   uint64
}

// Excluded reports whether agentID is passed over for c at now because
// they declined it or let an offer of it expire recently.
func (c *Conversation) Excluded(agentID string, now time.Time) bool {
	until, ok := c.excluded[agentID]
	return ok && now.Before(until)
}

// Agent is routing's view of one agent. Policies and tests read it; only
// the State changes it.
type Agent struct {
	ID   string
	Name string
	// Skills, sorted.
	Skills []string
	// Presence is one of the event.Presence* values; offline until the first
	// presence event.
	Presence string
	// IdleSince is when the agent last became available, was last offered
	// a conversation, or was last relieved of one: the longest-idle policy
	// prefers the oldest.
	IdleSince time.Time

	ord        int // creation order within the State, indexes lane.slot
	configured bool
	capacity   map[string]int
	load       map[string]int             // offered + assigned, by channel
	holding    map[*Conversation]struct{} // offered or assigned to this agent
	lanes      []*lane                    // lanes whose skills and channel the agent has
}

// Capacity is how many conversations of channel the agent takes at once.
func (a *Agent) Capacity(channel string) int { return a.capacity[channel] }

// Load is how many conversations of channel the agent holds, offers included.
func (a *Agent) Load(channel string) int { return a.load[channel] }

// Free is the capacity left on channel.
func (a *Agent) Free(channel string) int { return a.capacity[channel] - a.load[channel] }

// HasSkills reports whether the agent has every one of skills.
func (a *Agent) HasSkills(skills []string) bool {
	for _, s := range skills {
		if _, ok := slices.BinarySearch(a.Skills, s); !ok {
			return false
		}
	}
	return true
}

// CanTake reports whether the agent may be given a conversation of channel
// needing skills now: configured, available, skilled, with room.
func (a *Agent) CanTake(channel string, skills []string) bool {
	return a.configured && a.Presence == event.PresenceAvailable && a.Free(channel) > 0 && a.HasSkills(skills)
}

// idleBefore orders agents longest idle first; ids break ties so the order
// is total and every router computes the same.
func idleBefore(a, b *Agent) bool {
	if !a.IdleSince.Equal(b.IdleSince) {
		return a.IdleSince.Before(b.IdleSince)
	}
	return a.ID < b.ID
}
