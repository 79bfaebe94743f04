package event

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/hotline-hub/hotline/bus/event/jsonenc"
)

// Hand-written encoders for the payloads every chat message carries
// (message.received, message.sent, message.delivered) and the Address and
// BlobRef inside them. encoding/json's reflection was a measurable share of
// the chat hub's CPU; these write the very bytes it wrote, quirks included,
// so stored and in-flight events do not change shape:
//
//   - a string field is written as encoding/json writes it
//     (jsonenc.AppendString);
//   - an Address without kept fields was written by appendJSONString, in
//     the legacy spelling (no HTML escapes, \b and \f as \u0008 and
//     \u000c), and made HTML-safe by json.Marshal's compaction of a
//     marshaler's output;
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

// legacy is how mode spells what was written with appendJSONString: as
// it is, or made HTML-safe by json.Marshal (which leaves \u0008 alone).
func (m keptMode) legacy() jsonenc.Flags {
	if m == keptCompact {
		return legacyString &^ jsonenc.NoHTMLEscape
	}
	return legacyString
}

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

// messageBody is the run of members message.received and message.sent
// share, "from" to "attachments".
type messageBody struct {
	from          *Address
	to, cc        []Address
	subject, text string
	attachments   []BlobRef
}

func (m *messageBody) size() int {
	n := len(`,"from":,"to":`) + addressSize(*m.from) + addressesSize(m.to) +
		optSize(`,"subject":`, m.subject) + optSize(`,"text":`, m.text)
	if len(m.cc) > 0 {
		n += len(`,"cc":`) + addressesSize(m.cc)
	}
	if len(m.attachments) > 0 {
		n += len(`,"attachments":`) + blobsSize(m.attachments)
	}
	return n
}

func (m *messageBody) appendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `,"from":`...)
	if b, err = appendAddress(b, m.from, keptCompact); err != nil {
		return nil, fmt.Errorf("event: encode from: %w", err)
	}
	b = append(b, `,"to":`...)
	if b, err = jsonenc.AppendArray(b, m.to, appendAddressCompact); err != nil {
		return nil, fmt.Errorf("event: encode to: %w", err)
	}
	if len(m.cc) > 0 {
		b = append(b, `,"cc":`...)
		if b, err = jsonenc.AppendArray(b, m.cc, appendAddressCompact); err != nil {
			return nil, fmt.Errorf("event: encode cc: %w", err)
		}
	}
	b = jsonenc.AppendOptional(b, `,"subject":`, m.subject)
	b = jsonenc.AppendOptional(b, `,"text":`, m.text)
	if len(m.attachments) > 0 {
		b = append(b, `,"attachments":`...)
		if b, err = jsonenc.AppendArray(b, m.attachments, appendBlobCompact); err != nil {
			return nil, fmt.Errorf("event: encode attachments: %w", err)
		}
	}
	return b, nil
}

// MarshalJSON writes the fields and any kept unknown ones.
func (d MessageReceivedData) MarshalJSON() ([]byte, error) {
	return d.appendJSON(make([]byte, 0, d.sizeHint()), keptVerbatim)
}

func (d *MessageReceivedData) body() messageBody {
	return messageBody{&d.From, d.To, d.Cc, d.Subject, d.Text, d.Attachments}
}

func (d *MessageReceivedData) sizeHint() int {
	body := d.body()
	n := len(`{"message_id":""}`) + len(d.MessageID) + optSize(`,"external_id":`, d.ExternalID) +
		optSize(`,"client_message_id":`, d.ClientMessageID) + body.size() + optSize(`,"language":`, d.Language) +
		optSize(`,"in_reply_to":`, d.InReplyTo) + keptSize(d.Extra) + escapeSlack
	if d.Raw != nil {
		n += len(`,"raw":`) + blobSize(*d.Raw)
	}
	return n
}

func (d *MessageReceivedData) appendJSON(b []byte, mode keptMode) ([]byte, error) {
	b = append(b, `{"message_id":`...)
	b = jsonenc.AppendString(b, d.MessageID)
	b = jsonenc.AppendOptional(b, `,"external_id":`, d.ExternalID)
	b = jsonenc.AppendOptional(b, `,"client_message_id":`, d.ClientMessageID)
	body := d.body()
	b, err := body.appendJSON(b)
	if err != nil {
		return nil, err
	}
	if d.Raw != nil {
		b = append(b, `,"raw":`...)
		if b, err = appendBlob(b, d.Raw, keptCompact); err != nil {
			return nil, fmt.Errorf("event: encode raw: %w", err)
		}
	}
	b = jsonenc.AppendOptional(b, `,"language":`, d.Language)
	b = jsonenc.AppendOptional(b, `,"in_reply_to":`, d.InReplyTo)
	return appendKept[MessageReceivedData](b, d.Extra, mode)
}

