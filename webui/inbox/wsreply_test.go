package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// sendFrame writes v to the socket as a JSON text frame.
func (s *socket) sendFrame(t *testing.T, v any) {
	t.Helper()
	if err := s.conn.WriteJSON(v); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

// answerTo reads frames until the reply_result or reply_error of
// requestID and returns it.
func (s *socket) answerTo(t *testing.T, requestID string) map[string]any {
	t.Helper()
	return s.await(t, "the answer to reply frame "+requestID, func(f map[string]any) bool {
		return (f["type"] == "reply_result" || f["type"] == "reply_error") && f["request_id"] == requestID
	})
}

// replyVia sends a reply frame and returns its answer.
func (s *socket) replyVia(t *testing.T, requestID, conv, clientID, text string) map[string]any {
	t.Helper()
	s.sendFrame(t, map[string]any{"type": "reply", "request_id": requestID, "conversation_id": conv, "client_id": clientID, "text": text})
	return s.answerTo(t, requestID)
}

// sameError checks that the reply_error frame f carries the status and
// error body of the HTTP answer r.
func sameError(t *testing.T, what string, f map[string]any, r response) {
	t.Helper()
	var body struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s: HTTP body %s: %v", what, r.body, err)
	}
	if f["type"] != "reply_error" || f["status"] != float64(r.status) || fmt.Sprint(f["error"]) != fmt.Sprint(body.Error) {
		t.Fatalf("%s: frame %v, want status %d and error %v as over HTTP", what, f, r.status, body.Error)
	}
}

