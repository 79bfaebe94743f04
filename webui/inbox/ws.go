package inbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/bus/event/jsondec"
	"github.com/hotline-hub/hotline/bus/event/jsonenc"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
	"github.com/hotline-hub/hotline/webui/wsock"
)

// Socket timings.
const (
	writeWait  = 10 * time.Second
	pingPeriod = 30 * time.Second
	pongWait   = 75 * time.Second
)

// snapshot is what decides who saw a conversation before a change.
type snapshot struct {
	s      Summary
	skills []string
}

// visibleSnapshot captures c before a change; nil for a new conversation.
// Called with i.mu held.
func (i *Inbox) visibleSnapshot(_ *tenantView, c *Conversation) *snapshot {
	if c == nil {
		return nil
	}
	return &snapshot{s: c.summary(), skills: c.skills}
}

// canTake reports whether agentID may be routed conversations of queue on
// channel with skills: configured with capacity on the channel and every
// skill the queue and the conversation need.
func canTake(t *tenantView, agentID, queue, channel string, skills []string) bool {
	a := t.st.Agent(agentID)
	if a == nil || a.Capacity(channel) <= 0 {
		return false
	}
	need := slices.Clone(skills)
	for _, q := range t.st.Config().Queues {
		if q.ID == queue {
			need = append(need, q.Skills...)
		}
	}
	return a.HasSkills(need)
}

// privileged roles see every conversation of their tenant.
func privileged(p auth.Principal) bool {
	return p.Role == event.RoleSupervisor || p.Role == event.RoleAnalyst || p.Role == event.RoleAdmin
}

// seesSummary reports whether p's inbox shows s: supervisors, analysts and
// admins see all; agents what is assigned or offered to them and what
// waits in queues they can take.
func seesSummary(t *tenantView, p auth.Principal, s Summary, skills []string) bool {
	if privileged(p) {
		return true
	}
	return mine(p, s) || s.Status == StatusWaiting && canTake(t, p.AccountID, s.Queue, s.Channel, skills)
}

// mine reports whether s is assigned or offered to p.
func mine(p auth.Principal, s Summary) bool {
	switch s.Status {
	case StatusAssigned:
		return s.AgentID == p.AccountID
	case StatusOffered:
		return s.Offer != nil && s.Offer.AgentID == p.AccountID
	}
	return false
}

// Outgoing frames. The message and conversation frames are encoded by
// frames.go, byte for byte as encoding/json would from these tags.
type conversationOut struct {
	Type         string  `json:"type"` // "conversation"
	Conversation Summary `json:"conversation"`
}

type messageOut struct {
	Type           string `json:"type"` // "message"
	ConversationID string `json:"conversation_id"`
	Entry          Entry  `json:"entry"`
	// Conversation is the summary after the entry was added, in place of a
	// conversation frame of its own.
	Conversation *Summary `json:"conversation,omitempty"`
}

type typingOut struct {
	Type           string `json:"type"` // "typing"
	ConversationID string `json:"conversation_id"`
	From           string `json:"from"`
	Active         bool   `json:"active"`
}

// typingIn is the typing frame agents send; its conversation_id and
// active are read from the same frame as inFrame's type.
type typingIn struct {
	Type           string `json:"type"`
	ConversationID string `json:"conversation_id"`
	Active         bool   `json:"active"`
}

// inFrame is what every frame from an agent is first read as: its type
// and, for a reply frame, the request id its answer repeats.
type inFrame struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
}

// replyIn is the reply frame: the body of POST .../conversations/{id}/messages
// with the conversation and a request id. It is decoded as strictly as the
// HTTP body (no unknown fields).
type replyIn struct {
	Type           string `json:"type"` // "reply"
	RequestID      string `json:"request_id"`
	ConversationID string `json:"conversation_id"`
	ClientID       string `json:"client_id"`
	Text           string `json:"text"`
}

// replyNames are replyIn's members, in its fields' order, for
// jsondec.Strings.
var replyNames = [...]string{"type", "request_id", "conversation_id", "client_id", "text"}

// replyErrorOut answers a reply frame that failed, with the status and
// error body the HTTP endpoint answers for the same problem.
type replyErrorOut struct {
	Type      string          `json:"type"` // "reply_error"
	RequestID string          `json:"request_id"`
	Status    int             `json:"status"`
	Error     replyErrorField `json:"error"`
}

