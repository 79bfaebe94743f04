// Package procstat reads what the load commands report of their own
// process: CPU time, peak resident memory, Go heap and goroutines, the
// garbage collector's settings, and the machine's load average.
package procstat

import (
	"bufio"
	"math"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU is this process's user+sys CPU time so far (children, such as load
// generators it started, are not in it).
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSS is this process's VmHWM in bytes, 0 where /proc is absent.
func PeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// ResetPeakRSS sets VmHWM back to the current RSS (Linux ≥ 4.0), so a
// phase's peak is not the previous phase's. It reports whether it could.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// HeapSampler reads the Go heap in use (objects plus free space in in-use
// spans, as MemStats.HeapInuse) and the goroutine count without stopping
// the world.
type HeapSampler struct {
	s []metrics.Sample
}

// NewHeapSampler returns a sampler.
func NewHeapSampler() *HeapSampler {
	return &HeapSampler{s: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}}
}

// Read returns the heap in use in bytes and the number of goroutines.
func (h *HeapSampler) Read() (heap int64, goroutines int) {
	metrics.Read(h.s)
	for i, s := range h.s {
		if s.Value.Kind() != metrics.KindUint64 {
			continue
		}
		if i < 2 {
			heap += int64(s.Value.Uint64())
		} else {
			goroutines = int(s.Value.Uint64())
		}
	}
	return heap, goroutines
}

// LoadAvg is the first three fields of /proc/loadavg, "unknown" where it
// is absent.
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// GoMemory is where the Go runtime's memory goes, in bytes.
type GoMemory struct {
	// Live is the heap the last GC found reachable; Goal the heap size at
	// which the next GC ends (GOGC and the memory limit set it).
	Live int64 `json:"live"`
	Goal int64 `json:"goal"`
	// Objects counts live and not yet swept objects; Stacks goroutine
	// stacks; Total everything the runtime has mapped and not released.
	Objects int64 `json:"objects"`
	Stacks  int64 `json:"stacks"`
	Total   int64 `json:"total"`
	// ScanHeap is the heap that may hold pointers, which the collector
	// scans: what the last cycle scanned, plus what was allocated with
	// pointers since. ScanStacks and ScanGlobals are the goroutine stacks
	// and the globals the last cycle scanned. A cycle's marking work
	// follows their sum, not the heap's size.
	ScanHeap    int64 `json:"scan_heap"`
	ScanStacks  int64 `json:"scan_stacks"`
	ScanGlobals int64 `json:"scan_globals"`
}

// ReadGoMemory reads GoMemory now, without stopping the world.
func ReadGoMemory() GoMemory {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
	}
	metrics.Read(s)
	v := make([]int64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	return GoMemory{Live: v[0], Goal: v[1], Objects: v[2], Stacks: v[3], Total: v[4] - v[5],
		ScanHeap: v[6], ScanStacks: v[7], ScanGlobals: v[8]}
}

// GCCPU is the CPU time the garbage collector has taken in this process,
// as the runtime estimates it: Assist is marking done by goroutines that
// allocated during a cycle (which delays them), Background the mark
// workers', Pause the stops of the world (times GOMAXPROCS).
type GCCPU struct {
	Assist     time.Duration `json:"assist_ns"`
	Background time.Duration `json:"background_ns"`
	Pause      time.Duration `json:"pause_ns"`
}

// ReadGCCPU reads GCCPU since the process started.
func ReadGCCPU() GCCPU {
	s := []metrics.Sample{
		{Name: "/cpu/classes/gc/mark/assist:cpu-seconds"}, {Name: "/cpu/classes/gc/mark/dedicated:cpu-seconds"},
		{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"}, {Name: "/cpu/classes/gc/pause:cpu-seconds"},
	}
	metrics.Read(s)
	d := make([]time.Duration, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindFloat64 {
			d[i] = time.Duration(s[i].Value.Float64() * float64(time.Second))
		}
	}
	return GCCPU{Assist: d[0], Background: d[1] + d[2], Pause: d[3]}
}

// Sub is the GC CPU taken between o and g.
func (g GCCPU) Sub(o GCCPU) GCCPU {
	return GCCPU{Assist: g.Assist - o.Assist, Background: g.Background - o.Background, Pause: g.Pause - o.Pause}
}

// GC reads this process's garbage collector settings without changing
// them: the GC percentage (GOGC, debug.SetGCPercent; -1 when off) and the
// memory limit (GOMEMLIMIT, debug.SetMemoryLimit; 0 when there is none).
func GC() (percent int, limit int64) {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	if l := s[1].Value.Uint64(); l < math.MaxInt64 {
		limit = int64(l)
	}
	return int(s[0].Value.Uint64()), limit
}

// GCCycles is how many garbage collection cycles this process has
// completed.
func GCCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
