package app

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hotline-hub/hotline/search"
)

// agentClient is a signed-in web session.
type agentClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func signIn(t *testing.T, addr, tenant, login, password string) *agentClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &agentClient{t: t, base: "http://" + addr, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	if code := c.do("POST", "/api/v1/auth/login", map[string]string{"tenant": tenant, "login": login, "password": password}, &out); code != http.StatusOK {
		t.Fatalf("login %s: status %d", login, code)
	}
	c.csrf = out.CSRF
	return c
}

// do sends a JSON request and decodes a JSON answer into out (if not nil).
func (c *agentClient) do(method, path string, body, out any) int {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.base)
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			c.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

type convSummary struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Queue  string `json:"queue"`
	Offer  *struct {
		AgentID string `json:"agent_id"`
	} `json:"offer"`
	Thread []struct {
		Direction string `json:"direction"`
		Text      string `json:"text"`
	} `json:"thread"`
}

// waitConversation polls the agent's list until one conversation has want
// status.
func (c *agentClient) waitConversation(want string) convSummary {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct {
			Conversations []convSummary `json:"conversations"`
		}
		code := c.do("GET", "/api/v1/tenants/demo/conversations?view=mine", nil, &out)
		if code == http.StatusOK {
			for _, cv := range out.Conversations {
				if cv.Status == want {
					return cv
				}
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no %s conversation in the agent's list (last status %d, %+v)", want, code, out.Conversations)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type widget struct {
	t  *testing.T
	ws *websocket.Conn
}

func openWidget(t *testing.T, addr, origin string) *widget {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/chat/ws", http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("dial chat: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &widget{t: t, ws: ws}
}

// next returns the next frame of type typ, skipping others.
func (w *widget) next(typ string) map[string]any {
	w.t.Helper()
	for {
		w.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		var f map[string]any
		if err := w.ws.ReadJSON(&f); err != nil {
			w.t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f["type"] == typ {
			return f
		}
	}
}

func (w *widget) send(v map[string]any) {
	w.t.Helper()
	if err := w.ws.WriteJSON(v); err != nil {
		w.t.Fatal(err)
	}
}

// firstStartPassword waits for the first-start line and returns the
// password it prints.
func firstStartPassword(t *testing.T, out *syncBuffer) string {
	t.Helper()
	re := regexp.MustCompile(`as "admin" \(tenant "demo"\) with password (\S+)`)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no admin login printed at first start; stdout: %q", out.String())
		}
	}
}

// TestChatReachesTheAgentOutOfTheBox runs the whole hub on its defaults:
// the starter directory lets a widget on any page write to the demo
// tenant, the admin (its first agent) is offered the chat, accepts and
// answers, and the visitor receives the answer. After a restart the thread
// is still there, and narrowing the widget's origins in the directory
// reaches the running chat channel.
func TestChatReachesTheAgentOutOfTheBox(t *testing.T) {
	dir := t.TempDir()
	out := &syncBuffer{}
	s := runWithStdout(t, testConfig(t, dir), out)
	password := firstStartPassword(t, out)
	admin := signIn(t, s.Addr(), "demo", "admin", password)
	// The starter directory is written just after the first-start line.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code := admin.do("PUT", "/api/v1/tenants/demo/me/presence", map[string]string{"presence": "available"}, nil); code == http.StatusOK {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("presence: status %d", code)
		}
	}

	w := openWidget(t, s.Addr(), "https://shop.example")
	w.send(map[string]any{"type": "hello", "tenant": "demo", "name": "Élodie"}) // no queue: the default one
	welcome := w.next("welcome")
	w.send(map[string]any{"type": "message", "client_id": "m-1", "text": "Ma commande n'est pas arrivée"})
	w.next("ack")

	offered := admin.waitConversation("offered")
	if offered.Queue != "support" {
		t.Fatalf("conversation queued in %q, want the default queue support", offered.Queue)
	}
	if code := admin.do("POST", "/api/v1/tenants/demo/conversations/"+offered.ID+"/accept", map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("accept: status %d", code)
	}
	if code := admin.do("POST", "/api/v1/tenants/demo/conversations/"+offered.ID+"/messages",
		map[string]string{"client_id": "r-1", "text": "Je regarde tout de suite."}, nil); code != http.StatusOK {
		t.Fatalf("reply: status %d", code)
	}
	for {
		f := w.next("message")
		if f["from"] == "agent" {
			if f["text"] != "Je regarde tout de suite." {
				t.Fatalf("the visitor got %q", f["text"])
			}
			break
		}
	}
	// The indexer makes the conversation searchable, with both messages.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := s.index.Search(t.Context(), search.Query{Tenant: "demo", Text: "commande"})
		if err == nil && len(res.Hits) == 1 && res.Hits[0].Conversation.ID == offered.ID && len(res.Hits[0].Conversation.Entries) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the conversation is not searchable: %+v, %v", res, err)
		}
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}

	s2 := runWithStdout(t, testConfig(t, dir), &syncBuffer{})
	admin = signIn(t, s2.Addr(), "demo", "admin", password)
	var d convSummary
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		code := admin.do("GET", "/api/v1/tenants/demo/conversations/"+offered.ID, nil, &d)
		if code == http.StatusOK && len(d.Thread) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a restart: status %d, conversation %+v", code, d)
		}
	}
	if d.Status != "assigned" || d.Thread[0].Text != "Ma commande n'est pas arrivée" || d.Thread[1].Direction != "out" {
		t.Fatalf("after a restart the conversation is %+v", d)
	}

	// The visitor comes back with its token and sees the reply again.
	w = openWidget(t, s2.Addr(), "https://shop.example")
	w.send(map[string]any{"type": "hello", "tenant": "demo", "token": welcome["token"]})
	w.next("welcome")
	for {
		f := w.next("message")
		if f["from"] == "agent" {
			break
		}
	}

	// An admin narrows the widget to one site: other pages are refused.
	if code := admin.do("PUT", "/api/v1/tenants/demo/widget",
		map[string]any{"allowed_origins": []string{"https://shop.example"}, "default_queue": "support"}, nil); code != http.StatusOK {
		t.Fatalf("widget: status %d", code)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		o := openWidget(t, s2.Addr(), "https://elsewhere.example")
		o.send(map[string]any{"type": "hello", "tenant": "demo"})
		o.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		var f map[string]any
		if err := o.ws.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
		if f["type"] == "error" && f["code"] == "origin_forbidden" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("another origin still gets %v after the widget was narrowed", f)
		}
	}
	ok := openWidget(t, s2.Addr(), "https://shop.example")
	ok.send(map[string]any{"type": "hello", "tenant": "demo"})
	ok.next("welcome") // the allowed site still is
}
