package voice

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
	"github.com/hotline-hub/hotline/routing"
)

// agentTestID is the agent whose phone is alice's in testConfig.
const agentTestID = "agent-alice"

// agentHub is a hub whose number queues callers straight into "general"
// (no menus), with a router offering them to agentTestID.
func agentHub(t *testing.T) *hub {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (Debian package sip-tester; deploy/install-test-deps.sh)")
	}
	if _, err := os.Stat(filepath.Join(pcapDir, "g711a.pcap")); err != nil {
		t.Skip("sipp's pcap samples are missing (Debian package sip-tester)")
	}
	cfg := testConfig(t)
	cfg.Numbers[0].Menu.Languages = nil
	cfg.Numbers[0].Menu.Services = nil
	return startHub(t, cfg, nil)
}

// startRouter runs routing in-process on h's bus with one queue and
// agentTestID (voice capacity 1) available, as the inbox makes them.
func startRouter(t *testing.T, h *hub) {
	t.Helper()
	r, err := routing.New(routing.Config{RouterID: "voice-test", Tenants: []routing.TenantConfig{{
		ID:     testTenant,
		Queues: []routing.QueueConfig{{ID: "general", OfferTimeout: 10 * time.Second}},
		Agents: []routing.AgentConfig{{ID: agentTestID, Capacity: map[string]int{event.ChannelVoice: 1}}},
	}}}, h.bus, testLog(t))
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
	e, err := event.New(event.AgentPresenceChanged, testTenant, &event.AgentPresenceChangedData{
		AgentID: agentTestID, Presence: event.PresenceAvailable}, event.WithSource("/test/inbox"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := event.ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.bus.Publish(context.Background(), event.TopicAgents, m); err != nil {
		t.Fatal(err)
	}
}

// routingLog reads the routing topic into memory.
type routingLog struct {
	mu  sync.Mutex
	evs []*event.Envelope
}

func readRouting(t *testing.T, b bus.Subscriber) *routingLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := b.Subscribe(ctx, event.TopicRouting, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	l := &routingLog{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				return
			}
			if e, err := event.FromMessage(&d.Message); err == nil {
				l.mu.Lock()
				l.evs = append(l.evs, e)
				l.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); sub.Close(); <-done })
	return l
}

// wait returns the first event of type typ about conversation conv.
func (l *routingLog) wait(t *testing.T, typ, conv string) *event.Envelope {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, e := range l.evs {
			if e.Type == typ && e.ConversationID == conv {
				l.mu.Unlock()
				return e
			}
		}
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %s for %s on the routing log", typ, conv)
	return nil
}

// sippProcess is one sipp run: the command and its working directory,
// where sipp writes its error log.
type sippProcess struct {
	cmd *exec.Cmd
	dir string
	out strings.Builder
}

