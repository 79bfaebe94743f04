package inbox

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// The inbox socket's hot frames are encoded by hand: a customer's message
// and its reply are folded into a frame for the agent and every
// supervisor, hundreds of times a second, and encoding/json's reflection
// was ~3 % of the hub's CPU under `hotline bench chat`. The output is
// byte-identical to encoding/json's for the same value (frames_test.go
// proves it over varied values), HTML escaping included, so a client
// sees no difference. A rare nested part, a call's state, is still
// marshalled by encoding/json.

// appendMessageFrame appends the JSON of f.
func appendMessageFrame(b []byte, f *messageOut) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, f.Type)
	b = append(b, `,"conversation_id":`...)
	b = appendJSONString(b, f.ConversationID)
	b = append(b, `,"entry":`...)
	b, err := appendEntry(b, &f.Entry)
	if err != nil {
		return nil, err
	}
	if f.Conversation != nil {
		b = append(b, `,"conversation":`...)
		if b, err = appendSummary(b, f.Conversation); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendConversationFrame appends the JSON of f.
func appendConversationFrame(b []byte, f *conversationOut) ([]byte, error) {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, f.Type)
	b = append(b, `,"conversation":`...)
	b, err := appendSummary(b, &f.Conversation)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendSummary appends the JSON of s.
func appendSummary(b []byte, s *Summary) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, s.ID)
	b = append(b, `,"tenant":`...)
	b = appendJSONString(b, s.Tenant)
	b = append(b, `,"channel":`...)
	b = appendJSONString(b, s.Channel)
	if s.ContactID != "" {
		b = append(b, `,"contact_id":`...)
		b = appendJSONString(b, s.ContactID)
	}
	b = append(b, `,"customer":`...)
	b = appendCustomer(b, &s.Customer)
	if s.Queue != "" {
		b = append(b, `,"queue":`...)
		b = appendJSONString(b, s.Queue)
	}
	b = append(b, `,"status":`...)
	b = appendJSONString(b, s.Status)
	if s.AgentID != "" {
		b = append(b, `,"agent_id":`...)
		b = appendJSONString(b, s.AgentID)
	}
	var err error
	if s.Offer != nil {
		b = append(b, `,"offer":`...)
		if b, err = appendOffer(b, s.Offer); err != nil {
			return nil, err
		}
	}
	b = append(b, `,"last_activity":`...)
	if b, err = appendJSONTime(b, s.LastActivity); err != nil {
		return nil, err
	}
	b = append(b, `,"messages":`...)
	b = strconv.AppendInt(b, int64(s.Messages), 10)
	b = append(b, `,"tags":`...)
	if s.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for n, tag := range s.Tags {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, tag)
		}
		b = append(b, ']')
	}
	if s.Call != nil {
		raw, err := json.Marshal(s.Call)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"call":`...)
		b = append(b, raw...)
	}
	return append(b, '}'), nil
}

// appendEntry appends the JSON of e.
func appendEntry(b []byte, e *Entry) ([]byte, error) {
	b = append(b, `{"message_id":`...)
	b = appendJSONString(b, e.MessageID)
	b = append(b, `,"direction":`...)
	b = appendJSONString(b, e.Direction)
	if e.AgentID != "" {
		b = append(b, `,"agent_id":`...)
		b = appendJSONString(b, e.AgentID)
	}
	b = append(b, `,"text":`...)
	b = appendJSONString(b, e.Text)
	b = append(b, `,"time":`...)
	b, err := appendJSONTime(b, e.Time)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"delivered":`...)
	b = strconv.AppendBool(b, e.Delivered)
	if e.DeliveryError != "" {
		b = append(b, `,"delivery_error":`...)
		b = appendJSONString(b, e.DeliveryError)
	}
	return append(b, '}'), nil
}

// appendCustomer appends the JSON of c.
func appendCustomer(b []byte, c *Customer) []byte {
	b = append(b, '{')
	if c.Name != "" {
		b = append(b, `"name":`...)
		b = appendJSONString(b, c.Name)
	}
	if c.Address != "" {
		if c.Name != "" {
			b = append(b, ',')
		}
		b = append(b, `"address":`...)
		b = appendJSONString(b, c.Address)
	}
	return append(b, '}')
}

// appendOffer appends the JSON of o.
func appendOffer(b []byte, o *Offer) ([]byte, error) {
	b = append(b, `{"agent_id":`...)
	b = appendJSONString(b, o.AgentID)
	b = append(b, `,"deadline":`...)
	b, err := appendJSONTime(b, o.Deadline)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// Sizes of the frames, to allocate each once: the keys, punctuation and
// times, plus the strings (which escaping rarely lengthens).
func messageFrameSize(f *messageOut) int {
	n := 64 + len(f.ConversationID) + entrySize(&f.Entry)
	if f.Conversation != nil {
		n += summarySize(f.Conversation)
	}
	return n
}

func entrySize(e *Entry) int {
	return 160 + len(e.MessageID) + len(e.Direction) + len(e.AgentID) + len(e.Text) + len(e.DeliveryError)
}

func summarySize(s *Summary) int {
	n := 224 + len(s.ID) + len(s.Tenant) + len(s.Channel) + len(s.ContactID) + len(s.Customer.Name) +
		len(s.Customer.Address) + len(s.Queue) + len(s.Status) + len(s.AgentID)
	if s.Offer != nil {
		n += 80 + len(s.Offer.AgentID)
	}
	for _, t := range s.Tags {
		n += 3 + len(t)
	}
	if s.Call != nil {
		n += 256
	}
	return n
}

// appendJSONTime appends t as time.Time's MarshalJSON does: quoted RFC
// 3339 with nanoseconds, and the same error for a time RFC 3339 cannot
// hold (a year outside 0–9999, a zone offset of 24 hours or more).
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, fmt.Errorf("inbox: encode time: %w", err)
	}
	return append(b, '"'), nil
}

const hexDigits = "0123456789abcdef"

// ASCII characters written as they are, as bits: those from ' ' on,
// except '"', '\\' and, for HTML safety, '<', '>' and '&'.
const (
	plainLow  uint64 = 0xffffffff00000000 &^ (1<<'"' | 1<<'&' | 1<<'<' | 1<<'>') // 0x00–0x3f
	plainHigh uint64 = 0xffffffffffffffff &^ (1 << ('\\' - 64))                  // 0x40–0x7f
)

// plain reports whether ASCII character c is written as it is.
func plain(c byte) bool {
	if c < 64 {
		return plainLow>>c&1 != 0
	}
	return plainHigh>>(c-64)&1 != 0
}

// appendJSONString appends s quoted as encoding/json does by default:
// '"' and '\' escaped, \b \f \n \r \t by name, other control characters,
// '<', '>' and '&' as \u00XX (HTML-safe), U+2028 and U+2029 as \u2028
// and \u2029, and each byte of invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain(c) {
				i++
				continue
			}
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
