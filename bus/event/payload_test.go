package event

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/bus"
)

// TestPayloadKeepsUnknownFields: a payload read with fields this version
// does not know, at the top and nested, re-encodes them unchanged, also
// when it is re-published in a new envelope.
func TestPayloadKeepsUnknownFields(t *testing.T) {
	in := `{"message_id":"m-1","from":{"address":"jane@example.com","verified":true},
		"to":[{"address":"support@acme.example","kind":"alias"}],"text":"hi",
		"attachments":[{"sha256":"` + testSHA + `","size":3,"content_type":"text/plain","scan":{"clean":true}}],
		"sentiment":-0.4,"tags":["a","b"],"thread":{"depth":2}}`
	e := newSample(t, MessageReceived)
	e.Data = json.RawMessage(in)
	p, err := e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	d := p.(*MessageReceivedData)
	for _, k := range []string{"sentiment", "tags", "thread"} {
		if _, ok := d.Extra[k]; !ok {
			t.Errorf("unknown field %s not kept: %v", k, d.Extra)
		}
	}
	if string(d.From.Extra["verified"]) != "true" || string(d.To[0].Extra["kind"]) != `"alias"` ||
		string(d.Attachments[0].Extra["scan"]) != `{"clean":true}` {
		t.Errorf("nested unknown fields not kept: %+v", d)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(out, []byte(in)) {
		t.Errorf("round trip changed the payload\n got %s\nwant %s", out, in)
	}
	again, err := New(MessageReceived, "acme", d, WithConversation("c"), WithChannel(ChannelEmail))
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(again.Data, []byte(in)) {
		t.Errorf("re-published payload lost fields: %s", again.Data)
	}
}

func TestPayloadKnownFieldsMatchCaseInsensitively(t *testing.T) {
	var d NoteAddedData
	if err := json.Unmarshal([]byte(`{"Note_ID":"n","AGENT_ID":"a","text":"t","Other":1}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.NoteID != "n" || d.AgentID != "a" {
		t.Errorf("decoded %+v", d)
	}
	if len(d.Extra) != 1 || string(d.Extra["Other"]) != "1" {
		t.Errorf("Extra = %v, want only Other", d.Extra)
	}
	out, _ := json.Marshal(d)
	if want := `{"note_id":"n","agent_id":"a","text":"t","Other":1}`; string(out) != want {
		t.Errorf("encoded %s, want %s", out, want)
	}
}

func TestPayloadExtraNeverOverridesKnown(t *testing.T) {
	d := NoteAddedData{NoteID: "n", AgentID: "a", Text: "t",
		Extra: map[string]json.RawMessage{"text": json.RawMessage(`"forged"`), "z": json.RawMessage(`1`)}}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"note_id":"n","agent_id":"a","text":"t","z":1}`; string(out) != want {
		t.Errorf("encoded %s, want %s", out, want)
	}
	d.Extra = map[string]json.RawMessage{"bad": json.RawMessage(`{`)}
	if _, err := json.Marshal(d); err == nil {
		t.Error("invalid kept JSON encoded")
	}
}

// storedV1 is a message.received event as an early chat gateway wrote it to
// the bus: version 1 payload (single "from"/"to" strings, "body"), no
// dataschema header.
var storedV1 = bus.Message{
	Key:   []byte("acme/c-2019-7"),
	Value: []byte(`{"message_id":"m-2019-7","from":"visitor-31","to":"site-acme","body":"Is my order shipped?","browser":"Firefox"}`),
	Headers: []bus.Header{
		{Key: "ce_specversion", Value: []byte("1.0")},
		{Key: "ce_id", Value: []byte("0169f7c6-old")},
		{Key: "ce_source", Value: []byte("/channels/chat")},
		{Key: "ce_type", Value: []byte("message.received")},
		{Key: "ce_time", Value: []byte("2019-03-14T15:09:26Z")},
		{Key: "ce_tenant", Value: []byte("acme")},
		{Key: "ce_conversationid", Value: []byte("c-2019-7")},
		{Key: "ce_channel", Value: []byte("chat")},
		{Key: "content-type", Value: []byte("application/json")},
	},
}

func TestReadStoredV1Event(t *testing.T) {
	e, err := FromMessage(&storedV1)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Validate(); err != nil {
		t.Fatalf("stored v1 event invalid: %v", err)
	}
	p, err := e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	want := &MessageReceivedData{
		MessageID: "m-2019-7",
		From:      Address{Address: "visitor-31"},
		To:        []Address{{Address: "site-acme"}},
		Text:      "Is my order shipped?",
		Extra:     map[string]json.RawMessage{"browser": json.RawMessage(`"Firefox"`)},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("upgraded = %#v\nwant %#v", p, want)
	}
	// The same data named explicitly as v1 reads the same.
	e.DataSchema = SchemaURI(MessageReceived, 1)
	if p1, err := e.Decode(); err != nil || !reflect.DeepEqual(p1, want) {
		t.Errorf("explicit v1: %v, %#v", err, p1)
	}
	// Re-published, it is written in the current version.
	again, err := New(MessageReceived, e.Tenant, p, WithConversation(e.ConversationID), WithChannel(e.Channel))
	if err != nil {
		t.Fatal(err)
	}
	if again.DataSchema != "urn:hotline:message.received:v2" {
		t.Errorf("dataschema = %s", again.DataSchema)
	}
	if !jsonEqual(again.Data, []byte(`{"message_id":"m-2019-7","from":{"address":"visitor-31"},"to":[{"address":"site-acme"}],"text":"Is my order shipped?","browser":"Firefox"}`)) {
		t.Errorf("re-published data = %s", again.Data)
	}
	// A v1 producer that already wrote a field v2 knows gets it promoted.
	e.Data = json.RawMessage(`{"message_id":"m","from":"a","to":"b","body":"hi","language":"de","Subject":"S","x":1}`)
	p, err = e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if d := p.(*MessageReceivedData); d.Language != "de" || d.Subject != "S" || len(d.Extra) != 1 || string(d.Extra["x"]) != "1" {
		t.Errorf("promoted = %+v", d)
	}
	e.Data = json.RawMessage(`{"message_id":"m","from":"a","to":"b","body":"hi","language":5}`)
	if _, err := e.Decode(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "v1 data: field language") {
		t.Errorf("Decode = %v, want a malformed v1 language", err)
	}
	// A v1 event whose data is not a valid message after upgrade is reported.
	e.Data = json.RawMessage(`{"message_id":"m","from":"x"}`)
	if err := e.Validate(); err == nil || !strings.Contains(err.Error(), "data.to is empty") {
		t.Errorf("Validate = %v, want data.to is empty", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(e *Envelope)
		is     error
		want   string
	}{
		{"unknown type", func(e *Envelope) { e.Type = "fax.received" }, ErrUnknownType, "fax.received"},
		{"newer version", func(e *Envelope) { e.DataSchema = SchemaURI(NoteAdded, 3) }, ErrUnknownVersion, "v3 (this build reads up to v1)"},
		{"schema of other type", func(e *Envelope) { e.DataSchema = SchemaURI(MessageSent, 1) }, ErrMalformed, `is for type "message.sent"`},
		{"schema garbage", func(e *Envelope) { e.DataSchema = "v1" }, ErrMalformed, "not urn:hotline"},
		{"not json", func(e *Envelope) { e.Data = json.RawMessage("nope") }, ErrMalformed, "invalid character"},
		{"no data", func(e *Envelope) { e.Data = nil }, ErrMalformed, "data is empty"},
		{"xml", func(e *Envelope) { e.DataContentType = "application/xml" }, ErrMalformed, "is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSample(t, NoteAdded)
			tt.mutate(e)
			_, err := e.Decode()
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode = %v, want %v containing %q", err, tt.is, tt.want)
			}
		})
	}
}

func TestPayloadValidate(t *testing.T) {
	blob := BlobRef{SHA256: testSHA, Size: 1, ContentType: "image/png"}
	tests := []struct {
		name    string
		payload Payload
		want    string // "" means valid
	}{
		{"message received empty", &MessageReceivedData{},
			"message.received: message_id is empty; from.address is empty; to is empty; text is empty and there are no attachments"},
		{"message received attachment only", &MessageReceivedData{MessageID: "m", From: Address{Address: "a"}, To: []Address{{Address: "b"}}, Attachments: []BlobRef{blob}}, ""},
		{"message received bad attachment", &MessageReceivedData{MessageID: "m", From: Address{Address: "a"}, To: []Address{{Address: "b"}},
			Attachments: []BlobRef{{SHA256: "ABC", Size: -1, ContentType: "not a type", Name: "../x"}}},
			`message.received: attachments[0].sha256 "ABC" is not 64 lowercase hex digits; attachments[0].size -1 is negative; attachments[0].content_type "not a type" is not a media type; attachments[0].name "../x" contains a path separator or NUL`},
		{"message received bad language and header injection", &MessageReceivedData{MessageID: "m", From: Address{Address: "a\r\nBcc: x"},
			To: []Address{{Address: "b"}}, Cc: []Address{{}}, Text: "t", Language: "french!"},
			`message.received: from.address "a\r\nBcc: x" contains a line break or NUL; cc[0].address is empty; language "french!" is not a BCP 47 language tag`},
		{"message sent", &MessageSentData{MessageID: "m", From: Address{Address: "a"}}, "message.sent: to is empty; text is empty and there are no attachments"},
		{"delivered status", &MessageDeliveredData{MessageID: "m", Status: "lost"}, `message.delivered: status "lost" is not one of delivered, failed`},
		{"delivered failure needs reason", &MessageDeliveredData{MessageID: "m", Status: DeliveryFailed}, "message.delivered: reason is empty for a failed delivery"},
		{"call started", &CallStartedData{CallID: "c", Direction: DirectionOutbound, From: "+33 6 12", To: "sip:1001@pbx.example"},
			`call.started: from "+33 6 12" is not a phone number, sip:/tel: URI or "anonymous"; agent_id is empty for an outbound call`},
		{"call started anonymous", &CallStartedData{CallID: "c", Direction: DirectionInbound, From: "anonymous", To: "1001"}, ""},
		{"menu selection", &CallMenuSelectedData{CallID: "c", Menu: "m", Selection: "1x"}, `call.menu_selected: selection "1x" is not DTMF digits (0-9, *, #, A-D)`},
		{"call queued", &CallQueuedData{CallID: "c", Position: -2}, "call.queued: queue is empty; position -2 is negative"},
		{"call answered", &CallAnsweredData{CallID: "c", WaitMs: -1}, "call.answered: agent_id is empty; wait_ms -1 is negative"},
		{"call transfer two targets", &CallTransferredData{CallID: "c", ToAgentID: "a", ToQueue: "q", Kind: TransferAttended},
			"call.transferred: to_* names 2 targets, exactly one of to_agent_id, to_queue, to_number is needed"},
		{"call transfer outside", &CallTransferredData{CallID: "c", ToNumber: "+4930123456", Kind: TransferBlind}, ""},
		{"call ended", &CallEndedData{CallID: "c", Reason: "bored", DurationMs: 10, WaitMs: 5, TalkMs: 6, HoldMs: 7},
			`call.ended: reason "bored" is not one of caller_hangup, agent_hangup, abandoned, no_answer, busy, transferred, voicemail, closed, callback, failed; duration_ms 10 is shorter than wait_ms + talk_ms (11); hold_ms 7 exceeds talk_ms 6`},
		{"call recorded", &CallRecordedData{CallID: "c", Kind: RecordingVoicemail, Recording: BlobRef{SHA256: testSHA}},
			"call.recorded: recording.content_type is empty"},
		{"conversation queued skills", &ConversationQueuedData{Queue: "q", Skills: []string{"a", "", "a"}},
			`conversation.queued: skills[1] is empty; skills[2] "a" repeats skills[0]`},
		{"conversation offered", &ConversationOfferedData{}, "conversation.offered: agent_id is empty; queue is empty"},
		{"conversation assigned", &ConversationAssignedData{}, "conversation.assigned: agent_id is empty"},
		{"conversation transferred nowhere", &ConversationTransferredData{FromAgentID: "a"}, "conversation.transferred: to_agent_id and to_queue are both empty"},
		{"conversation transferred to itself", &ConversationTransferredData{FromQueue: "q", ToQueue: "q"},
			`conversation.transferred: to_agent_id and to_queue equal the source (agent "", queue "q")`},
		{"conversation resolved", &ConversationResolvedData{}, "conversation.resolved: agent_id is empty"},
		{"conversation reopened by agent", &ConversationReopenedData{Reason: ReopenAgent}, "conversation.reopened: agent_id is empty for a reopen by an agent"},
		{"conversation reopened no reason", &ConversationReopenedData{}, "conversation.reopened: reason is empty"},
		{"conversation abandoned", &ConversationAbandonedData{Queue: "q", Reason: AbandonTimeout, WaitMs: -5}, "conversation.abandoned: wait_ms -5 is negative"},
		{"conversation tagged empty set", &ConversationTaggedData{By: "a"}, ""},
		{"conversation tagged no agent", &ConversationTaggedData{Tags: []string{"vip"}}, "conversation.tagged: by is empty"},
		{"conversation tagged bad tags", &ConversationTaggedData{By: "a", Tags: []string{"vip", "VIP", "", "-x", "a b", "vip", strings.Repeat("é", 41)}},
			`conversation.tagged: tags[1] "VIP" is not 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit; ` +
				`tags[2] "" is not 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit; ` +
				`tags[3] "-x" is not 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit; ` +
				`tags[4] "a b" is not 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit; ` +
				`tags[5] "vip" repeats tags[0]; ` +
				`tags[6] "` + strings.Repeat("é", 41) + `" is not 1 to 40 lowercase letters, digits, '-' or '_', starting with a letter or digit`},
		{"conversation tagged too many", &ConversationTaggedData{By: "a", Tags: manyTags(21)}, "conversation.tagged: tags has 21 tags, more than 20"},
		{"conversation tagged at the limit", &ConversationTaggedData{By: "a", Tags: manyTags(20)}, ""},
		{"note", &NoteAddedData{NoteID: "n", AgentID: "a"}, "note.added: text is empty and there are no attachments"},
		{"presence", &AgentPresenceChangedData{AgentID: "a", Presence: "wrapup", Previous: "busy"},
			`agent.presence_changed: presence "wrapup" is not one of available, away, wrap-up, offline; previous "busy" is not one of available, away, wrap-up, offline`},
		{"contact identified by agent", &ContactIdentifiedData{ContactID: "k", Method: IdentifiedAgent}, "contact.identified: agent_id is empty for an identification by an agent"},
		{"contacts merged into itself", &ContactsMergedData{IntoID: "k", MergedIDs: []string{"k"}}, `contacts.merged: merged_ids contains into_id "k"`},
		{"contacts merged none", &ContactsMergedData{IntoID: "k"}, "contacts.merged: merged_ids is empty"},
		{"contacts unmerged", &ContactsUnmergedData{RestoredIDs: []string{"k", "k"}}, `contacts.unmerged: contact_id is empty; restored_ids[1] "k" repeats restored_ids[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.payload.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Validate =\n  %v\nwant\n  %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
		})
	}
	for typ, s := range samples() {
		if err := s.payload.Validate(); err != nil {
			t.Errorf("sample %s: %v", typ, err)
		}
	}
}

// manyTags returns n distinct valid tags.
func manyTags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "t" + strings.Repeat("x", i)
	}
	return out
}

func TestTags(t *testing.T) {
	valid := map[string]bool{
		"vip": true, "2nd-level": true, "a_b": true, "réclamation": true, "доставка": true, "straße": true, "٣": true,
		strings.Repeat("ж", 40): true, strings.Repeat("ж", 41): false,
		"": false, "VIP": false, "Доставка": false, "-x": false, "_x": false, "a b": false, "a.b": false, "a/b": false,
		"日本": false, "\xff": false, "a\x00": false,
	}
	for in, want := range valid {
		if got := ValidTag(in); got != want {
			t.Errorf("ValidTag(%q) = %v, want %v", in, got, want)
		}
	}
	norm := map[string]string{" VIP ": "vip", "Доставка": "доставка", "STRASSE": "strasse", "x": "x"}
	for in, want := range norm {
		if got := NormalizeTag(in); got != want || !ValidTag(got) {
			t.Errorf("NormalizeTag(%q) = %q (valid %v), want %q", in, got, ValidTag(got), want)
		}
	}
}

func TestValidators(t *testing.T) {
	uris := map[string]bool{
		"/channels/email": true, "urn:hotline:x": true, "https://a.example/b?c=d#e": true, "x": true,
		"a%20b": true, "": false, "a b": false, "%zz": false, "1a:b": false, ":x": false, "/a:b": true, "é": false,
	}
	for in, want := range uris {
		if got := validURIRef(in); got != want {
			t.Errorf("validURIRef(%q) = %v", in, got)
		}
	}
	langs := map[string]bool{"fr": true, "en-GB": true, "de-CH-1901": true, "zh-Hant-TW": true, "f": false, "": false, "en_GB": false, "12": false, "en-": false}
	for in, want := range langs {
		if got := validLanguage(in); got != want {
			t.Errorf("validLanguage(%q) = %v", in, got)
		}
	}
	nums := map[string]bool{"+33612345678": true, "1001": true, "sip:alice@pbx.example": true, "TEL:+331": true,
		"anonymous": true, "": false, "+": false, "sip:": false, "06 12": false, "123456789012345678901": false}
	for in, want := range nums {
		if got := validNumber(in); got != want {
			t.Errorf("validNumber(%q) = %v", in, got)
		}
	}
}

func TestPayloadKeepsTrickyJSON(t *testing.T) {
	in := `{ "note_id" : "n", "agent_id":"a", "text":"t } \" {",
		"x\u0079z": {"a":"}]", "b":[1,{"c":"\\"}]}, "w":-1.5e3, "v":null, "u":false, "é":"\u00e9" }`
	var d NoteAddedData
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Text != `t } " {` {
		t.Errorf("text = %q", d.Text)
	}
	keys := make([]string, 0, len(d.Extra))
	for k := range d.Extra {
		keys = append(keys, k)
	}
	if want := []string{"u", "v", "w", "xyz", "é"}; !reflect.DeepEqual(sortedStrings(keys), want) {
		t.Errorf("Extra keys = %v, want %v", keys, want)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !jsonEqual(out, []byte(in)) {
		t.Errorf("round trip\n got %s\nwant %s", out, in)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// FuzzPayloadKeepsFields: whatever object a payload decodes, encoding it
// keeps every member it does not know, and a second round trip changes
// nothing.
func FuzzPayloadKeepsFields(f *testing.F) {
	f.Add(`{"message_id":"m","from":{"address":"a","x":1},"to":[],"extra":[1,"]"]}`)
	f.Add(`{"Message_Id":"m","\u0078":true,"raw":{"sha256":"` + testSHA + `","y":{}}}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, in string) {
		var d MessageReceivedData
		if json.Unmarshal([]byte(in), &d) != nil {
			return
		}
		out1, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		var members map[string]json.RawMessage
		_ = json.Unmarshal([]byte(in), &members)
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out1, &got); err != nil {
			t.Fatalf("own output unreadable: %v\n%s", err, out1)
		}
		known := fieldNames(reflect.TypeFor[MessageReceivedData]())
		for k, v := range members {
			if known[strings.ToLower(k)] || string(v) == "null" && len(got[k]) == 0 {
				continue
			}
			if !jsonEqual(got[k], v) {
				t.Errorf("member %q = %s after round trip, want %s", k, got[k], v)
			}
		}
		var d2 MessageReceivedData
		if err := json.Unmarshal(out1, &d2); err != nil {
			t.Fatal(err)
		}
		out2, err := json.Marshal(d2)
		if err != nil {
			t.Fatal(err)
		}
		if string(out1) != string(out2) {
			t.Errorf("second round trip changed\n%s\n%s", out1, out2)
		}
	})
}

// TestAddressMarshalMatchesReflection holds the hand-written Address
// encoder to what encoding/json writes for the same fields.
func TestAddressMarshalMatchesReflection(t *testing.T) {
	type plain struct {
		Address string `json:"address"`
		Name    string `json:"name,omitempty"`
	}
	for _, a := range []Address{
		{Address: "jane@example.com"},
		{Address: "+33612345678", Name: "Élodie « Martin »"},
		{Address: `a"b\c`, Name: "tab\there\nnew line\r\x00\x1f"},
		{Address: "visitor-1", Name: "<script>&amp;</script>"},
		{Address: "bad\xff\xfeutf8", Name: "line\u2028sep\u2029end"},
		{Address: "Дмитрий", Name: "Müller 日本"},
	} {
		got, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("marshal %q: %v", a.Address, err)
		}
		want, _ := json.Marshal(plain{a.Address, a.Name})
		if string(got) != string(want) {
			t.Errorf("Address %q %q: got %s, encoding/json writes %s", a.Address, a.Name, got, want)
		}
		var back Address
		var ref plain
		_ = json.Unmarshal(want, &ref)
		if err := json.Unmarshal(got, &back); err != nil || back.Name != ref.Name || back.Address != ref.Address {
			t.Errorf("round trip of %q %q: %+v, %v", a.Address, a.Name, back, err)
		}
	}
	kept := Address{Address: "a", Extra: map[string]json.RawMessage{"x_tag": json.RawMessage(`1`)}}
	if b, _ := json.Marshal(kept); string(b) != `{"address":"a","x_tag":1}` {
		t.Errorf("kept field: %s", b)
	}
}

// TestAddressReadMatchesReflection holds the hand-read Address to what the
// general path (encoding/json, keeping unknown members) gives.
func TestAddressReadMatchesReflection(t *testing.T) {
	for _, in := range []string{
		`{"address":"jane@example.com"}`,
		`{"address":"+33612345678","name":"Élodie Martin"}`,
		` { "name" : "Дмитрий" , "address" : "visitor-1" } `,
		`{}`,
		`{"address":"a","address":"b"}`,
		`{"address":"a\"b","name":"tab\tname"}`,
		`{"address":"a","name":"\u00e9"}`,
		"{\"address\":\"bad\xffutf8\"}",
		`{"Address":"upper","NAME":"case"}`,
		`{"address":"a","x_tag":{"k":[1,2]}}`,
		`{"address":"a","name":null}`,
		`{"address":1}`,
		`null`,
		`{"address":"a"} trailing`,
		`{"address":"a",}`,
		`{"address" "a"}`,
		`{"address":"a"`,
	} {
		var got Address
		gotErr := json.Unmarshal([]byte(in), &got)
		type plain Address
		var want Address
		wantErr := unmarshalKeeping([]byte(in), (*plain)(&want), &want.Extra)
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, the general path %v", in, gotErr, wantErr)
			continue
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, the general path %+v", in, got, want)
		}
	}
	// Decoding into a used value keeps what the input does not set, as
	// encoding/json does.
	a := Address{Address: "old", Name: "kept"}
	if err := json.Unmarshal([]byte(`{"address":"new"}`), &a); err != nil || a.Address != "new" || a.Name != "kept" {
		t.Errorf("decode into a used Address: %+v, %v", a, err)
	}
}
