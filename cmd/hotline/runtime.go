package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/sysmon"
)

// execFunc replaces the running program, as syscall.Exec does: it returns
// only when it fails.
type execFunc func(path string, argv, env []string) error

// restartForSysmon re-executes this process with schedtrace added to its
// GODEBUG when rt asks for a steady sysmon and GODEBUG sets no schedtrace
// (see package sysmon): the runtime reads GODEBUG's schedtrace only at
// start. It must run before the command opens anything. The new image
// has the same process id, arguments, standard streams and environment
// but GODEBUG; it reads the same configuration, comes back here, finds
// schedtrace set and goes on. restartForSysmon returns only when it did
// not restart: nil when there was nothing to do or ctx was already
// cancelled (by a signal the new image would not see), else exec's error,
// after which the process runs with the runtime's default.
func (g *globalFlags) restartForSysmon(ctx context.Context, rt config.Runtime) error {
	if g.exec == nil || !rt.SteadySysmon || ctx.Err() != nil {
		return nil
	}
	godebug, add := sysmon.GODEBUG(os.Getenv("GODEBUG"), sysmon.Interval)
	if !add {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return g.exec(exe, os.Args, sysmon.Environ(os.Environ(), godebug))
}

// steadySysmon is what serve and bench chat call: restartForSysmon, with a
// failed restart logged as a warning, after which the process goes on.
func (g *globalFlags) steadySysmon(ctx context.Context, rt config.Runtime, log *slog.Logger) {
	if err := g.restartForSysmon(ctx, rt); err != nil {
		log.Warn("go runtime: could not restart with a steady sysmon; going on with Go's default", "err", err)
	}
}

// applyRuntime sets the garbage collector's memory limit and GC percentage
// that rt asks for, before the process starts its work, and logs what the
// process runs with, wherever the settings came from (the configuration,
// GOMEMLIMIT and GOGC, or the defaults: no limit and
// config.DefaultGCPercent), and how its sysmon runs (restartForSysmon).
func applyRuntime(rt config.Runtime, log *slog.Logger) {
	if rt.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(rt.MemoryLimit))
	}
	switch {
	case rt.GCPercent != 0:
		debug.SetGCPercent(rt.GCPercent)
	case os.Getenv("GOGC") == "":
		debug.SetGCPercent(config.DefaultGCPercent)
	}
	percent, limit := procstat.GC()
	shown := "none"
	if limit > 0 {
		shown = config.ByteSize(limit).String()
	}
	log.Info("go runtime", "gc_percent", percent, "memory_limit", shown, "sysmon", sysmon.Describe(os.Getenv("GODEBUG")))
}
