package event

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The ref* types are the chat payloads as they were encoded before the
// hand-written encoders: the same fields, MarshalJSON through
// marshalKeeping (json.Marshal of the known fields, then the kept ones),
// and Address's earlier hand-written form. The tests hold the new
// encoders to their bytes.

type refAddress struct {
	Address string                     `json:"address"`
	Name    string                     `json:"name,omitempty"`
	Extra   map[string]json.RawMessage `json:"-"`
}

func (a refAddress) MarshalJSON() ([]byte, error) {
	if len(a.Extra) > 0 {
		type plain refAddress
		return marshalKeeping(plain(a), a.Extra)
	}
	b := make([]byte, 0, len(`{"address":"","name":""}`)+len(a.Address)+len(a.Name)+8)
	b = append(b, `{"address":`...)
	b = appendJSONString(b, a.Address)
	if a.Name != "" {
		b = append(b, `,"name":`...)
		b = appendJSONString(b, a.Name)
	}
	return append(b, '}'), nil
}

type refBlob struct {
	SHA256      string                     `json:"sha256"`
	Size        int64                      `json:"size"`
	ContentType string                     `json:"content_type"`
	Name        string                     `json:"name,omitempty"`
	Extra       map[string]json.RawMessage `json:"-"`
}

func (b refBlob) MarshalJSON() ([]byte, error) {
	type plain refBlob
	return marshalKeeping(plain(b), b.Extra)
}

type refReceived struct {
	MessageID       string                     `json:"message_id"`
	ExternalID      string                     `json:"external_id,omitempty"`
	ClientMessageID string                     `json:"client_message_id,omitempty"`
	From            refAddress                 `json:"from"`
	To              []refAddress               `json:"to"`
	Cc              []refAddress               `json:"cc,omitempty"`
	Subject         string                     `json:"subject,omitempty"`
	Text            string                     `json:"text,omitempty"`
	Attachments     []refBlob                  `json:"attachments,omitempty"`
	Raw             *refBlob                   `json:"raw,omitempty"`
	Language        string                     `json:"language,omitempty"`
	InReplyTo       string                     `json:"in_reply_to,omitempty"`
	Extra           map[string]json.RawMessage `json:"-"`
}

func (d refReceived) MarshalJSON() ([]byte, error) {
	type plain refReceived
	return marshalKeeping(plain(d), d.Extra)
}

type refSent struct {
	MessageID       string                     `json:"message_id"`
	ClientMessageID string                     `json:"client_message_id,omitempty"`
	AgentID         string                     `json:"agent_id,omitempty"`
	From            refAddress                 `json:"from"`
	To              []refAddress               `json:"to"`
	Cc              []refAddress               `json:"cc,omitempty"`
	Subject         string                     `json:"subject,omitempty"`
	Text            string                     `json:"text,omitempty"`
	Attachments     []refBlob                  `json:"attachments,omitempty"`
	Language        string                     `json:"language,omitempty"`
	InReplyTo       string                     `json:"in_reply_to,omitempty"`
	Extra           map[string]json.RawMessage `json:"-"`
}

func (d refSent) MarshalJSON() ([]byte, error) {
	type plain refSent
	return marshalKeeping(plain(d), d.Extra)
}

type refDelivered struct {
	MessageID  string                     `json:"message_id"`
	Status     string                     `json:"status"`
	ExternalID string                     `json:"external_id,omitempty"`
	Reason     string                     `json:"reason,omitempty"`
	Attempts   int                        `json:"attempts,omitempty"`
	Extra      map[string]json.RawMessage `json:"-"`
}

func (d refDelivered) MarshalJSON() ([]byte, error) {
	type plain refDelivered
	return marshalKeeping(plain(d), d.Extra)
}

func toRefAddress(a Address) refAddress { return refAddress(a) }

func toRefAddresses(list []Address) []refAddress {
	if list == nil {
		return nil
	}
	out := make([]refAddress, len(list))
	for i, a := range list {
		out[i] = toRefAddress(a)
	}
	return out
}

