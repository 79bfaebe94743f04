package voice

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
	"github.com/pion/sdp/v3"
)

// The agent leg: routing offers a queued call to an agent
// (conversation.offered on the routing log); the hub calls the agent's
// registered phone as a back-to-back user agent, with its own media
// session. When the phone answers, the hub accepts the offer for the agent
// (conversation.assigned, as the inbox does), publishes call.answered,
// stops the music and bridges the two sessions. A phone that is not
// registered, busy, refusing or not answering before the offer's timeout
// declines the offer (conversation.offer_declined, as the inbox does), so
// routing offers the call to the next agent while the caller stays on hold.

// defaultRingTimeout is how long an agent's phone rings when the offer
// names no timeout.
const defaultRingTimeout = 30 * time.Second

// dtmfOfferPT is the telephone-event payload type the hub offers agents.
const dtmfOfferPT = 101

// agentLeg is the hub's call to an agent's phone.
type agentLeg struct {
	agentID string
	call    *call
	dlg     *sipgo.DialogClientSession
	sess    *media.Session
	ringMs  int64
	// sdpID is the o= session id of the hub's SDP towards the phone;
	// sdpVersion (guarded by call.mu) counts its versions, one more per
	// re-offer (holdctl.go).
	sdpID      uint64
	sdpVersion uint64
	// held is set while the call is on hold (guarded by call.mu).
	held bool
}

// hangup sends BYE to the agent's phone unless it already hung up.
func (l *agentLeg) hangup() {
	if l.dlg.Context().Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.dlg.Bye(ctx)
}

// followOffers reads the routing log from its start, folding it for
// routing's verdicts on transfers (transfer.go), and rings the agent of
// every offer of a call in progress on this server, until ctx ends.
func (s *Server) followOffers(ctx context.Context, sub bus.Subscriber) error {
	rs, err := sub.Subscribe(ctx, event.TopicRouting, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		return fmt.Errorf("voice: subscribe to %s: %w", event.TopicRouting, err)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer rs.Close()
		for {
			d, err := rs.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Error("routing log not readable; agents are no longer called", "topic", event.TopicRouting, "err", err)
				}
				return
			}
			s.foldRouting(d)
			if typ, _ := d.Header(event.HeaderType); len(typ) > 0 && string(typ) != event.ConversationOffered {
				continue
			}
			e, err := event.FromDelivery(d)
			if err != nil || e.Type != event.ConversationOffered {
				continue
			}
			p, err := e.Decode()
			o, ok := p.(*event.ConversationOfferedData)
			if err != nil || !ok {
				continue
			}
			c := s.callOf(e.Tenant, e.ConversationID)
			if c == nil {
				continue
			}
			// The offer's deadline counts from when routing made it (by
			// routing's clock, the real one). The decoded payload is shared
			// with the process's other readers (event.FromDelivery): the
			// call gets its own copy.
			if o.TimeoutMs > 0 {
				left := time.Until(e.Time.Add(time.Duration(o.TimeoutMs) * time.Millisecond)).Milliseconds()
				oc := *o
				oc.TimeoutMs = min(max(left, 1), o.TimeoutMs)
				o = &oc
			}
			c.startRing(ctx, func(rctx context.Context) { c.ringAgent(rctx, e.ID, o) })
		}
	}()
	return nil
}

// callOf returns the queued call of a conversation, or nil.
func (s *Server) callOf(tenant, convID string) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.convID == convID && c.num.cfg.Tenant == tenant {
			return c
		}
	}
	return nil
}

// agentBye ends an agent leg on the phone's BYE; false when req is not
// about one.
func (s *Server) agentBye(req *sip.Request, tx sip.ServerTransaction) bool {
	s.mu.Lock()
	l := s.legs[req.CallID().Value()]
	s.mu.Unlock()
	if l == nil {
		return false
	}
	if err := l.dlg.ReadBye(req, tx); err != nil {
		reply(tx, req, sip.StatusBadRequest, "Bad Request (BYE "+err.Error()+")")
	}
	return true
}

