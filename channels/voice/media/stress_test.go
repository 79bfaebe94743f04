package media

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestConcurrentCallsHangUpMidMedia runs calls that play, record and
// bridge at once and hang up at random moments: every operation ends with
// a clean error, every recording is a valid file, every port comes back.
func TestConcurrentCallsHangUpMidMedia(t *testing.T) {
	const calls = 20
	ports := testPorts(t, 4*calls+10)
	dir := t.TempDir()
	prompt := Tone([]float64{440, 660}, 300*time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, 10*calls)
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var legs [4]*Session
			for k := range legs {
				s, err := ports.Listen()
				if err != nil {
					errs <- err
					for _, l := range legs[:k] {
						l.Close()
					}
					return
				}
				legs[k] = s
			}
			caller, hub, agent, agentLeg := legs[0], legs[1], legs[2], legs[3]
			caller.Start(hub.LocalAddr(), PCMU, 101)
			hub.Start(caller.LocalAddr(), PCMU, 101)
			agentLeg.Start(agent.LocalAddr(), PCMA, 0)
			agent.Start(agentLeg.LocalAddr(), PCMA, 0)
			path := filepath.Join(dir, fmt.Sprintf("%d.wav", i))
			rec, err := hub.StartRecording(path)
			if err != nil {
				errs <- err
				return
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var inner sync.WaitGroup
			clean := func(err error) {
				if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, context.Canceled) {
					errs <- err
				}
			}
			inner.Add(4)
			go func() { defer inner.Done(); clean(hub.Play(ctx, prompt, true)); clean(Bridge(ctx, hub, agentLeg)) }()
			go func() { defer inner.Done(); clean(caller.PlayLoop(ctx, prompt)) }()
			go func() { defer inner.Done(); clean(agent.PlayLoop(ctx, prompt)) }()
			go func() {
				defer inner.Done()
				time.Sleep(time.Duration(rand.IntN(800)) * time.Millisecond)
				for _, s := range []*Session{hub, caller, agentLeg, agent} {
					if err := s.Close(); err != nil {
						errs <- err
					}
				}
				cancel()
			}()
			inner.Wait()
			if _, _, err := rec.Stop(); err != nil {
				errs <- err
				return
			}
			if _, err := AnalyzeWAV(path); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ports.InUse(); n != 0 {
		t.Errorf("%d ports still in use", n)
	}
}
