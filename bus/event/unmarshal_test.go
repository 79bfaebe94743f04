package event

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// The ref* types of marshal_test.go decode as the chat payloads decoded
// before the hand-written decoders: unmarshalKeeping all the way down,
// Address and BlobRef included, so the reference does not go through any
// of the new code but eachMember's walk for unknown members.

func (a *refAddress) UnmarshalJSON(data []byte) error {
	type plain refAddress
	return unmarshalKeeping(data, (*plain)(a), &a.Extra)
}

func (b *refBlob) UnmarshalJSON(data []byte) error {
	type plain refBlob
	return unmarshalKeeping(data, (*plain)(b), &b.Extra)
}

func (d *refReceived) UnmarshalJSON(data []byte) error {
	type plain refReceived
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

func (d *refSent) UnmarshalJSON(data []byte) error {
	type plain refSent
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

func (d *refDelivered) UnmarshalJSON(data []byte) error {
	type plain refDelivered
	return unmarshalKeeping(data, (*plain)(d), &d.Extra)
}

func fromRefAddresses(list []refAddress) []Address {
	if list == nil {
		return nil
	}
	out := make([]Address, len(list))
	for i, a := range list {
		out[i] = Address(a)
	}
	return out
}

func fromRefBlobs(list []refBlob) []BlobRef {
	if list == nil {
		return nil
	}
	out := make([]BlobRef, len(list))
	for i, r := range list {
		out[i] = BlobRef(r)
	}
	return out
}

// fromRef is the inverse of toRef, from a pointer to a ref value.
func fromRef(ref any) Payload {
	switch r := ref.(type) {
	case *refReceived:
		d := &MessageReceivedData{MessageID: r.MessageID, ExternalID: r.ExternalID, ClientMessageID: r.ClientMessageID,
			From: Address(r.From), To: fromRefAddresses(r.To), Cc: fromRefAddresses(r.Cc), Subject: r.Subject,
			Text: r.Text, Attachments: fromRefBlobs(r.Attachments), Language: r.Language, InReplyTo: r.InReplyTo,
			Extra: r.Extra}
		if r.Raw != nil {
			raw := BlobRef(*r.Raw)
			d.Raw = &raw
		}
		return d
	case *refSent:
		return &MessageSentData{MessageID: r.MessageID, ClientMessageID: r.ClientMessageID, AgentID: r.AgentID,
			From: Address(r.From), To: fromRefAddresses(r.To), Cc: fromRefAddresses(r.Cc), Subject: r.Subject,
			Text: r.Text, Attachments: fromRefBlobs(r.Attachments), Language: r.Language, InReplyTo: r.InReplyTo,
			Extra: r.Extra}
	case *refDelivered:
		d := MessageDeliveredData(*r)
		return &d
	}
	panic("no payload type for " + reflect.TypeOf(ref).String())
}

// refPointer is a pointer to toRef(p).
func refPointer(p Payload) any {
	v := reflect.New(reflect.TypeOf(toRef(p)))
	v.Elem().Set(reflect.ValueOf(toRef(p)))
	return v.Interface()
}

// clonePayload copies p deeply enough for decoding into the copy to leave
// p as it was (Extra maps are replaced by decoding, never changed).
func clonePayload(p Payload) Payload { return fromRef(refPointer(p)) }

// keeping decodes data into p with unmarshalKeeping, the fallback path.
func keeping(p Payload, data []byte) error {
	switch d := p.(type) {
	case *MessageReceivedData:
		type plain MessageReceivedData
		return unmarshalKeeping(data, (*plain)(d), &d.Extra)
	case *MessageSentData:
		type plain MessageSentData
		return unmarshalKeeping(data, (*plain)(d), &d.Extra)
	case *MessageDeliveredData:
		type plain MessageDeliveredData
		return unmarshalKeeping(data, (*plain)(d), &d.Extra)
	}
	panic("unexpected payload")
}

// fastReader is a payload with a hand-written decoder.
type fastReader interface {
	Payload
	json.Unmarshaler
	readFast(data []byte) bool
}

// checkDecode decodes data into a copy of start in every way and compares:
// UnmarshalJSON against the reference (the ref types) and against
// unmarshalKeeping on the payload type itself, json.Unmarshal of the
// payload against json.Unmarshal of the reference. It reports whether the
// fast path took data.
func checkDecode(t testing.TB, data []byte, start Payload) (fast bool) {
	t.Helper()
	got := clonePayload(start)
	gotErr := got.(json.Unmarshaler).UnmarshalJSON(data)

	ref := refPointer(start)
	refErr := ref.(json.Unmarshaler).UnmarshalJSON(data)
	want := fromRef(ref)
	if (gotErr == nil) != (refErr == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("UnmarshalJSON(%q) into %#v:\n got %#v, %v\nwant %#v, %v", data, start, got, gotErr, want, refErr)
	}
	direct := clonePayload(start)
	directErr := keeping(direct, data)
	if errText(gotErr) != errText(directErr) || !reflect.DeepEqual(got, direct) {
		t.Fatalf("UnmarshalJSON(%q) into %#v:\n got %#v, %v\nunmarshalKeeping gives %#v, %v", data, start, got, gotErr,
			direct, directErr)
	}

	viaJSON := clonePayload(start)
	jsonErr := json.Unmarshal(data, viaJSON)
	refJSON := refPointer(start)
	refJSONErr := json.Unmarshal(data, refJSON)
	if (jsonErr == nil) != (refJSONErr == nil) || !reflect.DeepEqual(viaJSON, fromRef(refJSON)) {
		t.Fatalf("json.Unmarshal(%q) into %#v:\n got %#v, %v\nwant %#v, %v", data, start, viaJSON, jsonErr,
			fromRef(refJSON), refJSONErr)
	}

	probe := clonePayload(start).(fastReader)
	fast = probe.readFast(data)
	if !fast && !reflect.DeepEqual(probe, start) {
		t.Fatalf("readFast(%q) declined but changed %#v to %#v", data, start, probe)
	}
	if fast && gotErr != nil {
		t.Fatalf("readFast(%q) took input UnmarshalJSON fails on: %v", data, gotErr)
	}
	return fast
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// decodeStarts are the values decoded into: new ones, as Envelope.Decode
// uses, and used ones, which encoding/json partly overwrites.
func decodeStarts() []Payload {
	blob := BlobRef{SHA256: "old", Size: 7, ContentType: "text/old", Extra: map[string]json.RawMessage{"k": json.RawMessage(`1`)}}
	return []Payload{
		&MessageReceivedData{}, &MessageSentData{}, &MessageDeliveredData{},
		&MessageReceivedData{MessageID: "old", From: Address{Address: "old", Name: "Old", Extra: map[string]json.RawMessage{"x": json.RawMessage(`2`)}},
			Text: "old", Language: "fr", Extra: map[string]json.RawMessage{"y": json.RawMessage(`3`)}},
		&MessageReceivedData{To: []Address{{Address: "old-to", Name: "kept"}}, Cc: []Address{}, Attachments: []BlobRef{blob}, Raw: &blob},
		&MessageSentData{AgentID: "old", From: Address{Name: "Old"}, Subject: "old"},
		&MessageDeliveredData{Status: "old", Attempts: 9, Reason: "old"},
	}
}

// decodeInputs are the tricky inputs of TestDecodeMatchesReference, also
// the fuzz targets' seeds.
func decodeInputs(t testing.TB) []string {
	var canon []string
	for _, p := range []Payload{chatReceived(), chatSent(), chatDelivered(), fullReceived()} {
		b, err := marshalPayload(p)
		if err != nil {
			t.Fatal(err)
		}
		canon = append(canon, string(b))
	}
	return append(canon,
		`{}`, ` {} `, "\t{\n}\r\n", `null`, `[]`, `"x"`, `1`, ``, ` `, "\ufeff{}", `{`, `}`, `{}x`, `{}{}`, `{},`,
		// Escapes, surrogates, invalid UTF-8.
		`{"message_id":"a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\u65E5\ud83d\ude00","text":"\u0000\u001f\u2028"}`,
		`{"message_id":"\ud83d","text":"\ude00","subject":"\ud83d\u0041","language":"\ud83d\ud83d\ude00","in_reply_to":"\ude00\ud83d"}`,
		`{"message_id":"\ud83d\\ude00","text":"\uDBFF\uDFFF\uD800\uDC00"}`,
		"{\"message_id\":\"\xff\xfe\",\"text\":\"a\xc3\",\"subject\":\"\xed\xa0\x80\",\"from\":{\"address\":\"\xf4\x90\x80\x80\"}}",
		"{\"text\":\"\x7f\u2029\"}", `{"text":"\'"}`, `{"text":"\x41"}`, `{"text":"\u12"}`, "{\"text\":\"a\nb\"}",
		"{\"text\":\"\x00\"}",
		// Names encoding/json matches case-insensitively, escaped names,
		// unknown members, "Extra".
		`{"Message_ID":"m","TEXT":"t"}`, `{"ſubject":"s","K":1}`, `{"message\u005fid":"m","te\u0078t":"t"}`,
		`{"message_id":"m","sentiment":{"score":0.5},"tags":["a"]}`, `{"Extra":{"a":1}}`, `{"from":{"address":"a","verified":true}}`,
		`{"from":{"Address":"a","NAME":"n"}}`, `{"to":[{"address":"a"},{"address":"b","kind":"alias"}]}`,
		`{"attachments":[{"sha256":"x","size":1,"content_type":"t","scan":{}}]}`, "{\"\xff\":1}", `{"":1}`,
		// Duplicates.
		`{"text":"a","text":"b"}`, `{"from":{"address":"a","name":"n"},"from":{"address":"b"}}`,
		`{"to":[{"address":"a"}],"to":[{"address":"b"},{"address":"c"}]}`, `{"from":{"address":"a","address":"b"}}`,
		`{"raw":{"sha256":"a","size":1,"content_type":"t","name":"n"},"raw":{"sha256":"b"}}`,
		`{"attempts":1,"attempts":2}`, `{"attachments":[{"size":1,"size":2}]}`,
		// null.
		`{"text":null}`, `{"from":null}`, `{"to":null}`, `{"cc":null}`, `{"raw":null}`, `{"attachments":[null]}`,
		`{"to":[null]}`, `{"from":{"name":null}}`, `{"attempts":null}`, `{"status":null}`,
		// Empty lists and objects.
		`{"to":[]}`, `{"cc":[],"attachments":[]}`, `{"to":[{}]}`, `{"from":{}}`, `{"raw":{}}`, `{"attachments":[{}]}`,
		// Whitespace everywhere.
		" {\n\t\"message_id\" \r: \"m\" ,\"to\" : [ { \"address\" : \"a\" , \"name\" : \"n\" } , {\"address\":\"b\"} ] ,\n\"raw\" : { \"size\" : 12 } } \n",
		// Wrong types and numbers.
		`{"text":1}`, `{"to":{}}`, `{"from":[]}`, `{"from":"a"}`, `{"to":["a"]}`, `{"attempts":"1"}`, `{"attempts":1.5}`,
		`{"attempts":1e2}`, `{"attempts":1.0}`, `{"attempts":-0}`, `{"attempts":-3}`, `{"attempts":01}`,
		`{"attempts":9223372036854775807}`, `{"attempts":9223372036854775808}`, `{"attempts":-9223372036854775808}`,
		`{"attempts":true}`, `{"raw":{"size":-1}}`, `{"raw":{"size":1.0}}`, `{"raw":{"size":"1"}}`, `{"raw":[]}`,
		`{"status":"delivered","attempts":2,"reason":"r","external_id":"e","message_id":"m"}`,
		// Invalid JSON inside.
		`{"text":"a",}`, `{"text":"a" "subject":"b"}`, `{"text":"a"]`, `{"to":[{"address":"a"}}`, `{"to":[{"address":"a"},]}`,
		`{"to":[{"address":"a"} {"address":"b"}]}`, `{"message_id":"m","sentiment":tru}`, `{"x":[1,2}`, `{text:"a"}`,
		`{"text":'a'}`, `{"from":{"address":"a"}x}`,
		// Deep nesting in an unknown member.
		`{"x":`+strings.Repeat("[", 200)+strings.Repeat("]", 200)+`,"text":"t"}`,
	)
}

// fullReceived has every field of message.received set.
func fullReceived() *MessageReceivedData {
	d := chatReceived()
	d.ExternalID = "<ext@example.com>"
	d.Cc = []Address{{Address: "cc@example.com", Name: "Cc \"Quoted\" <x>"}, {Address: "cc2"}}
	d.Subject = "Re: commande n°1234 — délai"
	d.Text = "Bonjour,\n\tvoici «la pièce» jointe 😀 \u2028 fin\\"
	d.Attachments = []BlobRef{{SHA256: strings.Repeat("ab", 32), Size: 1 << 40, ContentType: "application/pdf", Name: "facture.pdf"},
		{SHA256: strings.Repeat("0f", 32), Size: 0, ContentType: "image/png"}}
	d.Raw = &BlobRef{SHA256: strings.Repeat("12", 32), Size: 4096, ContentType: "message/rfc822"}
	d.InReplyTo = "<prev@example.com>"
	return d
}

func TestDecodeMatchesReference(t *testing.T) {
	inputs := decodeInputs(t)
	// Every prefix of the canonical encodings: truncated input.
	for _, in := range inputs[:4] {
		for i := range len(in) {
			inputs = append(inputs, in[:i])
		}
	}
	for _, in := range inputs {
		for _, start := range decodeStarts() {
			checkDecode(t, []byte(in), start)
		}
	}
}

// TestDecodeFastPath: the shapes Hotline writes are read by hand, into the
// very values that were encoded, with fewer allocations than the fallback.
func TestDecodeFastPath(t *testing.T) {
	full := fullReceived()
	full.To = []Address{}
	sent := chatSent()
	sent.Cc, sent.Subject, sent.Language = []Address{{Address: "b", Name: "\x01"}}, "s\u00e9", "en"
	sent.Attachments = []BlobRef{{SHA256: "s", Size: -1, ContentType: "c", Name: "n"}}
	failed := &MessageDeliveredData{MessageID: "m", Status: DeliveryFailed, ExternalID: "e", Reason: "550 <no> \"user\"", Attempts: 3}
	for _, p := range []Payload{chatReceived(), chatSent(), chatDelivered(), full, sent, failed} {
		data, err := marshalPayload(p)
		if err != nil {
			t.Fatal(err)
		}
		if !checkDecode(t, data, reflect.New(reflect.TypeOf(p).Elem()).Interface().(Payload)) {
			t.Errorf("%s: the hand-written decoder declined it", data)
		}
		got := reflect.New(reflect.TypeOf(p).Elem()).Interface().(fastReader)
		if err := got.UnmarshalJSON(data); err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("%s: decoded to %#v, %v; want %#v", data, got, err, p)
		}
		allocs := testing.AllocsPerRun(50, func() {
			if err := reflect.New(reflect.TypeOf(p).Elem()).Interface().(json.Unmarshaler).UnmarshalJSON(data); err != nil {
				t.Fatal(err)
			}
		})
		fallback := testing.AllocsPerRun(50, func() {
			if err := keeping(reflect.New(reflect.TypeOf(p).Elem()).Interface().(Payload), data); err != nil {
				t.Fatal(err)
			}
		})
		if allocs >= fallback {
			t.Errorf("%s: UnmarshalJSON makes %.0f allocations, the fallback %.0f: is the fast path taken?", data, allocs, fallback)
		}
	}
	// Through Envelope.Decode too.
	e, err := New(MessageReceived, "acme", chatReceived(), WithConversation("c"), WithChannel(ChannelChat))
	if err != nil {
		t.Fatal(err)
	}
	if !new(MessageReceivedData).readFast(e.Data) {
		t.Errorf("the data New writes is not read by hand: %s", e.Data)
	}
	p, err := e.Decode()
	if err != nil || !reflect.DeepEqual(p, chatReceived()) {
		t.Errorf("Decode: %#v, %v", p, err)
	}
}

// corpusTexts are the texts of /work/shared/corpus, or, where it is
// missing, generated text.
func corpusTexts(t *testing.T) []string {
	files, _ := filepath.Glob("/work/shared/corpus/*.txt")
	var texts []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(b))
	}
	if len(texts) == 0 {
		t.Log("no corpus in /work/shared/corpus: generated text only")
	}
	return texts
}

