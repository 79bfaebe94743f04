package voicebench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice"
	"github.com/hotline-hub/hotline/channels/voice/media"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

// The bench hub's tenant and its two numbers: MenuNumber answers with the
// language menu (four languages, then two services), QueueNumber has one
// language and one service, so its callers go straight to the recording
// notice and then wait in the queue with music, recorded.
const (
	benchTenant = "bench"
	MenuNumber  = "+33100000100"
	QueueNumber = "+33100000200"
)

// Prompt lengths of the bench hub: what a caller hears and the hub sends.
const (
	menuPromptLength   = 4 * time.Second
	noticePromptLength = 2 * time.Second
	otherPromptLength  = time.Second
)

// hub is the in-process Hotline the bench calls: the embedded bus and the
// voice channel, as serve assembles them, with no routing (queued calls
// wait until they hang up).
type hub struct {
	voice *voice.Server
	bus   *embedded.Bus
	pub   *countingBus
	addr  string // SIP over UDP

	cancel context.CancelFunc
	done   chan error
}

// startHub opens the bus under dir, writes tone prompts and starts the
// voice channel on 127.0.0.1 (SIP on a free UDP port, RTP in rtpMin-rtpMax).
func startHub(ctx context.Context, cfg config.Config, dir string, rtpMin, rtpMax int, log *slog.Logger) (_ *hub, err error) {
	if cfg.Bus.Driver != config.DriverEmbedded {
		return nil, fmt.Errorf("voicebench: the bench hub runs on the embedded bus only, not %q", cfg.Bus.Driver)
	}
	cfg.DataDir = dir
	cfg.Bus.Embedded.Dir = filepath.Join(dir, "bus")
	b, err := embedded.Open(cfg.EmbeddedConfig(), log.With("component", "bus"))
	if err != nil {
		return nil, fmt.Errorf("voicebench: open the embedded bus in %s: %w", cfg.EmbeddedDir(), err)
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	prompts := filepath.Join(dir, "prompts")
	if err := writePrompts(prompts); err != nil {
		return nil, err
	}
	pub := &countingBus{Bus: b, counts: make(map[string]int)}
	vs, err := voice.New(voice.Config{
		UDPAddr: "127.0.0.1:0", TCPAddr: "off",
		RTPIP: "127.0.0.1", RTPPortMin: rtpMin, RTPPortMax: rtpMax,
		PromptsDir: prompts, RecordingsDir: filepath.Join(dir, "recordings"),
		Numbers: []voice.NumberConfig{
			{Number: MenuNumber, Tenant: benchTenant, Menu: voice.MenuConfig{
				Languages:       map[string]string{"1": "fr", "2": "en", "3": "ru", "4": "de"},
				Services:        map[string]string{"1": "billing", "2": "support"},
				DefaultLanguage: "fr", DefaultQueue: "general",
			}},
			{Number: QueueNumber, Tenant: benchTenant, Menu: voice.MenuConfig{
				Services:        map[string]string{"1": "support"},
				DefaultLanguage: "en", DefaultQueue: "support",
			}},
		},
	}, pub, log.With("component", "voice"))
	if err != nil {
		return nil, fmt.Errorf("voicebench: voice channel: %w", err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h := &hub{voice: vs, bus: b, pub: pub, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- vs.Run(rctx) }()
	select {
	case <-vs.Ready():
	case err := <-h.done:
		cancel()
		return nil, fmt.Errorf("voicebench: voice channel: %w", err)
	case <-time.After(30 * time.Second):
		cancel()
		return nil, errors.New("voicebench: the voice channel did not start listening within 30s")
	}
	h.addr = vs.Addr("udp").String()
	return h, nil
}

// writePrompts writes every prompt the numbers need as tones: the bench
// measures the hub's media path, not the wording.
func writePrompts(dir string) error {
	for i, lang := range []string{"fr", "en", "ru", "de"} {
		if err := os.MkdirAll(filepath.Join(dir, lang), 0o750); err != nil {
			return fmt.Errorf("voicebench: prompts: %w", err)
		}
		for j, name := range []string{voice.PromptClosed, voice.PromptLanguageMenu, voice.PromptServiceMenu,
			voice.PromptInvalid, voice.PromptRecordingNotice} {
			length := otherPromptLength
			switch name {
			case voice.PromptLanguageMenu:
				length = menuPromptLength
			case voice.PromptRecordingNotice:
				length = noticePromptLength
			}
			f := 300 + float64(100*i+20*j)
			// Four notes, so the audio is not one constant tone.
			p := media.Tone([]float64{f, f * 1.25, f * 1.5, f * 1.25}, length/4)
			if err := p.Save(filepath.Join(dir, lang, name+".wav")); err != nil {
				return fmt.Errorf("voicebench: write prompt: %w", err)
			}
		}
	}
	return nil
}

// stop ends the voice channel (it hangs up calls still up) and closes the
// bus.
func (h *hub) stop(timeout time.Duration) error {
	h.cancel()
	var err error
	select {
	case err = <-h.done:
	case <-time.After(timeout):
		err = fmt.Errorf("voicebench: the voice channel did not stop within %s", timeout)
	}
	if cerr := h.bus.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("voicebench: close bus: %w", cerr)
	}
	return err
}

// countingBus is the hub's bus as the voice channel sees it: the embedded
// bus, counting the events made durable by type and timing each Publish.
// It stays a bus.Subscriber, so the channel runs as it does in serve.
type countingBus struct {
	*embedded.Bus

	mu     sync.Mutex
	counts map[string]int
	lat    []int64 // Publish durations, ns
	errs   int
}

var _ bus.Bus = (*countingBus)(nil)

// Publish publishes through the embedded bus and counts what it stored.
func (c *countingBus) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	start := time.Now()
	err := c.Bus.Publish(ctx, topic, msgs...)
	d := time.Since(start)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errs++
		return err
	}
	c.lat = append(c.lat, int64(d))
	for i := range msgs {
		if t, ok := msgs[i].Header(event.HeaderType); ok {
			c.counts[string(t)]++
		}
	}
	return nil
}

// snapshot returns the counts so far, the publish durations and the
// failed publishes.
func (c *countingBus) snapshot() (map[string]int, []int64, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		counts[k] = v
	}
	return counts, append([]int64(nil), c.lat...), c.errs
}
