package reindex

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/kafka"
	"github.com/hotline-hub/hotline/bus/kafka/kafkatest"
)

// TestReindexKafka runs a reindex on the Kafka bus (a real broker): the
// rebuild's consumer group reads from the earliest offsets, progress is
// measured with Kafka's end offsets, and the conversations the live
// indexer wrote just before pausing are in the new generation.
func TestReindexKafka(t *testing.T) {
	if os.Getenv(kafkatest.EnvBrokers) != "" {
		t.Skip("uses Hotline's topic names: needs a broker of its own, not " + kafkatest.EnvBrokers)
	}
	br := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := kafka.New(ctx, kafka.Config{Brokers: br.Brokers(), Partitions: 4, CommitInterval: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	dir, x := openIndex(t)
	live := runLive(t, b, x)

	before := publishBefore(t, ctx, b, 100, func(int) bool { return true })
	waitComplete(t, x, before, func(string) bool { return true })

	late := newLateArrivals(t, live, b, x)
	job := newJob(t, 100*time.Millisecond, late.gate, b, Embedded{Dir: dir, Live: x}, late)
	rec := &recorder{}
	if err := job.Run(ctx, rec.report); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if x.Generation() != "g000002" {
		t.Errorf("generation %s after the reindex, want g000002", x.Generation())
	}
	reports := rec.list()
	first, last := reports[0], reports[len(reports)-1]
	if first.Total < int64(len(before)*6) || last.Phase != PhaseDone || last.Done != last.Total {
		t.Errorf("first report %+v, last %+v", first, last)
	}
	waitComplete(t, x, before, func(string) bool { return true })
	waitComplete(t, x, late.ids, func(string) bool { return false })
}
