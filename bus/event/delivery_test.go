package event

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
)

// unshared returns a copy of e without its payload memo, for comparing
// with an envelope built by New.
func unshared(e *Envelope) *Envelope {
	c := *e
	c.payload = nil
	return &c
}

// Deliveries of one record that share a memo (the embedded bus's tail
// cache) get one envelope and one payload; it is the event published.
func TestFromDeliveryShared(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	for _, typ := range Types() {
		t.Run(typ, func(t *testing.T) {
			e := newSample(t, typ)
			m, err := ToMessage(e)
			if err != nil {
				t.Fatal(err)
			}
			memo := new(bus.Memo)
			d1 := bus.NewSharedDelivery(m, TopicFor(typ), 0, 7, at, nil, memo)
			d2 := bus.NewSharedDelivery(m, TopicFor(typ), 0, 7, at, nil, memo)
			e1, err := FromDelivery(d1)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := FromDelivery(d2)
			if err != nil {
				t.Fatal(err)
			}
			if e1 != e2 {
				t.Fatal("two deliveries of one shared record decoded two envelopes")
			}
			sameEnvelope(t, unshared(e1), e)
			if &e1.Data[0] != &m.Value[0] {
				t.Error("the envelope's data is a copy of the delivery's value")
			}
			p1, err := e1.Decode()
			if err != nil {
				t.Fatal(err)
			}
			p2, err := e2.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if !sameObject(p1, p2) {
				t.Fatal("the shared envelope decoded its payload twice")
			}
			if want := samples()[typ].payload; !reflect.DeepEqual(p1, want) {
				t.Errorf("payload = %#v\nwant %#v", p1, want)
			}
			if err := e1.Validate(); err != nil {
				t.Fatalf("shared envelope invalid: %v", err)
			}
		})
	}
}

// sameObject reports whether a and b are the same pointer.
func sameObject(a, b Payload) bool {
	return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
}

// Deliveries with memos of their own (Kafka, file reads) each decode once;
// a Delivery with no memo at all decodes on every call.
func TestFromDeliveryUnshared(t *testing.T) {
	e := newSample(t, MessageSent)
	m, err := ToMessage(e)
	if err != nil {
		t.Fatal(err)
	}
	d1 := bus.NewDelivery(m, TopicOutbox, 0, 1, time.Now(), nil)
	d2 := bus.NewDelivery(m, TopicOutbox, 0, 1, time.Now(), nil)
	a, _ := FromDelivery(d1)
	b, _ := FromDelivery(d1)
	c, err := FromDelivery(d2)
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a == c {
		t.Fatalf("own memos: same delivery %v (want true), two deliveries %v (want false)", a == b, a == c)
	}
	sameEnvelope(t, unshared(c), e)
	lit := &bus.Delivery{Message: m}
	x, _ := FromDelivery(lit)
	y, err := FromDelivery(lit)
	if err != nil || x == y {
		t.Fatalf("a delivery without a memo: %v, same envelope %v", err, x == y)
	}
	sameEnvelope(t, unshared(y), e)
	if _, err := FromDelivery(nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nil delivery: %v", err)
	}
}

// A copy of a shared envelope whose data (or type, dataschema) is
// replaced decodes its own data, not the memo's; the original keeps the
// memo.
func TestSharedPayloadFollowsCopies(t *testing.T) {
	m, err := ToMessage(newSample(t, NoteAdded))
	if err != nil {
		t.Fatal(err)
	}
	d := bus.NewSharedDelivery(m, TopicConversations, 0, 1, time.Now(), nil, new(bus.Memo))
	e, err := FromDelivery(d)
	if err != nil {
		t.Fatal(err)
	}
	orig, err := e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	c := *e
	c.Data = []byte(`{"note_id":"n-other","agent_id":"a-9","text":"changed"}`)
	p, err := c.Decode()
	if err != nil {
		t.Fatal(err)
	}
	if got := p.(*NoteAddedData); got.NoteID != "n-other" || got.Text != "changed" {
		t.Fatalf("copy with new data decoded %+v", got)
	}
	c2 := *e
	c2.Type = MessageSent
	if _, err := c2.Decode(); err == nil {
		t.Fatal("copy with another type decoded the memo's payload")
	}
	again, _ := e.Decode()
	if !sameObject(orig, again) {
		t.Fatal("the original lost its memo")
	}
}

