package event

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Event types. They are past-tense facts; the part before the dot names the
// thing the fact is about, which decides the topic and the partition key.
const (
	// MessageReceived: a customer's email, SMS or chat message reached Hotline.
	MessageReceived = "message.received"
	// MessageSent: an agent (or an automatic reply) sent a message; channels
	// deliver it. It is published to TopicOutbox.
	MessageSent = "message.sent"
	// MessageDelivered: a channel delivered a sent message, or gave up.
	MessageDelivered = "message.delivered"

	// CallStarted: a call began (inbound from a caller, or outbound).
	CallStarted = "call.started"
	// CallMenuSelected: the caller chose an option in a voice menu.
	CallMenuSelected = "call.menu_selected"
	// CallQueued: the call entered a queue to wait for an agent.
	CallQueued = "call.queued"
	// CallAnswered: an agent picked up.
	CallAnswered = "call.answered"
	// CallTransferred: the call moved to another agent, queue or number.
	CallTransferred = "call.transferred"
	// CallEnded: the call is over, with its durations and why it ended.
	CallEnded = "call.ended"
	// CallRecorded: a call recording or voicemail is stored in the blob store.
	CallRecorded = "call.recorded"
	// CallHoldRequested: an agent asked from the inbox to hold or resume the call.
	CallHoldRequested = "call.hold_requested"
	// CallHeld: the caller is on hold (music), the agent's leg silent.
	CallHeld = "call.held"
	// CallResumed: caller and agent are talking again after a hold.
	CallResumed = "call.resumed"
	// CallCallbackRequested: the caller asked to be called back; the case is queued.
	CallCallbackRequested = "call.callback_requested"
	// CallRecordingDeleted: a recording or voicemail left the blob store.
	CallRecordingDeleted = "call.recording_deleted"

	// ConversationQueued: the conversation waits in a queue for an agent.
	ConversationQueued = "conversation.queued"
	// ConversationOffered: routing offered the conversation to an agent.
	ConversationOffered = "conversation.offered"
	// ConversationAssigned: an agent owns the conversation.
	ConversationAssigned = "conversation.assigned"
	// ConversationTransferred: the conversation moved to another agent or queue.
	ConversationTransferred = "conversation.transferred"
	// ConversationResolved: an agent closed the conversation as handled.
	ConversationResolved = "conversation.resolved"
	// ConversationReopened: a resolved conversation is open again.
	ConversationReopened = "conversation.reopened"
	// ConversationAbandoned: the customer left before an agent took it.
	ConversationAbandoned = "conversation.abandoned"
	// ConversationTagged: an agent set the conversation's tags; the payload
	// holds the whole set after the change.
	ConversationTagged = "conversation.tagged"

	// NoteAdded: an agent wrote an internal note on a conversation.
	NoteAdded = "note.added"

	// AgentPresenceChanged: an agent became available, away, in wrap-up or offline.
	AgentPresenceChanged = "agent.presence_changed"

	// ContactIdentified: a conversation's customer was matched to a contact.
	ContactIdentified = "contact.identified"
	// ContactsMerged: duplicate contacts were merged into one.
	ContactsMerged = "contacts.merged"
	// ContactsUnmerged: a merge was undone.
	ContactsUnmerged = "contacts.unmerged"
)

// Bus topics. Four topics, chosen so that each consumer reads only what it
// needs and ordering holds where it matters:
//
//   - TopicConversations carries every message, call, conversation and note
//     event except message.sent, keyed by tenant and conversation id.
//     Routing, the indexer and the web inbox read it.
//   - TopicOutbox carries message.sent: replies waiting to be delivered.
//     Channel adapters read it, deliver, and publish message.delivered to
//     TopicConversations. It is keyed like TopicConversations so a
//     conversation's replies go out in the order they were written; the
//     indexer and web inbox read it too to show sent messages.
//   - TopicAgents carries agent presence, keyed by tenant so routing sees
//     each tenant's agents in one consistent order.
//   - TopicContacts carries contact identification and merges, keyed by
//     tenant so merges and unmerges apply in order.
const (
	TopicConversations = "hotline.conversations"
	TopicOutbox        = "hotline.outbox"
	TopicAgents        = "hotline.agents"
	TopicContacts      = "hotline.contacts"
)

// Topics lists every topic Hotline publishes to, for creating them up front.
func Topics() []string {
	return []string{TopicConversations, TopicOutbox, TopicAgents, TopicContacts, TopicRouting, TopicAccounts, TopicDirectory}
}

