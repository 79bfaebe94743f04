package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/search"
	searchembedded "github.com/hotline-hub/hotline/search/embedded"
	"github.com/hotline-hub/hotline/search/indexer"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/directory"
	"github.com/hotline-hub/hotline/webui/inbox"
	"github.com/hotline-hub/hotline/webui/searchapi"
	"github.com/hotline-hub/hotline/webui/ui"
)

// TestCallsJourney drives an agent's inbox through a call (see calls.mjs
// for each step). The hub runs in this process, wired as `hotline serve`
// wires it (auth, directory with the starter queue, routing, inbox,
// search and the embedded web app on one embedded bus), so that the test
// plays the voice channel on that bus: it publishes the call's events as
// channels/voice does, answers the inbox's hold requests with call.held
// and call.resumed, and stores the recording and the voicemail where the
// channel does, at the script's request (a control server only the test
// and the script know). The agent sees:
//  1. the call ringing their phone pop up, with the caller's number and
//     dossier (an earlier call of the same caller in it);
//  2. the call answered, then held and resumed with the buttons;
//  3. the call's recording in the thread, playable;
//  4. a voicemail case in the queue, with its number and playable message.
func TestCallsJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; skipped with -short")
	}
	node, browser := prerequisites(t)
	h := startCallHub(t)

	const (
		convID    = "call-e2e"
		callID    = "call-e2e@127.0.0.1"
		pastID    = "call-e2e-past"
		caller    = "+33612345678"
		vmConvID  = "voicemail-e2e"
		vmCaller  = "+33698765432"
		hubNumber = "+33100000000"
	)
	ctl := http.NewServeMux()
	step := func(path string, f func() error) {
		ctl.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			if err := f(); err != nil {
				t.Errorf("control %s: %v", path, err)
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	}
	step("/call", func() error {
		// An earlier call of the same caller first: the dossier lists it.
		if err := h.voice(pastID, caller,
			&event.CallStartedData{CallID: pastID + "@127.0.0.1", Direction: event.DirectionInbound, From: caller, To: hubNumber},
			&event.CallEndedData{CallID: pastID + "@127.0.0.1", Reason: event.EndAbandoned, DurationMs: 30_000},
		); err != nil {
			return err
		}
		return h.voice(convID, caller,
			&event.CallStartedData{CallID: callID, Direction: event.DirectionInbound, From: caller, To: hubNumber},
			&event.CallMenuSelectedData{CallID: callID, Menu: "language", Selection: "2", Language: "en"},
			&event.CallQueuedData{CallID: callID, Queue: directory.StarterQueue},
			&event.ConversationQueuedData{Queue: directory.StarterQueue, Language: "en"},
		)
	})
	step("/answer", func() error {
		return h.voice(convID, caller,
			&event.ConversationAssignedData{AgentID: h.adminID, Queue: directory.StarterQueue},
			&event.CallAnsweredData{CallID: callID, AgentID: h.adminID, WaitMs: 4000, RingMs: 2000},
		)
	})
	step("/end", func() error {
		ref, err := h.storeWAV(2 * time.Second)
		if err != nil {
			return err
		}
		return h.voice(convID, caller,
			&event.CallEndedData{CallID: callID, Reason: event.EndCallerHangup, DurationMs: 60_000, WaitMs: 4000, TalkMs: 50_000, AgentID: h.adminID},
			&event.CallRecordedData{CallID: callID, Recording: ref, Kind: event.RecordingCall, DurationMs: 2000},
		)
	})
	step("/voicemail", func() error {
		ref, err := h.storeWAV(3 * time.Second)
		if err != nil {
			return err
		}
		vmCall := vmConvID + "@127.0.0.1"
		return h.voice(vmConvID, vmCaller,
			&event.CallStartedData{CallID: vmCall, Direction: event.DirectionInbound, From: vmCaller, To: hubNumber},
			&event.CallEndedData{CallID: vmCall, Reason: event.EndVoicemail, DurationMs: 20_000},
			&event.CallRecordedData{CallID: vmCall, Recording: ref, Kind: event.RecordingVoicemail, DurationMs: 3000},
			&event.ConversationQueuedData{Queue: directory.StarterQueue},
		)
	})
	control := httptest.NewServer(ctl)
	t.Cleanup(control.Close)

	runScript(t, node, "calls.mjs", "ok: calls journey passed", 6*time.Minute,
		"HOTLINE_URL="+uiURL(t, h.srv.URL),
		"CONTROL_URL="+control.URL,
		"HOTLINE_LOGIN="+h.boot.Login,
		"HOTLINE_PASSWORD="+h.boot.Password,
		"CALL_CONVERSATION="+convID,
		"PAST_CONVERSATION="+pastID,
		"CALLER="+caller,
		"VOICEMAIL_CONVERSATION="+vmConvID,
		"VOICEMAIL_CALLER="+vmCaller,
		"CHROMIUM_PATH="+browser,
		"ARTIFACTS_DIR="+artifactsDir(t),
	)
	if n := h.holds(); n < 2 {
		t.Fatalf("the fake voice channel saw %d hold requests, want the hold and the resume", n)
	}
}

// callHub is the in-process hub of TestCallsJourney.
type callHub struct {
	t          *testing.T
	bus        bus.Bus
	srv        *httptest.Server
	boot       auth.Bootstrap
	adminID    string
	recordings string

	mu       sync.Mutex
	requests int
}

