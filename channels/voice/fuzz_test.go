package voice

import (
	"strings"
	"testing"
)

// FuzzHandleRequest feeds raw bytes through sipgo's parser and the
// server's handler: nothing may panic, every request but ACK gets a final
// response, and a request the handler finds malformed gets 400 (483 for
// Max-Forwards 0).
//
//	go test ./channels/voice -run '^$' -fuzz FuzzHandleRequest -fuzztime 60s
func FuzzHandleRequest(f *testing.F) {
	known := "sip:" + testNumber + "@127.0.0.1"
	seeds := [][]byte{
		request("INVITE", known, nil, offerPCMA),
		request("INVITE", known, []string{"Supported: timer", "Session-Expires: 1800;refresher=uac"}, offerPCMA),
		request("INVITE", "sip:+33999@127.0.0.1", nil, offerPCMA),
		request("BYE", known, nil, ""),
		request("ACK", known, nil, ""),
		request("CANCEL", known, nil, ""),
		request("UPDATE", known, nil, ""),
		request("OPTIONS", known, nil, ""),
		request("REGISTER", "sip:alice@127.0.0.1", []string{"Expires: 600"}, ""),
		request("REGISTER", "sip:alice@127.0.0.1", []string{`Authorization: Digest username="alice", realm="hotline", nonce="x", uri="sip:127.0.0.1", response="00"`}, ""),
		request("REGISTER", "sip:alice@127.0.0.1", []string{"Contact: *", "Expires: 0"}, ""),
		[]byte(strings.Replace(string(request("INVITE", known, nil, offerPCMA)), "c=IN IP4 127.0.0.1", "c=IN IP4 nowhere", 1)),
		[]byte(strings.Replace(string(request("INVITE", known, nil, offerPCMA)), "m=audio 30000", "m=audio 99999", 1)),
		[]byte("INVITE sip:x SIP/2.0\r\n\r\n"),
		[]byte("\x00\x01garbage"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	s := newIdleServer(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, res, ok := serveRaw(s, raw)
		if !ok {
			return // refused by sipgo before any handler
		}
		if req.IsAck() {
			return
		}
		if len(res) == 0 {
			t.Fatalf("no response to %q", raw)
		}
		last := res[len(res)-1]
		if last.StatusCode < 200 {
			t.Fatalf("only provisional responses to %q", raw)
		}
		if why := checkRequest(req); why != "" {
			want := 400
			if why == "max-forwards" {
				want = 483
			}
			if last.StatusCode != want {
				t.Fatalf("malformed (%s) request answered %d, want %d", why, last.StatusCode, want)
			}
		}
		select {
		case s.setup <- struct{}{}:
			<-s.setup
		default:
			t.Fatal("setup slots leaked")
		}
	})
}
