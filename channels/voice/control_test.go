package voice

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
)

// controlRouting is the routing configuration of the call control tests:
// one queue whose offers time out after offerTimeout, and alice and bob.
func controlRouting(offerTimeout time.Duration) []routing.TenantConfig {
	return []routing.TenantConfig{{
		ID:     testTenant,
		Queues: []routing.QueueConfig{{ID: "general", OfferTimeout: offerTimeout}, {ID: "billing", OfferTimeout: offerTimeout}},
		Agents: []routing.AgentConfig{
			{ID: agentTestID, Capacity: map[string]int{event.ChannelVoice: 1}},
			{ID: "agent-bob", Capacity: map[string]int{event.ChannelVoice: 1}},
		},
	}}
}

// controlHub is agentHub whose server also folds the routing log of
// tenants (for transfers).
func controlHub(t *testing.T, tenants []routing.TenantConfig, wrap func(bus.Bus) bus.Publisher) *hub {
	t.Helper()
	h := agentHub(t)
	h.stop()
	cfg := h.s.cfg
	cfg.Routing = tenants
	return startHub(t, cfg, wrap)
}

// runRouter runs routing with tenants on h's bus and makes agents
// available, in that order (the first has been idle longest).
func runRouter(t *testing.T, h *hub, tenants []routing.TenantConfig, agents ...string) {
	t.Helper()
	r, err := routing.New(routing.Config{RouterID: "voice-control-test", Tenants: tenants}, h.bus, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("router: %v", err)
		}
	})
	for _, a := range agents {
		publishTest(t, h, event.TopicAgents, event.AgentPresenceChanged, "",
			&event.AgentPresenceChangedData{AgentID: a, Presence: event.PresenceAvailable})
	}
}

// publishTest publishes an event as the inbox would.
func publishTest(t *testing.T, h *hub, topic, typ, conv string, p event.Payload) *event.Envelope {
	t.Helper()
	opts := []event.Option{event.WithSource("/test/inbox")}
	if conv != "" {
		opts = append(opts, event.WithConversation(conv), event.WithChannel(event.ChannelVoice))
	}
	e, err := event.New(typ, testTenant, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := event.ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.bus.Publish(context.Background(), topic, m); err != nil {
		t.Fatal(err)
	}
	return e
}

// registerPhone registers user's phone and starts sipp's phone scenario
// on the same port.
func registerPhone(t *testing.T, h *hub, user, pass, agentID, scenario string, args ...string) *sippProcess {
	t.Helper()
	port := freeUDPPort(t)
	reg := newSipp(t, h, "uac_register.xml", "-p", strconv.Itoa(port), "-au", user, "-ap", pass,
		"-key", "user", user, "-key", "pass", pass, "-key", "expires", "600")
	if err := reg.run(); err != nil {
		t.Fatal(err)
	}
	if bs := h.s.Contacts(testTenant, agentID); len(bs) != 1 || bs[0].Contact.Port != port {
		t.Fatalf("%s's bindings = %+v, want one on port %d", agentID, bs, port)
	}
	phone := newSipp(t, h, scenario, append([]string{"-p", strconv.Itoa(port), "-mp", strconv.Itoa(freeUDPPort(t))}, args...)...)
	if err := phone.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.cmd.Process.Kill() })
	return phone
}

// all returns the routing log's events about conversation conv so far.
func (l *routingLog) all(conv string) []*event.Envelope {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*event.Envelope
	for _, e := range l.evs {
		if e.ConversationID == conv {
			out = append(out, e)
		}
	}
	return out
}

func ofConv(conv string) func(*event.Envelope) bool {
	return func(e *event.Envelope) bool { return e.ConversationID == conv }
}

// The agent's phone never answers: once the offer's timeout passes the
// hub CANCELs the INVITE and declines the offer; the caller stays on
// music in the queue.
func TestSippAgentPhoneNoAnswer(t *testing.T) {
	testPhoneRefuses(t, "uas_agent_noanswer.xml", "no answer")
}

