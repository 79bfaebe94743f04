package voice

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
)

// Blind transfer of a bridged call, asked from the inbox or by SIP REFER
// from the agent's phone. Either way the request is conversation.transferred
// (from_agent_id: the agent) on the conversations topic, and routing
// decides: the copy on the routing log is accepted or void depending on
// its position, which every reader of the log computes the same way by
// folding it through routing.State (as the inbox does). The server folds
// the routing log of its numbers' tenants for that, from the start, with
// the static configuration in Config.Routing if any (routers deployed by
// `hotline serve` have none: queues and agents come from the directory
// facts on the same log).
//
// An accepted transfer away from the agent the call is bridged to hangs
// up that agent's phone (BYE), puts the caller back on music and
// publishes call.transferred. To a queue, routing offers the call to the
// next agent as usual (followOffers rings them). To an agent, routing has
// assigned the conversation already: the hub rings that agent's phone
// itself and, if it does not answer, hands the conversation back to the
// queue it came from with another conversation.transferred.
//
// REFER (RFC 3515) in the agent leg's dialog names the target as
// Refer-To: <sip:ID@hub>, where ID is a queue id or an agent id of the
// call's tenant (nothing else: no numbers, no other hosts' users). The hub
// answers 202 Accepted, sends NOTIFY with "SIP/2.0 100 Trying", and once
// routing's verdict is known "SIP/2.0 200 OK" (then the BYE of the
// transfer) or "SIP/2.0 603 Declined". A Refer-To that is not a sip: URI
// gets 400, an unknown id 404, a REFER outside an agent leg's dialog 481.

// transfer is an accepted transfer of a call, as routing folded it.
type transfer struct {
	id                          string // the conversation.transferred event id
	fromAgent, toAgent, toQueue string
	// refer is set when the agent's phone asked by REFER: it hears the
	// outcome before its BYE.
	refer bool
}

// routingView folds the routing log of the server's tenants, so the
// server knows routing's verdict on transfers of its calls.
type routingView struct {
	mu     sync.Mutex
	states map[string]*routing.State // by tenant
	// refers are REFERs waiting for routing's verdict, by the id of the
	// conversation.transferred they published.
	refers map[string]*agentLeg
}

// newRoutingView folds the log of every tenant, with static
// configuration where static has one.
func newRoutingView(tenants map[string]bool, static []routing.TenantConfig) (*routingView, error) {
	v := &routingView{states: map[string]*routing.State{}, refers: map[string]*agentLeg{}}
	for _, t := range static {
		if !tenants[t.ID] {
			continue
		}
		st, err := routing.NewState(t)
		if err != nil {
			return nil, fmt.Errorf("%w: routing tenant %q: %w", ErrConfig, t.ID, err)
		}
		v.states[t.ID] = st
	}
	for id := range tenants {
		if v.states[id] != nil {
			continue
		}
		st, err := routing.NewState(routing.TenantConfig{ID: id})
		if err != nil {
			return nil, fmt.Errorf("%w: routing tenant %q: %w", ErrConfig, id, err)
		}
		v.states[id] = st
	}
	return v, nil
}

// apply folds e and returns routing's verdict, and whether the tenant is
// one the view folds.
func (v *routingView) apply(e *event.Envelope) (error, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.states[e.Tenant]
	if st == nil {
		return nil, false
	}
	return st.Apply(e), true
}

// target says whether id is a queue or an agent of tenant.
func (v *routingView) target(tenant, id string) (queue, agent bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.states[tenant]
	if st == nil {
		return false, false
	}
	cfg := st.Config()
	queue = slices.ContainsFunc(cfg.Queues, func(q routing.QueueConfig) bool { return q.ID == id })
	agent = slices.ContainsFunc(cfg.Agents, func(a routing.AgentConfig) bool { return a.ID == id })
	return queue, agent
}

// takeRefer returns the leg whose REFER published the transfer id, once.
func (v *routingView) takeRefer(id string) *agentLeg {
	v.mu.Lock()
	defer v.mu.Unlock()
	l := v.refers[id]
	delete(v.refers, id)
	return l
}

