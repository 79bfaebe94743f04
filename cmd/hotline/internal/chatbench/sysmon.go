package chatbench

import "github.com/hotline-hub/hotline/cmd/hotline/internal/sysmon"

// The load generators share the VM's two cores with the hub, so what they
// burn is taken from the hub. They run with GODEBUG's schedtrace set, which
// keeps the Go runtime's sysmon from waking every 20 µs between their
// sends (package sysmon says how, and what it costs); a sysmon.Filter
// removes its lines from their stderr.

// workerSchedTrace is the schedtrace interval given to workers, in
// milliseconds. Tests shorten it to see the lines filtered.
var workerSchedTrace = sysmon.Interval
