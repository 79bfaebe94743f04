//go:build !unix

package kafkatest

import "os/exec"

func setProcAttrs(*exec.Cmd) {}

func signalGroup(cmd *exec.Cmd, _ bool) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
