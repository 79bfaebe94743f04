package voice

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

const retention = 90 * 24 * time.Hour

// testClock is a clock tests move forward.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// storedRecording writes a WAV file to dir as the server stores one, with
// its sidecar naming refs (their StoredAt set), both last written an hour
// ago on the real clock; it returns the content's reference.
func storedRecording(t *testing.T, dir string, seed float64, withWAV bool, refs ...recordingRef) event.BlobRef {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "rec.wav")
	writeWAV(t, tmp, tone(seed, 100*time.Millisecond))
	b, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	ref := event.BlobRef{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b)), ContentType: "audio/wav", Name: "call.wav"}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &recordings{dir: dir}
	if withWAV {
		if err := os.WriteFile(r.wavPath(ref.SHA256), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range refs {
		x.Recording = ref
		if err := r.add(x); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{r.wavPath(ref.SHA256), r.indexPath(ref.SHA256)} {
		if err := os.Chtimes(p, old, old); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return ref
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// deletions returns the call.recording_deleted events published so far.
func deletions(h *hub) []*event.Envelope {
	h.events.mu.Lock()
	defer h.events.mu.Unlock()
	var out []*event.Envelope
	for _, e := range h.events.events {
		if e.Type == event.CallRecordingDeleted {
			out = append(out, e)
		}
	}
	return out
}

// At start the janitor deletes what is older than the retention, each
// with call.recording_deleted first; it keeps what is younger and what
// has no index, and finishes a deletion a crash interrupted.
func TestRetentionJanitor(t *testing.T) {
	cfg := testConfig(t)
	var clock testClock
	cfg.Now = clock.now
	cfg.RecordingRetention = retention
	dir := cfg.RecordingsDir
	now := clock.now()
	ref := func(conv, call string, age time.Duration) recordingRef {
		return recordingRef{Tenant: testTenant, ConversationID: conv, CallID: call, ContactID: testCaller,
			Kind: event.RecordingVoicemail, StoredAt: now.Add(-age)}
	}
	// Identical content from two calls, both old: one file, two events.
	expired := storedRecording(t, dir, 400, true, ref("conv-a", "call-a", 100*24*time.Hour), ref("conv-b", "call-b", 95*24*time.Hour))
	fresh := storedRecording(t, dir, 500, true, ref("conv-c", "call-c", 10*24*time.Hour))
	// Old, but one of its calls is recent: kept for that one.
	shared := storedRecording(t, dir, 550, true, ref("conv-e", "call-e", 200*24*time.Hour), ref("conv-f", "call-f", 24*time.Hour))
	// A crash after the WAV was removed left the sidecar.
	interrupted := storedRecording(t, dir, 600, false, ref("conv-d", "call-d", 120*24*time.Hour))
	unindexed := storedRecording(t, dir, 700, true)

	h := startHub(t, cfg, nil)
	r := h.s.recs
	deadline := time.Now().Add(waitLimit)
	for exists(r.indexPath(expired.SHA256)) || exists(r.indexPath(interrupted.SHA256)) {
		if time.Now().After(deadline) {
			t.Fatal("the janitor did not run at start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := map[string]*event.CallRecordingDeletedData{}
	for _, e := range deletions(h) {
		d := decode[*event.CallRecordingDeletedData](t, e)
		if e.Tenant != testTenant || e.Channel != event.ChannelVoice || d.Reason != event.RecordingExpired || d.CallID != e.Subject {
			t.Errorf("call.recording_deleted = %+v in %s/%s", d, e.Tenant, e.Channel)
		}
		got[e.ConversationID] = d
	}
	if len(got) != 3 || got["conv-a"] == nil || got["conv-b"] == nil || got["conv-d"] == nil {
		t.Fatalf("deleted for %v, want conv-a, conv-b (one file) and conv-d", got)
	}
	if got["conv-a"].Recording.SHA256 != expired.SHA256 || got["conv-a"].CallID != "call-a" || got["conv-d"].Recording.SHA256 != interrupted.SHA256 {
		t.Errorf("deleted = %+v / %+v", got["conv-a"], got["conv-d"])
	}
	if exists(r.wavPath(expired.SHA256)) {
		t.Error("the expired recording is still there")
	}
	for _, b := range []event.BlobRef{fresh, shared, unindexed} {
		if !exists(r.wavPath(b.SHA256)) {
			t.Errorf("recording %s was deleted", b.SHA256)
		}
	}

	// Three months later the rest has expired, but for the file without
	// an index.
	clock.advance(retention)
	n, err := h.s.expireRecordings(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("second run deleted %d (%v), want 2", n, err)
	}
	if exists(r.wavPath(fresh.SHA256)) || exists(r.wavPath(shared.SHA256)) || !exists(r.wavPath(unindexed.SHA256)) {
		t.Error("second run: wrong files deleted")
	}
	h.events.wait(t, event.CallRecordingDeleted, func(e *event.Envelope) bool { return e.ConversationID == "conv-f" })
	// Nothing is left to do.
	if n, err := h.s.expireRecordings(context.Background()); n != 0 || err != nil {
		t.Errorf("third run deleted %d (%v)", n, err)
	}
}

// afterPublish publishes, then reports a failure once, like a publish
// that timed out after the bus stored it, or a crash right after it.
type afterPublish struct {
	bus.Bus
	fail atomic.Bool
}

func (a *afterPublish) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	if err := a.Bus.Publish(ctx, topic, msgs...); err != nil {
		return err
	}
	if a.fail.CompareAndSwap(true, false) {
		return errors.New("connection lost after publishing")
	}
	return nil
}

// A deletion whose events were published but not confirmed deletes
// nothing, and the next run publishes the same events again (same ids)
// before deleting.
func TestRetentionRepublishesIdempotently(t *testing.T) {
	cfg := testConfig(t)
	var clock testClock
	cfg.Now = clock.now
	cfg.RecordingRetention = retention
	var wrapped *afterPublish
	h := startHub(t, cfg, func(b bus.Bus) bus.Publisher { wrapped = &afterPublish{Bus: b}; return wrapped })
	rec := storedRecording(t, cfg.RecordingsDir, 440, true, recordingRef{Tenant: testTenant, ConversationID: "conv-x",
		CallID: "call-x", Kind: event.RecordingCall, StoredAt: clock.now()})
	clock.advance(retention + time.Hour)
	wrapped.fail.Store(true)
	if n, err := h.s.expireRecordings(context.Background()); n != 0 || err == nil {
		t.Fatalf("run with a lost confirmation deleted %d (%v)", n, err)
	}
	r := h.s.recs
	if !exists(r.wavPath(rec.SHA256)) || !exists(r.indexPath(rec.SHA256)) {
		t.Fatal("deleted without a confirmed event")
	}
	if n, err := h.s.expireRecordings(context.Background()); n != 1 || err != nil {
		t.Fatalf("second run deleted %d (%v)", n, err)
	}
	deadline := time.Now().Add(waitLimit)
	for len(deletions(h)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d call.recording_deleted on the bus, want the same one twice", len(deletions(h)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	evs := deletions(h)
	if len(evs) != 2 || evs[0].ID != evs[1].ID {
		t.Errorf("events %v, want one id published twice", evs)
	}
	if exists(r.wavPath(rec.SHA256)) || exists(r.indexPath(rec.SHA256)) {
		t.Error("not deleted after the second run")
	}
}

// A voicemail stored by a real call gets its index, and expires with
// the call's ids.
func TestSippVoicemailExpires(t *testing.T) {
	needPcaps(t)
	cfg := testConfig(t)
	var clock testClock
	clock.advance(wednesdayNoonOffset()) // the closed number is closed
	cfg.Now = clock.now
	cfg.RecordingRetention = retention
	cfg.MaxVoicemail = time.Second
	cfg.Numbers[1].Menu.InputTimeout = 300 * time.Millisecond // no callback asked
	h := startHub(t, cfg, nil)
	mustSipp(t, h, "uac_hub_hangup.xml", testClosed, callerAudio())
	evs := endedCall(t, h, event.CallStarted, event.CallRecorded, event.ConversationQueued, event.CallEnded)
	rec := decode[*event.CallRecordedData](t, evs[1])
	r := h.s.recs
	idx, err := r.read(rec.Recording.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(idx)
	if len(idx.References) != 1 || idx.References[0].CallID != rec.CallID || idx.References[0].ConversationID != evs[0].ConversationID ||
		idx.References[0].Tenant != testTenant || idx.References[0].Kind != event.RecordingVoicemail {
		t.Fatalf("index = %s", b)
	}
	// Not yet: the retention has not passed.
	if n, err := h.s.expireRecordings(context.Background()); n != 0 || err != nil {
		t.Fatalf("early run deleted %d (%v)", n, err)
	}
	clock.advance(retention)
	// The file was just written: a call may have stored the same content
	// again, so the janitor waits until it is a minute old.
	if n, _ := h.s.expireRecordings(context.Background()); n != 0 {
		t.Fatal("a file written a moment ago was deleted")
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(r.wavPath(rec.Recording.SHA256), old, old); err != nil {
		t.Fatal(err)
	}
	if n, err := h.s.expireRecordings(context.Background()); n != 1 || err != nil {
		t.Fatalf("run deleted %d (%v)", n, err)
	}
	del := h.events.wait(t, event.CallRecordingDeleted, nil)
	d := decode[*event.CallRecordingDeletedData](t, del)
	if del.ConversationID != evs[0].ConversationID || d.CallID != rec.CallID || d.Recording.SHA256 != rec.Recording.SHA256 || del.ContactID != testCaller {
		t.Errorf("call.recording_deleted = %+v in %s", d, del.ConversationID)
	}
	if exists(r.wavPath(rec.Recording.SHA256)) {
		t.Error("the voicemail is still there")
	}
}

func TestRetentionConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		ok   bool
	}{
		{"off", func(c *Config) {}, true},
		{"90 days", func(c *Config) { c.RecordingRetention = retention }, true},
		{"negative", func(c *Config) { c.RecordingRetention = -time.Hour }, false},
		{"no unit", func(c *Config) { c.RecordingRetention = 90 }, false},
		{"announcements off", func(c *Config) { c.AnnounceEvery = -1 }, true},
		{"announcements too often", func(c *Config) { c.AnnounceEvery = 45 }, false},
		{"offer off", func(c *Config) { c.CallbackOfferAfter = -1 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.set(&cfg)
			err := cfg.Validate()
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("Validate = %v", err)
			}
		})
	}
}
