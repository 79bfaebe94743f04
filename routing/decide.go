package routing

import (
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// DecisionKind says what a Decision proposes.
type DecisionKind int

// Decision kinds.
const (
	// Offer a waiting conversation to an agent (conversation.offered).
	Offer DecisionKind = iota + 1
	// ExpireOffer withdraws an offer past its deadline
	// (conversation.offer_expired).
	ExpireOffer
	// Overflow moves a conversation that waited too long to its queue's
	// overflow queue (conversation.transferred from queue to queue).
	Overflow
)

// String names the kind for logs.
func (k DecisionKind) String() string {
	switch k {
	case Offer:
		return "offer"
	case ExpireOffer:
		return "expire_offer"
	case Overflow:
		return "overflow"
	}
	return "unknown"
}

// Decision is a proposal computed by Decide. It changes nothing by itself:
// a router publishes it as an event on the routing log, and it takes
// effect when folded, if it is still valid at its position there.
type Decision struct {
	Kind           DecisionKind
	ConversationID string
	ContactID      string
	Channel        string
	// Queue is the conversation's queue (the one it overflows from).
	Queue string
	// AgentID is who is offered the conversation (Offer) or whose offer
	// expires (ExpireOffer).
	AgentID string
	// OfferID is the expiring offer's event id (ExpireOffer).
	OfferID string
	// Timeout is the offer's timeout (Offer, ExpireOffer).
	Timeout time.Duration
	// ToQueue is the overflow queue (Overflow) and Waited how long the
	// conversation waited in Queue.
	ToQueue string
	Waited  time.Duration
	// Version is the state version the decision was made at, for logs and
	// for measuring how stale proposals are when they land.
	Version uint64
}

// ExtensionVersion is the CloudEvents extension attribute carrying
// Decision.Version on the events routers publish.
const ExtensionVersion = "routingversion"

// ExtensionRouter is the CloudEvents extension attribute naming the router
// instance that proposed an event, for logs and audits.
const ExtensionRouter = "routerid"

// Source is the CloudEvents source of routing's events.
const Source = "/routing"

// Envelope turns the decision into the event a router publishes, stamped
// at (the router's clock when it decided).
func (d Decision) Envelope(tenant string, at time.Time) (*event.Envelope, error) {
	opts := []event.Option{event.WithConversation(d.ConversationID), event.WithSource(Source), event.WithTime(at)}
	if d.ContactID != "" {
		opts = append(opts, event.WithContact(d.ContactID))
	}
	if d.Channel != "" {
		opts = append(opts, event.WithChannel(d.Channel))
	}
	var (
		e   *event.Envelope
		err error
	)
	switch d.Kind {
	case Offer:
		e, err = event.New(event.ConversationOffered, tenant, &event.ConversationOfferedData{
			AgentID: d.AgentID, Queue: d.Queue, TimeoutMs: d.Timeout.Milliseconds(),
		}, opts...)
	case ExpireOffer:
		e, err = event.New(event.ConversationOfferExpired, tenant, &event.ConversationOfferExpiredData{
			AgentID: d.AgentID, Queue: d.Queue, OfferID: d.OfferID, TimeoutMs: d.Timeout.Milliseconds(),
		}, opts...)
	case Overflow:
		e, err = event.New(event.ConversationTransferred, tenant, &event.ConversationTransferredData{
			FromQueue: d.Queue, ToQueue: d.ToQueue,
			Note: fmt.Sprintf("overflow: waited %s in queue %s", d.Waited.Round(time.Second), d.Queue),
		}, opts...)
	default:
		return nil, fmt.Errorf("routing: decision of unknown kind %d", d.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("routing: %s decision for %s: %w", d.Kind, d.ConversationID, err)
	}
	if err := e.SetExtension(ExtensionVersion, strconv.FormatUint(d.Version, 10)); err != nil {
		return nil, err
	}
	return e, nil
}

// maxLaneSkips bounds how many conversations of one lane a round looks at
// past the head when only per-conversation exclusions (recent declines)
// keep them from the free agents.
const maxLaneSkips = 32

// Decide computes what should happen at now: offers past their deadline to
// withdraw, conversations to overflow, and offers of waiting conversations
// to free agents, highest priority and then earliest arrival first, each
// agent given at most one new offer per round. It does not change the
// state (the decisions take effect when their events are folded), so
// calling it twice at the same version gives the same decisions.
//
// A round costs O(lanes log lanes + offers made × (lanes per agent) ×
// log agents): it reads the head of each lane (queue, channel, skills) and
// the front of that lane's idle-ordered agents, never every waiting
// conversation or every agent.
func (s *State) Decide(now time.Time) []Decision {
	s.gen++
	var out []Decision
	w := s.offers.walk()
	for c, ok := w.next(); ok && !c.OfferDeadline.After(now); c, ok = w.next() {
		out = append(out, Decision{
			Kind: ExpireOffer, ConversationID: c.ID, ContactID: c.ContactID, Channel: c.Channel, Queue: c.Queue,
			AgentID: c.AgentID, OfferID: c.OfferID, Timeout: c.OfferTimeout, Version: s.version,
		})
	}
	w = s.overflow.walk()
	for c, ok := w.next(); ok && !overflowAt(c).After(now); c, ok = w.next() {
		c.decideGen = s.gen // leaving: not offered this round
		out = append(out, Decision{
			Kind: Overflow, ConversationID: c.ID, ContactID: c.ContactID, Channel: c.Channel, Queue: c.Queue,
			ToQueue: c.lane.queue.cfg.OverflowQueue, Waited: now.Sub(c.QueuedAt), Version: s.version,
		})
	}
	return s.decideOffers(now, out)
}

// cursor walks one lane's waiting conversations in order during a round.
type cursor struct {
	l     *lane
	w     walk[*Conversation]
	cur   *Conversation
	skips int
}

func (s *State) decideOffers(now time.Time, out []Decision) []Decision {
	cursors := pq[*cursor]{
		less:   func(a, b *cursor) bool { return before(a.cur, b.cur) },
		setPos: func(*cursor, int) {},
	}
	for _, l := range s.lanes {
		if l.queue == nil || l.waiting.Len() == 0 || l.agents.Len() == 0 {
			continue
		}
		q := l.queue
		if q.openGen != s.gen {
			q.openGen, q.open = s.gen, q.isOpen(now)
		}
		if !q.open {
			continue
		}
		k := &cursor{l: l, w: l.waiting.walk()}
		k.cur, _ = k.w.next()
		cursors.push(k)
	}
	if cursors.Len() == 0 {
		return out
	}
	// Agents chosen this round leave every lane's candidates until the
	// round ends; the deferred placement restores them from their state.
	var taken []*Agent
	defer func() {
		for _, a := range taken {
			s.updateAgent(a)
		}
	}()
	advance := func(k *cursor) {
		if next, ok := k.w.next(); ok {
			k.cur = next
			cursors.fix(0)
		} else {
			cursors.remove(0)
		}
	}
	cands := &laneCandidates{s: s, now: now}
	for cursors.Len() > 0 {
		k, _ := cursors.top()
		c := k.cur
		if c.decideGen == s.gen {
			advance(k)
			continue
		}
		if k.l.agents.Len() == 0 {
			cursors.remove(0)
			continue
		}
		cands.c, cands.l, cands.passedOver = c, k.l, false
		a := s.sel.Select(c, cands)
		if a != nil && cands.Lookup(a.ID) == a {
			out = append(out, Decision{
				Kind: Offer, ConversationID: c.ID, ContactID: c.ContactID, Channel: c.Channel, Queue: c.Queue,
				AgentID: a.ID, Timeout: k.l.queue.offerTimeout, Version: s.version,
			})
			for _, l := range a.lanes {
				if i, in := l.pos(a); in {
					l.agents.remove(i)
				}
			}
			taken = append(taken, a)
			k.skips = 0
			advance(k)
			continue
		}
		if cands.passedOver && k.skips < maxLaneSkips {
			k.skips++
			advance(k)
			continue
		}
		cursors.remove(0) // nobody free can take this lane's conversations
	}
	return out
}

// laneCandidates serves a lane's free agents to a Selector for one
// conversation, leaving out those passed over for it.
type laneCandidates struct {
	s   *State
	c   *Conversation
	l   *lane
	now time.Time
	// passedOver records that an exclusion hid a candidate.
	passedOver bool
}

var _ Candidates = (*laneCandidates)(nil)

// Idle walks the lane's candidate heap in order.
func (lc *laneCandidates) Idle() iter.Seq[*Agent] {
	return func(yield func(*Agent) bool) {
		w := lc.l.agents.walk()
		for a, ok := w.next(); ok; a, ok = w.next() {
			if lc.c.Excluded(a.ID, lc.now) {
				lc.passedOver = true
				continue
			}
			if !yield(a) {
				return
			}
		}
	}
}

// Lookup checks membership in the lane's candidates.
func (lc *laneCandidates) Lookup(id string) *Agent {
	a := lc.s.agents[id]
	if a == nil {
		return nil
	}
	if _, in := lc.l.pos(a); !in {
		return nil
	}
	if lc.c.Excluded(id, lc.now) {
		lc.passedOver = true
		return nil
	}
	return a
}

// NextDeadline is the earliest moment after which Decide may decide
// something new without any event arriving: an offer deadline, an overflow
// time, a closed queue with waiting conversations opening, an exclusion
// ending. It is false when nothing is scheduled.
func (s *State) NextDeadline(now time.Time) (time.Time, bool) {
	var best time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if c, ok := s.offers.top(); ok {
		consider(c.OfferDeadline)
	}
	if c, ok := s.overflow.top(); ok {
		consider(overflowAt(c))
	}
	for _, q := range s.queues {
		if q.waiting > 0 && q.cal != nil && !q.isOpen(now) {
			consider(q.nextOpenAfter(now))
		}
	}
	for c := range s.excludedConvs {
		if c.Status != Waiting {
			continue
		}
		for _, until := range c.excluded {
			if until.After(now) {
				consider(until)
			}
		}
	}
	return best, !best.IsZero()
}
