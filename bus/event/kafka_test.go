package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// TestHeaderNames pins the header names of the CloudEvents Kafka protocol
// binding, binary content mode: "ce_" + attribute name, and content-type
// for datacontenttype.
func TestHeaderNames(t *testing.T) {
	at := time.Date(2025, 6, 1, 8, 30, 0, 120000000, time.UTC)
	e, err := New(MessageReceived, "acme", samples()[MessageReceived].payload,
		WithConversation("c-42"), WithChannel(ChannelEmail), WithContact("k-1"), WithSubject("<abc@mail.example>"),
		WithSource("/channels/email"), WithID("ev-1"), WithTime(at))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetExtension("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"); err != nil {
		t.Fatal(err)
	}
	m, err := ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, h := range m.Headers {
		if _, dup := got[h.Key]; dup {
			t.Errorf("header %s written twice", h.Key)
		}
		got[h.Key] = string(h.Value)
	}
	want := map[string]string{
		"ce_id":             "ev-1",
		"ce_source":         "/channels/email",
		"ce_specversion":    "1.0",
		"ce_type":           "message.received",
		"ce_subject":        "<abc@mail.example>",
		"ce_time":           "2025-06-01T08:30:00.12Z",
		"ce_dataschema":     "urn:hotline:message.received:v2",
		"ce_tenant":         "acme",
		"ce_conversationid": "c-42",
		"ce_contactid":      "k-1",
		"ce_channel":        "email",
		"ce_traceparent":    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"content-type":      "application/json",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("headers\n got %v\nwant %v", got, want)
	}
	if string(m.Key) != "acme/c-42" {
		t.Errorf("key = %q, want acme/c-42", m.Key)
	}
	if !bytes.Equal(m.Value, e.Data) {
		t.Errorf("value = %s, want the data %s", m.Value, e.Data)
	}
}

func TestBinaryRoundTripEveryType(t *testing.T) {
	for _, typ := range Types() {
		t.Run(typ, func(t *testing.T) {
			e := newSample(t, typ)
			e.Subject = "subj"
			e.Extensions = map[string]json.RawMessage{"region": json.RawMessage(`"eu-west"`)}
			m, err := ToMessage(e)
			if err != nil {
				t.Fatal(err)
			}
			if topic := TopicFor(typ); topic == "" {
				t.Fatalf("no topic")
			}
			got, err := FromMessage(&m)
			if err != nil {
				t.Fatal(err)
			}
			sameEnvelope(t, got, e)
			if err := got.Validate(); err != nil {
				t.Fatalf("decoded event invalid: %v", err)
			}
			p, err := got.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if want := samples()[typ].payload; !reflect.DeepEqual(p, want) {
				t.Errorf("payload = %#v\nwant %#v", p, want)
			}
		})
	}
}

func TestJSONRoundTripEveryType(t *testing.T) {
	for _, typ := range Types() {
		t.Run(typ, func(t *testing.T) {
			e := newSample(t, typ)
			e.Extensions = map[string]json.RawMessage{"priority": json.RawMessage(`7`), "vip": json.RawMessage(`true`)}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			var got Envelope
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			sameEnvelope(t, &got, e)
			if string(got.Extensions["priority"]) != "7" || string(got.Extensions["vip"]) != "true" {
				t.Errorf("extensions lost their JSON types: %s", got.Extensions)
			}
			if err := got.Validate(); err != nil {
				t.Fatal(err)
			}
			// And structured mode on the bus.
			m := bus.Message{Value: b, Headers: []bus.Header{{Key: "content-type", Value: []byte("application/cloudevents+json; charset=UTF-8")}}}
			fromBus, err := FromMessage(&m)
			if err != nil {
				t.Fatal(err)
			}
			sameEnvelope(t, fromBus, e)
		})
	}
}

func TestMessageSharesNoMemory(t *testing.T) {
	e := newSample(t, NoteAdded)
	want := string(e.Data)
	m, err := ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Value {
		m.Value[i] = 'x'
	}
	m.Key = append(m.Key, "-more"...)
	if string(e.Data) != want {
		t.Fatal("writing the message changed the envelope's data")
	}
	m, _ = ToMessage(e)
	got, err := FromMessage(&m)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Value {
		m.Value[i] = 'x'
	}
	for _, h := range m.Headers {
		for i := range h.Value {
			h.Value[i] = 'y'
		}
	}
	if string(got.Data) != want || got.Tenant != "acme" || got.Type != NoteAdded {
		t.Fatalf("writing the message changed the decoded envelope: %+v", got)
	}
}