// foldRouting folds one routing log event for the transfer verdicts; the
// caller (followOffers) reads the log in order.
func (s *Server) foldRouting(d *bus.Delivery) {
	e, err := routing.ReadRoutingDelivery(d)
	if err != nil {
		return
	}
	verdict, ok := s.routes.apply(e)
	if !ok || e.Type != event.ConversationTransferred {
		return
	}
	p, err := e.Decode()
	t, isT := p.(*event.ConversationTransferredData)
	if err != nil || !isT {
		return
	}
	referLeg := s.routes.takeRefer(e.ID)
	if verdict != nil {
		if referLeg != nil {
			referLeg.call.log.Info("REFER refused by routing", "err", verdict)
			go referLeg.notify(sipfrag603, true)
		}
		return
	}
	c := s.callOf(e.Tenant, e.ConversationID)
	var leg *agentLeg
	if c != nil && t.FromAgentID != "" {
		leg = c.bridgedLeg()
	}
	if leg == nil || leg.agentID != t.FromAgentID {
		if leg != nil {
			c.log.Info("transfer not for the agent the call is bridged to", "from_agent_id", t.FromAgentID)
		}
		if referLeg != nil {
			go referLeg.notify(sipfrag200, true)
		}
		return
	}
	// The caller waits for the next agent from now on, so an offer that
	// follows on the log is taken even before the talk has ended.
	c.mu.Lock()
	c.holdDone = false
	c.mu.Unlock()
	c.send(control{kind: ctlTransfer, leg: leg, xfer: &transfer{id: e.ID, fromAgent: t.FromAgentID, toAgent: t.ToAgentID, toQueue: t.ToQueue, refer: referLeg == leg}})
}

// transferAway ends the talk with leg for an accepted transfer: BYE to the
// agent's phone, call.transferred, and, for a transfer to an agent, a
// call to that agent's phone. The caller then waits for the next agent.
func (c *call) transferAway(ctx context.Context, leg *agentLeg, x *transfer) (string, bool) {
	if x.refer {
		leg.notify(sipfrag200, true)
	}
	leg.hangup()
	leg.sess.Close()
	if x.toQueue != "" && x.toAgent == "" {
		c.mu.Lock()
		c.queue = x.toQueue
		c.mu.Unlock()
	}
	d := &event.CallTransferredData{CallID: c.callID, FromAgentID: x.fromAgent, Kind: event.TransferBlind}
	if x.toAgent != "" {
		d.ToAgentID = x.toAgent
	} else {
		d.ToQueue = x.toQueue
	}
	if err := c.publish(ctx, &pending{typ: event.CallTransferred, kind: "transferred-" + x.id, at: c.s.cfg.Now(), data: d}); err != nil {
		c.log.Error("call.transferred not published", "err", err)
	}
	c.log.Info("call transferred", "from_agent_id", x.fromAgent, "to_agent_id", x.toAgent, "to_queue", x.toQueue)
	if x.toAgent != "" {
		c.startRing(ctx, func(rctx context.Context) { c.ringTransferred(rctx, x) })
	}
	return "", true
}

// ringTransferred calls the phone of the agent a transfer assigned the
// conversation to, and hands the answered leg to the call; a phone that
// does not answer sends the conversation back to the call's queue.
func (c *call) ringTransferred(ctx context.Context, x *transfer) {
	log := c.log.With("agent_id", x.toAgent, "transfer_id", x.id)
	c.mu.Lock()
	queue := c.queue
	c.mu.Unlock()
	back := func(reason string) {
		if c.dlg.Context().Err() != nil || ctx.Err() != nil {
			return
		}
		log.Info("transfer target's phone did not take the call; back to the queue", "reason", reason, "queue", queue)
		e, err := c.event(event.ConversationTransferred, "transfer-back-"+x.id,
			&event.ConversationTransferredData{FromAgentID: x.toAgent, ToQueue: queue,
				Note: "the phone of " + x.toAgent + " did not answer: " + reason}, c.s.cfg.Now())
		if err == nil {
			err = c.publishEnvelope(ctx, e)
		}
		if err != nil {
			log.Error("transfer back to the queue not published", "err", err)
		}
	}
	bindings := c.s.Contacts(c.num.cfg.Tenant, x.toAgent)
	if len(bindings) == 0 {
		back("phone not registered")
		return
	}
	leg, reason := c.dialAgent(ctx, bindings[0], x.toAgent, defaultRingTimeout)
	if leg == nil {
		back(reason)
		return
	}
	c.markAnswering(leg)
	// Recorded even if the ringing ends meanwhile, as in ringAgent.
	if err := c.publish(context.WithoutCancel(ctx), &pending{typ: event.CallAnswered, kind: "answered-" + x.id, at: c.s.cfg.Now(),
		data: &event.CallAnsweredData{CallID: c.callID, AgentID: x.toAgent, RingMs: leg.ringMs}}); err != nil {
		log.Error("call.answered not published", "err", err)
	}
	if !c.handOver(leg) {
		c.unmarkAnswering(leg)
		leg.hangup()
		leg.sess.Close()
	}
}

