package inbox

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
)

// Conversation statuses shown by the inbox.
const (
	StatusWaiting   = "waiting"
	StatusOffered   = "offered"
	StatusAssigned  = "assigned"
	StatusResolved  = "resolved"
	StatusAbandoned = "abandoned"
)

// Thread entry directions.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// Customer is who the conversation is with, as the channel named them.
type Customer struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address,omitempty"`
}

// Offer is a standing offer: reserved for the agent until the deadline.
type Offer struct {
	AgentID  string    `json:"agent_id"`
	Deadline time.Time `json:"deadline"`
}

// Entry is one message of a thread.
type Entry struct {
	MessageID string    `json:"message_id"`
	Direction string    `json:"direction"`
	AgentID   string    `json:"agent_id,omitempty"`
	Text      string    `json:"text"`
	Time      time.Time `json:"time"`
	Delivered bool      `json:"delivered"`
	// DeliveryError is the channel's reason when delivery failed.
	DeliveryError string `json:"delivery_error,omitempty"`
}

// Note is an internal note on a conversation, never sent to the customer.
type Note struct {
	NoteID  string    `json:"note_id"`
	AgentID string    `json:"agent_id"`
	Text    string    `json:"text"`
	Time    time.Time `json:"time"`
}

// Summary is what lists and the WebSocket show of a conversation.
type Summary struct {
	ID           string    `json:"id"`
	Tenant       string    `json:"tenant"`
	Channel      string    `json:"channel"`
	ContactID    string    `json:"contact_id,omitempty"`
	Customer     Customer  `json:"customer"`
	Queue        string    `json:"queue,omitempty"`
	Status       string    `json:"status"`
	AgentID      string    `json:"agent_id,omitempty"`
	Offer        *Offer    `json:"offer,omitempty"`
	LastActivity time.Time `json:"last_activity"`
	Messages     int       `json:"messages"`
	// Tags are the conversation's tags (conversation.tagged), never nil
	// in what the API sends, so a client sees a cleared set as one.
	Tags []string `json:"tags"`
	// Call is the conversation's current call, for voice (calls.go).
	Call *Call `json:"call,omitempty"`
}

// Detail is one conversation with its thread and notes.
type Detail struct {
	Summary
	Thread []Entry `json:"thread"`
	// ThreadDropped counts the oldest entries dropped past Config.MaxThread.
	ThreadDropped int    `json:"thread_dropped,omitempty"`
	Notes         []Note `json:"notes"`
	// CallLog, CallLogDropped, Recordings: the conversation's calls
	// (calls.go).
	CallLog        []CallEntry `json:"call_log,omitempty"`
	CallLogDropped int         `json:"call_log_dropped,omitempty"`
	Recordings     []Recording `json:"recordings,omitempty"`
}

// Conversation is the inbox's view of one conversation.
type Conversation struct {
	// Detail is what the API shows, but for its Thread, which stays nil:
	// the thread is kept in thread, and detail builds it.
	Detail
	thread thread
	skills []string // the conversation's own routing skills
	// lastAgent had it last: shown as AgentID once closed, and may still
	// open and reopen it.
	lastAgent string
	pending   map[string]string // delivery results for replies not folded yet
	notes     map[string]bool
	calls     *callFold // nil without calls (calls.go)
}

func (c *Conversation) summary() Summary {
	s := c.Summary
	if c.Offer != nil {
		o := *c.Offer
		s.Offer = &o
	}
	// The fold replaces Tags whole and never writes into it, so sharing
	// the slice is safe.
	if s.Tags == nil {
		s.Tags = []string{}
	}
	s.Call = c.calls.view(c.Status)
	return s
}

func (c *Conversation) detail() Detail {
	d := c.Detail
	d.Summary = c.summary()
	d.Thread = c.thread.entries()
	d.Notes = slices.Clone(c.Notes)
	if d.Notes == nil {
		d.Notes = []Note{}
	}
	c.callDetail(&d)
	return d
}