// newSipp prepares sipp with scenario from testdata, talking to the hub
// over UDP from 127.0.0.1, for one call.
func newSipp(t *testing.T, h *hub, scenario string, args ...string) *sippProcess {
	t.Helper()
	sf, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	p := &sippProcess{dir: t.TempDir()}
	all := append([]string{h.s.Addr("udp").String(), "-t", "u1", "-sf", sf, "-i", "127.0.0.1", "-m", "1",
		"-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err", "-recv_timeout", "20s"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	p.cmd = exec.CommandContext(ctx, "sipp", all...)
	p.cmd.Dir = p.dir
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	return p
}

// wait waits for sipp to end and returns an error, with its logs, when
// the call failed.
func (p *sippProcess) wait() error {
	err := p.cmd.Wait()
	if err == nil {
		return nil
	}
	var logs []string
	files, _ := filepath.Glob(filepath.Join(p.dir, "*errors.log"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		logs = append(logs, string(b))
	}
	return fmt.Errorf("sipp %s: %w\n%s\n%s", p.cmd.Args, err, tail(p.out.String(), 1500), strings.Join(logs, "\n"))
}

func (p *sippProcess) run() error {
	if err := p.cmd.Start(); err != nil {
		return err
	}
	return p.wait()
}

// registerAgentPhone registers alice's phone from 127.0.0.1:port and
// starts sipp's agent phone scenario on that port.
func registerAgentPhone(t *testing.T, h *hub, scenario string, args ...string) (*sippProcess, int) {
	t.Helper()
	port := freeUDPPort(t)
	reg := newSipp(t, h, "uac_register.xml", "-p", strconv.Itoa(port), "-au", "alice", "-ap", "s3cret",
		"-key", "user", "alice", "-key", "pass", "s3cret", "-key", "expires", "600")
	if err := reg.run(); err != nil {
		t.Fatal(err)
	}
	if bs := h.s.Contacts(testTenant, agentTestID); len(bs) != 1 || bs[0].Contact.Port != port {
		t.Fatalf("alice's bindings = %+v, want one on port %d", bs, port)
	}
	phone := newSipp(t, h, scenario, append([]string{"-p", strconv.Itoa(port), "-mp", strconv.Itoa(freeUDPPort(t))}, args...)...)
	if err := phone.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.cmd.Process.Kill() })
	return phone, port
}

// legWatch notes the media sessions of the first agent leg a call is
// bridged to (talk), and the caller's counters then.
type legWatch struct {
	mu           sync.Mutex
	agentID      string
	caller, leg  *media.Session
	callerAtJoin media.Stats
}

func watchLeg(t *testing.T, h *hub) *legWatch {
	w := &legWatch{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			h.s.mu.Lock()
			calls := make([]*call, 0, len(h.s.calls))
			for _, c := range h.s.calls {
				calls = append(calls, c)
			}
			h.s.mu.Unlock()
			for _, c := range calls {
				if l := c.bridgedLeg(); l != nil {
					w.mu.Lock()
					if w.leg == nil {
						w.agentID, w.caller, w.leg, w.callerAtJoin = l.agentID, c.sess, l.sess, c.sess.Stats()
					}
					w.mu.Unlock()
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// wantMedia fails unless both legs of the bridge w saw carried at
// least n packets each way.
func (w *legWatch) wantMedia(t *testing.T, agentID string, n uint64) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.leg == nil {
		t.Fatal("the call was never bridged to an agent's phone")
	}
	if w.agentID != agentID {
		t.Fatalf("bridged to %s, want %s", w.agentID, agentID)
	}
	ls, cs := w.leg.Stats(), w.caller.Stats()
	t.Logf("agent leg %+v; caller %+v (at the bridge %+v)", ls, cs, w.callerAtJoin)
	if ls.PacketsIn < n || ls.PacketsOut < n {
		t.Errorf("agent leg media = %+v, want > %d packets each way", ls, n)
	}
	if cs.PacketsIn < n || cs.PacketsOut-w.callerAtJoin.PacketsOut < n {
		t.Errorf("caller media = %+v (at the bridge %+v), want the agent's audio forwarded", cs, w.callerAtJoin)
	}
}

// channelEnergy returns the mean absolute sample of each channel of a
// stereo 16-bit WAV file.
func channelEnergy(t *testing.T, path string) (left, right float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := 12
	var data []byte
	for i+8 <= len(b) {
		id, size := string(b[i:i+4]), int(binary.LittleEndian.Uint32(b[i+4:]))
		if id == "data" {
			data = b[i+8 : min(len(b), i+8+size)]
			break
		}
		i += 8 + size + size%2
	}
	if len(data) < 4 {
		t.Fatalf("%s has no audio data", path)
	}
	var sum [2]float64
	n := len(data) / 4
	for f := range n {
		for ch := range 2 {
			v := int16(binary.LittleEndian.Uint16(data[f*4+ch*2:]))
			sum[ch] += max(float64(v), -float64(v))
		}
	}
	return sum[0] / float64(n), sum[1] / float64(n)
}

// A queued caller is offered to alice; the hub calls her registered phone,
// which answers: the offer is accepted, the music stops, the media flows
// both ways through the bridge and is recorded; alice hanging up hangs up
// the caller.
func TestSippAgentPhoneAnswers(t *testing.T) {
	h := agentHub(t)
	rlog := readRouting(t, h.bus)
	phone, _ := registerAgentPhone(t, h, "uas_agent.xml",
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "4000")
	watch := watchLeg(t, h)
	startRouter(t, h)

	caller := newSipp(t, h, "uac_hub_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"))
	if err := caller.run(); err != nil {
		phone.cmd.Process.Kill()
		t.Fatalf("%v\nagent phone: %v", err, phone.wait())
	}
	if err := phone.wait(); err != nil {
		t.Fatalf("agent phone: %v", err)
	}

	started := callStarted(t, h, testCaller)
	conv := started.ConversationID
	offer := rlog.wait(t, event.ConversationOffered, conv)
	if o := decode[*event.ConversationOfferedData](t, offer); o.AgentID != agentTestID {
		t.Fatalf("offered to %q", o.AgentID)
	}
	assigned := h.events.wait(t, event.ConversationAssigned, func(e *event.Envelope) bool { return e.ConversationID == conv })
	if a := decode[*event.ConversationAssignedData](t, assigned); a.AgentID != agentTestID || a.Queue != "general" {
		t.Errorf("conversation.assigned = %+v", a)
	}
	// Routing accepted the assignment.
	rlog.wait(t, event.ConversationAssigned, conv)
	ans := h.events.wait(t, event.CallAnswered, func(e *event.Envelope) bool { return e.ConversationID == conv })
	ad := decode[*event.CallAnsweredData](t, ans)
	if ad.AgentID != agentTestID || ad.CallID != decode[*event.CallStartedData](t, started).CallID || ad.RingMs <= 0 {
		t.Errorf("call.answered = %+v", ad)
	}
	ended := decode[*event.CallEndedData](t, callEnded(t, h, started))
	if ended.Reason != event.EndAgentHangup || ended.DurationMs <= 0 || ended.WaitMs > ended.DurationMs {
		t.Errorf("call.ended = %+v", ended)
	}
	rec := h.events.wait(t, event.CallRecorded, func(e *event.Envelope) bool { return e.ConversationID == conv })
	rd := decode[*event.CallRecordedData](t, rec)
	if rd.Kind != event.RecordingCall || rd.DurationMs <= 0 {
		t.Errorf("call.recorded = %+v", rd)
	}
	left, right := channelEnergy(t, filepath.Join(h.s.cfg.RecordingsDir, rd.Recording.SHA256+".wav"))
	if left < 50 || right < 50 {
		t.Errorf("recording levels: caller %.0f, hub %.0f; want audio in both", left, right)
	}

	t.Logf("recording levels %.0f/%.0f", left, right)
	watch.wantMedia(t, agentTestID, 50) // a second of G.711 at 20 ms
	waitNoAgentLegs(t, h)
}

// waitNoAgentLegs waits until every agent leg is over.
func waitNoAgentLegs(t *testing.T, h *hub) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		h.s.mu.Lock()
		n := len(h.s.legs)
		h.s.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("agent legs still open")
}

// A busy phone (486) declines the offer as the inbox does, and the caller
// stays queued on hold.
func TestSippAgentPhoneBusy(t *testing.T) {
	h := agentHub(t)
	rlog := readRouting(t, h.bus)
	phone, _ := registerAgentPhone(t, h, "uas_agent_busy.xml")
	startRouter(t, h)

	caller := newSipp(t, h, "uac_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "6000")
	if err := caller.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	conv := started.ConversationID
	offer := rlog.wait(t, event.ConversationOffered, conv)
	declined := rlog.wait(t, event.ConversationOfferDeclined, conv)
	dd := decode[*event.ConversationOfferDeclinedData](t, declined)
	if dd.AgentID != agentTestID || dd.OfferID != offer.ID || dd.Queue != "general" {
		t.Errorf("conversation.offer_declined = %+v for offer %s", dd, offer.ID)
	}
	if err := phone.wait(); err != nil {
		t.Fatalf("agent phone: %v", err)
	}
	// The caller is still on hold, in the queue.
	if h.s.callOf(testTenant, conv) == nil {
		t.Fatal("the caller's call ended when the phone was busy")
	}
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
	evs := endedCall(t, h, event.CallStarted, event.CallQueued, event.ConversationQueued,
		event.CallEnded, event.ConversationAbandoned)
	if end := decode[*event.CallEndedData](t, evs[3]); end.Reason != event.EndAbandoned {
		t.Errorf("call.ended = %+v", end)
	}
	waitNoAgentLegs(t, h)
}

// An agent whose phone is not registered declines the offer at once, with
// the reason, and the caller stays on hold.
func TestSippAgentPhoneNotRegistered(t *testing.T) {
	h := agentHub(t)
	rlog := readRouting(t, h.bus)
	startRouter(t, h)
	caller := newSipp(t, h, "uac_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "3000")
	if err := caller.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := callStarted(t, h, testCaller)
	declined := rlog.wait(t, event.ConversationOfferDeclined, started.ConversationID)
	if dd := decode[*event.ConversationOfferDeclinedData](t, declined); dd.AgentID != agentTestID || dd.Reason != "phone not registered" {
		t.Errorf("conversation.offer_declined = %+v", dd)
	}
	if err := caller.wait(); err != nil {
		t.Fatal(err)
	}
	endedCall(t, h, event.CallStarted, event.CallQueued, event.ConversationQueued,
		event.CallEnded, event.ConversationAbandoned)
}

// The caller hanging up while bridged hangs up the agent's phone.
func TestSippAgentCallerHangsUp(t *testing.T) {
	h := agentHub(t)
	phone, _ := registerAgentPhone(t, h, "uas_agent_hub_hangup.xml",
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"))
	startRouter(t, h)
	caller := newSipp(t, h, "uac_hangup.xml", "-s", testNumber, "-mp", strconv.Itoa(freeUDPPort(t)),
		"-key", "audio_pcap", filepath.Join(pcapDir, "g711a.pcap"), "-d", "4000")
	if err := caller.run(); err != nil {
		phone.cmd.Process.Kill()
		t.Fatalf("%v\nagent phone: %v", err, phone.wait())
	}
	if err := phone.wait(); err != nil {
		t.Fatalf("agent phone: %v", err)
	}
	evs := endedCall(t, h, event.CallStarted, event.CallQueued, event.ConversationQueued,
		event.ConversationAssigned, event.CallAnswered, event.CallRecorded, event.CallEnded)
	end := decode[*event.CallEndedData](t, evs[6])
	if end.Reason != event.EndCallerHangup || end.WaitMs > end.DurationMs {
		t.Errorf("call.ended = %+v", end)
	}
	waitNoAgentLegs(t, h)
}
