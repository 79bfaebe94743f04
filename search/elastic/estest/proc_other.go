//go:build !unix

package estest

import (
	"errors"
	"os/exec"
	"time"
)

// owner is unused off Unix, where StartMain refuses to start a server.
type owner struct{}

func serverOwner() (*owner, error) {
	return nil, errors.New("estest: starting Elasticsearch needs a Unix system")
}

func (*owner) chown(string) error { return nil }

func setProcAttrs(*exec.Cmd, *owner) {}

func signalGroup(cmd *exec.Cmd, _ bool) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

func waitGroupGone(*exec.Cmd, time.Duration) bool { return true }