type replyErrorField struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Reply frames.
const (
	// maxRequestID bounds a reply frame's request_id, in bytes.
	maxRequestID = 64
	// maxRepliesInFlight bounds the reply frames of one socket being
	// served at once; beyond it a frame is answered 429.
	maxRepliesInFlight = 32
)

// changed pushes c's new summary, and entry if one was added or changed
// (a reply delivered), to every socket of the tenant that saw c before the
// change or sees it now (so a conversation leaving an inbox, resolved or
// taken by someone else, is announced too). A socket that sees the entry
// gets one message frame carrying the summary too; the others a
// conversation frame. The socket that asked for a reply (SocketHeader)
// gets nothing for the reply's own fold: the request answers it the
// entry and the summary. Called with i.mu held.
func (i *Inbox) changed(t *tenantView, c *Conversation, before *snapshot, entry *Entry) {
	cs := i.clients[t.id]
	if cs == nil || len(cs.all) == 0 {
		return
	}
	var skip *client
	if entry != nil && len(cs.skip) > 0 {
		// Taken by the first fold showing the entry, which is the reply's
		// own (message.sent): only that one is in the request's answer,
		// a delivery folded later is not.
		if cl, ok := cs.skip[entry.MessageID]; ok {
			skip = cl
			delete(cs.skip, entry.MessageID)
		}
	}
	sum := c.summary()
	// Each frame is encoded once, for the first socket that needs it, and
	// shared by the others.
	var conv, msg *wsock.Frame
	var convErr, msgErr error
	frame := func(withEntry bool) *wsock.Frame {
		if withEntry {
			if msg == nil && msgErr == nil {
				f := &messageOut{Type: "message", ConversationID: c.ID, Entry: *entry, Conversation: &sum}
				msg = wsock.NewFrame(messageFrameSize(f))
				if msg.B, msgErr = appendMessageFrame(msg.B, f); msgErr != nil {
					msg.Release()
					msg = nil
					i.log.Error("inbox frame not encoded", "conversation_id", c.ID, "err", msgErr)
				}
			}
			return msg
		}
		if conv == nil && convErr == nil {
			f := &conversationOut{Type: "conversation", Conversation: sum}
			conv = wsock.NewFrame(32 + summarySize(&sum))
			if conv.B, convErr = appendConversationFrame(conv.B, f); convErr != nil {
				conv.Release()
				conv = nil
				i.log.Error("inbox frame not encoded", "conversation_id", c.ID, "err", convErr)
			}
		}
		return conv
	}
	defer func() {
		if msg != nil {
			msg.Release()
		}
		if conv != nil {
			conv.Release()
		}
	}()
	// On the stack: Summary is large, and a change of every message
	// comes through here.
	sums := [2]Summary{sum}
	n := 1
	if before != nil {
		sums[1], n = before.s, 2
	}
	cs.candidates(func(cl *client) {
		if cl == skip {
			return
		}
		now := seesSummary(t, cl.p, sum, c.skills)
		was := before != nil && seesSummary(t, cl.p, before.s, before.skills)
		if !now && !was {
			return
		}
		if f := frame(entry != nil && now); f != nil {
			cl.out.SendFrame(f)
		}
	}, sums[:n]...)
}

// sockets are one tenant's agent sockets, indexed so that a change of a
// conversation held by one agent reaches that agent and the supervisors
// without looking at every other agent's socket: at 1,000 agents, a
// message would otherwise cost 1,000 checks under the inbox's lock.
type sockets struct {
	all        map[*client]struct{}
	privileged map[*client]struct{}            // see every conversation
	byAgent    map[string]map[*client]struct{} // the others, by account
	byID       map[string]*client              // by socket id (the hello frame)
	// skip holds, by event id, the socket whose reply request publishes
	// that event: the fold of the reply sends it no frame.
	skip map[string]*client
	seq  uint64 // sockets opened, for their ids
}

func newSockets() *sockets {
	return &sockets{all: map[*client]struct{}{}, privileged: map[*client]struct{}{},
		byAgent: map[string]map[*client]struct{}{}, byID: map[string]*client{}, skip: map[string]*client{}}
}