// The agent's phone answers 603 Decline: the offer is declined at once.
func TestSippAgentPhoneDeclines(t *testing.T) {
	testPhoneRefuses(t, "uas_agent_decline.xml", "phone answered 603")
}

func testPhoneRefuses(t *testing.T, scenario, reason string) {
	h := agentHub(t)
	rlog := readRouting(t, h.bus)
	phone := registerPhone(t, h, "alice", "s3cret", agentTestID, scenario)
	runRouter(t, h, controlRouting(2*time.Second), agentTestID)
	caller := newSipp(t, h, "uac_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "8000")
	if err := caller.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	conv := started.ConversationID
	offer := rlog.wait(t, event.ConversationOffered, conv)
	declined := rlog.wait(t, event.ConversationOfferDeclined, conv)
	dd := decode[*event.ConversationOfferDeclinedData](t, declined)
	if dd.AgentID != agentTestID || dd.OfferID != offer.ID || dd.Reason != reason {
		t.Errorf("conversation.offer_declined = %+v for offer %s, want reason %q", dd, offer.ID, reason)
	}
	if err := phone.wait(); err != nil {
		t.Fatalf("agent phone: %v", err)
	}
	if h.s.callOf(testTenant, conv) == nil {
		t.Fatal("the caller's call ended when the phone did not take it")
	}
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
	evs := h.events.all(conv)
	end := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if end.Reason != event.EndAbandoned || end.TalkMs != 0 {
		t.Errorf("call.ended = %+v", end)
	}
	for _, e := range evs {
		if e.Type == event.CallAnswered || e.Type == event.ConversationAssigned {
			t.Errorf("unexpected %s", e.Type)
		}
	}
	waitNoAgentLegs(t, h)
}

// Two agents: alice's phone does not answer, so the offer moves to bob,
// whose phone answers and is bridged, with media both ways.
func TestSippOfferMovesToNextAgent(t *testing.T) {
	h := agentHub(t)
	rlog := readRouting(t, h.bus)
	alice := registerPhone(t, h, "alice", "s3cret", agentTestID, "uas_agent_noanswer.xml")
	bob := registerPhone(t, h, "bob", "hunter2", "agent-bob", "uas_agent.xml",
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "3000")
	watch := watchLeg(t, h)
	runRouter(t, h, controlRouting(2*time.Second), agentTestID, "agent-bob")
	caller := newSipp(t, h, "uac_hub_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"))
	if err := caller.run(); err != nil {
		t.Fatalf("%v\nbob: %v", err, bob.wait())
	}
	if err := alice.wait(); err != nil {
		t.Fatalf("alice's phone: %v", err)
	}
	if err := bob.wait(); err != nil {
		t.Fatalf("bob's phone: %v", err)
	}
	started := callStarted(t, h, testCaller)
	conv := started.ConversationID
	dd := decode[*event.ConversationOfferDeclinedData](t, rlog.wait(t, event.ConversationOfferDeclined, conv))
	if dd.AgentID != agentTestID {
		t.Errorf("declined by %s, want alice", dd.AgentID)
	}
	ans := decode[*event.CallAnsweredData](t, h.events.wait(t, event.CallAnswered, ofConv(conv)))
	if ans.AgentID != "agent-bob" {
		t.Errorf("call.answered = %+v, want bob", ans)
	}
	end := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if end.Reason != event.EndAgentHangup || end.AgentID != "agent-bob" || end.TalkMs <= 0 {
		t.Errorf("call.ended = %+v", end)
	}
	watch.wantMedia(t, "agent-bob", 50)
	waitNoAgentLegs(t, h)
}

