//go:build unix && !linux

package estest

import "syscall"

func setDeathSignal(*syscall.SysProcAttr) {}

// groupAlive reports whether process group pgid has a process (zombies
// included, which makes Stop wait for them to be reaped).
func groupAlive(pgid int) bool { return syscall.Kill(-pgid, 0) == nil }
