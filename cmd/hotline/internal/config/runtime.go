package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Runtime tunes the Go runtime for the process: its garbage collector
// (runtime/debug), whose zero values leave it to the GOMEMLIMIT and GOGC
// environment variables, and then to no limit and DefaultGCPercent, and
// its monitor thread.
type Runtime struct {
	// MemoryLimit is a soft limit on all the memory the Go runtime uses;
	// near it the collector runs more often (debug.SetMemoryLimit). 0
	// leaves GOMEMLIMIT, or no limit.
	MemoryLimit ByteSize `mapstructure:"memory_limit" yaml:"memory_limit"`
	// GCPercent is how much the heap may grow over what the last
	// collection left before the next one starts (GOGC). 0 leaves GOGC, or
	// DefaultGCPercent; -1 collects only near MemoryLimit, which must then
	// be set.
	GCPercent int `mapstructure:"gc_percent" yaml:"gc_percent"`
	// SteadySysmon restarts serve (and the bench's hub) at once with
	// GODEBUG's schedtrace set, unless GODEBUG sets it already, which keeps
	// the runtime's monitor thread from falling back to 20 µs rounds after
	// every idle moment (see package sysmon). On by default.
	SteadySysmon bool `mapstructure:"steady_sysmon" yaml:"steady_sysmon"`
}

// DefaultGCPercent is the hub's GC percentage when neither the
// configuration nor GOGC sets one: 150 rather than Go's 100. The hub
// allocates in proportion to its traffic while what it keeps (sockets,
// views, histories) changes slowly, and its latency suffers while a cycle
// marks; letting the heap reach 2.5 times what it keeps instead of twice
// makes a third fewer cycles for a quarter more peak heap. In the chat
// bench (docs/BENCHMARKS.md) that took the collections from 9–10 a minute
// to 6–7 and the peak RSS from 696–744 MiB to 809–870 MiB.
const DefaultGCPercent = 150

// Limits of the runtime section. Below minMemoryLimit the collector would
// run nearly without pause for a hub's sockets alone.
const (
	minMemoryLimit = 64 << 20
	minGCPercent   = -1
)

// ByteSize is a number of bytes, written as an integer or as an integer
// with one of the units GOMEMLIMIT knows: B, KiB, MiB, GiB, TiB
// ("900MiB").
type ByteSize int64

var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// ParseByteSize reads a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	shift := uint(0)
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			t, shift = strings.TrimSpace(num), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a whole number of bytes, or one with a unit B, KiB, MiB, GiB or TiB (900MiB)", s)
	}
	if n > (1<<63-1)>>shift {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return ByteSize(n << shift), nil
}

// String writes b with the largest unit that divides it.
func (b ByteSize) String() string {
	for _, u := range byteUnits {
		if u.shift > 0 && b != 0 && b%(1<<u.shift) == 0 {
			return strconv.FormatInt(int64(b>>u.shift), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// MarshalYAML writes b as "config show" prints it: with its unit, or as a
// plain number when no unit divides it.
func (b ByteSize) MarshalYAML() (any, error) {
	if s := b.String(); s != strconv.FormatInt(int64(b), 10) {
		return s, nil
	}
	return int64(b), nil
}

// stringToByteSizeHook decodes a size written as a string (a YAML value
// with a unit, an environment variable, a flag) into a ByteSize.
func stringToByteSizeHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeOf(ByteSize(0)) {
		return data, nil
	}
	return ParseByteSize(data.(string))
}

func validateRuntime(ck *checker, r Runtime) {
	if r.MemoryLimit != 0 && r.MemoryLimit < minMemoryLimit {
		ck.add("runtime.memory_limit", "must be 0 (not set) or at least %s, got %s", ByteSize(minMemoryLimit), r.MemoryLimit)
	}
	if r.GCPercent < minGCPercent {
		ck.add("runtime.gc_percent", "must be -1 (collect only near runtime.memory_limit), 0 (not set) or a percentage, got %d", r.GCPercent)
	}
	if r.GCPercent == -1 && r.MemoryLimit == 0 {
		ck.add("runtime.gc_percent", "-1 needs runtime.memory_limit: without a limit the heap would grow until the machine runs out of memory")
	}
}