// The agent's phone holds (re-INVITE a=sendonly, answered recvonly) and
// resumes (sendrecv): call.held and call.resumed from the phone, and the
// hold's length in call.ended.
func TestSippAgentPhoneHoldsAndResumes(t *testing.T) {
	h := agentHub(t)
	phone := registerPhone(t, h, "alice", "s3cret", agentTestID, "uas_agent_hold.xml",
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "2000")
	watch := watchLeg(t, h)
	runRouter(t, h, controlRouting(10*time.Second), agentTestID)
	caller := newSipp(t, h, "uac_hub_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"))
	if err := caller.run(); err != nil {
		t.Fatalf("%v\nagent phone: %v", err, phone.wait())
	}
	if err := phone.wait(); err != nil {
		t.Fatalf("agent phone: %v", err)
	}
	started := callStarted(t, h, testCaller)
	conv := started.ConversationID
	held := decode[*event.CallHeldData](t, h.events.wait(t, event.CallHeld, ofConv(conv)))
	if held.Source != event.HoldFromPhone || held.AgentID != agentTestID {
		t.Errorf("call.held = %+v", held)
	}
	resumed := decode[*event.CallResumedData](t, h.events.wait(t, event.CallResumed, ofConv(conv)))
	if resumed.Source != event.HoldFromPhone || resumed.HoldMs <= 0 {
		t.Errorf("call.resumed = %+v", resumed)
	}
	end := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if end.Reason != event.EndAgentHangup || end.HoldMs != resumed.HoldMs || end.TalkMs < end.HoldMs {
		t.Errorf("call.ended = %+v after a hold of %d ms", end, resumed.HoldMs)
	}
	watch.wantMedia(t, agentTestID, 50)
}

// A hold request from the inbox puts the call on hold: the phone gets a
// re-INVITE with a=sendonly, call.held says so; the resume request sends
// sendrecv and call.resumed follows. A supervisor's request counts like
// the agent's (the inbox checks who may ask); one about another call is
// ignored.
func TestInboxHoldRequest(t *testing.T) {
	h := agentHub(t)
	phone := registerPhone(t, h, "alice", "s3cret", agentTestID, "uas_agent_held.xml",
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "1500")
	runRouter(t, h, controlRouting(10*time.Second), agentTestID)
	caller := newSipp(t, h, "uac_hub_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"))
	if err := caller.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	conv := started.ConversationID
	callID := decode[*event.CallStartedData](t, started).CallID
	h.events.wait(t, event.CallAnswered, ofConv(conv))
	// Not this call: ignored.
	publishTest(t, h, event.TopicConversations, event.CallHoldRequested, conv,
		&event.CallHoldRequestedData{CallID: "another-call", Hold: true, By: agentTestID})
	publishTest(t, h, event.TopicConversations, event.CallHoldRequested, conv,
		&event.CallHoldRequestedData{CallID: callID, Hold: true, By: "supervisor-1"})
	held := decode[*event.CallHeldData](t, h.events.wait(t, event.CallHeld, ofConv(conv)))
	if held.Source != event.HoldFromInbox || held.AgentID != agentTestID {
		t.Errorf("call.held = %+v", held)
	}
	publishTest(t, h, event.TopicConversations, event.CallHoldRequested, conv,
		&event.CallHoldRequestedData{CallID: callID, Hold: false, By: agentTestID})
	resumed := decode[*event.CallResumedData](t, h.events.wait(t, event.CallResumed, ofConv(conv)))
	if resumed.Source != event.HoldFromInbox || resumed.HoldMs < 0 {
		t.Errorf("call.resumed = %+v", resumed)
	}
	if err := phone.wait(); err != nil {
		caller.cmd.Process.Kill()
		t.Fatalf("agent phone: %v", err)
	}
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
	end := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if end.Reason != event.EndAgentHangup || end.HoldMs != resumed.HoldMs {
		t.Errorf("call.ended = %+v after a hold of %d ms", end, resumed.HoldMs)
	}
	n := 0
	for _, e := range h.events.all(conv) {
		if e.Type == event.CallHeld {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d call.held events, want 1 (the other call's request ignored)", n)
	}
}

// A late offer: the INVITE has no SDP, the hub offers in its 200 OK and
// takes the caller's answer from the ACK; the menu's prompts then reach
// the caller.
func TestSippLateOffer(t *testing.T) {
	h := startHub(t, testConfig(t), nil)
	if err := sipp(t, h, "uac_late_offer.xml", testNumber, map[string]string{"hold_ms": "1500", "audio_pcap": filepath.Join(pcapDir, "g711a.pcap")}); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	end := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if end.Reason != event.EndAbandoned {
		t.Errorf("call.ended = %+v, want the caller leaving in the menu", end)
	}
}

// A late offer whose ACK carries no answer: the hub hangs up and the call
// ends failed.
func TestSippLateOfferWithoutAnswer(t *testing.T) {
	h := startHub(t, testConfig(t), nil)
	if err := sipp(t, h, "uac_late_offer_noanswer.xml", testNumber, nil); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	end := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if end.Reason != event.EndFailed {
		t.Errorf("call.ended = %+v, want failed", end)
	}
}

// transferSetup is a call bridged to alice on a hub following routing's
// verdicts, with bob's phone registered to take the call next.
func transferSetup(t *testing.T, aliceScenario string, aliceArgs ...string) (h *hub, rlog *routingLog, alice, bob *sippProcess, caller *sippProcess, conv, callID string) {
	t.Helper()
	return transferSetupWith(t, nil, aliceScenario, aliceArgs...)
}

// transferSetupWith is transferSetup with the hub's publisher wrapped.
func transferSetupWith(t *testing.T, wrap func(bus.Bus) bus.Publisher, aliceScenario string, aliceArgs ...string) (h *hub, rlog *routingLog, alice, bob *sippProcess, caller *sippProcess, conv, callID string) {
	t.Helper()
	tenants := controlRouting(10 * time.Second)
	h = controlHub(t, tenants, wrap)
	rlog = readRouting(t, h.bus)
	alice = registerPhone(t, h, "alice", "s3cret", agentTestID, aliceScenario,
		append([]string{"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap")}, aliceArgs...)...)
	bob = registerPhone(t, h, "bob", "hunter2", "agent-bob", "uas_agent.xml",
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "2000")
	runRouter(t, h, tenants, agentTestID, "agent-bob")
	caller = newSipp(t, h, "uac_hub_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"))
	if err := caller.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	conv = started.ConversationID
	callID = decode[*event.CallStartedData](t, started).CallID
	ans := decode[*event.CallAnsweredData](t, h.events.wait(t, event.CallAnswered, ofConv(conv)))
	if ans.AgentID != agentTestID {
		t.Fatalf("first answered by %s, want alice", ans.AgentID)
	}
	return h, rlog, alice, bob, caller, conv, callID
}

