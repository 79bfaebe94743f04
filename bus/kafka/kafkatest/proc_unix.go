//go:build unix

package kafkatest

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts the JVM in a process group of its own, so that stopping
// it reaches anything it started, and (on Linux) asks the kernel to kill it
// if the test binary dies first, so no broker outlives its tests.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(cmd.SysProcAttr)
}

// signalGroup sends SIGTERM (or SIGKILL) to the JVM's process group.
func signalGroup(cmd *exec.Cmd, kill bool) {
	if cmd.Process == nil {
		return
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
