package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
)

// waitLimit bounds how long a test waits for something to happen on the
// bus; it is a safety net against a hang, never a measured assertion.
const waitLimit = 30 * time.Second

const testPassword = "correct-horse-battery-42"

// env is a running hub: embedded bus, auth, a router and the inbox, served
// on a real 127.0.0.1 listener.
type env struct {
	t      *testing.T
	bus    bus.Bus
	srv    *httptest.Server
	inbox  *Inbox
	auth   *auth.Auth
	rcfg   routing.Config
	ids    map[string]string // login -> account id, "tenant/login"
	bodies *bodies
}

// bodies records every response body, to check no tenant's data leaks.
type bodies struct {
	mu  sync.Mutex
	all [][]byte
}

func (b *bodies) add(p []byte) {
	b.mu.Lock()
	b.all = append(b.all, p)
	b.mu.Unlock()
}

type user struct {
	e      *env
	tenant string
	login  string
	id     string
	cookie string
	csrf   string
}

type response struct {
	status int
	body   []byte
}

func (r response) detail(t *testing.T) Detail {
	t.Helper()
	var d Detail
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return d
}

func (r response) reply(t *testing.T) replyOut {
	t.Helper()
	var out replyOut
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return out
}

func (r response) code() string {
	var b api.ErrorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (u *user) do(method, path string, body any) response {
	u.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			u.e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, u.e.srv.URL+path, rd)
	if err != nil {
		u.e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.cookie != "" {
		req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: u.cookie})
	}
	if u.csrf != "" && method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", u.csrf)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		u.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if u.tenant != "other" {
		u.e.bodies.add(raw)
	}
	return response{status: res.StatusCode, body: raw}
}

// must sends a request and fails the test unless it answers want.
func (u *user) must(want int, method, path string, body any) response {
	u.e.t.Helper()
	r := u.do(method, path, body)
	if r.status != want {
		u.e.t.Fatalf("%s %s as %s: %d %s, want %d", method, path, u.login, r.status, r.body, want)
	}
	return r
}

func (e *env) login(tenant, login, password string) *user {
	e.t.Helper()
	u := &user{e: e, tenant: tenant, login: login}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/auth/login",
		strings.NewReader(`{"tenant":"`+tenant+`","login":"`+login+`","password":"`+password+`"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var v struct {
		Account   auth.Account `json:"account"`
		CSRFToken string       `json:"csrf_token"`
	}
	if res.StatusCode != 200 {
		raw, _ := io.ReadAll(res.Body)
		e.t.Fatalf("login %s/%s: %d %s", tenant, login, res.StatusCode, raw)
	}
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		e.t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.Name == auth.CookieName {
			u.cookie = c.Value
		}
	}
	u.id, u.csrf = v.Account.ID, v.CSRFToken
	return u
}

// startEnv builds the hub with tenants acme (agents agent1, agent2;
// supervisor, analyst, admin) and other (agent o1).
func startEnv(t *testing.T) (*env, map[string]*user) {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir()}, nil)
	if err != nil {
		t.Fatalf("open bus: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	a, err := auth.New(auth.Config{Hash: auth.HashParams{Memory: 8 * 1024, Time: 1, Threads: 1}}, b, nil)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, bus.ErrClosed) {
				t.Errorf("%s Run: %v", name, err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	run("auth", a.Run)
	mux := http.NewServeMux()
	a.Routes(mux)
	e := &env{t: t, bus: b, bodies: &bodies{}}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)

	boot, created, err := a.EnsureBootstrap(ctx)
	if err != nil || !created {
		t.Fatalf("EnsureBootstrap = %v, %v", created, err)
	}
	op := e.login(boot.Tenant, boot.Login, boot.Password)
	users := map[string]*user{}
	for _, tn := range []string{"acme", "other"} {
		op.must(201, "POST", "/api/v1/tenants", map[string]any{"id": tn, "name": tn, "language": "en", "time_zone": "UTC"})
	}
	accounts := []struct{ tenant, login, role string }{
		{"acme", "agent1", "agent"}, {"acme", "agent2", "agent"}, {"acme", "super", "supervisor"},
		{"acme", "analyst", "analyst"}, {"acme", "admin", "admin"}, {"other", "o1", "agent"},
	}
	for _, ac := range accounts {
		op.must(201, "POST", "/api/v1/tenants/"+ac.tenant+"/accounts",
			map[string]any{"login": ac.login, "role": ac.role, "password": testPassword})
		u := e.login(ac.tenant, ac.login, testPassword)
		users[ac.login] = u
	}
	chat := map[string]int{"chat": 3}
	rcfg := routing.Config{RouterID: "test-router", Tenants: []routing.TenantConfig{
		{ID: "acme", Queues: []routing.QueueConfig{{ID: "support"}, {ID: "billing"}},
			Agents: []routing.AgentConfig{
				{ID: users["agent1"].id, Name: "agent1", Capacity: chat},
				{ID: users["agent2"].id, Name: "agent2", Capacity: chat},
			}},
		{ID: "other", Queues: []routing.QueueConfig{{ID: "support"}},
			Agents: []routing.AgentConfig{{ID: users["o1"].id, Name: "o1", Capacity: chat}}},
	}}
	r, err := routing.New(rcfg, b, slogDiscard())
	if err != nil {
		t.Fatalf("routing.New: %v", err)
	}
	run("router", r.Run)
	in, err := New(Config{Routing: rcfg, ReaderID: "test"}, b, a, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.inbox, e.auth, e.rcfg = in, a, rcfg
	run("inbox", in.Run)
	in.Routes(mux)
	waitFor(t, "inbox and router caught up", func() bool {
		return in.Synced("acme") && in.Synced("other") && r.Synced("acme") && r.Synced("other")
	})
	return e, users
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// queueChat publishes a visitor's first message the way channels/chat
// does: conversation.queued then message.received, one Publish.
func (e *env) queueChat(tenant, convID, queue, visitor, name, text string) {
	e.t.Helper()
	opts := []event.Option{event.WithConversation(convID), event.WithChannel(event.ChannelChat),
		event.WithSource("/channels/chat"), event.WithSubject(visitor)}
	qe, err := event.New(event.ConversationQueued, tenant, &event.ConversationQueuedData{Queue: queue}, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	re, err := event.New(event.MessageReceived, tenant, &event.MessageReceivedData{
		MessageID: "msg-" + convID, From: event.Address{Address: visitor, Name: name},
		To: []event.Address{{Address: queue}}, Text: text}, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	var msgs []bus.Message
	for _, ev := range []*event.Envelope{qe, re} {
		m, err := event.ToMessage(ev)
		if err != nil {
			e.t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if err := e.bus.Publish(context.Background(), event.TopicConversations, msgs...); err != nil {
		e.t.Fatal(err)
	}
}

// delivered publishes the chat channel's message.delivered for a reply.
func (e *env) delivered(tenant, convID, msgID string) {
	e.t.Helper()
	de, err := event.New(event.MessageDelivered, tenant, &event.MessageDeliveredData{
		MessageID: msgID, Status: event.DeliveryDelivered, Attempts: 1},
		event.WithConversation(convID), event.WithChannel(event.ChannelChat), event.WithSource("/channels/chat"))
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := event.ToMessage(de)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.bus.Publish(context.Background(), event.TopicConversations, m); err != nil {
		e.t.Fatal(err)
	}
}

// conv reads a conversation through the API as u.
func (u *user) conv(id string) Detail {
	u.e.t.Helper()
	return u.must(200, "GET", "/api/v1/tenants/"+u.tenant+"/conversations/"+id, nil).detail(u.e.t)
}

// list reads a conversation list as u.
func (u *user) list(query string) []Summary {
	u.e.t.Helper()
	r := u.must(200, "GET", "/api/v1/tenants/"+u.tenant+"/conversations?"+query, nil)
	var v struct {
		Conversations []Summary `json:"conversations"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		u.e.t.Fatal(err)
	}
	return v.Conversations
}

