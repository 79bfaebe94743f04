package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SpecVersion is the only CloudEvents version Hotline writes and reads.
const SpecVersion = "1.0"

// ContentTypeJSON is the datacontenttype of every payload New builds.
const ContentTypeJSON = "application/json"

// ContentTypeCloudEventsJSON is the media type of a whole event in the
// CloudEvents JSON format (structured content mode).
const ContentTypeCloudEventsJSON = "application/cloudevents+json"

// DefaultSource is the source New sets when no WithSource option is given.
// Components should name themselves ("/channels/email", "/routing") so an
// event's origin is visible in every tool that reads the bus.
const DefaultSource = "/hotline"

// Envelope is one event: CloudEvents 1.0 attributes, Hotline's extension
// attributes and the data. Build one with New; read one from a bus delivery
// with FromDelivery (shared and read-only, see there), from a message with
// FromMessage or with json.Unmarshal, then Validate and Decode it.
type Envelope struct {
	// ID is unique per event; consumers drop an id they have applied, which
	// makes at-least-once delivery safe. New makes a UUIDv7, so ids sort
	// by creation time.
	ID string
	// Source names the component or system that produced the event, as a
	// URI-reference ("/channels/sms").
	Source string
	// SpecVersion is always "1.0".
	SpecVersion string
	// Type is one of the event type constants (MessageReceived, ...).
	Type string
	// Subject is what the event is about within the source, e.g. the
	// channel's id for the thing (a SIP Call-ID, an email Message-ID).
	Subject string
	// Time is when the fact happened, in UTC.
	Time time.Time
	// DataContentType is the media type of Data, "application/json" for
	// every Hotline payload.
	DataContentType string
	// DataSchema is "urn:hotline:<type>:v<N>", the payload version Data is
	// written in; empty means version 1.
	DataSchema string

	// Tenant is the client company the event belongs to; every consumer
	// filters on it, and it is part of every partition key.
	Tenant string
	// ConversationID ties the event to one conversation (case thread).
	ConversationID string
	// ContactID is the known customer, once identified.
	ContactID string
	// Channel is voice, email, sms or chat; empty for events of no channel.
	Channel string

	// Extensions holds the extension attributes Hotline does not define,
	// by name, each as its JSON value, so that a number or boolean read
	// from the JSON format is written back as one. In binary mode every
	// value travels as a string. Use Extension and SetExtension to read
	// and write them as text.
	Extensions map[string]json.RawMessage

	// Data is the payload as written (JSON for every Hotline event).
	Data json.RawMessage

	// payload memoises Decode for an envelope shared by the subscriptions
	// of a process (FromDelivery); nil otherwise.
	payload *payloadMemo
}

// Option sets an optional attribute in New.
type Option func(*Envelope)

// WithSource sets the producing component, see DefaultSource.
func WithSource(source string) Option { return func(e *Envelope) { e.Source = source } }

// WithSubject sets the subject attribute.
func WithSubject(subject string) Option { return func(e *Envelope) { e.Subject = subject } }

// WithConversation sets the conversation id, which also makes the partition key.
func WithConversation(id string) Option { return func(e *Envelope) { e.ConversationID = id } }

// WithContact sets the contact id.
func WithContact(id string) Option { return func(e *Envelope) { e.ContactID = id } }

// WithChannel sets the channel. Call events default to voice.
func WithChannel(channel string) Option { return func(e *Envelope) { e.Channel = channel } }

// WithID replaces the generated id. Producers that may build the same event
// twice (a channel re-reading its input after a crash) derive the id from
// the input so the duplicate is dropped downstream.
func WithID(id string) Option { return func(e *Envelope) { e.ID = id } }

// WithTime replaces the current time, for facts that happened earlier than
// they are published (imports, a channel catching up). It is stored in UTC.
func WithTime(t time.Time) Option { return func(e *Envelope) { e.Time = t.UTC() } }