// decodeGen writes random chat payloads as JSON text in every legal
// spelling (escapes, white space, member order), and breaks some.
type decodeGen struct {
	rng   *rand.Rand
	texts []string
	// broken says the last payload is not the shape the fast path takes.
	broken bool
}

// str is a random string: a piece of a corpus text, random runes, or
// bytes that are not UTF-8.
func (g *decodeGen) str() string {
	switch g.rng.IntN(6) {
	case 0:
		return ""
	case 1, 2:
		if len(g.texts) > 0 {
			text := g.texts[g.rng.IntN(len(g.texts))]
			i := g.rng.IntN(len(text))
			j := min(len(text), i+g.rng.IntN(80))
			for i > 0 && !utf8.RuneStart(text[i]) {
				i--
			}
			return text[i:j] // may end inside a rune
		}
	case 3:
		return genPieces[g.rng.IntN(len(genPieces))] + genPieces[g.rng.IntN(len(genPieces))]
	}
	var b strings.Builder
	for range g.rng.IntN(10) {
		switch g.rng.IntN(5) {
		case 0:
			b.WriteRune(rune(g.rng.IntN(0x80)))
		case 1:
			b.WriteRune(rune(g.rng.IntN(0x800)))
		case 2:
			b.WriteRune(rune(g.rng.IntN(0x10000)))
		case 3:
			b.WriteRune(rune(0x10000 + g.rng.IntN(0x100000)))
		default:
			b.WriteByte(byte(0x80 + g.rng.IntN(0x80)))
		}
	}
	return b.String()
}