func toRefBlobs(list []BlobRef) []refBlob {
	if list == nil {
		return nil
	}
	out := make([]refBlob, len(list))
	for i, r := range list {
		out[i] = refBlob(r)
	}
	return out
}

func toRef(p Payload) any {
	switch d := p.(type) {
	case *MessageReceivedData:
		r := refReceived{MessageID: d.MessageID, ExternalID: d.ExternalID, ClientMessageID: d.ClientMessageID,
			From: toRefAddress(d.From), To: toRefAddresses(d.To), Cc: toRefAddresses(d.Cc), Subject: d.Subject,
			Text: d.Text, Attachments: toRefBlobs(d.Attachments), Language: d.Language, InReplyTo: d.InReplyTo,
			Extra: d.Extra}
		if d.Raw != nil {
			raw := refBlob(*d.Raw)
			r.Raw = &raw
		}
		return r
	case *MessageSentData:
		return refSent{MessageID: d.MessageID, ClientMessageID: d.ClientMessageID, AgentID: d.AgentID,
			From: toRefAddress(d.From), To: toRefAddresses(d.To), Cc: toRefAddresses(d.Cc), Subject: d.Subject,
			Text: d.Text, Attachments: toRefBlobs(d.Attachments), Language: d.Language, InReplyTo: d.InReplyTo,
			Extra: d.Extra}
	case *MessageDeliveredData:
		return refDelivered(*d)
	}
	panic("no reference type for " + reflect.TypeOf(p).String())
}

// checkSameBytes checks that p encodes exactly as before, through its own
// MarshalJSON, through json.Marshal and through New's marshalPayload, and
// fails the same way where it did.
func checkSameBytes(t *testing.T, p Payload) {
	t.Helper()
	ref := toRef(p)
	want, werr := ref.(json.Marshaler).MarshalJSON()
	got, gerr := p.(json.Marshaler).MarshalJSON()
	if (werr != nil) != (gerr != nil) || string(got) != string(want) {
		t.Fatalf("MarshalJSON of %#v\n got %s (err %v)\nwant %s (err %v)", p, got, gerr, want, werr)
	}
	want, werr = json.Marshal(ref)
	got, gerr = json.Marshal(p)
	if (werr != nil) != (gerr != nil) || string(got) != string(want) {
		t.Fatalf("json.Marshal of %#v\n got %s (err %v)\nwant %s (err %v)", p, got, gerr, want, werr)
	}
	got, gerr = marshalPayload(p)
	if (werr != nil) != (gerr != nil) || string(got) != string(want) {
		t.Fatalf("marshalPayload of %#v\n got %s (err %v)\nwant %s (err %v)", p, got, gerr, want, werr)
	}
}

