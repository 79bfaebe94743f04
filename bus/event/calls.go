package event

import "encoding/json"

// Call directions.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// Why a call ended (CallEndedData.Reason).
const (
	EndCallerHangup = "caller_hangup" // the caller hung up after being answered
	EndAgentHangup  = "agent_hangup"  // the agent hung up
	EndAbandoned    = "abandoned"     // the caller hung up before an agent answered
	EndNoAnswer     = "no_answer"     // outbound: nobody picked up
	EndBusy         = "busy"          // outbound: the line was busy
	EndTransferred  = "transferred"   // the call left Hotline by a transfer to an outside number
	EndVoicemail    = "voicemail"     // the caller left a voicemail
	EndClosed       = "closed"        // out of hours: the call was played the closed message
	EndCallback     = "callback"      // the caller asked to be called back; the case stays queued
	EndFailed       = "failed"        // a technical failure (SIP error, media timeout)
)

// Transfer kinds (CallTransferredData.Kind).
const (
	TransferBlind    = "blind"    // handed over without the agent talking to the target first
	TransferAttended = "attended" // the agent spoke to the target before handing over
)

// Recording kinds (CallRecordedData.Kind).
const (
	RecordingCall      = "call"
	RecordingVoicemail = "voicemail"
)

// CallStartedData is the data of call.started.
type CallStartedData struct {
	// CallID is the SIP Call-ID, shared by every call.* event of the call.
	CallID    string `json:"call_id"`
	Direction string `json:"direction"`
	// From and To are the parties as signalled: E.164 numbers, extensions,
	// sip:/tel: URIs, or "anonymous" for a withheld caller id.
	From string `json:"from"`
	To   string `json:"to"`
	// AgentID is the agent placing an outbound call.
	AgentID string `json:"agent_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallStarted.
func (*CallStartedData) EventType() string { return CallStarted }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallStartedData) MarshalJSON() ([]byte, error) {
	type plain CallStartedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallStartedData) UnmarshalJSON(data []byte) error {
	type plain CallStartedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call id, a direction and both parties.
func (d *CallStartedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.oneOf("direction", d.Direction, DirectionInbound, DirectionOutbound)
	checkNumber(&p, "from", d.From)
	checkNumber(&p, "to", d.To)
	if d.Direction == DirectionOutbound && d.AgentID == "" {
		p.add("agent_id", "is empty for an outbound call")
	}
	return p.err(CallStarted)
}

// CallMenuSelectedData is the data of call.menu_selected: one choice in the
// voice menu, so reports show how callers move through it.
type CallMenuSelectedData struct {
	CallID string `json:"call_id"`
	// Menu is the id of the menu node the caller was in.
	Menu string `json:"menu"`
	// Selection is the DTMF digits pressed ("1", "*", "42#").
	Selection string `json:"selection"`
	// Language is set when the choice selected the call's language.
	Language string `json:"language,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallMenuSelected.
func (*CallMenuSelectedData) EventType() string { return CallMenuSelected }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallMenuSelectedData) MarshalJSON() ([]byte, error) {
	type plain CallMenuSelectedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallMenuSelectedData) UnmarshalJSON(data []byte) error {
	type plain CallMenuSelectedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires call, menu and DTMF selection.
func (d *CallMenuSelectedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.required("menu", d.Menu)
	if p.required("selection", d.Selection) {
		for _, c := range d.Selection {
			if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c >= 'A' && c <= 'D') {
				p.add("selection", "%q is not DTMF digits (0-9, *, #, A-D)", d.Selection)
				break
			}
		}
	}
	checkLanguage(&p, "language", d.Language)
	return p.err(CallMenuSelected)
}

