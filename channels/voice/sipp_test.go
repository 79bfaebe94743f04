package voice

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
)

const pcapDir = "/usr/share/sip-tester"

func needPcaps(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pcapDir, "dtmf_2833_1.pcap")); err != nil {
		t.Skip("sipp's pcap samples are missing (Debian package sip-tester)")
	}
}

// testCaller is the caller of sipp's scenarios, but for the menu's.
const testCaller = "+33622222222"

// callerAudio is the keys of a scenario in which the caller sends sipp's
// G.711 A-law sample, and the further key-value pairs kv.
func callerAudio(kv ...string) map[string]string {
	keys := map[string]string{"audio_pcap": filepath.Join(pcapDir, "g711a.pcap")}
	for i := 0; i+1 < len(kv); i += 2 {
		keys[kv[i]] = kv[i+1]
	}
	return keys
}

// mustSipp runs a scenario as sipp does, and fails the test if the call
// failed.
func mustSipp(t *testing.T, h *hub, scenario, service string, keys map[string]string) {
	t.Helper()
	if err := sipp(t, h, scenario, service, keys); err != nil {
		t.Fatal(err)
	}
}

// callStarted returns the call.started of the call from caller from.
func callStarted(t *testing.T, h *hub, from string) *event.Envelope {
	t.Helper()
	return h.events.wait(t, event.CallStarted, func(e *event.Envelope) bool {
		return decode[*event.CallStartedData](t, e).From == from
	})
}

// callEnded waits for the call.ended of the call that started.
func callEnded(t *testing.T, h *hub, started *event.Envelope) *event.Envelope {
	t.Helper()
	return h.events.wait(t, event.CallEnded, func(e *event.Envelope) bool { return e.ConversationID == started.ConversationID })
}

// endedCall waits until testCaller's call has ended and returns the
// events of its conversation, failing the test unless they are of the
// types want, in this order.
func endedCall(t *testing.T, h *hub, want ...string) []*event.Envelope {
	t.Helper()
	started := callStarted(t, h, testCaller)
	callEnded(t, h, started)
	evs := h.events.all(started.ConversationID)
	if got := typesOf(evs); !sameTypes(got, want...) {
		t.Fatalf("events = %v", got)
	}
	return evs
}

