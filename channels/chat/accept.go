package chat

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// visitorInfo is what the visitor told about themselves in hello.
type visitorInfo struct {
	name, email, lang string
}

// acceptMessage takes one visitor message: it returns the earlier outcome
// for a client id already taken, else publishes (conversation.queued and)
// message.received in one call and only then returns, so the caller may
// acknowledge; the client id's record in the state log is queued for
// recordLoop. dup reports a resend.
func (c *Channel) acceptMessage(ctx context.Context, t *tenant, q *queue, v *visitor, info visitorInfo, clientID, text string, from *conn) (a accepted, dup bool, err error) {
	v.accept.Lock()
	defer v.accept.Unlock()
	v.sh.mu.Lock()
	a, ok := v.lookup(clientID)
	convID := v.current
	v.sh.mu.Unlock()
	if ok {
		return a, true, nil
	}
	if convID != "" {
		k := tkey{t.id, convID}
		cs := c.convShard(k)
		cs.mu.Lock()
		if cv := cs.convs[k]; cv == nil || cv.closed {
			convID = ""
		}
		cs.mu.Unlock()
	}

	now := c.cfg.Now().UTC()
	newConv := convID == ""
	if newConv {
		convID = derivedID("conv", t.id, v.id, clientID)
	}
	msgID := derivedID("msg", t.id, v.id, clientID)
	// The visitor (one browser's token) is the contact until an agent
	// links it to a known customer: it carries the visitor's earlier
	// conversations into the dossier and back to their last agent.
	opts := []event.Option{event.WithConversation(convID), event.WithChannel(event.ChannelChat),
		event.WithSource(defaultSource), event.WithTime(now), event.WithSubject(v.id), event.WithContact(v.id)}
	var evs []*event.Envelope
	if newConv {
		qe, err := event.New(event.ConversationQueued, t.id, &event.ConversationQueuedData{
			Queue: q.cfg.Name, Priority: q.cfg.Priority, Skills: q.cfg.Skills, Language: info.lang,
		}, append(opts, event.WithID(derivedID("queued", t.id, v.id, clientID)))...)
		if err != nil {
			return accepted{}, false, fmt.Errorf("chat: build conversation.queued: %w", err)
		}
		evs = append(evs, qe)
	}
	re, err := event.New(event.MessageReceived, t.id, &event.MessageReceivedData{
		MessageID:       msgID,
		ClientMessageID: clientID,
		From:            event.Address{Address: v.id, Name: info.name},
		To:              []event.Address{{Address: q.cfg.Name}},
		Text:            text,
		Language:        info.lang,
	}, append(opts, event.WithID(derivedID("rcv", t.id, v.id, clientID)))...)
	if err != nil {
		return accepted{}, false, fmt.Errorf("chat: build message.received: %w", err)
	}
	if info.email != "" {
		if err := re.SetExtension("visitoremail", info.email); err != nil {
			return accepted{}, false, fmt.Errorf("chat: %w", err)
		}
	}
	evs = append(evs, re)
	msgs := make([]bus.Message, len(evs))
	for i, e := range evs {
		if msgs[i], err = event.ToMessage(e); err != nil {
			return accepted{}, false, fmt.Errorf("chat: encode %s: %w", e.Type, err)
		}
	}
	pctx, cancel := context.WithTimeout(ctx, defaultPublishTimeout)
	defer cancel()
	// Marked before publishing: the fold may read the event back before
	// Publish returns, and must then leave it to this call.
	k := tkey{t.id, convID}
	cs := c.convShard(k)
	cs.mu.Lock()
	cs.taken[re.ID] = struct{}{}
	cs.mu.Unlock()
	// One call, one key: queued then received keep their order.
	if err := c.bus.Publish(pctx, event.TopicConversations, msgs...); err != nil {
		cs.mu.Lock()
		if _, unread := cs.taken[re.ID]; unread {
			delete(cs.taken, re.ID)
		} else {
			// The fold read it back, so it is stored after all, and
			// skipped it for this call: apply it here.
			cv := cs.conv(k)
			cv.last = later(cv.last, now)
			c.receivedLocked(cv, v.id, msgID, clientID, text, now, nil)
		}
		cs.mu.Unlock()
		return accepted{}, false, fmt.Errorf("chat: publish message: %w", err)
	}
	a = accepted{Kind: "accepted", Tenant: t.id, Visitor: v.id, ConversationID: convID, ClientID: clientID, MessageID: msgID, Time: now}
	// The message is durable, so it is acknowledged now; its record in the
	// state log, which keeps the client id across a restart, follows in a
	// batch (recordLoop). A restart before the record is written forgets
	// the client id, and a resend then republishes the same event ids,
	// which consumers drop.
	select {
	case c.records <- a:
	default:
		c.writeRecords(pctx, []accepted{a})
	}
	// Applied here from what was published, so the visitor's other
	// sockets see it now (the one it came on gets the ack, which carries
	// its seq); the fold skips the event when it reads it back.
	cs.mu.Lock()
	c.receivedLocked(cs.conv(k), v.id, msgID, clientID, text, now, from)
	c.applyAcceptedLocked(cs, a)
	cs.mu.Unlock()
	return a, false, nil
}