// view returns tenant's view, creating it for a tenant seen on the bus
// without a static configuration: folded, and served once the directory
// gives it a queue or an agent (tenantView.refresh) and its start marker,
// requested here, is read back. Called with i.mu held.
func (i *Inbox) view(tenant string) *tenantView {
	t := i.tenants[tenant]
	if t == nil && event.ValidTenant(tenant) {
		window := i.cfg.Routing.DedupeWindow
		if window == 0 {
			window = routing.DefaultDedupeWindow
		}
		st, err := routing.NewState(routing.TenantConfig{ID: tenant, DedupeWindow: window})
		if err != nil {
			return nil
		}
		t = &tenantView{id: tenant, st: st, convs: map[string]*Conversation{}}
		i.tenants[tenant] = t
		select {
		case i.unmarked <- struct{}{}:
		default: // a marker run is already due; it takes every tenant unmarked
		}
	}
	return t
}

// conv returns the conversation, creating it. Called with i.mu held.
func (t *tenantView) conv(id, channel string) *Conversation {
	c := t.convs[id]
	if c == nil {
		c = &Conversation{}
		c.ID, c.Tenant, c.Channel = id, t.id, channel
		t.convs[id] = c
	}
	if c.Channel == "" {
		c.Channel = channel
	}
	return c
}

func (c *Conversation) touch(at time.Time) {
	if at.After(c.LastActivity) {
		c.LastActivity = at
	}
}

