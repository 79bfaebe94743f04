package procstat

import (
	"os"
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
