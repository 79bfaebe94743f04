package procstat

import (
	"math"
	"runtime/metrics"
	"time"
)

// Waits are the Go runtime's own stalls over a window: how long runnable
// goroutines waited for a thread (scheduling latency), and how long the
// world was stopped for the GC. A latency tail that these match is the
// process starved of CPU or paused, not slow code on the path.
type Waits struct {
	Sched Dist `json:"sched"`
	GC    Dist `json:"gc_pauses"`
}

// Dist is a histogram's count and upper percentiles. The runtime's
// buckets are exponential, so the values are bucket bounds (within a few
// percent of the true ones).
type Dist struct {
	Count uint64        `json:"count"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

// WaitSampler measures Waits from its creation to each Read.
type WaitSampler struct {
	base []metrics.Sample
}

var waitMetrics = []string{"/sched/latencies:seconds", "/sched/pauses/total/gc:seconds"}

// NewWaitSampler starts a window now.
func NewWaitSampler() *WaitSampler {
	return &WaitSampler{base: readHists()}
}

// Read returns the waits since NewWaitSampler.
func (w *WaitSampler) Read() Waits {
	now := readHists()
	return Waits{Sched: delta(w.base[0], now[0]), GC: delta(w.base[1], now[1])}
}

func readHists() []metrics.Sample {
	s := make([]metrics.Sample, len(waitMetrics))
	for i, n := range waitMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	return s
}

// delta is the distribution of what was added to histogram a to get b.
func delta(a, b metrics.Sample) Dist {
	if a.Value.Kind() != metrics.KindFloat64Histogram || b.Value.Kind() != metrics.KindFloat64Histogram {
		return Dist{}
	}
	ha, hb := a.Value.Float64Histogram(), b.Value.Float64Histogram()
	if len(ha.Counts) != len(hb.Counts) {
		return Dist{}
	}
	counts := make([]uint64, len(hb.Counts))
	var total uint64
	for i := range counts {
		counts[i] = hb.Counts[i] - ha.Counts[i]
		total += counts[i]
	}
	d := Dist{Count: total}
	if total == 0 {
		return d
	}
	// The value of bucket i is its upper bound, or its lower bound for the
	// last, open one.
	value := func(i int) time.Duration {
		v := hb.Buckets[i+1]
		if math.IsInf(v, 1) {
			v = hb.Buckets[i]
		}
		return time.Duration(v * float64(time.Second))
	}
	at := func(q float64) time.Duration {
		rank := uint64(math.Ceil(q * float64(total)))
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				return value(i)
			}
		}
		return value(len(counts) - 1)
	}
	d.P99, d.P999 = at(0.99), at(0.999)
	for i := len(counts) - 1; i >= 0; i-- {
		if counts[i] > 0 {
			d.Max = value(i)
			break
		}
	}
	return d
}
