package event_test

import (
	"fmt"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// A channel turns an inbound SMS into an event and publishes it; a consumer
// reads it back, validates it and switches on the payload type.
func Example() {
	e, err := event.New(event.MessageReceived, "acme", &event.MessageReceivedData{
		MessageID: "m-1",
		From:      event.Address{Address: "+33612345678"},
		To:        []event.Address{{Address: "+33700000000"}},
		Text:      "Where is my parcel?",
	},
		event.WithSource("/channels/sms"), event.WithChannel(event.ChannelSMS), event.WithConversation("c-7"),
		event.WithID("ev-1"), event.WithTime(time.Date(2025, 5, 4, 10, 0, 0, 0, time.UTC)))
	if err != nil {
		fmt.Println(err)
		return
	}
	msg, err := event.ToMessage(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("publish to %s with key %s\n", event.TopicFor(e.Type), msg.Key)
	// bus.Publisher.Publish(ctx, event.TopicFor(e.Type), msg) ... Subscription.Receive ...

	got, err := event.FromMessage(&msg)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := got.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	p, err := got.Decode()
	if err != nil {
		fmt.Println(err)
		return
	}
	switch d := p.(type) {
	case *event.MessageReceivedData:
		fmt.Printf("%s %s from %s: %s\n", got.Tenant, got.Channel, d.From.Address, d.Text)
	}
	// Output:
	// publish to hotline.conversations with key acme/c-7
	// acme sms from +33612345678: Where is my parcel?
}

// Validate lists every problem at once.
func ExampleEnvelope_Validate() {
	e := &event.Envelope{SpecVersion: event.SpecVersion, Source: "/x", Type: event.AgentPresenceChanged,
		Tenant: "A B", Data: []byte(`{"agent_id":"a-1","presence":"available"}`)}
	fmt.Println(e.Validate())
	// Output:
	// event: id is empty; time is zero; tenant "A B" is not a valid tenant id
}