func startCallHub(t *testing.T) *callHub {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	data := t.TempDir()
	b, err := embedded.Open(embedded.Config{Dir: filepath.Join(data, "bus")}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	h := &callHub{t: t, bus: b, recordings: filepath.Join(data, "recordings")}
	if err := os.MkdirAll(h.recordings, 0o755); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Hash: auth.HashParams{Memory: 8 * 1024, Time: 1, Threads: 1}}, b, log)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	dir, err := directory.New(directory.Config{}, b, log)
	if err != nil {
		t.Fatalf("directory.New: %v", err)
	}
	router, err := routing.New(routing.Config{}, b, log)
	if err != nil {
		t.Fatalf("routing.New: %v", err)
	}
	in, err := inbox.New(inbox.Config{RecordingsDir: h.recordings}, b, a, log)
	if err != nil {
		t.Fatalf("inbox.New: %v", err)
	}
	idx, err := searchembedded.Open(filepath.Join(data, "search"))
	if err != nil {
		t.Fatalf("open index: %v", err)
	}
	t.Cleanup(func() { _ = idx.Close() })
	ix, err := indexer.New(indexer.Config{}, b, idx, log)
	if err != nil {
		t.Fatalf("indexer.New: %v", err)
	}
	merges := search.NewMerges()
	sx, err := searchapi.New(searchapi.Config{}, idx, merges, in, b, a, log)
	if err != nil {
		t.Fatalf("searchapi.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, run := range map[string]func(context.Context) error{
		"auth": a.Run, "directory": dir.Run, "routing": router.Run, "inbox": in.Run, "indexer": ix.Run,
		"merges": func(ctx context.Context) error { return merges.Run(ctx, b) }, "voice": h.answerHolds,
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, bus.ErrClosed) && ctx.Err() == nil {
				t.Errorf("%s Run: %v", name, err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

	mux := http.NewServeMux()
	a.Routes(mux)
	dir.Routes(mux, a)
	in.Routes(mux)
	sx.Routes(mux)
	mux.Handle("/", ui.Handler())
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)

	bctx, bcancel := context.WithTimeout(ctx, time.Minute)
	defer bcancel()
	boot, created, err := a.EnsureBootstrap(bctx)
	if err != nil || !created {
		t.Fatalf("EnsureBootstrap = %v, %v", created, err)
	}
	acc, ok := a.Store().AccountByLogin(boot.Tenant, boot.Login)
	if !ok {
		t.Fatal("the first-start admin is not in the store")
	}
	// The starter directory of a first start: queue "support" for every
	// channel, the admin its agent with a phone line (voice capacity 1).
	if _, err := dir.EnsureDefaults(bctx, boot.Tenant, "en", acc.ID, true); err != nil {
		t.Fatalf("EnsureDefaults: %v", err)
	}
	h.boot, h.adminID = boot, acc.ID
	for deadline := time.Now().Add(time.Minute); !in.Synced(boot.Tenant) || !router.Synced(boot.Tenant); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the inbox and the router did not catch up within a minute")
		}
	}
	return h
}

// voice publishes ps about conversation conv as channels/voice does: in
// order, in one call, on the conversations topic, the caller's number as
// the contact.
func (h *callHub) voice(conv, contact string, ps ...event.Payload) error {
	var msgs []bus.Message
	now := time.Now().UTC()
	for n, p := range ps {
		e, err := event.New(p.EventType(), h.boot.Tenant, p, event.WithConversation(conv), event.WithChannel(event.ChannelVoice),
			event.WithSource("/channels/voice"), event.WithContact(contact), event.WithTime(now.Add(time.Duration(n)*time.Millisecond)))
		if err != nil {
			return err
		}
		m, err := event.ToMessage(e)
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.bus.Publish(ctx, event.TopicConversations, msgs...)
}

// answerHolds is the voice channel's side of hold and resume: every
// call.hold_requested is answered with call.held or call.resumed.
func (h *callHub) answerHolds(ctx context.Context) error {
	sub, err := h.bus.Subscribe(ctx, event.TopicConversations, bus.SubscribeOptions{Start: bus.StartLatest})
	if err != nil {
		return err
	}
	defer sub.Close()
	var heldAt time.Time
	for {
		d, err := sub.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		e, err := event.FromMessage(&d.Message)
		if err != nil || e.Type != event.CallHoldRequested {
			continue
		}
		p, err := e.Decode()
		req, ok := p.(*event.CallHoldRequestedData)
		if err != nil || !ok {
			continue
		}
		h.mu.Lock()
		h.requests++
		h.mu.Unlock()
		var out event.Payload = &event.CallHeldData{CallID: req.CallID, AgentID: req.By, Source: event.HoldFromInbox}
		if req.Hold {
			heldAt = time.Now()
		} else {
			out = &event.CallResumedData{CallID: req.CallID, AgentID: req.By, Source: event.HoldFromInbox,
				HoldMs: time.Since(heldAt).Milliseconds()}
		}
		if err := h.voice(e.ConversationID, e.ContactID, out); err != nil {
			return err
		}
	}
}

func (h *callHub) holds() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests
}

// storeWAV writes d of a 440 Hz tone (8 kHz, 16-bit, mono) where the
// voice channel stores recordings, <recordings>/<sha256>.wav.
func (h *callHub) storeWAV(d time.Duration) (event.BlobRef, error) {
	n := int(d.Seconds() * 8000)
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		_ = binary.Write(&b, binary.LittleEndian, v) // fmt: PCM, mono, 8 kHz, 16-bit
	}
	b.WriteString("data")
	_ = binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := range n {
		_ = binary.Write(&b, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*440*float64(i)/8000)))
	}
	sum := sha256.Sum256(b.Bytes())
	sha := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(h.recordings, sha+".wav"), b.Bytes(), 0o600); err != nil {
		return event.BlobRef{}, err
	}
	return event.BlobRef{SHA256: sha, Size: int64(b.Len()), ContentType: "audio/wav"}, nil
}
