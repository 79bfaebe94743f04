package kafka

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// EndOffsets names, per partition, the offset the next message gets, as a
// reader from the earliest offset sees it.
func TestEndOffsets(t *testing.T) {
	br := sharedBroker(t)
	topic := uniqueTopic(t, "ends")
	b := newTestBus(t, br, func(c *Config) { c.Topics = map[string]int{topic: 3} })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if _, err := b.EndOffsets(ctx, "bad topic"); !errors.Is(err, bus.ErrInvalidTopic) {
		t.Fatalf("EndOffsets of an invalid name: %v, want ErrInvalidTopic", err)
	}
	ends, err := b.EndOffsets(ctx, topic)
	if want := map[int]int64{0: 0, 1: 0, 2: 0}; err != nil || !maps.Equal(ends, want) {
		t.Fatalf("EndOffsets of an empty topic = %v, %v; want %v", ends, err, want)
	}
	keys := []string{"a", "b", "c", "a", "a", "d", "e"}
	for i, k := range keys {
		if err := b.Publish(ctx, topic, bus.Message{Key: []byte(k), Value: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	ends, err = b.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscribe(ctx, topic, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	read := map[int]int64{0: 0, 1: 0, 2: 0}
	for range keys {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		read[d.Partition] = d.Offset + 1
	}
	if !maps.Equal(ends, read) {
		t.Fatalf("EndOffsets = %v, but the messages end at %v", ends, read)
	}
	var total int64
	for _, e := range ends {
		total += e
	}
	if total != int64(len(keys)) {
		t.Fatalf("EndOffsets %v add up to %d, want %d", ends, total, len(keys))
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EndOffsets(ctx, topic); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("EndOffsets after Close: %v, want ErrClosed", err)
	}
}
