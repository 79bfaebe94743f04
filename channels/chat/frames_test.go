package chat

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// referenceMessageFrame is the message frame of e as encode writes it.
func referenceMessageFrame(e *entry) []byte {
	return encode(messageFrame{Type: frameMessage, Seq: e.seq, MessageID: e.messageID, ClientID: e.clientID,
		From: e.from, AgentName: e.agentName, Text: e.text, Time: e.time.UTC().Format(time.RFC3339Nano)})
}

func TestFrameEncoders(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"ack", ackFrame{Type: frameAck, ClientID: "c-1", MessageID: "m-1", ConversationID: "conv-1", Seq: 1700000000123456}.marshal(),
			`{"type":"ack","client_id":"c-1","message_id":"m-1","conversation_id":"conv-1","seq":1700000000123456}`},
		{"ack empty", ackFrame{}.marshal(), `{"type":"","client_id":"","message_id":"","conversation_id":"","seq":0}`},
		{"typing on", typingFrame{Type: frameTyping, Active: true}.marshal(), `{"type":"typing","active":true}`},
		{"typing off", typingFrame{Type: frameTyping}.marshal(), `{"type":"typing","active":false}`},
		{"agent message", messageFrameOf(&entry{seq: 7, messageID: "m-2", from: "agent", agentName: "Jane <support>",
			text: "Hi & welcome\n\u2028\b\f\x00\xff😀", time: time.Date(2026, 11, 23, 17, 0, 0, 120000000, paris)}),
			`{"type":"message","seq":7,"message_id":"m-2","from":"agent","agent_name":"Jane \u003csupport\u003e",` +
				`"text":"Hi \u0026 welcome\n\u2028\b\f\u0000\ufffd😀","time":"2026-11-23T16:00:00.12Z"}`},
		{"accepted", accepted{Kind: "accepted", Tenant: "demo", Visitor: "v-1", ConversationID: "conv-1", ClientID: "c-1",
			MessageID: "m-1", Time: time.Date(2026, 11, 23, 17, 0, 0, 5, time.UTC)}.marshal(),
			`{"kind":"accepted","tenant":"demo","visitor":"v-1","conversation_id":"conv-1","client_id":"c-1","message_id":"m-1","time":"2026-11-23T17:00:00.000000005Z"}`},
		{"marker", accepted{Kind: "marker", Tenant: "demo", Nonce: "n<1>", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, paris)}.marshal(),
			`{"kind":"marker","tenant":"demo","nonce":"n\u003c1\u003e","time":"2026-01-01T00:00:00+01:00"}`},
		{"visitor message", messageFrameOf(&entry{seq: -1, messageID: "m-3", clientID: "c-9", from: "visitor", text: "",
			time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}),
			`{"type":"message","seq":-1,"message_id":"m-3","client_id":"c-9","from":"visitor","text":"","time":"2026-01-02T03:04:05Z"}`},
	} {
		if string(tc.got) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
}

