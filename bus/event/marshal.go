package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Hand-written encoders for the payloads every chat message carries
// (message.received, message.sent, message.delivered) and the Address and
// BlobRef inside them. encoding/json's reflection was a measurable share of
// the chat hub's CPU; these write the very bytes it wrote, quirks included,
// so stored and in-flight events do not change shape:
//
//   - a string field is written as encoding/json writes it: HTML-safe
//     (<, >, & as \u003c, \u003e, \u0026), \b and \f by name, U+2028 and
//     U+2029 escaped, invalid UTF-8 as \ufffd;
//   - an Address without kept fields was written by appendJSONString, which
//     spells \b and \f as \u0008 and \u000c, and made HTML-safe by
//     json.Marshal's compaction of a marshaler's output;
//   - kept unknown fields follow the known ones, sorted, never overriding
//     a known field; a payload's own MarshalJSON appends their values as
//     they are, while json.Marshal (and New) compact them and make them
//     HTML-safe.

// keptMode says how kept unknown fields of the outermost value are written.
type keptMode uint8

const (
	// keptVerbatim is MarshalJSON's output: values as they are, names as
	// appendJSONString writes them.
	keptVerbatim keptMode = iota
	// keptCompact is json.Marshal's output: the verbatim form compacted and
	// made HTML-safe, as encoding/json does with what a Marshaler returns.
	keptCompact
)

// payloadAppender is a payload with a hand-written encoder. New uses it in
// place of json.Marshal; appendJSON appends exactly what json.Marshal
// would write for the payload, and sizeHint is enough room for it unless
// strings need escaping.
type payloadAppender interface {
	appendJSON(b []byte, mode keptMode) ([]byte, error)
	sizeHint() int
}

var (
	_ payloadAppender = (*MessageReceivedData)(nil)
	_ payloadAppender = (*MessageSentData)(nil)
	_ payloadAppender = (*MessageDeliveredData)(nil)
)

// marshalPayload encodes p as json.Marshal does, in one allocation for the
// payloads that have a hand-written encoder.
func marshalPayload(p Payload) ([]byte, error) {
	if a, ok := p.(payloadAppender); ok {
		return a.appendJSON(make([]byte, 0, a.sizeHint()), keptCompact)
	}
	return json.Marshal(p)
}

// MarshalJSON writes the fields and any kept unknown ones.
func (d MessageReceivedData) MarshalJSON() ([]byte, error) {
	return d.appendJSON(make([]byte, 0, d.sizeHint()), keptVerbatim)
}

func (d *MessageReceivedData) sizeHint() int {
	n := len(`{"message_id":"","from":,"to":}`) + len(d.MessageID) + optSize(`,"external_id":`, d.ExternalID) +
		optSize(`,"client_message_id":`, d.ClientMessageID) + addressSize(d.From) + addressesSize(d.To) +
		optSize(`,"subject":`, d.Subject) + optSize(`,"text":`, d.Text) + optSize(`,"language":`, d.Language) +
		optSize(`,"in_reply_to":`, d.InReplyTo) + keptSize(d.Extra) + escapeSlack
	if len(d.Cc) > 0 {
		n += len(`,"cc":`) + addressesSize(d.Cc)
	}
	if len(d.Attachments) > 0 {
		n += len(`,"attachments":`) + blobsSize(d.Attachments)
	}
	if d.Raw != nil {
		n += len(`,"raw":`) + blobSize(*d.Raw)
	}
	return n
}

func (d *MessageReceivedData) appendJSON(b []byte, mode keptMode) ([]byte, error) {
	var err error
	b = append(b, `{"message_id":`...)
	b = appendString(b, d.MessageID)
	b = appendOptional(b, `,"external_id":`, d.ExternalID)
	b = appendOptional(b, `,"client_message_id":`, d.ClientMessageID)
	b = append(b, `,"from":`...)
	if b, err = appendAddress(b, &d.From, keptCompact); err != nil {
		return nil, fmt.Errorf("event: encode from: %w", err)
	}
	b = append(b, `,"to":`...)
	if b, err = appendAddresses(b, d.To); err != nil {
		return nil, fmt.Errorf("event: encode to: %w", err)
	}
	if len(d.Cc) > 0 {
		b = append(b, `,"cc":`...)
		if b, err = appendAddresses(b, d.Cc); err != nil {
			return nil, fmt.Errorf("event: encode cc: %w", err)
		}
	}
	b = appendOptional(b, `,"subject":`, d.Subject)
	b = appendOptional(b, `,"text":`, d.Text)
	if len(d.Attachments) > 0 {
		b = append(b, `,"attachments":`...)
		if b, err = appendBlobs(b, d.Attachments); err != nil {
			return nil, fmt.Errorf("event: encode attachments: %w", err)
		}
	}
	if d.Raw != nil {
		b = append(b, `,"raw":`...)
		if b, err = appendBlob(b, d.Raw, keptCompact); err != nil {
			return nil, fmt.Errorf("event: encode raw: %w", err)
		}
	}
	b = appendOptional(b, `,"language":`, d.Language)
	b = appendOptional(b, `,"in_reply_to":`, d.InReplyTo)
	return appendKept[MessageReceivedData](b, d.Extra, mode)
}