func (s *sockets) add(cl *client) {
	s.all[cl] = struct{}{}
	if cl.id != "" {
		s.byID[cl.id] = cl
	}
	if privileged(cl.p) {
		s.privileged[cl] = struct{}{}
		return
	}
	m := s.byAgent[cl.p.AccountID]
	if m == nil {
		m = map[*client]struct{}{}
		s.byAgent[cl.p.AccountID] = m
	}
	m[cl] = struct{}{}
}

func (s *sockets) remove(cl *client) {
	delete(s.all, cl)
	if s.byID[cl.id] == cl {
		delete(s.byID, cl.id)
	}
	delete(s.privileged, cl)
	if m := s.byAgent[cl.p.AccountID]; m != nil {
		delete(m, cl)
		if len(m) == 0 {
			delete(s.byAgent, cl.p.AccountID)
		}
	}
}

// candidates calls fn for every socket that may see a conversation whose
// summaries (now, and before a change) are sums, each socket once: all of
// them while the conversation waits in a queue (any agent who can take
// it sees it), else the privileged ones and those of the agents it is
// assigned or offered to. fn still decides. Nil-safe.
func (s *sockets) candidates(fn func(*client), sums ...Summary) {
	if s == nil {
		return
	}
	for _, sum := range sums {
		if sum.Status == StatusWaiting {
			for cl := range s.all {
				fn(cl)
			}
			return
		}
	}
	for cl := range s.privileged {
		fn(cl)
	}
	seen := make([]string, 0, 4)
	for _, sum := range sums {
		ids := [2]string{sum.AgentID}
		if sum.Offer != nil {
			ids[1] = sum.Offer.AgentID
		}
		for _, id := range ids {
			if id == "" || slices.Contains(seen, id) {
				continue
			}
			seen = append(seen, id)
			for cl := range s.byAgent[id] {
				fn(cl)
			}
		}
	}
}

// own returns the socket of p that id names, nil if none: a socket id
// only ever names a socket of the same account. Nil-safe.
func (s *sockets) own(p auth.Principal, id string) *client {
	if s == nil || id == "" || len(id) > maxSocketID {
		return nil
	}
	cl := s.byID[id]
	if cl == nil || cl.p.AccountID != p.AccountID || cl.p.Tenant != p.Tenant {
		return nil
	}
	return cl
}

// client is one agent's socket; out writes to it (a goroutine only while
// there is something to write).
type client struct {
	// id is the socket's id, told to the client in the hello frame: its
	// reply requests name it (SocketHeader).
	id  string
	p   auth.Principal
	out *wsock.Writer
	// authCtx is the upgrade request's context, by which each reply frame
	// checks the session again (auth.Auth.Recheck).
	authCtx context.Context
	// replies holds a token per reply frame being served.
	replies chan struct{}
}

// SocketHeader is the request header by which a reply request names the
// inbox socket of the same account it comes from (the socket_id of the
// socket's hello frame): the reply's fold then sends that socket no frame,
// since the request's answer carries the same entry and summary. The other
// sockets (the agent's other tabs, supervisors) get the frame as usual. A
// value that names no socket of the caller is ignored.
const SocketHeader = "X-Hotline-Socket"

// maxSocketID bounds a SocketHeader value worth looking up.
const maxSocketID = 64

// newID returns a fresh socket id: the tenant's socket count, unique in
// the tenant's index, then random bits, so that ids do not repeat across
// tenants or restarts either. Not a secret: an id only ever names a socket
// of the caller's own account. Called with i.mu held.
func (s *sockets) newID() string {
	s.seq++
	b := make([]byte, 0, 32)
	b = strconv.AppendUint(b, s.seq, 36)
	b = append(b, '-')
	b = strconv.AppendUint(b, rand.Uint64(), 36)
	return string(b)
}

// helloFrame is the first frame of every inbox socket.
func helloFrame(id string) []byte {
	b := append(make([]byte, 0, 48), `{"type":"hello","socket_id":`...)
	b = jsonenc.AppendString(b, id)
	return append(b, '}')
}

// enqueue queues a frame; a client whose queue is full is disconnected: a
// slow browser must not hold up the fold. Called with i.mu held.
func (c *client) enqueue(b []byte) { c.out.Send(b) }

func (c *client) stop() { c.out.Close(websocket.CloseGoingAway, "closing") }

// The server's read buffer is reused and write buffers are pooled, as in
// channels/chat: most agent sockets are idle most of the time.
var upgrader = websocket.Upgrader{
	WriteBufferPool: &sync.Pool{},
	// CheckOrigin nil: gorilla rejects an Origin whose host is not the
	// request's Host, so another site cannot open a socket with the
	// agent's cookie.
}

