package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
)

var (
	// ErrClosed is returned by operations on a closed session.
	ErrClosed = errors.New("media session closed")
	// ErrNotStarted is returned when media is sent before Start.
	ErrNotStarted = errors.New("media session not started")
	// ErrInterrupted is returned by an interruptible Play when the caller
	// pressed a key (barge-in); the digit waits in Digits.
	ErrInterrupted = errors.New("prompt interrupted by a DTMF digit")
)

// maxPayload is the largest RTP packet received; G.711 at 20 ms is 172 bytes.
const maxPayload = 2048

// digitBuffer is how many unread digits a session keeps; later ones are dropped.
const digitBuffer = 32

// Digit is one DTMF key received as an RFC 4733 telephone-event.
type Digit struct {
	// Key is one of "0123456789*#ABCD".
	Key rune
	// Duration is the event duration carried by the packet that delivered
	// the digit; as digits are delivered on their first packet it is often 0.
	Duration time.Duration
	// At is when the digit arrived.
	At time.Time
}

// Stats counts a session's traffic. Bytes are RTP payload octets, as in
// RTCP sender reports.
type Stats struct {
	PacketsIn, PacketsOut, BytesIn, BytesOut uint64
	// DroppedForeign counts packets from an address other than the remote
	// fixed by Start.
	DroppedForeign uint64
	// DTMFEvents counts digits delivered (once per key press).
	DTMFEvents uint64
	// Malformed counts packets from the remote that are not RTP.
	Malformed uint64
	// SendErrors counts packets the socket refused to send.
	SendErrors uint64
	// LateSends counts packets of Play and PlayLoop sent a packetisation
	// interval (20 ms) or more after their scheduled time: the sending
	// goroutine was starved (a busy machine, a GC pause).
	LateSends uint64
}

// add sums o into s.
func (s *Stats) add(o Stats) {
	s.PacketsIn += o.PacketsIn
	s.PacketsOut += o.PacketsOut
	s.BytesIn += o.BytesIn
	s.BytesOut += o.BytesOut
	s.DroppedForeign += o.DroppedForeign
	s.DTMFEvents += o.DTMFEvents
	s.Malformed += o.Malformed
	s.SendErrors += o.SendErrors
	s.LateSends += o.LateSends
}

// Session is one RTP stream of a call: a UDP port of the hub and the
// remote address negotiated in SDP. A session has one receive goroutine
// (started by Start), sends from the goroutine that calls Play or PlayLoop
// (one at a time) and, while bridged, from its peer's receive goroutine.
// Neither path allocates per packet.
type Session struct {
	ports *Ports
	conn  *net.UDPConn
	port  int
	local *net.UDPAddr

	mu        sync.Mutex // running, and Start against Close
	running   bool
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	recvDone  chan struct{}

	cfg atomic.Pointer[remoteConfig]

	digits    chan Digit
	digitNote chan struct{} // signalled on each digit, for barge-in

	playing chan struct{} // one Play or PlayLoop at a time
	timer   *time.Timer   // pacing, owned by the holder of playing

	sendMu sync.Mutex
	tx     sender // guarded by sendMu

	peer atomic.Pointer[Session]  // where received media is forwarded (Bridge)
	rec  atomic.Pointer[Recorder] // active recording

	rx receiver // owned by the receive goroutine

	packetsIn, packetsOut, bytesIn, bytesOut atomic.Uint64
	droppedForeign, dtmfEvents, malformed    atomic.Uint64
	sendErrors, lateSends                    atomic.Uint64
}

// remoteConfig is what Start fixed; replaced whole on a new Start.
type remoteConfig struct {
	addr   netip.AddrPort
	codec  Codec
	dtmfPT uint8
}

// sender is the outgoing stream state and its buffers.
type sender struct {
	hdr          rtp.Header
	sent         bool      // a packet went out, so ts/lastAt are meaningful
	samples      uint32    // duration of the last packet in samples
	lastAt       time.Time // when the last packet went out
	nextDeadline time.Time // when a following Play may send its first packet

	// Forwarded packets keep their source's timing, shifted by fwdOffset,
	// so that RFC 4733 events keep one timestamp for all their packets.
	fwdActive bool
	fwdSSRC   uint32
	fwdOffset uint32

	buf     [maxPayload + 64]byte
	payload [maxPayload]byte
	pcm     [maxPayload]int16
}