// TestFrameEncodersMatchEncode compares the hand-written encoders with
// encode over varied values, byte for byte, and decodes what they wrote.
func TestFrameEncodersMatchEncode(t *testing.T) {
	pieces := []string{"", "a", "bonjour", "<script>alert(1)</script>", "&", "\u2028", "\u2029", "\x00", "\b", "\f",
		"\n", "\r", "\t", "\x1f", "\x7f", "é", "日本", "😀", "\"", "\\", "/", "\ufffd", "\xff", "\xc3", "\xed\xa0\x80"}
	rng := rand.New(rand.NewPCG(20261123, 2))
	str := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	valid := func(ss ...string) bool {
		for _, s := range ss {
			if !utf8.ValidString(s) {
				return false
			}
		}
		return true
	}
	zones := []*time.Location{time.UTC, time.FixedZone("X", -9*3600-30*60), time.FixedZone("Y", 14*3600)}
	for i := range 3000 {
		ack := ackFrame{Type: str(), ClientID: str(), MessageID: str(), ConversationID: str(), Seq: rng.Int64() - rng.Int64()}
		if got, want := ack.marshal(), encode(ack); string(got) != string(want) {
			t.Fatalf("case %d: ack %#v\n got %s\nwant %s", i, ack, got, want)
		}
		typing := typingFrame{Type: str(), Active: rng.IntN(2) == 0}
		if got, want := typing.marshal(), encode(typing); string(got) != string(want) {
			t.Fatalf("case %d: typing %#v\n got %s\nwant %s", i, typing, got, want)
		}
		e := &entry{seq: rng.Int64N(1 << 53), messageID: str(), clientID: str(), from: str(), agentName: str(), text: str(),
			time: time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))])}
		if rng.IntN(4) == 0 {
			e.time = e.time.Truncate(time.Second)
		}
		got, want := messageFrameOf(e), referenceMessageFrame(e)
		if string(got) != string(want) {
			t.Fatalf("case %d: message %#v\n got %s\nwant %s", i, e, got, want)
		}
		rec := accepted{Kind: str(), Tenant: str(), Visitor: str(), ConversationID: str(), ClientID: str(), MessageID: str(),
			Nonce: str(), Time: e.time}
		if got, want := rec.marshal(), encode(rec); string(got) != string(want) {
			t.Fatalf("case %d: accepted %#v\n got %s\nwant %s", i, rec, got, want)
		}
		if !valid(ack.Type, ack.ClientID, ack.MessageID, ack.ConversationID, e.messageID, e.clientID, e.from, e.agentName, e.text) {
			continue
		}
		var backAck ackFrame
		if err := jsonUnmarshal(ack.marshal(), &backAck); err != nil || backAck != ack {
			t.Fatalf("case %d: ack read back as %#v (%v), want %#v", i, backAck, err, ack)
		}
		var backMsg messageFrame
		if err := jsonUnmarshal(got, &backMsg); err != nil {
			t.Fatal(err)
		}
		sent := messageFrame{Type: frameMessage, Seq: e.seq, MessageID: e.messageID, ClientID: e.clientID, From: e.from,
			AgentName: e.agentName, Text: e.text, Time: e.time.UTC().Format(time.RFC3339Nano)}
		if !reflect.DeepEqual(backMsg, sent) {
			t.Fatalf("case %d: message read back as %#v, want %#v", i, backMsg, sent)
		}
		if tm, err := time.Parse(time.RFC3339Nano, backMsg.Time); err != nil || !tm.Equal(e.time) {
			t.Fatalf("case %d: time %q reads as %v (%v), want %v", i, backMsg.Time, tm, err, e.time)
		}
	}
}

// TestAcceptedTimeOutOfRange: a time RFC 3339 cannot hold fails as it
// did through encode, rather than writing a record no one can read.
func TestAcceptedTimeOutOfRange(t *testing.T) {
	for _, tm := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 24*3600))} {
		for name, f := range map[string]func(accepted) []byte{"marshal": accepted.marshal, "encode": func(a accepted) []byte { return encode(a) }} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s of time %v did not fail", name, tm)
					}
				}()
				f(accepted{Kind: "accepted", Tenant: "demo", Time: tm})
			}()
		}
	}
}

// BenchmarkFrames measures the frames of one message, hand-written and
// through encode.
func BenchmarkFrames(b *testing.B) {
	ack := ackFrame{Type: frameAck, ClientID: "c-1700000000000-42", MessageID: "msg-2f1c9a7e0b6b4d8e9c3d5e2f8a9d4c61",
		ConversationID: "conv-5e2f8a9d4c61", Seq: 1700000000123456}
	en := &entry{seq: 1700000000123456, messageID: "0b6b2f0e-7d1a-4b8e-9c3d-5e2f8a9d4c61", from: "agent", agentName: "Agent 42",
		text: "Thank you for your message, we are looking into it right now.", time: time.Now()}
	typing := typingFrame{Type: frameTyping, Active: true}
	rec := accepted{Kind: "accepted", Tenant: "acme", Visitor: "v-0b6b2f0e7d1a4b8e9c3d5e2f8a9d4c61", ConversationID: ack.ConversationID,
		ClientID: ack.ClientID, MessageID: ack.MessageID, Time: time.Now().UTC()}
	for _, bc := range []struct {
		name string
		f    func() []byte
	}{
		{"ack", ack.marshal},
		{"ack/encode", func() []byte { return encode(ack) }},
		{"message", func() []byte { return messageFrameOf(en) }},
		{"message/encode", func() []byte { return referenceMessageFrame(en) }},
		{"accepted", rec.marshal},
		{"accepted/encode", func() []byte { return encode(rec) }},
		{"typing", typing.marshal},
		{"typing/encode", func() []byte { return encode(typing) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.f()
			}
		})
	}
}

