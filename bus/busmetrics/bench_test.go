package busmetrics_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/busmetrics"
)

// discard is a bus that stores nothing, so that the benchmark measures the
// decorator alone.
type discard struct{}

func (discard) Publish(context.Context, string, ...bus.Message) error { return nil }
func (discard) Subscribe(context.Context, string, bus.SubscribeOptions) (bus.Subscription, error) {
	return nil, bus.ErrClosed
}
func (discard) Close() error { return nil }

// BenchmarkPublishOverhead is the cost the decorator adds to each Publish
// call (compare with a durable publish, hundreds of microseconds).
func BenchmarkPublishOverhead(b *testing.B) {
	m, err := busmetrics.NewMetrics(prometheus.NewRegistry(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	wrapped := busmetrics.Wrap(discard{}, m)
	msg := bus.Message{Value: make([]byte, 1024)}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := wrapped.Publish(ctx, "t", msg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
