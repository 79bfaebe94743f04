package voice

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
)

// Hold and resume while a caller talks to an agent. Either side of the
// agent leg can ask:
//   - the agent's phone, with a re-INVITE whose offer stops sending
//     towards it (a=sendonly or inactive, or the old c=0.0.0.0): the hub
//     answers with the matching direction and a later sendrecv offer
//     resumes;
//   - the inbox, with call.hold_requested on the conversations topic
//     (the inbox has checked that the agent of the call, a supervisor or
//     an admin asked): the hub sends the phone a re-INVITE with
//     a=sendonly, so it shows the hold, and sendrecv to resume.
//
// On hold the bridge stops and the caller hears music on hold; call.held
// and call.resumed (with the hold's length) tell the bus, and call.ended
// carries the sum of the holds. Only the call's goroutine changes the
// media: the SIP handlers and the bus follower send it a control.

// control is a request to a call's goroutine while it talks to an agent.
type control struct {
	kind controlKind
	// leg is the agent leg the request is about; a request about an
	// earlier leg (a phone already transferred away) is dropped.
	leg *agentLeg
	// source is event.HoldFromInbox or event.HoldFromPhone.
	source string
	// xfer is the accepted transfer (ctlTransfer, transfer.go).
	xfer *transfer
}

type controlKind int

const (
	ctlHold controlKind = iota + 1
	ctlResume
	ctlTransfer
)

func (k controlKind) String() string {
	switch k {
	case ctlHold:
		return "hold"
	case ctlResume:
		return "resume"
	case ctlTransfer:
		return "transfer"
	}
	return "control(" + strconv.Itoa(int(k)) + ")"
}

// talkTotals is what call.ended reports about the talk with agents.
type talkTotals struct {
	agentID string    // the last agent bridged
	start   time.Time // the first bridge
	holdMs  int64     // the holds, summed
	holds   int       // how many holds, for the events' ids
}

// fill writes the talk's totals into d, a call.ended at now, keeping the
// parts within the whole as the event requires.
func (t *talkTotals) fill(d *event.CallEndedData, now time.Time) {
	if t.start.IsZero() {
		return
	}
	d.AgentID = t.agentID
	d.TalkMs = min(max(now.Sub(t.start).Milliseconds(), 0), d.DurationMs-d.WaitMs)
	d.TalkMs = max(d.TalkMs, 0)
	d.HoldMs = min(t.holdMs, d.TalkMs)
}

// send hands req to the call's goroutine; false when it cannot take more.
func (c *call) send(req control) bool {
	select {
	case c.ctl <- req:
		return true
	default:
		c.log.Warn("call control dropped: too many pending", "control", req.kind)
		return false
	}
}

// bridgedLeg returns the agent leg the call talks to, or else the one
// whose answer is being published (a control about it waits in c.ctl for
// the talk), or nil.
func (c *call) bridgedLeg() *agentLeg {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leg != nil {
		return c.leg
	}
	return c.answering
}

func (c *call) setLeg(l *agentLeg) {
	c.mu.Lock()
	c.leg = l
	if l != nil && c.answering == l {
		c.answering = nil
	}
	c.mu.Unlock()
}

// markAnswering marks l as the leg whose answer is being published.
func (c *call) markAnswering(l *agentLeg) {
	c.mu.Lock()
	c.answering = l
	c.mu.Unlock()
}

// unmarkAnswering drops the mark of l, whose answer failed, unless another
// leg was marked since.
func (c *call) unmarkAnswering(l *agentLeg) {
	c.mu.Lock()
	if c.answering == l {
		c.answering = nil
	}
	c.mu.Unlock()
}