// receiver is the receive goroutine's state and buffers.
type receiver struct {
	hdr    rtp.Header
	buf    [maxPayload]byte
	pcm    [maxPayload]int16
	events [4]dtmfEvent // recent telephone-events, for deduplication
	slot   int
}

func newSession(p *Ports, conn *net.UDPConn, port int) *Session {
	s := &Session{
		ports:     p,
		conn:      conn,
		port:      port,
		local:     conn.LocalAddr().(*net.UDPAddr),
		closed:    make(chan struct{}),
		recvDone:  make(chan struct{}),
		digits:    make(chan Digit, digitBuffer),
		digitNote: make(chan struct{}, 1),
		playing:   make(chan struct{}, 1),
		timer:     time.NewTimer(time.Hour),
	}
	s.timer.Stop()
	s.tx.hdr = rtp.Header{Version: 2, SSRC: rand.Uint32(), SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32()}
	return s
}

// LocalAddr is the address and port the session receives on (for SDP).
func (s *Session) LocalAddr() *net.UDPAddr {
	a := *s.local
	return &a
}

// Start fixes the remote address and codec negotiated in SDP (dtmfPT 0 =
// no telephone-event) and starts receiving. Packets from any other source
// address are dropped and counted (DroppedForeign). Start may be called
// again, after a re-INVITE, to change them.
func (s *Session) Start(remote *net.UDPAddr, codec Codec, dtmfPT uint8) error {
	if remote == nil || remote.Port == 0 || remote.IP == nil || remote.IP.IsUnspecified() {
		return fmt.Errorf("media start: bad remote address %v", remote)
	}
	if codec != PCMU && codec != PCMA {
		return fmt.Errorf("media start: unsupported codec %s/%d (payload type %d)", codec.Name, codec.ClockRate, codec.PayloadType)
	}
	if dtmfPT > 127 || (dtmfPT != 0 && dtmfPT == codec.PayloadType) {
		return fmt.Errorf("media start: bad telephone-event payload type %d", dtmfPT)
	}
	ap := remote.AddrPort()
	cfg := &remoteConfig{addr: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), codec: codec, dtmfPT: dtmfPT}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	s.cfg.Store(cfg)
	if !s.running {
		s.running = true
		go s.receive()
	}
	return nil
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	return Stats{
		PacketsIn:      s.packetsIn.Load(),
		PacketsOut:     s.packetsOut.Load(),
		BytesIn:        s.bytesIn.Load(),
		BytesOut:       s.bytesOut.Load(),
		DroppedForeign: s.droppedForeign.Load(),
		DTMFEvents:     s.dtmfEvents.Load(),
		Malformed:      s.malformed.Load(),
		SendErrors:     s.sendErrors.Load(),
		LateSends:      s.lateSends.Load(),
	}
}

// Close stops the session, closes Digits and frees the port. It is
// idempotent. An active recording is not stopped: its Stop still
// finalizes the file.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closed)
		running := s.running
		s.mu.Unlock()
		s.closeErr = s.conn.Close()
		if running {
			<-s.recvDone
		}
		close(s.digits)
		s.ports.release(s)
	})
	return s.closeErr
}

// Done is closed when the session is closed.
func (s *Session) Done() <-chan struct{} { return s.closed }