// publishEnvelope publishes an already built event of the call.
func (c *call) publishEnvelope(ctx context.Context, e *event.Envelope) error {
	m, err := event.ToMessage(e)
	if err != nil {
		return fmt.Errorf("voice: encode %s: %w", e.Type, err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultPublishTimeout)
	defer cancel()
	if err := c.s.bus.Publish(pctx, event.TopicConversations, m); err != nil {
		return fmt.Errorf("voice: publish %s: %w", e.Type, err)
	}
	return nil
}

// Message fragments (RFC 3420) NOTIFY carries about a REFER.
const (
	sipfrag100 = "SIP/2.0 100 Trying"
	sipfrag200 = "SIP/2.0 200 OK"
	sipfrag503 = "SIP/2.0 503 Service Unavailable"
	sipfrag603 = "SIP/2.0 603 Declined"
)

// errBadReferTo is a Refer-To that is not a sip: URI naming an id.
var errBadReferTo = errors.New("Refer-To is not <sip:ID@host>")

// referTarget reads the id in Refer-To.
func referTarget(req *sip.Request) (string, error) {
	h := req.GetHeader("Refer-To")
	if h == nil {
		h = req.GetHeader("r")
	}
	if h == nil {
		return "", errBadReferTo
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", errBadReferTo
		}
		v = v[i+1 : i+j]
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil || !strings.EqualFold(u.Scheme, "sip") && !strings.EqualFold(u.Scheme, "sips") || u.User == "" {
		return "", errBadReferTo
	}
	return u.User, nil
}

// handleRefer answers REFER from an agent's phone: a blind transfer of
// its call to a queue or agent of the tenant, asked of routing.
func (s *Server) handleRefer(req *sip.Request, tx sip.ServerTransaction) {
	s.mu.Lock()
	l := s.legs[req.CallID().Value()]
	s.mu.Unlock()
	if _, tagged := req.To().Params.Get("tag"); !tagged || l == nil {
		reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	c := l.call
	if err := l.dlg.ReadRequest(req, tx); err != nil {
		reply(tx, req, sip.StatusInternalServerError, "Server Internal Error (CSeq out of order)", sip.NewHeader("Retry-After", "1"))
		return
	}
	id, err := referTarget(req)
	if err != nil {
		reply(tx, req, sip.StatusBadRequest, "Bad Request ("+err.Error()+")")
		return
	}
	queue, agent := s.routes.target(c.num.cfg.Tenant, id)
	if !queue && !agent {
		reply(tx, req, sip.StatusNotFound, "Not Found (no queue or agent "+id+")")
		return
	}
	if c.bridgedLeg() != l {
		reply(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist (not bridged)")
		return
	}
	d := &event.ConversationTransferredData{FromAgentID: l.agentID}
	if queue {
		d.ToQueue = id
	} else {
		d.ToAgentID = id
	}
	e, err := event.New(event.ConversationTransferred, c.num.cfg.Tenant, d, event.WithConversation(c.convID),
		event.WithChannel(event.ChannelVoice), event.WithSource(defaultSource), event.WithTime(c.s.cfg.Now()),
		event.WithSubject(c.callID))
	if err != nil {
		reply(tx, req, sip.StatusBadRequest, "Bad Request ("+err.Error()+")")
		return
	}
	s.routes.mu.Lock()
	s.routes.refers[e.ID] = l
	s.routes.mu.Unlock()
	reply(tx, req, sip.StatusAccepted, "Accepted")
	c.log.Info("REFER from the agent's phone", "agent_id", l.agentID, "target", id)
	go func() {
		l.notify(sipfrag100, false)
		if err := c.publishEnvelope(context.Background(), e); err != nil {
			c.log.Error("transfer asked by REFER not published", "err", err)
			if s.routes.takeRefer(e.ID) != nil {
				l.notify(sipfrag503, true)
			}
		}
	}()
}

// notify sends the phone a NOTIFY about its REFER with frag (RFC 3515).
func (l *agentLeg) notify(frag string, final bool) {
	if l.dlg.Context().Err() != nil {
		return
	}
	target := l.dlg.InviteRequest.Recipient
	if res := l.dlg.InviteResponse; res != nil && res.Contact() != nil {
		target = res.Contact().Address
	}
	req := sip.NewRequest(sip.NOTIFY, *target.Clone())
	req.AppendHeader(sip.NewHeader("Event", "refer"))
	state := "active;expires=60"
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.SetBody([]byte(frag + "\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.dlg.Do(ctx, req); err != nil {
		l.call.log.Debug("NOTIFY not answered", "frag", frag, "err", err)
	}
}
