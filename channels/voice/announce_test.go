package voice

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice/media"
)

// testQueueNumber is open, in English, without menus: callers go straight
// to the queue "general".
const testQueueNumber = "+33100000003"

// withQueueNumber adds testQueueNumber to cfg.
func withQueueNumber(cfg Config) Config {
	cfg.Numbers = append(cfg.Numbers, NumberConfig{Number: testQueueNumber, Tenant: testTenant,
		Menu: MenuConfig{DefaultLanguage: "en", DefaultQueue: "general", InputTimeout: 3 * time.Second, Retries: 1}})
	return cfg
}

// convEvent builds an event of the conversations log, as another channel
// or the inbox publishes it.
func convEvent(t testing.TB, tenant, conv string, at time.Time, p event.Payload) *event.Envelope {
	t.Helper()
	e, err := event.New(p.EventType(), tenant, p, event.WithConversation(conv), event.WithChannel(event.ChannelChat),
		event.WithSource("/test"), event.WithTime(at))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Events in, positions and estimates out.
func TestWaitTracker(t *testing.T) {
	t0 := time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC)
	at := func(m float64) time.Time { return t0.Add(time.Duration(m * float64(time.Minute))) }
	queued := func(conv, queue string, prio int, m float64) *event.Envelope {
		return convEvent(t, "demo", conv, at(m), &event.ConversationQueuedData{Queue: queue, Priority: prio})
	}
	assigned := func(conv string, m float64) *event.Envelope {
		return convEvent(t, "demo", conv, at(m), &event.ConversationAssignedData{AgentID: "alice"})
	}
	abandoned := func(conv string, m float64) *event.Envelope {
		return convEvent(t, "demo", conv, at(m), &event.ConversationAbandonedData{Queue: "q", Reason: event.AbandonCustomerLeft})
	}
	resolved := func(conv string, m float64) *event.Envelope {
		return convEvent(t, "demo", conv, at(m), &event.ConversationResolvedData{AgentID: "alice"})
	}
	type want struct {
		conv    string
		pos     int    // 0: not waiting
		minutes int    // 0: no estimate known
		prompts string // position prompt, then wait prompt
	}
	for _, tc := range []struct {
		name   string
		events []*event.Envelope
		want   []want
	}{
		{"arrival order, nothing known", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1), queued("c", "q", 0, 2)},
			[]want{{"a", 1, 0, "queue_position_1"}, {"b", 2, 0, "queue_position_2"}, {"c", 3, 0, "queue_position_3"}}},
		{"queues and tenants apart", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "other", 0, 1),
			convEvent(t, "acme", "c", at(2), &event.ConversationQueuedData{Queue: "q"}), queued("d", "q", 0, 3)},
			[]want{{"a", 1, 0, ""}, {"b", 1, 0, ""}, {"d", 2, 0, ""}}},
		{"first assignment sets the time per place", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1),
			queued("c", "q", 0, 2), assigned("a", 4)},
			// a waited 4 min from place 1: 4 min a place.
			[]want{{"a", 0, 0, ""}, {"b", 1, 4, "queue_position_1 queue_wait_4"}, {"c", 2, 8, "queue_position_2 queue_wait_8"}}},
		{"weighted mean of the places", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1),
			assigned("a", 4), assigned("b", 3)},
			// a: 4/1 = 4 min; b entered at place 2 and waited 2 min: 1 min a
			// place; S = 0.3·1 + 0.7·4 = 3.1 min.
			[]want{{"b", 0, 0, ""}}},
		{"priority goes first", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1), queued("vip", "q", 5, 2)},
			[]want{{"vip", 1, 0, ""}, {"a", 2, 0, ""}, {"b", 3, 0, ""}}},
		{"abandoned and resolved leave", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1), queued("c", "q", 0, 2),
			abandoned("a", 3), resolved("b", 4)},
			[]want{{"a", 0, 0, ""}, {"b", 0, 0, ""}, {"c", 1, 0, ""}}},
		{"a duplicate keeps its place", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1), queued("a", "q", 0, 2)},
			[]want{{"a", 1, 0, ""}, {"b", 2, 0, ""}}},
		{"transferred to another queue goes to its end", []*event.Envelope{queued("a", "q", 0, 0), queued("x", "r", 0, 1),
			queued("b", "q", 0, 2),
			convEvent(t, "demo", "a", at(3), &event.ConversationTransferredData{FromQueue: "q", ToQueue: "r"})},
			[]want{{"b", 1, 0, ""}, {"x", 1, 0, ""}, {"a", 2, 0, ""}}},
		{"transferred to an agent leaves", []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1),
			convEvent(t, "demo", "a", at(3), &event.ConversationTransferredData{FromQueue: "q", ToAgentID: "bob"})},
			[]want{{"a", 0, 0, ""}, {"b", 1, 0, ""}}},
		{"assignment of an unknown conversation teaches nothing", []*event.Envelope{assigned("old", 1), queued("a", "q", 0, 2)},
			[]want{{"a", 1, 0, ""}}},
		{"more than the caps", func() []*event.Envelope {
			var evs []*event.Envelope
			evs = append(evs, queued("first", "q", 0, 0), assigned("first", 31)) // 31 min a place
			for i := range 21 {
				evs = append(evs, queued("c"+strconv.Itoa(i), "q", 0, float64(40+i)))
			}
			return evs
		}(), []want{{"c0", 1, 31, "queue_position_1 queue_wait_more"}, {"c20", 21, 21 * 31, "queue_position_more queue_wait_more"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWaitTracker()
			for _, e := range tc.events {
				w.apply(e)
			}
			for _, x := range tc.want {
				est, ok := w.estimate("demo", x.conv)
				if x.pos == 0 {
					if ok {
						t.Errorf("%s still waits at %d", x.conv, est.Position)
					}
					continue
				}
				if !ok || est.Position != x.pos {
					t.Errorf("%s: position %d (waiting %v), want %d", x.conv, est.Position, ok, x.pos)
					continue
				}
				if got := est.Known; got != (x.minutes > 0) {
					t.Errorf("%s: estimate known %v, want %v", x.conv, got, x.minutes > 0)
				} else if est.Known && est.Minutes() != x.minutes {
					t.Errorf("%s: %d minutes (%s), want %d", x.conv, est.Minutes(), est.Wait, x.minutes)
				}
				if x.prompts != "" {
					got := positionPrompt(est.Position)
					if est.Known {
						got += " " + waitPrompt(est.Minutes())
					}
					if got != x.prompts {
						t.Errorf("%s: prompts %q, want %q", x.conv, got, x.prompts)
					}
				}
			}
		})
	}
	// The weighted mean of the second case, checked on its own.
	w := newWaitTracker()
	for _, e := range []*event.Envelope{queued("a", "q", 0, 0), queued("b", "q", 0, 1), assigned("a", 4), assigned("b", 3),
		queued("c", "q", 0, 5)} {
		w.apply(e)
	}
	if est, _ := w.estimate("demo", "c"); !est.Known || est.Wait != 186*time.Second {
		t.Errorf("estimate after two waits = %+v, want 3.1 min a place", est)
	}
}

