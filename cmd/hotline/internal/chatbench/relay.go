package chatbench

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hotline-hub/hotline/webui/api"
)

// relay is the baseline: the same sockets and the same replies (reply
// frames on the agent's socket, or reply requests) as the hub, but a customer's message goes straight to a fixed agent's
// socket (customer k to agent k mod agents) and a reply straight back,
// through one map lookup and a send queue per socket. No bus, no routing,
// no auth. What the relay's latency shows is the machine and the load
// generators; the hub's latency above it is the hub's own cost.
type relay struct {
	agents int

	mu        sync.Mutex
	agentC    map[int]*relayConn
	customerC map[int]*relayConn
}

type relayConn struct {
	send chan []byte
	quit chan struct{}
	once sync.Once
}

func (c *relayConn) enqueue(b []byte) {
	select {
	case c.send <- b:
	case <-c.quit:
	default:
		c.stop() // a slow reader, as the hub treats one
	}
}

func (c *relayConn) stop() { c.once.Do(func() { close(c.quit) }) }

func newRelay(agents int) *relay {
	return &relay{agents: agents, agentC: map[int]*relayConn{}, customerC: map[int]*relayConn{}}
}

// Routes mounts the relay's endpoints on mux.
func (r *relay) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /relay/agent", func(w http.ResponseWriter, req *http.Request) {
		r.serve(w, req, "agent", r.agentC, r.fromAgent)
	})
	mux.HandleFunc("GET /relay/customer", func(w http.ResponseWriter, req *http.Request) {
		r.serve(w, req, "customer", r.customerC, r.fromCustomer)
	})
	mux.HandleFunc("POST /relay/conversations/{id}/messages", r.handleReply)
}

var relayUpgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

// serve registers the socket under its index and runs its writer; read
// handles each frame read.
func (r *relay) serve(w http.ResponseWriter, req *http.Request, param string, into map[int]*relayConn, read func(idx int, c *relayConn, data []byte)) {
	idx, err := strconv.Atoi(req.URL.Query().Get(param))
	if err != nil || idx < 0 {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", param+" must be a non-negative integer", param)
		return
	}
	ws, err := relayUpgrader.Upgrade(w, req, nil)
	if err != nil {
		return // the upgrader answered
	}
	defer ws.Close()
	c := &relayConn{send: make(chan []byte, 64), quit: make(chan struct{})}
	r.mu.Lock()
	into[idx] = c
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if into[idx] == c {
			delete(into, idx)
		}
		r.mu.Unlock()
	}()
	go func() {
		defer c.stop()
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if read != nil {
				read(idx, c, data)
			}
		}
	}()
	for {
		select {
		case <-c.quit:
			return
		case b := <-c.send:
			_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := ws.WriteMessage(websocket.TextMessage, b); err != nil {
				return
			}
		}
	}
}

// fromCustomer acks a customer's message and forwards it to its agent, in
// the inbox's frame shape.
func (r *relay) fromCustomer(k int, c *relayConn, data []byte) {
	var in struct {
		Type     string `json:"type"`
		ClientID string `json:"client_id"`
		Text     string `json:"text"`
	}
	if json.Unmarshal(data, &in) != nil || in.Type != "message" {
		return
	}
	conv := relayConversation(k)
	ack, _ := json.Marshal(map[string]string{"type": "ack", "client_id": in.ClientID, "conversation_id": conv})
	c.enqueue(ack)
	msg, _ := json.Marshal(map[string]any{"type": "message", "conversation_id": conv,
		"entry": map[string]string{"direction": "in", "text": in.Text}})
	r.mu.Lock()
	a := r.agentC[k%r.agents]
	r.mu.Unlock()
	if a != nil {
		a.enqueue(msg)
	}
}

// relayError is a reply the relay refuses: the status and error body.
type relayError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// reply forwards an agent's reply in conversation conv to its customer, in
// the chat protocol's frame shape: the work shared by the reply request
// and the reply frame.
func (r *relay) reply(conv, clientID, text string) *relayError {
	k, err := strconv.Atoi(strings.TrimPrefix(conv, "r"))
	if err != nil || !strings.HasPrefix(conv, "r") {
		return &relayError{http.StatusNotFound, "not_found", "no such conversation", ""}
	}
	if text == "" {
		return &relayError{http.StatusBadRequest, "invalid_field", "text is empty", "text"}
	}
	r.mu.Lock()
	c := r.customerC[k]
	r.mu.Unlock()
	if c == nil {
		return &relayError{http.StatusConflict, "conflict", "the customer is not connected", ""}
	}
	msg, _ := json.Marshal(map[string]string{"type": "message", "from": "agent", "client_id": clientID, "text": text})
	c.enqueue(msg)
	return nil
}

// handleReply serves a reply request.
func (r *relay) handleReply(w http.ResponseWriter, req *http.Request) {
	var body struct {
		ClientID string `json:"client_id"`
		Text     string `json:"text"`
	}
	if !api.DecodeJSON(w, req, &body, 64<<10) {
		return
	}
	if e := r.reply(req.PathValue("id"), body.ClientID, body.Text); e != nil {
		api.WriteError(w, e.Status, e.Code, e.Message, e.Field)
		return
	}
	api.WriteJSON(w, http.StatusOK, map[string]string{"id": req.PathValue("id")})
}

// fromAgent serves a reply frame on an agent's socket as the inbox does:
// the reply goes to the customer and the frame is answered reply_result
// (the conversation's id and the entry) or reply_error. Other frames are
// ignored.
func (r *relay) fromAgent(_ int, c *relayConn, data []byte) {
	var in struct {
		Type           string `json:"type"`
		RequestID      string `json:"request_id"`
		ConversationID string `json:"conversation_id"`
		ClientID       string `json:"client_id"`
		Text           string `json:"text"`
	}
	if json.Unmarshal(data, &in) != nil || in.Type != "reply" || in.RequestID == "" {
		return
	}
	var out []byte
	if e := r.reply(in.ConversationID, in.ClientID, in.Text); e != nil {
		out, _ = json.Marshal(struct {
			Type      string      `json:"type"`
			RequestID string      `json:"request_id"`
			Status    int         `json:"status"`
			Error     *relayError `json:"error"`
		}{"reply_error", in.RequestID, e.Status, e})
	} else {
		out, _ = json.Marshal(struct {
			Type         string            `json:"type"`
			RequestID    string            `json:"request_id"`
			Conversation map[string]string `json:"conversation"`
			Entry        map[string]string `json:"entry"`
		}{"reply_result", in.RequestID, map[string]string{"id": in.ConversationID},
			map[string]string{"direction": "out", "message_id": in.ClientID, "text": in.Text}})
	}
	c.enqueue(out)
}