// handleWS upgrades an authenticated agent's request; readLoop serves the
// socket from then on, so the HTTP server's per-request state is freed.
func (i *Inbox) handleWS(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	cl := &client{p: p, out: wsock.New(conn, wsock.Config{Queue: i.cfg.SendQueue, WriteTimeout: writeWait, PingInterval: pingPeriod}),
		authCtx: r.Context(), replies: make(chan struct{}, maxRepliesInFlight)}
	// Registered before anything is read, and the upgrade's answer is
	// already written: the client sees everything folded from now on and
	// refetches what came before.
	i.mu.Lock()
	select {
	case <-i.done:
		i.mu.Unlock()
		cl.stop()
		return
	default:
	}
	cs := i.clients[t.id]
	if cs == nil {
		cs = newSockets()
		i.clients[t.id] = cs
	}
	// The hello frame goes first: queued before the socket is registered
	// and may be sent anything else.
	cl.id = cs.newID()
	cl.enqueue(helloFrame(cl.id))
	cs.add(cl)
	i.mu.Unlock()
	go i.readLoop(conn, cl, t.id)
}

// readLoop reads the agent's frames until the socket fails; it ends the
// client when it does. Reply frames are served each in a goroutine of
// their own (they wait for the fold), at most maxRepliesInFlight at once.
func (i *Inbox) readLoop(conn *websocket.Conn, cl *client, tenant string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		i.mu.Lock()
		i.clients[tenant].remove(cl)
		i.mu.Unlock()
		cl.out.Close(websocket.CloseAbnormalClosure, "")
	}()
	// A reply frame carries up to MaxTextBytes of text, which JSON may
	// escape: frames are allowed what the HTTP endpoint allows a body.
	conn.SetReadLimit(max(i.cfg.MaxFrameBytes, i.cfg.MaxBodyBytes))
	_ = conn.SetReadDeadline(time.Now().Add(pongWait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(pongWait)) })
	var rd wsock.Reader // frames are decoded at once: one buffer serves them all
	for {
		_, data, err := rd.Read(conn)
		if err != nil {
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(pongWait))
		cl.out.Heard()
		// A reply frame of nothing but its string members (every reply
		// the web app sends) is read here at once, without reflection;
		// any other frame as encoding/json reads it.
		var plain [len(replyNames)]string
		_, isPlain := jsondec.Strings(data, replyNames[:], plain[:])
		var f inFrame
		if isPlain {
			f = inFrame{Type: plain[0], RequestID: plain[1]}
		} else if err := json.Unmarshal(data, &f); err != nil {
			continue
		}
		switch f.Type {
		case "typing":
			i.typing(cl, tenant, data)
		case "reply":
			var in *replyIn
			if isPlain {
				in = &replyIn{Type: plain[0], RequestID: plain[1], ConversationID: plain[2], ClientID: plain[3], Text: plain[4]}
			}
			i.replyFrame(ctx, cl, tenant, f.RequestID, data, in)
		}
	}
}

// typing serves a typing frame: published as a signal when the agent
// holds the conversation (or is a supervisor or admin), dropped otherwise.
func (i *Inbox) typing(cl *client, tenant string, data []byte) {
	var in typingIn
	if err := json.Unmarshal(data, &in); err != nil || in.ConversationID == "" {
		return
	}
	i.mu.Lock()
	t := i.tenants[tenant]
	var c *Conversation
	if t != nil {
		c = t.convs[in.ConversationID]
	}
	allowed := c != nil && (c.Status == StatusAssigned && c.AgentID == cl.p.AccountID || privileged(cl.p) && cl.p.Role != event.RoleAnalyst)
	i.mu.Unlock()
	if !allowed {
		return
	}
	if err := i.publishTyping(tenant, in.ConversationID, cl.p.AccountID, in.Active); err != nil {
		i.log.Warn("typing signal not published", "tenant", tenant, "conversation_id", in.ConversationID, "err", err)
	}
}

