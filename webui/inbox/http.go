package inbox

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
)

// Routes mounts the inbox API on mux, every endpoint behind
// auth.Authenticate:
//
//	GET  /api/v1/tenants/{tenant}/conversations?view=mine|queues|all&status=  agents, supervisors, analysts, admins (all: not agents)
//	GET  /api/v1/tenants/{tenant}/conversations?view=contact&contact=         a contact's dossier; agents only while they hold or are offered one of its conversations
//	GET  /api/v1/tenants/{tenant}/conversations/{id}                          the same; agents only theirs, offered to them, waiting, or (read-only) in the dossier of a contact they serve
//	POST /api/v1/tenants/{tenant}/conversations/{id}/accept|decline           the agent offered it
//	POST /api/v1/tenants/{tenant}/conversations/{id}/messages {client_id,text} the assigned agent, supervisors, admins (header SocketHeader: see there)
//	POST /api/v1/tenants/{tenant}/conversations/{id}/notes {client_id?,text}  who may read it (not analysts)
//	POST /api/v1/tenants/{tenant}/conversations/{id}/transfer {to_agent|to_queue,note} the assigned agent, supervisors, admins
//	POST /api/v1/tenants/{tenant}/conversations/{id}/resolve                  the same
//	POST /api/v1/tenants/{tenant}/conversations/{id}/reopen                   its last agent, supervisors, admins
//	PUT  /api/v1/tenants/{tenant}/conversations/{id}/tags {tags}             the assigned agent; supervisors, admins any
//	POST /api/v1/tenants/{tenant}/conversations/{id}/call/hold|resume         the assigned agent, supervisors, admins (calls.go)
//	GET  /api/v1/tenants/{tenant}/conversations/{id}/recordings/{sha256}      who may read it, as GET conversations/{id} (calls.go)
//	GET  /api/v1/tenants/{tenant}/me, PUT .../me/presence {presence,reason}    routing agents (PUT: not analysts)
//	GET  /api/v1/tenants/{tenant}/ws                                          the live socket; its first frame is {"type":"hello","socket_id"}; it takes typing and reply frames (ws.go)
//
// Another tenant answers 404, as if absent; analysts get 403 on every
// write.
func (i *Inbox) Routes(mux *http.ServeMux) {
	read := auth.Require(event.RoleAgent, event.RoleSupervisor, event.RoleAnalyst, event.RoleAdmin)
	write := auth.Require(event.RoleAgent, event.RoleSupervisor, event.RoleAdmin)
	h := func(mw func(http.Handler) http.Handler, f http.HandlerFunc) http.Handler {
		return i.auth.Authenticate(mw(f))
	}
	const base = "/api/v1/tenants/{tenant}/"
	mux.Handle("GET "+base+"conversations", h(read, i.handleList))
	mux.Handle("GET "+base+"conversations/{id}", h(read, i.handleGet))
	mux.Handle("POST "+base+"conversations/{id}/accept", h(write, i.handleAccept))
	mux.Handle("POST "+base+"conversations/{id}/decline", h(write, i.handleDecline))
	mux.Handle("POST "+base+"conversations/{id}/messages", h(write, i.handleMessage))
	mux.Handle("POST "+base+"conversations/{id}/notes", h(write, i.handleNote))
	mux.Handle("POST "+base+"conversations/{id}/transfer", h(write, i.handleTransfer))
	mux.Handle("POST "+base+"conversations/{id}/resolve", h(write, i.handleResolve))
	mux.Handle("POST "+base+"conversations/{id}/reopen", h(write, i.handleReopen))
	mux.Handle("PUT "+base+"conversations/{id}/tags", h(write, i.handleTags))
	mux.Handle("POST "+base+"conversations/{id}/call/hold", h(write, i.handleHold))
	mux.Handle("POST "+base+"conversations/{id}/call/resume", h(write, i.handleResume))
	mux.Handle("GET "+base+"conversations/{id}/recordings/{sha256}", h(read, i.handleRecording))
	mux.Handle("GET "+base+"me", h(read, i.handleMe))
	mux.Handle("PUT "+base+"me/presence", h(write, i.handlePresence))
	mux.Handle("GET "+base+"ws", h(read, i.handleWS))
}

