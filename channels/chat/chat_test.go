package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

func TestHelloWelcome(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	if w.Token == "" || w.Visitor == "" || !w.Open || w.ConversationID != "" {
		t.Fatalf("welcome = %+v, want a token, open, no conversation", w)
	}
	// The token brings the same visitor back.
	c2 := h.dial(t, "")
	if w2 := c2.hello("demo", "support", w.Token, nil); w2.Visitor != w.Visitor {
		t.Fatalf("token gave visitor %q, want %q", w2.Visitor, w.Visitor)
	}
}

func TestMessageAckedOnceDurableAndResendDeduped(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	// A second tab of the same visitor.
	tab := h.dial(t, "")
	tab.hello("demo", "support", w.Token, nil)
	c.message("m1", "Bonjour, ma commande ?")
	ack := c.next("ack")
	if ack.ClientID != "m1" || ack.MessageID == "" || ack.ConversationID == "" || ack.Seq == 0 {
		t.Fatalf("ack = %+v", ack)
	}
	// Acknowledged means already on the bus, in order: queued, received.
	evs := drain(t, b, event.TopicConversations)
	if len(evs) != 2 || evs[0].Type != event.ConversationQueued || evs[1].Type != event.MessageReceived {
		t.Fatalf("bus holds %d events %v, want conversation.queued then message.received", len(evs), types(evs))
	}
	q := mustDecode[*event.ConversationQueuedData](t, evs[0])
	if q.Queue != "support" || q.Priority != 2 || len(q.Skills) != 1 || q.Language != "fr" {
		t.Errorf("queued = %+v", q)
	}
	r := mustDecode[*event.MessageReceivedData](t, evs[1])
	if r.MessageID != ack.MessageID || r.ClientMessageID != "m1" || r.From.Address != w.Visitor || r.Text != "Bonjour, ma commande ?" ||
		evs[1].ConversationID != ack.ConversationID || evs[1].Channel != event.ChannelChat {
		t.Errorf("received = %+v in %s, ack %+v", r, evs[1].ConversationID, ack)
	}
	for _, e := range evs {
		if e.ContactID != w.Visitor {
			t.Errorf("%s carries contact %q, want the visitor %q", e.Type, e.ContactID, w.Visitor)
		}
	}
	// The other tab gets the message; the sending socket only its ack.
	echo := tab.next("message")
	if echo.MessageID != ack.MessageID || echo.From != "visitor" || echo.ClientID != "m1" || echo.Seq != ack.Seq {
		t.Errorf("the other tab's copy = %+v, want message %s at seq %d", echo, ack.MessageID, ack.Seq)
	}

	// Same client id again, on this socket and on a new one after a drop.
	c.message("m1", "Bonjour, ma commande ?")
	if a2 := c.next("ack"); a2 != ack {
		t.Errorf("resend ack = %+v, want %+v", a2, ack)
	}
	// Frames to one socket keep their order, so a copy of the message
	// would have been read by now.
	for _, f := range c.pending {
		if f.Type == "message" {
			t.Errorf("the sending socket got its own message back: %+v", f)
		}
	}
	c.ws.Close()
	c3 := h.dial(t, "")
	w3 := c3.hello("demo", "support", w.Token, nil)
	if w3.ConversationID != ack.ConversationID {
		t.Errorf("reconnect welcome conversation %q, want %q", w3.ConversationID, ack.ConversationID)
	}
	c3.message("m1", "Bonjour, ma commande ?")
	if a3 := c3.next("ack"); a3 != ack {
		t.Errorf("resend after reconnect ack = %+v, want %+v", a3, ack)
	}
	// A second message joins the same conversation without a new queued;
	// the name typed meanwhile travels with it, a bad email is refused.
	c3.send(map[string]any{"type": "message", "client_id": "m2", "text": "Encore moi", "name": "Élodie Martin", "email": "not an address"})
	if f := c3.next("error"); f.Code != CodeBadFrame || !strings.Contains(f.Message, "email") {
		t.Errorf("bad email on a message: %+v", f)
	}
	a4 := c3.next("ack")
	if a4.ConversationID != ack.ConversationID || a4.MessageID == ack.MessageID {
		t.Errorf("second ack = %+v", a4)
	}
	evs = drain(t, b, event.TopicConversations)
	if n, m := len(ofType(evs, event.MessageReceived)), len(ofType(evs, event.ConversationQueued)); n != 2 || m != 1 {
		t.Fatalf("bus holds %d message.received and %d conversation.queued, want 2 and 1", n, m)
	}
	if r2 := mustDecode[*event.MessageReceivedData](t, ofType(evs, event.MessageReceived)[1]); r2.From.Name != "Élodie Martin" {
		t.Errorf("second message from %+v, want the name given with it", r2.From)
	}
}

