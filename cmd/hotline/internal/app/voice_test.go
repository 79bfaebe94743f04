package app

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hotline-hub/hotline/bus"
	"github.com/hotline-hub/hotline/bus/event"
	"github.com/hotline-hub/hotline/channels/voice"
	"github.com/hotline-hub/hotline/channels/voice/media"
	"github.com/hotline-hub/hotline/cmd/hotline/internal/config"
)

// sipPeer is a bare UDP SIP peer: it writes requests and reads responses.
type sipPeer struct {
	t    *testing.T
	conn *net.UDPConn
	to   *net.UDPAddr
}

func (p *sipPeer) send(msg string) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP([]byte(strings.ReplaceAll(msg, "\n", "\r\n")), p.to); err != nil {
		p.t.Fatal(err)
	}
}

// expect reads responses until one with status code, skipping provisional
// ones, and returns it.
func (p *sipPeer) expect(code int) string {
	p.t.Helper()
	buf := make([]byte, 8192)
	for {
		p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			p.t.Fatalf("waiting for %d: %v", code, err)
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, fmt.Sprintf("SIP/2.0 %d ", code)) {
			return msg
		}
		if strings.HasPrefix(msg, "SIP/2.0 1") {
			continue
		}
		p.t.Fatalf("want %d, got %q", code, msg)
	}
}

func header(msg, name string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestServeAnswersCalls runs `hotline serve` with voice enabled and makes a
// call to it over UDP: call.started and call.ended reach the bus.
func TestServeAnswersCalls(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Voice.Enabled = true
	cfg.Voice.UDPAddr = "127.0.0.1:0"
	cfg.Voice.TCPAddr = "off"
	cfg.Voice.Numbers = []config.VoiceNumber{{Number: "+33100000009", Tenant: "demo",
		Menu: config.VoiceMenu{DefaultLanguage: "en", DefaultQueue: "support"}}}
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (deploy/install-test-deps.sh)", tool)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "prompts", "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{voice.PromptClosed, voice.PromptLanguageMenu, voice.PromptServiceMenu, voice.PromptInvalid, voice.PromptRecordingNotice} {
		if err := media.GeneratePrompt(t.Context(), "en", "Hello.", filepath.Join(dir, "prompts", "en", name+".wav")); err != nil {
			t.Fatal(err)
		}
	}
	s := start(t, cfg)
	var addr net.Addr
	for deadline := time.Now().Add(20 * time.Second); addr == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("voice never listened")
		}
		addr = s.Voice().Addr("udp")
	}
	sub, err := s.Bus().Subscribe(t.Context(), event.TopicConversations, bus.SubscribeOptions{Start: bus.StartEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()
	p := &sipPeer{t: t, conn: conn, to: addr.(*net.UDPAddr)}
	me := conn.LocalAddr().String()
	hdr := func(method, branch, to string, cseq int) string {
		return fmt.Sprintf("%s sip:+33100000009@%s SIP/2.0\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s\nFrom: <sip:+33644444444@127.0.0.1>;tag=t1\n"+
			"To: %s\nCall-ID: serve-test\nCSeq: %d %s\nContact: <sip:me@%s>\nMax-Forwards: 70\n", method, addr, me, branch, to, cseq, method, me)
	}
	p.send(hdr("OPTIONS", "o1", "<sip:hub@127.0.0.1>", 1) + "Content-Length: 0\n\n")
	if res := p.expect(200); !strings.Contains(header(res, "Allow"), "INVITE") {
		t.Errorf("OPTIONS answer: %q", res)
	}
	sdp := fmt.Sprintf("v=0\no=- 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=audio %d RTP/AVP 0\n", rtp.LocalAddr().(*net.UDPAddr).Port)
	sdp = strings.ReplaceAll(sdp, "\n", "\r\n")
	p.send(hdr("INVITE", "i1", "<sip:+33100000009@127.0.0.1>", 1) + fmt.Sprintf("Content-Type: application/sdp\nContent-Length: %d\n\n", len(sdp)) + strings.ReplaceAll(sdp, "\r\n", "\n"))
	ok := p.expect(200)
	to := header(ok, "To")
	if !strings.Contains(ok, "PCMU/8000") || !strings.Contains(to, "tag=") {
		t.Fatalf("INVITE answer: %q", ok)
	}
	p.send(hdr("ACK", "a1", to, 1) + "Content-Length: 0\n\n")
	p.send(hdr("BYE", "b1", to, 2) + "Content-Length: 0\n\n")
	p.expect(200)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []string
	for !(len(got) > 0 && got[len(got)-1] == event.CallEnded) {
		d, err := sub.Receive(ctx)
		if err != nil {
			t.Fatalf("events so far %v: %v", got, err)
		}
		e, err := event.FromMessage(&d.Message)
		if err != nil || e.Channel != event.ChannelVoice {
			continue
		}
		got = append(got, e.Type)
	}
	if got[0] != event.CallStarted {
		t.Errorf("events = %v", got)
	}
}