// New builds a valid event of type typ for tenant with payload as its data,
// written in the payload's current version. It fails, listing every problem,
// if the envelope or the payload is invalid.
func New(typ string, tenant string, payload Payload, opts ...Option) (*Envelope, error) {
	if payload == nil {
		return nil, fmt.Errorf("event: new %s: %w: payload is nil", typ, ErrInvalid)
	}
	if pt := payload.EventType(); pt != typ {
		return nil, fmt.Errorf("event: new %s: %w: payload %T is the data of %s", typ, ErrInvalid, payload, pt)
	}
	ti, ok := registry[typ]
	if !ok {
		return nil, fmt.Errorf("event: new %q: %w", typ, ErrUnknownType)
	}
	e := &Envelope{
		Source:          DefaultSource,
		SpecVersion:     SpecVersion,
		Type:            typ,
		Time:            time.Now().UTC(),
		DataContentType: ContentTypeJSON,
		DataSchema:      ti.schema,
		Tenant:          tenant,
	}
	if ti.channel == channelVoice {
		e.Channel = ChannelVoice
	}
	for _, o := range opts {
		o(e)
	}
	if e.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("event: new %s: id: %w", typ, err)
		}
		e.ID = id.String()
	}
	data, err := marshalPayload(payload)
	if err != nil {
		return nil, fmt.Errorf("event: new %s: encode payload: %w", typ, err)
	}
	e.Data = data
	var p problems
	e.checkAttributes(&p)
	p.nested("data", payload.Validate())
	if err := p.err("event"); err != nil {
		return nil, err
	}
	return e, nil
}

// Validate checks every rule an event on Hotline's bus must follow and
// returns a *ValidationError (wrapping ErrInvalid) listing each broken one:
// CloudEvents required attributes, a known type, a tenant slug, a channel
// fitting the type, a conversation id for conversation-scoped types, and
// data that decodes in its dataschema's version and passes the payload's
// own Validate.
func (e *Envelope) Validate() error {
	var p problems
	e.checkAttributes(&p)
	if _, known := registry[e.Type]; known && e.dataPlausible() {
		payload, err := e.Decode()
		if err != nil {
			p.add("data", "does not decode: %v", trimErr(err))
		} else {
			p.nested("data", payload.Validate())
		}
	}
	return p.err("event")
}

// dataPlausible reports whether checkAttributes left the data worth
// decoding: present, JSON, and a readable dataschema.
func (e *Envelope) dataPlausible() bool {
	if len(e.Data) == 0 || !isJSONType(e.DataContentType) {
		return false
	}
	if e.DataSchema == "" {
		return true
	}
	typ, v, err := ParseSchema(e.DataSchema)
	if err != nil || typ != e.Type {
		return false
	}
	_, ok := registry[typ].decoders[v]
	return ok
}

// trimErr drops the sentinel's prefix from a wrapped decode error so the
// problem reads once.
func trimErr(err error) string {
	s := err.Error()
	for _, prefix := range []string{ErrMalformed.Error() + ": ", "event: "} {
		s = strings.TrimPrefix(s, prefix)
	}
	return s
}