// writeFailure maps a publish or fold error to a response.
func (i *Inbox) writeFailure(w http.ResponseWriter, r *http.Request, err error) {
	i.failure(r.Method+" "+r.URL.Path, err).write(w)
}

// failure maps a publish or fold error to the status and error body of
// the answer; what (the request) is logged with an unexpected error.
func (i *Inbox) failure(what string, err error) *replyError {
	switch {
	case errors.Is(err, routing.ErrVoid):
		return &replyError{http.StatusConflict, "conflict", "routing did not accept it: " + err.Error(), ""}
	case errors.Is(err, ErrNotReady), errors.Is(err, bus.ErrClosed), errors.Is(err, context.DeadlineExceeded):
		return &replyError{http.StatusServiceUnavailable, "unavailable", "the inbox is not ready, try again", ""}
	case errors.Is(err, event.ErrInvalid):
		return &replyError{http.StatusBadRequest, "invalid_field", err.Error(), ""}
	default:
		i.log.Error("inbox request failed", "request", what, "err", err)
		return &replyError{http.StatusInternalServerError, "internal", "internal error", ""}
	}
}

// decode reads one JSON object into v: application/json, at most
// MaxBodyBytes, no unknown fields, nothing after it.
func (i *Inbox) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	return api.DecodeJSON(w, r, v, i.cfg.MaxBodyBytes)
}

// tenantFor checks the caller belongs to {tenant} (404 otherwise, as if
// absent) and that the tenant's view has caught up (503 otherwise).
func (i *Inbox) tenantFor(w http.ResponseWriter, r *http.Request) (auth.Principal, *tenantView, bool) {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		api.WriteError(w, http.StatusUnauthorized, "not_authenticated", "log in first", "")
		return p, nil, false
	}
	t, rerr := i.tenantReady(p, r.PathValue("tenant"))
	if rerr != nil {
		rerr.write(w)
		return p, nil, false
	}
	return p, t, true
}

// tenantReady is tenantFor's check of p's access to tenant and of the
// tenant's view.
func (i *Inbox) tenantReady(p auth.Principal, tenant string) (*tenantView, *replyError) {
	if !auth.SameTenant(p, tenant) {
		return nil, &replyError{http.StatusNotFound, "not_found", "not found", ""}
	}
	i.mu.Lock()
	t := i.tenants[tenant]
	ready := t != nil && t.configured && t.synced
	i.mu.Unlock()
	if t == nil || !t.configured {
		return nil, &replyError{http.StatusNotFound, "not_found", fmt.Sprintf("tenant %q has no routing configuration, so no inbox", tenant), ""}
	}
	if !ready {
		return nil, &replyError{http.StatusServiceUnavailable, "unavailable", "the inbox is catching up with the log, try again", ""}
	}
	return t, nil
}

// mayRead reports whether p may open c: supervisors, analysts and admins
// any; agents theirs (now or last), offered to them, or waiting.
func mayRead(p auth.Principal, c *Conversation) bool {
	return privileged(p) || mine(p, c.Summary) || c.lastAgent == p.AccountID || c.Status == StatusWaiting
}

// servesContact reports whether p may see the dossier of contact: agents
// only while a conversation of that contact is assigned or offered to
// them, so an agent reads a customer's history while serving them and not
// otherwise. Called with i.mu held.
func servesContact(p auth.Principal, t *tenantView, contact string) bool {
	if privileged(p) {
		return true
	}
	if contact == "" {
		return false
	}
	for _, c := range t.convs {
		if c.ContactID == contact && mine(p, c.summary()) {
			return true
		}
	}
	return false
}

// ServesContact reports whether agent agentID currently holds or is
// offered a conversation of contact in tenant: the rule by which other
// parts of the hub (the search dossier) let an agent read a customer's
// history only while serving them.
func (i *Inbox) ServesContact(tenant, agentID, contact string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	t := i.tenants[tenant]
	if t == nil {
		return false
	}
	return servesContact(auth.Principal{AccountID: agentID, Tenant: tenant, Role: event.RoleAgent}, t, contact)
}

// conversationFor resolves {id} for p under i.mu: 404 if absent, 403 if p
// may not act on it. On success i.mu is held and the caller unlocks.
func (i *Inbox) conversationFor(w http.ResponseWriter, r *http.Request, p auth.Principal, t *tenantView) (*Conversation, bool) {
	return i.lookup(w, r, p, t, mayRead)
}

