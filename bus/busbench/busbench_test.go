package busbench_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/busbench"
	"github.com/hotline-hub/hotline/bus/embedded"
)

func openBus(t *testing.T) *embedded.Bus {
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Partitions: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestPublish(t *testing.T) {
	b := openBus(t)
	ctx := context.Background()
	r, err := busbench.Publish(ctx, b, busbench.Options{Topic: "t", Publishers: 4, Events: 203, Size: 100, Batch: 10, Keys: 7})
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 203 || r.Bytes != 20300 || r.EventsPerSec() <= 0 || r.CallP99 < r.CallP50 {
		t.Fatalf("result %+v", r)
	}
	if s := r.String(); !strings.Contains(s, "203 events of 100 B") || !strings.Contains(s, "events/s") {
		t.Errorf("String() = %q", s)
	}
	// Every event is in the log.
	sub, err := b.Subscribe(ctx, "t", bus.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for i := 0; i < 203; i++ {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Value) != 100 {
			t.Fatalf("value of %d bytes", len(d.Value))
		}
		keys[string(d.Key)] = true
	}
	if len(keys) != 7 {
		t.Errorf("%d distinct keys, want 7", len(keys))
	}
	// By duration.
	r, err = busbench.Publish(ctx, b, busbench.Options{Topic: "t", Duration: 100 * time.Millisecond})
	if err != nil || r.Events == 0 {
		t.Fatalf("duration run: %+v, %v", r, err)
	}
}

func TestLatency(t *testing.T) {
	b := openBus(t)
	r, err := busbench.Latency(context.Background(), b, busbench.LatencyOptions{Topic: "lat", Rate: 2000, Events: 300, Keys: 10})
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 300 || r.P50 <= 0 || r.P90 < r.P50 || r.P99 < r.P90 || r.Max < r.P99 {
		t.Fatalf("result %+v", r)
	}
	if s := r.String(); !strings.Contains(s, "publish->receive p50") {
		t.Errorf("String() = %q", s)
	}
}
