package voice

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/embedded"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/routing/hours"
)

// waitLimit bounds every wait so a broken test fails instead of hanging; it
// is never what a test asserts.
const waitLimit = 30 * time.Second

const (
	testNumber = "+33100000001" // open, with language and service menus
	testClosed = "+33100000002" // always closed: voicemail
	testTenant = "demo"
)

func testLog(t testing.TB) *slog.Logger {
	if os.Getenv("VOICE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newBus opens an embedded bus with one partition per topic.
func newBus(t testing.TB) *embedded.Bus {
	t.Helper()
	b, err := embedded.Open(embedded.Config{Dir: t.TempDir(), Partitions: 1}, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// writeWAV writes 8 kHz mono 16-bit PCM.
func writeWAV(t testing.TB, path string, pcm []int16) {
	t.Helper()
	var b bytes.Buffer
	data := len(pcm) * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, binary.LittleEndian, uint32(16))
	binary.Write(&b, binary.LittleEndian, uint16(1))    // PCM
	binary.Write(&b, binary.LittleEndian, uint16(1))    // mono
	binary.Write(&b, binary.LittleEndian, uint32(8000)) // rate
	binary.Write(&b, binary.LittleEndian, uint32(16000))
	binary.Write(&b, binary.LittleEndian, uint16(2))
	binary.Write(&b, binary.LittleEndian, uint16(16))
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	binary.Write(&b, binary.LittleEndian, pcm)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tone(freq float64, d time.Duration) []int16 {
	n := int(d.Seconds() * 8000)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return out
}

// makePrompts writes short tone prompts for every language, so calls move
// through the menus quickly.
func makePrompts(t testing.TB, dir string) {
	t.Helper()
	for i, l := range menuLanguages {
		for j, name := range languagePrompts {
			writeWAV(t, promptPath(dir, l, name), tone(300+float64(100*i+20*j), 200*time.Millisecond))
		}
		for j, name := range spokenNames() {
			writeWAV(t, promptPath(dir, l, name), tone(350+float64(100*i+5*j), 200*time.Millisecond))
		}
	}
}

// testConfig is a server on free loopback ports with two numbers.
func testConfig(t testing.TB) Config {
	dir := t.TempDir()
	offset := wednesdayNoonOffset()
	prompts := filepath.Join(dir, "prompts")
	makePrompts(t, prompts)
	return Config{
		UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0",
		RTPIP: "127.0.0.1", RTPPortMin: 40000, RTPPortMax: 49999,
		PromptsDir: prompts, RecordingsDir: filepath.Join(dir, "recordings"),
		Numbers: []NumberConfig{
			{Number: testNumber, Tenant: testTenant, Menu: MenuConfig{
				Languages:       map[string]string{"1": "fr", "2": "en", "3": "ru", "4": "de"},
				Services:        map[string]string{"1": "billing", "2": "support"},
				InputTimeout:    time.Second,
				Retries:         1,
				DefaultLanguage: "fr", DefaultQueue: "general",
			}},
			{Number: testClosed, Tenant: testTenant,
				Hours: hours.Config{TimeZone: "Europe/Paris", Holidays: []hours.Holiday{}, Weekly: map[string][]string{
					// Open one minute a week, at a time the test never runs... or does:
					// the closed check is made against the test clock below.
					"monday": {"00:00-00:01"}}},
				Menu: MenuConfig{DefaultLanguage: "en", DefaultQueue: "general"}},
		},
		Phones: []PhoneConfig{
			{User: "alice", AgentID: "agent-alice", Tenant: testTenant, Password: "s3cret"},
			{User: "bob", AgentID: "agent-bob", Tenant: testTenant, HA1: HA1("bob", DefaultRealm, "hunter2")},
		},
		MaxVoicemail: 2 * time.Second,
		// Wednesday noon in Paris: the closed number is closed, whatever
		// the machine's clock says.
		Now: func() time.Time { return time.Now().Add(offset) },
	}
}

// wednesdayNoonOffset moves the clock to the next Wednesday 12:00 Paris time.
func wednesdayNoonOffset() time.Duration {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	now := time.Now().In(loc)
	days := (int(time.Wednesday) - int(now.Weekday()) + 7) % 7
	target := time.Date(now.Year(), now.Month(), now.Day()+days, 12, 0, 0, 0, loc)
	return target.Sub(now)
}

// hub is one running server on an embedded bus, with the events it
// published.
type hub struct {
	s      *Server
	bus    *embedded.Bus
	cancel context.CancelFunc
	done   chan error
	events *collector

	stopOnce sync.Once
}

func startHub(t testing.TB, cfg Config, wrap func(bus.Bus) bus.Publisher) *hub {
	t.Helper()
	b := newBus(t)
	var pub bus.Publisher = b
	if wrap != nil {
		pub = wrap(b)
	}
	s, err := New(cfg, pub, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &hub{s: s, bus: b, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-h.done:
		t.Fatalf("Run ended before ready: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("server not ready")
	}
	h.events = collect(t, b)
	t.Cleanup(h.stop)
	return h
}

func (h *hub) stop() {
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case <-h.done:
		case <-time.After(waitLimit):
			panic("voice server did not stop")
		}
	})
}

// collector reads TopicConversations into memory.
type collector struct {
	mu     sync.Mutex
	events []*event.Envelope
	note   chan struct{}
}

func collect(t testing.TB, b bus.Subscriber) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := b.Subscribe(ctx, event.TopicConversations, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{note: make(chan struct{}, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			d, err := sub.Receive(ctx)
			if err != nil {
				return
			}
			e, err := event.FromMessage(&d.Message)
			if err != nil {
				t.Errorf("unreadable event on the bus: %v", err)
				continue
			}
			if err := e.Validate(); err != nil {
				t.Errorf("invalid event %s: %v", e.Type, err)
			}
			c.mu.Lock()
			c.events = append(c.events, e)
			c.mu.Unlock()
			select {
			case c.note <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() { cancel(); sub.Close(); <-done })
	return c
}

// wait returns the first event of type typ that match accepts, failing
// the test after waitLimit.
func (c *collector) wait(t testing.TB, typ string, match func(*event.Envelope) bool) *event.Envelope {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		c.mu.Lock()
		for _, e := range c.events {
			if e.Type == typ && (match == nil || match(e)) {
				c.mu.Unlock()
				return e
			}
		}
		c.mu.Unlock()
		select {
		case <-c.note:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s event; have %s", typ, c.types())
			return nil
		}
	}
}

// all returns the events of conversation conv, in bus order.
func (c *collector) all(conv string) []*event.Envelope {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*event.Envelope
	for _, e := range c.events {
		if e.ConversationID == conv {
			out = append(out, e)
		}
	}
	return out
}

func (c *collector) types() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for _, e := range c.events {
		s = append(s, e.Type)
	}
	return strings.Join(s, ", ")
}

func decode[T any](t testing.TB, e *event.Envelope) T {
	t.Helper()
	p, err := e.Decode()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := p.(T)
	if !ok {
		t.Fatalf("%s decodes to %T", e.Type, p)
	}
	return v
}

// freeUDPPort returns a port free at the time of the call, for sipp's
// media port.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// freeTCPPort returns a TCP port free at the time of the call, for sipp's
// SIP socket over TCP (a free UDP port may be a TCP port in use).
func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sipp runs one sipp scenario from testdata against the hub over UDP and
// returns an error when a call failed, with sipp's error log.
func sipp(t testing.TB, h *hub, scenario, service string, keys map[string]string) error {
	t.Helper()
	return sippOver(t, h, "udp", scenario, service, keys)
}

// sippOver is sipp over network "udp" or "tcp".
func sippOver(t testing.TB, h *hub, network, scenario, service string, keys map[string]string) error {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Skip("sipp not installed (Debian package sip-tester; deploy/install-test-deps.sh)")
	}
	sf, err := filepath.Abs(filepath.Join("testdata", scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	transport := "u1"
	if network == "tcp" {
		transport = "t1"
	}
	args := []string{h.s.Addr(network).String(), "-t", transport, "-sf", sf, "-i", "127.0.0.1", "-s", service,
		"-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error", "-trace_err",
		"-mp", strconv.Itoa(freeUDPPort(t)), "-recv_timeout", "20s"}
	// sipp's own SIP port: a free one, or local_port (a phone that
	// registers more than once must come from the same contact).
	local := keys["local_port"]
	if local == "" && network == "tcp" {
		local = strconv.Itoa(freeTCPPort(t))
	} else if local == "" {
		local = strconv.Itoa(freeUDPPort(t))
	}
	args = append(args, "-p", local)
	for k, v := range keys {
		switch k {
		case "local_port":
			continue
		case "user":
			args = append(args, "-au", v) // for [authentication]
		case "pass":
			args = append(args, "-ap", v)
		}
		if k == "hold_ms" {
			// sipp reads no keyword in a pause; a bare <pause/> lasts -d.
			args = append(args, "-d", v)
			continue
		}
		args = append(args, "-key", k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sipp", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var logs []string
	if files, _ := filepath.Glob(filepath.Join(dir, "*errors.log")); len(files) > 0 {
		for _, f := range files {
			b, _ := os.ReadFile(f)
			logs = append(logs, string(b))
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("sipp %s: exit %d\n%s\n%s", scenario, ee.ExitCode(), tail(string(out), 1500), strings.Join(logs, "\n"))
	}
	return fmt.Errorf("sipp %s: %w", scenario, err)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
