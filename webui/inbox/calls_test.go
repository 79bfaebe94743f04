package inbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/auth"
)

// callEnv is the test hub of startEnv with a second inbox that serves
// recordings from a directory of the test's and answers hold requests
// after waitTimeout; users are re-pointed at it.
type callEnv struct {
	*env
	users map[string]*user
	dir   string
}

func startCallEnv(t *testing.T, waitTimeout time.Duration) *callEnv {
	t.Helper()
	e, u := startEnv(t)
	dir := t.TempDir()
	in, err := New(Config{Routing: e.rcfg, ReaderID: "calls", RecordingsDir: dir, WaitTimeout: waitTimeout}, e.bus, e.auth, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := in.Run(ctx); err != nil && !errors.Is(err, bus.ErrClosed) {
			t.Errorf("inbox Run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	mux := http.NewServeMux()
	e.auth.Routes(mux)
	in.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ce := *e
	ce.srv, ce.inbox = srv, in
	users := map[string]*user{}
	for k, v := range u {
		cp := *v
		cp.e = &ce
		users[k] = &cp
	}
	waitFor(t, "the calls inbox caught up", func() bool { return in.Synced("acme") && in.Synced("other") })
	// agent1 and agent2 take calls too (the directory overlays the
	// static profiles).
	ce.publishDirectory("acme",
		&event.AgentProfileSetData{AgentID: users["agent1"].id, Capacity: map[string]int{event.ChannelChat: 3, event.ChannelVoice: 1}},
		&event.AgentProfileSetData{AgentID: users["agent2"].id, Capacity: map[string]int{event.ChannelChat: 3, event.ChannelVoice: 1}},
	)
	for _, a := range []*user{users["agent1"], users["agent2"]} {
		waitFor(t, a.login+" takes calls", func() bool {
			var me meView
			if err := json.Unmarshal(a.must(200, "GET", a.path("me"), nil).body, &me); err != nil {
				t.Fatal(err)
			}
			return me.Capacity[event.ChannelVoice].Capacity == 1
		})
	}
	return &callEnv{env: &ce, users: users, dir: dir}
}

// voiceEvent builds an event of call callID in conversation conv as the
// voice channel does (channel voice, the caller's number as contact).
func voiceEvent(t *testing.T, tenant, conv, contact string, p event.Payload, at time.Time) *event.Envelope {
	t.Helper()
	opts := []event.Option{event.WithConversation(conv), event.WithChannel(event.ChannelVoice),
		event.WithSource("/channels/voice"), event.WithTime(at)}
	if contact != "" {
		opts = append(opts, event.WithContact(contact))
	}
	e, err := event.New(p.EventType(), tenant, p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// publishVoice publishes ps, in order and in one call, on the
// conversations topic.
func (e *env) publishVoice(tenant, conv, contact string, ps ...event.Payload) {
	e.t.Helper()
	var msgs []bus.Message
	now := time.Now().UTC()
	for n, p := range ps {
		m, err := event.ToMessage(voiceEvent(e.t, tenant, conv, contact, p, now.Add(time.Duration(n)*time.Millisecond)))
		if err != nil {
			e.t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := e.bus.Publish(context.Background(), event.TopicConversations, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

// fakeHolds is the voice channel's side of hold and resume: it answers
// every call.hold_requested with call.held or call.resumed, unless muted.
type fakeHolds struct {
	mu       sync.Mutex
	muted    bool
	requests []event.CallHoldRequestedData
	release  chan struct{} // closed when unmuted: answers what came while muted
}

func (e *env) fakeVoice(t *testing.T) *fakeHolds {
	t.Helper()
	f := &fakeHolds{}
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := e.bus.Subscribe(ctx, event.TopicConversations, bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); _ = sub.Close(); <-done })
	go func() {
		defer close(done)
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				return
			}
			ev, err := event.FromMessage(&d.Message)
			if err != nil || ev.Type != event.CallHoldRequested {
				continue
			}
			p, err := ev.Decode()
			if err != nil {
				continue
			}
			req := *p.(*event.CallHoldRequestedData)
			f.mu.Lock()
			f.requests = append(f.requests, req)
			release := f.release
			muted := f.muted
			f.mu.Unlock()
			if muted {
				select {
				case <-release:
				case <-ctx.Done():
					return
				}
			}
			var out event.Payload = &event.CallHeldData{CallID: req.CallID, AgentID: req.By, Source: event.HoldFromInbox}
			if !req.Hold {
				out = &event.CallResumedData{CallID: req.CallID, AgentID: req.By, Source: event.HoldFromInbox, HoldMs: 1500}
			}
			m, err := event.ToMessage(voiceEvent(t, ev.Tenant, ev.ConversationID, ev.ContactID, out, time.Now().UTC()))
			if err == nil {
				err = e.bus.Publish(ctx, event.TopicConversations, m)
			}
			if err != nil && ctx.Err() == nil {
				t.Errorf("fake voice: %v", err)
			}
		}
	}()
	return f
}

func (f *fakeHolds) mute() {
	f.mu.Lock()
	f.muted, f.release = true, make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeHolds) unmute() {
	f.mu.Lock()
	f.muted = false
	close(f.release)
	f.mu.Unlock()
}

func (f *fakeHolds) seen() []event.CallHoldRequestedData {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// startCall publishes what the voice channel publishes when a caller
// reaches a queue: call.started, a menu choice, call.queued and
// conversation.queued.
func (e *env) startCall(conv, callID, from, queue string) {
	e.t.Helper()
	e.publishVoice("acme", conv, from,
		&event.CallStartedData{CallID: callID, Direction: event.DirectionInbound, From: from, To: "+33100000000"},
		&event.CallMenuSelectedData{CallID: callID, Menu: "language", Selection: "2", Language: "en"},
		&event.CallQueuedData{CallID: callID, Queue: queue},
		&event.ConversationQueuedData{Queue: queue, Language: "en"},
	)
}

// answer publishes what the voice channel publishes when agent's phone
// picks up: the offer accepted, then call.answered.
func (e *env) answer(conv, callID, from, queue, agent string) {
	e.t.Helper()
	e.publishVoice("acme", conv, from,
		&event.ConversationAssignedData{AgentID: agent, Queue: queue},
		&event.CallAnsweredData{CallID: callID, AgentID: agent, WaitMs: 1200, RingMs: 800},
	)
}

func callState(d Detail) string {
	if d.Call == nil {
		return ""
	}
	return d.Call.State
}

func logKinds(d Detail) []string {
	var out []string
	for _, en := range d.CallLog {
		out = append(out, en.Kind)
	}
	return out
}

// TestCallJourney follows one call through the inbox: the caller in the
// queue, the agent's phone ringing (the offer) with the caller's number
// and dossier, answered, held and resumed from the inbox, transferred and
// ended, each step folded into the conversation's call and call log and
// pushed on the agent's socket.
func TestCallJourney(t *testing.T) {
	ce := startCallEnv(t, waitLimit)
	a1, a2, sup, analyst, o1 := ce.users["agent1"], ce.users["agent2"], ce.users["super"], ce.users["analyst"], ce.users["o1"]
	voice := ce.fakeVoice(t)
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	sock := a1.dial()

	const conv, callID, caller = "call-1", "sip-call-1@example", "+33612345678"
	ce.startCall(conv, callID, caller, "support")
	offeredTo(t, conv, a1)
	sock.await(t, "the ringing call on the socket", func(f map[string]any) bool {
		c, _ := f["conversation"].(map[string]any)
		call, _ := c["call"].(map[string]any)
		return f["type"] == "conversation" && c["id"] == conv && call["state"] == CallRinging && call["from"] == caller
	})
	d := a1.conv(conv)
	if callState(d) != CallRinging || d.Channel != event.ChannelVoice || d.Customer.Address != caller || d.ContactID != caller {
		t.Fatalf("ringing call: state %q channel %q customer %+v contact %q", callState(d), d.Channel, d.Customer, d.ContactID)
	}
	if d.Call.CallID != callID || d.Call.Queue != "support" || d.Call.QueuedAt == nil || d.Call.AnsweredAt != nil {
		t.Fatalf("ringing call: %+v", d.Call)
	}
	// The caller's dossier is the agent's while the call is offered.
	a1.must(200, "GET", a1.path("conversations?view=contact&contact=%2B33612345678"), nil)
	if !ce.inbox.ServesContact("acme", a1.id, caller) {
		t.Fatal("ServesContact false for the agent whose phone rings")
	}
	// Not answered: hold is refused.
	if r := a1.do("POST", a1.path("conversations/"+conv+"/call/hold"), nil); r.status != http.StatusConflict {
		t.Fatalf("hold before the answer: %d %s, want 409", r.status, r.body)
	}

	ce.answer(conv, callID, caller, "support", a1.id)
	waitFor(t, "the call answered", func() bool {
		d := a1.conv(conv)
		return callState(d) == CallAnswered && d.Status == StatusAssigned
	})
	d = a1.conv(conv)
	if d.Status != StatusAssigned || d.AgentID != a1.id || d.Call.AgentID != a1.id || d.Call.AnsweredAt == nil || d.Call.WaitMs != 1200 {
		t.Fatalf("answered: %+v / %+v", d.Summary, d.Call)
	}

	// Who may hold: not another agent, not an analyst, not another tenant.
	hold, resume := a1.path("conversations/"+conv+"/call/hold"), a1.path("conversations/"+conv+"/call/resume")
	for _, c := range []struct {
		u      *user
		status int
	}{{a2, 403}, {analyst, 403}, {o1, 404}} {
		path := hold
		if c.u == o1 {
			path = "/api/v1/tenants/acme/conversations/" + conv + "/call/hold"
		}
		if r := c.u.do("POST", path, nil); r.status != c.status {
			t.Fatalf("hold as %s: %d %s, want %d", c.u.login, r.status, r.body, c.status)
		}
	}
	if r := a1.do("POST", a1.path("conversations/nope/call/hold"), nil); r.status != 404 {
		t.Fatalf("hold of an unknown conversation: %d, want 404", r.status)
	}
	if r := a1.do("POST", resume, nil); r.status != http.StatusConflict {
		t.Fatalf("resume of a call not on hold: %d %s, want 409", r.status, r.body)
	}

	d = a1.must(200, "POST", hold, nil).detail(t)
	if callState(d) != CallHeld || d.Call.HeldSince == nil {
		t.Fatalf("after hold: %+v", d.Call)
	}
	if got := voice.seen(); len(got) != 1 || got[0].CallID != callID || !got[0].Hold || got[0].By != a1.id {
		t.Fatalf("hold requests published: %+v", got)
	}
	if r := a1.do("POST", hold, nil); r.status != http.StatusConflict {
		t.Fatalf("hold of a held call: %d %s, want 409", r.status, r.body)
	}
	// A supervisor resumes it.
	d = sup.must(200, "POST", resume, nil).detail(t)
	if callState(d) != CallAnswered || d.Call.HeldSince != nil || d.Call.HoldMs != 1500 {
		t.Fatalf("after resume: %+v", d.Call)
	}
	sock.await(t, "the resumed call on the socket", func(f map[string]any) bool {
		c, _ := f["conversation"].(map[string]any)
		call, _ := c["call"].(map[string]any)
		return c["id"] == conv && call["state"] == CallAnswered && call["hold_ms"] == float64(1500)
	})

	// Transferred to a queue (the existing endpoint), the voice channel
	// moves the call: waiting again, no agent.
	a1.must(200, "POST", a1.path("conversations/"+conv+"/transfer"), map[string]any{"to_queue": "billing", "note": "invoice"})
	ce.publishVoice("acme", conv, caller, &event.CallTransferredData{CallID: callID, FromAgentID: a1.id, ToQueue: "billing", Kind: event.TransferBlind})
	waitFor(t, "the call transferred", func() bool {
		d := sup.conv(conv)
		return d.Call.State == CallWaiting || d.Call.State == CallRinging
	})
	if d := sup.conv(conv); d.Call.Queue != "billing" || d.Call.AgentID != "" {
		t.Fatalf("after the transfer: %+v", d.Call)
	}
	ce.publishVoice("acme", conv, caller, &event.CallEndedData{CallID: callID, Reason: event.EndCallerHangup,
		DurationMs: 272_000, WaitMs: 1200, TalkMs: 200_000, HoldMs: 1500, AgentID: a1.id})
	waitFor(t, "the call ended", func() bool { return callState(sup.conv(conv)) == CallEnded })
	d = sup.conv(conv)
	if d.Call.EndReason != event.EndCallerHangup || d.Call.DurationMs != 272_000 || d.Call.TalkMs != 200_000 || d.Call.EndedAt == nil {
		t.Fatalf("ended: %+v", d.Call)
	}
	want := []string{CallLogStarted, CallLogMenu, CallLogQueued, CallLogAnswered, CallLogHeld, CallLogResumed, CallLogTransferred, CallLogEnded}
	if got := logKinds(d); !slices.Equal(got, want) {
		t.Fatalf("call log %v, want %v", got, want)
	}
	if r := sup.do("POST", hold, nil); r.status != http.StatusConflict {
		t.Fatalf("hold of an ended call: %d, want 409", r.status)
	}
}

// TestHoldNotAnsweredInTime checks the answer when the voice channel does
// not act within the wait timeout: 202 with the conversation unchanged,
// and the hold folded (and pushed) when the channel gets to it.
func TestHoldNotAnsweredInTime(t *testing.T) {
	ce := startCallEnv(t, 300*time.Millisecond)
	a1 := ce.users["agent1"]
	voice := ce.fakeVoice(t)
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	const conv, callID, caller = "call-slow", "sip-call-slow", "+33699999999"
	ce.startCall(conv, callID, caller, "support")
	offeredTo(t, conv, a1)
	ce.answer(conv, callID, caller, "support", a1.id)
	waitFor(t, "the call answered", func() bool {
		d := a1.conv(conv)
		return callState(d) == CallAnswered && d.Status == StatusAssigned
	})

	voice.mute()
	d := a1.must(http.StatusAccepted, "POST", a1.path("conversations/"+conv+"/call/hold"), nil).detail(t)
	if callState(d) != CallAnswered {
		t.Fatalf("202 answer: %+v, want the call as it stands (answered)", d.Call)
	}
	voice.unmute()
	waitFor(t, "the late hold folded", func() bool { return callState(a1.conv(conv)) == CallHeld })
}

// wav is a small valid WAV file of n samples of 8 kHz 16-bit mono.
func wav(n int) []byte {
	var b bytes.Buffer
	data := n * 2
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v) // fmt: PCM, mono, 8 kHz, 16-bit
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(data))
	for i := range n {
		_ = binary.Write(&b, binary.LittleEndian, int16((i%40)*800-16000))
	}
	return b.Bytes()
}

// storeWAV writes content to dir as the voice channel stores recordings.
func storeWAV(t *testing.T, dir string, content []byte) event.BlobRef {
	t.Helper()
	sum := sha256.Sum256(content)
	sha := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, sha+".wav"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	return event.BlobRef{SHA256: sha, Size: int64(len(content)), ContentType: "audio/wav"}
}

// get sends a GET with extra headers as u.
func (u *user) get(path string, hdr map[string]string) (*http.Response, []byte) {
	u.e.t.Helper()
	req, err := http.NewRequest("GET", u.e.srv.URL+path, nil)
	if err != nil {
		u.e.t.Fatal(err)
	}
	if u.cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: u.cookie})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		u.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// TestRecordings checks GET .../recordings/{sha256}: the recording plays
// (whole, and by ranges) for those who may read the conversation, only a
// digest the conversation's call.recorded named is served, another
// tenant gets 404, and a deleted recording 410.
func TestRecordings(t *testing.T) {
	ce := startCallEnv(t, waitLimit)
	a1, a2, sup, analyst, o1 := ce.users["agent1"], ce.users["agent2"], ce.users["super"], ce.users["analyst"], ce.users["o1"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	const conv, callID, caller = "call-rec", "sip-call-rec", "+33611111111"
	ce.startCall(conv, callID, caller, "support")
	offeredTo(t, conv, a1)
	ce.answer(conv, callID, caller, "support", a1.id)

	content := wav(8000)
	ref := storeWAV(t, ce.dir, content)
	stray := storeWAV(t, ce.dir, wav(100)) // in the directory, but no conversation's
	ce.publishVoice("acme", conv, caller,
		&event.CallEndedData{CallID: callID, Reason: event.EndAgentHangup, DurationMs: 9000, TalkMs: 5000, AgentID: a1.id},
		&event.CallRecordedData{CallID: callID, Recording: ref, Kind: event.RecordingCall, DurationMs: 1000})
	waitFor(t, "the recording folded", func() bool { return len(a1.conv(conv).Recordings) == 1 })
	d := a1.conv(conv)
	if r := d.Recordings[0]; r.SHA256 != ref.SHA256 || r.Kind != event.RecordingCall || r.DurationMs != 1000 || r.Deleted {
		t.Fatalf("recording %+v", r)
	}
	if got := logKinds(d); got[len(got)-1] != CallLogRecorded {
		t.Fatalf("call log %v ends without the recording", got)
	}
	rec := a1.path("conversations/" + conv + "/recordings/" + ref.SHA256)

	res, body := a1.get(rec, nil)
	if res.StatusCode != 200 || !bytes.Equal(body, content) || res.Header.Get("Content-Type") != "audio/wav" || res.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET recording: %d %s, %d bytes (want %d)", res.StatusCode, res.Header, len(body), len(content))
	}
	res, body = a1.get(rec, map[string]string{"Range": "bytes=100-1123"})
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(body, content[100:1124]) ||
		res.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-1123/%d", len(content)) {
		t.Fatalf("Range: %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Range"), len(body))
	}
	res, _ = a1.get(rec, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(content)+10)})
	if res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("Range past the end: %d, want 416", res.StatusCode)
	}
	res, _ = a1.get(rec, map[string]string{"If-None-Match": `"` + ref.SHA256 + `"`})
	if res.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d, want 304", res.StatusCode)
	}

	for _, c := range []struct {
		u      *user
		path   string
		status int
	}{
		{sup, rec, 200},
		{analyst, rec, 200},
		{a2, rec, 403}, // not theirs, not waiting, not serving the caller
		{o1, "/api/v1/tenants/acme/conversations/" + conv + "/recordings/" + ref.SHA256, 404},
		{o1, o1.path("conversations/" + conv + "/recordings/" + ref.SHA256), 404},
		{&user{e: ce.env, tenant: "acme"}, rec, 401},
		{a1, a1.path("conversations/" + conv + "/recordings/" + stray.SHA256), 404},
		{a1, a1.path("conversations/" + conv + "/recordings/" + ref.SHA256[:63]), 404},
		{a1, a1.path("conversations/" + conv + "/recordings/..%2F..%2Fetc%2Fpasswd"), 404},
		{a1, a1.path("conversations/nope/recordings/" + ref.SHA256), 404},
	} {
		res, body := c.u.get(c.path, nil)
		if res.StatusCode != c.status {
			t.Errorf("GET %s as %q: %d %s, want %d", c.path, c.u.login, res.StatusCode, body, c.status)
		}
		if c.status >= 400 && bytes.Equal(body, content) {
			t.Errorf("GET %s as %q: the recording leaked with %d", c.path, c.u.login, res.StatusCode)
		}
	}

	// The file gone without an event: 404, not a server error.
	missing := storeWAV(t, t.TempDir(), wav(50))
	ce.publishVoice("acme", conv, caller, &event.CallRecordedData{CallID: callID, Recording: missing, Kind: event.RecordingCall, DurationMs: 6})
	waitFor(t, "the second recording folded", func() bool { return len(a1.conv(conv).Recordings) == 2 })
	if res, _ := a1.get(a1.path("conversations/"+conv+"/recordings/"+missing.SHA256), nil); res.StatusCode != 404 {
		t.Fatalf("a recording whose file is missing: %d, want 404", res.StatusCode)
	}

	ce.publishVoice("acme", conv, caller, &event.CallRecordingDeletedData{CallID: callID, Recording: ref, Reason: event.RecordingExpired})
	waitFor(t, "the deletion folded", func() bool { return a1.conv(conv).Recordings[0].Deleted })
	if res, body := a1.get(rec, nil); res.StatusCode != http.StatusGone || bytes.Equal(body, content) {
		t.Fatalf("GET a deleted recording: %d, want 410", res.StatusCode)
	}
	if got := logKinds(a1.conv(conv)); got[len(got)-1] != CallLogRecordingDeleted {
		t.Fatalf("call log %v ends without the deletion", got)
	}
}