// talk bridges the caller to leg until either side hangs up (returning
// the call.ended reason) or a transfer takes the call from the agent
// (again: the caller waits for the next agent). A hold stops the bridge
// and plays music on hold to the caller until resumed.
func (c *call) talk(ctx context.Context, leg *agentLeg) (reason string, again bool) {
	if c.totals.start.IsZero() {
		c.totals.start = c.answeredAt
	}
	c.totals.agentID = leg.agentID
	c.setLeg(leg)
	defer c.setLeg(nil)
	defer leg.sess.Close()
	defer leg.hangup()
	for {
		bctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- media.Bridge(bctx, c.sess, leg.sess) }()
		var req control
		select {
		case err := <-done:
			stop()
			return c.talkEnded(ctx, leg, err), false
		case req = <-c.ctl:
			stop()
			<-done
		}
		switch {
		case req.leg != leg:
			c.log.Info("call control about an earlier agent leg ignored", "control", req.kind)
		case req.kind == ctlResume:
			c.log.Info("resume ignored: the call is not on hold", "source", req.source)
		case req.kind == ctlTransfer:
			return c.transferAway(ctx, leg, req.xfer)
		case req.kind == ctlHold:
			if reason, end, again := c.onHold(ctx, leg, req.source); end {
				return reason, again
			}
		}
	}
}

// talkEnded is the call.ended reason once the bridge with leg ended with
// err.
func (c *call) talkEnded(ctx context.Context, leg *agentLeg, err error) string {
	if err == nil && leg.dlg.Context().Err() != nil && ctx.Err() == nil {
		return event.EndAgentHangup
	}
	if ctx.Err() == nil {
		c.log.Warn("bridge ended", "err", err)
		return event.EndFailed
	}
	return event.EndCallerHangup
}

// onHold holds the call (music to the caller, the agent's leg silent)
// until a resume, returning end=false to bridge again; or until the call
// ends or is transferred (end=true, with talk's results).
func (c *call) onHold(ctx context.Context, leg *agentLeg, source string) (reason string, end, again bool) {
	heldAt := c.s.cfg.Now()
	c.mu.Lock()
	leg.held = true
	c.mu.Unlock()
	c.totals.holds++
	n := strconv.Itoa(c.totals.holds)
	legID := leg.dlg.InviteRequest.CallID().Value()
	if err := c.publish(ctx, &pending{typ: event.CallHeld, kind: "held-" + legID + "-" + n, at: heldAt,
		data: &event.CallHeldData{CallID: c.callID, AgentID: leg.agentID, Source: source}}); err != nil {
		c.log.Error("call.held not published", "err", err)
	}
	c.log.Info("call on hold", "agent_id", leg.agentID, "source", source)
	music, stopMusic := context.WithCancel(ctx)
	played := make(chan struct{})
	go func() {
		defer close(played)
		if err := c.sess.PlayLoop(music, c.s.prompts.hold); err != nil && music.Err() == nil {
			c.log.Warn("music on hold failed", "err", err)
		}
	}()
	if source == event.HoldFromInbox {
		if err := leg.reoffer(ctx, dirSendOnly); err != nil {
			c.log.Warn("agent's phone not told of the hold", "err", err)
		}
	}
	unhold := func() int64 {
		stopMusic()
		<-played
		c.mu.Lock()
		leg.held = false
		c.mu.Unlock()
		ms := max(c.s.cfg.Now().Sub(heldAt).Milliseconds(), 0)
		c.totals.holdMs += ms
		return ms
	}
	for {
		select {
		case <-ctx.Done():
			unhold()
			return event.EndCallerHangup, true, false
		case <-leg.sess.Done():
			unhold()
			return c.talkEnded(ctx, leg, nil), true, false
		case req := <-c.ctl:
			switch {
			case req.leg != leg:
				c.log.Info("call control about an earlier agent leg ignored", "control", req.kind)
			case req.kind == ctlHold:
				c.log.Info("hold ignored: the call is already on hold", "source", req.source)
			case req.kind == ctlTransfer:
				unhold()
				reason, again := c.transferAway(ctx, leg, req.xfer)
				return reason, true, again
			case req.kind == ctlResume:
				ms := unhold()
				if req.source == event.HoldFromInbox {
					if err := leg.reoffer(ctx, dirSendRecv); err != nil {
						c.log.Warn("agent's phone not told of the resume", "err", err)
					}
				}
				if err := c.publish(ctx, &pending{typ: event.CallResumed, kind: "resumed-" + legID + "-" + n, at: c.s.cfg.Now(),
					data: &event.CallResumedData{CallID: c.callID, AgentID: leg.agentID, Source: req.source, HoldMs: ms}}); err != nil {
					c.log.Error("call.resumed not published", "err", err)
				}
				c.log.Info("call resumed", "agent_id", leg.agentID, "source", req.source, "hold_ms", ms)
				return "", false, false
			}
		}
	}
}

