// Command hotline is the one Hotline binary.
//
//	hotline serve              run everything in one process (embedded defaults)
//	hotline reindex            rebuild the running hub's search index from the bus
//	hotline config validate    check a configuration and name every problem
//	hotline config show        print the effective configuration as YAML
//	hotline bench bus          load-test the configured bus
//	hotline version            print the version
//
// Configuration comes from a YAML file (--config, or ./hotline.yaml if it
// exists), HOTLINE_* environment variables and flags, in increasing order of
// precedence; see docs/CONFIGURATION.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr, syscall.Exec).ExecuteContext(ctx)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err (unless it was already reported) and returns the
// process exit status for it.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var reported *reportedError
	if !errors.As(err, &reported) {
		fmt.Fprintln(stderr, "hotline:", err)
	}
	return 1
}

// reportedError is an error whose details the command has already printed
// (such as the list of configuration problems); main only sets the exit
// status.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }
