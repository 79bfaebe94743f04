package main

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
)

func TestApplyRuntime(t *testing.T) {
	oldPercent, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	})

	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	t.Setenv("GOGC", "")
	applyRuntime(config.Runtime{}, log)
	if p, l := procstat.GC(); p != config.DefaultGCPercent || l != 0 {
		t.Errorf("nothing set: GC() = %d, %d; want the hub's %d and no limit", p, l, config.DefaultGCPercent)
	}
	if !strings.Contains(out.String(), "gc_percent=150 memory_limit=none") {
		t.Errorf("log = %q", out.String())
	}

	// GOGC set: the runtime read it at start (here, as the test set it
	// with SetGCPercent), and the hub leaves it.
	out.Reset()
	debug.SetGCPercent(80)
	t.Setenv("GOGC", "80")
	applyRuntime(config.Runtime{}, log)
	if p, _ := procstat.GC(); p != 80 {
		t.Errorf("GOGC=80: GC() percent = %d", p)
	}

	out.Reset()
	applyRuntime(config.Runtime{MemoryLimit: 900 << 20, GCPercent: -1}, log)
	if p, l := procstat.GC(); p != -1 || l != 900<<20 {
		t.Errorf("GC() = %d, %d; want -1 and 900 MiB", p, l)
	}
	if !strings.Contains(out.String(), "gc_percent=-1 memory_limit=900MiB") {
		t.Errorf("log = %q", out.String())
	}
}
