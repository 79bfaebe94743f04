package event

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/hotline-hub/hotline/bus/event/jsonenc"
)

// MarshalJSON writes the event in the CloudEvents JSON format (structured
// content mode, media type application/cloudevents+json): attributes as
// members, unknown extensions as kept, JSON data inline as "data", other
// text as a "data" string and binary as "data_base64".
func (e Envelope) MarshalJSON() ([]byte, error) {
	if e.SpecVersion != SpecVersion {
		return nil, fmt.Errorf("event: encode: specversion %q is not %q", e.SpecVersion, SpecVersion)
	}
	b := make([]byte, 0, 256+len(e.Data))
	b = append(b, `{"specversion":`...)
	b = appendJSONString(b, e.SpecVersion)
	member := func(name, v string) {
		if v == "" {
			return
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = appendJSONString(b, v)
	}
	member("id", e.ID)
	member("source", e.Source)
	member("type", e.Type)
	member("subject", e.Subject)
	if !e.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = e.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	member("datacontenttype", e.DataContentType)
	member("dataschema", e.DataSchema)
	member("tenant", e.Tenant)
	member("conversationid", e.ConversationID)
	member("contactid", e.ContactID)
	member("channel", e.Channel)
	for _, name := range sortedKeys(e.Extensions) {
		raw := e.Extensions[name]
		if err := checkExtension(name, raw); err != nil {
			return nil, fmt.Errorf("event: encode: %w", err)
		}
		b = append(b, ',', '"')
		b = append(b, name...)
		b = append(b, '"', ':')
		b = append(b, raw...)
	}
	if len(e.Data) > 0 {
		switch {
		case isJSONType(e.DataContentType) && json.Valid(e.Data):
			b = append(b, `,"data":`...)
			b = append(b, e.Data...)
		case e.DataContentType != "" && isJSONType(e.DataContentType):
			return nil, fmt.Errorf("event: encode: data is not valid JSON, yet datacontenttype is %q", e.DataContentType)
		case isTextType(e.DataContentType) && utf8.Valid(e.Data):
			b = append(b, `,"data":`...)
			b = appendJSONString(b, string(e.Data))
		default:
			b = append(b, `,"data_base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, e.Data)
			b = append(b, '"')
		}
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an event in the CloudEvents JSON format. Attributes
// it has no field for are kept in Extensions. It rejects what is not a
// CloudEvent 1.0 (wrong member types, another specversion) with an error
// wrapping ErrMalformed, but leaves Hotline's rules to Validate.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%w: not a JSON object: %v", ErrMalformed, err)
	}
	if m == nil {
		return fmt.Errorf("%w: event is null", ErrMalformed)
	}
	*e = Envelope{}
	for name, raw := range m {
		if string(raw) == "null" { // the JSON format treats null as absent
			delete(m, name)
		}
	}
	str := func(name string, dst *string) error {
		raw, ok := m[name]
		if !ok {
			return nil
		}
		delete(m, name)
		if raw[0] != '"' {
			return fmt.Errorf("%w: attribute %q is not a string", ErrMalformed, name)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return fmt.Errorf("%w: attribute %q: %v", ErrMalformed, name, err)
		}
		return nil
	}
	var timeText, dataBase64 string
	for _, a := range []struct {
		name string
		dst  *string
	}{
		{"specversion", &e.SpecVersion}, {"id", &e.ID}, {"source", &e.Source}, {"type", &e.Type},
		{"subject", &e.Subject}, {"time", &timeText}, {"datacontenttype", &e.DataContentType},
		{"dataschema", &e.DataSchema}, {"tenant", &e.Tenant}, {"conversationid", &e.ConversationID},
		{"contactid", &e.ContactID}, {"channel", &e.Channel}, {"data_base64", &dataBase64},
	} {
		if err := str(a.name, a.dst); err != nil {
			return err
		}
	}
	if e.SpecVersion != SpecVersion {
		return fmt.Errorf("%w: specversion %q is not %q", ErrMalformed, e.SpecVersion, SpecVersion)
	}
	if timeText != "" {
		t, err := time.Parse(time.RFC3339Nano, timeText)
		if err != nil {
			return fmt.Errorf("%w: time %q is not RFC 3339", ErrMalformed, timeText)
		}
		e.Time = t
	}
	data, hasData := m["data"]
	delete(m, "data")
	switch {
	case hasData && dataBase64 != "":
		return fmt.Errorf("%w: both data and data_base64 are set", ErrMalformed)
	case dataBase64 != "":
		d, err := base64.StdEncoding.DecodeString(dataBase64)
		if err != nil {
			return fmt.Errorf("%w: data_base64: %v", ErrMalformed, err)
		}
		e.Data = d
	case hasData && !isJSONType(e.DataContentType) && data[0] == '"':
		// Non-JSON data travels as a JSON string of its text.
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return fmt.Errorf("%w: data: %v", ErrMalformed, err)
		}
		e.Data = []byte(s)
	case hasData:
		e.Data = data
	}
	for name, raw := range m {
		if err := checkExtension(name, raw); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if e.Extensions == nil {
			e.Extensions = make(map[string]json.RawMessage, len(m))
		}
		e.Extensions[name] = raw
	}
	return nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// legacyString is how the envelope, Address and the names of kept fields
// have always been spelled: encoding/json's escaping without the HTML
// escapes, \b and \f as \u0008 and \u000c. Decoders read the same strings
// as from encoding/json's spelling; it is kept so that what was written
// before is written again byte for byte.
const legacyString = jsonenc.NoHTMLEscape | jsonenc.NumericBF

// appendJSONString appends s as a JSON string in the legacy spelling:
// quotes, backslashes and control characters escaped, U+2028 and U+2029
// too, invalid UTF-8 replaced with U+FFFD.
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendStringWith(b, s, legacyString) }
