package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/busbench"
)

// Benchmarks of the durable publish path and of publish->consume latency,
// through package busbench. Run them with:
//
//	go test -run '^$' -bench 'DiskBaseline|Publish1KB|Memory' -benchtime 100000x ./bus/embedded
//	go test -run '^$' -bench 'Latency|DiskBaseline' -benchtime 1x -v ./bus/embedded
//
// The publish benchmarks report events/s and MB/s, BenchmarkMemory the Go
// heap in use and the process's peak RSS (VmHWM) after the load, and
// BenchmarkDiskBaseline what the disk itself gives in the same conditions.
// Environment knobs for comparisons: HOTLINE_EMBEDDED_ZERO_FILL=1 (zero-fill
// partition segments), HOTLINE_EMBEDDED_WAL_FALLOCATE=1 (fallocate WAL
// segments without zero-filling them), HOTLINE_EMBEDDED_BENCH_COMMIT=<duration>
// (CommitInterval of the latency benchmark).

func init() {
	// HOTLINE_EMBEDDED_ZERO_FILL=1 benchmarks segments zero-filled after
	// fallocate, for comparison.
	if os.Getenv("HOTLINE_EMBEDDED_ZERO_FILL") != "" {
		zeroFill = true
	}
	if os.Getenv("HOTLINE_EMBEDDED_WAL_FALLOCATE") != "" {
		walZeroFill = false
	}
}

func openBench(b *testing.B, cfg Config) *Bus {
	b.Helper()
	cfg.Dir = b.TempDir()
	bs, err := Open(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bs.Close() })
	return bs
}

func benchPublish(b *testing.B, publishers, batch, keys int) {
	bs := openBench(b, Config{})
	ctx := context.Background()
	// Create the topic (and its segments) outside the measurement.
	if _, err := busbench.Publish(ctx, bs, busbench.Options{Topic: "bench", Events: 1}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	r, err := busbench.Publish(ctx, bs, busbench.Options{Topic: "bench", Publishers: publishers, Events: b.N, Size: 1024, Batch: batch, Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(r.EventsPerSec(), "events/s")
	b.ReportMetric(r.MBPerSec(), "MB/s")
	b.ReportMetric(float64(r.CallP99.Microseconds()), "call-p99-us")
	b.SetBytes(1024)
	if testing.Verbose() {
		b.Log(r)
	}
}

func BenchmarkPublish1KB(b *testing.B) {
	for _, c := range []struct{ publishers, batch, keys int }{
		{1, 1, 0}, {16, 1, 0}, {16, 1, 1000}, {64, 1, 0}, {16, 16, 0}, {16, 64, 1000},
	} {
		b.Run(fmt.Sprintf("publishers=%d/batch=%d/keys=%d", c.publishers, c.batch, c.keys), func(b *testing.B) {
			benchPublish(b, c.publishers, c.batch, c.keys)
		})
	}
}

// BenchmarkLatency publishes single 1 KB events at a steady rate while a
// group member receives them; it reports publish->receive percentiles. It
// runs a fixed number of events once, whatever b.N (ns/op means nothing
// here).
func BenchmarkLatency(b *testing.B) {
	for _, rate := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			cfg := Config{}
			if d, err := time.ParseDuration(os.Getenv("HOTLINE_EMBEDDED_BENCH_COMMIT")); err == nil {
				cfg.CommitInterval = d
			}
			bs := openBench(b, cfg)
			r, err := busbench.Latency(context.Background(), bs, busbench.LatencyOptions{
				Topic: "latency", Rate: rate, Events: max(3*rate, 5000), Size: 1024, Keys: 100})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(r.P50.Microseconds()), "p50-us")
			b.ReportMetric(float64(r.P90.Microseconds()), "p90-us")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-us")
			b.ReportMetric(float64(r.Max.Microseconds()), "max-us")
			if testing.Verbose() {
				b.Log(r)
			}
		})
	}
}

