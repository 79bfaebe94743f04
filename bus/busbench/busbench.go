// Package busbench measures a bus: durable publish throughput, and the
// latency from the start of a Publish to the Receive of the message by a
// consumer group member. It works on any bus.Bus, so the embedded bus and
// Kafka are measured the same way.
package busbench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hotline-hub/hotline/bus"
)

// Options configure a publish throughput run.
type Options struct {
	// Topic receives the events; it should be fresh or dedicated to
	// benchmarks. Default "busbench".
	Topic string
	// Publishers is the number of goroutines publishing concurrently;
	// default 1.
	Publishers int
	// Events is the number of events to publish in total. If zero, the run
	// lasts Duration instead (default 10s).
	Events   int
	Duration time.Duration
	// Size is the value size of each event in bytes; default 1024.
	Size int
	// Batch is the number of messages per Publish call; default 1.
	Batch int
	// Keys is the number of distinct keys; 0 publishes without keys (round
	// robin over partitions).
	Keys int
}

func (o *Options) defaults() {
	if o.Topic == "" {
		o.Topic = "busbench"
	}
	if o.Publishers <= 0 {
		o.Publishers = 1
	}
	if o.Events <= 0 && o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Size <= 0 {
		o.Size = 1024
	}
	if o.Batch <= 0 {
		o.Batch = 1
	}
}

// Result is what a throughput run measured.
type Result struct {
	Options   Options
	Events    int           // events published (every Publish returned nil)
	Bytes     int64         // value bytes published
	Publishes int           // Publish calls
	Elapsed   time.Duration // from the first Publish to the last return
	// Publish call latency (one call carries Batch events).
	CallP50, CallP99, CallMax time.Duration
}

// EventsPerSec is the durable publish rate.
func (r Result) EventsPerSec() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// MBPerSec is the durable value throughput in MB/s (10^6 bytes).
func (r Result) MBPerSec() float64 { return float64(r.Bytes) / 1e6 / r.Elapsed.Seconds() }

func (r Result) String() string {
	keys := "no keys"
	if r.Options.Keys > 0 {
		keys = fmt.Sprintf("%d keys", r.Options.Keys)
	}
	return fmt.Sprintf("publish: %d events of %d B (%d publishers, %d per Publish, %s) in %s: %.0f events/s, %.1f MB/s; Publish call p50 %s p99 %s max %s",
		r.Events, r.Options.Size, r.Options.Publishers, r.Options.Batch, keys, r.Elapsed.Round(time.Millisecond),
		r.EventsPerSec(), r.MBPerSec(), roundDur(r.CallP50), roundDur(r.CallP99), roundDur(r.CallMax))
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 10*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}

// Publish publishes events from o.Publishers goroutines, each waiting for
// its Publish to return (durable) before the next, and reports the rate.
func Publish(ctx context.Context, b bus.Bus, o Options) (Result, error) {
	o.defaults()
	keys := makeKeys(o.Keys)
	var remaining atomic.Int64
	remaining.Store(int64(o.Events))
	var deadline time.Time
	if o.Events <= 0 {
		deadline = time.Now().Add(o.Duration)
	}
	type worker struct {
		events, calls int
		lat           []time.Duration
		err           error
	}
	workers := make([]worker, o.Publishers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wk := &workers[w]
			value := make([]byte, o.Size)
			_, _ = rand.Read(value)
			msgs := make([]bus.Message, o.Batch)
			k := w
			for ctx.Err() == nil {
				n := o.Batch
				if o.Events > 0 {
					left := remaining.Add(-int64(n))
					if left < 0 {
						n += int(left)
						if n <= 0 {
							return
						}
					}
				} else if time.Now().After(deadline) {
					return
				}
				for i := 0; i < n; i++ {
					msgs[i] = bus.Message{Value: value}
					if keys != nil {
						msgs[i].Key = keys[k%len(keys)]
						k += o.Publishers
					}
				}
				t0 := time.Now()
				if err := b.Publish(ctx, o.Topic, msgs[:n]...); err != nil {
					wk.err = err
					return
				}
				wk.lat = append(wk.lat, time.Since(t0))
				wk.events += n
				wk.calls++
			}
		}()
	}
	wg.Wait()
	r := Result{Options: o, Elapsed: time.Since(start)}
	var lat []time.Duration
	var errs []error
	for _, wk := range workers {
		r.Events += wk.events
		r.Publishes += wk.calls
		lat = append(lat, wk.lat...)
		if wk.err != nil {
			errs = append(errs, wk.err)
		}
	}
	r.Bytes = int64(r.Events) * int64(o.Size)
	r.CallP50, r.CallP99, r.CallMax = percentile(lat, 50), percentile(lat, 99), percentile(lat, 100)
	if err := errors.Join(errs...); err != nil {
		return r, fmt.Errorf("busbench: publish: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	return r, nil
}

func makeKeys(n int) [][]byte {
	if n <= 0 {
		return nil
	}
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%d", i)
	}
	return keys
}

