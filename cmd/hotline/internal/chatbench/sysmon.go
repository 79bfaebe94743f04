package chatbench

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// The load generators share the VM's two cores with the hub, so what they
// burn is taken from the hub. A `perf record` of a worker put a quarter of
// its CPU in the Go runtime's sysmon thread, most of it in its nanosleeps.
// The runtime's source (sysmon in runtime/proc.go) says why: when all of a
// process's processors are idle, sysmon sleeps until it is needed, and a
// system call that wakes it sets it back to 20 µs sleeps for its next 50
// rounds. A worker's one processor goes idle between its sends, 2 ms
// apart, so sysmon hardly ever backs off. With GODEBUG's schedtrace set,
// sysmon never takes that sleep (it must stay awake to print), so nothing
// resets its rounds but a processor it takes back from a long system
// call, and they back off to 10 ms. That cut the workers' CPU by about a
// third under `hotline bench chat` (docs/BENCHMARKS.md). The only other
// effect is the trace line itself: with this interval the runtime prints
// it only once the machine has been up for 25 days (and with a fatal
// error's dump), and schedFilter removes it from the workers' stderr. The
// hub is left as it is: there, sysmon's quick rounds also take back
// processors held by the disk's fdatasync, which the hub's latency may
// need (not measured).

// workerSchedTrace is the schedtrace interval given to workers, in
// milliseconds: the largest GODEBUG takes. Tests shorten it to see the
// lines filtered.
var workerSchedTrace = 1<<31 - 1

// workerGODEBUG returns the GODEBUG a worker runs with: inherited (the
// bench's own) with schedtrace added, unless inherited already sets it.
func workerGODEBUG(inherited string) string {
	for kv := range strings.SplitSeq(inherited, ",") {
		if k, _, _ := strings.Cut(kv, "="); strings.TrimSpace(k) == "schedtrace" {
			return inherited
		}
	}
	st := "schedtrace=" + strconv.Itoa(workerSchedTrace)
	if inherited == "" {
		return st
	}
	return inherited + "," + st
}

// schedPrefix starts each line the runtime's schedtrace prints.
var schedPrefix = []byte("SCHED ")

// schedFilter passes a worker's stderr on to w line by line, without the
// runtime's schedtrace lines. Flush writes an unfinished last line. Only
// os/exec's copying goroutine writes to it, and Flush comes after the
// process is waited for, which waits for that goroutine.
type schedFilter struct {
	w   io.Writer
	buf []byte
}

func (f *schedFilter) Write(p []byte) (int, error) {
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
		if _, err := f.w.Write(out); err != nil {
			return len(p), err
		}
	}
	return len(p), nil
}

// Flush writes what is left of an unfinished line, unless it is a
// schedtrace line.
func (f *schedFilter) Flush() error {
	rest := f.buf
	f.buf = nil
	if len(rest) == 0 || bytes.HasPrefix(rest, schedPrefix) {
		return nil
	}
	_, err := f.w.Write(rest)
	return err
}
