package inbox

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/webui/api"
	"github.com/hotline-hub/hotline/webui/auth"
)

// replyError is a refused or failed request: the status and the error
// body ({"error":{"code","message","field"}}) of the answer. Status 0
// means the caller went away and nothing is answered.
type replyError struct {
	status               int
	code, message, field string
}

// write answers the request with e; nothing when the caller went away.
func (e *replyError) write(w http.ResponseWriter) {
	if e.status != 0 {
		api.WriteError(w, e.status, e.code, e.message, e.field)
	}
}

// conflictError is a 409 with a formatted message (conflict writes it).
func conflictError(format string, args ...any) *replyError {
	return &replyError{http.StatusConflict, "conflict", fmt.Sprintf(format, args...), ""}
}

// reply is the work of an agent's reply, shared by the HTTP endpoint
// (handleMessage) and the inbox socket's reply frame: it checks req,
// finds conversation convID of t for p, publishes the reply once per
// client id (a repeat, even concurrent, waits for the first and answers
// the same), waits for its fold and returns the reply as the thread holds
// it with the summary after it. socketID names the caller's socket that
// gets no frame for the reply's fold (see SocketHeader); one that names no
// socket of p is ignored. p's role is checked by the caller.
func (i *Inbox) reply(ctx context.Context, p auth.Principal, t *tenantView, convID string, req messageRequest, socketID string) (out replyOut, rerr *replyError) {
	if req.ClientID == "" || len(req.ClientID) > 128 || !utf8.ValidString(req.ClientID) {
		return replyOut{}, &replyError{http.StatusBadRequest, "invalid_field", "client_id must be 1 to 128 bytes of UTF-8", "client_id"}
	}
	if e := i.textError(req.Text); e != nil {
		return replyOut{}, e
	}
	c, rerr := i.find(p, t, convID, mayRead)
	if rerr != nil {
		return replyOut{}, rerr
	}
	id := c.ID
	eventID := clientDerivedID(replyNamespace, t.id, id, p.AccountID, req.ClientID)
	for {
		busy, inflight := i.inflight[eventID]
		if !inflight {
			break
		}
		i.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return replyOut{}, &replyError{}
		}
		i.mu.Lock()
		// The conversation may have left the view meanwhile.
		if c = t.convs[id]; c == nil {
			i.mu.Unlock()
			return replyOut{}, &replyError{http.StatusNotFound, "not_found", "no such conversation", ""}
		}
	}
	if c.thread.find(eventID) >= 0 {
		defer i.mu.Unlock()
		return i.replyResultLocked(t, id, eventID) // a double submit: the reply is already there
	}
	switch {
	case c.Status != StatusAssigned:
		i.mu.Unlock()
		return replyOut{}, conflictError("the conversation is %s, not assigned", c.Status)
	case c.AgentID != p.AccountID && !privileged(p):
		i.mu.Unlock()
		return replyOut{}, conflictError("the conversation is not assigned to you")
	case c.Customer.Address == "":
		i.mu.Unlock()
		return replyOut{}, conflictError("no customer address is known for this conversation yet")
	}
	from := c.Queue
	if from == "" {
		from = c.Tenant
	}
	inReplyTo := c.thread.lastIn()
	// What the event needs of c, so that it is built after the lock is
	// released: the fold and every other reply wait for i.mu.
	var head Conversation
	head.ID, head.Tenant, head.Channel, head.ContactID = c.ID, c.Tenant, c.Channel, c.ContactID
	to := event.Address{Address: c.Customer.Address, Name: c.Customer.Name}
	done := make(chan struct{})
	i.inflight[eventID] = done
	// The caller's own socket gets no frame for this reply: the answer
	// carries it.
	cs := i.clients[t.id]
	skipping := false
	if cl := cs.own(p, socketID); cl != nil {
		cs.skip[eventID], skipping = cl, true
	}
	i.mu.Unlock()
	published := false
	defer func() {
		i.mu.Lock()
		delete(i.inflight, eventID)
		if skipping {
			delete(cs.skip, eventID) // not folded (an error), or already taken
		}
		close(done)
		if published {
			// The answer is read under the same lock as the clean-up.
			out, rerr = i.replyResultLocked(t, id, eventID)
		}
		i.mu.Unlock()
	}()
	name := ""
	if acc, ok := i.auth.Store().Account(t.id, p.AccountID); ok {
		name = acc.DisplayName
	}
	e, err := conversationEvent(event.MessageSent, &head, &event.MessageSentData{
		MessageID: eventID, ClientMessageID: req.ClientID, AgentID: p.AccountID,
		From: event.Address{Address: from, Name: name}, To: []event.Address{to},
		Text: req.Text, InReplyTo: inReplyTo,
	}, event.WithID(eventID))
	if err != nil {
		return replyOut{}, i.failure("reply to "+id, err)
	}
	if err := i.publish(ctx, event.TopicOutbox, event.TopicOutbox, e.ID, e); err != nil {
		if ctx.Err() == context.Canceled {
			return replyOut{}, &replyError{}
		}
		return replyOut{}, i.failure("reply to "+id, err)
	}
	published = true
	return replyOut{}, nil // the deferred clean-up fills in the answer
}

// replyResultLocked is the answer to a reply: the reply msgID of
// conversation id as the thread holds it, with the summary. i.mu is held.
func (i *Inbox) replyResultLocked(t *tenantView, id, msgID string) (replyOut, *replyError) {
	if c := t.convs[id]; c != nil {
		if n := c.thread.find(msgID); n >= 0 {
			return replyOut{Conversation: c.summary(), Entry: c.thread.entry(n)}, nil
		}
	}
	// Folded, yet gone at once: the conversation left the view.
	return replyOut{}, &replyError{http.StatusNotFound, "not_found", "no such conversation", ""}
}