// lookup is conversationFor with the access rule may.
func (i *Inbox) lookup(w http.ResponseWriter, r *http.Request, p auth.Principal, t *tenantView,
	may func(auth.Principal, *Conversation) bool) (*Conversation, bool) {
	c, e := i.find(p, t, r.PathValue("id"), may)
	if e != nil {
		e.write(w)
		return nil, false
	}
	return c, true
}

// find takes i.mu and returns conversation id of t if p may reach it by
// the rule may, i.mu still held; otherwise the answer's error, i.mu
// released.
func (i *Inbox) find(p auth.Principal, t *tenantView, id string, may func(auth.Principal, *Conversation) bool) (*Conversation, *replyError) {
	i.mu.Lock()
	c := t.convs[id]
	if c == nil {
		i.mu.Unlock()
		return nil, &replyError{http.StatusNotFound, "not_found", "no such conversation", ""}
	}
	if !may(p, c) {
		i.mu.Unlock()
		return nil, &replyError{http.StatusForbidden, "forbidden", "this conversation is not yours", ""}
	}
	return c, nil
}

// listItem is a Summary in a list; the dossier (view=contact) adds each
// conversation's first line, so a contact's history reads at a glance.
type listItem struct {
	Summary
	FirstLine string `json:"first_line,omitempty"`
}

// maxFirstLine bounds a dossier entry's first line, in runes.
const maxFirstLine = 120

// firstLine is the first non-empty line of the oldest message kept.
func firstLine(t *thread) string {
	if t.len() == 0 {
		return ""
	}
	for line := range strings.Lines(t.entry(0).Text) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if utf8.RuneCountInString(line) > maxFirstLine {
			line = string([]rune(line)[:maxFirstLine]) + "…"
		}
		return line
	}
	return ""
}

