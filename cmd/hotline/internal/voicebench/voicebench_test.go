package voicebench

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/procstat"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func needSipp(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (Debian package sip-tester; deploy/install-test-deps.sh)")
	}
}

// smokeOptions are a tiny run of mode on the embedded defaults.
func smokeOptions(t *testing.T, mode string) Options {
	t.Helper()
	o := Defaults(mode)
	o.Config = config.Default()
	o.Log = discard()
	if testing.Verbose() {
		o.Progress = os.Stderr
	}
	o.DataDir = t.TempDir()
	o.SippProcs = 1
	// The voice package's tests use 40000-49999 and the media tests
	// 20000-37999; stay clear of both.
	o.RTPPortMin, o.RTPPortMax = 38000, 39999
	return o
}

// TestRunRate calls the bench hub at 5 calls/s for 2 s, with the
// baseline, and checks that both phases answered calls and that the hub's
// events say so too.
func TestRunRate(t *testing.T) {
	needSipp(t)
	o := smokeOptions(t, ModeRate)
	o.Rate, o.Duration, o.Hold = 5, 2*time.Second, 500*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	if errors.Is(err, ErrNoSipp) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Phases) != 2 || r.Phases[0].Name != phaseBaseline || r.Phases[1].Name != phaseHub {
		t.Fatalf("phases: %+v", r.Phases)
	}
	for _, p := range r.Phases {
		if p.Attempted != 10 || p.Answered == 0 || p.Successful+p.Failed != p.Attempted {
			t.Errorf("%s: attempted %d, answered %d, successful %d, failed %d (errors %v)",
				p.Name, p.Attempted, p.Answered, p.Successful, p.Failed, p.FirstErrors)
		}
	}
	hub := r.Phases[1]
	if hub.Events[event.CallStarted] != hub.Answered || hub.Events[event.CallEnded] != hub.Events[event.CallStarted] {
		t.Errorf("events %v for %d answered calls", hub.Events, hub.Answered)
	}
	if hub.RTP == nil || hub.RTP.PacketsOut == 0 {
		t.Errorf("the hub sent no prompt audio: %+v", hub.RTP)
	}
	if hub.HubCPU <= 0 || hub.HubPeakRSS <= 0 && procstat.PeakRSS() > 0 {
		t.Errorf("hub CPU %s, peak RSS %d", hub.HubCPU, hub.HubPeakRSS)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mode rate", "calls attempted", "hub CPU", "target ≥ 300 answered calls/s"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, text.String())
		}
	}
	if testing.Verbose() {
		t.Log("\n" + text.String())
	}
}

// TestRunConcurrent holds three calls with caller media at once and checks
// that the hub received and sent RTP while every call was up, and queued
// them (the notice, then the queue with recording).
func TestRunConcurrent(t *testing.T) {
	needSipp(t)
	o := smokeOptions(t, ModeConcurrent)
	o.Calls, o.Rate, o.Hold, o.Baseline = 3, 5, 6*time.Second, false
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Phases) != 1 {
		t.Fatalf("phases: %+v", r.Phases)
	}
	hub := r.Phases[0]
	if hub.Attempted != 3 || hub.Answered != 3 {
		t.Errorf("attempted %d, answered %d (errors %v)", hub.Attempted, hub.Answered, hub.FirstErrors)
	}
	if hub.Events[event.CallQueued] == 0 {
		t.Errorf("no call reached the queue: %v", hub.Events)
	}
	if hub.CallsUpAtStart == 0 {
		t.Error("no call up in the measured window")
	}
	if hub.RTP == nil || hub.RTP.WindowIn == 0 || hub.RTP.WindowOut == 0 {
		t.Errorf("media in the window: %+v", hub.RTP)
	}
}
