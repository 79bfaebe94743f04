package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
)

// waitLimit bounds every wait so a broken test fails instead of hanging; it
// is never what a test asserts.
const waitLimit = 20 * time.Second

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newBus opens an embedded bus with one partition per topic, so drain can
// tell where a topic ends.
func newBus(t testing.TB) *embedded.Bus {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Partitions: 1}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func baseConfig(t testing.TB, dir string) Config {
	return Config{
		SecretFile: filepath.Join(dir, "chat.secret"),
		Tenants: []TenantConfig{
			{ID: "demo", Queues: []QueueConfig{{Name: "support", Priority: 2, Skills: []string{"lang:fr"}}}},
			{ID: "acme", AllowedOrigins: []string{"https://acme.example"}, Queues: []QueueConfig{{Name: "sales"}}},
		},
	}
}

// hub is one running channel behind an HTTP test server.
type hub struct {
	ch     *Channel
	srv    *httptest.Server
	cancel context.CancelFunc
	done   chan error
}

func startHub(t testing.TB, b bus.Bus, cfg Config) *hub {
	t.Helper()
	ch, err := New(cfg, b, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &hub{ch: ch, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- ch.Run(ctx) }()
	select {
	case <-ch.Ready():
	case err := <-h.done:
		t.Fatalf("Run ended before ready: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("channel not ready")
	}
	h.srv = httptest.NewServer(ch.Handler())
	t.Cleanup(h.stop)
	return h
}

func (h *hub) stop() {
	if h.srv == nil {
		return
	}
	h.srv.CloseClientConnections()
	h.srv.Close()
	h.srv = nil
	h.cancel()
	<-h.done
}

type client struct {
	t       testing.TB
	ws      *websocket.Conn
	pending []frame // read while looking for another type
}

func (h *hub) dial(t testing.TB, origin string) *client {
	t.Helper()
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/chat/ws"
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	ws, _, err := websocket.DefaultDialer.Dial(u, hdr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

type frame struct {
	Type           string `json:"type"`
	Token          string `json:"token"`
	Visitor        string `json:"visitor"`
	ConversationID string `json:"conversation_id"`
	Open           bool   `json:"open"`
	OpenUntil      string `json:"open_until"`
	NextOpen       string `json:"next_open"`
	Holiday        string `json:"holiday"`
	ClientID       string `json:"client_id"`
	MessageID      string `json:"message_id"`
	Seq            int64  `json:"seq"`
	From           string `json:"from"`
	AgentName      string `json:"agent_name"`
	Text           string `json:"text"`
	Active         bool   `json:"active"`
	Code           string `json:"code"`
	Message        string `json:"message"`
}

// read returns the next frame, or the close error.
func (c *client) read() (frame, error) {
	c.ws.SetReadDeadline(time.Now().Add(waitLimit))
	var f frame
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("server sent non-JSON %q: %w", data, err)
	}
	return f, nil
}

// next returns the first frame of type typ, in arrival order; frames of
// other types are kept for later calls. It fails on a close.
func (c *client) next(typ string) frame {
	c.t.Helper()
	for i, f := range c.pending {
		if f.Type == typ {
			c.pending = append(c.pending[:i], c.pending[i+1:]...)
			return f
		}
	}
	for {
		f, err := c.read()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f.Type == typ {
			return f
		}
		c.pending = append(c.pending, f)
	}
}

// closed reads until the server closes and returns the close code.
func (c *client) closed() int {
	c.t.Helper()
	for {
		_, err := c.read()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			c.t.Fatalf("expected a close frame, got %v", err)
		}
	}
}

func (c *client) hello(tenant, queue, token string, lastSeq *int64) frame {
	c.t.Helper()
	m := map[string]any{"type": "hello", "tenant": tenant, "queue": queue, "lang": "fr"}
	if token != "" {
		m["token"] = token
	}
	if lastSeq != nil {
		m["last_seq"] = *lastSeq
	}
	c.send(m)
	return c.next("welcome")
}

func (c *client) message(clientID, text string) {
	c.send(map[string]any{"type": "message", "client_id": clientID, "text": text})
}

// drain returns every event on topic, read up to a sentinel published
// after everything else (topics have one partition in these tests).
func drain(t *testing.T, b bus.Bus, topic string) []*event.Envelope {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	sentinel := "sentinel-" + randomID()
	if err := b.Publish(ctx, topic, bus.Message{Key: []byte("test"), Value: []byte(sentinel)}); err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var out []*event.Envelope
	for {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("drain %s: %v", topic, err)
		}
		if string(d.Value) == sentinel {
			return out
		}
		if e, err := event.FromMessage(&d.Message); err == nil {
			out = append(out, e)
		}
	}
}

func ofType(evs []*event.Envelope, typ string) []*event.Envelope {
	var out []*event.Envelope
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// waitFor drains topic until cond holds for its events.
func waitFor(t *testing.T, b bus.Bus, topic string, what string, cond func([]*event.Envelope) bool) []*event.Envelope {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		evs := drain(t, b, topic)
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("never saw %s on %s", what, topic)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reply publishes an agent's message.sent to the outbox.
func reply(t *testing.T, b bus.Bus, tenant, convID, id, text string) {
	t.Helper()
	e, err := event.New(event.MessageSent, tenant, &event.MessageSentData{
		MessageID: id, AgentID: "a1", From: event.Address{Address: "agent-a1", Name: "Alice"},
		To: []event.Address{{Address: "visitor"}}, Text: text,
	}, event.WithConversation(convID), event.WithChannel(event.ChannelChat), event.WithID("sent-"+id))
	if err != nil {
		t.Fatal(err)
	}
	m, err := event.ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), event.TopicOutbox, m); err != nil {
		t.Fatal(err)
	}
}

func statMode(p string) (os.FileMode, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return fi.Mode().Perm(), nil
}

// counts returns how many visitors and conversations the channel holds.
func (c *Channel) counts() (visitors, convs int) {
	for i := range c.vshards {
		vs := &c.vshards[i]
		vs.mu.Lock()
		visitors += len(vs.visitors)
		vs.mu.Unlock()
	}
	for i := range c.cshards {
		cs := &c.cshards[i]
		cs.mu.Lock()
		convs += len(cs.convs)
		cs.mu.Unlock()
	}
	return visitors, convs
}

// visitorState returns a known visitor's open sockets and conversation.
func (c *Channel) visitorState(tenant, id string) (socks int, current string) {
	k := tkey{tenant, id}
	vs := c.visitorShard(k)
	vs.mu.Lock()
	defer vs.mu.Unlock()
	v := vs.visitors[k]
	return len(v.socks), v.current
}