func TestAgentReplyDeliveredAndReplayedOnReconnect(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	c.message("m1", "hello")
	ack := c.next("ack")

	reply(t, b, "demo", ack.ConversationID, "r1", "Hi, how can I help?")
	got := c.next("message")
	if got.From != "agent" || got.AgentName != "Alice" || got.Text != "Hi, how can I help?" || got.MessageID != "r1" {
		t.Fatalf("reply frame = %+v", got)
	}
	waitFor(t, b, event.TopicConversations, "message.delivered of r1", func(evs []*event.Envelope) bool {
		return deliveredIDs(t, evs)["r1"]
	})
	lastSeq := got.Seq

	// Offline: two more replies; the widget comes back with last_seq.
	c.ws.Close()
	reply(t, b, "demo", ack.ConversationID, "r2", "Are you there?")
	reply(t, b, "demo", ack.ConversationID, "r3", "I will close this soon.")
	c2 := h.dial(t, "")
	c2.hello("demo", "support", w.Token, &lastSeq)
	seen := map[string]bool{}
	for !seen["r2"] || !seen["r3"] {
		f := c2.next("message")
		seen[f.MessageID] = true
	}
	waitFor(t, b, event.TopicConversations, "message.delivered of r2 and r3", func(evs []*event.Envelope) bool {
		d := deliveredIDs(t, evs)
		return d["r2"] && d["r3"]
	})
}

func TestRestartKeepsHistoryAndDedupe(t *testing.T) {
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	h := startHub(t, b, cfg)
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	c.message("m1", "before restart")
	ack := c.next("ack")
	reply(t, b, "demo", ack.ConversationID, "r1", "answer")
	c.next("message")
	waitFor(t, b, event.TopicConversations, "message.delivered", func(evs []*event.Envelope) bool { return deliveredIDs(t, evs)["r1"] })
	h.stop()

	h2 := startHub(t, b, cfg) // same bus, same secret file
	c2 := h2.dial(t, "")
	w2 := c2.hello("demo", "support", w.Token, nil)
	if w2.Visitor != w.Visitor || w2.ConversationID != ack.ConversationID {
		t.Fatalf("after restart welcome = %+v, want visitor %s in %s", w2, w.Visitor, ack.ConversationID)
	}
	want := map[string]bool{ack.MessageID: true, "r1": true}
	for len(want) > 0 {
		delete(want, c2.next("message").MessageID)
	}
	c2.message("m1", "before restart")
	if a := c2.next("ack"); a.MessageID != ack.MessageID || a.ConversationID != ack.ConversationID {
		t.Fatalf("resend after restart ack = %+v, want %+v", a, ack)
	}
	if n := len(ofType(drain(t, b, event.TopicConversations), event.MessageReceived)); n != 1 {
		t.Fatalf("%d message.received on the bus, want 1", n)
	}
}

func TestClosedHours(t *testing.T) {
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	cfg.Tenants[0].Queues[0].Hours = hours.Config{TimeZone: "Europe/Paris", Weekly: map[string][]string{
		"monday": {"09:00-17:00"}, "tuesday": {"09:00-17:00"},
	}}
	sunday := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return sunday }
	h := startHub(t, b, cfg)
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	if w.Open || w.NextOpen != "2026-11-23T08:00:00Z" || w.OpenUntil != "" {
		t.Fatalf("welcome = %+v, want closed until 2026-11-23T08:00:00Z", w)
	}
	c.message("m1", "Anyone?")
	c.next("ack")
	evs := drain(t, b, event.TopicConversations)
	if len(ofType(evs, event.ConversationQueued)) != 1 || len(ofType(evs, event.MessageReceived)) != 1 {
		t.Fatalf("closed-hours message: bus holds %v, want it queued", types(evs))
	}
}