// ringAgent calls the offered agent's phone and hands the answered leg to
// the call, or declines the offer.
func (c *call) ringAgent(ctx context.Context, offerID string, o *event.ConversationOfferedData) {
	log := c.log.With("agent_id", o.AgentID, "offer_id", offerID)
	decline := func(reason string) {
		if c.dlg.Context().Err() != nil {
			return // the caller left: conversation.abandoned releases the offer
		}
		log.Info("offer declined for the agent's phone", "reason", reason)
		if err := c.publishRouting(ctx, &event.ConversationOfferDeclinedData{
			AgentID: o.AgentID, Queue: o.Queue, OfferID: offerID, Reason: reason}); err != nil {
			log.Error("offer decline not published; routing lets the offer expire", "err", err)
		}
	}
	bindings := c.s.Contacts(c.num.cfg.Tenant, o.AgentID)
	if len(bindings) == 0 {
		decline("phone not registered")
		return
	}
	timeout := defaultRingTimeout
	if o.TimeoutMs > 0 {
		timeout = time.Duration(o.TimeoutMs) * time.Millisecond
	}
	leg, reason := c.dialAgent(ctx, bindings[0], o.AgentID, timeout)
	if leg == nil {
		decline(reason)
		return
	}
	now := c.s.cfg.Now()
	c.mu.Lock()
	queuedAt := c.queuedAt
	c.mu.Unlock()
	var wait int64
	if !queuedAt.IsZero() {
		wait = now.Sub(queuedAt).Milliseconds()
	}
	accepted := &pending{typ: event.ConversationAssigned, kind: "assigned-" + offerID, at: now,
		data: &event.ConversationAssignedData{AgentID: o.AgentID, Queue: o.Queue}}
	answered := &pending{typ: event.CallAnswered, kind: "answered-" + offerID, at: now,
		data: &event.CallAnsweredData{CallID: c.callID, AgentID: o.AgentID, WaitMs: max(wait, 0), RingMs: leg.ringMs}}
	if c.ended.Load() || ctx.Err() != nil {
		leg.hangup()
		leg.sess.Close()
		return
	}
	c.markAnswering(leg)
	// The answer is recorded even if the ringing ends meanwhile (a newer
	// offer, see startRing): readers may see these events before Publish
	// returns, and routing may act on them at once, as a transfer away
	// from this agent does, by offering the call to the next one.
	if err := c.publish(context.WithoutCancel(ctx), accepted, answered); err != nil {
		c.unmarkAnswering(leg)
		log.Error("agent answered but the assignment was not published", "err", err)
		leg.hangup()
		leg.sess.Close()
		decline("assignment not published")
		return
	}
	log.Info("agent answered", "ring_ms", leg.ringMs)
	if !c.handOver(leg) {
		c.unmarkAnswering(leg)
		leg.hangup()
		leg.sess.Close()
	}
}

// startRing runs ring in its own goroutine, ending the ringing of an
// earlier offer or transfer first: routing withdrew that one when it made
// the new one.
func (c *call) startRing(ctx context.Context, ring func(context.Context)) {
	rctx, stop := context.WithCancel(ctx)
	c.mu.Lock()
	if c.stopRing != nil {
		c.stopRing()
	}
	c.stopRing = stop
	c.mu.Unlock()
	c.s.wg.Add(1)
	go func() {
		defer c.s.wg.Done()
		defer stop()
		ring(rctx)
	}()
}

// handOver gives an answered leg to the waiting caller; false when the
// caller is not waiting (talking, gone) or another leg came first.
func (c *call) handOver(leg *agentLeg) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holdDone {
		return false
	}
	select {
	case c.answered <- leg:
		return true
	default:
		return false
	}
}

