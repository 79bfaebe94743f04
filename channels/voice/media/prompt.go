package media

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SampleRate is the rate of every prompt and recording: G.711's 8 kHz.
const SampleRate = 8000

// frameSamples is one 20 ms RTP packet of G.711.
const frameSamples = SampleRate / 50

// Prompt is 8 kHz mono 16-bit linear audio, loaded once and shared
// read-only by every call that plays it. The G.711 encodings are computed
// on first use and shared too, so playing a prompt on a thousand calls
// costs no memory per call.
type Prompt struct {
	pcm []int16

	once    [2]sync.Once
	encoded [2][]byte // µ-law, A-law; padded with silence to whole frames
}

// NewPrompt makes a prompt of 8 kHz mono samples; the slice is kept and
// must not be modified afterwards.
func NewPrompt(pcm []int16) *Prompt { return &Prompt{pcm: pcm} }

// LoadPrompt reads a WAV file of 16-bit linear PCM, mono, 8000 Hz.
func LoadPrompt(path string) (*Prompt, error) {
	f, pcm, err := readPCM16(path)
	if err != nil {
		return nil, fmt.Errorf("load prompt %s: %w", path, err)
	}
	if f.channels != 1 {
		return nil, fmt.Errorf("load prompt %s: %w: %d channels, want mono", path, ErrInvalidWAV, f.channels)
	}
	if f.sampleRate != SampleRate {
		return nil, fmt.Errorf("load prompt %s: %w: sample rate %d Hz, want %d", path, ErrInvalidWAV, f.sampleRate, SampleRate)
	}
	if len(pcm) == 0 {
		return nil, fmt.Errorf("load prompt %s: %w: no audio", path, ErrInvalidWAV)
	}
	return NewPrompt(pcm), nil
}

// Duration is the length of the audio.
func (p *Prompt) Duration() time.Duration {
	return time.Duration(len(p.pcm)) * time.Second / SampleRate
}

// Samples returns the audio; it is shared and must not be modified.
func (p *Prompt) Samples() []int16 { return p.pcm }

// Save writes the prompt as an 8 kHz mono 16-bit WAV file.
func (p *Prompt) Save(path string) error {
	w, err := createWAV(path, 1, SampleRate, 32<<10)
	if err != nil {
		return fmt.Errorf("save prompt: %w", err)
	}
	if err := w.write(p.pcm); err != nil {
		w.close()
		return fmt.Errorf("save prompt %s: %w", path, err)
	}
	if err := w.close(); err != nil {
		return fmt.Errorf("save prompt %s: %w", path, err)
	}
	return nil
}

// payload returns the prompt encoded with c, padded with silence to a
// whole number of 20 ms frames.
func (p *Prompt) payload(c Codec) []byte {
	i := 0
	if c.PayloadType == PCMA.PayloadType {
		i = 1
	}
	p.once[i].Do(func() {
		n := (len(p.pcm) + frameSamples - 1) / frameSamples * frameSamples
		b := bytes.Repeat([]byte{c.silence()}, n)
		c.encode(b, p.pcm)
		p.encoded[i] = b
	})
	return p.encoded[i]
}

// Concat joins prompts into a new one (for announcements such as
// "you are number" + "three").
func Concat(parts ...*Prompt) *Prompt {
	n := 0
	for _, p := range parts {
		n += len(p.pcm)
	}
	pcm := make([]int16, 0, n)
	for _, p := range parts {
		pcm = append(pcm, p.pcm...)
	}
	return NewPrompt(pcm)
}

// Silence is a prompt of d of silence.
func Silence(d time.Duration) *Prompt {
	return NewPrompt(make([]int16, int(d*SampleRate/time.Second)))
}

// Tone generates a sequence of sine tones, each lasting each (a frequency
// of 0 is a pause), at about -12 dBFS with 5 ms ramps so that tones do not
// click. It is usable as music on hold without any external file.
func Tone(freqsHz []float64, each time.Duration) *Prompt {
	per := int(each * SampleRate / time.Second)
	ramp := min(SampleRate/200, per/2)
	pcm := make([]int16, per*len(freqsHz))
	for k, f := range freqsHz {
		if f <= 0 {
			continue
		}
		seg := pcm[k*per : (k+1)*per]
		for i := range seg {
			a := 0.25 * 32767
			if d := min(i, per-1-i); d < ramp {
				a *= float64(d) / float64(ramp)
			}
			seg[i] = int16(a * math.Sin(2*math.Pi*f*float64(i)/SampleRate))
		}
	}
	return NewPrompt(pcm)
}

// espeakVoice maps the hub's languages to espeak-ng voices.
func espeakVoice(lang string) (string, bool) {
	switch lang {
	case "fr", "ru", "de":
		return lang, true
	case "en":
		return "en-gb", true
	}
	return "", false
}

// GeneratePrompt speaks text in lang ("fr", "en", "ru" or "de") with
// espeak-ng and converts it with sox to an 8 kHz mono 16-bit WAV at path.
// The file is replaced atomically, and only once it loads as a prompt.
func GeneratePrompt(ctx context.Context, lang, text, path string) error {
	voice, ok := espeakVoice(lang)
	if !ok {
		return fmt.Errorf("generate prompt: unsupported language %q (want fr, en, ru or de)", lang)
	}
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("generate prompt: empty text")
	}
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".prompt-*")
	if err != nil {
		return fmt.Errorf("generate prompt: %w", err)
	}
	defer os.RemoveAll(tmp)
	spoken := filepath.Join(tmp, "espeak.wav")
	converted := filepath.Join(tmp, "prompt.wav")

	// The text goes through stdin so that nothing in it is read as an option.
	espeak := exec.CommandContext(ctx, "espeak-ng", "-v", voice, "-s", "150", "-w", spoken, "--stdin")
	espeak.Stdin = strings.NewReader(text)
	if out, err := espeak.CombinedOutput(); err != nil {
		return fmt.Errorf("generate prompt: espeak-ng -v %s: %w: %s", voice, err, bytes.TrimSpace(out))
	}
	sox := exec.CommandContext(ctx, "sox", spoken,
		"-r", fmt.Sprint(SampleRate), "-c", "1", "-b", "16", "-e", "signed-integer", converted,
		"norm", "-3")
	if out, err := sox.CombinedOutput(); err != nil {
		return fmt.Errorf("generate prompt: sox: %w: %s", err, bytes.TrimSpace(out))
	}
	if _, err := LoadPrompt(converted); err != nil {
		return fmt.Errorf("generate prompt: %w", err)
	}
	if err := os.Rename(converted, path); err != nil {
		return fmt.Errorf("generate prompt: %w", err)
	}
	return nil
}