// transferDone waits for the three sipp runs and checks the events of a
// call transferred from alice to bob.
func transferDone(t *testing.T, h *hub, alice, bob, caller *sippProcess, conv string, want event.CallTransferredData) {
	t.Helper()
	if err := alice.wait(); err != nil {
		t.Errorf("alice's phone: %v", err)
	}
	if err := bob.wait(); err != nil {
		t.Errorf("bob's phone: %v", err)
	}
	if err := caller.wait(); err != nil {
		t.Fatalf("caller: %v", err)
	}
	tr := decode[*event.CallTransferredData](t, h.events.wait(t, event.CallTransferred, ofConv(conv)))
	if tr.Kind != event.TransferBlind || tr.FromAgentID != want.FromAgentID || tr.ToAgentID != want.ToAgentID || tr.ToQueue != want.ToQueue {
		t.Errorf("call.transferred = %+v, want %+v", tr, want)
	}
	ans := decode[*event.CallAnsweredData](t, h.events.wait(t, event.CallAnswered, func(e *event.Envelope) bool {
		return e.ConversationID == conv && decode[*event.CallAnsweredData](t, e).AgentID == "agent-bob"
	}))
	if ans.RingMs <= 0 {
		t.Errorf("bob's call.answered = %+v", ans)
	}
	var started *event.Envelope
	for _, e := range h.events.all(conv) {
		if e.Type == event.CallStarted {
			started = e
		}
	}
	end := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if end.Reason != event.EndAgentHangup || end.AgentID != "agent-bob" {
		t.Errorf("call.ended = %+v, want bob hanging up", end)
	}
	waitNoAgentLegs(t, h)
}