func (i *Inbox) handleList(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	view := q.Get("view")
	if view == "" {
		view = "mine"
	}
	status, contact := q.Get("status"), q.Get("contact")
	switch {
	case view != "mine" && view != "queues" && view != "all" && view != "contact":
		api.WriteError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("view %q is not mine, queues, all or contact", view), "view")
		return
	case view == "contact" && contact == "":
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "view=contact needs a contact id", "contact")
		return
	case view != "contact" && contact != "":
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "contact is only for view=contact", "contact")
		return
	case status != "" && !slices.Contains([]string{StatusWaiting, StatusOffered, StatusAssigned, StatusResolved, StatusAbandoned}, status):
		api.WriteError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("status %q is not waiting, offered, assigned, resolved or abandoned", status), "status")
		return
	case view == "all" && !privileged(p):
		api.WriteError(w, http.StatusForbidden, "forbidden", "view=all is for supervisors, analysts and admins", "")
		return
	}
	i.mu.Lock()
	if view == "contact" && !servesContact(p, t, contact) {
		i.mu.Unlock()
		api.WriteError(w, http.StatusForbidden, "forbidden", "agents see a contact's conversations only while serving one of them", "")
		return
	}
	out := []listItem{}
	for _, c := range t.convs {
		s := c.summary()
		if s.Status == "" || status != "" && s.Status != status {
			continue
		}
		switch view {
		case "contact":
			if s.ContactID != contact {
				continue
			}
		case "mine":
			if !mine(p, s) {
				continue
			}
		case "queues":
			if s.Status != StatusWaiting || !canTake(t, p.AccountID, s.Queue, s.Channel, c.skills) {
				continue
			}
		}
		item := listItem{Summary: s}
		if view == "contact" {
			item.FirstLine = firstLine(&c.thread)
		}
		out = append(out, item)
	}
	i.mu.Unlock()
	slices.SortFunc(out, func(a, b listItem) int {
		if c := b.LastActivity.Compare(a.LastActivity); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	api.WriteJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

func (i *Inbox) handleGet(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	// Besides what they may act on, agents read (never write: the
	// actions use conversationFor) the earlier conversations of a contact
	// they serve.
	c, ok := i.lookup(w, r, p, t, func(p auth.Principal, c *Conversation) bool {
		return mayRead(p, c) || c.ContactID != "" && servesContact(p, t, c.ContactID)
	})
	if !ok {
		return
	}
	d := c.detail()
	i.mu.Unlock()
	api.WriteJSON(w, http.StatusOK, d)
}

// respond answers with the conversation as the view now has it.
func (i *Inbox) respond(w http.ResponseWriter, t *tenantView, id string) {
	i.respondStatus(w, t, id, http.StatusOK)
}

// respondStatus is respond with another success status.
func (i *Inbox) respondStatus(w http.ResponseWriter, t *tenantView, id string, status int) {
	i.mu.Lock()
	c := t.convs[id]
	var d Detail
	if c != nil {
		d = c.detail()
	}
	i.mu.Unlock()
	if c == nil {
		api.WriteError(w, http.StatusNotFound, "not_found", "no such conversation", "")
		return
	}
	api.WriteJSON(w, status, d)
}

// publish writes evs to topic in one call and waits until the view has
// folded waitID on waitTopic, returning that fold's verdict.
func (i *Inbox) publish(ctx context.Context, topic, waitTopic, waitID string, evs ...*event.Envelope) error {
	msgs := make([]bus.Message, len(evs))
	for n, e := range evs {
		var err error
		if topic == event.TopicRouting || topic == event.TopicAgents {
			msgs[n], err = event.RoutingMessage(e)
		} else {
			msgs[n], err = event.ToMessage(e)
		}
		if err != nil {
			return fmt.Errorf("inbox: encode %s: %w", e.Type, err)
		}
	}
	ch := i.expect(waitTopic, waitID)
	if err := i.bus.Publish(ctx, topic, msgs...); err != nil {
		i.forget(waitTopic, waitID)
		return fmt.Errorf("inbox: publish to %s: %w", topic, err)
	}
	return i.await(ctx, waitTopic, waitID, ch)
}

// conversationEvent builds an event about c.
func conversationEvent(typ string, c *Conversation, p event.Payload, opts ...event.Option) (*event.Envelope, error) {
	opts = append([]event.Option{event.WithConversation(c.ID), event.WithSource(Source)}, opts...)
	if c.Channel != "" {
		opts = append(opts, event.WithChannel(c.Channel))
	}
	if c.ContactID != "" {
		opts = append(opts, event.WithContact(c.ContactID))
	}
	return event.New(typ, c.Tenant, p, opts...)
}

// publishAndRespond publishes evs and answers with conversation id once
// the event waitID is folded from waitTopic, or with what went wrong.
func (i *Inbox) publishAndRespond(w http.ResponseWriter, r *http.Request, t *tenantView, id, topic, waitTopic, waitID string, evs ...*event.Envelope) {
	if err := i.publish(r.Context(), topic, waitTopic, waitID, evs...); err != nil {
		i.writeFailure(w, r, err)
		return
	}
	i.respond(w, t, id)
}

// act builds one routing request about the conversation, publishes it and
// answers with the conversation once routing's verdict is folded.
func (i *Inbox) act(w http.ResponseWriter, r *http.Request, t *tenantView, c *Conversation, topic string, p event.Payload) {
	e, err := conversationEvent(p.EventType(), c, p)
	id := c.ID
	i.mu.Unlock()
	if err != nil {
		i.writeFailure(w, r, err)
		return
	}
	i.publishAndRespond(w, r, t, id, topic, event.TopicRouting, e.ID, e)
}

func conflict(w http.ResponseWriter, format string, args ...any) {
	conflictError(format, args...).write(w)
}

func (i *Inbox) handleAccept(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	if c.Status != StatusOffered || c.Offer == nil || c.Offer.AgentID != p.AccountID {
		i.mu.Unlock()
		conflict(w, "no offer of this conversation stands for you")
		return
	}
	i.act(w, r, t, c, event.TopicConversations, &event.ConversationAssignedData{AgentID: p.AccountID, Queue: c.Queue})
}

func (i *Inbox) handleDecline(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	rc := t.st.Conversation(c.ID)
	if c.Status != StatusOffered || c.Offer == nil || c.Offer.AgentID != p.AccountID || rc == nil {
		i.mu.Unlock()
		conflict(w, "no offer of this conversation stands for you")
		return
	}
	i.act(w, r, t, c, event.TopicRouting, &event.ConversationOfferDeclinedData{AgentID: p.AccountID, Queue: c.Queue, OfferID: rc.OfferID})
}

type messageRequest struct {
	ClientID string `json:"client_id"`
	Text     string `json:"text"`
}

// replyNamespace derives reply ids from client ids, so a double submit
// publishes one reply.
var replyNamespace = uuid.MustParse("6f1d7c52-52a4-4c55-9f8e-3a4c1f0d2b17")

func (i *Inbox) checkText(w http.ResponseWriter, text string) bool {
	if e := i.textError(text); e != nil {
		e.write(w)
		return false
	}
	return true
}

// textError is what is wrong with a reply or note text, nil if nothing.
func (i *Inbox) textError(text string) *replyError {
	switch {
	case strings.TrimSpace(text) == "":
		return &replyError{http.StatusBadRequest, "invalid_field", "text is empty", "text"}
	case len(text) > i.cfg.MaxTextBytes:
		return &replyError{http.StatusBadRequest, "invalid_field", fmt.Sprintf("text is longer than %d bytes", i.cfg.MaxTextBytes), "text"}
	case !utf8.ValidString(text):
		return &replyError{http.StatusBadRequest, "invalid_field", "text is not valid UTF-8", "text"}
	}
	return nil
}

func (i *Inbox) handleMessage(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	var req messageRequest
	if !i.decode(w, r, &req) {
		return
	}
	out, rerr := i.reply(r.Context(), p, t, r.PathValue("id"), req, r.Header.Get(SocketHeader))
	if rerr != nil {
		rerr.write(w)
		return
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// replyOut is the answer to a reply: the reply as the thread holds it and
// the conversation's summary after it, the same pair the message frame of
// the inbox socket carries. The thread itself is not sent back: it is what
// the client already has, and at hundreds of replies a second re-encoding
// it for every one would be most of the request's cost.
type replyOut struct {
	Conversation Summary `json:"conversation"`
	Entry        Entry   `json:"entry"`
}

type noteRequest struct {
	// ClientID, when given, makes the note idempotent: a retry after a lost
	// answer (or a 503) adds it once.
	ClientID string `json:"client_id"`
	Text     string `json:"text"`
}

// noteNamespace derives note ids from client ids, like replyNamespace.
var noteNamespace = uuid.MustParse("0b6b2f0e-7d1a-4b8e-9c3d-5e2f8a9d4c61")

// clientDerivedID is the id of what an agent's client sent with clientID
// into a conversation: the same inputs always give the same id, so a repeat
// is recognised as one.
//
// It is uuid.NewSHA1(ns, the four joined by zero bytes), hashed from the
// stack: a reply makes one, and only the id's string is allocated.
func clientDerivedID(ns uuid.UUID, tenant, conversation, account, clientID string) string {
	var in [256]byte
	b := append(in[:0], ns[:]...)
	b = append(b, tenant...)
	b = append(b, 0)
	b = append(b, conversation...)
	b = append(b, 0)
	b = append(b, account...)
	b = append(b, 0)
	b = append(b, clientID...)
	sum := sha1.Sum(b)
	var id uuid.UUID
	copy(id[:], sum[:])
	id[6] = id[6]&0x0f | 0x50 // version 5 (name-based, SHA-1)
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id.String()
}

func (i *Inbox) handleNote(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	var req noteRequest
	if !i.decode(w, r, &req) || !i.checkText(w, req.Text) {
		return
	}
	if len(req.ClientID) > 128 || !utf8.ValidString(req.ClientID) {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "client_id must be at most 128 bytes of UTF-8", "client_id")
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	id := c.ID
	noteID := uuid.NewString()
	var opts []event.Option
	if req.ClientID != "" {
		noteID = clientDerivedID(noteNamespace, t.id, id, p.AccountID, req.ClientID)
		if c.notes[noteID] {
			i.mu.Unlock()
			i.respond(w, t, id) // a retry: the note is already there
			return
		}
		opts = append(opts, event.WithID(noteID))
	}
	e, err := conversationEvent(event.NoteAdded, c, &event.NoteAddedData{NoteID: noteID, AgentID: p.AccountID, Text: req.Text}, opts...)
	i.mu.Unlock()
	if err != nil {
		i.writeFailure(w, r, err)
		return
	}
	i.publishAndRespond(w, r, t, id, event.TopicConversations, event.TopicConversations, e.ID, e)
}

type transferRequest struct {
	ToAgent string `json:"to_agent"`
	ToQueue string `json:"to_queue"`
	Note    string `json:"note"`
}

func (i *Inbox) handleTransfer(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	var req transferRequest
	if !i.decode(w, r, &req) {
		return
	}
	cfg := t.st.Config()
	switch {
	case req.ToAgent == "" && req.ToQueue == "":
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "to_agent or to_queue is required", "to_agent")
		return
	case req.ToAgent != "" && !slices.ContainsFunc(cfg.Agents, func(a routing.AgentConfig) bool { return a.ID == req.ToAgent }):
		api.WriteError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("to_agent %q is not an agent of this tenant", req.ToAgent), "to_agent")
		return
	case req.ToQueue != "" && !slices.ContainsFunc(cfg.Queues, func(q routing.QueueConfig) bool { return q.ID == req.ToQueue }):
		api.WriteError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("to_queue %q is not a queue of this tenant", req.ToQueue), "to_queue")
		return
	case len(req.Note) > i.cfg.MaxTextBytes || !utf8.ValidString(req.Note):
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "note is too long or not UTF-8", "note")
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	d := &event.ConversationTransferredData{ToAgentID: req.ToAgent, ToQueue: req.ToQueue, Note: req.Note}
	switch {
	case c.Status == StatusAssigned && (c.AgentID == p.AccountID || privileged(p)):
		d.FromAgentID = c.AgentID
	case c.Status == StatusWaiting && privileged(p):
		d.FromQueue = c.Queue
	default:
		i.mu.Unlock()
		conflict(w, "the conversation is %s and not assigned to you", c.Status)
		return
	}
	i.act(w, r, t, c, event.TopicConversations, d)
}

func (i *Inbox) handleResolve(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	live := c.Status == StatusWaiting || c.Status == StatusOffered || c.Status == StatusAssigned
	if !live || !privileged(p) && (c.Status != StatusAssigned || c.AgentID != p.AccountID) {
		i.mu.Unlock()
		conflict(w, "the conversation is %s and not assigned to you", c.Status)
		return
	}
	i.act(w, r, t, c, event.TopicConversations, &event.ConversationResolvedData{AgentID: p.AccountID})
}

// handleReopen publishes conversation.reopened and queues the
// conversation again in its last queue, in one call: routing then offers
// it like any waiting conversation.
func (i *Inbox) handleReopen(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	switch {
	case c.Status != StatusResolved && c.Status != StatusAbandoned:
		i.mu.Unlock()
		conflict(w, "the conversation is %s, not closed", c.Status)
		return
	case c.Queue == "":
		i.mu.Unlock()
		conflict(w, "the conversation never waited in a queue to return to")
		return
	}
	id := c.ID
	re, err := conversationEvent(event.ConversationReopened, c, &event.ConversationReopenedData{Reason: event.ReopenAgent, AgentID: p.AccountID})
	var qe *event.Envelope
	if err == nil {
		qe, err = conversationEvent(event.ConversationQueued, c, &event.ConversationQueuedData{Queue: c.Queue, Skills: c.skills})
	}
	i.mu.Unlock()
	if err != nil {
		i.writeFailure(w, r, err)
		return
	}
	i.publishAndRespond(w, r, t, id, event.TopicConversations, event.TopicRouting, qe.ID, re, qe)
}

type tagsRequest struct {
	// Tags is the whole set wanted, replacing the current one; [] clears it.
	Tags []string `json:"tags"`
}

// normalizeTags reads the requested set as it will be stored: each tag
// trimmed and lowercased (event.NormalizeTag), checked by the rules of
// conversation.tagged. The error names the first tag at fault.
func normalizeTags(in []string) ([]string, error) {
	if in == nil {
		return nil, errors.New("tags is required: the whole set of tags, [] to clear them")
	}
	if len(in) > event.MaxTags {
		return nil, fmt.Errorf("at most %d tags, got %d", event.MaxTags, len(in))
	}
	out := make([]string, len(in))
	for n, tag := range in {
		out[n] = event.NormalizeTag(tag)
		if !event.ValidTag(out[n]) {
			return nil, fmt.Errorf("tag %q is not 1 to %d letters, digits, '-' or '_' starting with a letter or digit", tag, event.MaxTagLength)
		}
		if j := slices.Index(out[:n], out[n]); j >= 0 {
			return nil, fmt.Errorf("tag %q repeats tag %q", tag, in[j])
		}
	}
	return out, nil
}

// handleTags sets a conversation's tags: conversation.tagged with the
// whole set, answered once folded. Asking for the set it already has
// publishes nothing.
func (i *Inbox) handleTags(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	var req tagsRequest
	if !i.decode(w, r, &req) {
		return
	}
	tags, err := normalizeTags(req.Tags)
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", err.Error(), "tags")
		return
	}
	c, ok := i.conversationFor(w, r, p, t)
	if !ok {
		return
	}
	if !privileged(p) && (c.Status != StatusAssigned || c.AgentID != p.AccountID) {
		i.mu.Unlock()
		conflict(w, "the conversation is %s and not assigned to you", c.Status)
		return
	}
	id := c.ID
	if slices.Equal(tags, c.Tags) {
		i.mu.Unlock()
		i.respond(w, t, id)
		return
	}
	e, err := conversationEvent(event.ConversationTagged, c, &event.ConversationTaggedData{Tags: tags, By: p.AccountID})
	i.mu.Unlock()
	if err != nil {
		i.writeFailure(w, r, err)
		return
	}
	i.publishAndRespond(w, r, t, id, event.TopicConversations, event.TopicConversations, e.ID, e)
}

