//go:build unix

package routing

import (
	"syscall"
	"time"
)

// cpuTime is the process's user plus system CPU time so far, which a
// benchmark reports beside wall time on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
