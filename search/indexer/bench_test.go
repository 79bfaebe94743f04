package indexer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/search"
)

// benchSeconds is how long BenchmarkLag publishes: INDEXER_BENCH_SECONDS,
// 30 by default.
func benchSeconds() int {
	if n, err := strconv.Atoi(os.Getenv("INDEXER_BENCH_SECONDS")); err == nil && n > 0 {
		return n
	}
	return 30
}

// word is a unique searchable word for message n: letters only, so every
// analyzer keeps it whole.
func word(n int) string {
	b := []byte("zq")
	for {
		b = append(b, byte('a'+n%26))
		n /= 26
		if n == 0 {
			return string(b)
		}
	}
}

// benchMessage is message n, in conversation n/10 (ten messages each).
func benchMessage(tb testing.TB, n int, at time.Time) bus.Message {
	conv := fmt.Sprintf("b%06d", n/10)
	e, err := event.New(event.MessageReceived, tenant, &event.MessageReceivedData{
		MessageID: fmt.Sprintf("m%07d", n), From: event.Address{Address: "+33612345678", Name: "Client"},
		To:   []event.Address{{Address: "+33100000000"}},
		Text: "Bonjour, ma commande " + word(n) + " n'est pas arrivée, pouvez-vous vérifier la livraison ?",
	}, event.WithConversation(conv), event.WithChannel(event.ChannelSMS), event.WithTime(at), event.WithContact("k"+conv))
	if err != nil {
		tb.Fatal(err)
	}
	m, err := event.ToMessage(e)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// lagIndex records when each message's entry was first written.
type lagIndex struct {
	search.Index
	mu        sync.Mutex
	published map[string]time.Time
	lags      []time.Duration
}

func (x *lagIndex) Write(ctx context.Context, b search.Batch) error {
	if err := x.Index.Write(ctx, b); err != nil {
		return err
	}
	now := time.Now()
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, c := range b.Conversations {
		for _, e := range c.Entries {
			if at, ok := x.published[e.ID]; ok {
				x.lags = append(x.lags, now.Sub(at))
				delete(x.published, e.ID)
			}
		}
	}
	return nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// BenchmarkLag publishes 2,000 messages/s for INDEXER_BENCH_SECONDS through
// the embedded bus into the embedded index and reports the lag from
// publish to written (every message) and to searchable (one in 200,
// polled with Search). Run it with -benchtime=1x.
func BenchmarkLag(b *testing.B) {
	const rate, tick = 2000, 10 * time.Millisecond
	perTick := rate * int(tick) / int(time.Second)
	bs, idx := openBus(b), openIndex(b)
	x := &lagIndex{Index: idx, published: map[string]time.Time{}}
	r := start(b, Config{FlushInterval: DefaultFlushInterval, RetryMin: DefaultRetryMin}, bs, x)
	ctx := context.Background()

	var searchMu sync.Mutex
	var searchLags []time.Duration
	var searchers sync.WaitGroup
	total := benchSeconds() * rate
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	began := time.Now()
	b.ResetTimer()
	for n := 0; n < total; n += perTick {
		<-ticker.C
		now := time.Now()
		msgs := make([]bus.Message, 0, perTick)
		x.mu.Lock()
		for i := n; i < n+perTick; i++ {
			msgs = append(msgs, benchMessage(b, i, now))
			x.published[fmt.Sprintf("m%07d", i)] = now
		}
		x.mu.Unlock()
		if err := bs.Publish(ctx, event.TopicConversations, msgs...); err != nil {
			b.Fatal(err)
		}
		if n%200 == 0 {
			searchers.Add(1)
			go func(w string, at time.Time) {
				defer searchers.Done()
				for time.Since(at) < time.Minute {
					res, err := idx.Search(ctx, search.Query{Tenant: tenant, Text: w, Size: 1})
					if err == nil && res.Total > 0 {
						searchMu.Lock()
						searchLags = append(searchLags, time.Since(at))
						searchMu.Unlock()
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}(word(n), now)
		}
	}
	publishing := time.Since(began)
	for {
		x.mu.Lock()
		left := len(x.published)
		x.mu.Unlock()
		if left == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	searchers.Wait()
	b.StopTimer()
	if err := r.stop(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/publishing.Seconds(), "msgs/s")
	b.ReportMetric(float64(percentile(x.lags, 0.50).Milliseconds()), "p50-written-ms")
	b.ReportMetric(float64(percentile(x.lags, 0.99).Milliseconds()), "p99-written-ms")
	b.ReportMetric(float64(percentile(searchLags, 0.50).Milliseconds()), "p50-searchable-ms")
	b.ReportMetric(float64(percentile(searchLags, 0.99).Milliseconds()), "p99-searchable-ms")
	b.Logf("%d messages in %s; %d searchable samples; writes %+v", total, publishing.Round(time.Millisecond), len(searchLags), r.ix.Stats())
}

// BenchmarkReplay indexes INDEXER_BENCH_REPLAY messages (100,000 by
// default) already on the bus, as a reindex does, and reports the
// throughput. Run it with -benchtime=1x.
func BenchmarkReplay(b *testing.B) {
	total := 100_000
	if n, err := strconv.Atoi(os.Getenv("INDEXER_BENCH_REPLAY")); err == nil && n > 0 {
		total = n
	}
	bs, idx := openBus(b), openIndex(b)
	ctx := context.Background()
	at := time.Now()
	for n := 0; n < total; n += 1000 {
		msgs := make([]bus.Message, 0, 1000)
		for i := n; i < min(n+1000, total); i++ {
			msgs = append(msgs, benchMessage(b, i, at))
		}
		if err := bs.Publish(ctx, event.TopicConversations, msgs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	began := time.Now()
	r := start(b, Config{FlushInterval: DefaultFlushInterval, RetryMin: DefaultRetryMin}, bs, idx)
	for r.ix.Stats().Events < int64(total) {
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(began)
	b.StopTimer()
	if err := r.stop(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/took.Seconds(), "msgs/s")
	b.ReportMetric(took.Seconds(), "s-total")
	b.Logf("%d messages indexed in %s; %+v", total, took.Round(time.Millisecond), r.ix.Stats())
}