// MarshalJSON writes the fields and any kept unknown ones.
func (d MessageSentData) MarshalJSON() ([]byte, error) {
	return d.appendJSON(make([]byte, 0, d.sizeHint()), keptVerbatim)
}

func (d *MessageSentData) sizeHint() int {
	n := len(`{"message_id":"","from":,"to":}`) + len(d.MessageID) + optSize(`,"client_message_id":`, d.ClientMessageID) +
		optSize(`,"agent_id":`, d.AgentID) + addressSize(d.From) + addressesSize(d.To) +
		optSize(`,"subject":`, d.Subject) + optSize(`,"text":`, d.Text) + optSize(`,"language":`, d.Language) +
		optSize(`,"in_reply_to":`, d.InReplyTo) + keptSize(d.Extra) + escapeSlack
	if len(d.Cc) > 0 {
		n += len(`,"cc":`) + addressesSize(d.Cc)
	}
	if len(d.Attachments) > 0 {
		n += len(`,"attachments":`) + blobsSize(d.Attachments)
	}
	return n
}

func (d *MessageSentData) appendJSON(b []byte, mode keptMode) ([]byte, error) {
	var err error
	b = append(b, `{"message_id":`...)
	b = appendString(b, d.MessageID)
	b = appendOptional(b, `,"client_message_id":`, d.ClientMessageID)
	b = appendOptional(b, `,"agent_id":`, d.AgentID)
	b = append(b, `,"from":`...)
	if b, err = appendAddress(b, &d.From, keptCompact); err != nil {
		return nil, fmt.Errorf("event: encode from: %w", err)
	}
	b = append(b, `,"to":`...)
	if b, err = appendAddresses(b, d.To); err != nil {
		return nil, fmt.Errorf("event: encode to: %w", err)
	}
	if len(d.Cc) > 0 {
		b = append(b, `,"cc":`...)
		if b, err = appendAddresses(b, d.Cc); err != nil {
			return nil, fmt.Errorf("event: encode cc: %w", err)
		}
	}
	b = appendOptional(b, `,"subject":`, d.Subject)
	b = appendOptional(b, `,"text":`, d.Text)
	if len(d.Attachments) > 0 {
		b = append(b, `,"attachments":`...)
		if b, err = appendBlobs(b, d.Attachments); err != nil {
			return nil, fmt.Errorf("event: encode attachments: %w", err)
		}
	}
	b = appendOptional(b, `,"language":`, d.Language)
	b = appendOptional(b, `,"in_reply_to":`, d.InReplyTo)
	return appendKept[MessageSentData](b, d.Extra, mode)
}

// MarshalJSON writes the fields and any kept unknown ones.
func (d MessageDeliveredData) MarshalJSON() ([]byte, error) {
	return d.appendJSON(make([]byte, 0, d.sizeHint()), keptVerbatim)
}

func (d *MessageDeliveredData) sizeHint() int {
	return len(`{"message_id":"","status":"","attempts":}`) + 20 + len(d.MessageID) + len(d.Status) +
		optSize(`,"external_id":`, d.ExternalID) + optSize(`,"reason":`, d.Reason) + keptSize(d.Extra) + escapeSlack
}

func (d *MessageDeliveredData) appendJSON(b []byte, mode keptMode) ([]byte, error) {
	b = append(b, `{"message_id":`...)
	b = appendString(b, d.MessageID)
	b = append(b, `,"status":`...)
	b = appendString(b, d.Status)
	b = appendOptional(b, `,"external_id":`, d.ExternalID)
	b = appendOptional(b, `,"reason":`, d.Reason)
	if d.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(d.Attempts), 10)
	}
	return appendKept[MessageDeliveredData](b, d.Extra, mode)
}

// appendAddress writes a as Address.MarshalJSON does (mode keptVerbatim)
// or as json.Marshal does (keptCompact).
func appendAddress(b []byte, a *Address, mode keptMode) ([]byte, error) {
	if len(a.Extra) == 0 {
		// Address.MarshalJSON has always written this shape with
		// appendJSONString; json.Marshal made it HTML-safe.
		b = append(b, `{"address":`...)
		b = appendStringAs(b, a.Address, mode == keptCompact, false)
		if a.Name != "" {
			b = append(b, `,"name":`...)
			b = appendStringAs(b, a.Name, mode == keptCompact, false)
		}
		return append(b, '}'), nil
	}
	b = append(b, `{"address":`...)
	b = appendString(b, a.Address)
	b = appendOptional(b, `,"name":`, a.Name)
	return appendKept[Address](b, a.Extra, mode)
}

