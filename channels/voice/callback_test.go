package voice

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// dtmf is sipp's RFC 2833 capture of key k ("0"-"9", "pound", "star").
func dtmf(k string) string { return filepath.Join(pcapDir, "dtmf_2833_"+k+".pcap") }

func TestCallbackDigits(t *testing.T) {
	for _, tc := range []struct {
		keys  string
		ended bool
		want  string
	}{
		{"0612345678", true, "0612345678"},
		{"0623", true, "0623"},
		{"123", true, ""},              // too short
		{"1234567890123456", true, ""}, // longer than E.164
		{"0612345678", false, ""},      // no '#': the caller stopped
		{"06A2", true, ""},             // not digits
		{"", true, ""},                 // '#' alone
		{"331234567890123", true, "331234567890123"},
	} {
		got, ok := callbackDigits(tc.keys, tc.ended)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("callbackDigits(%q, %v) = %q, %v; want %q", tc.keys, tc.ended, got, ok, tc.want)
		}
	}
}

// Out of hours, a caller presses 1 after the closed announcement: a
// callback request for their number and a queued case in the default
// queue, a confirmation, and the hub hangs up; no voicemail.
func TestSippClosedCallback(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	h := startHub(t, cfg, nil)
	mustSipp(t, h, "uac_callback.xml", testClosed, map[string]string{"key1": dtmf("1")})
	evs := endedCall(t, h, event.CallStarted, event.CallCallbackRequested, event.ConversationQueued, event.CallEnded)
	cb := decode[*event.CallCallbackRequestedData](t, evs[1])
	if cb.Number != testCaller || cb.Queue != "general" || cb.Language != "en" || cb.CallID != decode[*event.CallStartedData](t, evs[0]).CallID {
		t.Errorf("call.callback_requested = %+v", cb)
	}
	if q := decode[*event.ConversationQueuedData](t, evs[2]); q.Queue != "general" || q.Language != "en" || evs[2].ContactID != testCaller {
		t.Errorf("conversation.queued = %+v, contact %q", q, evs[2].ContactID)
	}
	if end := decode[*event.CallEndedData](t, evs[3]); end.Reason != event.EndCallback {
		t.Errorf("call.ended = %+v", end)
	}
	if wavs, _ := filepath.Glob(filepath.Join(cfg.RecordingsDir, "*.wav")); len(wavs) > 0 {
		t.Errorf("a voicemail was recorded: %v", wavs)
	}
}

// In hours, with a long estimated wait, a caller with a withheld number
// is offered a callback right after queueing, presses 1, keys in a number
// and '#': the case stays queued (no conversation.abandoned) and the call
// ends as a callback.
func TestSippQueuedCallbackWithheldNumber(t *testing.T) {
	needPcaps(t)
	cfg := withQueueNumber(testConfig(t))
	cfg.CallbackOfferAfter = time.Minute
	cfg.AnnounceEvery = -1
	h := startHub(t, cfg, nil)
	seedWaits(t, h, 5*time.Minute) // first in the queue: about 5 minutes
	mustSipp(t, h, "uac_callback_keyed.xml", testQueueNumber, map[string]string{
		"key1": dtmf("1"), "key2": dtmf("0"), "key3": dtmf("6"), "key4": dtmf("2"), "key5": dtmf("3"), "key6": dtmf("pound")})
	started := callStarted(t, h, "anonymous")
	callEnded(t, h, started)
	evs := h.events.all(started.ConversationID)
	if got := typesOf(evs); !sameTypes(got, event.CallStarted, event.CallQueued, event.ConversationQueued,
		event.CallCallbackRequested, event.CallEnded) {
		t.Fatalf("events = %v", got)
	}
	if cb := decode[*event.CallCallbackRequestedData](t, evs[3]); cb.Number != "0623" || cb.Queue != "general" || cb.Language != "en" {
		t.Errorf("call.callback_requested = %+v", cb)
	}
	end := decode[*event.CallEndedData](t, evs[4])
	if end.Reason != event.EndCallback || end.WaitMs <= 0 {
		t.Errorf("call.ended = %+v", end)
	}
	// The case still waits in the queue for the next agent.
	if _, waiting := h.s.waits.estimate(testTenant, started.ConversationID); !waiting {
		t.Error("the callback case left the queue")
	}
}

// No offer when the wait is short, nor when nothing is known yet: the
// caller just waits and the key they press does nothing.
func TestSippNoCallbackOfferForShortWait(t *testing.T) {
	needPcaps(t)
	cfg := withQueueNumber(testConfig(t))
	cfg.CallbackOfferAfter = 10 * time.Minute
	cfg.AnnounceEvery = -1
	h := startHub(t, cfg, nil)
	seedWaits(t, h, 5*time.Minute)
	mustSipp(t, h, "uac_menu.xml", testQueueNumber, map[string]string{
		"lang_pcap": dtmf("1"), "service_pcap": dtmf("1"), "hold_ms": "2500"})
	started := callStarted(t, h, "+33611111111")
	h.events.wait(t, event.ConversationAbandoned, func(e *event.Envelope) bool { return e.ConversationID == started.ConversationID })
	if got := typesOf(h.events.all(started.ConversationID)); !sameTypes(got, event.CallStarted, event.CallQueued,
		event.ConversationQueued, event.CallEnded, event.ConversationAbandoned) {
		t.Fatalf("events = %v", got)
	}
}

// A keyed-in number is read back digit by digit, in the call's language,
// from a prompt generated for the call and not kept.
func TestReadBack(t *testing.T) {
	for lang, want := range map[string]string{
		"en": "Thank you. We will call you back on 0 6 2 3. Goodbye.",
		"fr": "Merci. Nous vous rappellerons au 0 6 2 3. Au revoir.",
		"de": "Vielen Dank. Wir rufen Sie unter 0 6 2 3 zurück. Auf Wiederhören.",
		"ru": "Спасибо. Мы перезвоним вам по номеру 0 6 2 3. До свидания.",
	} {
		if got := readBackText(lang, "0623"); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (deploy/install-test-deps.sh)", tool)
		}
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	sp := newSpoken(t.TempDir(), testLog(t))
	p, err := sp.once(context.Background(), "fr", readBackText("fr", "0612345678"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Duration() < 2*time.Second {
		t.Errorf("read-back lasts %s", p.Duration())
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("generated files left behind: %v", left)
	}
}
