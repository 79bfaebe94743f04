package voice

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

func TestConfigValidate(t *testing.T) {
	if err := testConfig(t).Validate(); err != nil {
		t.Fatalf("test config: %v", err)
	}
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"bad udp addr", func(c *Config) { c.UDPAddr = "nowhere" }, "udp_addr"},
		{"all listeners off", func(c *Config) { c.UDPAddr, c.TCPAddr = "off", "off" }, "every SIP listener is off"},
		{"tls without cert", func(c *Config) { c.TLS.Addr = "127.0.0.1:5061" }, "cert_file"},
		{"rtp ip", func(c *Config) { c.RTPIP = "0.0.0.0" }, "rtp_ip"},
		{"rtp range", func(c *Config) { c.RTPPortMin, c.RTPPortMax = 20000, 20001 }, "rtp_port_min"},
		{"no prompts dir", func(c *Config) { c.PromptsDir = "" }, "prompts_dir"},
		{"no recordings dir", func(c *Config) { c.RecordingsDir = "" }, "recordings_dir"},
		{"bad number", func(c *Config) { c.Numbers[0].Number = "call-me" }, "numbers[0]: number"},
		{"duplicate number", func(c *Config) { c.Numbers[1].Number = strings.TrimPrefix(c.Numbers[0].Number, "+") }, "listed twice"},
		{"bad tenant", func(c *Config) { c.Numbers[0].Tenant = "Demo Co" }, "numbers[0]: tenant"},
		{"bad language", func(c *Config) { c.Numbers[0].Menu.Languages["5"] = "es" }, "menu.languages[5]"},
		{"bad key", func(c *Config) { c.Numbers[0].Menu.Services["12"] = "x" }, "menu.services: key"},
		{"no default queue", func(c *Config) { c.Numbers[0].Menu.DefaultQueue = "" }, "menu.default_queue"},
		{"bad hours", func(c *Config) { c.Numbers[1].Hours.TimeZone = "Mars/Olympus" }, "numbers[1]: hours"},
		{"phone without secret", func(c *Config) { c.Phones[0].Password = "" }, "phones[0]: password, ha1"},
		{"phone with both", func(c *Config) { c.Phones[1].Password = "x" }, "give one, not both"},
		{"bad ha1", func(c *Config) { c.Phones[1].HA1 = "xyz" }, "phones[1]: ha1"},
		{"duplicate phone", func(c *Config) { c.Phones[1].User = "alice" }, "user \"alice\" listed twice"},
		{"expires order", func(c *Config) { c.MinExpires = 3 * time.Hour }, "min_expires"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig(t)
			tc.edit(&c)
			err := c.Validate()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("Validate = %v, want an ErrConfig naming %q", err, tc.field)
			}
		})
	}
}

func TestNewReportsMissingPrompts(t *testing.T) {
	c := testConfig(t)
	if err := os.Remove(promptPath(c.PromptsDir, "en", PromptServiceMenu)); err != nil {
		t.Fatal(err)
	}
	_, err := New(c, newBus(t), testLog(t))
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "en/service_menu") {
		t.Fatalf("New = %v, want the missing en/service_menu prompt named", err)
	}
}

