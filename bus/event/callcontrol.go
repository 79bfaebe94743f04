package event

import "encoding/json"

// Who put a call on hold or took it off (CallHeldData.Source,
// CallResumedData.Source).
const (
	HoldFromInbox = "inbox" // the agent pressed hold in the web inbox
	HoldFromPhone = "phone" // the agent's phone sent a re-INVITE without media towards it
)

// Why a recording left the blob store (CallRecordingDeletedData.Reason).
const (
	RecordingExpired = "retention" // older than the tenant's retention period
)

// CallHoldRequestedData is the data of call.hold_requested: an agent asked,
// from the inbox, for the call to be put on hold (Hold true) or taken off
// it (Hold false). The voice channel acts on it and answers with call.held
// or call.resumed; the request alone changes nothing.
type CallHoldRequestedData struct {
	CallID string `json:"call_id"`
	Hold   bool   `json:"hold"`
	// By is the account that asked.
	By string `json:"by"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallHoldRequested.
func (*CallHoldRequestedData) EventType() string { return CallHoldRequested }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallHoldRequestedData) MarshalJSON() ([]byte, error) {
	type plain CallHoldRequestedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallHoldRequestedData) UnmarshalJSON(data []byte) error {
	type plain CallHoldRequestedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call and who asked.
func (d *CallHoldRequestedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.required("by", d.By)
	return p.err(CallHoldRequested)
}

// CallHeldData is the data of call.held: the caller hears music on hold and
// the agent's leg is silent.
type CallHeldData struct {
	CallID  string `json:"call_id"`
	AgentID string `json:"agent_id"`
	// Source is HoldFromInbox or HoldFromPhone.
	Source string `json:"source"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallHeld.
func (*CallHeldData) EventType() string { return CallHeld }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallHeldData) MarshalJSON() ([]byte, error) {
	type plain CallHeldData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallHeldData) UnmarshalJSON(data []byte) error {
	type plain CallHeldData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call, the agent and a source.
func (d *CallHeldData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.required("agent_id", d.AgentID)
	p.oneOf("source", d.Source, HoldFromInbox, HoldFromPhone)
	return p.err(CallHeld)
}

// CallResumedData is the data of call.resumed: caller and agent are
// bridged again after a hold of HoldMs.
type CallResumedData struct {
	CallID  string `json:"call_id"`
	AgentID string `json:"agent_id"`
	// Source is HoldFromInbox or HoldFromPhone.
	Source string `json:"source"`
	HoldMs int64  `json:"hold_ms"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallResumed.
func (*CallResumedData) EventType() string { return CallResumed }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallResumedData) MarshalJSON() ([]byte, error) {
	type plain CallResumedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallResumedData) UnmarshalJSON(data []byte) error {
	type plain CallResumedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call, the agent, a source and a hold time.
func (d *CallResumedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.required("agent_id", d.AgentID)
	p.oneOf("source", d.Source, HoldFromInbox, HoldFromPhone)
	p.nonNegative("hold_ms", d.HoldMs)
	return p.err(CallResumed)
}

// CallCallbackRequestedData is the data of call.callback_requested: a
// caller asked, in the voice menu, to be called back on Number instead of
// waiting. The conversation is queued in Queue like any other case.
type CallCallbackRequestedData struct {
	CallID string `json:"call_id"`
	// Number is where to call back: the caller's number as signalled, or
	// the digits they keyed in.
	Number   string `json:"number"`
	Queue    string `json:"queue"`
	Language string `json:"language,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallCallbackRequested.
func (*CallCallbackRequestedData) EventType() string { return CallCallbackRequested }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallCallbackRequestedData) MarshalJSON() ([]byte, error) {
	type plain CallCallbackRequestedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallCallbackRequestedData) UnmarshalJSON(data []byte) error {
	type plain CallCallbackRequestedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call, a number to call and a queue.
func (d *CallCallbackRequestedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	checkNumber(&p, "number", d.Number)
	p.required("queue", d.Queue)
	checkLanguage(&p, "language", d.Language)
	return p.err(CallCallbackRequested)
}

// CallRecordingDeletedData is the data of call.recording_deleted: a
// recording or voicemail was removed from the blob store, so players show
// that it is gone rather than failing.
type CallRecordingDeletedData struct {
	CallID    string  `json:"call_id"`
	Recording BlobRef `json:"recording"`
	// Reason is RecordingExpired.
	Reason string `json:"reason"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallRecordingDeleted.
func (*CallRecordingDeletedData) EventType() string { return CallRecordingDeleted }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallRecordingDeletedData) MarshalJSON() ([]byte, error) {
	type plain CallRecordingDeletedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallRecordingDeletedData) UnmarshalJSON(data []byte) error {
	type plain CallRecordingDeletedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call, the blob and a reason.
func (d *CallRecordingDeletedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	d.Recording.check(&p, "recording.")
	p.oneOf("reason", d.Reason, RecordingExpired)
	return p.err(CallRecordingDeleted)
}