// CallQueuedData is the data of call.queued.
type CallQueuedData struct {
	CallID string `json:"call_id"`
	Queue  string `json:"queue"`
	// Position is the caller's place in the queue on entry, 1 for first.
	Position int `json:"position,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallQueued.
func (*CallQueuedData) EventType() string { return CallQueued }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallQueuedData) MarshalJSON() ([]byte, error) {
	type plain CallQueuedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallQueuedData) UnmarshalJSON(data []byte) error {
	type plain CallQueuedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires call and queue.
func (d *CallQueuedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.required("queue", d.Queue)
	p.nonNegative("position", int64(d.Position))
	return p.err(CallQueued)
}

// CallAnsweredData is the data of call.answered.
type CallAnsweredData struct {
	CallID  string `json:"call_id"`
	AgentID string `json:"agent_id"`
	// WaitMs is how long the caller waited in queue, for service level.
	WaitMs int64 `json:"wait_ms"`
	// RingMs is how long the agent's phone rang before pickup.
	RingMs int64 `json:"ring_ms,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallAnswered.
func (*CallAnsweredData) EventType() string { return CallAnswered }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallAnsweredData) MarshalJSON() ([]byte, error) {
	type plain CallAnsweredData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallAnsweredData) UnmarshalJSON(data []byte) error {
	type plain CallAnsweredData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires call and agent.
func (d *CallAnsweredData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.required("agent_id", d.AgentID)
	p.nonNegative("wait_ms", d.WaitMs)
	p.nonNegative("ring_ms", d.RingMs)
	return p.err(CallAnswered)
}

// CallTransferredData is the data of call.transferred. Exactly one target
// is set: another agent, a queue, or an outside number.
type CallTransferredData struct {
	CallID      string `json:"call_id"`
	FromAgentID string `json:"from_agent_id,omitempty"`
	ToAgentID   string `json:"to_agent_id,omitempty"`
	ToQueue     string `json:"to_queue,omitempty"`
	ToNumber    string `json:"to_number,omitempty"`
	// Kind is TransferBlind or TransferAttended.
	Kind string `json:"kind"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallTransferred.
func (*CallTransferredData) EventType() string { return CallTransferred }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallTransferredData) MarshalJSON() ([]byte, error) {
	type plain CallTransferredData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallTransferredData) UnmarshalJSON(data []byte) error {
	type plain CallTransferredData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call, a kind and exactly one target.
func (d *CallTransferredData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.oneOf("kind", d.Kind, TransferBlind, TransferAttended)
	targets := 0
	for _, t := range []string{d.ToAgentID, d.ToQueue, d.ToNumber} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		p.add("to_*", "names %d targets, exactly one of to_agent_id, to_queue, to_number is needed", targets)
	}
	if d.ToNumber != "" {
		checkNumber(&p, "to_number", d.ToNumber)
	}
	return p.err(CallTransferred)
}

// CallEndedData is the data of call.ended, with the durations reports need.
type CallEndedData struct {
	CallID string `json:"call_id"`
	// Reason is one of the End* constants.
	Reason string `json:"reason"`
	// DurationMs is from call.started to the end.
	DurationMs int64 `json:"duration_ms"`
	// WaitMs is time spent in queue; TalkMs time connected to an agent;
	// HoldMs time on hold during the talk.
	WaitMs int64 `json:"wait_ms,omitempty"`
	TalkMs int64 `json:"talk_ms,omitempty"`
	HoldMs int64 `json:"hold_ms,omitempty"`
	// AgentID is the last agent on the call, if any.
	AgentID string `json:"agent_id,omitempty"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallEnded.
func (*CallEndedData) EventType() string { return CallEnded }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallEndedData) MarshalJSON() ([]byte, error) {
	type plain CallEndedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallEndedData) UnmarshalJSON(data []byte) error {
	type plain CallEndedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call and a known reason; parts cannot exceed the whole.
func (d *CallEndedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	p.oneOf("reason", d.Reason, EndCallerHangup, EndAgentHangup, EndAbandoned, EndNoAnswer,
		EndBusy, EndTransferred, EndVoicemail, EndClosed, EndCallback, EndFailed)
	p.nonNegative("duration_ms", d.DurationMs)
	p.nonNegative("wait_ms", d.WaitMs)
	p.nonNegative("talk_ms", d.TalkMs)
	p.nonNegative("hold_ms", d.HoldMs)
	if d.WaitMs >= 0 && d.TalkMs >= 0 && d.WaitMs+d.TalkMs > d.DurationMs && d.DurationMs >= 0 {
		p.add("duration_ms", "%d is shorter than wait_ms + talk_ms (%d)", d.DurationMs, d.WaitMs+d.TalkMs)
	}
	if d.HoldMs > d.TalkMs && d.HoldMs >= 0 && d.TalkMs >= 0 {
		p.add("hold_ms", "%d exceeds talk_ms %d", d.HoldMs, d.TalkMs)
	}
	return p.err(CallEnded)
}

// CallRecordedData is the data of call.recorded: a recording or voicemail
// written to the blob store.
type CallRecordedData struct {
	CallID    string  `json:"call_id"`
	Recording BlobRef `json:"recording"`
	// Kind is RecordingCall or RecordingVoicemail.
	Kind       string `json:"kind"`
	DurationMs int64  `json:"duration_ms"`
	// Extra keeps fields this version does not know; see package doc.
	Extra map[string]json.RawMessage `json:"-"`
}

// EventType returns CallRecorded.
func (*CallRecordedData) EventType() string { return CallRecorded }

// MarshalJSON writes the fields and any kept unknown ones.
func (d CallRecordedData) MarshalJSON() ([]byte, error) {
	type plain CallRecordedData
	return marshalKeeping(plain(d), d.Extra)
}

// UnmarshalJSON reads the fields and keeps unknown ones in Extra.
func (d *CallRecordedData) UnmarshalJSON(data []byte) error {
	type plain CallRecordedData
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

// Validate requires the call, a valid blob reference and a kind.
func (d *CallRecordedData) Validate() error {
	var p problems
	p.required("call_id", d.CallID)
	d.Recording.check(&p, "recording.")
	p.oneOf("kind", d.Kind, RecordingCall, RecordingVoicemail)
	p.nonNegative("duration_ms", d.DurationMs)
	return p.err(CallRecorded)
}