// Channels an event can belong to.
const (
	ChannelVoice = "voice"
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelChat  = "chat"
)

// validChannel reports whether c names a channel (not the empty string).
func validChannel(c string) bool {
	switch c {
	case ChannelVoice, ChannelEmail, ChannelSMS, ChannelChat:
		return true
	}
	return false
}

// scope is what an event is about; it decides the partition key and which
// envelope attributes are required.
type scope int

const (
	scopeConversation scope = iota // keyed by tenant + conversation id
	scopeAgent                     // keyed by tenant
	scopeContact                   // keyed by tenant
)

// channelRule says what an event type needs in its channel attribute.
type channelRule int

const (
	channelOptional channelRule = iota // empty or a channel
	channelRequired                    // a channel
	channelVoice                       // voice, always
)

// decodeFunc decodes data written in one payload version and returns it
// upgraded to the current Go payload type.
type decodeFunc func(data []byte) (Payload, error)

// typeInfo is the registry entry of one event type.
type typeInfo struct {
	topic    string
	scope    scope
	channel  channelRule
	current  int
	decoders map[int]decodeFunc // version -> decoder upgrading to current
	// schema is SchemaURI of the type at version current, which New sets
	// on every event it builds.
	schema string
}

// registry maps each known event type to its topic, rules and decoders. It
// is filled once at package initialisation and only read afterwards.
var registry = buildRegistry()

