package media

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// bridgeFixture is caller <-> a (hub leg 1) ==Bridge== b (hub leg 2) <-> agent.
type bridgeFixture struct {
	a, b          *Session
	caller, agent *rawPeer
	cancel        context.CancelFunc
	done          chan error
}

func newBridge(t *testing.T, ca, cb Codec, dtmfA, dtmfB uint8) *bridgeFixture {
	t.Helper()
	p := testPorts(t, 2)
	f := &bridgeFixture{a: listen(t, p), b: listen(t, p), caller: newRawPeer(t), agent: newRawPeer(t), done: make(chan error, 1)}
	if err := f.a.Start(f.caller.addr(), ca, dtmfA); err != nil {
		t.Fatal(err)
	}
	if err := f.b.Start(f.agent.addr(), cb, dtmfB); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	t.Cleanup(cancel)
	go func() { f.done <- Bridge(ctx, f.a, f.b) }()
	waitFor(t, "bridge", func() bool { return f.a.peer.Load() == f.b && f.b.peer.Load() == f.a })
	return f
}

func TestBridgePassthrough(t *testing.T) {
	f := newBridge(t, PCMU, PCMU, 101, 101)
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = byte(i)
	}
	for i := range 7 {
		f.caller.send(f.a.LocalAddr(), 0, i == 0, uint32(1000+160*i), payload)
	}
	got := f.agent.collect(7, time.Second)
	if len(got) != 7 {
		t.Fatalf("agent got %d packets, want 7", len(got))
	}
	for i, pk := range got {
		if pk.PayloadType != 0 || string(pk.Payload) != string(payload) {
			t.Fatalf("packet %d changed: pt %d", i, pk.PayloadType)
		}
		if i > 0 && (pk.SequenceNumber != got[i-1].SequenceNumber+1 || pk.Timestamp-got[i-1].Timestamp != 160) {
			t.Errorf("packet %d: seq/ts not continuous", i)
		}
	}
	if !got[0].Marker {
		t.Error("first forwarded packet has no marker")
	}
	for i := range 4 {
		f.agent.send(f.b.LocalAddr(), 0, false, uint32(160*i), payload[:80])
	}
	if back := f.caller.collect(4, time.Second); len(back) != 4 || len(back[0].Payload) != 80 {
		t.Fatalf("caller got %d packets back", len(back))
	}
	// The counters move just after the datagram leaves.
	waitFor(t, "counters", func() bool { return f.b.Stats().PacketsOut == 7 && f.a.Stats().PacketsOut == 4 })
	sa, sb := f.a.Stats(), f.b.Stats()
	if sa.PacketsIn != 7 || sb.PacketsOut != 7 || sb.PacketsIn != 4 || sa.PacketsOut != 4 {
		t.Errorf("stats a %+v, b %+v", sa, sb)
	}
	f.cancel()
	if err := <-f.done; !errors.Is(err, context.Canceled) {
		t.Errorf("Bridge returned %v", err)
	}
	// Unbridged, nothing is forwarded any more.
	f.caller.send(f.a.LocalAddr(), 0, false, 9999, payload)
	waitFor(t, "8th packet", func() bool { return f.a.Stats().PacketsIn == 8 })
	if extra := f.agent.collect(1, 100*time.Millisecond); len(extra) != 0 {
		t.Errorf("forwarded after the bridge ended")
	}
}

func TestBridgeTranscodesAndMapsDTMF(t *testing.T) {
	f := newBridge(t, PCMU, PCMA, 101, 96)
	path := filepath.Join(t.TempDir(), "bridged.wav")
	rec, err := f.a.StartRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	callerDone := make(chan int, 1)
	go func() {
		callerDone <- f.caller.sendAudio(f.a.LocalAddr(), PCMU, Tone([]float64{500}, 500*time.Millisecond).Samples())
	}()
	agentSent := f.agent.sendAudio(f.b.LocalAddr(), PCMA, Tone([]float64{1000}, 500*time.Millisecond).Samples())
	callerSent := <-callerDone

	atAgent := f.agent.collect(callerSent, time.Second)
	atCaller := f.caller.collect(agentSent, time.Second)
	if len(atAgent) != callerSent || len(atCaller) != agentSent {
		t.Fatalf("agent got %d of %d packets, caller %d of %d", len(atAgent), callerSent, len(atCaller), agentSent)
	}
	ref := make([]byte, frameSamples)
	PCMU.encode(ref, Tone([]float64{500}, 500*time.Millisecond).Samples()[frameSamples:2*frameSamples])
	want := make([]byte, frameSamples)
	transcode(want, ref, PCMU, PCMA)
	if atAgent[1].PayloadType != 8 || string(atAgent[1].Payload) != string(want) {
		t.Errorf("agent's packet is not the caller's audio in A-law (pt %d)", atAgent[1].PayloadType)
	}
	if atCaller[0].PayloadType != 0 {
		t.Errorf("caller got payload type %d, want 0", atCaller[0].PayloadType)
	}

	// A key pressed by the caller reaches the agent on its payload type,
	// with one timestamp for all packets of the event.
	for i, p := range [][]byte{{9, 10, 0, 0}, {9, 10, 0, 160}, {9, 0x8a, 1, 64}, {9, 0x8a, 1, 64}} {
		f.caller.send(f.a.LocalAddr(), 101, i == 0, 424242, p)
	}
	ev := f.agent.collect(4, time.Second)
	if len(ev) != 4 {
		t.Fatalf("agent got %d event packets", len(ev))
	}
	for _, pk := range ev {
		if pk.PayloadType != 96 || pk.Payload[0] != 9 || pk.Timestamp != ev[0].Timestamp {
			t.Errorf("event packet pt %d event %d ts %d", pk.PayloadType, pk.Payload[0], pk.Timestamp)
		}
	}
	if d, ok := f.a.ReadDigit(context.Background(), time.Second); !ok || d.Key != '9' {
		t.Errorf("caller's digit on its own leg: %+v %v", d, ok)
	}

	if _, _, err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	info, err := AnalyzeWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.RMS[0] < 1000 || info.RMS[1] < 1000 {
		t.Errorf("bridged recording RMS %v, want the caller left and the agent right", info.RMS)
	}
	if fr := channelFreq(t, path, hubChannel); fr < 900 || fr > 1100 {
		t.Errorf("right channel at %.0f Hz, want the agent's 1000 Hz", fr)
	}

	// Hanging up one leg ends the bridge.
	f.b.Close()
	if err := <-f.done; err != nil {
		t.Errorf("Bridge on hang-up returned %v", err)
	}
}

func TestBridgeRejects(t *testing.T) {
	p := testPorts(t, 3)
	a, b, c := listen(t, p), listen(t, p), listen(t, p)
	ctx := context.Background()
	if err := Bridge(ctx, a, b); !errors.Is(err, ErrNotStarted) {
		t.Errorf("unstarted: %v", err)
	}
	peer := newRawPeer(t)
	for _, s := range []*Session{a, b, c} {
		if err := s.Start(peer.addr(), PCMU, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := Bridge(ctx, a, a); err == nil {
		t.Error("self bridge accepted")
	}
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	go Bridge(ctx2, a, b)
	waitFor(t, "bridge", func() bool { return a.peer.Load() != nil })
	if err := Bridge(ctx, c, a); err == nil {
		t.Error("second bridge on a bridged session accepted")
	}
	if c.peer.Load() != nil {
		t.Error("failed bridge left a peer behind")
	}
}