// percentile returns the p-th percentile of d (sorting it).
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	if !slices.IsSorted(d) {
		slices.Sort(d)
	}
	i := int(float64(len(d))*p/100+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}

// LatencyOptions configure a publish-to-receive latency run.
type LatencyOptions struct {
	// Topic receives the events; default "busbench.latency".
	Topic string
	// Group is the consumer group that receives them; default a fresh
	// name per run.
	Group string
	// Rate is the number of events published per second, at a steady
	// pace; default 1000.
	Rate int
	// Events is the number of measured events; default 10,000. Duration,
	// if set, overrides it (Rate × Duration events).
	Events   int
	Duration time.Duration
	// Size is the value size in bytes; default 1024.
	Size int
	// Keys is the number of distinct keys; 0 publishes without keys.
	Keys int
	// Publishers is the number of goroutines sharing the schedule, so a
	// slow Publish does not hold back the next event; default 4.
	Publishers int
	// Timeout bounds the wait for the last events; default 30s.
	Timeout time.Duration
}

func (o *LatencyOptions) defaults() {
	if o.Topic == "" {
		o.Topic = "busbench.latency"
	}
	if o.Group == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Group = "busbench-" + hex.EncodeToString(b[:])
	}
	if o.Rate <= 0 {
		o.Rate = 1000
	}
	if o.Duration > 0 {
		o.Events = int(o.Duration.Seconds() * float64(o.Rate))
	}
	if o.Events <= 0 {
		o.Events = 10000
	}
	if o.Size <= 0 {
		o.Size = 1024
	}
	if o.Publishers <= 0 {
		o.Publishers = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
}

// LatencyResult is what a latency run measured: the time from just before
// Publish was called to the return of Receive in the group member.
type LatencyResult struct {
	Options                LatencyOptions
	Events                 int // events received and measured
	Elapsed                time.Duration
	P50, P90, P99, Max     time.Duration
	PublishP50, PublishP99 time.Duration // Publish call latency (durable)
}

func (r LatencyResult) String() string {
	return fmt.Sprintf("latency: %d events of %d B at %d/s: publish->receive p50 %s p90 %s p99 %s max %s; Publish call p50 %s p99 %s",
		r.Events, r.Options.Size, r.Options.Rate, roundDur(r.P50), roundDur(r.P90), roundDur(r.P99), roundDur(r.Max),
		roundDur(r.PublishP50), roundDur(r.PublishP99))
}

const (
	hdrRun  = "busbench-run"
	hdrSent = "busbench-sent"
	hdrSeq  = "busbench-seq"
)

