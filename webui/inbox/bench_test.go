package inbox

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing"
	"github.com/hotline-hub/hotline/webui/auth"
)

// BenchmarkFoldConversations folds chat conversations of 10 messages of
// 100 bytes each into the view (no bus I/O) and reports the fold rate and
// the heap and objects kept per conversation, which bound a web instance
// and the collector's work.
func BenchmarkFoldConversations(b *testing.B) {
	bb, err := embedded.Open(embedded.Config{Dir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bb.Close()
	a, err := auth.New(auth.Config{}, bb, nil)
	if err != nil {
		b.Fatal(err)
	}
	cfg := Config{Routing: routing.Config{Tenants: []routing.TenantConfig{{ID: "acme", Queues: []routing.QueueConfig{{ID: "support"}},
		Agents: []routing.AgentConfig{{ID: "a1", Capacity: map[string]int{"chat": 3}}}}}}}
	const perConv = 10
	text := string(make([]byte, 100))
	var msgs []bus.Message
	var times []time.Time
	convs := 2000
	for c := range convs {
		id := fmt.Sprintf("conv-%d", c)
		for m := range perConv {
			e, err := event.New(event.MessageReceived, "acme", &event.MessageReceivedData{
				MessageID: fmt.Sprintf("%s-m%d", id, m), From: event.Address{Address: "visitor-" + id, Name: "Visitor"},
				To: []event.Address{{Address: "support"}}, Text: text}, event.WithConversation(id), event.WithChannel("chat"),
				event.WithTime(time.Unix(int64(c*perConv+m), 0)))
			if err != nil {
				b.Fatal(err)
			}
			msg, err := event.ToMessage(e)
			if err != nil {
				b.Fatal(err)
			}
			msgs, times = append(msgs, msg), append(times, e.Time)
		}
	}
	b.ResetTimer()
	var heap, objects float64
	var gc time.Duration
	for range b.N {
		in, err := New(cfg, bb, a, nil)
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		// A delivery per fold, as from the bus: what the fold decodes
		// is garbage afterwards unless the view keeps it.
		for i, m := range msgs {
			in.foldConversations(bus.NewDelivery(m, event.TopicConversations, 0, int64(i), times[i], nil))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += float64(after.HeapAlloc) - float64(before.HeapAlloc)
		objects += float64(after.HeapObjects) - float64(before.HeapObjects)
		// What the view costs each collection: it is marked (and its
		// pointers scanned) every cycle.
		start := time.Now()
		runtime.GC()
		gc += time.Since(start)
		runtime.KeepAlive(in)
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(heap/float64(b.N*convs), "heap-bytes/conversation")
	b.ReportMetric(objects/float64(b.N*convs), "objects/conversation")
	b.ReportMetric(float64(gc.Microseconds())/float64(b.N), "µs/full-GC")
}
