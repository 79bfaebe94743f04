package main

import (
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
)

// applyRuntime sets the garbage collector's memory limit and GC percentage
// that rt asks for, before the process starts its work, and logs what the
// process runs with, wherever the settings came from (the configuration,
// GOMEMLIMIT and GOGC, or the defaults: no limit and
// config.DefaultGCPercent).
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
	log.Info("go runtime", "gc_percent", percent, "memory_limit", shown)
}
