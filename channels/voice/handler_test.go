package voice

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
	"github.com/emiago/sipgo/siptest"
)

// newIdleServer is a server that is not listening: its handler still
// answers everything that can be answered without a transport, and an
// acceptable INVITE gets 503 (nothing to answer it on).
func newIdleServer(t testing.TB) *Server {
	t.Helper()
	s, err := New(testConfig(t), newBus(t), testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// serveRaw parses raw as sipgo's transport does and passes it through the
// handler as sipgo's transaction layer does. It returns the responses, and
// ok=false when sipgo itself refuses the bytes before any handler.
func serveRaw(s *Server, raw []byte) (req *sip.Request, res []*sip.Response, ok bool) {
	msg, err := sip.NewParser().ParseSIP(raw)
	if err != nil {
		return nil, nil, false
	}
	req, isReq := msg.(*sip.Request)
	if !isReq {
		return nil, nil, false
	}
	if _, err := sip.ServerTxKeyMake(req); err != nil {
		// sipgo answers a stateless 400 (rejectMalformedRequest).
		return req, nil, false
	}
	req.SetSource("127.0.0.1:5999")
	req.SetTransport("UDP")
	tx := siptest.NewServerTxRecorder(req)
	defer tx.Terminate()
	s.handle(req, tx)
	return req, tx.Result(), true
}

const offerPCMA = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 30000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"

func request(method, uri string, extra []string, body string) []byte {
	var b strings.Builder
	b.WriteString(method + " " + uri + " SIP/2.0\r\n")
	b.WriteString("Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-" + strings.ToLower(method) + "-1\r\n")
	b.WriteString("From: <sip:+33611111111@127.0.0.1>;tag=abc\r\n")
	b.WriteString("To: <" + uri + ">\r\n")
	b.WriteString("Call-ID: test-" + method + "@127.0.0.1\r\n")
	b.WriteString("CSeq: 1 " + method + "\r\n")
	b.WriteString("Max-Forwards: 70\r\n")
	b.WriteString("Contact: <sip:caller@127.0.0.1:5999>\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	b.WriteString("Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body)
	return []byte(b.String())
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

func TestHandlerStatuses(t *testing.T) {
	s := newIdleServer(t)
	known := "sip:" + testNumber + "@127.0.0.1"
	g729 := strings.Replace(strings.Replace(offerPCMA, "8 0 101", "18", 1), "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n", "a=rtpmap:18 G729/8000\r\n", 1)
	tests := []struct {
		name string
		raw  []byte
		want int
	}{
		{"unknown number", request("INVITE", "sip:+33999@127.0.0.1", nil, offerPCMA), 404},
		{"no G.711", request("INVITE", known, nil, g729), 488},
		{"garbage SDP", request("INVITE", known, nil, "this is not SDP\r\n"), 400},
		{"no offer (late offer) but not listening", request("INVITE", known, nil, ""), 503},
		{"session interval too small", request("INVITE", known, []string{"Supported: timer", "Session-Expires: 30"}, offerPCMA), 422},
		{"bad session expires", request("INVITE", known, []string{"Session-Expires: soon"}, offerPCMA), 400},
		{"acceptable but not listening", request("INVITE", known, nil, offerPCMA), 503},
		{"BYE outside a dialog", request("BYE", known, nil, ""), 481},
		{"UPDATE outside a dialog", request("UPDATE", known, nil, ""), 481},
		{"REFER outside a dialog", request("REFER", known, []string{"Refer-To: <sip:billing@127.0.0.1>"}, ""), 481},
		{"CANCEL of nothing", request("CANCEL", known, nil, ""), 481},
		{"OPTIONS", request("OPTIONS", known, nil, ""), 200},
		{"MESSAGE", request("MESSAGE", known, nil, ""), 405},
		{"REGISTER without credentials", request("REGISTER", "sip:alice@127.0.0.1", nil, ""), 401},
		{"CSeq method mismatch", []byte(strings.Replace(string(request("OPTIONS", known, nil, "")), "CSeq: 1 OPTIONS", "CSeq: 1 BYE", 1)), 400},
		{"no From", []byte(strings.Replace(string(request("OPTIONS", known, nil, "")), "From: <sip:+33611111111@127.0.0.1>;tag=abc\r\n", "", 1)), 400},
		{"no Call-ID", []byte(strings.Replace(string(request("OPTIONS", known, nil, "")), "Call-ID: test-OPTIONS@127.0.0.1\r\n", "", 1)), 400},
		{"Max-Forwards 0", []byte(strings.Replace(string(request("OPTIONS", known, nil, "")), "Max-Forwards: 70", "Max-Forwards: 0", 1)), 483},
		{"INVITE without Contact", []byte(strings.Replace(string(request("INVITE", known, nil, offerPCMA)), "Contact: <sip:caller@127.0.0.1:5999>\r\n", "", 1)), 400},
		{"not SDP", []byte(strings.Replace(string(request("INVITE", known, nil, offerPCMA)), "application/sdp", "text/plain", 1)), 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, res, ok := serveRaw(s, tc.raw)
			if !ok {
				t.Fatalf("sipgo refused the request before the handler")
			}
			if len(res) == 0 {
				t.Fatal("no response")
			}
			if got := res[len(res)-1].StatusCode; got != tc.want {
				t.Fatalf("status %d %s, want %d", got, res[len(res)-1].Reason, tc.want)
			}
		})
	}
	if n := len(s.setup); n != 0 {
		t.Errorf("%d setup slots leaked", n)
	}
}
