package inbox

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// sameAsJSON checks that enc encodes v as encoding/json does: the same
// bytes, or an error where encoding/json fails.
func sameAsJSON[T any](t *testing.T, name string, v *T, enc func([]byte, *T) ([]byte, error)) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	// Appending after a prefix must leave the prefix alone.
	prefix := []byte("prefix:")
	got, err := enc(bytes.Clone(prefix), v)
	switch {
	case wantErr != nil && err == nil:
		t.Fatalf("%s: encoded %s, but encoding/json fails: %v", name, got, wantErr)
	case wantErr == nil && err != nil:
		t.Fatalf("%s: %v, but encoding/json encodes %s", name, err, want)
	case wantErr == nil && !bytes.Equal(got, append(prefix, want...)):
		t.Fatalf("%s:\n got %s\nwant %s%s", name, got, prefix, want)
	}
}

// checkAll checks every hand-written encoder on values built from s and e.
func checkAll(t *testing.T, name string, s Summary, e Entry) {
	t.Helper()
	sameAsJSON(t, name+"/summary", &s, appendSummary)
	sameAsJSON(t, name+"/entry", &e, appendEntry)
	sameAsJSON(t, name+"/customer", &s.Customer, func(b []byte, c *Customer) ([]byte, error) { return appendCustomer(b, c), nil })
	sameAsJSON(t, name+"/message", &messageOut{Type: "message", ConversationID: s.ID, Entry: e, Conversation: &s}, appendMessageFrame)
	sameAsJSON(t, name+"/message without summary", &messageOut{Type: "message", ConversationID: s.ID, Entry: e}, appendMessageFrame)
	sameAsJSON(t, name+"/conversation", &conversationOut{Type: "conversation", Conversation: s}, appendConversationFrame)
	if s.Offer != nil {
		sameAsJSON(t, name+"/offer", s.Offer, appendOffer)
	}
}

