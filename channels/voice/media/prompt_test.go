package media

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTone(t *testing.T) {
	p := Tone([]float64{440, 0, 620}, 250*time.Millisecond)
	if p.Duration() != 750*time.Millisecond {
		t.Fatalf("duration %v", p.Duration())
	}
	s := p.Samples()
	rms := func(x []int16) float64 {
		var sum float64
		for _, v := range x {
			sum += float64(v) * float64(v)
		}
		return math.Sqrt(sum / float64(len(x)))
	}
	if r := rms(s[:2000]); r < 5000 || r > 6000 { // 0.25 full scale sine: 8192/sqrt(2)
		t.Errorf("tone RMS %.0f", r)
	}
	if r := rms(s[2000:4000]); r != 0 {
		t.Errorf("pause RMS %.0f", r)
	}
	// 440 Hz crosses zero 880 times a second.
	crossings := 0
	for i := 1; i < 2000; i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			crossings++
		}
	}
	if crossings < 215 || crossings > 225 {
		t.Errorf("%d zero crossings in 250 ms of 440 Hz", crossings)
	}
	if s[0] != 0 || s[1999] > 100 || s[1999] < -100 {
		t.Errorf("tone does not ramp: %d ... %d", s[0], s[1999])
	}
	if c := Concat(p, Silence(time.Second)); c.Duration() != 1750*time.Millisecond {
		t.Errorf("concat duration %v", c.Duration())
	}
}

func TestPromptPayloadPadsWithSilence(t *testing.T) {
	p := NewPrompt(make([]int16, 170)) // 1 frame and 10 samples
	for _, c := range []Codec{PCMU, PCMA} {
		b := p.payload(c)
		if len(b) != 320 {
			t.Fatalf("%s payload %d bytes, want 320", c.Name, len(b))
		}
		for _, v := range b {
			if v != c.silence() {
				t.Fatalf("%s payload byte %#02x, want silence", c.Name, v)
			}
		}
	}
}

func TestGeneratePrompt(t *testing.T) {
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	texts := map[string]string{
		"fr": "Bienvenue. Pour le service client, tapez un.",
		"en": "Welcome. For customer service, press one.",
		"ru": "Добро пожаловать. Для службы поддержки нажмите один.",
		"de": "Willkommen. Für den Kundendienst drücken Sie eins.",
	}
	for lang, text := range texts {
		t.Run(lang, func(t *testing.T) {
			path := filepath.Join(dir, lang+".wav")
			if err := GeneratePrompt(context.Background(), lang, text, path); err != nil {
				t.Fatal(err)
			}
			p, err := LoadPrompt(path)
			if err != nil {
				t.Fatal(err)
			}
			if p.Duration() < time.Second || p.Duration() > 15*time.Second {
				t.Errorf("prompt lasts %v", p.Duration())
			}
			info, err := AnalyzeWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Channels != 1 || info.SampleRate != 8000 || info.RMS[0] < 1000 {
				t.Errorf("analysis %+v", info)
			}
		})
	}
	err := GeneratePrompt(context.Background(), "xx", "hello", filepath.Join(dir, "xx.wav"))
	if err == nil || !strings.Contains(err.Error(), "unsupported language") {
		t.Errorf("unknown language: %v", err)
	}
	if err := GeneratePrompt(context.Background(), "en", "  ", filepath.Join(dir, "e.wav")); err == nil {
		t.Error("empty text accepted")
	}
	// Text that looks like options is spoken, not parsed.
	if err := GeneratePrompt(context.Background(), "en", "--help -w /etc/passwd", filepath.Join(dir, "opt.wav")); err != nil {
		t.Errorf("option-like text: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := GeneratePrompt(ctx, "en", "hello", filepath.Join(dir, "c.wav")); err == nil {
		t.Error("cancelled context accepted")
	}
}
