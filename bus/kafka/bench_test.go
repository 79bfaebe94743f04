package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/hotline-hub/hotline/bus/busbench"
)

// Benchmarks of durable publishing (acks=all) and of publish->consume
// latency through a consumer group, against the test broker (or the
// cluster in HOTLINE_KAFKA_BROKERS), through package busbench. Run them with:
//
//	go test -run '^$' -bench Publish -benchtime 20000x ./bus/kafka
//	go test -run '^$' -bench Latency -benchtime 1x ./bus/kafka
//
// Each run writes to a fresh topic of DefaultPartitions partitions.

func benchPublish(b *testing.B, publishers, batch, keys int) {
	bs := newTestBus(b, sharedBroker(b), nil)
	topic := uniqueTopic(b, "bench")
	ctx := context.Background()
	// Create the topic, warm the connections and the broker's JIT outside
	// the measurement.
	if _, err := busbench.Publish(ctx, bs, busbench.Options{Topic: topic, Events: 10000, Publishers: 8}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	r, err := busbench.Publish(ctx, bs, busbench.Options{Topic: topic, Publishers: publishers, Events: b.N, Size: 1024, Batch: batch, Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(r.EventsPerSec(), "events/s")
	b.ReportMetric(r.MBPerSec(), "MB/s")
	b.ReportMetric(float64(r.CallP50.Microseconds()), "call-p50-us")
	b.ReportMetric(float64(r.CallP99.Microseconds()), "call-p99-us")
	b.SetBytes(1024)
	if testing.Verbose() {
		b.Log(r)
	}
}

func BenchmarkPublish1KB(b *testing.B) {
	for _, c := range []struct{ publishers, batch, keys int }{
		{1, 1, 0}, {16, 1, 0}, {16, 1, 1000}, {16, 16, 1000},
	} {
		b.Run(fmt.Sprintf("publishers=%d/batch=%d/keys=%d", c.publishers, c.batch, c.keys), func(b *testing.B) {
			benchPublish(b, c.publishers, c.batch, c.keys)
		})
	}
}

// BenchmarkLatency publishes single 1 KB events at a steady rate while a
// consumer group member receives them, and reports publish->receive
// percentiles. The event count is fixed and the run happens once whatever
// b.N is (so -benchtime 1x).
func BenchmarkLatency(b *testing.B) {
	for _, rate := range []int{100, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			bs := newTestBus(b, sharedBroker(b), nil)
			ctx := context.Background()
			// Warm the broker's JIT and the connections: a broker that has
			// just started is several times slower for its first thousands
			// of requests.
			if _, err := busbench.Publish(ctx, bs, busbench.Options{Topic: uniqueTopic(b, "warm"), Events: 10000, Publishers: 8}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			r, err := busbench.Latency(ctx, bs, busbench.LatencyOptions{
				Topic: uniqueTopic(b, "latency"), Rate: rate, Events: max(10*rate, 3000), Size: 1024, Keys: 100})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(r.P50.Microseconds()), "p50-us")
			b.ReportMetric(float64(r.P90.Microseconds()), "p90-us")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-us")
			b.ReportMetric(float64(r.Max.Microseconds()), "max-us")
			b.ReportMetric(float64(r.PublishP99.Microseconds()), "publish-p99-us")
			if testing.Verbose() {
				b.Log(r)
			}
		})
	}
}
