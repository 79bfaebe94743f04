// Package sysmon keeps the Go runtime's monitor thread (sysmon) at a
// steady pace in a process that is busy but often idle for a moment, by
// way of GODEBUG's schedtrace, which a process can only be given at
// start.
//
// Measured (docs/BENCHMARKS.md): a `perf record` of a chat bench
// worker put a quarter of its CPU in sysmon, most of it in nanosleep, and
// one of the hub put a tenth of the hub's there. The runtime's source
// (sysmon in runtime/proc.go) says why: when all of a process's
// processors are idle, sysmon sleeps until it is needed, and a system
// call that wakes it sets it back to 20 µs rounds for its next 50. A
// server whose processors empty between messages wakes it that way again
// and again, so sysmon hardly ever backs off, and on a VM each of its
// wakeups is a costly context switch. With schedtrace set, sysmon never
// takes that sleep (it must stay awake to print), so nothing resets its
// rounds but a processor it takes back from a long system call, and they
// back off to 10 ms. Under `hotline bench chat` that cut the workers' CPU
// by a third and the hub's by a sixth.
//
// The cost is the trace itself: at Interval the runtime prints a
// "SCHED …" line on stderr only once the machine has been up for 24.8
// days (its clock counts from boot), then every 24.8 days, and a fatal
// error's report starts with the scheduler's detailed state (a line per
// processor, thread and goroutine). Filter removes the SCHED lines from a
// child's stderr.
package sysmon

import (
	"bytes"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Interval is the schedtrace interval that keeps sysmon steady, in
// milliseconds: the largest GODEBUG takes.
const Interval = 1<<31 - 1

// GODEBUG returns godebug (a GODEBUG value) with schedtrace=interval
// added, and whether it added it: a schedtrace already in godebug, set by
// whoever started the process, is kept as it is.
func GODEBUG(godebug string, interval int) (string, bool) {
	if _, ok := schedTrace(godebug); ok {
		return godebug, false
	}
	st := "schedtrace=" + strconv.Itoa(interval)
	if godebug == "" {
		return st, true
	}
	return godebug + "," + st, true
}

// schedTrace returns the schedtrace value godebug sets, if any, read as
// the runtime reads it: fields split at commas, untrimmed, the last one
// winning.
func schedTrace(godebug string) (v string, ok bool) {
	for kv := range strings.SplitSeq(godebug, ",") {
		if k, val, found := strings.Cut(kv, "="); found && k == "schedtrace" {
			v, ok = val, true
		}
	}
	return v, ok
}

// Describe says how a process with this GODEBUG runs sysmon, for logs and
// reports: "steady" (schedtrace at Interval), "schedtrace=N ms" (another
// interval, which keeps sysmon steady too but prints every N ms), or "go
// default" (none, 0, or a value the runtime cannot read).
func Describe(godebug string) string {
	v, _ := schedTrace(godebug)
	switch n, err := strconv.Atoi(v); {
	case err != nil || n <= 0:
		return "go default"
	case n == Interval:
		return "steady"
	default:
		return "schedtrace=" + v + " ms"
	}
}

// Lookup returns the GODEBUG value in env (a process's environment as
// os.Environ gives it): the first one, as the runtime and getenv read it.
func Lookup(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			return v
		}
	}
	return ""
}

// Environ returns env with every GODEBUG in it replaced by one set to
// godebug. env itself is not changed.
func Environ(env []string, godebug string) []string {
	out := slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "GODEBUG=")
	})
	return append(out, "GODEBUG="+godebug)
}

// schedPrefix starts each line the runtime's schedtrace prints.
var schedPrefix = []byte("SCHED ")

// Filter passes a child process's stderr on to W line by line, without
// the runtime's schedtrace lines. Flush writes an unfinished last line.
// It is meant for one writer, such as os/exec's copying goroutine, with
// Flush called after the process is waited for, which waits for that
// goroutine.
type Filter struct {
	W   io.Writer
	buf []byte
}

func (f *Filter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	i := bytes.LastIndexByte(f.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	lines := f.buf[:i+1]
	var out []byte
	for len(lines) > 0 {
		j := bytes.IndexByte(lines, '\n')
		if !bytes.HasPrefix(lines, schedPrefix) {
			out = append(out, lines[:j+1]...)
		}
		lines = lines[j+1:]
	}
	f.buf = append(f.buf[:0], f.buf[i+1:]...)
	if len(out) > 0 {
		if _, err := f.W.Write(out); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes what is left of an unfinished line, unless it is a
// schedtrace line.
func (f *Filter) Flush() error {
	rest := f.buf
	f.buf = nil
	if len(rest) == 0 || bytes.HasPrefix(rest, schedPrefix) {
		return nil
	}
	_, err := f.W.Write(rest)
	return err
}