// TestThirdPartyBinary reads a message as a Kafka tool writes it, e.g.
//
//	kcat -P -t hotline.conversations -k whatever -H ce_specversion=1.0 -H ce_id=...
//
// headers only, every value a plain string, in no particular order, with
// unrelated headers mixed in.
func TestThirdPartyBinary(t *testing.T) {
	hdr := func(kv ...string) []bus.Header {
		var hs []bus.Header
		for i := 0; i < len(kv); i += 2 {
			hs = append(hs, bus.Header{Key: kv[i], Value: []byte(kv[i+1])})
		}
		return hs
	}
	m := bus.Message{
		Key: []byte("some-other-key"),
		Value: []byte(`{"message_id":"sms-77","from":{"address":"+33612345678"},"to":[{"address":"+33700000000"}],
			"text":"Mon colis n'est pas arrivé","language":"fr","carrier":"orange"}`),
		Headers: hdr(
			"ce_type", "message.received",
			"ce_time", "2025-01-15T09:12:03.5+01:00",
			"ce_specversion", "1.0",
			"ce_source", "urn:sms-gateway:eu1",
			"ce_id", "8d1c6f5e-sms-77",
			"Content-Type", "application/json; charset=utf-8",
			"ce_tenant", "acme",
			"ce_conversationid", "c-sms-77",
			"ce_channel", "sms",
			"ce_dataschema", "urn:hotline:message.received:v2",
			"ce_partitionkey", "acme/c-sms-77",
			"traceparent", "00-abc-def-01",
			"kafka_producer", "kcat",
		),
	}
	e, err := FromMessage(&m)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	wantTime := time.Date(2025, 1, 15, 8, 12, 3, 500000000, time.UTC)
	if !e.Time.Equal(wantTime) {
		t.Errorf("time = %v, want %v", e.Time, wantTime)
	}
	if e.ID != "8d1c6f5e-sms-77" || e.Source != "urn:sms-gateway:eu1" || e.Channel != ChannelSMS ||
		e.DataContentType != "application/json; charset=utf-8" {
		t.Errorf("attributes wrong: %+v", e)
	}
	if v, _ := e.Extension("partitionkey"); v != "acme/c-sms-77" || len(e.Extensions) != 1 {
		t.Errorf("extensions = %s, want partitionkey only (non-ce headers are not attributes)", e.Extensions)
	}
	p, err := e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	d := p.(*MessageReceivedData)
	if d.Text != "Mon colis n'est pas arrivé" || d.From.Address != "+33612345678" || string(d.Extra["carrier"]) != `"orange"` {
		t.Errorf("payload = %+v", d)
	}
	if string(e.Key()) != "acme/c-sms-77" {
		t.Errorf("Key = %q", e.Key())
	}
}

func TestStructuredThirdParty(t *testing.T) {
	value := `{
		"specversion": "1.0", "id": "x-1", "source": "https://chat.example/widget", "type": "message.received",
		"time": "2025-02-01T10:00:00Z", "datacontenttype": "application/json", "dataschema": "urn:hotline:message.received:v2",
		"tenant": "acme", "conversationid": "c-9", "channel": "chat",
		"sampled": true, "hops": 3, "comexampleextension": "value", "subject": null,
		"data": {"message_id": "w-1", "from": {"address": "visitor-12"}, "to": [{"address": "site-acme"}], "text": "hello"}
	}`
	m := bus.Message{Value: []byte(value), Headers: []bus.Header{{Key: "content-type", Value: []byte("application/cloudevents+json; charset=UTF-8")}}}
	e, err := FromMessage(&m)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	if e.Subject != "" {
		t.Errorf("null subject read as %q", e.Subject)
	}
	want := map[string]string{"sampled": "true", "hops": "3", "comexampleextension": `"value"`}
	if len(e.Extensions) != len(want) {
		t.Errorf("extensions = %s", e.Extensions)
	}
	for k, v := range want {
		if string(e.Extensions[k]) != v {
			t.Errorf("extension %s = %s, want %s", k, e.Extensions[k], v)
		}
	}
	// Re-encoded in binary mode, unknown extensions become ce_ headers as text.
	out, err := ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"ce_sampled": "true", "ce_hops": "3", "ce_comexampleextension": "value"} {
		if got, ok := out.Header(k); !ok || string(got) != v {
			t.Errorf("header %s = %q, %v; want %q", k, got, ok, v)
		}
	}
}