// quote writes s as a JSON string, each character spelled at random: as
// it is where it may be, by a short escape, or as \u escapes (a pair for
// runes beyond the BMP); now and then a lone surrogate escape.
func (g *decodeGen) quote(s string) string {
	b := []byte{'"'}
	hex := func(v rune) {
		x := strconv.FormatInt(int64(v)+0x10000, 16)[1:]
		if g.rng.IntN(2) == 0 {
			x = strings.ToUpper(x)
		}
		b = append(b, `\u`+x...)
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		raw := s[i : i+size]
		i += size
		if g.rng.IntN(40) == 0 {
			hex(rune(0xd800 + g.rng.IntN(0x800)))
		}
		short := map[rune]string{'"': `\"`, '\\': `\\`, '/': `\/`, '\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}[r]
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, raw...) // invalid UTF-8 as it is
		case short != "" && (g.rng.IntN(2) == 0 || r == '"' || r == '\\' || r < 0x20):
			b = append(b, short...)
		case r < 0x20 || g.rng.IntN(4) == 0:
			if r >= 0x10000 {
				hex(0xd800 + (r-0x10000)>>10)
				hex(0xdc00 + (r-0x10000)&0x3ff)
			} else {
				hex(r)
			}
		default:
			b = append(b, raw...)
		}
	}
	return string(append(b, '"'))
}

