package routing

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// IsDirectoryFact reports whether events of typ change a tenant's routing
// configuration. Routers copy them from event.TopicDirectory onto the
// routing topic, where each takes effect at its position; the directory's
// other types (skills, canned answers, widget settings, reader markers)
// are not routing's business.
func IsDirectoryFact(typ string) bool {
	switch typ {
	case event.QueueSaved, event.QueueRemoved, event.AgentProfileSet, event.AgentProfileRemoved:
		return true
	}
	return false
}

// overlay is what the directory facts folded so far say about a tenant's
// queues and agents: for each id, the last fact about it (nil: removed).
// The configuration in force is the static base overlaid by it, so a base
// changed at run time (Router.SetConfig) keeps every directory change.
type overlay struct {
	queues     map[string]*QueueConfig
	agents     map[string]*AgentConfig
	queueOrder []string // ids in order of their first fact
	agentOrder []string
}

func (o overlay) clone() overlay {
	return overlay{
		queues: maps.Clone(o.queues), agents: maps.Clone(o.agents),
		queueOrder: slices.Clone(o.queueOrder), agentOrder: slices.Clone(o.agentOrder),
	}
}

func (o *overlay) setQueue(id string, q *QueueConfig) {
	if o.queues == nil {
		o.queues = map[string]*QueueConfig{}
	}
	if _, seen := o.queues[id]; !seen {
		o.queueOrder = append(o.queueOrder, id)
	}
	o.queues[id] = q
}

func (o *overlay) setAgent(id string, a *AgentConfig) {
	if o.agents == nil {
		o.agents = map[string]*AgentConfig{}
	}
	if _, seen := o.agents[id]; !seen {
		o.agentOrder = append(o.agentOrder, id)
	}
	o.agents[id] = a
}

// over returns base overlaid by o: base's queues and agents in base order,
// each replaced or dropped by its last directory fact, then those only the
// directory knows, in the order the directory first named them. The
// result is the same on every reader that folded the same facts over the
// same base.
func (o overlay) over(base TenantConfig) TenantConfig {
	cfg := base
	cfg.Queues = overlaid(base.Queues, o.queues, o.queueOrder, func(q QueueConfig) string { return q.ID })
	cfg.Agents = overlaid(base.Agents, o.agents, o.agentOrder, func(a AgentConfig) string { return a.ID })
	return cfg
}

func overlaid[T any](base []T, facts map[string]*T, order []string, id func(T) string) []T {
	if len(facts) == 0 {
		return base
	}
	out := make([]T, 0, len(base)+len(order))
	inBase := make(map[string]bool, len(base))
	for _, v := range base {
		inBase[id(v)] = true
		f, ok := facts[id(v)]
		switch {
		case !ok:
			out = append(out, v)
		case f != nil:
			out = append(out, *f)
		}
	}
	for _, k := range order {
		if f := facts[k]; f != nil && !inBase[k] {
			out = append(out, *f)
		}
	}
	return out
}

// queueFromDirectory converts a queue.saved payload to a QueueConfig.
func queueFromDirectory(d *event.QueueSavedData) QueueConfig {
	q := QueueConfig{
		ID: d.QueueID, Name: d.Name, Skills: slices.Clone(d.Skills), Priority: d.Priority,
		OverflowAfter: time.Duration(d.OverflowAfterMs) * time.Millisecond, OverflowQueue: d.OverflowQueue,
		OfferTimeout: time.Duration(d.OfferTimeoutMs) * time.Millisecond,
	}
	if d.Hours != nil {
		h := *d.Hours
		q.Hours = &h
	}
	return q
}

// agentFromDirectory converts an agent.profile_set payload to an
// AgentConfig.
func agentFromDirectory(d *event.AgentProfileSetData) AgentConfig {
	return AgentConfig{ID: d.AgentID, Skills: slices.Clone(d.Skills), Capacity: maps.Clone(d.Capacity)}
}

// applyDirectory folds a queue or agent profile fact: the configuration in
// force becomes the base overlaid by every directory fact so far, this one
// included. A fact that would leave it invalid (an overflow into a queue
// that does not exist, the removal of a queue another overflows into, of
// a queue or agent that is not there) is void like any other.
func (s *State) applyDirectory(e *event.Envelope, p event.Payload) error {
	next := s.dir.clone()
	withdraw := ""
	switch d := p.(type) {
	case *event.QueueSavedData:
		q := queueFromDirectory(d)
		next.setQueue(d.QueueID, &q)
	case *event.QueueRemovedData:
		if _, ok := s.queues[d.QueueID]; !ok {
			return voidConfig(e, "queue %q is not configured", d.QueueID)
		}
		next.setQueue(d.QueueID, nil)
	case *event.AgentProfileSetData:
		a := agentFromDirectory(d)
		next.setAgent(d.AgentID, &a)
	case *event.AgentProfileRemovedData:
		if a := s.agents[d.AgentID]; a == nil || !a.configured {
			return voidConfig(e, "agent %q has no routing profile", d.AgentID)
		}
		next.setAgent(d.AgentID, nil)
		withdraw = d.AgentID
	default:
		return voidConfig(e, "not a directory fact")
	}
	cfg := next.over(s.base)
	if err := cfg.Validate(); err != nil {
		return voidConfig(e, "%v", err)
	}
	if err := s.install(cfg); err != nil {
		return voidConfig(e, "%v", err)
	}
	s.dir = next
	if withdraw != "" {
		s.withdrawAll(s.agents[withdraw], e.Time)
	}
	return nil
}

// withdrawAll puts every standing offer to a back in its queue, oldest
// first: a who may no longer take them (left "available", lost their
// profile) must not hold them until they expire.
func (s *State) withdrawAll(a *Agent, at time.Time) {
	if a == nil {
		return
	}
	var offered []*Conversation
	for c := range a.holding {
		if c.Status == Offered {
			offered = append(offered, c)
		}
	}
	slices.SortFunc(offered, func(x, y *Conversation) int { return cmp.Compare(x.Seq, y.Seq) })
	for _, c := range offered {
		s.release(c, at)
		s.enqueue(c, c.Queue)
	}
}

// voidConfig builds the error of a directory fact ignored at its position.
func voidConfig(e *event.Envelope, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s: %s", ErrVoid, e.Type, e.ID, fmt.Sprintf(format, args...))
}

// routable reports whether the tenant has anything to route with: a queue
// or an agent, from the base or the directory.
func (s *State) routable() bool { return len(s.cfg.Queues) > 0 || len(s.cfg.Agents) > 0 }
