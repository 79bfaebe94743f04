package event

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Why a conversation was abandoned (ConversationAbandonedData.Reason).
const (
	AbandonCustomerLeft = "customer_left" // hung up, closed the chat
	AbandonTimeout      = "timeout"       // waited past the queue's limit
)

// ConversationQueuedData is the data of conversation.queued: the
// conversation waits for an agent with these needs.
type ConversationQueuedData struct {
	Queue string `json:"queue"`
	// Priority orders waiting conversations; higher goes first.
	Priority int `json:"priority,omitempty"`
	// Skills an agent needs to take it ("billing", "lang:de").
	Skills []string `json:"skills,omitempty"`
	// Language is the customer's language, if known.
	Language string `json:"language,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationQueued.
func (*ConversationQueuedData) EventType() string { return ConversationQueued }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationQueuedData) MarshalJSON() ([]byte, error) {
	type plain ConversationQueuedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationQueuedData) UnmarshalJSON(data []byte) error {
	type plain ConversationQueuedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires a queue; skills must be distinct and non-empty.
func (d *ConversationQueuedData) Validate() error {
	var p problems
	p.required("queue", d.Queue)
	p.nonNegative("priority", int64(d.Priority))
	if len(d.Skills) > 0 {
		p.ids("skills", d.Skills)
	}
	checkLanguage(&p, "language", d.Language)
	return p.err(ConversationQueued)
}

// ConversationOfferedData is the data of conversation.offered: routing
// reserved the conversation for an agent until they accept or the offer
// times out.
type ConversationOfferedData struct {
	AgentID string `json:"agent_id"`
	Queue   string `json:"queue"`
	// TimeoutMs is how long the offer stands before routing moves on.
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationOffered.
func (*ConversationOfferedData) EventType() string { return ConversationOffered }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationOfferedData) MarshalJSON() ([]byte, error) {
	type plain ConversationOfferedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationOfferedData) UnmarshalJSON(data []byte) error {
	type plain ConversationOfferedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires agent and queue.
func (d *ConversationOfferedData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	p.required("queue", d.Queue)
	p.nonNegative("timeout_ms", d.TimeoutMs)
	return p.err(ConversationOffered)
}

// ConversationAssignedData is the data of conversation.assigned.
type ConversationAssignedData struct {
	AgentID string `json:"agent_id"`
	// Queue the conversation came from; empty for a direct assignment.
	Queue string `json:"queue,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationAssigned.
func (*ConversationAssignedData) EventType() string { return ConversationAssigned }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationAssignedData) MarshalJSON() ([]byte, error) {
	type plain ConversationAssignedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationAssignedData) UnmarshalJSON(data []byte) error {
	type plain ConversationAssignedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the agent.
func (d *ConversationAssignedData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	return p.err(ConversationAssigned)
}

// ConversationTransferredData is the data of conversation.transferred: from
// an agent or queue to another agent or queue, with a note for the receiver.
type ConversationTransferredData struct {
	FromAgentID string `json:"from_agent_id,omitempty"`
	FromQueue   string `json:"from_queue,omitempty"`
	ToAgentID   string `json:"to_agent_id,omitempty"`
	ToQueue     string `json:"to_queue,omitempty"`
	// Note is the hand-over note shown to whoever takes it.
	Note string `json:"note,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationTransferred.
func (*ConversationTransferredData) EventType() string { return ConversationTransferred }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationTransferredData) MarshalJSON() ([]byte, error) {
	type plain ConversationTransferredData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationTransferredData) UnmarshalJSON(data []byte) error {
	type plain ConversationTransferredData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires a source and a target, and that they differ.
func (d *ConversationTransferredData) Validate() error {
	var p problems
	if d.FromAgentID == "" && d.FromQueue == "" {
		p.add("from_agent_id", "and from_queue are both empty")
	}
	if d.ToAgentID == "" && d.ToQueue == "" {
		p.add("to_agent_id", "and to_queue are both empty")
	}
	if d.FromAgentID == d.ToAgentID && d.FromQueue == d.ToQueue && (d.ToAgentID != "" || d.ToQueue != "") {
		p.add("to_agent_id", "and to_queue equal the source (agent %q, queue %q)", d.ToAgentID, d.ToQueue)
	}
	return p.err(ConversationTransferred)
}

// ConversationResolvedData is the data of conversation.resolved.
type ConversationResolvedData struct {
	AgentID string `json:"agent_id"`
	// Resolution is the tenant's wrap-up code ("solved", "refund", ...).
	Resolution string `json:"resolution,omitempty"`
	Note       string `json:"note,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationResolved.
func (*ConversationResolvedData) EventType() string { return ConversationResolved }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationResolvedData) MarshalJSON() ([]byte, error) {
	type plain ConversationResolvedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationResolvedData) UnmarshalJSON(data []byte) error {
	type plain ConversationResolvedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the resolving agent.
func (d *ConversationResolvedData) Validate() error {
	var p problems
	p.required("agent_id", d.AgentID)
	return p.err(ConversationResolved)
}

// Why a conversation reopened (ConversationReopenedData.Reason).
const (
	ReopenCustomerReplied = "customer_replied"
	ReopenAgent           = "agent"
)

// ConversationReopenedData is the data of conversation.reopened.
type ConversationReopenedData struct {
	// Reason is ReopenCustomerReplied or ReopenAgent.
	Reason string `json:"reason"`
	// AgentID reopened it, for ReopenAgent.
	AgentID string `json:"agent_id,omitempty"`
	// MessageID is the customer's message that reopened it, for
	// ReopenCustomerReplied.
	MessageID string `json:"message_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationReopened.
func (*ConversationReopenedData) EventType() string { return ConversationReopened }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationReopenedData) MarshalJSON() ([]byte, error) {
	type plain ConversationReopenedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationReopenedData) UnmarshalJSON(data []byte) error {
	type plain ConversationReopenedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires a reason and who or what reopened it.
func (d *ConversationReopenedData) Validate() error {
	var p problems
	p.oneOf("reason", d.Reason, ReopenCustomerReplied, ReopenAgent)
	switch d.Reason {
	case ReopenAgent:
		if d.AgentID == "" {
			p.add("agent_id", "is empty for a reopen by an agent")
		}
	case ReopenCustomerReplied:
		if d.MessageID == "" {
			p.add("message_id", "is empty for a reopen by a customer reply")
		}
	}
	return p.err(ConversationReopened)
}

// ConversationAbandonedData is the data of conversation.abandoned: the
// customer left while waiting, which counts against the service level.
type ConversationAbandonedData struct {
	Queue string `json:"queue"`
	// WaitMs is how long the customer waited before leaving.
	WaitMs int64 `json:"wait_ms"`
	// Reason is AbandonCustomerLeft or AbandonTimeout.
	Reason string `json:"reason"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationAbandoned.
func (*ConversationAbandonedData) EventType() string { return ConversationAbandoned }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationAbandonedData) MarshalJSON() ([]byte, error) {
	type plain ConversationAbandonedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationAbandonedData) UnmarshalJSON(data []byte) error {
	type plain ConversationAbandonedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the queue and a reason.
func (d *ConversationAbandonedData) Validate() error {
	var p problems
	p.required("queue", d.Queue)
	p.nonNegative("wait_ms", d.WaitMs)
	p.oneOf("reason", d.Reason, AbandonCustomerLeft, AbandonTimeout)
	return p.err(ConversationAbandoned)
}

// Limits of a conversation's tags (ConversationTaggedData.Tags).
const (
	// MaxTags is how many tags one conversation may carry.
	MaxTags = 20
	// MaxTagLength is the longest tag, in characters (runes).
	MaxTagLength = 40
)

// ConversationTaggedData is the data of conversation.tagged: the whole tag
// set of the conversation after an agent changed it, not the difference, so
// that folding the latest event gives the set however often it is replayed.
// An empty set clears the tags.
type ConversationTaggedData struct {
	// Tags are normalized (NormalizeTag) and valid (ValidTag), at most
	// MaxTags, without repeats, in the order the agent gave them.
	Tags []string `json:"tags"`
	// By is the account id of the agent who set them.
	By string `json:"by"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns ConversationTagged.
func (*ConversationTaggedData) EventType() string { return ConversationTagged }

// MarshalJSON writes the fields and any kept unknown ones.
func (d ConversationTaggedData) MarshalJSON() ([]byte, error) {
	type plain ConversationTaggedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *ConversationTaggedData) UnmarshalJSON(data []byte) error {
	type plain ConversationTaggedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the agent and at most MaxTags valid tags, none twice.
func (d *ConversationTaggedData) Validate() error {
	var p problems
	p.required("by", d.By)
	if len(d.Tags) > MaxTags {
		p.add("tags", "has %d tags, more than %d", len(d.Tags), MaxTags)
	}
	for i, tag := range d.Tags {
		field := fmt.Sprintf("tags[%d]", i)
		if !ValidTag(tag) {
			p.add(field, "%q is not 1 to %d lowercase letters, digits, '-' or '_', starting with a letter or digit", tag, MaxTagLength)
			continue
		}
		if j := indexOf(d.Tags[:i], tag); j >= 0 {
			p.add(field, "%q repeats tags[%d]", tag, j)
		}
	}
	return p.err(ConversationTagged)
}

// NormalizeTag is the form a tag is stored in: trimmed and lowercased, so
// that "VIP " and "vip" are one tag. It does not validate.
func NormalizeTag(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidTag reports whether s is a normalized tag: 1 to MaxTagLength
// characters, lowercase letters (\p{Ll}) and digits (\p{N}) of any script,
// '-' and '_', starting with a letter or digit. Tags are matched exactly by
// search filters, hence no spaces and one case.
func ValidTag(s string) bool {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxTagLength {
		return false
	}
	for i, r := range s {
		switch {
		case unicode.IsLower(r), unicode.IsNumber(r):
		case i > 0 && (r == '-' || r == '_'):
		default:
			return false
		}
	}
	return true
}

// NoteAddedData is the data of note.added: an internal note, never shown to
// the customer.
type NoteAddedData struct {
	NoteID      string    `json:"note_id"`
	AgentID     string    `json:"agent_id"`
	Text        string    `json:"text,omitempty"`
	Attachments []BlobRef `json:"attachments,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns NoteAdded.
func (*NoteAddedData) EventType() string { return NoteAdded }

// MarshalJSON writes the fields and any kept unknown ones.
func (d NoteAddedData) MarshalJSON() ([]byte, error) {
	type plain NoteAddedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *NoteAddedData) UnmarshalJSON(data []byte) error {
	type plain NoteAddedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires ids and some content.
func (d *NoteAddedData) Validate() error {
	var p problems
	p.required("note_id", d.NoteID)
	p.required("agent_id", d.AgentID)
	if d.Text == "" && len(d.Attachments) == 0 {
		p.add("text", "is empty and there are no attachments")
	}
	checkBlobs(&p, "attachments", d.Attachments)
	return p.err(NoteAdded)
}
