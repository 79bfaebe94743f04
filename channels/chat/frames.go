package chat

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Hand-written encoders for what the hub writes for every message: the ack
// of a visitor's message, the message frame of each history entry pushed
// to sockets, typing frames, and the accepted record of the state log. encoding/json's reflection showed in the
// hub's profile at 2,000 messages a second; these write exactly the bytes
// encode writes for ackFrame, messageFrame, typingFrame and accepted (the
// tests hold them to it), in one allocation. Rare frames still go through encode.

// escapeSlack is room the size estimates leave for a few escapes.
const escapeSlack = 16

// marshal returns the ack frame as encode writes it.
func (f ackFrame) marshal() []byte {
	b := make([]byte, 0, len(`{"type":"","client_id":"","message_id":"","conversation_id":"","seq":}`)+20+
		len(f.Type)+len(f.ClientID)+len(f.MessageID)+len(f.ConversationID)+escapeSlack)
	b = append(b, `{"type":`...)
	b = appendJSONString(b, f.Type)
	b = append(b, `,"client_id":`...)
	b = appendJSONString(b, f.ClientID)
	b = append(b, `,"message_id":`...)
	b = appendJSONString(b, f.MessageID)
	b = append(b, `,"conversation_id":`...)
	b = appendJSONString(b, f.ConversationID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, f.Seq, 10)
	return append(b, '}')
}

// marshal returns the typing frame as encode writes it.
func (f typingFrame) marshal() []byte {
	b := make([]byte, 0, len(`{"type":"","active":false}`)+len(f.Type)+escapeSlack)
	b = append(b, `{"type":`...)
	b = appendJSONString(b, f.Type)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, f.Active)
	return append(b, '}')
}

// messageFrameOf returns the message frame of e as encode writes the
// messageFrame entry.frame describes, with the time written in place
// rather than formatted into a string first.
func messageFrameOf(e *entry) []byte {
	b := make([]byte, 0, len(`{"type":"message","seq":,"message_id":"","client_id":"","from":"","agent_name":"","text":"","time":""}`)+
		20+len(e.messageID)+len(e.clientID)+len(e.from)+len(e.agentName)+len(e.text)+len(time.RFC3339Nano)+escapeSlack)
	b = append(b, `{"type":"`+frameMessage+`","seq":`...)
	b = strconv.AppendInt(b, e.seq, 10)
	b = append(b, `,"message_id":`...)
	b = appendJSONString(b, e.messageID)
	if e.clientID != "" {
		b = append(b, `,"client_id":`...)
		b = appendJSONString(b, e.clientID)
	}
	b = append(b, `,"from":`...)
	b = appendJSONString(b, e.from)
	if e.agentName != "" {
		b = append(b, `,"agent_name":`...)
		b = appendJSONString(b, e.agentName)
	}
	b = append(b, `,"text":`...)
	b = appendJSONString(b, e.text)
	// RFC 3339 text is digits, letters and punctuation JSON leaves as is.
	b = append(b, `,"time":"`...)
	b = e.time.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// marshal returns the state log record as encode writes it. A time
// RFC 3339 cannot hold goes through encode, which fails on it as it did.
func (a accepted) marshal() []byte {
	b := make([]byte, 0, len(`{"kind":"","tenant":"","visitor":"","conversation_id":"","client_id":"","message_id":"","nonce":"","time":""}`)+
		len(a.Kind)+len(a.Tenant)+len(a.Visitor)+len(a.ConversationID)+len(a.ClientID)+len(a.MessageID)+len(a.Nonce)+
		len(time.RFC3339Nano)+escapeSlack)
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, a.Kind)
	b = append(b, `,"tenant":`...)
	b = appendJSONString(b, a.Tenant)
	b = appendOptional(b, `,"visitor":`, a.Visitor)
	b = appendOptional(b, `,"conversation_id":`, a.ConversationID)
	b = appendOptional(b, `,"client_id":`, a.ClientID)
	b = appendOptional(b, `,"message_id":`, a.MessageID)
	b = appendOptional(b, `,"nonce":`, a.Nonce)
	b = append(b, `,"time":"`...)
	b, err := a.Time.AppendText(b) // what time.Time's MarshalJSON writes, unquoted
	if err != nil {
		return encode(a)
	}
	return append(b, `"}`...)
}

// appendOptional writes an omitempty string member: nothing if v is
// empty, else member (`,"name":`) and v.
func appendOptional(b []byte, member, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, member...)
	return appendJSONString(b, v)
}

const hexDigits = "0123456789abcdef"

// htmlSafe holds the bytes a JSON string keeps as they are when it is
// HTML-safe: ASCII from space up, but for '"', '\\', '<', '>' and '&'.
var htmlSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s quoted as encoding/json does by default:
// '"' and '\' escaped, \b \f \n \r \t by name, other control characters,
// '<', '>' and '&' as \u00XX (HTML-safe), U+2028 and U+2029 as \u2028
// and \u2029, and each byte of invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if htmlSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