// replyFrame serves a reply frame, data, which the caller may have read
// already into in (else nil): a malformed one is answered 400 (and
// dropped without a usable request_id), one beyond the socket's replies
// in flight 429; the others are served by serveReply in a goroutine.
func (i *Inbox) replyFrame(ctx context.Context, cl *client, tenant, requestID string, data []byte, in *replyIn) {
	if requestID == "" || len(requestID) > maxRequestID || !utf8.ValidString(requestID) {
		return // nothing to answer to
	}
	if in == nil {
		in = new(replyIn)
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(in); err != nil {
			cl.replyError(requestID, frameDecodeError(err))
			return
		}
	}
	if in.ConversationID == "" {
		cl.replyError(requestID, &replyError{http.StatusBadRequest, "invalid_field", "conversation_id is required", "conversation_id"})
		return
	}
	select {
	case cl.replies <- struct{}{}:
	default:
		cl.replyError(requestID, &replyError{http.StatusTooManyRequests, "rate_limited", "too many replies in flight", ""})
		return
	}
	i.replyWork.run(func() {
		defer func() { <-cl.replies }()
		i.serveReply(ctx, cl, tenant, in)
	})
}

// frameDecodeError is the 400 for a reply frame that does not decode, as
// the HTTP endpoint answers a body that does not (api.DecodeProblem).
func frameDecodeError(err error) *replyError {
	status, code, message, field := api.DecodeProblem(err, 0)
	return &replyError{status, code, message, field}
}

// serveReply checks the socket's session again, as the HTTP middleware
// does for each request (a socket whose session ended is answered 401 and
// closed with 1008), then the role the HTTP route requires, and does the
// reply (Inbox.reply) with this socket as the one its fold skips.
func (i *Inbox) serveReply(ctx context.Context, cl *client, tenant string, in *replyIn) {
	p, err := i.auth.Recheck(ctx, cl.authCtx)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		cl.replyError(in.RequestID, &replyError{http.StatusUnauthorized, "not_authenticated", "the session is missing, expired or ended; log in again", ""})
		cl.out.Close(websocket.ClosePolicyViolation, "the session ended")
		return
	case err != nil:
		if ctx.Err() == nil {
			cl.replyError(in.RequestID, &replyError{http.StatusServiceUnavailable, "unavailable", "the service is not ready, try again", ""})
		}
		return
	}
	if p.Role != event.RoleAgent && p.Role != event.RoleSupervisor && p.Role != event.RoleAdmin {
		cl.replyError(in.RequestID, &replyError{http.StatusForbidden, "forbidden", "your role may not do this", ""})
		return
	}
	t, rerr := i.tenantReady(p, tenant)
	if rerr != nil {
		cl.replyError(in.RequestID, rerr)
		return
	}
	out, rerr := i.reply(ctx, p, t, in.ConversationID, messageRequest{ClientID: in.ClientID, Text: in.Text}, cl.id)
	if rerr != nil {
		if rerr.status != 0 {
			cl.replyError(in.RequestID, rerr)
		}
		return
	}
	f := wsock.NewFrame(replyResultSize(in.RequestID, &out))
	defer f.Release()
	f.B, err = appendReplyResult(f.B, in.RequestID, &out)
	if err != nil {
		i.log.Error("inbox reply_result not encoded", "conversation_id", in.ConversationID, "err", err)
		cl.replyError(in.RequestID, &replyError{http.StatusInternalServerError, "internal", "internal error", ""})
		return
	}
	cl.out.SendFrame(f)
}

// replyError answers a reply frame with a reply_error frame.
func (c *client) replyError(requestID string, e *replyError) {
	b, err := json.Marshal(replyErrorOut{Type: "reply_error", RequestID: requestID, Status: e.status,
		Error: replyErrorField{Code: e.code, Message: e.message, Field: e.field}})
	if err != nil {
		return // strings and an int: cannot fail
	}
	c.enqueue(b)
}

// publishTyping writes an agent's typing state in the chat channel's
// signal format.
func (i *Inbox) publishTyping(tenant, convID, agentID string, active bool) error {
	s := signalFrame{Type: signalTyping, Tenant: tenant, ConversationID: convID, From: "agent", AgentID: agentID,
		Active: active, Time: time.Now().UTC()}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), i.cfg.WaitTimeout)
	defer cancel()
	return i.bus.Publish(ctx, i.cfg.SignalsTopic, bus.Message{Key: []byte(tenant + "/" + convID), Value: b,
		Headers: []bus.Header{{Key: "type", Value: []byte(signalTyping)}}})
}