func TestJSONDataForms(t *testing.T) {
	tests := []struct {
		name     string
		ct       string
		data     []byte
		wantJSON string // fragment of the encoding
	}{
		{"json inline", "application/json", []byte(`{"a":1}`), `"data":{"a":1}`},
		{"text as string", "text/plain; charset=utf-8", []byte("héllo\n"), `"data":"héllo\n"`},
		{"binary as base64", "application/octet-stream", []byte{0, 1, 0xff}, `"data_base64":"AAH/"`},
		{"no content type, not json", "", []byte("plain"), `"data_base64":"cGxhaW4="`},
		{"no content type, json", "", []byte(`[1,2]`), `"data":[1,2]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Envelope{ID: "1", Source: "/s", SpecVersion: "1.0", Type: "x.y", DataContentType: tt.ct, Data: tt.data}
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), tt.wantJSON) {
				t.Errorf("%s does not contain %s", b, tt.wantJSON)
			}
			var got Envelope
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Data, tt.data) {
				t.Errorf("data = %q, want %q", got.Data, tt.data)
			}
		})
	}
	bad := &Envelope{ID: "1", Source: "/s", SpecVersion: "1.0", Type: "x.y", DataContentType: "application/json", Data: []byte("{")}
	if _, err := json.Marshal(bad); err == nil {
		t.Error("invalid JSON data with a JSON content type encoded")
	}
}

func TestUnmarshalJSONErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not object", `[1]`, "not a JSON object"},
		{"null", `null`, "event is null"},
		{"no specversion", `{"id":"1"}`, `specversion "" is not "1.0"`},
		{"old specversion", `{"specversion":"0.3"}`, `specversion "0.3" is not "1.0"`},
		{"non-string attribute", `{"specversion":"1.0","id":5}`, `attribute "id" is not a string`},
		{"bad time", `{"specversion":"1.0","time":"yesterday"}`, `time "yesterday" is not RFC 3339`},
		{"both data forms", `{"specversion":"1.0","data":1,"data_base64":"AA=="}`, "both data and data_base64"},
		{"bad base64", `{"specversion":"1.0","data_base64":"%%"}`, "data_base64"},
		{"bad extension name", `{"specversion":"1.0","Foo":"x"}`, `attribute name "Foo"`},
		{"nested extension", `{"specversion":"1.0","foo":{"a":1}}`, `attribute "foo": value must be a string, number or boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Envelope
			err := json.Unmarshal([]byte(tt.in), &e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Unmarshal = %v, want error containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
		})
	}
}

func TestFromMessageErrors(t *testing.T) {
	base := func(extra ...string) []bus.Header {
		hs := []bus.Header{
			{Key: "ce_specversion", Value: []byte("1.0")}, {Key: "ce_id", Value: []byte("1")},
			{Key: "ce_type", Value: []byte("note.added")}, {Key: "ce_source", Value: []byte("/x")},
		}
		for i := 0; i < len(extra); i += 2 {
			hs = append(hs, bus.Header{Key: extra[i], Value: []byte(extra[i+1])})
		}
		return hs
	}
	tests := []struct {
		name    string
		headers []bus.Header
		value   string
		want    string
	}{
		{"no headers", nil, `{}`, "no ce_specversion header"},
		{"old specversion", []bus.Header{{Key: "ce_specversion", Value: []byte("0.3")}}, "", `ce_specversion "0.3" is not "1.0"`},
		{"bad time", base("ce_time", "2025-13-01T00:00:00Z"), "", `ce_time "2025-13-01T00:00:00Z" is not RFC 3339`},
		{"repeated id", base("ce_id", "2"), "", `header "ce_id" repeats`},
		{"repeated time", base("ce_time", "2025-01-01T00:00:00Z", "ce_time", "2025-01-01T00:00:00Z"), "", `header "ce_time" repeats`},
		{"repeated extension", base("ce_x", "1", "ce_x", "2"), "", `header "ce_x" repeats`},
		{"repeated content-type", base("content-type", "application/json", "Content-Type", "application/json"), "", `header "Content-Type" repeats`},
		{"not utf8", base("ce_subject", "\xff\xfe"), "", `header "ce_subject" is not UTF-8`},
		{"bad attribute name", base("ce_Trace-Id", "1"), "", `attribute name "Trace-Id"`},
		{"empty attribute name", base("ce_", "1"), "", `attribute name ""`},
		{"data header", base("ce_data", "{}"), "", `header "ce_data"`},
		{"content types disagree", base("content-type", "application/json", "ce_datacontenttype", "text/xml"), "",
			`content-type "application/json" and ce_datacontenttype "text/xml" disagree`},
		{"structured avro", []bus.Header{{Key: "content-type", Value: []byte("application/cloudevents+avro")}}, "x",
			`event format "application/cloudevents+avro" is not supported`},
		{"structured batch", []bus.Header{{Key: "content-type", Value: []byte("application/cloudevents-batch+json")}}, "[]",
			`is not supported`},
		{"structured not json", []bus.Header{{Key: "content-type", Value: []byte("application/cloudevents+json")}}, "{",
			"not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := bus.Message{Headers: tt.headers, Value: []byte(tt.value)}
			e, err := FromMessage(&m)
			if err == nil {
				t.Fatalf("FromMessage = %+v, want error containing %q", e, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v does not wrap ErrMalformed", err)
			}
		})
	}
	if _, err := FromMessage(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("FromMessage(nil) = %v", err)
	}
	// ce_datacontenttype alone stands in for content-type.
	m := bus.Message{Headers: base("ce_datacontenttype", "application/json")}
	if e, err := FromMessage(&m); err != nil || e.DataContentType != "application/json" {
		t.Errorf("ce_datacontenttype alone: %v, %+v", err, e)
	}
}