// BenchmarkMemory runs 16 publishers of 1 KB events (batches of 16) with a
// group member consuming everything, then reports the heap in use and the
// process's peak RSS.
func BenchmarkMemory(b *testing.B) {
	bs := openBench(b, Config{})
	ctx := context.Background()
	sub, err := bs.Subscribe(ctx, "mem", subOpts("mem-group"))
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan int)
	go func() {
		n := 0
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				done <- n
				return
			}
			d.Ack()
			n++
		}
	}()
	b.ResetTimer()
	r, err := busbench.Publish(ctx, bs, busbench.Options{Topic: "mem", Publishers: 16, Events: b.N, Size: 1024, Batch: 16, Keys: 1000})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if bs.lag("mem", "mem-group") == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	sub.Close()
	n := <-done
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(r.EventsPerSec(), "events/s")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MB")
	b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MB")
	b.ReportMetric(vmHWM()/(1<<20), "peak-RSS-MB")
	if testing.Verbose() {
		b.Logf("%s; consumed %d", r, n)
	}
}

// BenchmarkDiskBaseline measures what the disk gives without the bus: a
// 1 KB pwrite + fdatasync into a preallocated file, one after the other (as
// one publisher publishing single events would), reporting percentiles of
// the pair. Compare it with BenchmarkLatency and the publishers=1 case,
// measured in the same conditions.
func BenchmarkDiskBaseline(b *testing.B) {
	path := filepath.Join(b.TempDir(), "baseline")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := preallocate(path, f, 64<<20, zeroFill); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1100)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := f.WriteAt(buf, int64(i%50000)*1100); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-us")
}

// vmHWM returns the process's peak resident set size in bytes.
func vmHWM() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkTailRead measures what it costs N subscriptions of the process
// to each read one record just made durable (the hub's case: every consumer
// keeps up with the log), with the tail cache and without it (the files,
// as before the cache). An op is one 1 KB record with two headers read by
// every subscription. With publish=false publishing is outside the
// measurement (and so is the committer's one decode per record for the
// cache); with publish=true the op includes publishing it in batches of
// 512 (one fdatasync per batch), which shows the whole cost per record.
//
//	go test -run '^$' -bench TailRead -benchmem -benchtime 300000x ./bus/embedded
func BenchmarkTailRead(b *testing.B) {
	for _, publish := range []bool{false, true} {
		for _, subs := range []int{1, 4} {
			for _, cache := range []bool{false, true} {
				b.Run(fmt.Sprintf("publish=%v/subs=%d/cache=%v", publish, subs, cache), func(b *testing.B) {
					benchTailRead(b, subs, cache, publish)
				})
			}
		}
	}
}

func benchTailRead(b *testing.B, subs int, cache, publish bool) {
	bs := openBench(b, Config{Partitions: 1})
	if !cache {
		bs.tailRecords, bs.tailBytes = 0, 0
	}
	ctx := context.Background()
	readers := make([]bus.Subscription, subs)
	for i := range readers {
		s, err := bs.Subscribe(ctx, "tail", bus.SubscribeOptions{Start: bus.StartLatest})
		if err != nil {
			b.Fatal(err)
		}
		readers[i] = s
	}
	// Rounds of records no bigger than the ring, published then read.
	const round = 512
	value := make([]byte, 1024)
	msgs := make([]bus.Message, round)
	for i := range msgs {
		msgs[i] = bus.Message{Key: fmt.Appendf(nil, "key-%d", i%100), Value: value,
			Headers: []bus.Header{{Key: "ce_id", Value: []byte("0190f0e5-5f5e-7c3a-9d1e-123456789abc")}, {Key: "ce_type", Value: []byte("message.sent")}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(round, b.N-done)
		if !publish {
			b.StopTimer()
		}
		if err := bs.Publish(ctx, "tail", msgs[:n]...); err != nil {
			b.Fatal(err)
		}
		if !publish {
			b.StartTimer()
		}
		for _, s := range readers {
			for range n {
				if _, err := s.Receive(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		done += n
	}
}