func (u *user) path(rest string) string { return "/api/v1/tenants/" + u.tenant + "/" + rest }

// socket is an agent's live WebSocket; frames are read into a channel,
// and the read error that ended them (the close) into closed.
type socket struct {
	conn   *websocket.Conn
	frames chan map[string]any
	closed chan error
	id     string // from the hello frame
}

func (u *user) dial() *socket {
	u.e.t.Helper()
	h := http.Header{}
	h.Set("Cookie", auth.CookieName+"="+u.cookie)
	h.Set("Origin", u.e.srv.URL)
	url := "ws" + strings.TrimPrefix(u.e.srv.URL, "http") + u.path("ws")
	conn, res, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		u.e.t.Fatalf("dial %s: %v (%v)", url, err, res)
	}
	s := &socket{conn: conn, frames: make(chan map[string]any, 1024), closed: make(chan error, 1)}
	go func() {
		defer close(s.frames)
		for {
			var v map[string]any
			if err := conn.ReadJSON(&v); err != nil {
				s.closed <- err
				return
			}
			s.frames <- v
		}
	}()
	u.e.t.Cleanup(func() { _ = conn.Close() })
	// The socket is registered once the server queues its hello frame, the
	// first: only what is folded from then on reaches it, so the browser
	// (and a test) acts on it once hello is read.
	select {
	case f, ok := <-s.frames:
		id, _ := f["socket_id"].(string)
		if !ok || f["type"] != "hello" || id == "" || len(f) != 2 {
			u.e.t.Fatalf("first frame %v (open %v), want {type: hello, socket_id}", f, ok)
		}
		s.id = id
	case <-time.After(waitLimit):
		u.e.t.Fatal("gave up waiting for the hello frame")
	}
	return s
}

// await reads frames until one satisfies match.
func (s *socket) await(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	limit := time.After(waitLimit)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				t.Fatalf("socket closed while waiting for %s", what)
			}
			if match(f) {
				return f
			}
		case <-limit:
			t.Fatalf("gave up waiting for %s on the socket", what)
		}
	}
}

// awaitAll reads frames until each matcher has matched one, in any order:
// the view folds topics on separate readers.
func (s *socket) awaitAll(t *testing.T, what string, matchers ...func(map[string]any) bool) {
	t.Helper()
	left := slices.Clone(matchers)
	limit := time.After(waitLimit)
	for len(left) > 0 {
		select {
		case f, ok := <-s.frames:
			if !ok {
				t.Fatalf("socket closed while waiting for %s", what)
			}
			for n, m := range left {
				if m(f) {
					left = slices.Delete(left, n, n+1)
					break
				}
			}
		case <-limit:
			t.Fatalf("gave up waiting for %s on the socket", what)
		}
	}
}

// convFrame matches a conversation frame of id with status.
func convFrame(id, status string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		c, _ := f["conversation"].(map[string]any)
		return f["type"] == "conversation" && c["id"] == id && c["status"] == status
	}
}