// TestReplyFrame checks the reply frame: it publishes the reply and is
// answered reply_result with the entry and the summary; the sending
// socket gets no message frame for the reply, the agent's other tab and a
// supervisor do; the same client id, by frame or by HTTP, makes one reply.
func TestReplyFrame(t *testing.T) {
	e, u := startEnv(t)
	a1, sup := u["agent1"], u["super"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	ws, tab2, supWS := a1.dial(), a1.dial(), sup.dial()
	e.queueChat("acme", "conv-r", "support", "visitor-r", "Rae", "hi")
	offeredTo(t, "conv-r", a1)
	a1.must(200, "POST", a1.path("conversations/conv-r/accept"), nil)

	ws.sendFrame(t, map[string]any{"type": "reply", "request_id": "req-1", "conversation_id": "conv-r", "client_id": "c-1", "text": "hello <Rae>"})
	var before []map[string]any // the frames before the answer
	f := ws.await(t, "the answer to the reply frame", func(f map[string]any) bool {
		before = append(before, f)
		return f["type"] == "reply_result" || f["type"] == "reply_error"
	})
	en, _ := f["entry"].(map[string]any)
	conv, _ := f["conversation"].(map[string]any)
	msgID, _ := en["message_id"].(string)
	if f["type"] != "reply_result" || msgID == "" || en["text"] != "hello <Rae>" || en["direction"] != DirectionOut ||
		conv["id"] != "conv-r" || conv["messages"] != 2.0 || len(f) != 4 {
		t.Fatalf("answer to the reply frame: %v", f)
	}
	for _, g := range before {
		if about, _ := aboutReply(g, msgID); about {
			t.Fatalf("the replying socket got its own reply: %v", g)
		}
	}
	for name, s := range map[string]*socket{"the agent's other tab": tab2, "the supervisor": supWS} {
		s.await(t, name+": the reply", replyFrame(msgID))
	}
	// The sender sees the delivery, and nothing for the reply before it.
	e.delivered("acme", "conv-r", msgID)
	for {
		g := ws.await(t, "the delivery of the reply", func(map[string]any) bool { return true })
		about, delivered := aboutReply(g, msgID)
		if about && !delivered {
			t.Fatalf("the replying socket got its own reply: %v", g)
		}
		if about {
			break
		}
	}

	// The same client id again, by frame and over HTTP: the same reply.
	again := ws.replyVia(t, "req-2", "conv-r", "c-1", "hello <Rae>")
	if en2, _ := again["entry"].(map[string]any); again["type"] != "reply_result" || en2["message_id"] != msgID {
		t.Fatalf("the same client id again: %v", again)
	}
	if r := a1.must(200, "POST", a1.path("conversations/conv-r/messages"), map[string]any{"client_id": "c-1", "text": "hello <Rae>"}).reply(t); r.Entry.MessageID != msgID {
		t.Fatalf("the same client id over HTTP: %+v", r)
	}
	n := 0
	for _, en := range a1.conv("conv-r").Thread {
		if en.MessageID == msgID {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the reply is %d times in the thread", n)
	}

	// Replies and typing frames share the socket.
	ws.sendFrame(t, map[string]any{"type": "typing", "conversation_id": "conv-r", "active": true})
	if f := ws.replyVia(t, "req-3", "conv-r", "c-3", "second"); f["type"] != "reply_result" {
		t.Fatalf("a reply after a typing frame: %v", f)
	}
}

// TestReplyFrameErrors checks that every refusal of a reply frame carries
// the status and error body of the HTTP endpoint for the same problem,
// that malformed frames leave the socket open, and the in-flight limit.
func TestReplyFrameErrors(t *testing.T) {
	e, u := startEnv(t)
	a1, a2, an, o1 := u["agent1"], u["agent2"], u["analyst"], u["o1"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	o1.must(200, "PUT", o1.path("me/presence"), map[string]any{"presence": "available"})
	ws, ws2, wsAn := a1.dial(), a2.dial(), an.dial()
	e.queueChat("acme", "conv-e", "support", "visitor-e", "Eve", "hi")
	offeredTo(t, "conv-e", a1)
	e.queueChat("other", "conv-o", "support", "visitor-o", "Oli", "hi")
	offeredTo(t, "conv-o", o1)
	o1.must(200, "POST", o1.path("conversations/conv-o/accept"), nil)

	post := func(who *user, conv string, body map[string]any) response {
		return who.do("POST", who.path("conversations/"+conv+"/messages"), body)
	}
	// Offered, not yet accepted: 409.
	sameError(t, "not assigned", ws.replyVia(t, "r-409", "conv-e", "c-x", "hi"), post(a1, "conv-e", map[string]any{"client_id": "c-x", "text": "hi"}))
	a1.must(200, "POST", a1.path("conversations/conv-e/accept"), nil)

	cases := []struct {
		name   string
		s      *socket
		who    *user
		conv   string
		client string
		text   string
		status int
	}{
		{"empty text", ws, a1, "conv-e", "c-1", "  ", 400},
		{"long text", ws, a1, "conv-e", "c-1", strings.Repeat("x", DefaultMaxTextBytes+1), 400},
		{"no client id", ws, a1, "conv-e", "", "hi", 400},
		{"long client id", ws, a1, "conv-e", strings.Repeat("c", 129), "hi", 400},
		{"no such conversation", ws, a1, "conv-none", "c-1", "hi", 404},
		{"another tenant's conversation", ws, a1, "conv-o", "c-1", "hi", 404},
		{"another agent's conversation", ws2, a2, "conv-e", "c-1", "hi", 403},
		{"an analyst", wsAn, an, "conv-e", "c-1", "hi", 403},
	}
	for n, c := range cases {
		id := fmt.Sprintf("r-%d", n)
		f := c.s.replyVia(t, id, c.conv, c.client, c.text)
		r := post(c.who, c.conv, map[string]any{"client_id": c.client, "text": c.text})
		if r.status != c.status {
			t.Fatalf("%s: HTTP %d %s, want %d", c.name, r.status, r.body, c.status)
		}
		sameError(t, c.name, f, r)
	}

	// Malformed frames: answered 400 with a request id, dropped without;
	// the socket stays open.
	ws.sendFrame(t, map[string]any{"type": "reply", "request_id": "m-1", "conversation_id": "conv-e", "client_id": "c", "text": "hi", "extra": 1})
	if f := ws.answerTo(t, "m-1"); f["status"] != 400.0 || fmt.Sprint(f["error"]) != fmt.Sprint(map[string]any{"code": "unknown_field", "message": `unknown field "extra"`, "field": "extra"}) {
		t.Fatalf("unknown field: %v", f)
	}
	ws.sendFrame(t, map[string]any{"type": "reply", "request_id": "m-2", "client_id": "c", "text": "hi"})
	if f := ws.answerTo(t, "m-2"); f["status"] != 400.0 {
		t.Fatalf("no conversation_id: %v", f)
	}
	ws.sendFrame(t, map[string]any{"type": "reply", "request_id": "m-3", "conversation_id": "conv-e", "client_id": 7, "text": "hi"})
	if f := ws.answerTo(t, "m-3"); f["status"] != 400.0 {
		t.Fatalf("a number as client_id: %v", f)
	}
	for _, raw := range []string{`{"type":"reply"`, `{"type":"reply","conversation_id":"conv-e","client_id":"c","text":"hi"}`,
		`{"type":"reply","request_id":"` + strings.Repeat("r", maxRequestID+1) + `","conversation_id":"conv-e","client_id":"c","text":"hi"}`, `[1]`} {
		if err := ws.conn.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if f := ws.replyVia(t, "ok-1", "conv-e", "c-ok", "still here"); f["type"] != "reply_result" {
		t.Fatalf("a reply after malformed frames: %v", f)
	}
	// A maximum-size text fits a frame.
	if f := ws.replyVia(t, "ok-2", "conv-e", "c-big", strings.Repeat("é", DefaultMaxTextBytes/2)); f["type"] != "reply_result" {
		t.Fatalf("a reply of the maximum size: %v", f)
	}

	// The in-flight limit: with the view held, maxRepliesInFlight replies
	// wait and the next is refused; the waiting ones then complete.
	e.inbox.mu.Lock()
	for n := range maxRepliesInFlight + 1 {
		ws.sendFrame(t, map[string]any{"type": "reply", "request_id": fmt.Sprintf("f-%d", n), "conversation_id": "conv-e",
			"client_id": fmt.Sprintf("f-%d", n), "text": "many"})
	}
	f := ws.answerTo(t, fmt.Sprintf("f-%d", maxRepliesInFlight))
	e.inbox.mu.Unlock()
	if f["type"] != "reply_error" || f["status"] != 429.0 {
		t.Fatalf("reply beyond the in-flight limit: %v", f)
	}
	// The answers come in any order.
	for left := maxRepliesInFlight; left > 0; left-- {
		f := ws.await(t, "the answers to the replies in flight", func(f map[string]any) bool {
			return f["type"] == "reply_result" || f["type"] == "reply_error"
		})
		if id, _ := f["request_id"].(string); f["type"] != "reply_result" || !strings.HasPrefix(id, "f-") {
			t.Fatalf("reply in flight: %v", f)
		}
	}
}

// closedWithPolicy waits until the socket is closed with 1008.
func (s *socket) closedWithPolicy(t *testing.T, what string) {
	t.Helper()
	for range s.frames { // drained until closed
	}
	select {
	case err := <-s.closed:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Fatalf("%s: socket closed with %v, want 1008", what, err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("%s: socket not closed", what)
	}
}

// TestReplyFrameSession checks that a reply frame finds the session still
// live: after logout, or once the account is disabled, it is answered 401
// as over HTTP and the socket is closed with 1008.
func TestReplyFrameSession(t *testing.T) {
	e, u := startEnv(t)
	a1, a2, admin := u["agent1"], u["agent2"], u["admin"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	e.queueChat("acme", "conv-l", "support", "visitor-l", "Lou", "hi")
	offeredTo(t, "conv-l", a1)
	a1.must(200, "POST", a1.path("conversations/conv-l/accept"), nil)

	// A second session of agent1, logged out.
	s2 := e.login("acme", "agent1", testPassword)
	ws := s2.dial()
	if f := ws.replyVia(t, "before", "conv-l", "c-1", "hi"); f["type"] != "reply_result" {
		t.Fatalf("reply before logout: %v", f)
	}
	s2.must(204, "POST", "/api/v1/auth/logout", nil)
	body := map[string]any{"client_id": "c-2", "text": "hi"}
	f := ws.replyVia(t, "after", "conv-l", "c-2", "hi")
	sameError(t, "after logout", f, s2.do("POST", s2.path("conversations/conv-l/messages"), body))
	if f["status"] != 401.0 {
		t.Fatalf("after logout: %v", f)
	}
	ws.closedWithPolicy(t, "after logout")
	// The other session is unaffected.
	if got := a1.dial().replyVia(t, "other", "conv-l", "c-3", "hi"); got["type"] != "reply_result" {
		t.Fatalf("the other session: %v", got)
	}

	// agent2, disabled while its socket is open.
	ws2 := a2.dial()
	admin.must(200, "PATCH", admin.path("accounts/"+a2.id), map[string]any{"disabled": true})
	f = ws2.replyVia(t, "disabled", "conv-l", "c-4", "hi")
	sameError(t, "account disabled", f, a2.do("POST", a2.path("conversations/conv-l/messages"), body))
	if f["status"] != 401.0 {
		t.Fatalf("account disabled: %v", f)
	}
	ws2.closedWithPolicy(t, "account disabled")
}
