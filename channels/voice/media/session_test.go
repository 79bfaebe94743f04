package media

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestPortsExhaustionAndRelease(t *testing.T) {
	p := testPorts(t, 2)
	a := listen(t, p)
	b := listen(t, p)
	if a.LocalAddr().Port%2 != 0 || b.LocalAddr().Port%2 != 0 || a.LocalAddr().Port == b.LocalAddr().Port {
		t.Fatalf("ports %d and %d, want two distinct even ports", a.LocalAddr().Port, b.LocalAddr().Port)
	}
	if _, err := p.Listen(); !errors.Is(err, ErrPortsExhausted) {
		t.Fatalf("third listen on two ports: %v, want ErrPortsExhausted", err)
	}
	if p.InUse() != 2 {
		t.Errorf("in use %d, want 2", p.InUse())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	c := listen(t, p)
	if c.LocalAddr().Port != a.LocalAddr().Port {
		t.Errorf("freed port %d not reused (got %d)", a.LocalAddr().Port, c.LocalAddr().Port)
	}
}

func TestPortsSkipPortsTakenElsewhere(t *testing.T) {
	p := testPorts(t, 2)
	first := p.first
	taken, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: first})
	if err != nil {
		t.Skipf("port %d busy: %v", first, err)
	}
	defer taken.Close()
	s := listen(t, p)
	if s.LocalAddr().Port != first+2 {
		t.Errorf("got port %d, want %d (the first is taken)", s.LocalAddr().Port, first+2)
	}
	if _, err := p.Listen(); !errors.Is(err, ErrPortsExhausted) {
		t.Errorf("listen with every port busy: %v", err)
	}
}

func TestNewPortsRejectsBadConfig(t *testing.T) {
	for _, tt := range []struct {
		ip       string
		min, max int
	}{
		{"127.0.0.1", 10001, 10001},
		{"127.0.0.1", 20000, 10000},
		{"127.0.0.1", 0, 100},
		{"127.0.0.1", 10000, 70000},
		{"not-an-ip", 10000, 10100},
	} {
		if _, err := NewPorts(tt.ip, tt.min, tt.max); err == nil {
			t.Errorf("NewPorts(%q, %d, %d) accepted", tt.ip, tt.min, tt.max)
		}
	}
}

