package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// offeredTo waits until conversation id is offered to one of agents and
// returns that agent.
func offeredTo(t *testing.T, id string, agents ...*user) *user {
	t.Helper()
	var got *user
	waitFor(t, "an offer of "+id, func() bool {
		for _, a := range agents {
			for _, s := range a.list("view=mine&status=offered") {
				if s.ID == id && s.Offer != nil && s.Offer.AgentID == a.id {
					got = a
					return true
				}
			}
		}
		return false
	})
	return got
}

// countSent reads the outbox from its start and counts message.sent
// events with id, up to a sentinel published after them.
func countSent(t *testing.T, e *env, tenant, convID, id string) (int, *event.Envelope) {
	t.Helper()
	sentinel := []byte("sentinel-" + id)
	if err := e.bus.Publish(context.Background(), event.TopicOutbox,
		bus.Message{Key: []byte(tenant + "/" + convID), Value: sentinel}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	sub, err := e.bus.Subscribe(ctx, event.TopicOutbox, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	n := 0
	var found *event.Envelope
	for {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("read outbox: %v", err)
		}
		if bytes.Equal(d.Value, sentinel) {
			return n, found
		}
		ev, err := event.FromMessage(&d.Message)
		if err == nil && ev.ID == id && ev.Type == event.MessageSent {
			n++
			found = ev
		}
	}
}

func TestConversationFlow(t *testing.T) {
	e, u := startEnv(t)
	a1, a2, sup := u["agent1"], u["agent2"], u["super"]
	ws := a1.dial()

	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	var me meView
	if err := json.Unmarshal(a1.must(200, "GET", a1.path("me"), nil).body, &me); err != nil {
		t.Fatal(err)
	}
	if !me.Agent || me.Presence != event.PresenceAvailable || me.Capacity["chat"].Capacity != 3 {
		t.Fatalf("me = %+v", me)
	}

	e.queueChat("acme", "conv-1", "support", "visitor-1", "Jane Visitor", "Hello, my order is late")
	if got := offeredTo(t, "conv-1", a1); got != a1 {
		t.Fatalf("offered to %v", got)
	}
	ws.awaitAll(t, "the offer of conv-1 and the visitor's message", convFrame("conv-1", StatusOffered), func(f map[string]any) bool {
		en, _ := f["entry"].(map[string]any)
		return f["type"] == "message" && f["conversation_id"] == "conv-1" && en["text"] == "Hello, my order is late"
	})

	d := a1.must(200, "POST", a1.path("conversations/conv-1/accept"), nil).detail(t)
	if d.Status != StatusAssigned || d.AgentID != a1.id || d.Customer.Name != "Jane Visitor" || len(d.Thread) != 1 {
		t.Fatalf("after accept: %+v", d)
	}
	ws.await(t, "assignment of conv-1", convFrame("conv-1", StatusAssigned))
	// Accepting again: the offer is gone.
	if r := a1.do("POST", a1.path("conversations/conv-1/accept"), nil); r.status != 409 {
		t.Fatalf("second accept: %d %s", r.status, r.body)
	}

	reply := map[string]any{"client_id": "c-1", "text": "Sorry, let me check."}
	out := a1.must(200, "POST", a1.path("conversations/conv-1/messages"), reply).reply(t)
	if out.Entry.Direction != DirectionOut || out.Entry.AgentID != a1.id || out.Entry.Text != "Sorry, let me check." ||
		out.Conversation.ID != "conv-1" || out.Conversation.Messages != 2 {
		t.Fatalf("answer to the reply: %+v", out)
	}
	replyID := out.Entry.MessageID
	again := a1.must(200, "POST", a1.path("conversations/conv-1/messages"), reply).reply(t)
	if again.Entry.MessageID != replyID || again.Conversation.Messages != 2 {
		t.Fatalf("double submit: %+v, want the same reply %s and 2 messages", again, replyID)
	}
	d = a1.must(200, "GET", a1.path("conversations/conv-1"), nil).detail(t)
	if len(d.Thread) != 2 || d.Thread[1].MessageID != replyID || d.Thread[1].AgentID != a1.id {
		t.Fatalf("thread after reply and double submit: %+v", d.Thread)
	}
	// The channel delivers it: the agent's socket gets the reply again,
	// now delivered, in a message frame (the open conversation takes it in
	// place, without reading the conversation again).
	e.delivered("acme", "conv-1", replyID)
	ws.await(t, "the delivered reply", func(f map[string]any) bool {
		en, _ := f["entry"].(map[string]any)
		return f["type"] == "message" && f["conversation_id"] == "conv-1" && en["message_id"] == replyID && en["delivered"] == true
	})
	n, sent := countSent(t, e, "acme", "conv-1", replyID)
	if n != 1 {
		t.Fatalf("message.sent events for one client id = %d, want 1", n)
	}
	if sent.ConversationID != "conv-1" || sent.Channel != event.ChannelChat || sent.Tenant != "acme" {
		t.Fatalf("message.sent envelope: %+v", sent)
	}
	p, err := sent.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if ms := p.(*event.MessageSentData); ms.To[0].Address != "visitor-1" || ms.Text != "Sorry, let me check." || ms.ClientMessageID != "c-1" {
		t.Fatalf("message.sent data: %+v", ms)
	}

	d = a1.must(200, "POST", a1.path("conversations/conv-1/notes"), map[string]any{"text": "VIP customer"}).detail(t)
	if len(d.Notes) != 1 || d.Notes[0].Text != "VIP customer" || d.Notes[0].AgentID != a1.id {
		t.Fatalf("notes: %+v", d.Notes)
	}
	// A note with a client id, sent twice (a retry after a lost answer),
	// is added once.
	for range 2 {
		d = a1.must(200, "POST", a1.path("conversations/conv-1/notes"), map[string]any{"client_id": "n-1", "text": "called back at 14:00"}).detail(t)
	}
	if len(d.Notes) != 2 || d.Notes[1].Text != "called back at 14:00" {
		t.Fatalf("notes after a repeated client_id: %+v", d.Notes)
	}

	// Transfer to agent2, who must be available.
	a2.must(200, "PUT", a2.path("me/presence"), map[string]any{"presence": "available"})
	ws2 := a2.dial()
	d = a1.must(200, "POST", a1.path("conversations/conv-1/transfer"), map[string]any{"to_agent": a2.id, "note": "billing question"}).detail(t)
	if d.Status != StatusAssigned || d.AgentID != a2.id {
		t.Fatalf("after transfer: %+v", d.Summary)
	}
	ws2.await(t, "conv-1 assigned to agent2", convFrame("conv-1", StatusAssigned))
	if got := a2.list("view=mine"); len(got) != 1 || got[0].ID != "conv-1" {
		t.Fatalf("agent2 mine = %+v", got)
	}
	if got := a1.list("view=mine"); len(got) != 0 {
		t.Fatalf("agent1 mine after transfer = %+v", got)
	}
	// agent1 is told it left their inbox; they may no longer reply.
	ws.await(t, "conv-1 leaving agent1", func(f map[string]any) bool {
		c, _ := f["conversation"].(map[string]any)
		return f["type"] == "conversation" && c["id"] == "conv-1" && c["agent_id"] == a2.id
	})
	if r := a1.do("POST", a1.path("conversations/conv-1/messages"), map[string]any{"client_id": "c-2", "text": "hi"}); r.status != 403 {
		t.Fatalf("reply by the former agent: %d %s", r.status, r.body)
	}

	d = a2.must(200, "POST", a2.path("conversations/conv-1/resolve"), nil).detail(t)
	if d.Status != StatusResolved {
		t.Fatalf("after resolve: %+v", d.Summary)
	}
	ws2.await(t, "conv-1 resolved", convFrame("conv-1", StatusResolved))
	if r := a2.do("POST", a2.path("conversations/conv-1/resolve"), nil); r.status != 409 {
		t.Fatalf("second resolve: %d %s", r.status, r.body)
	}
	d = a2.must(200, "POST", a2.path("conversations/conv-1/reopen"), nil).detail(t)
	if d.Status != StatusWaiting && d.Status != StatusOffered {
		t.Fatalf("after reopen: %+v", d.Summary)
	}
	offeredTo(t, "conv-1", a1, a2)

	// Supervisors see everything.
	found := false
	for _, s := range sup.list("view=all") {
		found = found || s.ID == "conv-1"
	}
	if !found {
		t.Fatal("supervisor's view=all lacks conv-1")
	}
}

func TestDeclineMovesOffer(t *testing.T) {
	e, u := startEnv(t)
	a1, a2 := u["agent1"], u["agent2"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	a2.must(200, "PUT", a2.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "conv-d", "support", "visitor-d", "Dan", "hello")
	first := offeredTo(t, "conv-d", a1, a2)
	next := a2
	if first == a2 {
		next = a1
	}
	d := first.must(200, "POST", first.path("conversations/conv-d/decline"), nil).detail(t)
	if d.Status == StatusOffered && d.Offer.AgentID == first.id {
		t.Fatalf("still offered to the decliner: %+v", d.Summary)
	}
	if got := offeredTo(t, "conv-d", next); got != next {
		t.Fatalf("offer went to %v", got)
	}
	if r := first.do("POST", first.path("conversations/conv-d/decline"), nil); r.status != 403 && r.status != 409 {
		t.Fatalf("decline of an offer not theirs: %d %s", r.status, r.body)
	}
	// Going away withdraws the offer; accepting it then is a conflict.
	next.must(200, "PUT", next.path("me/presence"), map[string]any{"presence": "away"})
	if r := next.do("POST", next.path("conversations/conv-d/accept"), nil); r.status != 409 && r.status != 403 {
		t.Fatalf("accept of a withdrawn offer: %d %s", r.status, r.body)
	}
}

func TestMalformedBodies(t *testing.T) {
	e, u := startEnv(t)
	a1 := u["agent1"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "conv-m", "support", "visitor-m", "Mo", "hi")
	offeredTo(t, "conv-m", a1)
	a1.must(200, "POST", a1.path("conversations/conv-m/accept"), nil)
	cases := []struct {
		name, method, path string
		body               any
	}{
		{"not json", "POST", "conversations/conv-m/messages", "{"},
		{"unknown field", "POST", "conversations/conv-m/messages", `{"client_id":"x","text":"y","extra":1}`},
		{"wrong type", "POST", "conversations/conv-m/messages", `{"client_id":1,"text":"y"}`},
		{"empty text", "POST", "conversations/conv-m/messages", `{"client_id":"x","text":"  "}`},
		{"no client id", "POST", "conversations/conv-m/messages", `{"text":"y"}`},
		{"trailing data", "POST", "conversations/conv-m/notes", `{"text":"y"} {}`},
		{"empty body", "POST", "conversations/conv-m/notes", ""},
		{"array", "POST", "conversations/conv-m/notes", `[]`},
		{"no target", "POST", "conversations/conv-m/transfer", `{"note":"x"}`},
		{"unknown queue", "POST", "conversations/conv-m/transfer", `{"to_queue":"nope"}`},
		{"unknown agent", "POST", "conversations/conv-m/transfer", `{"to_agent":"nope"}`},
		{"bad presence", "PUT", "me/presence", `{"presence":"sleeping"}`},
		{"bad view", "GET", "conversations?view=everything", nil},
		{"bad status", "GET", "conversations?status=done", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a1.do(tc.method, a1.path(tc.path), tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400", r.status, r.body)
			}
			if r.code() == "" {
				t.Fatalf("no error code in %s", r.body)
			}
		})
	}
	if d := a1.conv("conv-m"); len(d.Thread) != 1 || len(d.Notes) != 0 {
		t.Fatalf("a rejected request changed the conversation: %+v", d)
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	e, u := startEnv(t)
	a1, a2, o1 := u["agent1"], u["agent2"], u["o1"]
	// own: assigned to agent1; theirs: assigned to agent2; foreign: tenant other.
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "own", "support", "visitor-a", "Alice", "hi")
	offeredTo(t, "own", a1)
	a1.must(200, "POST", a1.path("conversations/own/accept"), nil)
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "away"})
	a2.must(200, "PUT", a2.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "theirs", "support", "visitor-b", "Bob", "hi")
	offeredTo(t, "theirs", a2)
	a2.must(200, "POST", a2.path("conversations/theirs/accept"), nil)
	o1.must(200, "PUT", o1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("other", "foreign", "support", "visitor-secret", "Secret Customer", "confidential")
	offeredTo(t, "foreign", o1)

	roles := []string{"agent1", "super", "analyst", "admin"}
	type want map[string]int
	all := func(s int) want { return want{"agent1": s, "super": s, "analyst": s, "admin": s} }
	n := 0
	body := func(kind string) any {
		n++
		switch kind {
		case "msg":
			return map[string]any{"client_id": fmt.Sprintf("m-%d", n), "text": "reply"}
		case "note":
			return map[string]any{"text": "a note"}
		case "xfer":
			return map[string]any{"to_agent": a1.id} // away: void
		case "presence":
			return map[string]any{"presence": "away"}
		case "tags":
			return map[string]any{"tags": []string{"vip", fmt.Sprintf("t%d", n)}}
		}
		return nil
	}
	cases := []struct {
		name, method, rest, body string
		own, theirs, foreign     want
	}{
		{"list all", "GET", "conversations?view=all", "",
			want{"agent1": 403, "super": 200, "analyst": 200, "admin": 200}, nil, all(404)},
		{"list mine", "GET", "conversations?view=mine", "", all(200), nil, all(404)},
		{"get", "GET", "conversations/%s", "",
			all(200), want{"agent1": 403, "super": 200, "analyst": 200, "admin": 200}, all(404)},
		{"accept", "POST", "conversations/%s/accept", "",
			want{"agent1": 409, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 403, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"decline", "POST", "conversations/%s/decline", "",
			want{"agent1": 409, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 403, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"reply", "POST", "conversations/%s/messages", "msg",
			want{"agent1": 200, "super": 200, "analyst": 403, "admin": 200},
			want{"agent1": 403, "super": 200, "analyst": 403, "admin": 200},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"note", "POST", "conversations/%s/notes", "note",
			want{"agent1": 200, "super": 200, "analyst": 403, "admin": 200},
			want{"agent1": 403, "super": 200, "analyst": 403, "admin": 200},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		// A transfer to agent1, who is away, is void in routing.
		{"transfer", "POST", "conversations/%s/transfer", "xfer", nil,
			want{"agent1": 403, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"reopen", "POST", "conversations/%s/reopen", "",
			want{"agent1": 409, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 403, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"resolve", "POST", "conversations/%s/resolve", "", nil,
			want{"agent1": 403, "super": 200, "analyst": 403, "admin": 409},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"tags", "PUT", "conversations/%s/tags", "tags",
			want{"agent1": 200, "super": 200, "analyst": 403, "admin": 200},
			want{"agent1": 403, "super": 200, "analyst": 403, "admin": 200},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		// Chats have no call to hold; recordings only of a call.recorded
		// (calls_test.go covers calls).
		{"hold", "POST", "conversations/%s/call/hold", "",
			want{"agent1": 409, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 403, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"resume", "POST", "conversations/%s/call/resume", "",
			want{"agent1": 409, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 403, "super": 409, "analyst": 403, "admin": 409},
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
		{"recording", "GET", "conversations/%s/recordings/abababababababababababababababababababababababababababababababab", "",
			all(404), want{"agent1": 403, "super": 404, "analyst": 404, "admin": 404}, all(404)},
		{"me", "GET", "me", "", all(200), nil, all(404)},
		{"presence", "PUT", "me/presence", "presence",
			want{"agent1": 200, "super": 403, "analyst": 403, "admin": 403}, nil,
			want{"agent1": 404, "super": 404, "analyst": 403, "admin": 404}},
	}
	targets := []struct {
		name, tenant, conv string
		pick               func(c int) want
	}{
		{"own", "acme", "own", func(c int) want { return cases[c].own }},
		{"theirs", "acme", "theirs", func(c int) want { return cases[c].theirs }},
		{"foreign", "other", "foreign", func(c int) want { return cases[c].foreign }},
	}
	for ci, tc := range cases {
		for _, tg := range targets {
			w := tg.pick(ci)
			if w == nil {
				continue
			}
			for _, role := range roles {
				rest := tc.rest
				if bytes.Contains([]byte(rest), []byte("%s")) {
					rest = string(bytes.Replace([]byte(rest), []byte("%s"), []byte(tg.conv), 1))
				}
				var b any
				if tc.body != "" {
					b = body(tc.body)
				}
				r := u[role].do(tc.method, "/api/v1/tenants/"+tg.tenant+"/"+rest, b)
				if r.status != w[role] {
					t.Errorf("%s %s on %s as %s: %d %s, want %d", tc.method, tc.name, tg.name, role, r.status, r.body, w[role])
				}
			}
		}
	}
	// A conversation id of another tenant under one's own tenant is absent.
	for _, role := range roles {
		if r := u[role].do("GET", "/api/v1/tenants/acme/conversations/foreign", nil); r.status != 404 {
			t.Errorf("other tenant's conversation id as %s: %d %s", role, r.status, r.body)
		}
	}
	// Unauthenticated and CSRF-less requests are refused by auth.
	anon := &user{e: e, tenant: "acme", login: "anonymous"}
	if r := anon.do("GET", anon.path("conversations"), nil); r.status != 401 {
		t.Errorf("anonymous: %d", r.status)
	}
	nocsrf := *a1
	nocsrf.csrf = ""
	if r := nocsrf.do("POST", a1.path("conversations/own/notes"), map[string]any{"text": "x"}); r.status != 403 {
		t.Errorf("without CSRF token: %d", r.status)
	}
	// Closed conversations leave the view once older than RetainClosed;
	// live ones stay.
	sup := u["super"]
	if n := e.inbox.evict(time.Now()); n != 0 {
		t.Errorf("evicted %d recent conversations", n)
	}
	if n := e.inbox.evict(time.Now().Add(DefaultRetainClosed + time.Hour)); n != 1 {
		t.Errorf("evicted %d conversations, want the resolved one", n)
	}
	sup.must(404, "GET", sup.path("conversations/theirs"), nil)
	sup.must(200, "GET", sup.path("conversations/own"), nil)
	// No acme response carried tenant other's data.
	e.bodies.mu.Lock()
	defer e.bodies.mu.Unlock()
	for _, b := range e.bodies.all {
		for _, secret := range []string{"visitor-secret", "Secret Customer", "confidential"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("a response leaks %q: %s", secret, b)
			}
		}
	}
}

func TestTypingSignals(t *testing.T) {
	e, u := startEnv(t)
	a1, a2 := u["agent1"], u["agent2"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "conv-t", "support", "visitor-t", "Tia", "hi")
	offeredTo(t, "conv-t", a1)
	a1.must(200, "POST", a1.path("conversations/conv-t/accept"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	sigs, err := e.bus.Subscribe(ctx, DefaultSignalsTopic, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sigs.Close()

	// agent2 may not type into agent1's conversation; agent1 may.
	ws2 := a2.dial()
	ws := a1.dial()
	for _, s := range []*socket{ws2, ws} {
		if err := s.conn.WriteJSON(map[string]any{"type": "typing", "conversation_id": "conv-t", "active": true}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := sigs.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s signalFrame
	if err := json.Unmarshal(d.Value, &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "conversation.typing" || s.From != "agent" || s.AgentID != a1.id || s.ConversationID != "conv-t" ||
		s.Tenant != "acme" || !s.Active || string(d.Key) != "acme/conv-t" {
		t.Fatalf("agent typing signal = %+v key %q", s, d.Key)
	}

	// A visitor's signal, in the chat channel's format, reaches agent1.
	raw, _ := json.Marshal(signalFrame{Type: "conversation.typing", Tenant: "acme", ConversationID: "conv-t",
		From: "visitor", Active: true, Time: time.Now().UTC()})
	if err := e.bus.Publish(ctx, DefaultSignalsTopic, bus.Message{Key: []byte("acme/conv-t"), Value: raw}); err != nil {
		t.Fatal(err)
	}
	ws.await(t, "the visitor typing", func(f map[string]any) bool {
		return f["type"] == "typing" && f["conversation_id"] == "conv-t" && f["from"] == "visitor" && f["active"] == true
	})
	// The next signal read is the visitor's: agent2's frame published nothing.
	d, err = sigs.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Value, raw) {
		t.Fatalf("unexpected signal %s", d.Value)
	}
}

func TestSocketOriginAndSlowClient(t *testing.T) {
	e, u := startEnv(t)
	a1 := u["agent1"]
	h := http.Header{}
	h.Set("Cookie", "hotline_session="+a1.cookie)
	h.Set("Origin", "http://evil.example")
	url := "ws" + e.srv.URL[len("http"):] + a1.path("ws")
	if _, res, err := websocket.DefaultDialer.Dial(url, h); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin socket: err %v, response %v", err, res)
	}
	h.Del("Cookie")
	h.Set("Origin", e.srv.URL)
	if _, res, err := websocket.DefaultDialer.Dial(url, h); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("socket without a session: err %v, response %v", err, res)
	}
	// A full send queue disconnecting the socket is webui/wsock's TestSlowReaderIsDisconnected.
}

func TestVoidFactsIgnored(t *testing.T) {
	e, u := startEnv(t)
	a1 := u["agent1"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "conv-v", "support", "visitor-v", "Vic", "hi")
	offeredTo(t, "conv-v", a1)
	a1.must(200, "POST", a1.path("conversations/conv-v/accept"), nil)
	a1.must(200, "POST", a1.path("conversations/conv-v/resolve"), nil)
	// A late abandon (the visitor closed the widget) after the resolution
	// is void in routing, and the view must not show it. It is written
	// as a router's copy would be, then a presence change is written
	// after it through the API, which answers once it is folded.
	ab, err := event.New(event.ConversationAbandoned, "acme", &event.ConversationAbandonedData{Queue: "support", Reason: event.AbandonCustomerLeft},
		event.WithConversation("conv-v"), event.WithChannel(event.ChannelChat))
	if err != nil {
		t.Fatal(err)
	}
	m, err := event.RoutingMessage(ab)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.bus.Publish(context.Background(), event.TopicRouting, m); err != nil {
		t.Fatal(err)
	}
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "away"})
	if d := a1.conv("conv-v"); d.Status != StatusResolved || d.AgentID != a1.id {
		t.Fatalf("after a void abandon: %+v", d.Summary)
	}
}

// TestClientDerivedIDIsNewSHA1 checks clientDerivedID against the uuid
// package's name-based ids, which made the ids already stored.
func TestClientDerivedIDIsNewSHA1(t *testing.T) {
	for _, in := range [][4]string{
		{"acme", "conv-1", "a-1", "c-1"},
		{"", "", "", ""},
		{"acme", "chat-conv-2ec3e47dcf05a139d895b271f899f0da", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "Привет\x00ещё"},
		{"acme", strings.Repeat("c", 300), "a", "x"}, // longer than the stack buffer
	} {
		for _, ns := range []uuid.UUID{replyNamespace, noteNamespace} {
			want := uuid.NewSHA1(ns, []byte(in[0]+"\x00"+in[1]+"\x00"+in[2]+"\x00"+in[3])).String()
			if got := clientDerivedID(ns, in[0], in[1], in[2], in[3]); got != want {
				t.Errorf("clientDerivedID(%s, %q) = %s, want %s", ns, in, got, want)
			}
		}
	}
	if n := testing.AllocsPerRun(100, func() { clientDerivedID(replyNamespace, "acme", "conv-1", "a-1", "c-1") }); n != 1 {
		t.Errorf("clientDerivedID allocates %v times, want once (the id)", n)
	}
}