// A transfer from the inbox to a queue, accepted by routing: the hub hangs
// up alice's phone, the caller waits again and routing's next offer
// rings bob, who takes the call.
func TestInboxTransferToQueue(t *testing.T) {
	h, rlog, alice, bob, caller, conv, _ := transferSetup(t, "uas_agent_hub_hangup.xml")
	req := publishTest(t, h, event.TopicConversations, event.ConversationTransferred, conv,
		&event.ConversationTransferredData{FromAgentID: agentTestID, ToQueue: "billing", Note: "billing question"})
	rlog.wait(t, event.ConversationTransferred, conv)
	transferDone(t, h, alice, bob, caller, conv, event.CallTransferredData{FromAgentID: agentTestID, ToQueue: "billing"})
	offers := 0
	for _, e := range rlog.all(conv) {
		if e.Type == event.ConversationOffered && decode[*event.ConversationOfferedData](t, e).AgentID == "agent-bob" {
			offers++
		}
	}
	if offers != 1 {
		t.Errorf("%d offers to bob after transfer %s, want 1", offers, req.ID)
	}
}

// heldAnswer acknowledges the first conversation.assigned only after hold,
// once it is on the bus: readers see an answer before its publisher hears
// it is durable, as with the embedded bus, whose acknowledgement waits
// for the disk. A publisher that gives up meanwhile gets its context's
// error.
type heldAnswer struct {
	bus.Bus
	hold time.Duration
	once *sync.Once
}

func (h heldAnswer) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	if err := h.Bus.Publish(ctx, topic, msgs...); err != nil {
		return err
	}
	for _, m := range msgs {
		if typ, _ := m.Header(event.HeaderType); string(typ) == event.ConversationAssigned {
			var ctxErr error
			h.once.Do(func() {
				select {
				case <-time.After(h.hold):
				case <-ctx.Done():
					ctxErr = ctx.Err()
				}
			})
			return ctxErr
		}
	}
	return nil
}

// A transfer decided while alice's answer is on the bus but not yet
// acknowledged: routing's next offer ends the ringing of alice's, and her
// answer must still reach the caller, so that the transfer moves the call
// on from her with call.transferred.
func TestInboxTransferToQueueBeforeAnswerAcked(t *testing.T) {
	hold := func(b bus.Bus) bus.Publisher {
		return heldAnswer{Bus: b, hold: 100 * time.Millisecond, once: new(sync.Once)}
	}
	h, rlog, alice, bob, caller, conv, _ := transferSetupWith(t, hold, "uas_agent_hub_hangup.xml")
	publishTest(t, h, event.TopicConversations, event.ConversationTransferred, conv,
		&event.ConversationTransferredData{FromAgentID: agentTestID, ToQueue: "billing"})
	rlog.wait(t, event.ConversationTransferred, conv)
	transferDone(t, h, alice, bob, caller, conv, event.CallTransferredData{FromAgentID: agentTestID, ToQueue: "billing"})
}

// A transfer from the inbox to an agent: routing assigns bob at once, the
// hub rings bob's phone itself.
func TestInboxTransferToAgent(t *testing.T) {
	h, _, alice, bob, caller, conv, _ := transferSetup(t, "uas_agent_hub_hangup.xml")
	publishTest(t, h, event.TopicConversations, event.ConversationTransferred, conv,
		&event.ConversationTransferredData{FromAgentID: agentTestID, ToAgentID: "agent-bob"})
	transferDone(t, h, alice, bob, caller, conv, event.CallTransferredData{FromAgentID: agentTestID, ToAgentID: "agent-bob"})
}

// Alice's phone transfers with REFER: an unknown target gets 404, the
// queue 202 with NOTIFYs of the outcome, then the BYE; bob takes the call.
func TestSippReferToQueue(t *testing.T) {
	h, rlog, alice, bob, caller, conv, _ := transferSetup(t, "uas_agent_refer.xml", "-d", "1000", "-key", "target", "billing")
	tr := decode[*event.ConversationTransferredData](t, rlog.wait(t, event.ConversationTransferred, conv))
	if tr.FromAgentID != agentTestID || tr.ToQueue != "billing" {
		t.Errorf("conversation.transferred = %+v", tr)
	}
	transferDone(t, h, alice, bob, caller, conv, event.CallTransferredData{FromAgentID: agentTestID, ToQueue: "billing"})
}

