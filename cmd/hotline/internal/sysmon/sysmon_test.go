package sysmon

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
)

func TestGODEBUG(t *testing.T) {
	st := "schedtrace=" + strconv.Itoa(Interval)
	for _, c := range []struct {
		in, want string
		added    bool
	}{
		{"", st, true},
		{"madvdontneed=1", "madvdontneed=1," + st, true},
		{"gctrace=1,madvdontneed=1", "gctrace=1,madvdontneed=1," + st, true},
		{"schedtrace=1000", "schedtrace=1000", false},               // the caller's own trace wins
		{"gctrace=1,schedtrace=5", "gctrace=1,schedtrace=5", false}, // wherever it is
		{"schedtrace=0", "schedtrace=0", false},                     // even one that turns it off
		{"scheddetail=1", "scheddetail=1," + st, true},
		// The runtime does not trim: " schedtrace" is another key to it.
		{"gctrace=1, schedtrace=5", "gctrace=1, schedtrace=5," + st, true},
	} {
		got, added := GODEBUG(c.in, Interval)
		if got != c.want || added != c.added {
			t.Errorf("GODEBUG(%q) = %q, %v; want %q, %v", c.in, got, added, c.want, c.added)
		}
	}
}

func TestDescribe(t *testing.T) {
	for in, want := range map[string]string{
		"":                                     "go default",
		"gctrace=1":                            "go default",
		"schedtrace=0":                         "go default",
		"schedtrace=soon":                      "go default",
		"schedtrace=" + strconv.Itoa(Interval): "steady",
		"gctrace=1,schedtrace=" + strconv.Itoa(Interval): "steady",
		"schedtrace=1000":                                   "schedtrace=1000 ms",
		"schedtrace=1000,schedtrace=0":                      "go default", // the last one counts
		"schedtrace=0,schedtrace=" + strconv.Itoa(Interval): "steady",
	} {
		if got := Describe(in); got != want {
			t.Errorf("Describe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLookupAndEnviron(t *testing.T) {
	env := []string{"PATH=/bin", "GODEBUG=gctrace=1", "HOME=/root", "GODEBUG=madvdontneed=1"}
	if got := Lookup(env); got != "gctrace=1" {
		t.Errorf("Lookup = %q, want the first GODEBUG", got)
	}
	if got := Lookup(env[:1]); got != "" {
		t.Errorf("Lookup without GODEBUG = %q", got)
	}
	orig := slices.Clone(env)
	got := Environ(env, "a=1")
	want := []string{"PATH=/bin", "HOME=/root", "GODEBUG=a=1"}
	if !slices.Equal(got, want) {
		t.Errorf("Environ = %q, want %q", got, want)
	}
	if !slices.Equal(env, orig) {
		t.Errorf("Environ changed its argument: %q", env)
	}
}

func TestFilter(t *testing.T) {
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
		f := &Filter{W: &out}
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
	f := &Filter{W: &out}
	for i := range len(in) {
		f.Write([]byte{in[i]})
	}
	f.Flush()
	if out.String() != want {
		t.Fatalf("byte by byte: got %q, want %q", out.String(), want)
	}
	// An unfinished schedtrace line is dropped too.
	out.Reset()
	f = &Filter{W: &out}
	f.Write([]byte("line\nSCHED 5ms: gomax"))
	f.Flush()
	if out.String() != "line\n" {
		t.Fatalf("got %q, want %q", out.String(), "line\n")
	}
}
