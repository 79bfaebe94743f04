package event

import (
	"encoding/json"
	"testing"
	"time"
)

// chatReceived is a message.received as the chat channel builds it.
func chatReceived() *MessageReceivedData {
	return &MessageReceivedData{
		MessageID:       "msg-2f1c9a7e0b6b4d8e9c3d5e2f8a9d4c61",
		ClientMessageID: "c-1700000000000-42",
		From:            Address{Address: "v-0b6b2f0e7d1a4b8e9c3d5e2f8a9d4c61", Name: "Jane Doe"},
		To:              []Address{{Address: "support"}},
		Text:            "Hello, my order #1234 has not arrived yet, can you check where it is?",
		Language:        "en",
	}
}

// chatSent is a message.sent as the inbox builds an agent's chat reply.
func chatSent() *MessageSentData {
	return &MessageSentData{
		MessageID: "0b6b2f0e-7d1a-4b8e-9c3d-5e2f8a9d4c61", ClientMessageID: "c-123456", AgentID: "agent-0042",
		From: Address{Address: "support", Name: "Agent 42"}, To: []Address{{Address: "visitor-0b6b2f0e7d1a4b8e", Name: "Jane"}},
		Text: "Thank you for your message, we are looking into it right now.", InReplyTo: "5e2f8a9d-4c61-4b8e-9c3d-0b6b2f0e7d1a",
	}
}

func chatDelivered() *MessageDeliveredData {
	return &MessageDeliveredData{MessageID: "0b6b2f0e-7d1a-4b8e-9c3d-5e2f8a9d4c61", Status: DeliveryDelivered, Attempts: 1}
}

// BenchmarkNewMessageReceived measures event.New for a chat visitor's
// message with the options the chat channel passes.
func BenchmarkNewMessageReceived(b *testing.B) {
	d := chatReceived()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(MessageReceived, "acme", d, WithConversation("conv-5e2f8a9d4c61"), WithChannel(ChannelChat),
			WithSource("/channels/chat"), WithTime(now), WithSubject(d.From.Address), WithContact(d.From.Address),
			WithID("rcv-0b6b2f0e7d1a4b8e9c3d5e2f8a9d4c61")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewMessageSent measures event.New for an agent's chat reply as
// the inbox builds it (generated id).
func BenchmarkNewMessageSent(b *testing.B) {
	d := chatSent()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(MessageSent, "acme", d, WithConversation("conv-5e2f8a9d4c61"), WithSource("/webui/inbox"),
			WithChannel(ChannelChat), WithContact("v-0b6b2f0e7d1a4b8e")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewMessageDelivered measures event.New for the chat channel's
// message.delivered.
func BenchmarkNewMessageDelivered(b *testing.B) {
	d := chatDelivered()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(MessageDelivered, "acme", d, WithID("dlv-0b6b2f0e7d1a4b8e9c3d5e2f8a9d4c61"),
			WithConversation("conv-5e2f8a9d4c61"), WithChannel(ChannelChat), WithSource("/channels/chat"), WithTime(now)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeMessageReceived, ...Sent and ...Delivered measure
// encoding the payload alone: through json.Marshal, as New does
// (marshalPayload), and, for comparison, json.Marshal of the encoding
// before the hand-written encoders (the ref types of marshal_test.go).
func BenchmarkEncodeMessageReceived(b *testing.B) { benchEncode(b, chatReceived()) }

// BenchmarkEncodeMessageSent: see BenchmarkEncodeMessageReceived.
func BenchmarkEncodeMessageSent(b *testing.B) { benchEncode(b, chatSent()) }

// BenchmarkEncodeMessageDelivered: see BenchmarkEncodeMessageReceived.
func BenchmarkEncodeMessageDelivered(b *testing.B) { benchEncode(b, chatDelivered()) }

// BenchmarkEncodeMessageSentKept is BenchmarkEncodeMessageSent with kept
// unknown fields, which json.Marshal compacts and makes HTML-safe.
func BenchmarkEncodeMessageSentKept(b *testing.B) {
	d := chatSent()
	d.Extra = map[string]json.RawMessage{"sentiment": json.RawMessage(` {"score": 0.25, "label": "neutral"} `),
		"x-crm": json.RawMessage(`{"note":"<b>VIP</b> & friends"}`)}
	benchEncode(b, d)
}

func benchEncode(b *testing.B, p Payload) {
	ref := toRef(p)
	for _, bc := range []struct {
		name string
		f    func() ([]byte, error)
	}{
		{"json.Marshal", func() ([]byte, error) { return json.Marshal(p) }},
		{"New", func() ([]byte, error) { return marshalPayload(p) }},
		{"before", func() ([]byte, error) { return json.Marshal(ref) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var n int
			b.ReportAllocs()
			for b.Loop() {
				out, err := bc.f()
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes")
		})
	}
}

// BenchmarkUnmarshalMessageReceived, ...Sent and ...Delivered measure
// decoding the payload alone as Envelope.Decode does (UnmarshalJSON into
// a new value; BenchmarkDecodeMessageSent measures Decode itself): the
// hand-written decoder ("UnmarshalJSON") and the encoding/json path it
// falls back to for shapes it does not read ("fallback",
// unmarshalKeeping).
func BenchmarkUnmarshalMessageReceived(b *testing.B) {
	benchDecode(b, chatReceived(), func() Payload { return new(MessageReceivedData) })
}

// BenchmarkUnmarshalMessageSent: see BenchmarkUnmarshalMessageReceived.
func BenchmarkUnmarshalMessageSent(b *testing.B) {
	benchDecode(b, chatSent(), func() Payload { return new(MessageSentData) })
}

// BenchmarkUnmarshalMessageDelivered: see BenchmarkUnmarshalMessageReceived.
func BenchmarkUnmarshalMessageDelivered(b *testing.B) {
	benchDecode(b, chatDelivered(), func() Payload { return new(MessageDeliveredData) })
}

func benchDecode(b *testing.B, p Payload, fresh func() Payload) {
	data, err := marshalPayload(p)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		f    func(Payload) error
	}{
		{"UnmarshalJSON", func(d Payload) error { return d.(json.Unmarshaler).UnmarshalJSON(data) }},
		{"fallback", func(d Payload) error { return keeping(d, data) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if err := bc.f(fresh()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