func buildRegistry() map[string]*typeInfo {
	r := make(map[string]*typeInfo)
	add := func(typ, topic string, sc scope, ch channelRule, current decodeFunc) *typeInfo {
		ti := &typeInfo{topic: topic, scope: sc, channel: ch, current: 1, decoders: map[int]decodeFunc{1: current}}
		r[typ] = ti
		return ti
	}
	conv, out := TopicConversations, TopicOutbox

	// message.received is at version 2; version 1 is upgraded on read.
	mr := add(MessageReceived, conv, scopeConversation, channelRequired, decodeMessageReceivedV1)
	mr.current = 2
	mr.decoders[2] = decodeAs[MessageReceivedData]

	add(MessageSent, out, scopeConversation, channelRequired, decodeAs[MessageSentData])
	add(MessageDelivered, conv, scopeConversation, channelRequired, decodeAs[MessageDeliveredData])

	add(CallStarted, conv, scopeConversation, channelVoice, decodeAs[CallStartedData])
	add(CallMenuSelected, conv, scopeConversation, channelVoice, decodeAs[CallMenuSelectedData])
	add(CallQueued, conv, scopeConversation, channelVoice, decodeAs[CallQueuedData])
	add(CallAnswered, conv, scopeConversation, channelVoice, decodeAs[CallAnsweredData])
	add(CallTransferred, conv, scopeConversation, channelVoice, decodeAs[CallTransferredData])
	add(CallEnded, conv, scopeConversation, channelVoice, decodeAs[CallEndedData])
	add(CallRecorded, conv, scopeConversation, channelVoice, decodeAs[CallRecordedData])
	add(CallHoldRequested, conv, scopeConversation, channelVoice, decodeAs[CallHoldRequestedData])
	add(CallHeld, conv, scopeConversation, channelVoice, decodeAs[CallHeldData])
	add(CallResumed, conv, scopeConversation, channelVoice, decodeAs[CallResumedData])
	add(CallCallbackRequested, conv, scopeConversation, channelVoice, decodeAs[CallCallbackRequestedData])
	add(CallRecordingDeleted, conv, scopeConversation, channelVoice, decodeAs[CallRecordingDeletedData])

	add(ConversationQueued, conv, scopeConversation, channelOptional, decodeAs[ConversationQueuedData])
	add(ConversationOffered, conv, scopeConversation, channelOptional, decodeAs[ConversationOfferedData])
	add(ConversationAssigned, conv, scopeConversation, channelOptional, decodeAs[ConversationAssignedData])
	add(ConversationTransferred, conv, scopeConversation, channelOptional, decodeAs[ConversationTransferredData])
	add(ConversationResolved, conv, scopeConversation, channelOptional, decodeAs[ConversationResolvedData])
	add(ConversationReopened, conv, scopeConversation, channelOptional, decodeAs[ConversationReopenedData])
	add(ConversationAbandoned, conv, scopeConversation, channelOptional, decodeAs[ConversationAbandonedData])
	add(ConversationTagged, conv, scopeConversation, channelOptional, decodeAs[ConversationTaggedData])

	add(NoteAdded, conv, scopeConversation, channelOptional, decodeAs[NoteAddedData])

	add(AgentPresenceChanged, TopicAgents, scopeAgent, channelOptional, decodeAs[AgentPresenceChangedData])

	add(ContactIdentified, TopicContacts, scopeContact, channelOptional, decodeAs[ContactIdentifiedData])
	add(ContactsMerged, TopicContacts, scopeContact, channelOptional, decodeAs[ContactsMergedData])
	add(ContactsUnmerged, TopicContacts, scopeContact, channelOptional, decodeAs[ContactsUnmergedData])

	add(ConversationOfferDeclined, TopicRouting, scopeTenant, channelOptional, decodeAs[ConversationOfferDeclinedData])
	add(ConversationOfferExpired, TopicRouting, scopeTenant, channelOptional, decodeAs[ConversationOfferExpiredData])
	add(RouterStarted, TopicRouting, scopeTenant, channelOptional, decodeAs[RouterStartedData])

	acc := TopicAccounts
	add(TenantCreated, acc, scopeTenant, channelOptional, decodeAs[TenantCreatedData])
	add(TenantUpdated, acc, scopeTenant, channelOptional, decodeAs[TenantUpdatedData])
	add(AccountCreated, acc, scopeTenant, channelOptional, decodeAs[AccountCreatedData])
	add(AccountUpdated, acc, scopeTenant, channelOptional, decodeAs[AccountUpdatedData])
	add(AccountPasswordChanged, acc, scopeTenant, channelOptional, decodeAs[AccountPasswordChangedData])
	add(AccountDisabled, acc, scopeTenant, channelOptional, decodeAs[AccountDisabledData])
	add(AccountLocked, acc, scopeTenant, channelOptional, decodeAs[AccountLockedData])
	add(AccountUnlocked, acc, scopeTenant, channelOptional, decodeAs[AccountUnlockedData])
	add(SessionStarted, acc, scopeTenant, channelOptional, decodeAs[SessionStartedData])
	add(SessionEnded, acc, scopeTenant, channelOptional, decodeAs[SessionEndedData])
	add(AccountsReaderStarted, acc, scopeTenant, channelOptional, decodeAs[AccountsReaderStartedData])

	dir := TopicDirectory
	add(QueueSaved, dir, scopeTenant, channelOptional, decodeAs[QueueSavedData])
	add(QueueRemoved, dir, scopeTenant, channelOptional, decodeAs[QueueRemovedData])
	add(AgentProfileSet, dir, scopeTenant, channelOptional, decodeAs[AgentProfileSetData])
	add(AgentProfileRemoved, dir, scopeTenant, channelOptional, decodeAs[AgentProfileRemovedData])
	add(SkillSaved, dir, scopeTenant, channelOptional, decodeAs[SkillSavedData])
	add(SkillRemoved, dir, scopeTenant, channelOptional, decodeAs[SkillRemovedData])
	add(CannedAnswerSaved, dir, scopeTenant, channelOptional, decodeAs[CannedAnswerSavedData])
	add(CannedAnswerRemoved, dir, scopeTenant, channelOptional, decodeAs[CannedAnswerRemovedData])
	add(WidgetConfigured, dir, scopeTenant, channelOptional, decodeAs[WidgetConfiguredData])
	add(DirectoryReaderStarted, dir, scopeTenant, channelOptional, decodeAs[DirectoryReaderStartedData])
	for typ, ti := range r {
		ti.schema = SchemaURI(typ, ti.current)
	}
	return r
}