// TestVoicemailAndCallbackCases checks the cases a caller leaves out of
// hours: a voicemail and a callback request wait in the queue with their
// kind, number and voicemail (playable by the agents who may take them),
// and an agent accepts and resolves them like chats.
func TestVoicemailAndCallbackCases(t *testing.T) {
	ce := startCallEnv(t, waitLimit)
	a1 := ce.users["agent1"]
	vm := storeWAV(t, ce.dir, wav(4000))
	ce.publishVoice("acme", "vm-1", "+33622222222",
		&event.CallStartedData{CallID: "sip-vm-1", Direction: event.DirectionInbound, From: "+33622222222", To: "+33100000000"},
		&event.CallEndedData{CallID: "sip-vm-1", Reason: event.EndVoicemail, DurationMs: 20_000},
		&event.CallRecordedData{CallID: "sip-vm-1", Recording: vm, Kind: event.RecordingVoicemail, DurationMs: 12_000},
		&event.ConversationQueuedData{Queue: "support"},
	)
	ce.publishVoice("acme", "cb-1", "",
		&event.CallStartedData{CallID: "sip-cb-1", Direction: event.DirectionInbound, From: "anonymous", To: "+33100000000"},
		&event.CallCallbackRequestedData{CallID: "sip-cb-1", Number: "+33633333333", Queue: "support", Language: "fr"},
		&event.ConversationQueuedData{Queue: "support"},
		&event.CallEndedData{CallID: "sip-cb-1", Reason: event.EndCallback, DurationMs: 30_000},
	)
	var vmSum, cbSum Summary
	waitFor(t, "both cases in agent1's queues", func() bool {
		for _, s := range a1.list("view=queues") {
			switch s.ID {
			case "vm-1":
				vmSum = s
			case "cb-1":
				cbSum = s
			}
		}
		return vmSum.Call != nil && cbSum.Call != nil && vmSum.Call.Voicemail != nil && cbSum.Call.Callback != nil
	})
	if vmSum.Call.Case != CaseVoicemail || vmSum.Call.State != CallEnded || vmSum.Call.Voicemail.SHA256 != vm.SHA256 ||
		vmSum.Call.Voicemail.DurationMs != 12_000 || vmSum.Customer.Address != "+33622222222" {
		t.Fatalf("voicemail case: %+v %+v", vmSum.Customer, vmSum.Call)
	}
	if cbSum.Call.Case != CaseCallback || cbSum.Call.Callback.Number != "+33633333333" || cbSum.Call.From != "anonymous" || cbSum.Customer.Address != "" {
		t.Fatalf("callback case: %+v %+v", cbSum.Customer, cbSum.Call)
	}
	// Waiting: any agent who can take it listens to the voicemail.
	if res, body := a1.get(a1.path("conversations/vm-1/recordings/"+vm.SHA256), nil); res.StatusCode != 200 || len(body) != int(vm.Size) {
		t.Fatalf("voicemail while waiting: %d, %d bytes", res.StatusCode, len(body))
	}
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	// The two cases are on different partitions, so routing may read
	// either first and offer it first.
	for left := map[string]bool{"vm-1": true, "cb-1": true}; len(left) > 0; {
		var id string
		waitFor(t, "an offer of a case", func() bool {
			for _, s := range a1.list("view=mine&status=offered") {
				if left[s.ID] && s.Offer != nil && s.Offer.AgentID == a1.id {
					id = s.ID
					return true
				}
			}
			return false
		})
		delete(left, id)
		a1.must(200, "POST", a1.path("conversations/"+id+"/accept"), nil)
		if d := a1.must(200, "POST", a1.path("conversations/"+id+"/resolve"), nil).detail(t); d.Status != StatusResolved || d.Call == nil {
			t.Fatalf("%s resolved: %+v", id, d.Summary)
		}
	}
}