// recordLoop writes the queued accepted records to the state log, as many
// as are waiting in one publish, until stop is closed and the queue is
// empty.
func (c *Channel) recordLoop(stop <-chan struct{}) {
	batch := make([]accepted, 0, 256)
	for {
		select {
		case a := <-c.records:
			batch = append(batch[:0], a)
		case <-stop:
			select {
			case a := <-c.records:
				batch = append(batch[:0], a)
			default:
				return
			}
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case a := <-c.records:
				batch = append(batch, a)
			default:
				break fill
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), defaultPublishTimeout)
		c.writeRecords(ctx, batch)
		cancel()
	}
}

// writeRecords publishes accepted records to the state log, logging (not
// returning) a failure: the messages themselves are durable already.
func (c *Channel) writeRecords(ctx context.Context, as []accepted) {
	msgs := make([]bus.Message, len(as))
	for i, a := range as {
		msgs[i] = bus.Message{Key: []byte(a.Tenant), Value: a.marshal()}
	}
	if err := c.bus.Publish(ctx, c.cfg.StateTopic, msgs...); err != nil {
		c.log.Warn("chat state records not written", "records", len(as), "err", err)
	}
}

// signal is one typing indicator on the signals topic.
type signal struct {
	Type           string    `json:"type"` // "conversation.typing"
	Tenant         string    `json:"tenant"`
	ConversationID string    `json:"conversation_id"`
	From           string    `json:"from"` // "visitor" or "agent"
	AgentID        string    `json:"agent_id,omitempty"`
	Active         bool      `json:"active"`
	Time           time.Time `json:"time"`
}

// SignalTyping is the type of typing signals on the signals topic.
const SignalTyping = "conversation.typing"

// publishTyping writes the visitor's typing state.
func (c *Channel) publishTyping(ctx context.Context, tenant, convID string, active bool) error {
	s := signal{Type: SignalTyping, Tenant: tenant, ConversationID: convID, From: "visitor", Active: active, Time: c.cfg.Now().UTC()}
	m := bus.Message{Key: []byte(tenant + "/" + convID), Value: encode(s),
		Headers: []bus.Header{{Key: "type", Value: []byte(SignalTyping)}}}
	pctx, cancel := context.WithTimeout(ctx, defaultPublishTimeout)
	defer cancel()
	if err := c.bus.Publish(pctx, c.cfg.SignalsTopic, m); err != nil {
		return fmt.Errorf("chat: publish typing: %w", err)
	}
	return nil
}

// signal handles one message of the signals topic: an agent's fresh typing
// state goes to the visitor's sockets; stale ones are dropped.
func (c *Channel) signal(_ context.Context, d *bus.Delivery) error {
	var s signal
	if err := jsonUnmarshal(d.Value, &s); err != nil || s.Type != SignalTyping {
		return nil
	}
	if s.From != "agent" || c.cfg.Now().Sub(s.Time) > c.cfg.TypingMaxAge {
		return nil
	}
	k := tkey{s.Tenant, s.ConversationID}
	cs := c.convShard(k)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cv := cs.convs[k]
	if cv == nil {
		return nil
	}
	vk := tkey{cv.tenant, cv.visitor}
	vs := c.visitorShard(vk)
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if v := vs.visitors[vk]; v != nil && v.current == cv.id {
		f := typingFrame{Type: frameTyping, Active: s.Active}.marshal()
		for sock := range v.socks {
			sock.enqueue(f)
		}
	}
	return nil
}
