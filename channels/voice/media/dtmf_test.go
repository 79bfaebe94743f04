package media

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

const pcapDir = "/usr/share/sip-tester"

func dtmfPcap(t *testing.T, name string) []pcapPacket {
	t.Helper()
	path := pcapDir + "/dtmf_2833_" + name + ".pcap"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("sipp samples not installed: %v", err)
	}
	return readPcapUDP(t, path)
}

// readDigits collects digits until none arrives for idle.
func readDigits(s *Session, idle time.Duration) string {
	var b strings.Builder
	for {
		d, ok := s.ReadDigit(context.Background(), idle)
		if !ok {
			return b.String()
		}
		b.WriteRune(d.Key)
	}
}

// TestDTMFFromSippPcaps sends the RFC 2833 captures shipped with sipp
// (first packet of each event with duration 0, end packet sent three
// times) and expects each key exactly once, in order.
func TestDTMFFromSippPcaps(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	caller := newRawPeer(t)
	if err := s.Start(caller.addr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	names := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "star", "pound"}
	for _, name := range names {
		pkts := dtmfPcap(t, name)
		if len(pkts) != 10 {
			t.Fatalf("%s: %d packets in capture", name, len(pkts))
		}
		if binary.BigEndian.Uint16(pkts[0].payload[12+2:]) != 0 {
			t.Fatalf("%s: first packet's duration is not 0", name)
		}
		caller.replayPcap(s.LocalAddr(), pkts)
	}
	waitFor(t, "120 packets", func() bool { return s.Stats().PacketsIn == 120 })
	if got := readDigits(s, 200*time.Millisecond); got != "0123456789*#" {
		t.Errorf("digits %q, want %q", got, "0123456789*#")
	}
	if st := s.Stats(); st.DTMFEvents != 12 {
		t.Errorf("stats %+v, want 12 DTMF events", st)
	}
}

func TestDTMFFirstPacketDelivers(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	caller := newRawPeer(t)
	if err := s.Start(caller.addr(), PCMA, 96); err != nil {
		t.Fatal(err)
	}
	// Only the duration-0 first packet of a "7" arrives.
	caller.send(s.LocalAddr(), 96, true, 5000, []byte{7, 10, 0, 0})
	d, ok := s.ReadDigit(context.Background(), 5*time.Second)
	if !ok || d.Key != '7' || d.Duration != 0 || d.At.IsZero() {
		t.Fatalf("digit %+v %v, want '7' of duration 0", d, ok)
	}
	// Its continuation and end packets (retransmitted) add nothing.
	for _, dur := range []uint16{160, 320, 480} {
		caller.send(s.LocalAddr(), 96, false, 5000, []byte{7, 10, byte(dur >> 8), byte(dur)})
	}
	for range 3 {
		caller.send(s.LocalAddr(), 96, false, 5000, []byte{7, 0x8a, 3, 0x20})
	}
	// A "#" whose first packets were lost is delivered on its end packet.
	caller.send(s.LocalAddr(), 96, false, 9000, []byte{11, 0x8a, 3, 0x20})
	caller.send(s.LocalAddr(), 96, false, 9000, []byte{11, 0x8a, 3, 0x20})
	waitFor(t, "9 packets", func() bool { return s.Stats().PacketsIn == 9 })
	d, ok = s.ReadDigit(context.Background(), 5*time.Second)
	if !ok || d.Key != '#' || d.Duration != 100*time.Millisecond {
		t.Errorf("second digit %+v %v, want '#' lasting 100ms", d, ok)
	}
	if got := readDigits(s, 100*time.Millisecond); got != "" {
		t.Errorf("extra digits %q", got)
	}
	if st := s.Stats(); st.DTMFEvents != 2 {
		t.Errorf("%d DTMF events, want 2", st.DTMFEvents)
	}
	// Non-key events and short payloads are not digits.
	caller.send(s.LocalAddr(), 96, false, 12000, []byte{16, 10, 0, 0})
	caller.send(s.LocalAddr(), 96, false, 13000, []byte{1, 10})
	waitFor(t, "11 packets", func() bool { return s.Stats().PacketsIn == 11 })
	if st := s.Stats(); st.DTMFEvents != 2 || st.Malformed != 1 {
		t.Errorf("stats %+v after a flash event and a short payload", st)
	}
}

// TestDTMFRepeatedKeyReplay replays one capture twice, as sipp does for a
// repeated key: the headers are identical, the press is not.
func TestDTMFRepeatedKeyReplay(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	caller := newRawPeer(t)
	if err := s.Start(caller.addr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	one := dtmfPcap(t, "1")
	caller.replayPcap(s.LocalAddr(), one)
	// An end-packet retransmit arriving late is still the same press.
	caller.sendRaw(s.LocalAddr(), one[len(one)-1].payload)
	time.Sleep(150 * time.Millisecond)
	caller.replayPcap(s.LocalAddr(), one)
	if got := readDigits(s, 300*time.Millisecond); got != "11" {
		t.Errorf("digits %q, want %q", got, "11")
	}
}

func TestBargeIn(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	caller := newRawPeer(t)
	if err := s.Start(caller.addr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	long := Tone([]float64{440}, 10*time.Second)
	go func() {
		time.Sleep(100 * time.Millisecond)
		caller.send(s.LocalAddr(), 101, true, 777, []byte{4, 10, 0, 0})
	}()
	if err := s.Play(context.Background(), long, true); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Play returned %v, want ErrInterrupted", err)
	}
	if sent := s.Stats().PacketsOut; sent == 0 || sent >= 500 {
		t.Errorf("%d packets sent before the interruption", sent)
	}
	// The digit is still there for the menu to read.
	if d, ok := s.ReadDigit(context.Background(), time.Second); !ok || d.Key != '4' {
		t.Errorf("digit after barge-in: %+v %v", d, ok)
	}
	// A non-interruptible prompt ignores keys.
	caller.send(s.LocalAddr(), 101, true, 999, []byte{5, 10, 0, 0})
	if err := s.Play(context.Background(), Tone([]float64{440}, 100*time.Millisecond), false); err != nil {
		t.Errorf("non-interruptible Play: %v", err)
	}
	// A digit typed ahead and unread interrupts the next interruptible Play at once.
	if err := s.Play(context.Background(), long, true); !errors.Is(err, ErrInterrupted) {
		t.Errorf("type-ahead: %v", err)
	}
	if n := s.FlushDigits(); n != 1 {
		t.Errorf("flushed %d digits, want 1", n)
	}
	if err := s.Play(context.Background(), Tone([]float64{440}, 60*time.Millisecond), true); err != nil {
		t.Errorf("Play after flush: %v", err)
	}
}

func TestReadDigitTimeoutAndContext(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	if err := s.Start(newRawPeer(t).addr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.ReadDigit(context.Background(), 20*time.Millisecond); ok {
		t.Error("digit out of nothing")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := s.ReadDigit(ctx, time.Hour); ok {
		t.Error("digit after cancel")
	}
}
