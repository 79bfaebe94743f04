package chat

import (
	"encoding/json"

	"github.com/hotline-hub/hotline/bus/event/jsondec"
)

// Frame types of the WebSocket protocol (see PROTOCOL.md).
const (
	frameHello   = "hello"
	frameWelcome = "welcome"
	frameMessage = "message"
	frameAck     = "ack"
	frameTyping  = "typing"
	frameError   = "error"
)

// Error codes of error frames. They are stable: the widget switches on them.
const (
	CodeBadFrame        = "bad_frame"
	CodeBadToken        = "bad_token"
	CodeHelloRequired   = "hello_required"
	CodeUnknownTenant   = "unknown_tenant"
	CodeUnknownQueue    = "unknown_queue"
	CodeOriginForbidden = "origin_forbidden"
	CodeTooLong         = "too_long"
	CodeEmpty           = "empty"
	CodeRateLimited     = "rate_limited"
	CodeUnavailable     = "unavailable"
	CodeTooManyBad      = "too_many_bad_frames"
)

// clientFrame is every field any client frame may carry; Type says which
// apply. Unknown fields are ignored so older servers accept newer widgets.
type clientFrame struct {
	Type     string  `json:"type"`
	Tenant   string  `json:"tenant,omitempty"`
	Queue    string  `json:"queue,omitempty"`
	Token    string  `json:"token,omitempty"`
	Name     string  `json:"name,omitempty"`
	Email    string  `json:"email,omitempty"`
	Lang     string  `json:"lang,omitempty"`
	LastSeq  *int64  `json:"last_seq,omitempty"`
	ClientID string  `json:"client_id,omitempty"`
	Text     *string `json:"text,omitempty"`
	Active   *bool   `json:"active,omitempty"`
}

// plainNames are the members readPlain takes: those of a message frame.
var plainNames = []string{"type", "client_id", "text"}

// readFrame decodes a frame from a visitor.
func readFrame(data []byte) (clientFrame, error) {
	var f clientFrame
	if f.readPlain(data) {
		return f, nil
	}
	err := json.Unmarshal(data, &f)
	return f, err
}

// readPlain reads a frame of nothing but string type, client_id and text
// members, the shape of every message frame, without reflection, and
// reports whether it did; anything else is left to encoding/json, which
// reads it into the same values.
func (f *clientFrame) readPlain(data []byte) bool {
	var vals [3]string
	set, ok := jsondec.Strings(data, plainNames, vals[:])
	if !ok {
		return false
	}
	f.Type, f.ClientID = vals[0], vals[1]
	if set&(1<<2) != 0 {
		f.Text = &vals[2]
	}
	return true
}

type welcomeFrame struct {
	Type           string `json:"type"`
	Token          string `json:"token"`
	Visitor        string `json:"visitor"`
	ConversationID string `json:"conversation_id,omitempty"`
	Open           bool   `json:"open"`
	OpenUntil      string `json:"open_until,omitempty"`
	NextOpen       string `json:"next_open,omitempty"`
	Holiday        string `json:"holiday,omitempty"`
}

// ackFrame answers a visitor's message; its marshal method writes it (see
// frames.go).
type ackFrame struct {
	Type           string `json:"type"`
	ClientID       string `json:"client_id"`
	MessageID      string `json:"message_id"`
	ConversationID string `json:"conversation_id"`
	// Seq is the message's seq: the socket it came on gets no message
	// frame for it, so the ack moves that page's last_seq.
	Seq int64 `json:"seq"`
}

// messageFrame is the shape of the message frame of a history entry.
// messageFrameOf writes it straight from the entry, and is tested to write
// what encode writes for this struct.
type messageFrame struct {
	Type      string `json:"type"`
	Seq       int64  `json:"seq"`
	MessageID string `json:"message_id"`
	ClientID  string `json:"client_id,omitempty"`
	From      string `json:"from"`
	AgentName string `json:"agent_name,omitempty"`
	Text      string `json:"text"`
	Time      string `json:"time"`
}

// typingFrame passes an agent's typing state on; its marshal method
// writes it.
type typingFrame struct {
	Type   string `json:"type"`
	Active bool   `json:"active"`
}

type errorFrame struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// encode writes a frame or record through encoding/json: the frames of
// every message have hand-written encoders (frames.go), the rest come
// here.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil { // only our own frame structs are encoded
		panic(err)
	}
	return b
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