// Every spoken prompt has a text in every language, and the Russian
// minutes agree with their number.
func TestSpokenTexts(t *testing.T) {
	for _, lang := range menuLanguages {
		for _, name := range spokenNames() {
			if text, ok := spokenText(lang, name); !ok || text == "" {
				t.Errorf("%s/%s has no text", lang, name)
			}
		}
	}
	for m, want := range map[int]string{1: "минуты", 2: "минут", 5: "минут", 11: "минут", 21: "минуты", 25: "минут"} {
		if got := russianMinutes(m); got != want {
			t.Errorf("около %d %s, want %s", m, got, want)
		}
	}
	if _, ok := spokenText("en", "queue_position_0"); ok {
		t.Error("position 0 has a text")
	}
	if text, _ := spokenText("fr", "queue_wait_1"); text != "Votre temps d'attente estimé est d'environ 1 minute." {
		t.Errorf("fr wait 1 = %q", text)
	}
}

// seedWaits teaches the hub's queue "general" that one place takes
// perPlace, with a conversation of another channel queued and assigned
// on the bus, and waits until the hub has read it.
func seedWaits(t *testing.T, h *hub, perPlace time.Duration) {
	t.Helper()
	at := h.s.cfg.Now().Add(-time.Hour)
	for _, e := range []*event.Envelope{
		convEvent(t, testTenant, "seed-"+t.Name(), at, &event.ConversationQueuedData{Queue: "general"}),
		convEvent(t, testTenant, "seed-"+t.Name(), at.Add(perPlace), &event.ConversationAssignedData{AgentID: "agent-alice", Queue: "general"}),
	} {
		m, err := event.ToMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.bus.Publish(context.Background(), event.TopicConversations, m); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(waitLimit)
	for {
		h.s.waits.mu.Lock()
		q := h.s.waits.queues[queueKey{testTenant, "general"}]
		known := q != nil && q.samples > 0
		h.s.waits.mu.Unlock()
		if known {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the hub never learnt the seeded wait")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A waiting caller hears their position and estimated wait, spoken by
// espeak-ng: the prompts are generated on first use into the prompts
// directory, and the music pauses for them.
func TestSippQueueAnnouncement(t *testing.T) {
	needPcaps(t)
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (deploy/install-test-deps.sh)", tool)
		}
	}
	cfg := withQueueNumber(testConfig(t))
	cfg.AnnounceEvery = 2 * time.Second
	cfg.CallbackOfferAfter = -1
	// The English queue prompts are generated, not the test's tones.
	queuePrompts, _ := filepath.Glob(filepath.Join(cfg.PromptsDir, "en", "queue_*.wav"))
	for _, p := range queuePrompts {
		os.Remove(p)
	}
	h := startHub(t, cfg, nil)
	seedWaits(t, h, 3*time.Minute)
	mustSipp(t, h, "uac_hangup.xml", testQueueNumber, callerAudio("hold_ms", "7000"))
	evs := endedCall(t, h, event.CallStarted, event.CallQueued, event.ConversationQueued, event.CallEnded, event.ConversationAbandoned)
	if q := decode[*event.ConversationQueuedData](t, evs[2]); q.Queue != "general" || q.Language != "en" {
		t.Errorf("conversation.queued = %+v", q)
	}
	if n := h.s.announced.Load(); n < 1 {
		t.Fatalf("%d announcements played to the waiting caller", n)
	}
	// First in the queue, 3 minutes a place: "caller number 1", "about 3
	// minutes", and nothing else was asked for.
	got, _ := filepath.Glob(filepath.Join(cfg.PromptsDir, "en", "queue_*.wav"))
	want := []string{filepath.Join(cfg.PromptsDir, "en", "queue_position_1.wav"), filepath.Join(cfg.PromptsDir, "en", "queue_wait_3.wav")}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("generated prompts = %v, want %v", got, want)
	}
	for _, p := range got {
		pr, err := media.LoadPrompt(p)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Duration() < time.Second {
			t.Errorf("%s lasts %s: not a spoken sentence", p, pr.Duration())
		}
	}
}
