package reindex

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Runner is a component that runs until its context ends; the live
// *indexer.Indexer is one, and may be run again after it returned.
type Runner interface {
	Run(ctx context.Context) error
}

// Live runs the hub's live indexer in place of the indexer itself, so that
// a job can pause it around the switch.
type Live struct {
	ix     Runner
	pauses chan *pause
}

// pause is one Pause call: Run closes stopped once the indexer has
// stopped (or sends its error), then waits for resume.
type pause struct {
	stopped chan error
	resume  chan struct{}
}

var _ Pauser = (*Live)(nil)

// NewLive wraps the live indexer.
func NewLive(ix Runner) *Live {
	return &Live{ix: ix, pauses: make(chan *pause)}
}

// Run runs the indexer until ctx ends or it fails, stopping it while a
// job has it paused. It returns what the indexer's Run returns.
func (l *Live) Run(ctx context.Context) error {
	for {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- l.ix.Run(rctx) }()
		var p *pause
		select {
		case err := <-done:
			cancel()
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				err = nil // told to stop while still subscribing
			}
			return err
		case p = <-l.pauses:
		}
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			p.stopped <- err
			return err
		}
		close(p.stopped)
		select {
		case <-p.resume:
		case <-ctx.Done():
			return nil
		}
	}
}

// Pause stops the live indexer and returns once it has written what it
// applied and committed its offsets. It fails if ctx ends before Run takes
// the request (Run is not running), or if the indexer failed as it
// stopped.
func (l *Live) Pause(ctx context.Context) (resume func(), err error) {
	p := &pause{stopped: make(chan error, 1), resume: make(chan struct{})}
	select {
	case l.pauses <- p:
	case <-ctx.Done():
		return nil, fmt.Errorf("the live indexer is not running: %w", ctx.Err())
	}
	// The indexer's stop is bounded by its close timeout; waiting for it
	// regardless of ctx keeps Run and Pause in step.
	if err := <-p.stopped; err != nil {
		return nil, fmt.Errorf("the live indexer failed as it stopped: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { close(p.resume) }) }, nil
}