func (g *decodeGen) ws() string {
	if g.rng.IntN(3) > 0 {
		return ""
	}
	return []string{" ", "\n", "\t", "\r\n  "}[g.rng.IntN(4)]
}

type genMember struct{ name, value string }

// object writes members in a random order, sometimes broken: a member
// unknown, in another case, duplicated or null, a value of the wrong type.
func (g *decodeGen) object(members []genMember) string {
	g.rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	if g.rng.IntN(25) == 0 && len(members) > 0 {
		g.broken = true
		switch m := &members[g.rng.IntN(len(members))]; g.rng.IntN(6) {
		case 0:
			m.name = strings.ToUpper(m.name[:1]) + m.name[1:]
		case 1:
			m.value = "null"
		case 2:
			members = append(members, *m)
		case 3:
			m.value = []string{`1`, `1.5`, `"s"`, `[]`, `{}`, `true`}[g.rng.IntN(6)]
		case 4:
			m.name = strings.Replace(m.name, "_", `\u005f`, 1)
		default:
			k := g.quote(genKeys[g.rng.IntN(len(genKeys))])
			members = append(members, genMember{k[1 : len(k)-1], genValues[g.rng.IntN(len(genValues))]})
		}
	}
	var b strings.Builder
	b.WriteString("{" + g.ws())
	for i, m := range members {
		if i > 0 {
			b.WriteString("," + g.ws())
		}
		b.WriteString(`"` + m.name + `"` + g.ws() + ":" + g.ws() + m.value + g.ws())
	}
	return b.String() + "}"
}