func TestParseOffer(t *testing.T) {
	sdp := func(m string, attrs ...string) []byte {
		return []byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" + m + "\r\n" + strings.Join(attrs, ""))
	}
	tests := []struct {
		name      string
		body      []byte
		codec     string
		dtmf      uint8
		port, idx int
		err       error
	}{
		{"PCMA preferred", sdp("m=audio 4000 RTP/AVP 8 0 101", "a=rtpmap:8 PCMA/8000\r\n", "a=rtpmap:101 telephone-event/8000\r\n"), "PCMA", 101, 4000, 0, nil},
		{"PCMU preferred", sdp("m=audio 4000 RTP/AVP 0 8"), "PCMU", 0, 4000, 0, nil},
		{"G.711 after G.729", sdp("m=audio 4002 RTP/AVP 18 8 96", "a=rtpmap:96 telephone-event/8000\r\n"), "PCMA", 96, 4002, 0, nil},
		{"video refused, audio taken", sdp("m=video 5000 RTP/AVP 96\r\nm=audio 4000 RTP/AVP 0"), "PCMU", 0, 4000, 1, nil},
		{"no G.711", sdp("m=audio 4000 RTP/AVP 18", "a=rtpmap:18 G729/8000\r\n"), "", 0, 0, 0, errNoCodec},
		{"only disabled audio", sdp("m=audio 0 RTP/AVP 0"), "", 0, 0, 0, errNoCodec},
		{"SRTP only", sdp("m=audio 4000 RTP/SAVP 0"), "", 0, 0, 0, errNoCodec},
		{"not SDP", []byte("hello"), "", 0, 0, 0, errBadSDP},
		{"host name in c=", []byte("v=0\r\no=- 1 1 IN IP4 x\r\ns=-\r\nc=IN IP4 pbx.example\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), "", 0, 0, 0, errBadSDP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseOffer(tc.body)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.codec.name != tc.codec || o.dtmfPT != tc.dtmf || o.remote.Port != tc.port || o.mediaIndex != tc.idx {
				t.Fatalf("offer = %+v %v", o.codec, o.remote)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	o, err := parseOffer([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
		"m=video 5000 RTP/AVP 96\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := answer(o, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40002}, 7, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"c=IN IP4 127.0.0.1", "m=video 0 RTP/AVP 96", "m=audio 40002 RTP/AVP 8 101",
		"a=rtpmap:8 PCMA/8000", "a=rtpmap:101 telephone-event/8000", "a=sendrecv"} {
		if !strings.Contains(s, want) {
			t.Errorf("answer lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, "m=video") > strings.Index(s, "m=audio") {
		t.Errorf("answer reorders m= lines:\n%s", s)
	}
	// The answer is itself an offer the parser takes.
	if back, err := parseOffer(b); err != nil || back.codec.name != "PCMA" || back.dtmfPT != 101 {
		t.Errorf("answer does not parse back: %v %+v", err, back)
	}
}

// registrarHarness drives the registrar with a movable clock.
type registrarHarness struct {
	t   *testing.T
	s   *Server
	now time.Time
}

func newRegistrarHarness(t *testing.T) *registrarHarness {
	h := &registrarHarness{t: t, now: time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)}
	cfg := testConfig(t)
	cfg.Now = func() time.Time { return h.now }
	s, err := New(cfg, newBus(t), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	return h
}

// register sends a REGISTER for user with contact, answering a challenge
// (if any, from chal) with password.
func (h *registrarHarness) register(user, password string, chal *sip.Response, headers ...string) *sip.Response {
	h.t.Helper()
	extra := append([]string{}, headers...)
	if chal != nil {
		c, err := digest.ParseChallenge(chal.GetHeader("WWW-Authenticate").Value())
		if err != nil {
			h.t.Fatal(err)
		}
		cred, err := digest.Digest(c, digest.Options{Method: "REGISTER", URI: "sip:127.0.0.1", Username: user, Password: password, Cnonce: "abcdef", Count: 1})
		if err != nil {
			h.t.Fatal(err)
		}
		extra = append(extra, "Authorization: "+cred.String())
	}
	raw := strings.Replace(string(request("REGISTER", "sip:127.0.0.1", extra, "")), "To: <sip:127.0.0.1>", "To: <sip:"+user+"@127.0.0.1>", 1)
	raw = strings.Replace(raw, "Contact: <sip:caller@127.0.0.1:5999>", "Contact: <sip:"+user+"@127.0.0.1:5999>", 1)
	_, res, ok := serveRaw(h.s, []byte(raw))
	if !ok || len(res) != 1 {
		h.t.Fatalf("REGISTER answered %d responses", len(res))
	}
	return res[0]
}

func TestRegistrarDigest(t *testing.T) {
	h := newRegistrarHarness(t)
	ch := h.register("alice", "", nil, "Expires: 300")
	if ch.StatusCode != 401 || !strings.Contains(ch.GetHeader("WWW-Authenticate").Value(), `realm="hotline"`) {
		t.Fatalf("no credentials: %d %v", ch.StatusCode, ch.GetHeader("WWW-Authenticate"))
	}
	if again := h.register("alice", "", nil); again.GetHeader("WWW-Authenticate").Value() == ch.GetHeader("WWW-Authenticate").Value() {
		t.Error("two challenges share a nonce")
	}
	if res := h.register("alice", "wrong", ch, "Expires: 300"); res.StatusCode != 403 {
		t.Errorf("wrong password: %d, want 403", res.StatusCode)
	}
	if res := h.register("nobody", "s3cret", ch, "Expires: 300"); res.StatusCode != 403 {
		t.Errorf("unknown user: %d, want 403", res.StatusCode)
	}
	res := h.register("alice", "s3cret", ch, "Expires: 300")
	if res.StatusCode != 200 {
		t.Fatalf("valid credentials: %d %s", res.StatusCode, res.Reason)
	}
	if c := res.Contact(); c == nil || c.Address.User != "alice" || c.Params.GetOr("expires", "") != "300" {
		t.Fatalf("200 contact = %v", res.Contact())
	}
	if bs := h.s.Contacts(testTenant, "agent-alice"); len(bs) != 1 || bs[0].Contact.Port != 5999 {
		t.Fatalf("bindings = %+v", bs)
	}
	// Too brief a registration is refused with the minimum.
	if res := h.register("alice", "s3cret", ch, "Expires: 10"); res.StatusCode != 423 || res.GetHeader("Min-Expires").Value() != "60" {
		t.Errorf("expires 10: %d %v", res.StatusCode, res.GetHeader("Min-Expires"))
	}
	// Bindings expire.
	h.now = h.now.Add(301 * time.Second)
	if bs := h.s.Contacts(testTenant, "agent-alice"); len(bs) != 0 {
		t.Fatalf("expired binding still returned: %+v", bs)
	}
	// The old nonce is stale by now: a new challenge, marked stale.
	if res := h.register("alice", "s3cret", ch, "Expires: 300"); res.StatusCode != 401 || !strings.Contains(strings.ToLower(res.GetHeader("WWW-Authenticate").Value()), "stale=true") {
		t.Errorf("stale nonce: %d %v", res.StatusCode, res.GetHeader("WWW-Authenticate"))
	}
	ch = h.register("alice", "", nil)
	if res := h.register("alice", "s3cret", ch, "Expires: 300"); res.StatusCode != 200 {
		t.Fatalf("register again: %d", res.StatusCode)
	}
	// Expires: 0 removes the binding.
	raw := h.register("alice", "s3cret", ch, "Expires: 0")
	if raw.StatusCode != 200 {
		t.Fatalf("unregister: %d", raw.StatusCode)
	}
	if bs := h.s.Contacts(testTenant, "agent-alice"); len(bs) != 0 {
		t.Fatalf("bindings after Expires: 0: %+v", bs)
	}
	// A forged nonce (not signed by this hub) is challenged again.
	forged := sip.NewResponse(401, "Unauthorized")
	forged.AppendHeader(sip.NewHeader("WWW-Authenticate", `Digest realm="hotline", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", algorithm=MD5, qop="auth"`))
	if res := h.register("alice", "s3cret", forged, "Expires: 300"); res.StatusCode != 401 {
		t.Errorf("forged nonce: %d, want a new challenge", res.StatusCode)
	}
}

func TestHA1(t *testing.T) {
	// RFC 2617 §3.5's example user, realm and password.
	if got := HA1("Mufasa", "testrealm@host.com", "Circle Of Life"); got != "939e7578ed9e3c518a452acee763bce9" {
		t.Fatalf("HA1 = %s", got)
	}
}

// The leg whose answer is being published counts as the call's leg for
// controls (routing's verdict on a transfer can arrive while that Publish
// waits for its sync) until the caller talks to it; unmarking it leaves a
// leg marked since in place.
func TestAnsweringLegTakesControls(t *testing.T) {
	c := &call{}
	alice, bob := &agentLeg{agentID: "alice"}, &agentLeg{agentID: "bob"}
	if c.bridgedLeg() != nil {
		t.Fatal("a new call has a leg")
	}
	c.markAnswering(alice)
	if c.bridgedLeg() != alice {
		t.Fatal("the leg being answered is not the call's leg for controls")
	}
	c.setLeg(alice)
	c.setLeg(nil)
	if c.bridgedLeg() != nil {
		t.Fatal("the talk ended, yet the answered leg is still marked")
	}
	c.markAnswering(bob)
	c.unmarkAnswering(alice)
	if c.bridgedLeg() != bob {
		t.Fatal("unmarking an earlier leg unmarked the one being answered now")
	}
	c.unmarkAnswering(bob)
	if c.bridgedLeg() != nil {
		t.Fatal("a leg whose answer failed is still marked")
	}
}