func typesOf(evs []*event.Envelope) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func sameTypes(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A caller picks English (2) then billing (1) with RFC 2833 DTMF played
// from sipp's pcaps, is queued for routing, and hangs up while waiting.
func TestSippMenuSelectionByDTMF(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	cfg.Numbers[0].Menu.InputTimeout = 3 * time.Second
	h := startHub(t, cfg, nil)
	mustSipp(t, h, "uac_menu.xml", testNumber, map[string]string{
		"lang_pcap":    filepath.Join(pcapDir, "dtmf_2833_2.pcap"),
		"service_pcap": filepath.Join(pcapDir, "dtmf_2833_1.pcap"),
		"hold_ms":      "2500",
	})
	started := callStarted(t, h, "+33611111111")
	sd := decode[*event.CallStartedData](t, started)
	if sd.To != testNumber || sd.Direction != event.DirectionInbound || started.Tenant != testTenant || started.Channel != event.ChannelVoice {
		t.Errorf("call.started = %+v in %s/%s", sd, started.Tenant, started.Channel)
	}
	h.events.wait(t, event.ConversationAbandoned, func(e *event.Envelope) bool { return e.ConversationID == started.ConversationID })
	evs := h.events.all(started.ConversationID)
	got := typesOf(evs)
	if !sameTypes(got, event.CallStarted, event.CallMenuSelected, event.CallMenuSelected, event.CallQueued,
		event.ConversationQueued, event.CallEnded, event.ConversationAbandoned) {
		t.Fatalf("events = %v", got)
	}
	lang := decode[*event.CallMenuSelectedData](t, evs[1])
	if lang.Menu != MenuLanguage || lang.Selection != "2" || lang.Language != "en" || lang.CallID != sd.CallID {
		t.Errorf("language selection = %+v", lang)
	}
	svc := decode[*event.CallMenuSelectedData](t, evs[2])
	if svc.Menu != MenuService || svc.Selection != "1" {
		t.Errorf("service selection = %+v", svc)
	}
	if q := decode[*event.CallQueuedData](t, evs[3]); q.Queue != "billing" {
		t.Errorf("call.queued = %+v", q)
	}
	cq := decode[*event.ConversationQueuedData](t, evs[4])
	if cq.Queue != "billing" || cq.Language != "en" || evs[4].Channel != event.ChannelVoice || evs[4].ContactID != "+33611111111" {
		t.Errorf("conversation.queued = %+v channel %q contact %q", cq, evs[4].Channel, evs[4].ContactID)
	}
	end := decode[*event.CallEndedData](t, evs[5])
	ab := decode[*event.ConversationAbandonedData](t, evs[6])
	if end.Reason != event.EndAbandoned || end.WaitMs <= 0 || end.DurationMs < end.WaitMs {
		t.Errorf("call.ended = %+v", end)
	}
	if ab.Queue != "billing" || ab.Reason != event.AbandonCustomerLeft || ab.WaitMs != end.WaitMs {
		t.Errorf("conversation.abandoned = %+v", ab)
	}
}

// Without any key the menus repeat, then take the default route; the
// caller abandons in the default queue.
func TestSippNoInputTakesDefaultRouteAndAbandons(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	cfg.Numbers[0].Menu.InputTimeout = 300 * time.Millisecond
	h := startHub(t, cfg, nil)
	mustSipp(t, h, "uac_hangup.xml", testNumber, callerAudio("hold_ms", "5000"))
	evs := endedCall(t, h, event.CallStarted, event.CallQueued, event.ConversationQueued,
		event.CallEnded, event.ConversationAbandoned)
	if cq := decode[*event.ConversationQueuedData](t, evs[2]); cq.Queue != "general" || cq.Language != "fr" {
		t.Errorf("conversation.queued = %+v, want the default route", cq)
	}
	if ab := decode[*event.ConversationAbandonedData](t, evs[4]); ab.Queue != "general" {
		t.Errorf("conversation.abandoned = %+v", ab)
	}
}

// A caller hanging up in the menu ends the call cleanly, not queued.
func TestSippHangupInMenu(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	h := startHub(t, cfg, nil)
	mustSipp(t, h, "uac_hangup.xml", testNumber, callerAudio("hold_ms", "300"))
	evs := endedCall(t, h, event.CallStarted, event.CallEnded)
	if end := decode[*event.CallEndedData](t, evs[1]); end.Reason != event.EndAbandoned || end.WaitMs != 0 {
		t.Errorf("call.ended = %+v", end)
	}
	// The media port is free again once the call is over.
	waitNoCalls(t, h)
}

func waitNoCalls(t *testing.T, h *hub) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		h.s.mu.Lock()
		n := len(h.s.calls)
		h.s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls still tracked", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Out of hours: the closed announcement, then a voicemail of the caller's
// audio until the maximum length, when the hub hangs up.
func TestSippClosedVoicemail(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	cfg.MaxVoicemail = 3 * time.Second
	h := startHub(t, cfg, nil)
	mustSipp(t, h, "uac_hub_hangup.xml", testClosed, callerAudio())
	evs := endedCall(t, h, event.CallStarted, event.CallRecorded, event.ConversationQueued, event.CallEnded)
	rec := decode[*event.CallRecordedData](t, evs[1])
	if rec.Kind != event.RecordingVoicemail || rec.Recording.ContentType != "audio/wav" || rec.DurationMs <= 0 {
		t.Errorf("call.recorded = %+v", rec)
	}
	path := filepath.Join(cfg.RecordingsDir, rec.Recording.SHA256+".wav")
	st, err := os.Stat(path)
	if err != nil || st.Size() != rec.Recording.Size {
		t.Fatalf("recording %s: %v (size %v, event says %d)", path, err, st, rec.Recording.Size)
	}
	info, err := media.AnalyzeWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	// Left is what the caller sent (sipp's g711a.pcap), right the beep.
	if info.Channels != 2 || info.RMS[0] < 100 || info.RMS[1] < 10 {
		t.Errorf("recording = %+v, want the caller's audio on the left and the beep on the right", info)
	}
	if cq := decode[*event.ConversationQueuedData](t, evs[2]); cq.Queue != "general" || cq.Language != "en" {
		t.Errorf("conversation.queued = %+v, want the voicemail queued in the default queue", cq)
	}
	if end := decode[*event.CallEndedData](t, evs[3]); end.Reason != event.EndVoicemail {
		t.Errorf("call.ended = %+v", end)
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.RecordingsDir, "tmp-*")); len(left) > 0 {
		t.Errorf("temporary recordings left: %v", left)
	}
}