// TestFoldCall checks the fold alone: replays add nothing, facts about an
// earlier call are logged without changing the current one, a deletion
// read before its recording keeps it unplayable, and the log is bounded.
func TestFoldCall(t *testing.T) {
	i := &Inbox{cfg: Config{MaxThread: 5}.withDefaults()}
	c := &Conversation{}
	now := time.Now().UTC()
	fold := func(p event.Payload, id string) {
		e := voiceEvent(t, "acme", "c", "+33644444444", p, now)
		e.ID = id
		i.foldCall(c, e, p)
	}
	ref := event.BlobRef{SHA256: hex.EncodeToString(make([]byte, 32)), Size: 10, ContentType: "audio/wav"}
	fold(&event.CallStartedData{CallID: "a", Direction: event.DirectionInbound, From: "+33644444444", To: "+331"}, "e1")
	fold(&event.CallStartedData{CallID: "a", Direction: event.DirectionInbound, From: "+33644444444", To: "+331"}, "e1")
	if len(c.calls.log) != 1 || c.ContactID != "+33644444444" || c.Customer.Address != "+33644444444" {
		t.Fatalf("after a replayed start: log %d, contact %q, customer %+v", len(c.calls.log), c.ContactID, c.Customer)
	}
	if v := c.calls.view(StatusWaiting); v.State != CallMenu {
		t.Fatalf("before queued: %s, want %s", v.State, CallMenu)
	}
	fold(&event.CallRecordingDeletedData{CallID: "a", Recording: ref, Reason: event.RecordingExpired}, "e2")
	fold(&event.CallRecordedData{CallID: "a", Recording: ref, Kind: event.RecordingVoicemail, DurationMs: 5}, "e3")
	if r := c.calls.recording(ref.SHA256); r == nil || !r.Deleted || r.Kind != event.RecordingVoicemail {
		t.Fatalf("recording deleted before it was read: %+v", r)
	}
	if v := c.calls.view(StatusWaiting); v.Case != CaseVoicemail || v.Voicemail == nil || !v.Voicemail.Deleted {
		t.Fatalf("voicemail case: %+v", v)
	}
	fold(&event.CallStartedData{CallID: "b", Direction: event.DirectionInbound, From: "+33644444444", To: "+331"}, "e4")
	fold(&event.CallEndedData{CallID: "a", Reason: event.EndVoicemail, DurationMs: 10}, "e5")
	if v := c.calls.view(StatusWaiting); v.CallID != "b" || v.State != CallMenu || v.Case != "" {
		t.Fatalf("the earlier call's end changed the current call: %+v", v)
	}
	for n := range 5 {
		fold(&event.CallMenuSelectedData{CallID: "b", Menu: "service", Selection: "1"}, fmt.Sprintf("m%d", n))
	}
	if len(c.calls.log) != 5 || c.calls.logDropped != 5 || c.calls.log[0].ID != "m0" {
		t.Fatalf("bounded log: %d kept, %d dropped, first %q", len(c.calls.log), c.calls.logDropped, c.calls.log[0].ID)
	}
	// An invalid digest (an event that bypassed validation) is never kept
	// as a recording.
	bad := &event.CallRecordedData{CallID: "b", Recording: event.BlobRef{SHA256: "../../x", ContentType: "audio/wav"}, Kind: event.RecordingCall}
	i.foldCall(c, voiceEvent(t, "acme", "c", "", &event.CallRecordedData{CallID: "b", Recording: ref, Kind: event.RecordingCall}, now), bad)
	if len(c.calls.recordings) != 1 {
		t.Fatalf("recordings %+v", c.calls.recordings)
	}
}
