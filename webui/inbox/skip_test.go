package inbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/webui/auth"
)

// replyFrom sends a reply as u naming socketID in SocketHeader (none if
// empty) and returns the reply's message id.
func (u *user) replyFrom(conv, clientID, text, socketID string) string {
	u.e.t.Helper()
	raw, _ := json.Marshal(map[string]string{"client_id": clientID, "text": text})
	req, err := http.NewRequest("POST", u.e.srv.URL+u.path("conversations/"+conv+"/messages"), bytes.NewReader(raw))
	if err != nil {
		u.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", u.csrf)
	req.AddCookie(&http.Cookie{Name: auth.CookieName, Value: u.cookie})
	if socketID != "" {
		req.Header.Set(SocketHeader, socketID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		u.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		u.e.t.Fatalf("reply with %s %q: %d %s", SocketHeader, socketID, res.StatusCode, body)
	}
	out := response{status: res.StatusCode, body: body}.reply(u.e.t)
	if out.Entry.Text != text || out.Conversation.ID != conv {
		u.e.t.Fatalf("answer to the reply: %s", body)
	}
	return out.Entry.MessageID
}

// aboutReply tells whether f is a message frame of the reply msgID, and
// whether it shows it delivered.
func aboutReply(f map[string]any, msgID string) (about, delivered bool) {
	en, _ := f["entry"].(map[string]any)
	return f["type"] == "message" && en["message_id"] == msgID, en["delivered"] == true
}

func replyFrame(msgID string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		about, delivered := aboutReply(f, msgID)
		return about && !delivered
	}
}

func deliveredFrame(msgID string) func(map[string]any) bool {
	return func(f map[string]any) bool {
		about, delivered := aboutReply(f, msgID)
		return about && delivered
	}
}

// TestReplySkipsOwnSocket checks SocketHeader: the socket a reply request
// names gets no frame for the reply (its answer carries it), while the
// agent's other tab and a supervisor do, and it still gets the delivery;
// a reply without the header, or naming another account's socket or no
// socket at all, reaches every socket.
func TestReplySkipsOwnSocket(t *testing.T) {
	e, u := startEnv(t)
	a1, a2, sup := u["agent1"], u["agent2"], u["super"]
	a1.must(200, "PUT", a1.path("me/presence"), map[string]any{"presence": "available"})
	ws, tab2, supWS, ws2 := a1.dial(), a1.dial(), sup.dial(), a2.dial()
	id, tab2ID, supID, a2ID := ws.id, tab2.id, supWS.id, ws2.id
	if id == tab2ID || id == supID || id == a2ID {
		t.Fatalf("socket ids not distinct: %s %s %s %s", id, tab2ID, supID, a2ID)
	}
	e.queueChat("acme", "conv-s", "support", "visitor-s", "Sam", "hi")
	offeredTo(t, "conv-s", a1)
	a1.must(200, "POST", a1.path("conversations/conv-s/accept"), nil)

	// Named: the tab that replied gets nothing for the reply until its
	// delivery, the others get the reply first. The reply's frames are
	// queued before the request is answered, the delivery after.
	r1 := a1.replyFrom("conv-s", "c-1", "first", id)
	e.delivered("acme", "conv-s", r1)
	for {
		f := ws.await(t, "the delivery of the reply", func(map[string]any) bool { return true })
		about, delivered := aboutReply(f, r1)
		if c, _ := f["conversation"].(map[string]any); !about && c["id"] == "conv-s" && c["messages"] == 2.0 {
			t.Fatalf("the replying socket got a frame for its own reply: %v", f)
		}
		if about && !delivered {
			t.Fatalf("the replying socket got its own reply: %v", f)
		}
		if about {
			break
		}
	}
	for name, s := range map[string]*socket{"the agent's other tab": tab2, "the supervisor": supWS} {
		s.await(t, name+": the reply", replyFrame(r1))
		s.await(t, name+": its delivery", deliveredFrame(r1))
	}

	// Not named, or named wrongly: every socket gets the reply.
	for n, header := range []string{"", supID, a2ID, "no-such-socket", strings.Repeat("x", 4096)} {
		msgID := a1.replyFrom("conv-s", "c-"+string(rune('a'+n)), "reply "+string(rune('a'+n)), header)
		for name, s := range map[string]*socket{"the replying tab": ws, "the other tab": tab2, "the supervisor": supWS} {
			s.await(t, name+": the reply with "+SocketHeader+" "+header[:min(len(header), 20)], replyFrame(msgID))
		}
	}

	// The skip is taken by the first fold showing the reply, its own: a
	// later one (its delivery) folded before the request ends is sent.
	in := e.inbox
	in.mu.Lock()
	tv, cs := in.tenants["acme"], in.clients["acme"]
	race := Entry{MessageID: "m-race", Direction: DirectionOut, AgentID: a1.id, Text: "race", Time: time.Now()}
	cs.skip[race.MessageID] = cs.byID[id]
	in.changed(tv, tv.convs["conv-s"], nil, &race)
	race.Delivered = true
	in.changed(tv, tv.convs["conv-s"], nil, &race)
	in.mu.Unlock()
	if f := ws.await(t, "the early delivery", func(f map[string]any) bool { a, _ := aboutReply(f, "m-race"); return a }); !deliveredFrame("m-race")(f) {
		t.Fatalf("the replying socket got %v first, want the delivery", f)
	}
	tab2.await(t, "the raced reply", replyFrame("m-race"))
	tab2.await(t, "the raced delivery", deliveredFrame("m-race"))

	// A reply's skip is dropped once answered.
	e.inbox.mu.Lock()
	left := len(e.inbox.clients["acme"].skip)
	e.inbox.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d skips left after the replies", left)
	}
}

// TestSocketIDOwnAccountOnly checks the socket id lookup: an id names a
// socket only for the account that opened it, in its tenant.
func TestSocketIDOwnAccountOnly(t *testing.T) {
	s := newSockets()
	p := auth.Principal{AccountID: "a1", Tenant: "acme", Role: "agent"}
	cl := &client{id: s.newID(), p: p}
	s.add(cl)
	for _, tc := range []struct {
		name string
		p    auth.Principal
		id   string
		want *client
	}{
		{"own", p, cl.id, cl},
		{"another account", auth.Principal{AccountID: "a2", Tenant: "acme", Role: "agent"}, cl.id, nil},
		{"a supervisor", auth.Principal{AccountID: "s1", Tenant: "acme", Role: "supervisor"}, cl.id, nil},
		{"another tenant", auth.Principal{AccountID: "a1", Tenant: "other", Role: "agent"}, cl.id, nil},
		{"unknown", p, "1-abc", nil},
		{"empty", p, "", nil},
		{"too long", p, cl.id + strings.Repeat("0", maxSocketID), nil},
	} {
		if got := s.own(tc.p, tc.id); got != tc.want {
			t.Errorf("%s: own = %v, want %v", tc.name, got, tc.want)
		}
	}
	s.remove(cl)
	if got := s.own(p, cl.id); got != nil {
		t.Errorf("a closed socket is still found")
	}
	var nilSet *sockets
	if nilSet.own(p, cl.id) != nil {
		t.Error("found in a nil set")
	}
}