// dialAgent sends the INVITE to the phone at b and waits for its answer
// until timeout; it returns the established leg, or nil and why not.
func (c *call) dialAgent(ctx context.Context, b Binding, agentID string, timeout time.Duration) (*agentLeg, string) {
	s := c.s
	s.mu.Lock()
	dua := s.dialogs[strings.ToLower(b.Transport)]
	if dua == nil {
		dua = s.dialogs["udp"]
	}
	s.mu.Unlock()
	if dua == nil {
		return nil, "no transport to the phone"
	}
	sess, err := s.ports.Listen()
	if err != nil {
		return nil, "no RTP port: " + err.Error()
	}
	var sid [8]byte
	rand.Read(sid[:])
	sdpID := binary.BigEndian.Uint64(sid[:]) >> 1
	body, err := agentOffer(sess.LocalAddr(), c.codec, sdpID, 1, dirSendRecv)
	if err != nil {
		sess.Close()
		return nil, err.Error()
	}
	ringStart := time.Now()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The caller hanging up while the phone rings cancels the INVITE.
	defer context.AfterFunc(c.dlg.Context(), cancel)()
	recipient := b.Contact.Clone()
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: c.to, Host: dua.ContactHDR.Address.Host}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	if c.from != "anonymous" && c.from != "" && !strings.HasPrefix(c.from, "sip:") {
		from.Address.User = c.from // the agent's phone shows the caller's number
	}
	req := sip.NewRequest(sip.INVITE, *recipient)
	req.SetBody(body)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: *recipient, Params: sip.NewParams()})
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", allowed))
	if t, ok := recipient.UriParams.Get("transport"); ok && t != "" {
		req.SetTransport(strings.ToUpper(t))
	} else if b.Transport != "" {
		req.SetTransport(strings.ToUpper(b.Transport))
	}
	dlg, err := dua.WriteInvite(rctx, req)
	if err != nil {
		sess.Close()
		return nil, "INVITE not sent: " + err.Error()
	}
	s.mu.Lock()
	s.legs[req.CallID().Value()] = &agentLeg{agentID: agentID, call: c, dlg: dlg, sess: sess, sdpID: sdpID, sdpVersion: 1}
	leg := s.legs[req.CallID().Value()]
	s.mu.Unlock()
	fail := func(why string) (*agentLeg, string) {
		s.mu.Lock()
		delete(s.legs, req.CallID().Value())
		s.mu.Unlock()
		sess.Close()
		dlg.Close()
		return nil, why
	}
	if err := dlg.WaitAnswer(rctx, sipgo.AnswerOptions{}); err != nil {
		var rejected *sipgo.ErrDialogResponse
		switch {
		case errors.As(err, &rejected):
			return fail("phone answered " + strconv.Itoa(int(rejected.Res.StatusCode)))
		case rctx.Err() != nil && ctx.Err() == nil && c.dlg.Context().Err() == nil:
			return fail("no answer")
		default:
			return fail("call to the phone failed: " + err.Error())
		}
	}
	leg.ringMs = time.Since(ringStart).Milliseconds()
	o, err := parseOffer(dlg.InviteResponse.Body())
	if err == nil {
		mc := media.PCMU
		if o.codec.name == "PCMA" {
			mc = media.PCMA
		}
		err = sess.Start(o.remote, mc, o.dtmfPT)
	}
	if aerr := dlg.Ack(ctx); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		leg.hangup()
		return fail("phone's answer unusable: " + err.Error())
	}
	context.AfterFunc(dlg.Context(), func() {
		s.mu.Lock()
		delete(s.legs, req.CallID().Value())
		s.mu.Unlock()
		sess.Close()
	})
	return leg, ""
}

// agentOffer is the hub's SDP offer to an agent's phone: the caller's
// codec first, the other G.711 law, and telephone-event, in direction dir
// (sendonly puts the phone on hold), as version of session sessID.
func agentOffer(local *net.UDPAddr, first media.Codec, sessID, version uint64, dir string) ([]byte, error) {
	ip := local.IP.String()
	addrType := "IP4"
	if local.IP.To4() == nil {
		addrType = "IP6"
	}
	formats := []string{"0", "8"}
	if first == media.PCMA {
		formats = []string{"8", "0"}
	}
	md := &sdp.MediaDescription{MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: local.Port},
		Protos: []string{"RTP", "AVP"}, Formats: append(formats, strconv.Itoa(dtmfOfferPT))}}
	md.Attributes = append(md.Attributes,
		sdp.NewAttribute("rtpmap", "0 PCMU/8000"), sdp.NewAttribute("rtpmap", "8 PCMA/8000"),
		sdp.NewAttribute("rtpmap", strconv.Itoa(dtmfOfferPT)+" telephone-event/8000"),
		sdp.NewAttribute("fmtp", strconv.Itoa(dtmfOfferPT)+" 0-16"),
		sdp.NewAttribute("ptime", "20"), sdp.NewPropertyAttribute(dir))
	d := &sdp.SessionDescription{
		Origin: sdp.Origin{Username: "hotline", SessionID: sessID, SessionVersion: version,
			NetworkType: "IN", AddressType: addrType, UnicastAddress: ip},
		SessionName:           "hotline",
		ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType, Address: &sdp.Address{Address: ip}},
		TimeDescriptions:      []sdp.TimeDescription{{}},
		MediaDescriptions:     []*sdp.MediaDescription{md},
	}
	b, err := d.Marshal()
	if err != nil {
		return nil, fmt.Errorf("voice: marshal SDP offer: %w", err)
	}
	return b, nil
}