// reoffer sends the phone a re-INVITE with the leg's media in direction
// dir, and follows the phone's answer if it moves its media.
func (l *agentLeg) reoffer(ctx context.Context, dir string) error {
	c := l.call
	c.mu.Lock()
	l.sdpVersion++
	version := l.sdpVersion
	c.mu.Unlock()
	body, err := agentOffer(l.sess.LocalAddr(), c.codec, l.sdpID, version, dir)
	if err != nil {
		return err
	}
	target := l.dlg.InviteRequest.Recipient
	if res := l.dlg.InviteResponse; res != nil && res.Contact() != nil {
		target = res.Contact().Address
	}
	req := sip.NewRequest(sip.INVITE, *target.Clone())
	req.SetBody(body)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	res, err := l.dlg.Do(rctx, req)
	if err != nil {
		return fmt.Errorf("voice: re-INVITE to the phone: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("voice: re-INVITE to the phone: %d %s", res.StatusCode, res.Reason)
	}
	ack := sip.NewRequest(sip.ACK, *req.Recipient.Clone())
	if err := l.dlg.WriteRequest(ack); err != nil {
		return fmt.Errorf("voice: ACK of the re-INVITE: %w", err)
	}
	if o, err := parseOffer(res.Body()); err == nil && !o.remote.IP.IsUnspecified() {
		mc := media.PCMU
		if o.codec.name == "PCMA" {
			mc = media.PCMA
		}
		if err := l.sess.Start(o.remote, mc, o.dtmfPT); err != nil {
			return fmt.Errorf("voice: phone's answer to the re-INVITE: %w", err)
		}
	}
	return nil
}

// retarget points sess at o's address when a re-offer moves the media;
// an offer putting the stream on hold with c=0.0.0.0 keeps the last one.
func retarget(sess *media.Session, cur, o *offer, mc media.Codec) error {
	if o.remote.IP.IsUnspecified() ||
		o.remote.IP.Equal(cur.remote.IP) && o.remote.Port == cur.remote.Port && o.dtmfPT == cur.dtmfPT {
		return nil
	}
	return sess.Start(o.remote, mc, o.dtmfPT)
}

// legReinvite answers a re-INVITE from an agent's phone: the leg's media
// again, in the direction answering the phone's, following a moved media
// address, and holds or resumes the call when the phone's direction says
// so. False when req is not about an agent leg.
func (s *Server) legReinvite(req *sip.Request, tx sip.ServerTransaction) bool {
	s.mu.Lock()
	l := s.legs[req.CallID().Value()]
	s.mu.Unlock()
	if l == nil {
		return false
	}
	c := l.call
	if err := l.dlg.ReadRequest(req, tx); err != nil {
		reply(tx, req, sip.StatusInternalServerError, "Server Internal Error (CSeq out of order)", sip.NewHeader("Retry-After", "1"))
		return true
	}
	c.mu.Lock()
	l.sdpVersion++
	version := l.sdpVersion
	held := l.held
	c.mu.Unlock()
	var body []byte
	dir := dirSendRecv
	if len(req.Body()) > 0 {
		o := readOffer(req, tx)
		if o == nil {
			return true
		}
		mc := media.PCMU
		if o.codec.name == "PCMA" {
			mc = media.PCMA
		}
		if !o.remote.IP.IsUnspecified() {
			if err := l.sess.Start(o.remote, mc, o.dtmfPT); err != nil {
				c.log.Warn("agent phone's media not moved", "to", o.remote, "err", err)
				reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
				return true
			}
		}
		dir = o.direction
		b, err := answer(o, l.sess.LocalAddr(), l.sdpID, version)
		if err != nil {
			reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
			return true
		}
		body = b
	} else {
		// Offerless re-INVITE: the hub offers the leg's media as it is.
		hubDir := dirSendRecv
		if held {
			hubDir = dirSendOnly
		}
		b, err := agentOffer(l.sess.LocalAddr(), c.codec, l.sdpID, version, hubDir)
		if err != nil {
			reply(tx, req, sip.StatusInternalServerError, "Server Internal Error")
			return true
		}
		body = b
		dir = ""
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	res.AppendHeader(s.contactFor(req))
	respond(tx, res)
	switch {
	case dir == "":
	case dir != dirSendRecv && !held:
		c.send(control{kind: ctlHold, leg: l, source: event.HoldFromPhone})
	case dir == dirSendRecv && held:
		c.send(control{kind: ctlResume, leg: l, source: event.HoldFromPhone})
	}
	return true
}

// followControl reads the conversations topic from its end and passes
// call.hold_requested of the calls on this server, from the agent each is
// bridged to, to the call, until ctx ends.
func (s *Server) followControl(ctx context.Context, sub bus.Subscriber) error {
	cs, err := sub.Subscribe(ctx, event.TopicConversations, bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		return fmt.Errorf("voice: subscribe to %s: %w", event.TopicConversations, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cs.Close()
		for {
			d, err := cs.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("conversations log not readable; hold requests are no longer followed",
						"topic", event.TopicConversations, "err", err)
				}
				return
			}
			if typ, _ := d.Header(event.HeaderType); len(typ) > 0 && string(typ) != event.CallHoldRequested {
				continue
			}
			e, err := event.FromDelivery(d)
			if err != nil || e.Type != event.CallHoldRequested {
				continue
			}
			p, err := e.Decode()
			r, ok := p.(*event.CallHoldRequestedData)
			if err != nil || !ok {
				continue
			}
			s.holdRequested(e, r)
		}
	}()
	return nil
}

// holdRequested passes a hold request from the inbox to its call.
func (s *Server) holdRequested(e *event.Envelope, r *event.CallHoldRequestedData) {
	c := s.callOf(e.Tenant, e.ConversationID)
	if c == nil || c.callID != r.CallID {
		return // another server's call, or one that ended
	}
	log := c.log.With("by", r.By, "hold", r.Hold, "request_id", e.ID)
	leg := c.bridgedLeg()
	switch {
	case leg == nil:
		log.Info("hold request ignored: the call is not bridged to an agent")
	// Who may ask (the call's agent, a supervisor, an admin) is the
	// inbox's to check, as for transfers: the request is on the bus only
	// once it has.
	case r.Hold:
		c.send(control{kind: ctlHold, leg: leg, source: event.HoldFromInbox})
	default:
		c.send(control{kind: ctlResume, leg: leg, source: event.HoldFromInbox})
	}
}

// lateAnswer takes the caller's SDP answer from the ACK of a call
// answered with the hub's offer and starts the media with it; false when
// the ACK carried no usable answer (the call then fails).
func (c *call) lateAnswer(sess *media.Session) bool {
	var body []byte
	select {
	case body = <-c.ack:
	default:
	}
	o, err := parseOffer(body)
	mc := media.PCMU
	if err == nil && o.codec.name == "PCMA" {
		mc = media.PCMA
	}
	if err == nil {
		err = sess.Start(o.remote, mc, o.dtmfPT)
	}
	if err != nil {
		c.log.Warn("the ACK carries no usable SDP answer to the hub's offer", "err", err)
		return false
	}
	c.mu.Lock()
	c.offer, c.codec = o, mc
	c.mu.Unlock()
	return true
}