// foldRouting folds one message of the routing log through the tenant's
// routing.State and mirrors the result on the conversations it touched.
func (i *Inbox) foldRouting(d *bus.Delivery) {
	e, err := routing.ReadRoutingDelivery(d)
	if err != nil {
		i.log.Debug("routing message skipped", "topic", d.Topic, "position", d.String(), "err", err)
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	t := i.view(e.Tenant)
	if t == nil {
		return
	}
	verdict := t.st.Apply(e)
	defer i.settle(event.TopicRouting, e.ID, verdict)
	if verdict == nil && routing.IsDirectoryFact(e.Type) {
		t.refresh()
	}
	if e.ID == t.marker && t.marker != "" {
		t.synced = true
		i.log.Info("caught up with the routing log", "tenant", t.id)
	}
	if verdict != nil {
		return
	}
	if e.ConversationID != "" {
		c := t.convs[e.ConversationID]
		rc := t.st.Conversation(e.ConversationID)
		if c == nil && rc == nil {
			return
		}
		ch := e.Channel
		if rc != nil {
			ch = rc.Channel
		}
		before := i.visibleSnapshot(t, c)
		c = t.conv(e.ConversationID, ch)
		switch {
		case rc != nil:
			mirror(c, rc)
		case e.Type == event.ConversationResolved:
			c.Status, c.Offer, c.AgentID = StatusResolved, nil, c.lastAgent
		case e.Type == event.ConversationAbandoned:
			c.Status, c.Offer, c.AgentID = StatusAbandoned, nil, c.lastAgent
		}
		if e.Type == event.ConversationTransferred {
			i.handOver(c, e)
		}
		c.touch(e.Time)
		i.changed(t, c, before, nil)
		return
	}
	if e.Type == event.AgentPresenceChanged {
		// Leaving "available" withdraws standing offers of many
		// conversations at once.
		for _, c := range t.convs {
			if c.Status != StatusOffered {
				continue
			}
			rc := t.st.Conversation(c.ID)
			if rc == nil {
				continue
			}
			before := i.visibleSnapshot(t, c)
			if mirror(c, rc) {
				i.changed(t, c, before, nil)
			}
		}
	}
}

// mirror copies routing's verdict onto c and reports whether it changed.
func mirror(c *Conversation, rc *routing.Conversation) bool {
	old := c.summary()
	c.Queue = rc.Queue
	c.skills = rc.Skills
	if rc.ContactID != "" {
		c.ContactID = rc.ContactID
	}
	switch rc.Status {
	case routing.Waiting:
		c.Status, c.AgentID, c.Offer = StatusWaiting, "", nil
	case routing.Offered:
		c.Status, c.AgentID = StatusOffered, ""
		c.Offer = &Offer{AgentID: rc.AgentID, Deadline: rc.OfferDeadline}
	case routing.Assigned:
		c.Status, c.AgentID, c.Offer = StatusAssigned, rc.AgentID, nil
		c.lastAgent = rc.AgentID
	}
	now := c.summary()
	return old.Queue != now.Queue || old.Status != now.Status || old.AgentID != now.AgentID ||
		(old.Offer == nil) != (now.Offer == nil) || old.Offer != nil && *old.Offer != *now.Offer
}

// foldConversations folds one message of the conversations topic:
// messages, deliveries, notes, calls. Routing facts on it are taken from
// the routing log instead, where their verdict is known.
func (i *Inbox) foldConversations(d *bus.Delivery) {
	e, p, ok := i.decodeEvent(d)
	if !ok {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	defer i.settle(event.TopicConversations, e.ID, nil)
	t := i.view(e.Tenant)
	if t == nil || e.ConversationID == "" {
		return
	}
	c := t.convs[e.ConversationID]
	before := i.visibleSnapshot(t, c)
	var entry *Entry
	switch d := p.(type) {
	case *event.MessageReceivedData:
		c = t.conv(e.ConversationID, e.Channel)
		if e.ContactID != "" {
			c.ContactID = e.ContactID
		}
		if c.Customer.Address == "" {
			c.Customer = Customer{Name: d.From.Name, Address: d.From.Address}
		}
		entry = i.appendEntry(c, Entry{MessageID: d.MessageID, Direction: DirectionIn, Text: d.Text, Time: e.Time})
	case *event.MessageDeliveredData:
		if c == nil {
			return
		}
		// The reply's new state goes out as a message frame carrying it,
		// which the open conversation takes in place, without reading the
		// whole conversation again as it would for a conversation frame.
		if entry = deliver(c, d.MessageID, d.Status, d.Reason); entry == nil {
			if c.pending == nil {
				c.pending = map[string]string{}
			}
			if len(c.pending) < i.cfg.MaxThread {
				c.pending[d.MessageID] = d.Status + "\x00" + d.Reason
			}
			return
		}
	case *event.NoteAddedData:
		c = t.conv(e.ConversationID, e.Channel)
		if c.notes[d.NoteID] {
			return
		}
		if c.notes == nil {
			c.notes = map[string]bool{}
		}
		c.notes[d.NoteID] = true
		c.Notes = append(c.Notes, Note{NoteID: d.NoteID, AgentID: d.AgentID, Text: d.Text, Time: e.Time})
		if len(c.Notes) > i.cfg.MaxNotes {
			delete(c.notes, c.Notes[0].NoteID)
			c.Notes = slices.Delete(c.Notes, 0, 1)
		}
	case *event.ConversationQueuedData:
		c = t.conv(e.ConversationID, e.Channel)
		if c.Queue == "" {
			c.Queue = d.Queue
		}
		if c.Status == "" {
			c.Status = StatusWaiting
		}
	case *event.ConversationTaggedData:
		// The payload is the whole set: the latest event wins, however
		// often the log is replayed. A conversation the view does not
		// hold (evicted once closed) is not brought back by its tags.
		if c == nil || d.Validate() != nil {
			return
		}
		c.Tags = slices.Clone(d.Tags)
	case *event.CallStartedData:
		c = t.conv(e.ConversationID, event.ChannelVoice)
		if c.Status == "" {
			c.Status = StatusWaiting
		}
		i.foldCall(c, e, d)
	default:
		if c == nil {
			return
		}
		i.foldCall(c, e, p)
	}
	c.touch(e.Time)
	i.changed(t, c, before, entry)
}

// foldOutbox folds replies into their threads.
func (i *Inbox) foldOutbox(d *bus.Delivery) {
	e, p, ok := i.decodeEvent(d)
	if !ok {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	defer i.settle(event.TopicOutbox, e.ID, nil)
	sent, isSent := p.(*event.MessageSentData)
	t := i.view(e.Tenant)
	if !isSent || t == nil || e.ConversationID == "" {
		return
	}
	before := i.visibleSnapshot(t, t.convs[e.ConversationID])
	c := t.conv(e.ConversationID, e.Channel)
	entry := i.appendEntry(c, Entry{MessageID: sent.MessageID, Direction: DirectionOut, AgentID: sent.AgentID, Text: sent.Text, Time: e.Time})
	if entry == nil {
		return
	}
	if r, ok := c.pending[sent.MessageID]; ok {
		delete(c.pending, sent.MessageID)
		status, reason, _ := cut(r)
		entry = deliver(c, sent.MessageID, status, reason)
	}
	c.touch(e.Time)
	i.changed(t, c, before, entry)
}

func cut(s string) (string, string, bool) {
	for n := 0; n < len(s); n++ {
		if s[n] == 0 {
			return s[:n], s[n+1:], true
		}
	}
	return s, "", false
}

// deliver marks a reply delivered or failed and returns its entry; nil if
// it is not folded yet.
func deliver(c *Conversation, msgID, status, reason string) *Entry {
	n := c.thread.find(msgID)
	if n < 0 {
		return nil
	}
	c.thread.setDelivery(n, status == event.DeliveryDelivered, status == event.DeliveryFailed, reason)
	en := c.thread.entry(n)
	return &en
}

// appendEntry adds en to c's thread unless its message id is there
// already (a republished event), dropping the oldest past MaxThread, and
// returns the entry as the thread keeps it; nil if it added nothing.
func (i *Inbox) appendEntry(c *Conversation, en Entry) *Entry {
	if en.MessageID == "" || c.thread.find(en.MessageID) >= 0 {
		return nil
	}
	dropped, ok := c.thread.add(&en, i.cfg.MaxThread)
	c.ThreadDropped += dropped
	c.Messages = c.thread.len() + c.ThreadDropped
	if !ok {
		i.log.Warn("thread entry too large to keep", "tenant", c.Tenant, "conversation_id", c.ID, "message_id", en.MessageID)
		return nil
	}
	kept := c.thread.entry(c.thread.len() - 1)
	return &kept
}

// decodeEvent reads an event and its payload; unreadable events are logged and
// skipped.
func (i *Inbox) decodeEvent(d *bus.Delivery) (*event.Envelope, event.Payload, bool) {
	e, err := event.FromDelivery(d)
	if err != nil {
		i.log.Debug("unreadable event skipped", "topic", d.Topic, "position", d.String(), "err", err)
		return nil, nil, false
	}
	if !event.Known(e.Type) {
		return e, nil, e.ID != ""
	}
	p, err := e.Decode()
	if err != nil {
		i.log.Warn("undecodable event skipped", "topic", d.Topic, "position", d.String(), "tenant", e.Tenant,
			"conversation_id", e.ConversationID, "type", e.Type, "err", err)
		return nil, nil, false
	}
	return e, p, true
}

// signalFrame is a typing signal on the signals topic (channels/chat
// PROTOCOL.md).
type signalFrame struct {
	Type           string    `json:"type"`
	Tenant         string    `json:"tenant"`
	ConversationID string    `json:"conversation_id"`
	From           string    `json:"from"`
	AgentID        string    `json:"agent_id,omitempty"`
	Active         bool      `json:"active"`
	Time           time.Time `json:"time"`
}

// signalTyping is the type of typing signals.
const signalTyping = "conversation.typing"

// foldSignal pushes a visitor's fresh typing signal to the agents who see
// the conversation.
func (i *Inbox) foldSignal(d *bus.Delivery) {
	var s signalFrame
	if err := json.Unmarshal(d.Value, &s); err != nil || s.Type != signalTyping || s.From != "visitor" {
		return
	}
	if time.Since(s.Time) > i.cfg.TypingMaxAge {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	t := i.tenants[s.Tenant]
	if t == nil {
		return
	}
	c := t.convs[s.ConversationID]
	if c == nil {
		return
	}
	frame, err := json.Marshal(typingOut{Type: "typing", ConversationID: c.ID, From: "visitor", Active: s.Active})
	if err != nil {
		return
	}
	sum := c.summary()
	i.clients[t.id].candidates(func(cl *client) {
		if seesSummary(t, cl.p, sum, c.skills) {
			cl.enqueue(frame)
		}
	}, sum)
}
