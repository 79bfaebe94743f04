package media

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wavBytes builds a WAV file by hand; dataLen < 0 declares the real length.
func wavBytes(format, channels, rate, bits int, data []byte, dataLen int) []byte {
	if dataLen < 0 {
		dataLen = len(data)
	}
	b := make([]byte, 44, 44+len(data))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+len(data)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], uint16(format))
	binary.LittleEndian.PutUint16(b[22:], uint16(channels))
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(b[32:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(b[34:], uint16(bits))
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(dataLen))
	return append(b, data...)
}

func TestWAVRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := Tone([]float64{440, 0, 880}, 100*time.Millisecond)
	path := filepath.Join(dir, "tone.wav")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPrompt(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Duration() != 300*time.Millisecond || len(got.Samples()) != len(p.Samples()) {
		t.Fatalf("loaded %v (%d samples), want 300ms (%d)", got.Duration(), len(got.Samples()), len(p.Samples()))
	}
	for i, s := range p.Samples() {
		if got.Samples()[i] != s {
			t.Fatalf("sample %d = %d, want %d", i, got.Samples()[i], s)
		}
	}
	info, err := AnalyzeWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Channels != 1 || info.SampleRate != 8000 || info.Frames != 2400 || info.RMS[0] < 1000 {
		t.Errorf("analysis = %+v", info)
	}

	// A file with an extra chunk before the data and a streaming writer's
	// unknown data length (0) still loads.
	pcm := []byte{1, 0, 2, 0, 3, 0, 4, 0}
	b := wavBytes(1, 1, 8000, 16, nil, 0)
	list := append([]byte("LIST\x03\x00\x00\x00abc\x00"), b[36:]...)
	b = append(b[:36:36], list...)
	b = append(b, pcm...)
	extra := filepath.Join(dir, "extra.wav")
	if err := os.WriteFile(extra, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = LoadPrompt(extra)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Samples(); len(s) != 4 || s[0] != 1 || s[3] != 4 {
		t.Errorf("samples = %v", s)
	}
}

func TestLoadPromptRejectsBadFiles(t *testing.T) {
	pcm := make([]byte, 320)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not riff", []byte("ID3\x03 this is an mp3 file, not a wave file at all"), "not a RIFF/WAVE"},
		{"empty", nil, "RIFF header"},
		{"wrong rate", wavBytes(1, 1, 16000, 16, pcm, -1), "sample rate 16000"},
		{"stereo", wavBytes(1, 2, 8000, 16, pcm, -1), "2 channels"},
		{"8 bit", wavBytes(1, 1, 8000, 8, pcm, -1), "8 bits"},
		{"mu-law", wavBytes(7, 1, 8000, 8, pcm, -1), "audio format 7"},
		{"truncated data", wavBytes(1, 1, 8000, 16, pcm, 4000), "truncated"},
		{"truncated header", wavBytes(1, 1, 8000, 16, pcm, -1)[:30], "truncated fmt"},
		{"no data chunk", wavBytes(1, 1, 8000, 16, nil, -1)[:36], "no data chunk"},
		{"odd length", wavBytes(1, 1, 8000, 16, pcm[:5], -1), "whole number"},
		{"no audio", wavBytes(1, 1, 8000, 16, nil, -1), "no audio"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".wav")
			if err := os.WriteFile(path, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPrompt(path)
			if err == nil {
				t.Fatal("loaded a bad file")
			}
			if !errors.Is(err, ErrInvalidWAV) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrInvalidWAV mentioning %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
	if _, err := LoadPrompt(filepath.Join(dir, "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestWAVWriterStreamsStereo(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stereo.wav")
	w, err := createWAV(path, 2, 8000, 64)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]int16, 2*8000) // 1 s: left loud, right silent
	for i := 0; i < len(frames); i += 2 {
		frames[i] = 1000
	}
	for i := 0; i < len(frames); i += 500 {
		if err := w.write(frames[i : i+500]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != w.size() || st.Size() != 44+32000 {
		t.Errorf("file size %d, writer says %d, want %d", st.Size(), w.size(), 44+32000)
	}
	info, err := AnalyzeWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Channels != 2 || info.Frames != 8000 || info.Duration != time.Second {
		t.Errorf("analysis = %+v", info)
	}
	if info.RMS[0] != 1000 || info.RMS[1] != 0 || info.Peak[0] != 1000 {
		t.Errorf("RMS = %v, peak = %v; want left 1000, right 0", info.RMS, info.Peak)
	}
	if _, err := LoadPrompt(path); err == nil || !strings.Contains(err.Error(), "2 channels") {
		t.Errorf("stereo recording loaded as a prompt: %v", err)
	}
}
