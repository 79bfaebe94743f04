package chat

import (
	"strconv"
	"sync"
	"testing"
	"time"
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
