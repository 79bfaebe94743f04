package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/sysmon"
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
	t.Setenv("GODEBUG", "gctrace=0")
	applyRuntime(config.Runtime{}, log)
	if p, l := procstat.GC(); p != config.DefaultGCPercent || l != 0 {
		t.Errorf("nothing set: GC() = %d, %d; want the hub's %d and no limit", p, l, config.DefaultGCPercent)
	}
	if !strings.Contains(out.String(), `gc_percent=150 memory_limit=none sysmon="go default"`) {
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

	// What the process runs with after restartForSysmon.
	out.Reset()
	t.Setenv("GODEBUG", "gctrace=0,schedtrace="+strconv.Itoa(sysmon.Interval))
	applyRuntime(config.Runtime{}, log)
	if !strings.Contains(out.String(), "sysmon=steady") {
		t.Errorf("log = %q", out.String())
	}
}

func TestRestartForSysmon(t *testing.T) {
	type call struct {
		path      string
		argv, env []string
	}
	var calls []call
	failed := errors.New("exec format error")
	fail := false
	g := &globalFlags{exec: func(path string, argv, env []string) error {
		calls = append(calls, call{path, argv, env})
		if fail {
			return failed
		}
		return nil // a real exec does not return: the test goes on
	}}
	on := config.Runtime{SteadySysmon: true}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	st := "schedtrace=" + strconv.Itoa(sysmon.Interval)

	t.Setenv("GODEBUG", "gctrace=0")
	t.Setenv("HOTLINE_TEST_KEPT", "yes")
	if err := g.restartForSysmon(t.Context(), on); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 {
		t.Fatalf("%d execs, want 1", len(calls))
	}
	c := calls[0]
	if c.path != exe || !slices.Equal(c.argv, os.Args) {
		t.Errorf("exec(%q, %q), want this binary with its arguments %q", c.path, c.argv, os.Args)
	}
	if sysmon.Lookup(c.env) != "gctrace=0,"+st || !slices.Contains(c.env, "HOTLINE_TEST_KEPT=yes") {
		t.Errorf("exec's environment %q: want GODEBUG gctrace=0,%s and the rest kept", c.env, st)
	}

	// Nothing to do: already restarted (or the caller's own schedtrace),
	// turned off, no exec (tests), or a signal already received.
	calls = nil
	t.Setenv("GODEBUG", st)
	g.restartForSysmon(t.Context(), on)
	t.Setenv("GODEBUG", "schedtrace=1000")
	g.restartForSysmon(t.Context(), on)
	t.Setenv("GODEBUG", "")
	g.restartForSysmon(t.Context(), config.Runtime{})
	(&globalFlags{}).restartForSysmon(t.Context(), on)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	g.restartForSysmon(ctx, on)
	if len(calls) != 0 {
		t.Errorf("restarted when it should not have: %q", calls)
	}

	fail = true
	if err := g.restartForSysmon(t.Context(), on); !errors.Is(err, failed) {
		t.Errorf("a failed exec returned %v", err)
	}
	var out bytes.Buffer
	g.steadySysmon(t.Context(), on, slog.New(slog.NewTextHandler(&out, nil)))
	if !strings.Contains(out.String(), "level=WARN") || !strings.Contains(out.String(), "exec format error") {
		t.Errorf("a failed restart logged %q, want a warning with the cause", out.String())
	}
}