func TestToMessageRefusesInvalid(t *testing.T) {
	e := newSample(t, NoteAdded)
	e.Tenant = "Not A Slug"
	if _, err := ToMessage(e); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `tenant "Not A Slug"`) {
		t.Errorf("ToMessage = %v, want invalid tenant", err)
	}
	if _, err := ToMessage(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("ToMessage(nil) = %v", err)
	}
}

// encodeHeaders turns headers into the fuzzer's line format "key=value\n".
func encodeHeaders(hs []bus.Header) []byte {
	var b []byte
	for _, h := range hs {
		b = append(b, h.Key...)
		b = append(b, '=')
		b = append(b, h.Value...)
		b = append(b, '\n')
	}
	return b
}

func decodeHeaders(b []byte) []bus.Header {
	var hs []bus.Header
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		k, v, _ := bytes.Cut(line, []byte("="))
		hs = append(hs, bus.Header{Key: string(k), Value: v})
	}
	return hs
}

// FuzzFromMessage feeds arbitrary messages to FromMessage. It must never
// panic, and an event it reads that passes Validate must survive both
// encodings unchanged.
func FuzzFromMessage(f *testing.F) {
	for _, typ := range []string{MessageReceived, CallEnded, AgentPresenceChanged, ContactsMerged} {
		e := newSample(f, typ)
		m, err := ToMessage(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Key, m.Value, encodeHeaders(m.Headers))
		js, _ := json.Marshal(e)
		f.Add([]byte(nil), js, []byte("content-type=application/cloudevents+json\n"))
	}
	f.Add([]byte("k"), []byte(`{"body":"v1"}`), []byte("ce_specversion=1.0\nce_type=message.received\nce_time=2025-01-01T00:00:00Z\nce_x=\xff\n"))
	f.Add([]byte(nil), []byte(`{"specversion":"1.0","data_base64":"AA==","x":1}`), []byte("Content-Type=application/CloudEvents+JSON; charset=utf-8\n"))

	f.Fuzz(func(t *testing.T, key, value, headers []byte) {
		m := bus.Message{Key: key, Value: value, Headers: decodeHeaders(headers)}
		e, err := FromMessage(&m)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		_, _ = e.Decode()
		_ = e.Key()
		if e.Validate() != nil {
			return
		}
		out, err := ToMessage(e)
		if err != nil {
			t.Fatalf("valid event %+v does not encode: %v", e, err)
		}
		back, err := FromMessage(&out)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		sameEnvelope(t, back, e)
		js, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("valid event does not encode as JSON: %v", err)
		}
		var fromJSON Envelope
		if err := json.Unmarshal(js, &fromJSON); err != nil {
			t.Fatalf("own JSON unreadable: %v\n%s", err, js)
		}
		sameEnvelope(t, &fromJSON, e)
	})
}

func benchEvent(b *testing.B) *Envelope {
	e := newSample(b, MessageReceived)
	e.Subject = "<abc@mail.example>"
	e.ContactID = "k-1"
	return e
}

// BenchmarkToMessage measures encoding on publish.
func BenchmarkToMessage(b *testing.B) {
	e := benchEvent(b)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		m, err := ToMessage(e)
		if err != nil {
			b.Fatal(err)
		}
		size = m.Size()
	}
	b.ReportMetric(float64(size), "msg-bytes")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkFromMessage measures decoding on receive (without Validate).
func BenchmarkFromMessage(b *testing.B) {
	m, err := ToMessage(benchEvent(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FromMessage(&m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(m.Size()), "msg-bytes")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkValidate measures what a consumer pays to check an event,
// payload included.
func BenchmarkValidate(b *testing.B) {
	e := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.Validate(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecodeMessageSent decodes the payload every reply carries, as
// the inbox and the chat channel do for each one.
func BenchmarkDecodeMessageSent(b *testing.B) {
	e, err := New(MessageSent, "acme", chatSent(), WithConversation("conv-1"), WithChannel(ChannelChat))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Decode(); err != nil {
			b.Fatal(err)
		}
	}
}
