package media

import (
	"context"
	"errors"
	"fmt"
)

// Bridge forwards media both ways between two started sessions until ctx
// ends (returning ctx.Err()) or either session closes (returning nil).
// Payloads pass through unchanged when the codecs match and are
// transcoded between µ-law and A-law otherwise; telephone-events are
// forwarded to a side that negotiated them. Each side's stream keeps its
// own SSRC and sequence numbers, so a Play before or after the bridge
// continues seamlessly. A recorder of either session keeps recording it.
// Prompts should not be played on a bridged session.
func Bridge(ctx context.Context, a, b *Session) error {
	if a == b {
		return errors.New("bridge: a session cannot be bridged to itself")
	}
	if a.cfg.Load() == nil || b.cfg.Load() == nil {
		return fmt.Errorf("bridge: %w", ErrNotStarted)
	}
	if !a.peer.CompareAndSwap(nil, b) {
		return errors.New("bridge: first session is already bridged")
	}
	if !b.peer.CompareAndSwap(nil, a) {
		a.peer.Store(nil)
		return errors.New("bridge: second session is already bridged")
	}
	defer func() {
		a.peer.Store(nil)
		b.peer.Store(nil)
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-a.closed:
		return nil
	case <-b.closed:
		return nil
	}
}