func TestSippUnknownNumber(t *testing.T) {
	h := startHub(t, testConfig(t), nil)
	mustSipp(t, h, "uac_404.xml", "+33999999999", nil)
	if got := h.events.types(); got != "" {
		t.Errorf("an unknown number published %s", got)
	}
}

func TestSippUnsupportedCodec(t *testing.T) {
	h := startHub(t, testConfig(t), nil)
	mustSipp(t, h, "uac_488.xml", testNumber, nil)
	if got := h.events.types(); got != "" {
		t.Errorf("a refused call published %s", got)
	}
}

// slowStart makes call.started durable, then holds the answer for a
// while, so a CANCEL arrives between the event and the 200 OK.
type slowStart struct {
	bus.Bus
	delay time.Duration
}

func (s slowStart) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	if err := s.Bus.Publish(ctx, topic, msgs...); err != nil {
		return err
	}
	for _, m := range msgs {
		if typ, _ := m.Header(event.HeaderType); string(typ) == event.CallStarted {
			time.Sleep(s.delay)
		}
	}
	return nil
}

func TestSippCancelBeforeAnswer(t *testing.T) {
	h := startHub(t, testConfig(t), func(b bus.Bus) bus.Publisher { return slowStart{b, 1500 * time.Millisecond} })
	mustSipp(t, h, "uac_cancel.xml", testNumber, nil)
	evs := endedCall(t, h, event.CallStarted, event.CallEnded)
	if end := decode[*event.CallEndedData](t, evs[1]); end.Reason != event.EndAbandoned {
		t.Errorf("call.ended = %+v", end)
	}
	waitNoCalls(t, h)
}

// Session timers: Session-Expires honoured in the 200, a re-INVITE keeps
// the media port, an UPDATE refreshes.
func TestSippSessionRefresh(t *testing.T) {
	h := startHub(t, testConfig(t), nil)
	mustSipp(t, h, "uac_refresh.xml", testNumber, nil)
	end := callEnded(t, h, callStarted(t, h, testCaller))
	if d := decode[*event.CallEndedData](t, end); d.Reason != event.EndAbandoned {
		t.Errorf("call.ended = %+v", d)
	}
}

// A flood cannot starve a call in progress: with every setup slot taken,
// a new INVITE gets 503 + Retry-After while the answered call goes on.
func TestSippSetupLimit(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	cfg.MaxCallsInSetup = 1
	h := startHub(t, cfg, nil)
	inProgress := make(chan error, 1)
	go func() {
		inProgress <- sipp(t, h, "uac_hangup.xml", testNumber, callerAudio("hold_ms", "3000"))
	}()
	started := callStarted(t, h, testCaller)
	h.s.setup <- struct{}{} // the flood holds the only slot
	mustSipp(t, h, "uac_503.xml", testNumber, nil)
	<-h.s.setup
	if err := <-inProgress; err != nil {
		t.Fatalf("the call in progress failed: %v", err)
	}
	callEnded(t, h, started)
	n := 0
	h.events.mu.Lock()
	for _, e := range h.events.events {
		if e.Type == event.CallStarted {
			n++
		}
	}
	h.events.mu.Unlock()
	if n != 1 {
		t.Errorf("%d calls started, want only the one in progress", n)
	}
}