// publishRouting publishes a routing request about the call on the
// routing log, keyed by tenant as routing requires.
func (c *call) publishRouting(ctx context.Context, p event.Payload) error {
	e, err := event.New(p.EventType(), c.num.cfg.Tenant, p, event.WithConversation(c.convID),
		event.WithChannel(event.ChannelVoice), event.WithSource(defaultSource), event.WithTime(c.s.cfg.Now()),
		event.WithSubject(c.callID))
	if err != nil {
		return fmt.Errorf("voice: build %s: %w", p.EventType(), err)
	}
	m, err := event.RoutingMessage(e)
	if err != nil {
		return fmt.Errorf("voice: encode %s: %w", p.EventType(), err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultPublishTimeout)
	defer cancel()
	if err := c.s.bus.Publish(pctx, event.TopicRouting, m); err != nil {
		return fmt.Errorf("voice: publish %s: %w", p.EventType(), err)
	}
	return nil
}

// hold records the queued caller and waits for an agent's phone to
// answer (waitAgent), then bridges the caller to it (talk, holdctl.go)
// until either side hangs up; a transfer ends the talk and the caller
// waits for the next agent. It returns the call.ended reason.
func (c *call) hold(ctx context.Context) string {
	tmp := filepath.Join(c.s.cfg.RecordingsDir, "tmp-call-"+c.convID+".wav")
	rec, err := c.sess.StartRecording(tmp)
	if err != nil {
		c.log.Error("call not recorded", "err", err)
		rec = nil
	}
	recStart := c.s.cfg.Now()
	talked := false
	if rec != nil {
		// A caller nobody answered left only hold music: no recording.
		defer func() { c.finishRecording(rec, tmp, recStart, talked) }()
	}
	for {
		leg := c.waitAgent(ctx)
		if leg == nil {
			return event.EndAbandoned
		}
		if !talked {
			c.answeredAt = c.s.cfg.Now()
			talked = true
		}
		reason, again := c.talk(ctx, leg)
		if !again {
			return reason
		}
	}
}

// waitAgent plays the waiting music until an agent's phone answers
// (ringAgent hands the leg over) and returns the leg, or nil once ctx
// ends. It is the one place where the caller waits for an agent.
func (c *call) waitAgent(ctx context.Context) *agentLeg {
	c.mu.Lock()
	c.holdDone = false
	c.mu.Unlock()
	music, stopMusic := context.WithCancel(ctx)
	played := make(chan struct{})
	go func() {
		defer close(played)
		if err := c.playWaiting(music); err != nil && music.Err() == nil {
			c.log.Warn("music on hold failed", "err", err)
		}
	}()
	var leg *agentLeg
	select {
	case <-ctx.Done():
	case leg = <-c.answered:
	}
	stopMusic()
	<-played
	c.mu.Lock()
	c.holdDone = true
	if leg == nil {
		select {
		case leg = <-c.answered: // answered as the caller left
		default:
		}
		if leg != nil && ctx.Err() != nil {
			leg.hangup()
			leg.sess.Close()
			leg = nil
		}
	}
	c.mu.Unlock()
	return leg
}

// finishRecording stops the call's recording and, when keep, stores it
// and publishes call.recorded; otherwise it deletes it.
func (c *call) finishRecording(rec *media.Recorder, tmp string, start time.Time, keep bool) {
	dur, _, err := rec.Stop()
	if !keep {
		os.Remove(tmp)
		return
	}
	if err != nil {
		c.log.Error("call recording not finalized", "err", err)
		os.Remove(tmp)
		return
	}
	ref, err := storeRecording(c.s.cfg.RecordingsDir, tmp)
	if err != nil {
		c.log.Error("call recording not stored", "err", err)
		return
	}
	ref.Name = "call.wav"
	c.publishLate(&pending{typ: event.CallRecorded, kind: "recording", at: start, data: &event.CallRecordedData{
		CallID: c.callID, Recording: ref, Kind: event.RecordingCall, DurationMs: dur.Milliseconds()}})
}