// checkAttributes adds a problem for every attribute rule broken. It does
// not look inside the data and does not allocate when all is well, because
// ToMessage runs it on every publish.
func (e *Envelope) checkAttributes(p *problems) {
	p.required("id", e.ID)
	if e.Source == "" {
		p.add("source", "is empty")
	} else if !validURIRef(e.Source) {
		p.add("source", "%q is not a URI-reference", e.Source)
	}
	if e.SpecVersion != SpecVersion {
		p.add("specversion", "%q is not %q", e.SpecVersion, SpecVersion)
	}
	ti, known := registry[e.Type]
	switch {
	case e.Type == "":
		p.add("type", "is empty")
	case !known:
		p.add("type", "%q is not a known event type", e.Type)
	}
	if e.Time.IsZero() {
		p.add("time", "is zero")
	} else if y := e.Time.Year(); y < 0 || y > 9999 {
		p.add("time", "%s is outside the years RFC 3339 can write", e.Time.Format(time.DateOnly))
	}
	if e.Tenant == "" {
		p.add("tenant", "is empty")
	} else if !ValidTenant(e.Tenant) {
		p.add("tenant", "%q is not a valid tenant id", e.Tenant)
	}
	switch {
	case e.Channel != "" && !validChannel(e.Channel):
		p.add("channel", "%q is not one of voice, email, sms, chat", e.Channel)
	case !known:
	case ti.channel == channelRequired && e.Channel == "":
		p.add("channel", "is empty but %s events need one", e.Type)
	case ti.channel == channelVoice && e.Channel == "":
		p.add("channel", "is empty but %s events need voice", e.Type)
	case ti.channel == channelVoice && e.Channel != ChannelVoice:
		p.add("channel", "%q is not voice, which %s events need", e.Channel, e.Type)
	}
	if known {
		if ti.scope == scopeConversation && e.ConversationID == "" {
			p.add("conversationid", "is empty but %s events need one", e.Type)
		}
	}
	if e.DataContentType != "" && !isJSONType(e.DataContentType) {
		p.add("datacontenttype", "%q is not JSON", e.DataContentType)
	}
	if e.DataSchema != "" {
		typ, v, err := ParseSchema(e.DataSchema)
		switch {
		case err != nil:
			p.add("dataschema", "%q is not urn:hotline:<type>:v<N>", e.DataSchema)
		case typ != e.Type:
			p.add("dataschema", "%q is for type %q, not %q", e.DataSchema, typ, e.Type)
		case known && ti.decoders[v] == nil:
			p.add("dataschema", "%q names version %d, this build reads up to %d", e.DataSchema, v, ti.current)
		}
	}
	// Attributes become Kafka header values, which must be UTF-8.
	for _, a := range [...]struct{ name, v string }{
		{"id", e.ID}, {"subject", e.Subject}, {"conversationid", e.ConversationID}, {"contactid", e.ContactID},
	} {
		if !utf8.ValidString(a.v) {
			p.add(a.name, "%q is not valid UTF-8", a.v)
		}
	}
	if known && len(e.Data) == 0 {
		p.add("data", "is empty")
	}
	for name, raw := range e.Extensions {
		if err := checkExtension(name, raw); err != nil {
			p.add("extension", "%v", err)
		}
	}
}

// Decode returns the event's data as its typed payload (a pointer, e.g.
// *MessageReceivedData), upgraded from the version its dataschema names to
// the current one. It does not run the payload's Validate; Validate does.
//
// On an envelope from FromDelivery the payload is decoded once and shared
// by every caller in the process: it is read-only (see FromDelivery).
func (e *Envelope) Decode() (Payload, error) {
	if e.payload != nil {
		return e.payload.decode(e)
	}
	return e.decode()
}

// decode is Decode without the memo.
func (e *Envelope) decode() (Payload, error) {
	ti, ok := registry[e.Type]
	if !ok {
		return nil, fmt.Errorf("event: decode %q: %w", e.Type, ErrUnknownType)
	}
	version := 1
	if e.DataSchema != "" {
		typ, v, err := ParseSchema(e.DataSchema)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, e.Type, err)
		}
		if typ != e.Type {
			return nil, fmt.Errorf("%w: %s: dataschema %q is for type %q", ErrMalformed, e.Type, e.DataSchema, typ)
		}
		version = v
	}
	dec, ok := ti.decoders[version]
	if !ok {
		return nil, fmt.Errorf("event: decode %s: %w: v%d (this build reads up to v%d)", e.Type, ErrUnknownVersion, version, ti.current)
	}
	if len(e.Data) == 0 {
		return nil, fmt.Errorf("%w: %s: data is empty", ErrMalformed, e.Type)
	}
	if !isJSONType(e.DataContentType) {
		return nil, fmt.Errorf("%w: %s: datacontenttype %q is not JSON", ErrMalformed, e.Type, e.DataContentType)
	}
	payload, err := dec(e.Data)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			// Name the payload's field, not the Go type decoding it.
			return nil, fmt.Errorf("%w: %s v%d data: field %s: JSON %s where %s is needed",
				ErrMalformed, e.Type, version, te.Field, te.Value, te.Type)
		}
		return nil, fmt.Errorf("%w: %s v%d data: %v", ErrMalformed, e.Type, version, err)
	}
	return payload, nil
}