func TestStartValidates(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	peer := newRawPeer(t)
	if err := s.Play(context.Background(), Tone([]float64{440}, 40*time.Millisecond), false); !errors.Is(err, ErrNotStarted) {
		t.Errorf("play before start: %v", err)
	}
	if err := s.Start(nil, PCMU, 0); err == nil {
		t.Error("nil remote accepted")
	}
	if err := s.Start(&net.UDPAddr{IP: net.IPv4zero, Port: 4000}, PCMU, 0); err == nil {
		t.Error("unspecified remote accepted")
	}
	if err := s.Start(peer.addr(), Codec{Name: "G729", PayloadType: 18, ClockRate: 8000}, 0); err == nil {
		t.Error("G.729 accepted")
	}
	if err := s.Start(peer.addr(), PCMU, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(peer.addr(), PCMA, 101); err != nil {
		t.Errorf("re-start (re-INVITE): %v", err)
	}
	s.Close()
	if err := s.Start(peer.addr(), PCMU, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("start after close: %v", err)
	}
	if err := s.Play(context.Background(), Tone([]float64{440}, 40*time.Millisecond), false); !errors.Is(err, ErrClosed) {
		t.Errorf("play after close: %v", err)
	}
	if _, ok := <-s.Digits(); ok {
		t.Error("digits channel open after close")
	}
}

// TestPlayBetweenSessions plays prompts from one session to another over
// loopback and checks the exact packet count and the receiver's stats.
func TestPlayBetweenSessions(t *testing.T) {
	p := testPorts(t, 2)
	a, b := listen(t, p), listen(t, p)
	if err := a.Start(b.LocalAddr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(a.LocalAddr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	prompt := Tone([]float64{440, 880}, 250*time.Millisecond) // 500 ms -> 25 packets
	if err := a.Play(context.Background(), prompt, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "25 packets at b", func() bool { return b.Stats().PacketsIn >= 25 })
	if err := b.Play(context.Background(), Tone([]float64{300}, 100*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 packets at a", func() bool { return a.Stats().PacketsIn >= 5 })
	time.Sleep(50 * time.Millisecond) // let any excess packet show up
	sa, sb := a.Stats(), b.Stats()
	if sa.PacketsOut != 25 || sb.PacketsIn != 25 || sb.BytesIn != 25*160 || sa.BytesOut != 25*160 {
		t.Errorf("a->b: a %+v, b %+v; want 25 packets of 160 bytes", sa, sb)
	}
	if sb.PacketsOut != 5 || sa.PacketsIn != 5 {
		t.Errorf("b->a: a %+v, b %+v; want 5 packets", sa, sb)
	}
	if sa.DroppedForeign != 0 || sb.DroppedForeign != 0 || sa.Malformed != 0 {
		t.Errorf("unexpected drops: a %+v, b %+v", sa, sb)
	}
}

// TestPlaySequenceContinuity plays two prompts back to back and a third
// after a pause, to a raw peer that checks every header.
func TestPlaySequenceContinuity(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	peer := newRawPeer(t)
	if err := s.Start(peer.addr(), PCMA, 0); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p1 := Tone([]float64{440}, 200*time.Millisecond) // 10 packets
	p2 := Tone([]float64{660}, 110*time.Millisecond) // 5.5 -> 6 packets
	p3 := Tone([]float64{880}, 100*time.Millisecond) // 5 packets
	for _, p := range []*Prompt{p1, p2} {
		if err := s.Play(ctx, p, false); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if err := s.Play(ctx, p3, false); err != nil {
		t.Fatal(err)
	}
	pkts := peer.collect(21, time.Second)
	if len(pkts) != 21 {
		t.Fatalf("peer got %d packets, want 21", len(pkts))
	}
	for i, pk := range pkts {
		if pk.PayloadType != 8 || len(pk.Payload) != 160 || pk.SSRC != pkts[0].SSRC {
			t.Fatalf("packet %d: pt %d, %d bytes, ssrc %x", i, pk.PayloadType, len(pk.Payload), pk.SSRC)
		}
		if i == 0 {
			continue
		}
		if pk.SequenceNumber != pkts[i-1].SequenceNumber+1 {
			t.Errorf("packet %d: seq %d after %d", i, pk.SequenceNumber, pkts[i-1].SequenceNumber)
		}
		dts := pk.Timestamp - pkts[i-1].Timestamp
		switch i {
		case 10: // second Play, right after the first: new talkspurt, no gap
			if !pk.Marker || dts != 160 {
				t.Errorf("start of second prompt: marker %v, ts step %d", pk.Marker, dts)
			}
		case 16: // third Play, after 300 ms of silence
			if !pk.Marker || dts < 160+8*250 {
				t.Errorf("start of third prompt: marker %v, ts step %d, want a jump over the pause", pk.Marker, dts)
			}
		default:
			if pk.Marker || dts != 160 {
				t.Errorf("packet %d: marker %v, ts step %d", i, pk.Marker, dts)
			}
		}
	}
	if !pkts[0].Marker {
		t.Error("first packet has no marker")
	}
	// The padded last frame of p2 ends in A-law silence.
	if last := pkts[15].Payload; last[159] != 0xD5 {
		t.Errorf("padding byte %#02x, want A-law silence", last[159])
	}
}

func TestPlayLoopAndCancel(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	peer := newRawPeer(t)
	if err := s.Start(peer.addr(), PCMU, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.PlayLoop(ctx, Tone([]float64{440}, 60*time.Millisecond)) }()
	pkts := peer.collect(12, time.Second) // four times round a 3-packet prompt
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("PlayLoop returned %v, want context.Canceled", err)
	}
	if len(pkts) != 12 {
		t.Fatalf("got %d packets", len(pkts))
	}
	for i := 1; i < len(pkts); i++ {
		if pkts[i].Marker || pkts[i].SequenceNumber != pkts[i-1].SequenceNumber+1 || pkts[i].Timestamp-pkts[i-1].Timestamp != 160 {
			t.Fatalf("loop is not one continuous stream at packet %d", i)
		}
		if string(pkts[i].Payload) != string(pkts[i%3].Payload) {
			t.Fatalf("packet %d does not repeat the prompt", i)
		}
	}

	// Play stops on its context too, and on Close.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	if err := s.Play(ctx2, Tone([]float64{440}, 10*time.Second), false); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Play after deadline: %v", err)
	}
	go func() { time.Sleep(50 * time.Millisecond); s.Close() }()
	if err := s.Play(context.Background(), Tone([]float64{440}, 10*time.Second), false); !errors.Is(err, ErrClosed) {
		t.Errorf("Play on close: %v", err)
	}
}

func TestForeignSourceDropped(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	caller, intruder := newRawPeer(t), newRawPeer(t)
	if err := s.Start(caller.addr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 160)
	for i := range 5 {
		intruder.send(s.LocalAddr(), 0, false, uint32(i*160), payload)
		intruder.send(s.LocalAddr(), 101, false, 1000, []byte{5, 0x8a, 0, 160}) // a "5" from nowhere
	}
	for i := range 3 {
		caller.send(s.LocalAddr(), 0, false, uint32(i*160), payload)
	}
	caller.sendRaw(s.LocalAddr(), []byte("not rtp"))
	waitFor(t, "3 packets in", func() bool { return s.Stats().PacketsIn == 3 && s.Stats().Malformed == 1 })
	st := s.Stats()
	if st.DroppedForeign != 10 || st.DTMFEvents != 0 || st.BytesIn != 480 {
		t.Errorf("stats %+v, want 10 foreign drops and no digit", st)
	}
	if d, ok := s.ReadDigit(context.Background(), 50*time.Millisecond); ok {
		t.Errorf("digit %q from a foreign source delivered", d.Key)
	}
}

// TestPacketPathsDoNotAllocate measures the per-packet work of both paths.
func TestPacketPathsDoNotAllocate(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	peer := newRawPeer(t)
	if err := s.Start(peer.addr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	rec, err := s.StartRecording(t.TempDir() + "/r.wav")
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	from := peer.addr().AddrPort()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	pkt := make([]byte, 12+160)
	pkt[0], pkt[1] = 0x80, 0
	dtmf := []byte{0x80, 101, 0, 1, 0, 0, 0, 9, 0, 0, 0, 1, 3, 0x8a, 0, 160}
	frame := Tone([]float64{440}, 20*time.Millisecond).payload(PCMU)
	cfg := s.cfg.Load()
	now := time.Now()
	allocs := testing.AllocsPerRun(200, func() {
		now = now.Add(ptime)
		pkt[3]++
		s.handle(pkt, from, now)
		s.handle(dtmf, from, now)
		s.sendMu.Lock()
		s.emitLocked(cfg, 0, false, s.tx.hdr.Timestamp+160, frame, &cfg.codec, false, now)
		s.sendMu.Unlock()
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per received+sent packet", allocs)
	}
}

// TestPortsStatsSumOpenAndClosed checks that the allocator's totals are
// the sum of its sessions' counters, kept after a session closes.
func TestPortsStatsSumOpenAndClosed(t *testing.T) {
	p := testPorts(t, 2)
	a, b := listen(t, p), listen(t, p)
	if err := a.Start(b.LocalAddr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(a.LocalAddr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	if err := a.Play(context.Background(), Tone([]float64{440}, 200*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "10 packets at b", func() bool { return b.Stats().PacketsIn >= 10 })
	sum := func(x, y Stats) Stats { x.add(y); return x }
	if got, want := p.Stats(), sum(a.Stats(), b.Stats()); got != want {
		t.Errorf("open sessions: totals %+v, want %+v", got, want)
	}
	sa := a.Stats()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Stats(), sum(sa, b.Stats()); got != want || got.PacketsOut != 10 || got.PacketsIn != 10 {
		t.Errorf("after a closed: totals %+v, want %+v (10 packets each way)", got, want)
	}
	b.Close()
	if got := p.Stats(); got.PacketsOut != 10 || got.PacketsIn != 10 || got.BytesIn != 1600 {
		t.Errorf("all closed: totals %+v", got)
	}
}

// TestLateSendsCounted stalls a playing session's sender for 100 ms (as a
// starved goroutine would be): the frames sent behind schedule are counted.
func TestLateSendsCounted(t *testing.T) {
	p := testPorts(t, 2)
	a, b := listen(t, p), listen(t, p)
	if err := a.Start(b.LocalAddr(), PCMU, 0); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Play(context.Background(), Tone([]float64{440}, 400*time.Millisecond), false) }()
	waitFor(t, "playback", func() bool { return a.Stats().PacketsOut >= 2 })
	a.sendMu.Lock()
	time.Sleep(100 * time.Millisecond)
	a.sendMu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.LateSends == 0 || s.PacketsOut != 20 {
		t.Errorf("after a 100 ms stall: %+v, want late sends and all 20 packets", s)
	}
}