// appendAddresses writes a list of addresses as json.Marshal does: null
// for a nil list.
func appendAddresses(b []byte, list []Address) ([]byte, error) {
	if list == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendAddress(b, &list[i], keptCompact); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendBlob writes r as BlobRef.MarshalJSON does (mode keptVerbatim) or
// as json.Marshal does (keptCompact).
func appendBlob(b []byte, r *BlobRef, mode keptMode) ([]byte, error) {
	b = append(b, `{"sha256":`...)
	b = appendString(b, r.SHA256)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, r.Size, 10)
	b = append(b, `,"content_type":`...)
	b = appendString(b, r.ContentType)
	b = appendOptional(b, `,"name":`, r.Name)
	return appendKept[BlobRef](b, r.Extra, mode)
}

// appendBlobs writes a non-empty list of blob references.
func appendBlobs(b []byte, list []BlobRef) ([]byte, error) {
	b = append(b, '[')
	for i := range list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendBlob(b, &list[i], keptCompact); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// escapeSlack is room the size hints leave for a few escaped characters.
const escapeSlack = 16

func optSize(member, v string) int {
	if v == "" {
		return 0
	}
	return len(member) + 2 + len(v)
}

func addressSize(a Address) int {
	return len(`{"address":""}`) + len(a.Address) + optSize(`,"name":`, a.Name) + keptSize(a.Extra)
}

func addressesSize(list []Address) int {
	n := len("null")
	for _, a := range list {
		n += 1 + addressSize(a)
	}
	return n
}

func blobSize(r BlobRef) int {
	return len(`{"sha256":"","size":,"content_type":""}`) + 20 + len(r.SHA256) + len(r.ContentType) +
		optSize(`,"name":`, r.Name) + keptSize(r.Extra)
}

func blobsSize(list []BlobRef) int {
	n := 2
	for _, r := range list {
		n += 1 + blobSize(r)
	}
	return n
}

func keptSize(extra map[string]json.RawMessage) int {
	n := 0
	for k, v := range extra {
		n += len(`,"":`) + len(k) + len(v)
	}
	return n
}

// appendOptional writes an omitempty string member: nothing if v is empty,
// else member (`,"name":`) and v.
func appendOptional(b []byte, member, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, member...)
	return appendString(b, v)
}

// appendKept ends the object b holds the known members of (T's) with the
// kept unknown fields, sorted by name, leaving out any whose name folds
// to a known field's, and closes it. It is marshalKeeping without the
// json.Marshal of the known fields.
func appendKept[T any](b []byte, extra map[string]json.RawMessage, mode keptMode) ([]byte, error) {
	if len(extra) == 0 {
		return append(b, '}'), nil
	}
	known := fieldNames(reflect.TypeFor[T]())
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !known[strings.ToLower(k)] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		raw := extra[k]
		if !json.Valid(raw) {
			return nil, fmt.Errorf("event: kept field %q is not valid JSON", k)
		}
		b = append(b, ',')
		if mode == keptVerbatim {
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = append(b, raw...)
			continue
		}
		b = appendStringAs(b, k, true, false)
		b = append(b, ':')
		b = appendCompactHTML(b, raw)
	}
	return append(b, '}'), nil
}

// appendCompactHTML appends raw, valid JSON, without insignificant space
// and HTML-safe, as encoding/json does with what a Marshaler returns.
func appendCompactHTML(b, raw []byte) []byte {
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		// Unreachable: the caller checked raw with json.Valid.
		return append(b, raw...)
	}
	start := 0
	src := c.Bytes()
	for i, ch := range src {
		if ch == '<' || ch == '>' || ch == '&' {
			b = append(b, src[start:i]...)
			b = append(b, '\\', 'u', '0', '0', hexDigits[ch>>4], hexDigits[ch&0xf])
			start = i + 1
		}
		if ch == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8 {
			b = append(b, src[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xf])
			start = i + 3
		}
	}
	return append(b, src[start:]...)
}

// htmlSafe holds the bytes a JSON string keeps as they are when it is
// HTML-safe: ASCII from space up, but for '"', '\\', '<', '>' and '&'.
// Looking them up is most of the speed of the string encoders.
var htmlSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as encoding/json writes a string field.
func appendString(b []byte, s string) []byte { return appendStringAs(b, s, true, true) }

// appendStringAs appends s as a JSON string: quotes, backslashes and
// control characters escaped, U+2028 and U+2029 escaped, invalid UTF-8
// replaced by U+FFFD; html escapes <, > and &; named spells \b and \f so
// (encoding/json) rather than \u0008 and \u000c (appendJSONString).
func appendStringAs(b []byte, s string, html, named bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if htmlSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if !html && (c == '<' || c == '>' || c == '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b' && named:
				b = append(b, '\\', 'b')
			case c == '\f' && named:
				b = append(b, '\\', 'f')
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