func (g *decodeGen) optional(members []genMember, name, v string) []genMember {
	if v == "" && g.rng.IntN(2) == 0 {
		return members
	}
	return append(members, genMember{name, g.quote(v)})
}

func (g *decodeGen) address() string {
	m := []genMember{{"address", g.quote(g.str())}}
	return g.object(g.optional(m, "name", g.str()))
}

func (g *decodeGen) blob() string {
	m := []genMember{{"sha256", g.quote(g.str())}, {"size", strconv.FormatInt(g.rng.Int64N(1<<50)-5, 10)},
		{"content_type", g.quote(g.str())}}
	return g.object(g.optional(m, "name", g.str()))
}

func (g *decodeGen) list(n int, elem func() string) string {
	var parts []string
	for range n {
		parts = append(parts, g.ws()+elem()+g.ws())
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (g *decodeGen) lists(m []genMember, names ...string) []genMember {
	for _, name := range names {
		n := g.rng.IntN(4) - 1
		if n < 0 {
			continue // absent
		}
		elem := g.address
		if name == "attachments" || name == "raw" {
			elem = g.blob
		}
		if name == "raw" {
			m = append(m, genMember{name, elem()})
			continue
		}
		m = append(m, genMember{name, g.list(n, elem)})
	}
	return m
}

// payload writes a random message.received, message.sent or
// message.delivered, now and then cut short or followed by garbage.
func (g *decodeGen) payload() (data string, start Payload) {
	var m []genMember
	switch g.rng.IntN(3) {
	case 0:
		start = &MessageReceivedData{}
		for _, n := range []string{"message_id", "external_id", "client_message_id", "subject", "text", "language", "in_reply_to"} {
			m = g.optional(m, n, g.str())
		}
		m = append(m, genMember{"from", g.address()})
		m = g.lists(m, "to", "cc", "attachments", "raw")
	case 1:
		start = &MessageSentData{}
		for _, n := range []string{"message_id", "client_message_id", "agent_id", "subject", "text", "language", "in_reply_to"} {
			m = g.optional(m, n, g.str())
		}
		m = append(m, genMember{"from", g.address()})
		m = g.lists(m, "to", "cc", "attachments")
	default:
		start = &MessageDeliveredData{}
		for _, n := range []string{"message_id", "status", "external_id", "reason"} {
			m = g.optional(m, n, g.str())
		}
		if g.rng.IntN(2) == 0 {
			m = append(m, genMember{"attempts", strconv.Itoa(g.rng.IntN(10) - 2)})
		}
	}
	data = g.ws() + g.object(m) + g.ws()
	switch g.rng.IntN(40) {
	case 0:
		g.broken = true
		data = data[:g.rng.IntN(len(data))]
	case 1:
		g.broken = true
		data += []string{"x", "{}", ",", "]", "\x00"}[g.rng.IntN(5)]
	}
	return data, start
}

// TestDecodeRandom decodes many random payloads, spelled every legal way
// and some broken ones, and compares with the reference. Every one of
// them the generator did not break must take the fast path.
func TestDecodeRandom(t *testing.T) {
	g := &decodeGen{rng: rand.New(rand.NewPCG(20261123, 2)), texts: corpusTexts(t)}
	n := 4000
	if testing.Short() {
		n = 400
	}
	var fast, clean int
	for range n {
		g.broken = false
		data, start := g.payload()
		took := checkDecode(t, []byte(data), start)
		if took {
			fast++
		}
		if !g.broken {
			clean++
			if !took {
				t.Errorf("valid %s payload declined by the fast path: %q", start.EventType(), data)
			}
		}
	}
	t.Logf("%d payloads, %d clean, %d read by hand", n, clean, fast)
	if clean < n/2 {
		t.Errorf("only %d of %d random payloads were clean", clean, n)
	}
}

func fuzzDecode(f *testing.F, start func() Payload) {
	for _, in := range decodeInputs(f) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data, start())
		checkDecode(t, data, decodeStarts()[4])
	})
}

// FuzzMessageReceivedDecode holds the hand-written decoder of
// message.received to the reference on any bytes.
func FuzzMessageReceivedDecode(f *testing.F) {
	fuzzDecode(f, func() Payload { return &MessageReceivedData{} })
}

// FuzzMessageSentDecode: see FuzzMessageReceivedDecode.
func FuzzMessageSentDecode(f *testing.F) { fuzzDecode(f, func() Payload { return &MessageSentData{} }) }

// FuzzMessageDeliveredDecode: see FuzzMessageReceivedDecode.
func FuzzMessageDeliveredDecode(f *testing.F) {
	fuzzDecode(f, func() Payload { return &MessageDeliveredData{} })
}
