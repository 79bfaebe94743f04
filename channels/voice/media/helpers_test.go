package media

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// testPorts makes an allocator over n even ports at a random place in the
// dynamic range, on 127.0.0.1; ports taken by others are skipped by Listen.
func testPorts(t testing.TB, n int) *Ports {
	t.Helper()
	// Tests of other packages run at the same time and bind ports too
	// (channels/voice's use 40000-49999): take a range below that whose
	// even ports are all free now, so exact-size ranges do not collide.
	for range 100 {
		base := 20000 + 2*rand.IntN(9000)
		if !rangeFree(base, base+2*n-1) {
			continue
		}
		p, err := NewPorts("127.0.0.1", base, base+2*n-1)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Fatal("no free range of RTP ports found")
	return nil
}

// rangeFree reports whether every even UDP port of [lo, hi] can be bound
// on 127.0.0.1 now.
func rangeFree(lo, hi int) bool {
	for port := lo; port <= hi; port += 2 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// listen opens a session that is closed when the test ends.
func listen(t testing.TB, p *Ports) *Session {
	t.Helper()
	s, err := p.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond until it holds; the timeout only guards against a hang.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawPeer is a plain UDP socket speaking RTP by hand: the far end of a
// session in tests (a phone, sipp).
type rawPeer struct {
	t    testing.TB
	conn *net.UDPConn
	ssrc uint32
	seq  uint16
	ts   uint32
}

func newRawPeer(t testing.TB) *rawPeer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawPeer{t: t, conn: conn, ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32()}
}

func (p *rawPeer) addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

// sendRaw sends a datagram as is.
func (p *rawPeer) sendRaw(to *net.UDPAddr, b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDP(b, to); err != nil {
		p.t.Fatal(err)
	}
}

// send sends one RTP packet with the peer's SSRC and next sequence number.
func (p *rawPeer) send(to *net.UDPAddr, pt uint8, marker bool, ts uint32, payload []byte) {
	p.t.Helper()
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, Marker: marker, SequenceNumber: p.seq, Timestamp: ts, SSRC: p.ssrc}, Payload: payload}
	p.seq++
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(to, b)
}

// sendAudio sends pcm as 20 ms packets of codec, paced every 20 ms.
func (p *rawPeer) sendAudio(to *net.UDPAddr, codec Codec, pcm []int16) int {
	p.t.Helper()
	buf := make([]byte, frameSamples)
	n := 0
	for i := 0; i+frameSamples <= len(pcm); i += frameSamples {
		codec.encode(buf, pcm[i:i+frameSamples])
		p.send(to, codec.PayloadType, i == 0, p.ts, buf)
		p.ts += frameSamples
		n++
		time.Sleep(ptime)
	}
	return n
}

// collect reads packets until want have arrived or nothing came for idle.
func (p *rawPeer) collect(want int, idle time.Duration) []rtp.Packet {
	p.t.Helper()
	var out []rtp.Packet
	buf := make([]byte, 2048)
	for len(out) < want {
		p.conn.SetReadDeadline(time.Now().Add(idle))
		n, _, err := p.conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			p.t.Fatal(err)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
			p.t.Fatalf("peer received a non-RTP packet: %v", err)
		}
		out = append(out, pkt)
	}
	return out
}

// pcapPacket is one UDP payload of a capture, with its capture time.
type pcapPacket struct {
	at      time.Duration // since the first packet
	payload []byte
}

// readPcapUDP parses a classic pcap file of Ethernet/IPv4/UDP frames and
// returns the UDP payloads (here RTP packets).
func readPcapUDP(t testing.TB, path string) []pcapPacket {
	t.Helper()
	d, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) < 24 {
		t.Fatalf("%s: short pcap", path)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(d) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	default:
		t.Fatalf("%s: not a pcap file", path)
	}
	if link := bo.Uint32(d[20:]); link != 1 {
		t.Fatalf("%s: link type %d, want Ethernet", path, link)
	}
	var out []pcapPacket
	var first time.Duration
	haveFirst := false
	for off := 24; off+16 <= len(d); {
		sec, usec, incl := bo.Uint32(d[off:]), bo.Uint32(d[off+4:]), int(bo.Uint32(d[off+8:]))
		off += 16
		if off+incl > len(d) {
			t.Fatalf("%s: truncated record", path)
		}
		frame := d[off : off+incl]
		off += incl
		at := time.Duration(sec)*time.Second + time.Duration(usec)*time.Microsecond
		if !haveFirst {
			first, haveFirst = at, true
		}
		if len(frame) < 14 || binary.BigEndian.Uint16(frame[12:]) != 0x0800 {
			continue
		}
		ip := frame[14:]
		ihl := int(ip[0]&0x0F) * 4
		if ip[0]>>4 != 4 || ip[9] != 17 || len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		ulen := int(binary.BigEndian.Uint16(udp[4:]))
		if ulen < 8 || ulen > len(udp) {
			t.Fatalf("%s: bad UDP length", path)
		}
		out = append(out, pcapPacket{at: at - first, payload: udp[8:ulen]})
	}
	return out
}

// replayPcap sends a capture's RTP packets at their captured pace.
func (p *rawPeer) replayPcap(to *net.UDPAddr, pkts []pcapPacket) {
	start := time.Now()
	for _, pk := range pkts {
		time.Sleep(time.Until(start.Add(pk.at)))
		p.sendRaw(to, pk.payload)
	}
}