// MarshalJSON writes the fields and any kept unknown ones.
func (d MessageSentData) MarshalJSON() ([]byte, error) {
	return d.appendJSON(make([]byte, 0, d.sizeHint()), keptVerbatim)
}

func (d *MessageSentData) body() messageBody {
	return messageBody{&d.From, d.To, d.Cc, d.Subject, d.Text, d.Attachments}
}

func (d *MessageSentData) sizeHint() int {
	body := d.body()
	return len(`{"message_id":""}`) + len(d.MessageID) + optSize(`,"client_message_id":`, d.ClientMessageID) +
		optSize(`,"agent_id":`, d.AgentID) + body.size() + optSize(`,"language":`, d.Language) +
		optSize(`,"in_reply_to":`, d.InReplyTo) + keptSize(d.Extra) + escapeSlack
}

func (d *MessageSentData) appendJSON(b []byte, mode keptMode) ([]byte, error) {
	b = append(b, `{"message_id":`...)
	b = jsonenc.AppendString(b, d.MessageID)
	b = jsonenc.AppendOptional(b, `,"client_message_id":`, d.ClientMessageID)
	b = jsonenc.AppendOptional(b, `,"agent_id":`, d.AgentID)
	body := d.body()
	b, err := body.appendJSON(b)
	if err != nil {
		return nil, err
	}
	b = jsonenc.AppendOptional(b, `,"language":`, d.Language)
	b = jsonenc.AppendOptional(b, `,"in_reply_to":`, d.InReplyTo)
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
	b = jsonenc.AppendString(b, d.MessageID)
	b = append(b, `,"status":`...)
	b = jsonenc.AppendString(b, d.Status)
	b = jsonenc.AppendOptional(b, `,"external_id":`, d.ExternalID)
	b = jsonenc.AppendOptional(b, `,"reason":`, d.Reason)
	if d.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(d.Attempts), 10)
	}
	return appendKept[MessageDeliveredData](b, d.Extra, mode)
}

// appendAddress writes a as Address.MarshalJSON does (mode keptVerbatim)
// or as json.Marshal does (keptCompact).
func appendAddress(b []byte, a *Address, mode keptMode) ([]byte, error) {
	var f jsonenc.Flags // with kept fields: marshalKeeping, encoding/json's spelling
	if len(a.Extra) == 0 {
		// Address.MarshalJSON has always written this shape with
		// appendJSONString.
		f = mode.legacy()
	}
	b = append(b, `{"address":`...)
	b = jsonenc.AppendStringWith(b, a.Address, f)
	if a.Name != "" {
		b = append(b, `,"name":`...)
		b = jsonenc.AppendStringWith(b, a.Name, f)
	}
	return appendKept[Address](b, a.Extra, mode)
}

// appendAddressCompact writes an element of an address list.
func appendAddressCompact(b []byte, a *Address) ([]byte, error) {
	return appendAddress(b, a, keptCompact)
}

// appendBlob writes r as BlobRef.MarshalJSON does (mode keptVerbatim) or
// as json.Marshal does (keptCompact).
func appendBlob(b []byte, r *BlobRef, mode keptMode) ([]byte, error) {
	b = append(b, `{"sha256":`...)
	b = jsonenc.AppendString(b, r.SHA256)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, r.Size, 10)
	b = append(b, `,"content_type":`...)
	b = jsonenc.AppendString(b, r.ContentType)
	b = jsonenc.AppendOptional(b, `,"name":`, r.Name)
	return appendKept[BlobRef](b, r.Extra, mode)
}

// appendBlobCompact writes an element of a list of blob references.
func appendBlobCompact(b []byte, r *BlobRef) ([]byte, error) { return appendBlob(b, r, keptCompact) }

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

// appendKept ends the object b holds the known members of (T's) with the
// kept unknown fields, sorted by name, leaving out any whose name folds
// to a known field's, and closes it. It is marshalKeeping without the
// json.Marshal of the known fields.
func appendKept[T any](b []byte, extra map[string]json.RawMessage, mode keptMode) ([]byte, error) {
	if len(extra) == 0 {
		return append(b, '}'), nil
	}
	for _, k := range keptNames[T](extra) {
		raw := extra[k]
		b = append(b, ',')
		b = jsonenc.AppendStringWith(b, k, mode.legacy())
		b = append(b, ':')
		if mode == keptVerbatim {
			if !json.Valid(raw) {
				return nil, fmt.Errorf("event: kept field %q is not valid JSON", k)
			}
			b = append(b, raw...)
			continue
		}
		var err error
		if b, err = jsonenc.AppendCompact(b, raw); err != nil {
			return nil, fmt.Errorf("event: kept field %q is not valid JSON: %w", k, err)
		}
	}
	return append(b, '}'), nil
}
