package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hotline-hub/hotline/bus"
)

// Header names of the CloudEvents Kafka protocol binding, binary content
// mode: every attribute is "ce_" + its name, except datacontenttype, which
// is the "content-type" header.
const (
	HeaderPrefix         = "ce_"
	HeaderContentType    = "content-type"
	HeaderID             = "ce_id"
	HeaderSource         = "ce_source"
	HeaderSpecVersion    = "ce_specversion"
	HeaderType           = "ce_type"
	HeaderSubject        = "ce_subject"
	HeaderTime           = "ce_time"
	HeaderDataSchema     = "ce_dataschema"
	HeaderTenant         = "ce_tenant"
	HeaderConversationID = "ce_conversationid"
	HeaderContactID      = "ce_contactid"
	HeaderChannel        = "ce_channel"
)

// maxTimeLen bounds the RFC 3339 form of a time.Time with nanoseconds and
// a numeric zone, for sizing the header buffer.
const maxTimeLen = len("-2006-01-02T15:04:05.999999999-07:00") + 4

// ToMessage encodes e for the bus in binary content mode: attributes as
// headers, the data as the value, and Key() as the message key. It checks
// the envelope's attributes (not its data, which New already validated) and
// refuses an envelope that breaks them, so nothing invalid is published.
// The message shares no memory with e.
func ToMessage(e *Envelope) (bus.Message, error) {
	if e == nil {
		return bus.Message{}, fmt.Errorf("event: to message: %w: nil envelope", ErrInvalid)
	}
	var p problems
	e.checkAttributes(&p)
	if err := p.err("event"); err != nil {
		return bus.Message{}, err
	}

	// One buffer holds every header value, the key and the data; each is a
	// capacity-limited slice of it, so a message costs three allocations.
	n := len(e.ID) + len(e.Source) + len(e.SpecVersion) + len(e.Type) + len(e.Subject) +
		maxTimeLen + len(e.DataContentType) + len(e.DataSchema) + len(e.Tenant) +
		len(e.ConversationID) + len(e.ContactID) + len(e.Channel) + e.keyLen() + len(e.Data)
	nh := 12 + len(e.Extensions)
	for _, raw := range e.Extensions {
		n += len(raw)
	}
	w := headerWriter{buf: make([]byte, 0, n), headers: make([]bus.Header, 0, nh)}
	w.add(HeaderSpecVersion, e.SpecVersion)
	w.add(HeaderID, e.ID)
	w.add(HeaderSource, e.Source)
	w.add(HeaderType, e.Type)
	w.addTime(HeaderTime, e.Time)
	w.add(HeaderSubject, e.Subject)
	w.add(HeaderDataSchema, e.DataSchema)
	w.add(HeaderTenant, e.Tenant)
	w.add(HeaderConversationID, e.ConversationID)
	w.add(HeaderContactID, e.ContactID)
	w.add(HeaderChannel, e.Channel)
	w.add(HeaderContentType, e.DataContentType)
	if len(e.Extensions) > 0 {
		for _, name := range sortedKeys(e.Extensions) {
			text, _ := e.Extension(name)
			w.put(HeaderPrefix+name, text) // an empty extension is still set
		}
	}
	start := len(w.buf)
	w.buf = e.appendKey(w.buf)
	msg := bus.Message{Key: w.buf[start:len(w.buf):len(w.buf)], Headers: w.headers}
	if len(e.Data) > 0 {
		start = len(w.buf)
		w.buf = append(w.buf, e.Data...)
		msg.Value = w.buf[start:len(w.buf):len(w.buf)]
	}
	return msg, nil
}

// headerWriter appends header values to one shared buffer.
type headerWriter struct {
	buf     []byte
	headers []bus.Header
}

// add appends a header unless v is empty: an absent attribute has no header.
func (w *headerWriter) add(key, v string) {
	if v != "" {
		w.put(key, v)
	}
}

// put appends a header.
func (w *headerWriter) put(key, v string) {
	start := len(w.buf)
	w.buf = append(w.buf, v...)
	w.headers = append(w.headers, bus.Header{Key: key, Value: w.buf[start:len(w.buf):len(w.buf)]})
}

func (w *headerWriter) addTime(key string, t time.Time) {
	if t.IsZero() {
		return
	}
	start := len(w.buf)
	w.buf = t.AppendFormat(w.buf, time.RFC3339Nano)
	w.headers = append(w.headers, bus.Header{Key: key, Value: w.buf[start:len(w.buf):len(w.buf)]})
}

// attribute bits for duplicate detection in FromMessage.
const (
	seenID = 1 << iota
	seenSource
	seenSpecVersion
	seenType
	seenSubject
	seenTime
	seenDataSchema
	seenTenant
	seenConversationID
	seenContactID
	seenChannel
	seenContentType
	seenCEContentType
)

// FromMessage decodes an event from a bus message written by ToMessage or by
// any producer following the CloudEvents Kafka protocol binding: binary
// content mode (ce_* headers), or structured mode when the content-type
// header is application/cloudevents+json. It fails, wrapping ErrMalformed,
// on what is not a CloudEvent 1.0; it does not apply Hotline's rules, so
// consumers call Validate (or Decode) next. The envelope shares no memory
// with m. Headers other than content-type and ce_* are ignored; the message
// key is not read, since Key() derives it from the attributes. Consumers
// reading a bus delivery use FromDelivery instead, which decodes each
// record once per process.
func FromMessage(m *bus.Message) (*Envelope, error) {
	return fromMessage(m, false)
}

