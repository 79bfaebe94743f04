package kafkatest

import (
	"testing"
)

// The helper's own test: a started broker answers, stops answering after
// Stop, and answers again on the same address after Restart.
func TestStartStopRestart(t *testing.T) {
	b := Start(t)
	if err := ping(b.Addr()); err != nil {
		t.Fatalf("broker at %s does not answer after Start: %v", b.Addr(), err)
	}
	if !b.CanRestart() {
		t.Skipf("external broker (%s): Stop and Restart are not available", EnvBrokers)
	}
	if err := b.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := ping(b.Addr()); err == nil {
		t.Fatalf("broker at %s still answers after Stop", b.Addr())
	}
	if err := b.Restart(); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if err := ping(b.Addr()); err != nil {
		t.Fatalf("broker at %s does not answer after Restart: %v", b.Addr(), err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := ping(b.Addr()); err == nil {
		t.Fatalf("broker at %s still answers after Close", b.Addr())
	}
}
