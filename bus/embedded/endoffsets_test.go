package embedded

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/hotline-hub/hotline/bus"
)

// EndOffsets names, per partition, the offset the next message gets: it
// follows publishes, survives a restart, and does not create a topic.
func TestEndOffsets(t *testing.T) {
	dir := t.TempDir()
	b := mustOpen(t, Config{Dir: dir, Partitions: 3}, nil)
	ctx := context.Background()

	ends, err := b.EndOffsets(ctx, "absent")
	if err != nil || len(ends) != 0 {
		t.Fatalf("EndOffsets of a missing topic = %v, %v; want none", ends, err)
	}
	if _, ok := b.topics["absent"]; ok {
		t.Fatal("EndOffsets created the topic")
	}
	if _, err := b.EndOffsets(ctx, "bad topic"); !errors.Is(err, bus.ErrInvalidTopic) {
		t.Fatalf("EndOffsets of an invalid name: %v, want ErrInvalidTopic", err)
	}

	want := map[int]int64{0: 0, 1: 0, 2: 0}
	for i, key := range []string{"a", "b", "c", "a", "a", "d"} {
		publish(t, b, "t", bus.Message{Key: []byte(key), Value: []byte{byte(i)}})
		want[keyPartition([]byte(key), 3)]++
	}
	ends, err = b.EndOffsets(ctx, "t")
	if err != nil || !maps.Equal(ends, want) {
		t.Fatalf("EndOffsets = %v, %v; want %v", ends, err, want)
	}

	// A reader starting at the earliest offset stops exactly there.
	sub, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	last := map[int]int64{}
	for range 6 {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last[d.Partition] = d.Offset + 1
	}
	sub.Close()
	for p, end := range want {
		if end > 0 && last[p] != end {
			t.Errorf("partition %d: read up to %d, end offset %d", p, last[p], end)
		}
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.EndOffsets(ctx, "t"); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("EndOffsets after Close: %v, want ErrClosed", err)
	}
	b = mustOpen(t, Config{Dir: dir}, nil)
	defer b.Close()
	if ends, err := b.EndOffsets(ctx, "t"); err != nil || !maps.Equal(ends, want) {
		t.Fatalf("after a restart EndOffsets = %v, %v; want %v", ends, err, want)
	}
}
