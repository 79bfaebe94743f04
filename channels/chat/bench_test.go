package chat

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
)

// BenchmarkMessageAck measures a visitor message from the socket to its
// ack (publish to the embedded bus, durable, state record), with 1 and 16
// visitors sending at once.
func BenchmarkMessageAck(b *testing.B) {
	for _, visitors := range []int{1, 16} {
		b.Run("visitors="+strconv.Itoa(visitors), func(b *testing.B) {
			bb := newBus(b)
			cfg := baseConfig(b, b.TempDir())
			cfg.MessageRate, cfg.MessageBurst = 1e9, 1e9
			cfg.IPMessageRate, cfg.IPMessageBurst = 1e9, 1e9
			cfg.ConnectBurst = 1000
			h := startHub(b, bb, cfg)
			clients := make([]*client, visitors)
			for i := range clients {
				clients[i] = h.dial(b, "")
				clients[i].hello("demo", "support", "", nil)
			}
			per := b.N/visitors + 1
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i, c := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range per {
						if err := c.ws.WriteJSON(map[string]any{"type": "message",
							"client_id": strconv.Itoa(i) + "-" + strconv.Itoa(j), "text": "benchmark message"}); err != nil {
							b.Error(err)
							return
						}
						for {
							f, err := c.read()
							if err != nil {
								b.Error(err)
								return
							}
							if f.Type == "ack" {
								break
							}
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.ReportMetric(float64(per*visitors)/el.Seconds(), "acks/s")
			b.ReportMetric(float64(el.Microseconds())/float64(per), "µs-latency/ack")
		})
	}
}

// BenchmarkHistoryHeap folds 10,000 conversations of 14 visitor messages
// and 14 agent replies of 100 bytes each (what the customers of `hotline
// bench chat` have after 70 s) into the channel's histories, as the channel
// reads them from the bus, and reports what the histories keep per
// conversation (heap bytes and objects) and how long a full collection
// takes with them: histories are much of what the collector marks in a
// busy hub.
func BenchmarkHistoryHeap(b *testing.B) {
	const convs, perConv = 10000, 14
	text := strings.Repeat("x", 100)
	// fold reads conversation n's events as the channel reads them from
	// the bus: each decoded here, and garbage once folded.
	fold := func(c *Channel, n int) {
		convID := fmt.Sprintf("conv-%05d", n)
		for m := range perConv {
			at := time.Unix(int64(n*perConv+m), 0)
			rcv, err := event.New(event.MessageReceived, "demo", &event.MessageReceivedData{
				MessageID: fmt.Sprintf("%s-m%d", convID, m), ClientMessageID: fmt.Sprintf("cid-%d", m),
				From: event.Address{Address: "visitor-" + convID}, To: []event.Address{{Address: "support"}}, Text: text,
			}, event.WithConversation(convID), event.WithChannel(event.ChannelChat), event.WithTime(at))
			if err != nil {
				b.Fatal(err)
			}
			sent, err := event.New(event.MessageSent, "demo", &event.MessageSentData{
				MessageID: fmt.Sprintf("%s-r%d", convID, m), AgentID: "a1", From: event.Address{Address: "agent-a1", Name: "Alice"},
				To: []event.Address{{Address: "visitor-" + convID}}, Text: text,
			}, event.WithConversation(convID), event.WithChannel(event.ChannelChat), event.WithTime(at.Add(time.Millisecond)))
			if err != nil {
				b.Fatal(err)
			}
			for _, e := range []*event.Envelope{rcv, sent} {
				msg, err := event.ToMessage(e)
				if err != nil {
					b.Fatal(err)
				}
				read, err := event.FromMessage(&msg)
				if err != nil {
					b.Fatal(err)
				}
				c.apply(read)
			}
		}
	}
	bb := newBus(b)
	cfg := baseConfig(b, b.TempDir())
	var heap, objects float64
	var gc time.Duration
	for b.Loop() {
		c, err := New(cfg, bb, testLog(b))
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for n := range convs {
			fold(c, n)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += float64(after.HeapAlloc) - float64(before.HeapAlloc)
		objects += float64(after.HeapObjects) - float64(before.HeapObjects)
		start := time.Now()
		runtime.GC()
		gc += time.Since(start)
		runtime.KeepAlive(c)
	}
	b.ReportMetric(heap/float64(b.N*convs), "heap-bytes/conversation")
	b.ReportMetric(objects/float64(b.N*convs), "objects/conversation")
	b.ReportMetric(float64(gc.Microseconds())/float64(b.N), "µs/full-GC")
}