// TestReadFrame checks that readFrame reads every frame as encoding/json
// does, and message frames without it.
func TestReadFrame(t *testing.T) {
	for _, tc := range []struct {
		in    string
		plain bool
	}{
		{`{"type":"message","client_id":"c1","text":"Bonjour, ma box ne marche plus"}`, true},
		{`{"type":"message","client_id":"c2","text":"<img src=x onerror=alert(1)> \"quoted\"\n\u0416"}`, true},
		{`{"type":"message","client_id":"c3","text":""}`, true},
		{`{"type":"message","client_id":"c4"}`, true},
		{`{"type":"typing","active":true}`, false},
		{`{"type":"hello","tenant":"acme","queue":"support","token":"t","last_seq":7}`, false},
		{`{"type":"message","Text":"case"}`, false},
		{`{"type":"message","text":null}`, false},
		{`{"type":"message","text":"a","text":"b"}`, false},
		{`{"type":"message"`, false},
	} {
		got, err := readFrame([]byte(tc.in))
		var want clientFrame
		wantErr := json.Unmarshal([]byte(tc.in), &want)
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("readFrame(%s) = %+v, %v; encoding/json: %+v, %v", tc.in, got, err, want, wantErr)
		}
		var f clientFrame
		if plain := f.readPlain([]byte(tc.in)); plain != tc.plain {
			t.Errorf("readPlain(%s) = %v, want %v", tc.in, plain, tc.plain)
		}
	}
}

// readAccepted takes what marshal writes, and whatever it takes it reads
// as encoding/json does; what it leaves, encoding/json reads or rejects.
func TestReadAcceptedMatchesEncodingJSON(t *testing.T) {
	check := func(name string, data []byte, wantFast bool) {
		t.Helper()
		var fast, slow accepted
		took := fast.readAccepted(data)
		err := json.Unmarshal(data, &slow)
		if took != wantFast {
			t.Fatalf("%s: %s: fast read %v, want %v", name, data, took, wantFast)
		}
		if took && (err != nil || !reflect.DeepEqual(fast, slow)) {
			t.Fatalf("%s: %s:\nfast %#v\njson %#v (%v)", name, data, fast, slow, err)
		}
		var via accepted
		if verr := unmarshalAccepted(data, &via); (verr == nil) != (err == nil) || (err == nil && !reflect.DeepEqual(via, slow)) {
			t.Fatalf("%s: %s: unmarshalAccepted %#v (%v), json %#v (%v)", name, data, via, verr, slow, err)
		}
	}
	paris := time.FixedZone("CET", 3600)
	rec := accepted{Kind: "accepted", Tenant: "demo", Visitor: "v-1", ConversationID: "conv-1", ClientID: "c-1",
		MessageID: "m-1", Time: time.Date(2026, 11, 24, 17, 0, 0, 123456789, paris)}
	check("record", rec.marshal(), true)
	check("marker", accepted{Kind: "marker", Tenant: "demo", Nonce: "n-1", Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}.marshal(), true)
	for _, tc := range []struct {
		name, data string
		fast       bool
	}{
		{"no time", `{"kind":"marker","tenant":"demo"}`, true},
		{"empty object", `{}`, true},
		{"escaped time", `{"kind":"accepted","time":"2026-01-01T00:00:0\u0030Z"}`, false},
		{"escape elsewhere", `{"kind":"acc\"epted","time":"2026-01-01T00:00:00Z"}`, false},
		{"bad time", `{"kind":"accepted","time":"yesterday"}`, false},
		{"lax time", `{"kind":"accepted","time":"2026-1-01T00:00:00Z"}`, false},
		{"unknown member", `{"kind":"accepted","extra":"x"}`, false},
		{"null", `{"kind":null}`, false},
		{"number", `{"kind":"accepted","tenant":3}`, false},
		{"repeated", `{"kind":"a","kind":"b"}`, false},
		{"other case", `{"Kind":"accepted"}`, false},
		{"trailing", `{"kind":"accepted"} x`, false},
		{"not json", `{"kind":`, false},
	} {
		check(tc.name, []byte(tc.data), tc.fast)
	}
	rng := rand.New(rand.NewPCG(20261124, 3))
	pieces := []string{"", "a", "conv-", "é", "日本", "😀", "<", "&", "\u2028", "\"", "\\", "\x00", "\xff"}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(4) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 2000 {
		r := accepted{Kind: str(), Tenant: str(), Visitor: str(), ConversationID: str(), ClientID: str(), MessageID: str(),
			Nonce: str(), Time: time.Unix(rng.Int64N(1<<36)-1<<35, rng.Int64N(1e9)).In(paris)}
		data := r.marshal()
		check(fmt.Sprint("case ", i), data, !strings.Contains(string(data), `\`))
	}
}
