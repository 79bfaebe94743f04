//go:build unix

package estest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// owner is the unprivileged user the server runs as when the tests run as
// root.
type owner struct {
	uid, gid uint32
}

// serverOwner returns nil when the tests do not run as root (the server
// runs as the current user), and the User account otherwise.
func serverOwner() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(User)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return nil, fmt.Errorf("estest: the tests run as root, which Elasticsearch refuses, and the user %s to run it as does not exist (deploy/testpeers/elasticsearch/install.sh creates it when run as root)", User)
		}
		return nil, fmt.Errorf("estest: looking up user %s: %w", User, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("estest: user %s has uid %q: %w", User, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("estest: user %s has gid %q: %w", User, u.Gid, err)
	}
	return &owner{uid: uint32(uid), gid: uint32(gid)}, nil
}

func (o *owner) chown(path string) error {
	return os.Lchown(path, int(o.uid), int(o.gid))
}

// setProcAttrs puts the launcher in a process group of its own, so that
// stopping it reaches the server JVM it starts, runs it as o (when not nil)
// with no supplementary groups, and (on Linux) asks the kernel to kill it if
// the test binary dies first; the server then sees its standard input
// close and exits too, so no server outlives its tests.
func setProcAttrs(cmd *exec.Cmd, o *owner) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if o != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: o.uid, Gid: o.gid}
	}
	setDeathSignal(cmd.SysProcAttr)
}

// signalGroup sends SIGTERM (or SIGKILL) to the launcher's process group.
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

// waitGroupGone waits up to d for every process of the launcher's group to
// have exited, and reports whether they have.
func waitGroupGone(cmd *exec.Cmd, d time.Duration) bool {
	if cmd.Process == nil {
		return true
	}
	deadline := time.Now().Add(d)
	for groupAlive(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