func TestTypingBothWays(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	c := h.dial(t, "")
	c.hello("demo", "support", "", nil)
	c.message("m1", "hi")
	ack := c.next("ack")

	c.send(map[string]any{"type": "typing", "active": true})
	c.send(map[string]any{"type": "typing", "active": true}) // throttled
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	sub, err := b.Subscribe(ctx, DefaultSignalsTopic, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	d, err := sub.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s signal
	if err := json.Unmarshal(d.Value, &s); err != nil || s.From != "visitor" || !s.Active ||
		s.ConversationID != ack.ConversationID || string(d.Key) != "demo/"+ack.ConversationID {
		t.Fatalf("visitor typing signal = %+v (%v), key %q", s, err, d.Key)
	}

	// A stale agent signal is dropped, a fresh one shown.
	agent := func(active bool, at time.Time) {
		m := bus.Message{Key: []byte("demo/" + ack.ConversationID), Value: encode(signal{Type: SignalTyping, Tenant: "demo",
			ConversationID: ack.ConversationID, From: "agent", Active: active, Time: at})}
		if err := b.Publish(ctx, DefaultSignalsTopic, m); err != nil {
			t.Fatal(err)
		}
	}
	agent(false, time.Now().Add(-time.Minute))
	agent(true, time.Now())
	if f := c.next("typing"); !f.Active {
		t.Fatalf("first typing frame = %+v, want the fresh active one", f)
	}
}

// A frame many times the socket's read buffer (readBuffer) is read whole:
// the longest message, in two-byte characters, arrives intact.
func TestFrameLargerThanReadBuffer(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	tab := h.dial(t, "")
	tab.hello("demo", "support", w.Token, nil)
	text := strings.Repeat("é", DefaultMaxTextChars)
	if len(text) < 4*readBuffer {
		t.Fatalf("the text is %d bytes, not several read buffers", len(text))
	}
	c.message("long", text)
	ack := c.next("ack")
	if echo := tab.next("message"); echo.MessageID != ack.MessageID || echo.Text != text {
		t.Fatalf("the other tab's copy = message %s of %d bytes, want %s of %d", echo.MessageID, len(echo.Text), ack.MessageID, len(text))
	}
}

func TestBadInput(t *testing.T) {
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	cfg.MessageBurst = 3
	cfg.MessageRate = 0.0001
	cfg.MaxTextChars = 50
	h := startHub(t, b, cfg)
	bystander := h.dial(t, "")
	bw := bystander.hello("demo", "support", "", nil)

	t.Run("oversized frame", func(t *testing.T) {
		c := h.dial(t, "")
		c.hello("demo", "support", "", nil)
		// The write may fail once the server has given up on the frame.
		c.ws.WriteJSON(map[string]any{"type": "message", "client_id": "big", "text": strings.Repeat("x", 20<<10)})
		if code := c.closed(); code != websocket.CloseMessageTooBig {
			t.Fatalf("close code %d, want 1009", code)
		}
	})
	t.Run("text too long", func(t *testing.T) {
		c := h.dial(t, "")
		c.hello("demo", "support", "", nil)
		c.message("long", strings.Repeat("é", 51))
		if f := c.next("error"); f.Code != CodeTooLong {
			t.Fatalf("error = %+v", f)
		}
	})
	t.Run("malformed, unknown, then closed", func(t *testing.T) {
		c := h.dial(t, "")
		c.hello("demo", "support", "", nil)
		for i, raw := range []string{`{"type":`, `{"type":"dance"}`, `[1,2]`, `{"type":"message","client_id":"bad id!","text":"x"}`} {
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
				t.Fatal(err)
			}
			if f := c.next("error"); f.Code != CodeBadFrame {
				t.Fatalf("frame %d %q: error = %+v, want bad_frame", i, raw, f)
			}
		}
		c.ws.WriteMessage(websocket.TextMessage, []byte(`nope`))
		if f := c.next("error"); f.Code != CodeTooManyBad {
			t.Fatalf("5th bad frame: %+v", f)
		}
		if code := c.closed(); code != websocket.ClosePolicyViolation {
			t.Fatalf("close code %d, want 1008", code)
		}
	})
	t.Run("message before hello", func(t *testing.T) {
		c := h.dial(t, "")
		c.message("x", "hi")
		if f := c.next("error"); f.Code != CodeHelloRequired {
			t.Fatalf("error = %+v", f)
		}
	})
	t.Run("unknown tenant and queue", func(t *testing.T) {
		for _, tc := range []struct{ tenant, queue, code string }{
			{"nobody", "support", CodeUnknownTenant}, {"demo", "nope", CodeUnknownQueue},
		} {
			c := h.dial(t, "")
			c.send(map[string]any{"type": "hello", "tenant": tc.tenant, "queue": tc.queue})
			if f := c.next("error"); f.Code != tc.code {
				t.Fatalf("%s/%s: error = %+v, want %s", tc.tenant, tc.queue, f, tc.code)
			}
			if code := c.closed(); code != websocket.ClosePolicyViolation {
				t.Fatalf("close code %d", code)
			}
		}
	})
	t.Run("origin", func(t *testing.T) {
		c := h.dial(t, "https://evil.example")
		c.send(map[string]any{"type": "hello", "tenant": "acme", "queue": "sales"})
		if f := c.next("error"); f.Code != CodeOriginForbidden {
			t.Fatalf("error = %+v", f)
		}
		ok := h.dial(t, "https://acme.example")
		ok.hello("acme", "sales", "", nil)
	})
	t.Run("flood", func(t *testing.T) {
		c := h.dial(t, "")
		c.hello("demo", "support", "", nil)
		for i := range 3 {
			c.message("f"+string(rune('a'+i)), "spam")
			c.next("ack")
		}
		c.message("fz", "spam")
		if f := c.next("error"); f.Code != CodeRateLimited || f.ClientID != "fz" {
			t.Fatalf("4th message: %+v, want rate_limited", f)
		}
	})
	// Through all of that the bystander kept working.
	bystander.message("still-here", "ok?")
	if a := bystander.next("ack"); a.ClientID != "still-here" {
		t.Fatalf("bystander ack = %+v", a)
	}
	_ = bw
}

