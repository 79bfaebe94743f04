package media

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// channelFreq estimates the dominant frequency of one channel of a stereo
// recording by counting zero crossings where the channel is loud.
func channelFreq(t *testing.T, path string, ch int) float64 {
	t.Helper()
	_, pcm, err := readPCM16(path)
	if err != nil {
		t.Fatal(err)
	}
	crossings, loud := 0, 0
	for i := 2 + ch; i < len(pcm); i += 2 {
		a, b := pcm[i-2], pcm[i]
		if max(a, -a) < 500 && max(b, -b) < 500 {
			continue
		}
		loud++
		if (a < 0) != (b < 0) {
			crossings++
		}
	}
	if loud == 0 {
		return 0
	}
	return float64(crossings) / 2 * SampleRate / float64(loud)
}

// TestRecordingBothDirections records a call where the caller sends one
// second of a 500 Hz tone while the hub plays one second of 1 kHz.
func TestRecordingBothDirections(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	caller := newRawPeer(t)
	if err := s.Start(caller.addr(), PCMU, 101); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "call.wav")
	rec, err := s.StartRecording(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartRecording(path + "2"); err == nil || !strings.Contains(err.Error(), "already recording") {
		t.Errorf("second recording: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Play(context.Background(), Tone([]float64{1000}, time.Second), false) }()
	sent := caller.sendAudio(s.LocalAddr(), PCMU, Tone([]float64{500}, time.Second).Samples())
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "caller audio", func() bool { return s.Stats().PacketsIn == uint64(sent) })
	dur, size, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if d2, s2, err2 := rec.Stop(); d2 != dur || s2 != size || err2 != nil {
		t.Errorf("second Stop: %v %d %v", d2, s2, err2)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != size {
		t.Errorf("Stop says %d bytes, file has %d", size, st.Size())
	}
	info, err := AnalyzeWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Channels != 2 || info.SampleRate != 8000 {
		t.Fatalf("recording format %+v", info)
	}
	if info.Duration != dur || info.Frames*4+44 != size {
		t.Errorf("recording holds %v (%d frames), Stop says %v and %d bytes", info.Duration, info.Frames, dur, size)
	}
	if info.Frames < 8000 {
		t.Errorf("recording of %d frames is shorter than the audio sent", info.Frames)
	}
	if info.RMS[0] < 1000 || info.RMS[1] < 1000 {
		t.Errorf("RMS left %.0f, right %.0f: want audio on both sides", info.RMS[0], info.RMS[1])
	}
	if f := channelFreq(t, path, callerChannel); math.Abs(f-500) > 25 {
		t.Errorf("left channel at %.0f Hz, want the caller's 500 Hz", f)
	}
	if f := channelFreq(t, path, hubChannel); math.Abs(f-1000) > 50 {
		t.Errorf("right channel at %.0f Hz, want the hub's 1000 Hz", f)
	}
	// Media after Stop is not recorded and does not fail.
	if err := s.Play(context.Background(), Tone([]float64{1000}, 40*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); st2.Size() != size {
		t.Errorf("file grew after Stop")
	}
}

// TestRecordingOneSided checks that each direction lands on its own side
// and that a silent direction is recorded as silence.
func TestRecordingOneSided(t *testing.T) {
	s := listen(t, testPorts(t, 1))
	caller := newRawPeer(t)
	if err := s.Start(caller.addr(), PCMA, 0); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()

	hubOnly := filepath.Join(dir, "hub.wav")
	rec, err := s.StartRecording(hubOnly)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Play(context.Background(), Tone([]float64{700}, time.Second), false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	info, err := AnalyzeWAV(hubOnly)
	if err != nil {
		t.Fatal(err)
	}
	if info.RMS[0] != 0 || info.RMS[1] < 1000 || info.Frames < 8000 {
		t.Errorf("hub-only recording: %+v, want silence left and the prompt right", info)
	}

	callerOnly := filepath.Join(dir, "caller.wav")
	if rec, err = s.StartRecording(callerOnly); err != nil {
		t.Fatal(err)
	}
	sent := caller.sendAudio(s.LocalAddr(), PCMA, Tone([]float64{400}, 500*time.Millisecond).Samples())
	waitFor(t, "caller audio", func() bool { return s.Stats().PacketsIn == uint64(sent) })
	// The caller goes quiet (silence suppression): the timeline goes on.
	time.Sleep(400 * time.Millisecond)
	dur, _, err := rec.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if info, err = AnalyzeWAV(callerOnly); err != nil {
		t.Fatal(err)
	}
	if info.RMS[0] < 1000 || info.RMS[1] != 0 {
		t.Errorf("caller-only recording: %+v, want the caller left and silence right", info)
	}
	if dur < 900*time.Millisecond {
		t.Errorf("recording lasts %v, want the 500 ms of audio and the pause after it", dur)
	}

	if _, err := s.StartRecording(filepath.Join(dir, "missing", "x.wav")); err == nil {
		t.Error("recording into a missing directory succeeded")
	}
}