// Every payload type implements Payload.
var (
	_ Payload = (*MessageReceivedData)(nil)
	_ Payload = (*MessageSentData)(nil)
	_ Payload = (*MessageDeliveredData)(nil)
	_ Payload = (*CallStartedData)(nil)
	_ Payload = (*CallMenuSelectedData)(nil)
	_ Payload = (*CallQueuedData)(nil)
	_ Payload = (*CallAnsweredData)(nil)
	_ Payload = (*CallTransferredData)(nil)
	_ Payload = (*CallEndedData)(nil)
	_ Payload = (*CallRecordedData)(nil)
	_ Payload = (*CallHoldRequestedData)(nil)
	_ Payload = (*CallHeldData)(nil)
	_ Payload = (*CallResumedData)(nil)
	_ Payload = (*CallCallbackRequestedData)(nil)
	_ Payload = (*CallRecordingDeletedData)(nil)
	_ Payload = (*ConversationQueuedData)(nil)
	_ Payload = (*ConversationOfferedData)(nil)
	_ Payload = (*ConversationAssignedData)(nil)
	_ Payload = (*ConversationTransferredData)(nil)
	_ Payload = (*ConversationResolvedData)(nil)
	_ Payload = (*ConversationReopenedData)(nil)
	_ Payload = (*ConversationAbandonedData)(nil)
	_ Payload = (*ConversationTaggedData)(nil)
	_ Payload = (*NoteAddedData)(nil)
	_ Payload = (*AgentPresenceChangedData)(nil)
	_ Payload = (*ContactIdentifiedData)(nil)
	_ Payload = (*ContactsMergedData)(nil)
	_ Payload = (*ContactsUnmergedData)(nil)
	_ Payload = (*ConversationOfferDeclinedData)(nil)
	_ Payload = (*ConversationOfferExpiredData)(nil)
	_ Payload = (*RouterStartedData)(nil)
	_ Payload = (*TenantCreatedData)(nil)
	_ Payload = (*TenantUpdatedData)(nil)
	_ Payload = (*AccountCreatedData)(nil)
	_ Payload = (*AccountUpdatedData)(nil)
	_ Payload = (*AccountPasswordChangedData)(nil)
	_ Payload = (*AccountDisabledData)(nil)
	_ Payload = (*AccountLockedData)(nil)
	_ Payload = (*AccountUnlockedData)(nil)
	_ Payload = (*SessionStartedData)(nil)
	_ Payload = (*SessionEndedData)(nil)
	_ Payload = (*AccountsReaderStartedData)(nil)
	_ Payload = (*QueueSavedData)(nil)
	_ Payload = (*QueueRemovedData)(nil)
	_ Payload = (*AgentProfileSetData)(nil)
	_ Payload = (*AgentProfileRemovedData)(nil)
	_ Payload = (*SkillSavedData)(nil)
	_ Payload = (*SkillRemovedData)(nil)
	_ Payload = (*CannedAnswerSavedData)(nil)
	_ Payload = (*CannedAnswerRemovedData)(nil)
	_ Payload = (*WidgetConfiguredData)(nil)
	_ Payload = (*DirectoryReaderStartedData)(nil)
)

// decodeAs decodes data written in the current shape of payload type T.
func decodeAs[T any, P interface {
	*T
	Payload
}](data []byte) (Payload, error) {
	p := P(new(T))
	// Payloads that read themselves (they keep unknown fields) check the
	// JSON as they decode it: through json.Unmarshal it would be scanned
	// once more first, a third of a message's decoding time.
	if u, ok := any(p).(json.Unmarshaler); ok {
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, err
		}
		return p, nil
	}
	if err := json.Unmarshal(data, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Types lists every known event type, sorted.
func Types() []string {
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// Known reports whether typ is an event type Hotline defines.
func Known(typ string) bool {
	_, ok := registry[typ]
	return ok
}

// TopicFor returns the topic events of type typ are published to, or "" for
// a type Hotline does not know.
func TopicFor(typ string) string {
	if ti, ok := registry[typ]; ok {
		return ti.topic
	}
	return ""
}

// CurrentVersion returns the payload version New writes for typ, and false
// for an unknown type.
func CurrentVersion(typ string) (int, bool) {
	if ti, ok := registry[typ]; ok {
		return ti.current, true
	}
	return 0, false
}

const schemaPrefix = "urn:hotline:"

// SchemaURI returns the dataschema naming version v of typ's payload,
// "urn:hotline:<type>:v<N>".
func SchemaURI(typ string, v int) string {
	return schemaPrefix + typ + ":v" + strconv.Itoa(v)
}

// ParseSchema splits a dataschema written by SchemaURI into event type and
// version. Hotline reads no other dataschema form.
func ParseSchema(uri string) (typ string, version int, err error) {
	rest, ok := strings.CutPrefix(uri, schemaPrefix)
	i := strings.LastIndex(rest, ":v")
	if !ok || i <= 0 {
		return "", 0, fmt.Errorf("dataschema %q is not urn:hotline:<type>:v<N>", uri)
	}
	n := rest[i+2:]
	v, convErr := strconv.Atoi(n)
	if convErr != nil || v < 1 || n[0] == '0' || n[0] == '+' {
		return "", 0, fmt.Errorf("dataschema %q has no valid version number", uri)
	}
	return rest[:i], v, nil
}