func TestForgedToken(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	c.message("m1", "secret stuff")
	c.next("ack")

	acme := h.dial(t, "https://acme.example")
	wa := acme.hello("acme", "sales", "", nil)
	i := strings.LastIndexByte(w.Token, '.')
	forged := strings.Replace(w.Token[:i], w.Visitor, "v0000", 1) + w.Token[i:]
	for name, tok := range map[string]string{
		"tampered":     forged,
		"garbage":      "hello",
		"other tenant": wa.Token,
		"bad mac":      w.Token[:i] + ".AAAA",
	} {
		t.Run(name, func(t *testing.T) {
			c := h.dial(t, "")
			c.send(map[string]any{"type": "hello", "tenant": "demo", "queue": "support", "token": tok})
			if f := c.next("error"); f.Code != CodeBadToken {
				t.Fatalf("error = %+v, want bad_token", f)
			}
			nw := c.next("welcome")
			if nw.Visitor == w.Visitor || nw.ConversationID != "" || nw.Token == tok {
				t.Fatalf("forged token welcome = %+v", nw)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	tk := &tokens{key: []byte("0123456789abcdef0123456789abcdef"), ttl: time.Hour}
	now := time.Unix(1_800_000_000, 0)
	tok, vid, err := tk.issue("demo", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tenant, token string
		at                  time.Time
		ok                  bool
	}{
		{"valid", "demo", tok, now.Add(time.Minute), true},
		{"expired", "demo", tok, now.Add(2 * time.Hour), false},
		{"other tenant", "acme", tok, now, false},
		{"truncated", "demo", tok[:len(tok)-2], now, false},
		{"empty", "demo", "", now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tk.verify(tc.tenant, tc.token, tc.at)
			if tc.ok && (err != nil || got != vid) {
				t.Fatalf("verify = %q, %v; want %q", got, err, vid)
			}
			if !tc.ok && !errors.Is(err, ErrBadToken) {
				t.Fatalf("verify err = %v, want ErrBadToken", err)
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	dir := t.TempDir()
	ok := baseConfig(t, dir)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no secret", func(c *Config) { c.SecretFile = "" }, "secret file"},
		{"bad tenant", func(c *Config) { c.Tenants[0].ID = "Bad Tenant" }, "not a valid tenant"},
		{"default queue unknown", func(c *Config) { c.Tenants[0].DefaultQueue = "nowhere" }, "default queue"},
		{"bad hours", func(c *Config) { c.Tenants[0].Queues[0].Hours = hours.Config{TimeZone: "Mars/Base"} }, "hours"},
		{"bad topic", func(c *Config) { c.SignalsTopic = "a b" }, "invalid topic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			cfg.Tenants = []TenantConfig{{ID: ok.Tenants[0].ID, Queues: []QueueConfig{ok.Tenants[0].Queues[0]}}}
			tc.edit(&cfg)
			_, err := New(cfg, newBus(t), testLog(t))
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrConfig mentioning %q", err, tc.want)
			}
		})
	}
}

func TestSecretFileCreatedPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "chat.secret")
	s1, err := loadSecret(p)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := loadSecret(p)
	if err != nil || string(s1) != string(s2) {
		t.Fatalf("second load differs or failed: %v", err)
	}
	if fi, err := statMode(p); err != nil || fi != 0o600 {
		t.Fatalf("mode %o, %v; want 0600", fi, err)
	}
}

func TestWidgetNeverWritesHTML(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	resp, err := http.Get(h.srv.URL + "/chat/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	src, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET widget.js: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
		if strings.Contains(string(src), bad) {
			t.Errorf("widget.js uses %s", bad)
		}
	}
	for _, need := range []string{"textContent", "localStorage", "last_seq", "client_id", "Bonjour", "Hallo", "Здравствуйте"} {
		if !strings.Contains(string(src), need) {
			t.Errorf("widget.js lacks %q", need)
		}
	}
}

func types(evs []*event.Envelope) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func mustDecode[T event.Payload](t *testing.T, e *event.Envelope) T {
	t.Helper()
	p, err := e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := p.(T)
	if !ok {
		t.Fatalf("%s decodes to %T", e.Type, p)
	}
	return v
}

func deliveredIDs(t *testing.T, evs []*event.Envelope) map[string]bool {
	out := map[string]bool{}
	for _, e := range ofType(evs, event.MessageDelivered) {
		out[mustDecode[*event.MessageDeliveredData](t, e).MessageID] = true
	}
	return out
}

func TestConnectionFloodRefused(t *testing.T) {
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	cfg.ConnectBurst = 2
	cfg.ConnectRate = 0.0001
	h := startHub(t, b, cfg)
	first := h.dial(t, "")
	first.hello("demo", "support", "", nil)
	h.dial(t, "").hello("demo", "support", "", nil)
	third := h.dial(t, "")
	if f := third.next("error"); f.Code != CodeRateLimited {
		t.Fatalf("third connection: %+v, want rate_limited", f)
	}
	if code := third.closed(); code != websocket.CloseTryAgainLater {
		t.Fatalf("close code %d, want 1013", code)
	}
	first.message("m1", "still fine")
	first.next("ack")
}

func TestSlowReaderDoesNotBlockOthers(t *testing.T) {
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	cfg.SendQueue = 4
	cfg.WriteTimeout = 500 * time.Millisecond
	h := startHub(t, b, cfg)
	slow := h.dial(t, "")
	slow.hello("demo", "support", "", nil)
	slow.message("s1", "I will not read")
	sack := slow.next("ack")
	fast := h.dial(t, "")
	fast.hello("demo", "support", "", nil)
	fast.message("f1", "I read")
	fack := fast.next("ack")

	// 20 MB of replies, more than loopback buffers hold, fill the slow socket's buffers and queue.
	big := strings.Repeat("y", 100<<10)
	for i := range 200 {
		reply(t, b, "demo", sack.ConversationID, "slow-"+strconv.Itoa(i), big)
	}
	reply(t, b, "demo", fack.ConversationID, "fast-1", "for the reader")
	for {
		if f := fast.next("message"); f.MessageID == "fast-1" {
			break
		}
	}
	// The slow socket was cut off: reading it ends in an error, not in
	// all 200 replies.
	n := 0
	for {
		f, err := slow.read()
		if err != nil {
			break
		}
		if f.Type == "message" && strings.HasPrefix(f.MessageID, "slow-") {
			n++
		}
	}
	if n >= 200 {
		t.Fatalf("slow reader got all %d replies; it should have been disconnected", n)
	}
}

func TestEvictIdle(t *testing.T) {
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	h := startHub(t, b, cfg)
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	c.message("m1", "hi")
	ack := c.next("ack")
	later := time.Now().Add(2 * DefaultIdleEvict)
	count := h.ch.counts
	h.ch.evict(later) // a socket is open: nothing goes
	if v, cv := count(); v != 1 || cv != 1 {
		t.Fatalf("with a socket open: %d visitors, %d conversations; want 1, 1", v, cv)
	}
	c.ws.Close()
	for deadline := time.Now().Add(waitLimit); ; {
		if time.Now().After(deadline) {
			t.Fatal("the closed socket was never unregistered")
		}
		if n, _ := h.ch.visitorState("demo", w.Visitor); n == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.ch.evict(later)
	if v, cv := count(); v != 0 || cv != 0 {
		t.Fatalf("idle: %d visitors, %d conversations; want 0, 0 (conversation %s)", v, cv, ack.ConversationID)
	}
}

func TestOtherTabsAndResolvedConversation(t *testing.T) {
	b := newBus(t)
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	tab1 := h.dial(t, "")
	w := tab1.hello("demo", "support", "", nil)
	tab2 := h.dial(t, "")
	tab2.hello("demo", "support", w.Token, nil)
	tab1.message("m1", "from tab one")
	ack := tab1.next("ack")
	if f := tab2.next("message"); f.MessageID != ack.MessageID || f.ClientID != "m1" || f.From != "visitor" {
		t.Fatalf("tab two got %+v, want the echo of m1", f)
	}

	// The agent resolves; the visitor's next message opens a new conversation.
	e, err := event.New(event.ConversationResolved, "demo", &event.ConversationResolvedData{AgentID: "a1"},
		event.WithConversation(ack.ConversationID))
	if err != nil {
		t.Fatal(err)
	}
	m, err := event.ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), event.TopicConversations, m); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(waitLimit); ; time.Sleep(10 * time.Millisecond) {
		if _, cur := h.ch.visitorState("demo", w.Visitor); cur == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("conversation.resolved never folded")
		}
	}
	tab2.message("m2", "one more question")
	a2 := tab2.next("ack")
	if a2.ConversationID == ack.ConversationID {
		t.Fatalf("message after resolve went to the resolved conversation %s", a2.ConversationID)
	}
	if n := len(ofType(drain(t, b, event.TopicConversations), event.ConversationQueued)); n != 2 {
		t.Fatalf("%d conversation.queued, want 2", n)
	}
}