// Latency publishes single events at a steady rate and receives them
// through a consumer group, measuring publish-start to receive.
func Latency(ctx context.Context, b bus.Bus, o LatencyOptions) (LatencyResult, error) {
	o.defaults()
	r := LatencyResult{Options: o}
	var runID [8]byte
	_, _ = rand.Read(runID[:])
	sub, err := b.Subscribe(ctx, o.Topic, bus.SubscribeOptions{Group: o.Group, Start: bus.StartLatest})
	if err != nil {
		return r, fmt.Errorf("busbench: subscribe: %w", err)
	}
	defer sub.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lat := make([]time.Duration, 0, o.Events)
	seen := make([]bool, o.Events)
	probed := make(chan struct{})
	recvDone := make(chan error, 1)
	go func() {
		var probeOnce sync.Once
		for len(lat) < o.Events {
			d, err := sub.Receive(ctx)
			if err != nil {
				recvDone <- err
				return
			}
			now := time.Now()
			_ = d.Ack()
			run, _ := d.Header(hdrRun)
			if string(run) != string(runID[:]) {
				continue
			}
			seqB, ok := d.Header(hdrSeq)
			if !ok || len(seqB) != 8 {
				probeOnce.Do(func() { close(probed) }) // a probe
				continue
			}
			seq := int(binary.LittleEndian.Uint64(seqB))
			sentB, _ := d.Header(hdrSent)
			if seq >= len(seen) || seen[seq] || len(sentB) != 8 {
				continue
			}
			seen[seq] = true
			lat = append(lat, now.Sub(time.Unix(0, int64(binary.LittleEndian.Uint64(sentB)))))
		}
		recvDone <- nil
	}()

	// Wait until the member is assigned and receiving (immediate on the
	// embedded bus, seconds on Kafka), by publishing probes.
	probe := bus.Message{Value: []byte("probe"), Headers: []bus.Header{{Key: hdrRun, Value: runID[:]}}}
probing:
	for {
		if err := b.Publish(ctx, o.Topic, probe); err != nil {
			return r, fmt.Errorf("busbench: publish probe: %w", err)
		}
		select {
		case <-probed:
			break probing
		case err := <-recvDone:
			return r, fmt.Errorf("busbench: receive: %w", err)
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}

	keys := makeKeys(o.Keys)
	jobs := make(chan int, o.Events)
	pubLat := make([][]time.Duration, o.Publishers)
	pubErr := make(chan error, o.Publishers)
	var wg sync.WaitGroup
	for w := 0; w < o.Publishers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			value := make([]byte, o.Size)
			_, _ = rand.Read(value)
			for seq := range jobs {
				// Fresh header bytes per message: Publish may keep them
				// (see bus.Publisher), so they are never overwritten.
				hv := make([]byte, 16)
				seqB, sentB := hv[:8:8], hv[8:]
				binary.LittleEndian.PutUint64(seqB, uint64(seq))
				m := bus.Message{Value: value, Headers: []bus.Header{
					{Key: hdrRun, Value: runID[:]}, {Key: hdrSeq, Value: seqB}, {Key: hdrSent, Value: sentB},
				}}
				if keys != nil {
					m.Key = keys[seq%len(keys)]
				}
				t0 := time.Now()
				binary.LittleEndian.PutUint64(sentB, uint64(t0.UnixNano()))
				if err := b.Publish(ctx, o.Topic, m); err != nil {
					pubErr <- err
					return
				}
				pubLat[w] = append(pubLat[w], time.Since(t0))
			}
		}()
	}
	start := time.Now()
	interval := time.Second / time.Duration(o.Rate)
	for seq := 0; seq < o.Events; seq++ {
		due := start.Add(time.Duration(seq) * interval)
		sleepUntil(due)
		if ctx.Err() != nil {
			break
		}
		jobs <- seq
	}
	close(jobs)
	wg.Wait()
	close(pubErr)
	if err := <-pubErr; err != nil {
		return r, fmt.Errorf("busbench: publish: %w", err)
	}
	var err2 error
	select {
	case err2 = <-recvDone:
	case <-time.After(o.Timeout):
		cancel()
		err2 = <-recvDone
		err2 = fmt.Errorf("busbench: received %d of %d events within %s after publishing ended: %w", len(lat), o.Events, o.Timeout, err2)
	}
	r.Elapsed = time.Since(start)
	var pl []time.Duration
	for _, l := range pubLat {
		pl = append(pl, l...)
	}
	r.PublishP50, r.PublishP99 = percentile(pl, 50), percentile(pl, 99)
	r.Events = len(lat)
	r.P50, r.P90, r.P99, r.Max = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), percentile(lat, 100)
	if err2 != nil {
		return r, err2
	}
	return r, nil
}

// sleepUntil sleeps until t.
func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}
