package chatbench

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestWorkerGODEBUG(t *testing.T) {
	st := "schedtrace=" + strconv.Itoa(workerSchedTrace)
	for _, c := range []struct{ in, want string }{
		{"", st},
		{"madvdontneed=1", "madvdontneed=1," + st},
		{"gctrace=1,madvdontneed=1", "gctrace=1,madvdontneed=1," + st},
		{"schedtrace=1000", "schedtrace=1000"},                 // the caller's own trace wins
		{"gctrace=1, schedtrace=5", "gctrace=1, schedtrace=5"}, // wherever it is
		{"scheddetail=1", "scheddetail=1," + st},
	} {
		if got := workerGODEBUG(c.in); got != c.want {
			t.Errorf("workerGODEBUG(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSchedFilter(t *testing.T) {
	in := "SCHED 0ms: gomaxprocs=1 idleprocs=0 threads=4\n" +
		"worker: customer 3: socket closed\n" +
		"panic: boom\n" +
		"SCHED 10ms: gomaxprocs=1\n" +
		"goroutine 1 [running]:\n" +
		"unfinished"
	want := "worker: customer 3: socket closed\npanic: boom\ngoroutine 1 [running]:\nunfinished"
	// Every way of cutting the input into two writes, and byte by byte.
	for cut := 0; cut <= len(in); cut++ {
		var out bytes.Buffer
		f := &schedFilter{w: &out}
		f.Write([]byte(in[:cut]))
		f.Write([]byte(in[cut:]))
		if err := f.Flush(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("cut at %d: got %q, want %q", cut, out.String(), want)
		}
	}
	var out bytes.Buffer
	f := &schedFilter{w: &out}
	for i := range len(in) {
		f.Write([]byte{in[i]})
	}
	f.Flush()
	if out.String() != want {
		t.Fatalf("byte by byte: got %q, want %q", out.String(), want)
	}
	// An unfinished schedtrace line is dropped too.
	out.Reset()
	f = &schedFilter{w: &out}
	f.Write([]byte("line\nSCHED 5ms: gomax"))
	f.Flush()
	if out.String() != "line\n" {
		t.Fatalf("got %q, want %q", out.String(), "line\n")
	}
}

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
	want := []string{"PATH=/bin", "GODEBUG=gctrace=1", "HOME=/root", "GOMAXPROCS=1", "GODEBUG=gctrace=1," + st, "X=1"}
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
