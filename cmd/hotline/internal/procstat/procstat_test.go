package procstat

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestReadsThisProcess(t *testing.T) {
	var sink []byte
	for i := 0; CPU() == 0 && i < 1e6; i++ {
		sink = append(sink, byte(i))
	}
	if CPU() <= 0 {
		t.Errorf("CPU() = %v after work", CPU())
	}
	heap, goroutines := NewHeapSampler().Read()
	if heap <= 0 || goroutines < 1 {
		t.Errorf("heap %d, goroutines %d", heap, goroutines)
	}
	if _, err := os.Stat("/proc/self/status"); err == nil {
		if PeakRSS() <= 0 {
			t.Errorf("PeakRSS() = %d with /proc present", PeakRSS())
		}
		if f := strings.Fields(LoadAvg()); len(f) != 3 {
			t.Errorf("LoadAvg() = %q", LoadAvg())
		}
	}
	_ = sink
}

func TestWaitSamplerSeesAGCPause(t *testing.T) {
	w := NewWaitSampler()
	runtime.GC()
	got := w.Read()
	if got.GC.Count == 0 || got.GC.Max <= 0 {
		t.Fatalf("a forced GC left no stop-the-world pause: %+v", got.GC)
	}
	if got.GC.P99 > got.GC.Max || got.GC.P999 > got.GC.Max {
		t.Fatalf("percentiles above the max: %+v", got.GC)
	}
}

func TestReadGoMemory(t *testing.T) {
	runtime.GC()
	m := ReadGoMemory()
	if m.Live <= 0 || m.Goal < m.Live || m.Stacks <= 0 || m.Total < m.Objects+m.Stacks {
		t.Fatalf("implausible Go memory: %+v", m)
	}
	if m.ScanHeap <= 0 || m.ScanStacks <= 0 {
		t.Fatalf("implausible scan sizes: %+v", m)
	}
}

// sink keeps the test's allocations reachable until the collector has
// marked them.
var sink [][]*int

func TestReadGCCPU(t *testing.T) {
	before := ReadGCCPU()
	for range 4 {
		s := make([]*int, 1<<16)
		for i := range s {
			s[i] = new(int)
		}
		sink = append(sink, s)
		runtime.GC()
	}
	sink = nil
	d := ReadGCCPU().Sub(before)
	if d.Background <= 0 || d.Pause <= 0 || d.Assist < 0 {
		t.Fatalf("GC CPU over four forced cycles: %+v", d)
	}
}

func TestGCCyclesCounts(t *testing.T) {
	before := GCCycles()
	runtime.GC()
	if after := GCCycles(); after <= before {
		t.Errorf("GCCycles() = %d after runtime.GC, was %d", after, before)
	}
}