func TestMarshalChatPayloads(t *testing.T) {
	script := "<script>alert('x&y')</script>"
	for _, tc := range []struct {
		name    string
		p       Payload
		want    string // json.Marshal and New
		method  string // MarshalJSON, if it differs
		wantErr bool
	}{
		{name: "delivered minimal", p: &MessageDeliveredData{MessageID: "m", Status: DeliveryDelivered},
			want: `{"message_id":"m","status":"delivered"}`},
		{name: "delivered full", p: &MessageDeliveredData{MessageID: "m", Status: DeliveryFailed, ExternalID: "q-1",
			Reason: "550 <no such user>", Attempts: -3},
			want: `{"message_id":"m","status":"failed","external_id":"q-1","reason":"550 \u003cno such user\u003e","attempts":-3}`},
		{name: "received nil to", p: &MessageReceivedData{MessageID: "m", From: Address{Address: "v"}},
			want: `{"message_id":"m","from":{"address":"v"},"to":null}`},
		{name: "received empty lists", p: &MessageReceivedData{MessageID: "m", To: []Address{}, Cc: []Address{},
			Attachments: []BlobRef{}}, want: `{"message_id":"m","from":{"address":""},"to":[]}`},
		{name: "escapes in text and addresses",
			p: &MessageReceivedData{MessageID: "m", From: Address{Address: "a\bb\fc", Name: script},
				To: []Address{{Address: "x\u2028y"}}, Text: "a\bb\fc\x00\x1f\x7f\"\\/\n\r\t" + script + "\u2029\xff\xc3(é😀"},
			want: `{"message_id":"m","from":{"address":"a\u0008b\u000cc","name":"\u003cscript\u003ealert('x\u0026y')\u003c/script\u003e"},` +
				`"to":[{"address":"x\u2028y"}],"text":"a\bb\fc\u0000\u001f` + "\x7f" + `\"\\/\n\r\t\u003cscript\u003ealert('x\u0026y')\u003c/script\u003e\u2029\ufffd\ufffd(é😀"}`},
		{name: "sent all fields", p: &MessageSentData{MessageID: "m", ClientMessageID: "c", AgentID: "a",
			From: Address{Address: "s", Name: "S"}, To: []Address{{Address: "t"}, {Address: "u", Name: "U"}},
			Cc: []Address{{Address: "c"}}, Subject: "re", Text: "hi",
			Attachments: []BlobRef{{SHA256: testSHA, Size: 3, ContentType: "text/plain", Name: "a.txt"}, {SHA256: "x", ContentType: "y"}},
			Language:    "fr", InReplyTo: "m-0"},
			want: `{"message_id":"m","client_message_id":"c","agent_id":"a","from":{"address":"s","name":"S"},` +
				`"to":[{"address":"t"},{"address":"u","name":"U"}],"cc":[{"address":"c"}],"subject":"re","text":"hi",` +
				`"attachments":[{"sha256":"` + testSHA + `","size":3,"content_type":"text/plain","name":"a.txt"},{"sha256":"x","size":0,"content_type":"y"}],` +
				`"language":"fr","in_reply_to":"m-0"}`},
		{name: "kept fields sorted, known ones win, compacted by json.Marshal",
			p: &MessageSentData{MessageID: "m", Text: "t", Extra: map[string]json.RawMessage{
				"text": json.RawMessage(`"forged"`), "TEXT": json.RawMessage(`"forged"`), "z": json.RawMessage(` { "k" : [1, "<&>"] } `),
				"Z": json.RawMessage(`true`), "a\b<": json.RawMessage(`"` + "\u2028" + `"`), "raw": json.RawMessage(`null`)}},
			want:   `{"message_id":"m","from":{"address":""},"to":null,"text":"t","Z":true,"a\u0008\u003c":"\u2028","raw":null,"z":{"k":[1,"\u003c\u0026\u003e"]}}`,
			method: `{"message_id":"m","from":{"address":""},"to":null,"text":"t","Z":true,"a\u0008<":"` + "\u2028" + `","raw":null,"z": { "k" : [1, "<&>"] } }`},
		{name: "kept fields of nested values",
			p: &MessageReceivedData{MessageID: "m", From: Address{Address: "a\b", Name: "<n>", Extra: map[string]json.RawMessage{
				"name": json.RawMessage(`"x"`), "v": json.RawMessage(` [ "<" ] `)}},
				Raw: &BlobRef{SHA256: "s", Size: 1 << 40, ContentType: "message/rfc822", Extra: map[string]json.RawMessage{"Size": json.RawMessage(`1`), "q": json.RawMessage(`{}`)}}},
			want: `{"message_id":"m","from":{"address":"a\b","name":"\u003cn\u003e","v":["\u003c"]},"to":null,` +
				`"raw":{"sha256":"s","size":1099511627776,"content_type":"message/rfc822","q":{}}}`},
		{name: "invalid kept field", p: &MessageDeliveredData{MessageID: "m", Extra: map[string]json.RawMessage{"x": json.RawMessage(`{`)}},
			wantErr: true},
		{name: "invalid nested kept field", p: &MessageSentData{MessageID: "m", To: []Address{{Extra: map[string]json.RawMessage{"x": nil}}}},
			wantErr: true},
		{name: "invalid kept field shadowed by a known one", p: &MessageDeliveredData{MessageID: "m",
			Extra: map[string]json.RawMessage{"Reason": json.RawMessage(`{`)}}, want: `{"message_id":"m","status":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkSameBytes(t, tc.p)
			got, err := json.Marshal(tc.p)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("encoded %s, want an error", got)
				}
				if _, err := marshalPayload(tc.p); err == nil {
					t.Fatal("marshalPayload encoded it")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("json.Marshal\n got %s\nwant %s", got, tc.want)
			}
			method := tc.want
			if tc.method != "" {
				method = tc.method
			}
			if got, _ := tc.p.(json.Marshaler).MarshalJSON(); string(got) != method {
				t.Errorf("MarshalJSON\n got %s\nwant %s", got, method)
			}
		})
	}
}

// TestMarshalChatPayloadsRandom encodes many varied payloads and compares
// with the earlier encoding byte for byte, then decodes what was written.
func TestMarshalChatPayloadsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(20261123, 1))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		g := &payloadGen{rng: rng}
		var p Payload
		switch rng.IntN(3) {
		case 0:
			d := &MessageReceivedData{MessageID: g.str(), ExternalID: g.str(), ClientMessageID: g.str(), From: g.address(),
				To: g.addresses(), Cc: g.addresses(), Subject: g.str(), Text: g.str(), Attachments: g.blobs(),
				Language: g.str(), InReplyTo: g.str(), Extra: g.extra()}
			if rng.IntN(3) == 0 {
				r := g.blob()
				d.Raw = &r
			}
			p = d
		case 1:
			p = &MessageSentData{MessageID: g.str(), ClientMessageID: g.str(), AgentID: g.str(), From: g.address(),
				To: g.addresses(), Cc: g.addresses(), Subject: g.str(), Text: g.str(), Attachments: g.blobs(),
				Language: g.str(), InReplyTo: g.str(), Extra: g.extra()}
		default:
			p = &MessageDeliveredData{MessageID: g.str(), Status: g.str(), ExternalID: g.str(), Reason: g.str(),
				Attempts: rng.IntN(5) - 1, Extra: g.extra()}
		}
		checkSameBytes(t, p)
		if g.invalid {
			continue
		}
		// Decoding what was written gives the value back.
		data, err := marshalPayload(p)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		back := reflect.New(reflect.TypeOf(p).Elem()).Interface().(Payload)
		if err := json.Unmarshal(data, back); err != nil {
			t.Fatalf("case %d: decode %s: %v", i, data, err)
		}
		if want := normalised(p); !reflect.DeepEqual(normalised(back), want) {
			t.Fatalf("case %d: round trip of %s\n got %#v\nwant %#v", i, data, normalised(back), want)
		}
	}
}

// FuzzMarshalMessageSent holds the encoder to the earlier bytes for any
// text and names.
func FuzzMarshalMessageSent(f *testing.F) {
	f.Add("hi", "Jane", "k")
	f.Add("<script>\u2028\b\f\x00\xff", "a\x7f&", "<K>")
	f.Fuzz(func(t *testing.T, text, name, key string) {
		checkSameBytes(t, &MessageSentData{MessageID: "m", From: Address{Address: name, Name: text},
			To:   []Address{{Address: text, Name: name, Extra: map[string]json.RawMessage{key: json.RawMessage(`1`)}}},
			Text: text, Extra: map[string]json.RawMessage{key: json.RawMessage(`"v"`), name: json.RawMessage(`[]`)}})
	})
}

// payloadGen makes random payload contents. invalid records that it made
// something that does not decode back to itself (invalid UTF-8, kept JSON
// that is not JSON, a kept name encoding/json folds onto a known one).
type payloadGen struct {
	rng     *rand.Rand
	invalid bool
}

var genPieces = []string{"", "a", "hello world", "<script>alert(1)</script>", "&amp;", ">", "\u2028", "\u2029",
	"\x00", "\b", "\f", "\n", "\r", "\t", "\x1f", "\x7f", "é", "日本語", "😀", "\"", "\\", "/", " ", "\ufffd",
	"\xff", "\xc3", "\xed\xa0\x80", "m-1", "jane@example.com"}

func (g *payloadGen) str() string {
	if g.rng.IntN(3) == 0 {
		return ""
	}
	var b strings.Builder
	for range g.rng.IntN(4) + 1 {
		b.WriteString(genPieces[g.rng.IntN(len(genPieces))])
	}
	s := b.String()
	if !utf8.ValidString(s) {
		g.invalid = true
	}
	return s
}

var genKeys = []string{"z", "a", "Z", "sentiment", "text", "TEXT", "Message_ID", "from", "name", "address", "size",
	"raw", "agent_id", "status", "é", "<k>", "k\"q", "k\\", "\b", "\u2028", "", "ſubject", "\xff"}

var genValues = []string{`1`, `-0.4e3`, `true`, `null`, `"s"`, `"<b>&</b>"`, "\"\u2028\"", ` { "a" : [ 1, 2, {"b":"c"} ] } `,
	` [ ] `, `"\ud83d\ude00"`, `{}`, `"é"`, `"\u003c"`}

func (g *payloadGen) extra() map[string]json.RawMessage {
	if g.rng.IntN(2) == 0 {
		return nil
	}
	m := make(map[string]json.RawMessage)
	for range g.rng.IntN(4) {
		k := genKeys[g.rng.IntN(len(genKeys))]
		if k == "ſubject" || !utf8.ValidString(k) {
			g.invalid = true
		}
		v := genValues[g.rng.IntN(len(genValues))]
		if g.rng.IntN(40) == 0 {
			v = `{"a":`
			g.invalid = true
		}
		m[k] = json.RawMessage(v)
	}
	return m
}

func (g *payloadGen) address() Address {
	return Address{Address: g.str(), Name: g.str(), Extra: g.extra()}
}

func (g *payloadGen) addresses() []Address {
	switch g.rng.IntN(4) {
	case 0:
		return nil
	case 1:
		return []Address{}
	}
	list := make([]Address, g.rng.IntN(3)+1)
	for i := range list {
		list[i] = g.address()
	}
	return list
}

func (g *payloadGen) blob() BlobRef {
	return BlobRef{SHA256: g.str(), Size: g.rng.Int64N(1<<50) - 5, ContentType: g.str(), Name: g.str(), Extra: g.extra()}
}

func (g *payloadGen) blobs() []BlobRef {
	switch g.rng.IntN(3) {
	case 0:
		return nil
	case 1:
		return []BlobRef{}
	}
	list := make([]BlobRef, g.rng.IntN(2)+1)
	for i := range list {
		list[i] = g.blob()
	}
	return list
}

// normalised is p as it reads back after encoding: empty omitempty lists
// nil, kept fields a known field shadows gone, and kept values decoded, as
// encoding compacts them.
func normalised(p Payload) any {
	type addr struct {
		Address, Name string
		Extra         map[string]any
	}
	type blob struct {
		SHA256, ContentType, Name string
		Size                      int64
		Extra                     map[string]any
	}
	kept := func(v any, extra map[string]json.RawMessage) map[string]any {
		known := fieldNames(reflect.TypeOf(v))
		var out map[string]any
		for k, raw := range extra {
			if known[strings.ToLower(k)] {
				continue
			}
			var x any
			if err := json.Unmarshal(raw, &x); err != nil {
				panic(err)
			}
			if out == nil {
				out = make(map[string]any)
			}
			out[k] = x
		}
		return out
	}
	addrs := func(list []Address, omitEmpty bool) []addr {
		if list == nil || omitEmpty && len(list) == 0 {
			return nil
		}
		out := make([]addr, len(list))
		for i, a := range list {
			out[i] = addr{a.Address, a.Name, kept(a, a.Extra)}
		}
		return out
	}
	blobs := func(list []BlobRef) []blob {
		var out []blob
		for _, r := range list {
			out = append(out, blob{r.SHA256, r.ContentType, r.Name, r.Size, kept(r, r.Extra)})
		}
		return out
	}
	switch d := p.(type) {
	case *MessageReceivedData:
		var raw []blob
		if d.Raw != nil {
			raw = blobs([]BlobRef{*d.Raw})
		}
		return []any{d.MessageID, d.ExternalID, d.ClientMessageID, addr{d.From.Address, d.From.Name, kept(d.From, d.From.Extra)},
			addrs(d.To, false), addrs(d.Cc, true), d.Subject, d.Text, blobs(d.Attachments), raw, d.Language, d.InReplyTo,
			kept(*d, d.Extra)}
	case *MessageSentData:
		return []any{d.MessageID, d.ClientMessageID, d.AgentID, addr{d.From.Address, d.From.Name, kept(d.From, d.From.Extra)},
			addrs(d.To, false), addrs(d.Cc, true), d.Subject, d.Text, blobs(d.Attachments), d.Language, d.InReplyTo,
			kept(*d, d.Extra)}
	case *MessageDeliveredData:
		return []any{d.MessageID, d.Status, d.ExternalID, d.Reason, d.Attempts, kept(*d, d.Extra)}
	}
	panic("unexpected payload")
}

// TestNewEncodesPayloadAsBefore: the data of an event New builds is what
// json.Marshal wrote for the payload.
func TestNewEncodesPayloadAsBefore(t *testing.T) {
	for _, p := range []Payload{chatReceived(), chatSent(), chatDelivered(),
		&MessageSentData{MessageID: "m", From: Address{Address: "a<b>"}, To: []Address{{Address: "t", Name: "\u2028"}},
			Text: "<&>", Extra: map[string]json.RawMessage{"k": json.RawMessage(` {"x": "<"} `)}}} {
		e, err := New(p.EventType(), "acme", p, WithConversation("c"), WithChannel(ChannelChat))
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(toRef(p))
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Data) != string(want) {
			t.Errorf("data\n got %s\nwant %s", e.Data, want)
		}
		if v, _ := CurrentVersion(e.Type); e.DataSchema != SchemaURI(e.Type, v) || v < 1 {
			t.Errorf("dataschema %q for %s v%d", e.DataSchema, e.Type, v)
		}
	}
}

// TestValidateListElements: problems of list elements are named by index.
func TestValidateListElements(t *testing.T) {
	d := &MessageSentData{MessageID: "m", From: Address{Address: "s"}, Text: "t",
		To:          []Address{{Address: "ok"}, {Address: "a\nb"}},
		Cc:          []Address{{}},
		Attachments: []BlobRef{{SHA256: testSHA, ContentType: "text/plain"}, {SHA256: "x", Size: -1, ContentType: "text/plain", Name: "a/b"}},
		Language:    "en-",
	}
	err := d.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	want := []string{"to[1].address", "cc[0].address", "attachments[1].sha256", "attachments[1].size",
		"attachments[1].name", "language"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("problem fields %q, want %q", fields, want)
	}
	for _, lang := range []string{"fr", "en-GB", "de-CH-1901", "zh-Hant-TW"} {
		if !validLanguage(lang) {
			t.Errorf("%q rejected", lang)
		}
	}
	for _, lang := range []string{"", "e", "-en", "en--GB", "en-GB-", "1a", "en-toolongsub", "toolonglang"} {
		if validLanguage(lang) {
			t.Errorf("%q accepted", lang)
		}
	}
}