// fromMessage is FromMessage; with shareValue the envelope's Data is the
// message's Value itself rather than a copy (for a read-only delivery).
func fromMessage(m *bus.Message, shareValue bool) (*Envelope, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil message", ErrMalformed)
	}
	for _, h := range m.Headers {
		if isContentTypeHeader(h.Key) && hasPrefixFold(h.Value, "application/cloudevents") {
			return fromStructured(m, h.Value)
		}
	}

	total := 0
	for _, h := range m.Headers {
		if strings.HasPrefix(h.Key, HeaderPrefix) || isContentTypeHeader(h.Key) {
			total += len(h.Value)
		}
	}
	// Every attribute string is a substring of one builder's buffer: one
	// allocation for all of them. The builder never rewrites bytes it has
	// handed out, so the substrings stay valid.
	var sb strings.Builder
	sb.Grow(total)
	take := func(v []byte) string {
		start := sb.Len()
		sb.Write(v)
		return sb.String()[start:]
	}

	e := new(Envelope)
	var seen int
	var ceContentType string
	for _, h := range m.Headers {
		var name string
		switch {
		case isContentTypeHeader(h.Key):
			name = "content-type"
		case strings.HasPrefix(h.Key, HeaderPrefix):
			name = h.Key[len(HeaderPrefix):]
		default:
			continue
		}
		if !utf8.Valid(h.Value) {
			return nil, fmt.Errorf("%w: header %q is not UTF-8", ErrMalformed, h.Key)
		}
		var dst *string
		var bit int
		switch name {
		case "content-type":
			dst, bit = &e.DataContentType, seenContentType
		case "id":
			dst, bit = &e.ID, seenID
		case "source":
			dst, bit = &e.Source, seenSource
		case "specversion":
			dst, bit = &e.SpecVersion, seenSpecVersion
		case "type":
			dst, bit = &e.Type, seenType
		case "subject":
			dst, bit = &e.Subject, seenSubject
		case "dataschema":
			dst, bit = &e.DataSchema, seenDataSchema
		case "tenant":
			dst, bit = &e.Tenant, seenTenant
		case "conversationid":
			dst, bit = &e.ConversationID, seenConversationID
		case "contactid":
			dst, bit = &e.ContactID, seenContactID
		case "channel":
			dst, bit = &e.Channel, seenChannel
		case "datacontenttype":
			// Not part of binary mode (content-type carries it), but written by
			// some producers; honoured when content-type is absent.
			dst, bit = &ceContentType, seenCEContentType
		case "time":
			if seen&seenTime != 0 {
				return nil, fmt.Errorf("%w: header %q repeats", ErrMalformed, h.Key)
			}
			seen |= seenTime
			t, err := time.Parse(time.RFC3339Nano, string(h.Value))
			if err != nil {
				return nil, fmt.Errorf("%w: header ce_time %q is not RFC 3339", ErrMalformed, h.Value)
			}
			e.Time = t
			continue
		case "data", "data_base64":
			return nil, fmt.Errorf("%w: header %q: data travels as the message value in binary mode", ErrMalformed, h.Key)
		default:
			if !validExtensionName(name) {
				return nil, fmt.Errorf("%w: header %q: attribute name %q is not lowercase letters and digits", ErrMalformed, h.Key, name)
			}
			if _, dup := e.Extensions[name]; dup {
				return nil, fmt.Errorf("%w: header %q repeats", ErrMalformed, h.Key)
			}
			if e.Extensions == nil {
				e.Extensions = make(map[string]json.RawMessage, 2)
			}
			e.Extensions[name] = appendJSONString(nil, take(h.Value))
			continue
		}
		if seen&bit != 0 {
			return nil, fmt.Errorf("%w: header %q repeats", ErrMalformed, h.Key)
		}
		seen |= bit
		*dst = take(h.Value)
	}
	if seen&seenSpecVersion == 0 {
		return nil, fmt.Errorf("%w: no ce_specversion header; not a CloudEvent in binary mode", ErrMalformed)
	}
	if e.SpecVersion != SpecVersion {
		return nil, fmt.Errorf("%w: ce_specversion %q is not %q", ErrMalformed, e.SpecVersion, SpecVersion)
	}
	if seen&seenCEContentType != 0 {
		switch {
		case seen&seenContentType == 0:
			e.DataContentType = ceContentType
		case ceContentType != e.DataContentType:
			return nil, fmt.Errorf("%w: content-type %q and ce_datacontenttype %q disagree", ErrMalformed, e.DataContentType, ceContentType)
		}
	}
	if len(m.Value) > 0 {
		if shareValue {
			e.Data = m.Value[:len(m.Value):len(m.Value)]
		} else {
			e.Data = bytes.Clone(m.Value)
		}
	}
	return e, nil
}

// fromStructured reads a message whose value is a whole event.
func fromStructured(m *bus.Message, contentType []byte) (*Envelope, error) {
	mt, _, _ := strings.Cut(string(contentType), ";")
	if !strings.EqualFold(strings.TrimSpace(mt), ContentTypeCloudEventsJSON) {
		return nil, fmt.Errorf("%w: event format %q is not supported (only %s)", ErrMalformed, contentType, ContentTypeCloudEventsJSON)
	}
	e := new(Envelope)
	if err := e.UnmarshalJSON(m.Value); err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return e, nil
}

// isContentTypeHeader matches "content-type" in any letter case: Kafka
// header names are case-sensitive, but tools that copy HTTP habits write
// "Content-Type".
func isContentTypeHeader(key string) bool {
	return len(key) == len(HeaderContentType) && strings.EqualFold(key, HeaderContentType)
}

func hasPrefixFold(v []byte, prefix string) bool {
	return len(v) >= len(prefix) && strings.EqualFold(string(v[:len(prefix)]), prefix)
}
