package chatbench

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// noSchedLines fails t if the workers' stderr carries a schedtrace line.
func noSchedLines(t *testing.T, stderr string) {
	t.Helper()
	for line := range strings.Lines(stderr) {
		if strings.HasPrefix(line, "SCHED ") {
			t.Errorf("a worker's schedtrace line reached stderr: %q", line)
		}
	}
}

func TestWorkerEnviron(t *testing.T) {
	st := "schedtrace=" + strconv.Itoa(workerSchedTrace)
	o := Options{WorkerProcs: 1, WorkerEnv: []string{"X=1"}}
	base := []string{"PATH=/bin", "GODEBUG=gctrace=1", "HOME=/root"}
	got := o.workerEnviron(base)
	want := []string{"PATH=/bin", "HOME=/root", "GODEBUG=gctrace=1," + st, "GOMAXPROCS=1", "X=1"}
	if !slices.Equal(got, want) {
		t.Errorf("workerEnviron = %q, want %q", got, want)
	}
	if base[1] != "GODEBUG=gctrace=1" || len(base) != 3 {
		t.Errorf("workerEnviron changed its argument: %q", base)
	}
	o = Options{}
	if got, want := o.workerEnviron([]string{"PATH=/bin"}), []string{"PATH=/bin", "GODEBUG=" + st}; !slices.Equal(got, want) {
		t.Errorf("workerEnviron = %q, want %q", got, want)
	}
}