// A malformed record fails the same way for every delivery; a memo holding
// another layer's value does not stop FromDelivery.
func TestFromDeliveryErrorsAndForeignMemo(t *testing.T) {
	bad := bus.Message{Value: []byte("{}"), Headers: []bus.Header{{Key: HeaderID, Value: []byte("x")}}}
	memo := new(bus.Memo)
	for range 2 {
		d := bus.NewSharedDelivery(bad, TopicConversations, 0, 1, time.Now(), nil, memo)
		if _, err := FromDelivery(d); !errors.Is(err, ErrMalformed) {
			t.Fatalf("malformed record: %v", err)
		}
	}
	m, err := ToMessage(newSample(t, MessageReceived))
	if err != nil {
		t.Fatal(err)
	}
	d := bus.NewDelivery(m, TopicConversations, 0, 1, time.Now(), nil)
	if v, _ := d.Memo(func() (any, error) { return 42, nil }); v != 42 {
		t.Fatalf("memo = %v", v)
	}
	e, err := FromDelivery(d)
	if err != nil || e.Type != MessageReceived {
		t.Fatalf("with a foreign memo: %v, %v", e, err)
	}
}

// Consumers on several goroutines reading one shared record (run with
// -race) get one envelope and one payload.
func TestFromDeliveryConcurrent(t *testing.T) {
	m, err := ToMessage(newSample(t, MessageSent))
	if err != nil {
		t.Fatal(err)
	}
	memo := new(bus.Memo)
	const n = 8
	envs := make([]*Envelope, n)
	payloads := make([]Payload, n)
	var wg sync.WaitGroup
	for i := range n {
		d := bus.NewSharedDelivery(m, TopicOutbox, 0, 1, time.Now(), nil, memo)
		wg.Go(func() {
			e, err := FromDelivery(d)
			if err != nil {
				t.Error(err)
				return
			}
			if err := e.Validate(); err != nil {
				t.Error(err)
			}
			envs[i] = e
			payloads[i], _ = e.Decode()
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if envs[i] != envs[0] || !sameObject(payloads[i], payloads[0]) {
			t.Fatalf("goroutine %d got another envelope or payload", i)
		}
	}
}

// BenchmarkFromDelivery measures one record read by 4 consumers of the
// process, each reading the event and its payload: with FromDelivery on
// deliveries sharing a memo (the embedded bus's tail cache) and, for
// comparison, with FromMessage and Decode per consumer as before.
//
//	go test -run '^$' -bench FromDelivery -benchmem ./bus/event
func BenchmarkFromDelivery(b *testing.B) {
	e, err := New(MessageSent, "acme", chatSent(), WithConversation("conv-1"), WithChannel(ChannelChat))
	if err != nil {
		b.Fatal(err)
	}
	m, err := ToMessage(e)
	if err != nil {
		b.Fatal(err)
	}
	const consumers = 4
	at := time.Now()
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("consumers=%d/shared=%v", consumers, shared), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				memo := new(bus.Memo) // one record
				for range consumers {
					d := bus.NewSharedDelivery(m, TopicOutbox, 0, 1, at, nil, memo)
					var ev *Envelope
					var err error
					if shared {
						ev, err = FromDelivery(d)
					} else {
						ev, err = FromMessage(&d.Message)
					}
					if err != nil {
						b.Fatal(err)
					}
					if _, err := ev.Decode(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// On the embedded bus, two subscriptions of the process receiving one
// record get one envelope and one payload through FromDelivery.
func TestFromDeliveryEmbeddedBus(t *testing.T) {
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Partitions: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	var subs []bus.Subscription
	for _, g := range []string{"inbox", "chat"} {
		s, err := b.Subscribe(ctx, TopicOutbox, bus.SubscribeOptions{Group: g})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	m, err := ToMessage(newSample(t, MessageSent))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, TopicOutbox, m); err != nil {
		t.Fatal(err)
	}
	var envs []*Envelope
	var payloads []Payload
	for _, s := range subs {
		d, err := s.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e, err := FromDelivery(d)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.Decode()
		if err != nil {
			t.Fatal(err)
		}
		envs, payloads = append(envs, e), append(payloads, p)
	}
	if envs[0] != envs[1] || !sameObject(payloads[0], payloads[1]) {
		t.Fatal("two subscriptions of one record decoded it twice")
	}
	sameEnvelope(t, unshared(envs[0]), newSampleLike(t, envs[0]))
}

// newSampleLike is the MessageSent sample with e's id and time, for
// comparing with what went through the bus.
func newSampleLike(t *testing.T, e *Envelope) *Envelope {
	t.Helper()
	want := newSample(t, MessageSent)
	want.ID, want.Time = e.ID, e.Time
	return want
}