// A re-INVITE from the caller that moves its RTP port: the hub answers
// and sends the call's audio (the menu prompts) to the new port.
func TestSippReinviteMovesMedia(t *testing.T) {
	h := startHub(t, testConfig(t), nil)
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	var mu sync.Mutex
	rtpPackets := 0
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := peer.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 {
				mu.Lock()
				rtpPackets++
				mu.Unlock()
			}
		}
	}()
	port := strconv.Itoa(peer.LocalAddr().(*net.UDPAddr).Port)
	if err := sipp(t, h, "uac_reinvite_move.xml", testNumber, map[string]string{"new_port": port, "hold_ms": "3000"}); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	callEnded(t, h, started)
	mu.Lock()
	defer mu.Unlock()
	if rtpPackets < 10 {
		t.Errorf("%d RTP packets at the new address, want the menu's audio", rtpPackets)
	}
}

// The direction of an offer, and the one the hub answers with: holding
// phones send sendonly, inactive or the old c=0.0.0.0.
func TestOfferDirection(t *testing.T) {
	base := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n%sm=audio 30000 RTP/AVP 8\r\n%s"
	for _, tc := range []struct {
		name, addr, session, media string
		want, answer               string
	}{
		{"none", "127.0.0.1", "", "", dirSendRecv, dirSendRecv},
		{"sendonly", "127.0.0.1", "", "a=sendonly\r\n", dirSendOnly, dirRecvOnly},
		{"inactive", "127.0.0.1", "", "a=inactive\r\n", dirInactive, dirInactive},
		{"recvonly", "127.0.0.1", "", "a=recvonly\r\n", dirRecvOnly, dirSendOnly},
		{"session level", "127.0.0.1", "a=sendonly\r\n", "", dirSendOnly, dirRecvOnly},
		{"media level wins", "127.0.0.1", "a=sendonly\r\n", "a=sendrecv\r\n", dirSendRecv, dirSendRecv},
		{"RFC 2543 hold", "0.0.0.0", "", "", dirSendOnly, dirRecvOnly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sdp := replaceN(base, tc.addr, tc.session, tc.media)
			o, err := parseOffer([]byte(sdp))
			if err != nil {
				t.Fatal(err)
			}
			if o.direction != tc.want {
				t.Errorf("direction %q, want %q", o.direction, tc.want)
			}
			b, err := answer(o, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "a="+tc.answer+"\r\n") {
				t.Errorf("answer %q, want a=%s", b, tc.answer)
			}
		})
	}
}

// replaceN fills the %s of format in order.
func replaceN(format string, args ...string) string {
	for _, a := range args {
		format = strings.Replace(format, "%s", a, 1)
	}
	return format
}

// Refer-To must be a sip: URI naming an id.
func TestReferTarget(t *testing.T) {
	for _, tc := range []struct {
		value, want string
		ok          bool
	}{
		{"<sip:billing@127.0.0.1:5060>", "billing", true},
		{"sip:agent-bob@hub.example", "agent-bob", true},
		{"\"Bob\" <sip:agent-bob@hub.example;transport=udp>", "agent-bob", true},
		{"<sip:127.0.0.1>", "", false},
		{"<tel:+33100000001>", "", false},
		{"<sip:billing@127.0.0.1", "", false},
		{"", "", false},
	} {
		req := sip.NewRequest(sip.REFER, sip.Uri{Scheme: "sip", Host: "127.0.0.1"})
		if tc.value != "" {
			req.AppendHeader(sip.NewHeader("Refer-To", tc.value))
		}
		got, err := referTarget(req)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Refer-To %q: %q, %v; want %q (ok %v)", tc.value, got, err, tc.want, tc.ok)
		}
	}
}
