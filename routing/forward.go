package routing

import (
	"context"
	"fmt"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
)

// forwardTopics are where routing requests are first published: channels
// queue conversations on TopicConversations, the web UI publishes
// acceptances, transfers and resolutions there and presence on
// TopicAgents, contact matches land on TopicContacts, and admins' queue
// and agent profile changes on TopicDirectory.
var forwardTopics = []string{event.TopicConversations, event.TopicAgents, event.TopicContacts, event.TopicDirectory}

// IsRequest reports whether events of typ are routing requests, copied
// onto the routing topic where their position decides their effect.
func IsRequest(typ string) bool {
	switch typ {
	case event.ConversationQueued, event.ConversationAssigned, event.ConversationTransferred,
		event.ConversationResolved, event.ConversationAbandoned, event.ConversationOfferDeclined,
		event.AgentPresenceChanged, event.ContactIdentified:
		return true
	}
	return false
}

// forwardBatch bounds how many requests one publish copies.
const forwardBatch = 256

// forward copies routing requests from topic onto the routing topic, as a
// member of the router consumer group, acknowledging each only once its
// copy is durable. A crash between the two copies a request again with the
// same event id, which the fold drops as a duplicate.
func (r *Router) forward(ctx context.Context, topic string) error {
	sub, err := r.bus.Subscribe(ctx, topic, bus.SubscribeOptions{Group: r.cfg.Group, Start: bus.StartEarliest})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("routing: subscribe to %s: %w", topic, err)
	}
	defer sub.Close()
	in := make(chan *bus.Delivery, forwardBatch)
	errc := make(chan error, 1)
	go func() {
		defer close(in)
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				if ctx.Err() == nil {
					errc <- fmt.Errorf("routing: read %s: %w", topic, err)
				}
				return
			}
			select {
			case in <- d:
			case <-ctx.Done():
				return
			}
		}
	}()
	batch := make([]*bus.Delivery, 0, forwardBatch)
	msgs := make([]bus.Message, 0, forwardBatch)
	for {
		d, ok := <-in
		if !ok {
			select {
			case err := <-errc:
				return err
			default:
				return nil
			}
		}
		batch = append(batch[:0], d)
	drain:
		for len(batch) < forwardBatch {
			select {
			case d, ok := <-in:
				if !ok {
					break drain
				}
				batch = append(batch, d)
			default:
				break drain
			}
		}
		msgs = msgs[:0]
		for _, d := range batch {
			if m, ok := r.request(d); ok {
				msgs = append(msgs, m)
			}
		}
		if len(msgs) > 0 {
			if err := r.publishRetrying(ctx, msgs); err != nil {
				return nil // ctx ended; unacknowledged requests are copied by the next member
			}
		}
		for _, d := range batch {
			if err := d.Ack(); err != nil && ctx.Err() == nil {
				return fmt.Errorf("routing: ack %s: %w", d, err)
			}
		}
	}
}

// request returns the routing-topic copy of d if it is a valid routing
// request or directory fact (IsDirectoryFact). The copy keeps the
// message's bytes and only re-keys it by tenant, which makes it what
// event.RoutingMessage would encode, with the same event id: a copy made
// twice is dropped by the fold.
func (r *Router) request(d *bus.Delivery) (bus.Message, bool) {
	e, err := event.FromDelivery(d)
	if err != nil {
		r.log.Warn("unreadable event not forwarded", "topic", d.Topic, "position", d.String(), "err", err)
		return bus.Message{}, false
	}
	if !IsRequest(e.Type) && !IsDirectoryFact(e.Type) {
		return bus.Message{}, false
	}
	if err := e.Validate(); err != nil {
		r.log.Warn("invalid routing request not forwarded", "topic", d.Topic, "position", d.String(),
			"tenant", e.Tenant, "conversation_id", e.ConversationID, "err", err)
		return bus.Message{}, false
	}
	m := d.Message
	m.Key = []byte(e.Tenant)
	return m, true
}

// publishRetrying publishes msgs to the routing topic until it succeeds or
// ctx ends; requests must not be dropped, and re-publishing the same event
// ids is safe.
func (r *Router) publishRetrying(ctx context.Context, msgs []bus.Message) error {
	backoff := 50 * time.Millisecond
	for {
		err := r.bus.Publish(ctx, event.TopicRouting, msgs...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Warn("forward routing requests", "topic", event.TopicRouting, "count", len(msgs), "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