// TestAcceptedRecordsOutliveTheAck: a message is acknowledged once it is
// durable, and its record in the state log (the client id kept across a
// restart) is written after, in batches; every record of an acknowledged
// message is on the bus once Run has returned, even those still queued
// when it was stopped.
func TestAcceptedRecordsOutliveTheAck(t *testing.T) {
	b := &gatedBus{Bus: newBus(t), topic: DefaultStateTopic}
	cfg := baseConfig(t, t.TempDir())
	cfg.MessageBurst, cfg.MessageRate, cfg.IPMessageBurst, cfg.IPMessageRate = 100, 100, 100, 100
	h := startHub(t, b, cfg)
	c := h.dial(t, "")
	c.hello("demo", "support", "", nil)
	release := b.close()
	want := map[string]bool{}
	for i := range 40 {
		id := "burst-" + strconv.Itoa(i)
		c.message(id, "message "+strconv.Itoa(i))
		want[id] = true
	}
	// Acknowledged while the state log takes nothing.
	for range 40 {
		if a := c.next("ack"); !want[a.ClientID] {
			t.Fatalf("unexpected ack %+v", a)
		}
	}
	stopped := make(chan struct{})
	go func() {
		h.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		t.Fatal("Run returned with records still unwritten")
	case <-time.After(100 * time.Millisecond): // not a timing assertion: Run must not return at all before release
	}
	release()
	<-stopped

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	sentinel := "sentinel-" + randomID()
	if err := b.Publish(ctx, DefaultStateTopic, bus.Message{Key: []byte("test"), Value: []byte(sentinel)}); err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscribe(ctx, DefaultStateTopic, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("read the state log: %v", err)
		}
		if string(d.Value) == sentinel {
			break
		}
		var a accepted
		if json.Unmarshal(d.Value, &a) == nil && a.Kind == "accepted" {
			delete(want, a.ClientID)
		}
	}
	if len(want) > 0 {
		t.Fatalf("no accepted record for %d acknowledged messages: %v", len(want), want)
	}
}