// Key returns the partition key of the event. Conversation events are keyed
// by tenant and conversation ("acme/c-123"), so everything about one
// conversation is read in the order it was written; agent and contact
// events by tenant alone, so routing sees one tenant's agents, and the
// dossier one tenant's merges, in one order. Tenant ids cannot contain '/',
// so keys of different tenants never collide.
func (e *Envelope) Key() []byte {
	return e.appendKey(nil)
}

func (e *Envelope) appendKey(b []byte) []byte {
	b = append(b, e.Tenant...)
	if e.keyedByConversation() {
		b = append(b, '/')
		b = append(b, e.ConversationID...)
	}
	return b
}

func (e *Envelope) keyLen() int {
	n := len(e.Tenant)
	if e.keyedByConversation() {
		n += 1 + len(e.ConversationID)
	}
	return n
}

// keyedByConversation: conversation-scoped types, and unknown types that
// carry a conversation id, are keyed by conversation.
func (e *Envelope) keyedByConversation() bool {
	if e.ConversationID == "" {
		return false
	}
	ti, ok := registry[e.Type]
	return !ok || ti.scope == scopeConversation
}

// Extension returns the extension attribute name as text (a JSON string
// unquoted, a number or boolean as written), and whether it is set.
func (e *Envelope) Extension(name string) (string, bool) {
	raw, ok := e.Extensions[name]
	if !ok {
		return "", false
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return s, true
		}
	}
	return string(raw), true
}

// SetExtension sets an extension attribute Hotline does not define to a
// string value. Names are lowercase letters and digits; the attributes the
// Envelope has fields for cannot be set this way.
func (e *Envelope) SetExtension(name, value string) error {
	raw := json.RawMessage(appendJSONString(nil, value))
	if err := checkExtension(name, raw); err != nil {
		return fmt.Errorf("event: %w", err)
	}
	if e.Extensions == nil {
		e.Extensions = make(map[string]json.RawMessage)
	}
	e.Extensions[name] = raw
	return nil
}

// reserved are the attribute names the Envelope has fields for, and the
// JSON format's data members, which an extension must not shadow.
func reserved(name string) bool {
	switch name {
	case "id", "source", "specversion", "type", "subject", "time", "datacontenttype", "dataschema",
		"tenant", "conversationid", "contactid", "channel", "data", "data_base64":
		return true
	}
	return false
}

var errExtensionValue = errors.New("value must be a string, number or boolean")

// checkExtension validates one extension attribute.
func checkExtension(name string, raw json.RawMessage) error {
	if !validExtensionName(name) {
		return fmt.Errorf("attribute name %q is not lowercase letters and digits", name)
	}
	if reserved(name) {
		return fmt.Errorf("attribute %q is not an extension", name)
	}
	if len(raw) == 0 || !json.Valid(raw) {
		return fmt.Errorf("attribute %q: value is not valid JSON", name)
	}
	switch raw[0] {
	case '{', '[', 'n':
		return fmt.Errorf("attribute %q: %w", name, errExtensionValue)
	}
	return nil
}

// isJSONType reports whether a datacontenttype declares JSON: empty (JSON
// is the default of the JSON event format), application/json, or any
// +json suffix type, parameters ignored.
func isJSONType(ct string) bool {
	if ct == "" {
		return true
	}
	mt := ct
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.TrimSpace(mt)
	if len(mt) < 5 {
		return false
	}
	return strings.EqualFold(mt, "application/json") || strings.EqualFold(mt[len(mt)-5:], "+json")
}

// isTextType reports whether ct is a text/* media type.
func isTextType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && strings.HasPrefix(mt, "text/")
}