func TestSippCallOverTCP(t *testing.T) {
	needPcaps(t)
	h := startHub(t, testConfig(t), nil)
	if err := sippOver(t, h, "tcp", "uac_hangup.xml", testNumber, callerAudio("hold_ms", "500")); err != nil {
		t.Fatal(err)
	}
	callEnded(t, h, callStarted(t, h, testCaller))
}

func TestSippRegister(t *testing.T) {
	h := startHub(t, testConfig(t), nil)
	// One phone: every REGISTER comes from the same contact, so Expires: 0
	// names the binding made before.
	port := strconv.Itoa(freeUDPPort(t))
	reg := func(scenario, user, pass, expires string) {
		t.Helper()
		mustSipp(t, h, scenario, "", map[string]string{"user": user, "pass": pass, "expires": expires, "local_port": port})
	}
	reg("uac_register.xml", "alice", "s3cret", "600")
	bs := h.s.Contacts(testTenant, "agent-alice")
	if len(bs) != 1 || bs[0].Contact.User != "alice" || bs[0].Contact.Host != "127.0.0.1" || bs[0].User != "alice" {
		t.Fatalf("alice's bindings = %+v", bs)
	}
	if left := bs[0].Expires.Sub(h.s.cfg.Now()); left > 601*time.Second || left < 500*time.Second {
		t.Errorf("binding expires in %s, asked 600s", left)
	}
	// bob's password is configured as HA1 only.
	reg("uac_register.xml", "bob", "hunter2", "120")
	if bs := h.s.Contacts(testTenant, "agent-bob"); len(bs) != 1 {
		t.Fatalf("bob's bindings = %+v", bs)
	}
	reg("uac_register_bad.xml", "alice", "wrong", "600")
	reg("uac_register_bad.xml", "mallory", "x", "600")
	reg("uac_register.xml", "alice", "s3cret", "0")
	if bs := h.s.Contacts(testTenant, "agent-alice"); len(bs) != 0 {
		t.Fatalf("alice still bound after Expires: 0: %+v", bs)
	}
	if bs := h.s.Contacts(testTenant, "agent-bob"); len(bs) != 1 {
		t.Fatalf("bob's binding lost: %+v", bs)
	}
}

// A caller who stops refreshing its session is hung up when the session
// timer runs out.
func TestSippSessionTimerExpires(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	cfg.MinSE = time.Second
	h := startHub(t, cfg, nil)
	mustSipp(t, h, "uac_timer_expires.xml", testNumber, callerAudio())
	end := callEnded(t, h, callStarted(t, h, testCaller))
	if d := decode[*event.CallEndedData](t, end); d.Reason != event.EndFailed {
		t.Errorf("call.ended = %+v", d)
	}
}

// Stopping the server hangs up the calls in progress, each with its
// call.ended, before Run returns.
func TestShutdownHangsUpCalls(t *testing.T) {
	needPcaps(t)
	h := startHub(t, testConfig(t), nil)
	done := make(chan error, 1)
	go func() {
		done <- sipp(t, h, "uac_hub_hangup.xml", testNumber, callerAudio())
	}()
	started := callStarted(t, h, testCaller)
	// Stop once the caller's audio flows: sipp takes a BYE as unexpected
	// before its own scenario reached the waiting step.
	deadline := time.Now().Add(waitLimit)
	for !callHasMedia(h) {
		if time.Now().After(deadline) {
			t.Fatal("no media from the caller")
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.stop()
	if err := <-done; err != nil {
		t.Fatalf("the caller saw no BYE: %v", err)
	}
	end := callEnded(t, h, started)
	if d := decode[*event.CallEndedData](t, end); d.Reason != event.EndFailed {
		t.Errorf("call.ended = %+v", d)
	}
}

func callHasMedia(h *hub) bool {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	for _, c := range h.s.calls {
		if c.sess != nil && c.sess.Stats().PacketsIn > 0 {
			return true
		}
	}
	return false
}