func TestFrameEncodersTable(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 4, 5, 123456789, time.UTC)
	paris := time.FixedZone("CET", 3600)
	full := Summary{ID: "conv-1", Tenant: "acme", Channel: "chat", ContactID: "ct-9",
		Customer: Customer{Name: "Jane <Visitor>", Address: "jane@example.com"}, Queue: "support", Status: StatusOffered,
		AgentID: "a1", Offer: &Offer{AgentID: "a2", Deadline: at.Add(time.Minute).In(paris)}, LastActivity: at,
		Messages: 12, Tags: []string{"vip", "billing"}}
	reply := Entry{MessageID: "m-1", Direction: DirectionOut, AgentID: "a1", Text: "Hello & welcome", Time: at,
		Delivered: true, DeliveryError: "mailbox full"}
	started := at.Add(-time.Minute)
	for _, tc := range []struct {
		name string
		s    Summary
		e    Entry
	}{
		{"zero values", Summary{}, Entry{}},
		{"every field", full, reply},
		{"empty tags", Summary{ID: "c", Status: StatusWaiting, Tags: []string{}}, Entry{MessageID: "m", Direction: DirectionIn}},
		{"empty tag", Summary{Tags: []string{""}}, Entry{}},
		{"name only", Summary{Customer: Customer{Name: "Ann"}}, Entry{}},
		{"address only", Summary{Customer: Customer{Address: "+33612345678"}}, Entry{}},
		{"html", Summary{ID: "<script>alert(1)</script>", Customer: Customer{Name: "a&b>c"}},
			Entry{Text: "</script><script>alert('x')</script>"}},
		{"quotes and backslashes", Summary{Queue: `q"\`}, Entry{Text: `say "hi" \ C:\path`}},
		{"control characters", Summary{ID: "\x00\x01\x1f\x7f"}, Entry{Text: "a\bb\fc\nd\re\tf\x0bg\x1bh"}},
		{"line separators", Summary{ID: "\u2028"}, Entry{Text: "one\u2028two\u2029three\u2027\u202a"}},
		{"unicode", Summary{Customer: Customer{Name: "Zoë Ñandú 日本語 😀"}}, Entry{Text: "Привет, как дела? Grüße"}},
		{"invalid utf-8", Summary{ID: "\xff\xfe", Customer: Customer{Name: "caf\xc3"}},
			Entry{Text: "a\xc3\x28b\xed\xa0\x80c\xf0\x9f\x98d\x80"}},
		{"negative messages", Summary{Messages: -3}, Entry{}},
		{"zero time with zone", Summary{LastActivity: time.Time{}.In(paris)}, Entry{Time: time.Time{}}},
		{"local time with monotonic reading", Summary{LastActivity: time.Now()}, Entry{Time: time.Now().In(paris)}},
		{"odd zones", Summary{LastActivity: at.In(time.FixedZone("", -(9*3600 + 30*60)))},
			Entry{Time: at.In(time.FixedZone("LMT", 561))}},
		{"year 10000", Summary{LastActivity: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, Entry{}},
		{"year -1", Summary{}, Entry{Time: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"offset of 24 hours", Summary{Offer: &Offer{Deadline: at.In(time.FixedZone("", 24*3600))}}, Entry{}},
		{"offer with zero deadline", Summary{Offer: &Offer{}}, Entry{}},
		{"call", Summary{ID: "v", Channel: "voice", Call: &Call{CallID: "call-1", Direction: "inbound", From: "<sip:+33@x>",
			State: CallAnswered, StartedAt: at, AnsweredAt: &started, HoldMs: 1500}}, Entry{}},
		{"call with a bad time", Summary{Call: &Call{StartedAt: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)}}, Entry{}},
	} {
		checkAll(t, tc.name, tc.s, tc.e)
	}
}

// pieces are the parts random strings are made of: the cases an encoder
// gets wrong.
var pieces = []string{"", "a", "Hello", " ", "<", ">", "&", `"`, `\`, "/", "\x00", "\x01", "\x08", "\x0c", "\n", "\r",
	"\t", "\x1f", "\x7f", "é", "ñ", "日本", "😀", "\u2028", "\u2029", "\u2027", "\ufffd", "\xff", "\xc3", "\xe2\x80",
	"\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf0\x9f\x98", "</script>", "\\u2028", "<!--", "]]>"}

func randString(r *rand.Rand) string {
	if r.IntN(8) == 0 {
		b := make([]byte, r.IntN(24))
		for n := range b {
			b[n] = byte(r.UintN(256))
		}
		return string(b)
	}
	var sb strings.Builder
	for range r.IntN(6) {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

func randTime(r *rand.Rand) time.Time {
	var t time.Time
	switch r.IntN(6) {
	case 0: // zero
	case 1:
		t = time.Date(r.IntN(10400)-200, time.Month(1+r.IntN(12)), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1e9), time.UTC)
	default:
		t = time.Unix(r.Int64N(4e9), r.Int64N(1e9))
		if r.IntN(3) == 0 {
			t = t.Truncate(time.Second)
		}
	}
	switch r.IntN(4) {
	case 0:
		t = t.UTC()
	case 1:
		t = t.In(time.FixedZone("", (r.IntN(60*3600)-30*3600)/60*60+r.IntN(2)*r.IntN(60)))
	case 2:
		t = t.Local()
	}
	return t
}

func randSummary(r *rand.Rand) Summary {
	s := Summary{ID: randString(r), Tenant: randString(r), Channel: randString(r), ContactID: randString(r),
		Customer: Customer{Name: randString(r), Address: randString(r)}, Queue: randString(r), Status: randString(r),
		AgentID: randString(r), LastActivity: randTime(r), Messages: r.IntN(2000) - 10}
	if r.IntN(2) == 0 {
		s.Offer = &Offer{AgentID: randString(r), Deadline: randTime(r)}
	}
	switch r.IntN(3) {
	case 0: // nil
	case 1:
		s.Tags = []string{}
	default:
		for range 1 + r.IntN(4) {
			s.Tags = append(s.Tags, randString(r))
		}
	}
	if r.IntN(6) == 0 {
		at := randTime(r)
		s.Call = &Call{CallID: randString(r), From: randString(r), State: CallHeld, StartedAt: randTime(r), HeldSince: &at}
	}
	return s
}

func randEntry(r *rand.Rand) Entry {
	return Entry{MessageID: randString(r), Direction: randString(r), AgentID: randString(r), Text: randString(r),
		Time: randTime(r), Delivered: r.IntN(2) == 0, DeliveryError: randString(r)}
}

func TestFrameEncodersRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // shown on failure, to replay it
	r := rand.New(rand.NewPCG(1, seed))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		checkAll(t, "random", randSummary(r), randEntry(r))
	}
}

func TestHelloFrame(t *testing.T) {
	s := newSockets()
	a, b := s.newID(), s.newID()
	if a == b || len(a) > maxSocketID || len(b) > maxSocketID {
		t.Fatalf("socket ids %q, %q: want two distinct ids of at most %d bytes", a, b, maxSocketID)
	}
	var v map[string]any
	if err := json.Unmarshal(helloFrame(a), &v); err != nil || v["type"] != "hello" || v["socket_id"] != a || len(v) != 2 {
		t.Fatalf("hello frame %s: %v %v", helloFrame(a), v, err)
	}
}

// TestFrameSizeEstimates checks that a typical frame fits the buffer
// allocated for it, so that it is allocated once.
func TestFrameSizeEstimates(t *testing.T) {
	f := benchFrame()
	f.Conversation.Offer = &Offer{AgentID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", Deadline: time.Now()}
	f.Conversation.Tags = []string{"vip", "billing"}
	f.Entry.AgentID, f.Entry.DeliveryError = f.Conversation.AgentID, "mailbox full"
	b, err := appendMessageFrame(nil, f)
	if err != nil || len(b) > messageFrameSize(f) {
		t.Errorf("message frame of %d bytes (%v), estimated %d", len(b), err, messageFrameSize(f))
	}
	c := &conversationOut{Type: "conversation", Conversation: *f.Conversation}
	if b, err = appendConversationFrame(nil, c); err != nil || len(b) > 32+summarySize(&c.Conversation) {
		t.Errorf("conversation frame of %d bytes (%v), estimated %d", len(b), err, 32+summarySize(&c.Conversation))
	}
	requestID := "0f8fad5b-d9cb-469f-a165-70867728950e"
	out := &replyOut{Conversation: *f.Conversation, Entry: f.Entry}
	if b, err = appendReplyResult(nil, requestID, out); err != nil || len(b) > replyResultSize(requestID, out) {
		t.Errorf("reply_result frame of %d bytes (%v), estimated %d", len(b), err, replyResultSize(requestID, out))
	}
}

// benchFrame is a typical message frame: a customer's chat message with
// the conversation's summary.
func benchFrame() *messageOut {
	at := time.Date(2026, 11, 23, 10, 4, 5, 123456789, time.UTC)
	s := Summary{ID: "0f8fad5b-d9cb-469f-a165-70867728950e", Tenant: "acme", Channel: "chat", ContactID: "ct-42",
		Customer: Customer{Name: "Customer 4711", Address: "visitor-0f8fad5b"}, Queue: "support", Status: StatusAssigned,
		AgentID: "7c9e6679-7425-40de-944b-e07fc1f90ae7", LastActivity: at, Messages: 17, Tags: []string{}}
	e := Entry{MessageID: "b3e1a9d2-33f1-4c55-9a77-2f1e0d8c6b10", Direction: DirectionIn,
		Text: "m-4711-17 1763892245123456789 Hello, I still need help with my order, it has not arrived yet.", Time: at}
	return &messageOut{Type: "message", ConversationID: s.ID, Entry: e, Conversation: &s}
}

// BenchmarkMessageFrame compares encoding/json with the hand-written
// encoder on a typical message frame, as changed encodes it once per fold.
func BenchmarkMessageFrame(b *testing.B) {
	f := benchFrame()
	benchAgainstJSON(b, f, func() ([]byte, error) { return appendMessageFrame(make([]byte, 0, messageFrameSize(f)), f) })
}

// BenchmarkConversationFrame is BenchmarkMessageFrame for a conversation
// frame.
func BenchmarkConversationFrame(b *testing.B) {
	f := &conversationOut{Type: "conversation", Conversation: *benchFrame().Conversation}
	benchAgainstJSON(b, f, func() ([]byte, error) {
		return appendConversationFrame(make([]byte, 0, 32+summarySize(&f.Conversation)), f)
	})
}

// benchAgainstJSON measures json.Marshal of v and enc, the hand-written
// encoder of v, as the sub-benchmarks encoding-json and append.
func benchAgainstJSON(b *testing.B, v any, enc func() ([]byte, error)) {
	for _, bc := range []struct {
		name string
		f    func() ([]byte, error)
	}{
		{"encoding-json", func() ([]byte, error) { return json.Marshal(v) }},
		{"append", enc},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