// receive is the session's receive goroutine.
func (s *Session) receive() {
	defer close(s.recvDone)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(s.rx.buf[:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s.handle(s.rx.buf[:n], from, time.Now())
	}
}

// handle processes one received datagram.
func (s *Session) handle(pkt []byte, from netip.AddrPort, now time.Time) {
	cfg := s.cfg.Load()
	if from.Port() != cfg.addr.Port() || from.Addr().Unmap() != cfg.addr.Addr() {
		s.droppedForeign.Add(1)
		return
	}
	h := &s.rx.hdr
	n, err := h.Unmarshal(pkt)
	if err != nil || h.Version != 2 {
		s.malformed.Add(1)
		return
	}
	payload := pkt[n:]
	if h.Padding {
		if len(payload) == 0 || int(payload[len(payload)-1]) > len(payload) || payload[len(payload)-1] == 0 {
			s.malformed.Add(1)
			return
		}
		payload = payload[:len(payload)-int(payload[len(payload)-1])]
	}
	s.packetsIn.Add(1)
	s.bytesIn.Add(uint64(len(payload)))
	switch {
	case cfg.dtmfPT != 0 && h.PayloadType == cfg.dtmfPT:
		s.onTelephoneEvent(h, payload, now)
		if peer := s.peer.Load(); peer != nil {
			peer.forward(cfg, h, payload, true, now)
		}
	case h.PayloadType == cfg.codec.PayloadType:
		if rec := s.rec.Load(); rec != nil {
			pcm := s.rx.pcm[:len(payload)]
			cfg.codec.decode(pcm, payload)
			rec.push(callerChannel, pcm, now)
		}
		if peer := s.peer.Load(); peer != nil {
			peer.forward(cfg, h, payload, false, now)
		}
	}
	// Other payload types (comfort noise, ...) are counted and ignored.
}

// spurtTS is the timestamp of the first packet of a new talkspurt sent at
// now: the media clock keeps running through silences (RFC 3550 5.1).
func (t *sender) spurtTS(now time.Time) uint32 {
	if !t.sent {
		return t.hdr.Timestamp
	}
	gap := max(now.Sub(t.lastAt), 0) / (time.Second / SampleRate)
	return t.hdr.Timestamp + max(uint32(gap), t.samples)
}

// emitLocked sends one packet to the remote; s.sendMu is held. codec is the
// law of an audio payload, recorded as what the hub sends; nil for events.
func (s *Session) emitLocked(cfg *remoteConfig, pt uint8, marker bool, ts uint32, payload []byte, codec *Codec, forwarded bool, now time.Time) error {
	t := &s.tx
	if t.sent {
		t.hdr.SequenceNumber++
	}
	t.hdr.PayloadType = pt
	t.hdr.Marker = marker
	t.hdr.Timestamp = ts
	n, err := t.hdr.MarshalTo(t.buf[:])
	if err != nil {
		return fmt.Errorf("rtp marshal: %w", err)
	}
	n += copy(t.buf[n:], payload)
	t.sent = true
	t.lastAt = now
	t.samples = uint32(len(payload))
	if codec == nil {
		t.samples = 0
	}
	if !forwarded {
		t.fwdActive = false
	}
	if _, err := s.conn.WriteToUDPAddrPort(t.buf[:n], cfg.addr); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return ErrClosed
		}
		s.sendErrors.Add(1)
		return nil
	}
	s.packetsOut.Add(1)
	s.bytesOut.Add(uint64(len(payload)))
	if codec != nil {
		if rec := s.rec.Load(); rec != nil {
			pcm := t.pcm[:len(payload)]
			codec.decode(pcm, payload)
			rec.push(hubChannel, pcm, now)
		}
	}
	return nil
}

// forward sends media received by a bridged peer (whose configuration is
// from) to this session's remote, transcoding G.711 laws when they differ
// and mapping telephone-events to this side's payload type.
func (s *Session) forward(from *remoteConfig, h *rtp.Header, payload []byte, event bool, now time.Time) {
	cfg := s.cfg.Load()
	pt := cfg.codec.PayloadType
	if event {
		if cfg.dtmfPT == 0 {
			return
		}
		pt = cfg.dtmfPT
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	t := &s.tx
	out := payload
	if !event && from.codec != cfg.codec {
		out = t.payload[:len(payload)]
		transcode(out, payload, from.codec, cfg.codec)
	}
	marker := h.Marker
	if !t.fwdActive || t.fwdSSRC != h.SSRC {
		t.fwdActive, t.fwdSSRC = true, h.SSRC
		t.fwdOffset = t.spurtTS(now) - h.Timestamp
		marker = true
	}
	var codec *Codec
	if !event {
		codec = &cfg.codec
	}
	_ = s.emitLocked(cfg, pt, marker, h.Timestamp+t.fwdOffset, out, codec, true, now)
}
