package event

import (
	"encoding/json"

	"github.com/hotline-hub/hotline/bus"
)

// TopicRouting is routing's single ordered log: every fact that decides who
// gets which conversation (requests copied from TopicConversations,
// TopicAgents and TopicContacts, offers, acceptances, declines, expiries,
// transfers, closes, presence) is appended here keyed by tenant alone, so
// one tenant's facts sit in one partition in one order. Every router and
// every view of assignments (the web inbox) folds that order and so reaches
// the same verdict on each fact; see docs/ROUTING.md. Messages go on it
// through RoutingMessage, never ToMessage, whose key is per conversation
// for most types.
const TopicRouting = "hotline.routing"

// Event types of routing's own facts; they live on TopicRouting only.
const (
	// ConversationOfferDeclined: the agent refused an offer, so routing moves
	// on to another agent.
	ConversationOfferDeclined = "conversation.offer_declined"
	// ConversationOfferExpired: nobody answered an offer in time; routing
	// withdrew it and moves on to another agent.
	ConversationOfferExpired = "conversation.offer_expired"
	// RouterStarted: a router instance began folding the tenant's routing
	// log. It changes no state; the instance that wrote it knows it has
	// caught up with the log once it reads it back.
	RouterStarted = "router.started"
)

// scopeTenant marks types keyed by tenant alone. Routing's own types are
// keyed like agent events, so Key() (and thus ToMessage) already puts them
// in the tenant's partition of TopicRouting.
const scopeTenant = scopeAgent

// RoutingMessage encodes e for TopicRouting: ToMessage, but keyed by the
// tenant alone whatever the event type, so that a tenant's routing facts
// keep one order. Readers of TopicRouting ignore messages keyed otherwise,
// whose order against the tenant's other facts is undefined.
func RoutingMessage(e *Envelope) (bus.Message, error) {
	m, err := ToMessage(e)
	if err != nil {
		return bus.Message{}, err
	}
	m.Key = []byte(e.Tenant)
	return m, nil
}

// ConversationOfferDeclinedData is the data of conversation.offer_declined.
type ConversationOfferDeclinedData struct {
	AgentID string `json:"agent_id"`
	// Queue the offer came from.
	Queue string `json:"queue,omitempty"`
	// OfferID is the id of the conversation.offered event declined. Empty
	// declines whatever offer of this conversation the agent holds; set it
	// so that a late click cannot decline a newer offer.
	OfferID string `json:"offer_id,omitempty"`
	// Reason is the agent's reason, for reports.
	Reason string `json:"reason,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationOfferDeclined.
func (*ConversationOfferDeclinedData) EventType() string { return ConversationOfferDeclined }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationOfferDeclinedData) MarshalJSON() ([]byte, error) {
	type plain ConversationOfferDeclinedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationOfferDeclinedData) UnmarshalJSON(data []byte) error {
	type plain ConversationOfferDeclinedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the agent.
func (d *ConversationOfferDeclinedData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	return p.err(ConversationOfferDeclined)
}

// ConversationOfferExpiredData is the data of conversation.offer_expired.
type ConversationOfferExpiredData struct {
	AgentID string `json:"agent_id"`
	// Queue the offer came from.
	Queue string `json:"queue,omitempty"`
	// OfferID is the id of the conversation.offered event that expired; an
	// expiry naming an older offer than the one standing changes nothing.
	OfferID string `json:"offer_id"`
	// TimeoutMs is the offer's timeout, for reports.
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationOfferExpired.
func (*ConversationOfferExpiredData) EventType() string { return ConversationOfferExpired }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationOfferExpiredData) MarshalJSON() ([]byte, error) {
	type plain ConversationOfferExpiredData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationOfferExpiredData) UnmarshalJSON(data []byte) error {
	type plain ConversationOfferExpiredData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the agent and the offer.
func (d *ConversationOfferExpiredData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	p.required("offer_id", d.OfferID)
	p.nonNegative("timeout_ms", d.TimeoutMs)
	return p.err(ConversationOfferExpired)
}

// RouterStartedData is the data of router.started.
type RouterStartedData struct {
	// RouterID names the router instance (host and process), for logs.
	RouterID string `json:"router_id"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns RouterStarted.
func (*RouterStartedData) EventType() string { return RouterStarted }

// MarshalJSON writes the fields and any kept unknown ones.
func (d RouterStartedData) MarshalJSON() ([]byte, error) {
	type plain RouterStartedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *RouterStartedData) UnmarshalJSON(data []byte) error {
	type plain RouterStartedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the router id.
func (d *RouterStartedData) Validate() error {
	var p problems
	p.required("router_id", d.RouterID)
	return p.err(RouterStarted)
}
