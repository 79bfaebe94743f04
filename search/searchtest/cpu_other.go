//go:build !unix

package searchtest

import "time"

// cpuTime is unknown here: Bench then leaves out msgs/cpu-s.
func cpuTime() time.Duration { return 0 }
