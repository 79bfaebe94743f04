package event

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestNewFillsAttributes(t *testing.T) {
	before := time.Now()
	e := newSample(t, MessageReceived)
	id, err := uuid.Parse(e.ID)
	if err != nil {
		t.Fatalf("id %q: %v", e.ID, err)
	}
	if id.Version() != 7 {
		t.Errorf("id %s is UUID version %d, want 7", e.ID, id.Version())
	}
	if e.Time.Location() != time.UTC {
		t.Errorf("time %v is not UTC", e.Time)
	}
	if e.Time.Before(before.Add(-time.Second)) || e.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("time %v is not now", e.Time)
	}
	checks := []struct{ name, got, want string }{
		{"specversion", e.SpecVersion, "1.0"},
		{"type", e.Type, MessageReceived},
		{"source", e.Source, "/test"},
		{"datacontenttype", e.DataContentType, "application/json"},
		{"dataschema", e.DataSchema, "urn:hotline:message.received:v2"},
		{"tenant", e.Tenant, "acme"},
		{"conversationid", e.ConversationID, "c-42"},
		{"channel", e.Channel, "email"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !strings.Contains(string(e.Data), `"message_id":"m-1"`) {
		t.Errorf("data %s lacks the payload", e.Data)
	}

	// Ids are time-ordered: a later event sorts after.
	e2 := newSample(t, MessageReceived)
	if e2.ID <= e.ID {
		t.Errorf("second id %s does not sort after first %s", e2.ID, e.ID)
	}
}

func TestNewDefaults(t *testing.T) {
	e, err := New(CallQueued, "acme", &CallQueuedData{CallID: "x", Queue: "q"}, WithConversation("c"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Channel != ChannelVoice {
		t.Errorf("call event channel = %q, want voice by default", e.Channel)
	}
	if e.Source != DefaultSource {
		t.Errorf("source = %q, want %q", e.Source, DefaultSource)
	}
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	e, err = New(NoteAdded, "acme", &NoteAddedData{NoteID: "n", AgentID: "a", Text: "t"},
		WithConversation("c"), WithID("fixed-id"), WithTime(at), WithSubject("s"), WithContact("k"))
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "fixed-id" || !e.Time.Equal(at) || e.Time.Location() != time.UTC || e.Subject != "s" || e.ContactID != "k" {
		t.Errorf("options not applied: %+v", e)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		tenant  string
		payload Payload
		opts    []Option
		want    string
		is      error
	}{
		{"payload of another type", MessageSent, "acme", &NoteAddedData{}, nil,
			"payload *event.NoteAddedData is the data of note.added", ErrInvalid},
		{"nil payload", NoteAdded, "acme", nil, nil, "payload is nil", ErrInvalid},
		{"invalid payload and envelope", NoteAdded, "A B", &NoteAddedData{NoteID: "n"}, []Option{WithConversation("c")},
			`event: tenant "A B" is not a valid tenant id; data.agent_id is empty; data.text is empty and there are no attachments`, ErrInvalid},
		{"missing conversation", NoteAdded, "acme", &NoteAddedData{NoteID: "n", AgentID: "a", Text: "t"}, nil,
			"event: conversationid is empty but note.added events need one", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := New(tt.typ, tt.tenant, tt.payload, tt.opts...)
			if err == nil {
				t.Fatalf("New = %+v, want error", e)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		typ    string // sample to start from; MessageReceived if empty
		mutate func(e *Envelope)
		want   string // "" means valid
	}{
		{"valid", "", func(e *Envelope) {}, ""},
		{"valid agent event without conversation or channel", AgentPresenceChanged, func(e *Envelope) {}, ""},
		{"valid conversation event without channel", ConversationAssigned, func(e *Envelope) { e.Channel = "" }, ""},
		{"valid absent dataschema means v1", NoteAdded, func(e *Envelope) { e.DataSchema = "" }, ""},
		{"valid unknown extension", "", func(e *Envelope) {
			e.Extensions = map[string]json.RawMessage{"traceparent": json.RawMessage(`"00-ab"`)}
		}, ""},
		{"id", "", func(e *Envelope) { e.ID = "" }, "id is empty"},
		{"id utf8", "", func(e *Envelope) { e.ID = "\xff" }, `id "\xff" is not valid UTF-8`},
		{"source empty", "", func(e *Envelope) { e.Source = "" }, "source is empty"},
		{"source not uri", "", func(e *Envelope) { e.Source = "/a b" }, `source "/a b" is not a URI-reference`},
		{"source bad scheme", "", func(e *Envelope) { e.Source = "1x:/y" }, `source "1x:/y" is not a URI-reference`},
		{"source bad escape", "", func(e *Envelope) { e.Source = "/a%zz" }, `source "/a%zz" is not a URI-reference`},
		{"specversion", "", func(e *Envelope) { e.SpecVersion = "0.3" }, `specversion "0.3" is not "1.0"`},
		{"type empty", "", func(e *Envelope) { e.Type = ""; e.DataSchema = "" }, "type is empty"},
		{"type unknown", "", func(e *Envelope) { e.Type = "message.exploded"; e.DataSchema = "" },
			`type "message.exploded" is not a known event type`},
		{"time", "", func(e *Envelope) { e.Time = time.Time{} }, "time is zero"},
		{"time beyond RFC 3339", "", func(e *Envelope) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
			"time 10000-01-01 is outside the years RFC 3339 can write"},
		{"tenant empty", "", func(e *Envelope) { e.Tenant = "" }, "tenant is empty"},
		{"tenant not slug", "", func(e *Envelope) { e.Tenant = "A B" }, `tenant "A B" is not a valid tenant id`},
		{"tenant leading hyphen", "", func(e *Envelope) { e.Tenant = "-acme" }, `tenant "-acme" is not a valid tenant id`},
		{"tenant too long", "", func(e *Envelope) { e.Tenant = strings.Repeat("a", 64) },
			`tenant "` + strings.Repeat("a", 64) + `" is not a valid tenant id`},
		{"tenant max length", "", func(e *Envelope) { e.Tenant = strings.Repeat("a", 63) }, ""},
		{"channel unknown", "", func(e *Envelope) { e.Channel = "fax" }, `channel "fax" is not one of voice, email, sms, chat`},
		{"channel missing on message", "", func(e *Envelope) { e.Channel = "" }, "channel is empty but message.received events need one"},
		{"channel not voice on call", CallEnded, func(e *Envelope) { e.Channel = ChannelEmail },
			`channel "email" is not voice, which call.ended events need`},
		{"channel missing on call", CallEnded, func(e *Envelope) { e.Channel = "" }, "channel is empty but call.ended events need voice"},
		{"conversation missing", ConversationResolved, func(e *Envelope) { e.ConversationID = "" },
			"conversationid is empty but conversation.resolved events need one"},
		{"conversation missing on note", NoteAdded, func(e *Envelope) { e.ConversationID = "" },
			"conversationid is empty but note.added events need one"},
		{"datacontenttype", "", func(e *Envelope) { e.DataContentType = "text/plain" }, `datacontenttype "text/plain" is not JSON`},
		{"datacontenttype json suffix", "", func(e *Envelope) { e.DataContentType = "application/vnd.hotline+json; charset=utf-8" }, ""},
		{"dataschema form", "", func(e *Envelope) { e.DataSchema = "https://schemas.example/x" },
			`dataschema "https://schemas.example/x" is not urn:hotline:<type>:v<N>`},
		{"dataschema type", "", func(e *Envelope) { e.DataSchema = "urn:hotline:message.sent:v1" },
			`dataschema "urn:hotline:message.sent:v1" is for type "message.sent", not "message.received"`},
		{"dataschema version", "", func(e *Envelope) { e.DataSchema = "urn:hotline:message.received:v9" },
			`dataschema "urn:hotline:message.received:v9" names version 9, this build reads up to 2`},
		{"data empty", "", func(e *Envelope) { e.Data = nil }, "data is empty"},
		{"data undecodable", "", func(e *Envelope) { e.Data = json.RawMessage(`{"message_id":5}`) },
			"data does not decode: message.received v2 data: field message_id: JSON number where string is needed"},
		{"data invalid", "", func(e *Envelope) {
			e.Data = json.RawMessage(`{"from":{"address":"a@b"},"to":[{"address":"c@d"}],"text":"hi"}`)
		}, "data.message_id is empty"},
		{"extension name", "", func(e *Envelope) { e.Extensions = map[string]json.RawMessage{"Trace": json.RawMessage(`"x"`)} },
			`extension attribute name "Trace" is not lowercase letters and digits`},
		{"extension reserved", "", func(e *Envelope) { e.Extensions = map[string]json.RawMessage{"tenant": json.RawMessage(`"x"`)} },
			`extension attribute "tenant" is not an extension`},
		{"extension object", "", func(e *Envelope) { e.Extensions = map[string]json.RawMessage{"x": json.RawMessage(`{}`)} },
			`extension attribute "x": value must be a string, number or boolean`},
		{"every problem listed", "", func(e *Envelope) { e.ID = ""; e.Time = time.Time{}; e.Tenant = "A B" },
			`id is empty; time is zero; tenant "A B" is not a valid tenant id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := tt.typ
			if typ == "" {
				typ = MessageReceived
			}
			e := newSample(t, typ)
			tt.mutate(e)
			err := e.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want %q", tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "event: "+tt.want) {
				t.Errorf("Validate =\n  %q\nwant\n  %q", err, "event: "+tt.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("%T is not a *ValidationError", err)
			}
			if want := strings.Count(tt.want, "; ") + 1; len(ve.Problems) != want {
				t.Errorf("%d problems %v, want %d", len(ve.Problems), ve.Problems, want)
			}
		})
	}
}

func TestTopicAndKey(t *testing.T) {
	tests := []struct {
		typ       string
		topic     string
		convID    string
		wantKey   string
		wantTopic string
	}{
		{MessageReceived, TopicConversations, "c-1", "acme/c-1", TopicConversations},
		{MessageSent, TopicOutbox, "c-1", "acme/c-1", TopicOutbox},
		{MessageDelivered, TopicConversations, "c-1", "acme/c-1", TopicConversations},
		{CallEnded, TopicConversations, "c-1", "acme/c-1", TopicConversations},
		{ConversationAssigned, TopicConversations, "c-1", "acme/c-1", TopicConversations},
		{NoteAdded, TopicConversations, "c-1", "acme/c-1", TopicConversations},
		{AgentPresenceChanged, TopicAgents, "c-1", "acme", TopicAgents},
		{ContactIdentified, TopicContacts, "c-1", "acme", TopicContacts},
		{ContactsMerged, TopicContacts, "", "acme", TopicContacts},
		{"custom.thing", "", "c-1", "acme/c-1", ""},
		{"custom.thing", "", "", "acme", ""},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.convID, func(t *testing.T) {
			if got := TopicFor(tt.typ); got != tt.wantTopic {
				t.Errorf("TopicFor(%s) = %q, want %q", tt.typ, got, tt.wantTopic)
			}
			e := &Envelope{Type: tt.typ, Tenant: "acme", ConversationID: tt.convID}
			if got := string(e.Key()); got != tt.wantKey {
				t.Errorf("Key() = %q, want %q", got, tt.wantKey)
			}
		})
	}
	for _, topic := range Topics() {
		if err := validTopicForBus(topic); err != nil {
			t.Errorf("topic %q: %v", topic, err)
		}
	}
}

func TestSchemaURI(t *testing.T) {
	if got := SchemaURI(CallMenuSelected, 3); got != "urn:hotline:call.menu_selected:v3" {
		t.Errorf("SchemaURI = %q", got)
	}
	tests := []struct {
		in   string
		typ  string
		v    int
		fail bool
	}{
		{"urn:hotline:call.menu_selected:v3", "call.menu_selected", 3, false},
		{"urn:hotline:message.received:v12", "message.received", 12, false},
		{"urn:hotline:message.received:v0", "", 0, true},
		{"urn:hotline:message.received:v01", "", 0, true},
		{"urn:hotline:message.received:v+1", "", 0, true},
		{"urn:hotline:message.received:vx", "", 0, true},
		{"urn:hotline::v1", "", 0, true},
		{"urn:other:message.received:v1", "", 0, true},
		{"", "", 0, true},
	}
	for _, tt := range tests {
		typ, v, err := ParseSchema(tt.in)
		if (err != nil) != tt.fail || typ != tt.typ || v != tt.v {
			t.Errorf("ParseSchema(%q) = %q, %d, %v; want %q, %d, fail=%v", tt.in, typ, v, err, tt.typ, tt.v, tt.fail)
		}
	}
}

func TestExtensionAccessors(t *testing.T) {
	e := newSample(t, NoteAdded)
	if err := e.SetExtension("traceparent", "00-abc-01"); err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Extension("traceparent"); !ok || v != "00-abc-01" {
		t.Errorf("Extension = %q, %v", v, ok)
	}
	e.Extensions["count"] = json.RawMessage("5")
	if v, ok := e.Extension("count"); !ok || v != "5" {
		t.Errorf("numeric Extension = %q, %v", v, ok)
	}
	if _, ok := e.Extension("missing"); ok {
		t.Error("missing extension reported set")
	}
	for _, bad := range []string{"Trace", "trace_parent", "", "tenant", "data"} {
		if err := e.SetExtension(bad, "x"); err == nil {
			t.Errorf("SetExtension(%q) accepted", bad)
		}
	}
}