// gatedBus holds publishes to one topic, once closed, until released.
type gatedBus struct {
	bus.Bus
	topic string
	gate  atomic.Pointer[chan struct{}]
}

// close makes publishes to the topic wait; the returned func lets them go.
func (g *gatedBus) close() (release func()) {
	ch := make(chan struct{})
	g.gate.Store(&ch)
	return func() { close(ch) }
}

func (g *gatedBus) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	if gate := g.gate.Load(); gate != nil && topic == g.topic {
		select {
		case <-*gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Bus.Publish(ctx, topic, msgs...)
}

// TestDeliveredRecordsAfterAStalledBus: replies reach the visitor while
// the bus takes no conversation events, and once it does again every
// reply's message.delivered is published (batched by deliveredLoop).
func TestDeliveredRecordsAfterAStalledBus(t *testing.T) {
	b := &gatedBus{Bus: newBus(t), topic: event.TopicConversations}
	h := startHub(t, b, baseConfig(t, t.TempDir()))
	c := h.dial(t, "")
	c.hello("demo", "support", "", nil)
	c.message("m1", "hello")
	ack := c.next("ack")
	release := b.close()
	for _, id := range []string{"r1", "r2", "r3"} {
		reply(t, b.Bus, "demo", ack.ConversationID, id, "answer "+id)
	}
	got := map[string]bool{}
	for len(got) < 3 {
		got[c.next("message").MessageID] = true
	}
	release()
	waitFor(t, b, event.TopicConversations, "message.delivered of r1, r2 and r3", func(evs []*event.Envelope) bool {
		d := deliveredIDs(t, evs)
		return d["r1"] && d["r2"] && d["r3"]
	})
}

func TestHistoryKeepsTheNewestMessages(t *testing.T) {
	b := newBus(t)
	cfg := baseConfig(t, t.TempDir())
	cfg.HistoryPerConversation = 5
	h := startHub(t, b, cfg)
	c := h.dial(t, "")
	w := c.hello("demo", "support", "", nil)
	c.message("m1", "hello")
	ack := c.next("ack")
	c.ws.Close()

	// Far more replies than a history holds, each with its own text, so
	// a field read from the wrong entry shows.
	const replies = 40
	id := func(n int) string { return fmt.Sprintf("r%02d", n) }
	for n := 1; n <= replies; n++ {
		reply(t, b, "demo", ack.ConversationID, id(n), "reply number "+id(n))
	}
	k := tkey{"demo", ack.ConversationID}
	cs := h.ch.convShard(k)
	var ids []string
	for deadline := time.Now().Add(5 * time.Second); ; {
		cs.mu.Lock()
		ids = ids[:0]
		h := &cs.convs[k].hist
		for n := range h.len() {
			ids = append(ids, h.messageID(n))
			if h.find(h.messageID(n)) != n {
				t.Fatalf("entry %d (%s) is not found by its id", n, h.messageID(n))
			}
		}
		cs.mu.Unlock()
		if len(ids) > 0 && ids[len(ids)-1] == id(replies) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history never got %s: %v", id(replies), ids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := []string{id(36), id(37), id(38), id(39), id(40)}
	if !slices.Equal(ids, want) {
		t.Fatalf("history = %v, want %v", ids, want)
	}
	c2 := h.dial(t, "")
	c2.hello("demo", "support", w.Token, nil)
	for _, wid := range want {
		f := c2.next("message")
		if f.MessageID != wid || f.Text != "reply number "+wid || f.From != "agent" || f.AgentName != "Alice" || f.ClientID != "" {
			t.Fatalf("replayed %+v, want %s", f, wid)
		}
	}
}