// meView is the caller's own routing state.
type meView struct {
	AccountID string                 `json:"account_id"`
	Role      string                 `json:"role"`
	Agent     bool                   `json:"agent"`
	Presence  string                 `json:"presence,omitempty"`
	Capacity  map[string]channelLoad `json:"capacity,omitempty"`
}

type channelLoad struct {
	Capacity int `json:"capacity"`
	Load     int `json:"load"`
}

func (i *Inbox) me(p auth.Principal, t *tenantView) meView {
	i.mu.Lock()
	defer i.mu.Unlock()
	v := meView{AccountID: p.AccountID, Role: p.Role}
	var ac *routing.AgentConfig
	for n, a := range t.st.Config().Agents {
		if a.ID == p.AccountID {
			ac = &t.st.Config().Agents[n]
		}
	}
	if ac == nil {
		return v
	}
	v.Agent = true
	v.Presence = event.PresenceOffline
	a := t.st.Agent(p.AccountID)
	if a != nil && a.Presence != "" {
		v.Presence = a.Presence
	}
	v.Capacity = map[string]channelLoad{}
	for ch, n := range ac.Capacity {
		l := channelLoad{Capacity: n}
		if a != nil {
			l.Load = a.Load(ch)
		}
		v.Capacity[ch] = l
	}
	return v
}

