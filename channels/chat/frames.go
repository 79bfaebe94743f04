package chat

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/hotline-hub/hotline/bus/event/jsondec"
	"github.com/hotline-hub/hotline/bus/event/jsonenc"
)

// Hand-written encoders for what the hub writes for every message: the ack
// of a visitor's message, the message frame of each history entry pushed
// to sockets, typing frames, and the accepted record of the state log.
// encoding/json's reflection showed in the hub's profile at 2,000 messages
// a second; these write exactly the bytes encode writes for ackFrame,
// messageFrame, typingFrame and accepted (the tests hold them to it), in
// one allocation, with jsonenc's writers. Rare frames still go through
// encode.

// escapeSlack is room the size estimates leave for a few escapes.
const escapeSlack = 16

// marshal returns the ack frame as encode writes it.
func (f ackFrame) marshal() []byte { return f.appendTo(make([]byte, 0, f.size())) }

// size is room for the ack frame with a few escapes.
func (f ackFrame) size() int {
	return len(`{"type":"","client_id":"","message_id":"","conversation_id":"","seq":}`) + 20 +
		len(f.Type) + len(f.ClientID) + len(f.MessageID) + len(f.ConversationID) + escapeSlack
}

// appendTo appends the ack frame to b.
func (f ackFrame) appendTo(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = jsonenc.AppendString(b, f.Type)
	b = append(b, `,"client_id":`...)
	b = jsonenc.AppendString(b, f.ClientID)
	b = append(b, `,"message_id":`...)
	b = jsonenc.AppendString(b, f.MessageID)
	b = append(b, `,"conversation_id":`...)
	b = jsonenc.AppendString(b, f.ConversationID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, f.Seq, 10)
	return append(b, '}')
}

// marshal returns the typing frame as encode writes it.
func (f typingFrame) marshal() []byte {
	b := make([]byte, 0, len(`{"type":"","active":false}`)+len(f.Type)+escapeSlack)
	b = append(b, `{"type":`...)
	b = jsonenc.AppendString(b, f.Type)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, f.Active)
	return append(b, '}')
}

// messageFrameOf returns the message frame of e as encode writes the
// messageFrame entry.frame describes, with the time written in place
// rather than formatted into a string first.
func messageFrameOf(e *entry) []byte {
	return appendMessageFrame(make([]byte, 0, messageFrameSize(e)), e)
}

// messageFrameSize is room for e's message frame with a few escapes.
func messageFrameSize(e *entry) int {
	return len(`{"type":"message","seq":,"message_id":"","client_id":"","from":"","agent_name":"","text":"","time":""}`) +
		20 + len(e.messageID) + len(e.clientID) + len(e.from) + len(e.agentName) + len(e.text) + len(time.RFC3339Nano) + escapeSlack
}

// appendMessageFrame appends e's message frame to b.
func appendMessageFrame(b []byte, e *entry) []byte {
	b = append(b, `{"type":"`+frameMessage+`","seq":`...)
	b = strconv.AppendInt(b, e.seq, 10)
	b = append(b, `,"message_id":`...)
	b = jsonenc.AppendString(b, e.messageID)
	b = jsonenc.AppendOptional(b, `,"client_id":`, e.clientID)
	b = append(b, `,"from":`...)
	b = jsonenc.AppendString(b, e.from)
	b = jsonenc.AppendOptional(b, `,"agent_name":`, e.agentName)
	b = append(b, `,"text":`...)
	b = jsonenc.AppendString(b, e.text)
	// RFC 3339 text is digits, letters and punctuation JSON leaves as is.
	b = append(b, `,"time":"`...)
	b = e.time.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// acceptedNames are accepted's members, in readAccepted's order.
var acceptedNames = []string{"kind", "tenant", "visitor", "conversation_id", "client_id", "message_id", "nonce", "time"}

// readAccepted reads a state record, as marshal writes them, without
// reflection (one for every customer message, read back by every hub),
// and reports whether it did; anything else is left to encoding/json,
// which reads it into the same values (or rejects it). The time is read
// by time.Time.UnmarshalText, which parses as encoding/json's
// time.Time.UnmarshalJSON does.
func (a *accepted) readAccepted(data []byte) bool {
	var vals [8]string
	set, ok := jsondec.Strings(data, acceptedNames, vals[:])
	if !ok {
		return false
	}
	var tm time.Time
	if set&(1<<7) != 0 {
		// encoding/json hands time.Time the quoted text as it is, escapes
		// and all: leave any record with an escape to it.
		if bytes.IndexByte(data, '\\') >= 0 || tm.UnmarshalText([]byte(vals[7])) != nil {
			return false
		}
	}
	*a = accepted{Kind: vals[0], Tenant: vals[1], Visitor: vals[2], ConversationID: vals[3], ClientID: vals[4],
		MessageID: vals[5], Nonce: vals[6], Time: tm}
	return true
}

// unmarshalAccepted reads a state record.
func unmarshalAccepted(data []byte, a *accepted) error {
	if a.readAccepted(data) {
		return nil
	}
	return json.Unmarshal(data, a)
}

// marshal returns the state log record as encode writes it. A time
// RFC 3339 cannot hold goes through encode, which fails on it as it did.
func (a accepted) marshal() []byte {
	b := make([]byte, 0, len(`{"kind":"","tenant":"","visitor":"","conversation_id":"","client_id":"","message_id":"","nonce":"","time":""}`)+
		len(a.Kind)+len(a.Tenant)+len(a.Visitor)+len(a.ConversationID)+len(a.ClientID)+len(a.MessageID)+len(a.Nonce)+
		len(time.RFC3339Nano)+escapeSlack)
	b = append(b, `{"kind":`...)
	b = jsonenc.AppendString(b, a.Kind)
	b = append(b, `,"tenant":`...)
	b = jsonenc.AppendString(b, a.Tenant)
	b = jsonenc.AppendOptional(b, `,"visitor":`, a.Visitor)
	b = jsonenc.AppendOptional(b, `,"conversation_id":`, a.ConversationID)
	b = jsonenc.AppendOptional(b, `,"client_id":`, a.ClientID)
	b = jsonenc.AppendOptional(b, `,"message_id":`, a.MessageID)
	b = jsonenc.AppendOptional(b, `,"nonce":`, a.Nonce)
	b = append(b, `,"time":`...)
	b, err := jsonenc.AppendTime(b, a.Time)
	if err != nil {
		return encode(a)
	}
	return append(b, '}')
}