func (i *Inbox) handleMe(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	api.WriteJSON(w, http.StatusOK, i.me(p, t))
}

type presenceRequest struct {
	Presence string `json:"presence"`
	Reason   string `json:"reason"`
}

func (i *Inbox) handlePresence(w http.ResponseWriter, r *http.Request) {
	p, t, ok := i.tenantFor(w, r)
	if !ok {
		return
	}
	var req presenceRequest
	if !i.decode(w, r, &req) {
		return
	}
	switch req.Presence {
	case event.PresenceAvailable, event.PresenceAway, event.PresenceWrapUp, event.PresenceOffline:
	default:
		api.WriteError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("presence %q is not available, away, wrap-up or offline", req.Presence), "presence")
		return
	}
	if len(req.Reason) > 256 || !utf8.ValidString(req.Reason) {
		api.WriteError(w, http.StatusBadRequest, "invalid_field", "reason is longer than 256 bytes or not UTF-8", "reason")
		return
	}
	cur := i.me(p, t)
	if !cur.Agent {
		api.WriteError(w, http.StatusForbidden, "forbidden", "you are not a routing agent of this tenant", "")
		return
	}
	prev := cur.Presence
	if prev == req.Presence {
		prev = ""
	}
	e, err := event.New(event.AgentPresenceChanged, t.id, &event.AgentPresenceChangedData{
		AgentID: p.AccountID, Presence: req.Presence, Previous: prev, Reason: req.Reason}, event.WithSource(Source))
	if err != nil {
		i.writeFailure(w, r, err)
		return
	}
	if err := i.publish(r.Context(), event.TopicAgents, event.TopicRouting, e.ID, e); err != nil {
		i.writeFailure(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, i.me(p, t))
}
