package media

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/pion/rtp"
)

// replayGap is how long after an event's end a packet with the same
// timestamp counts as a new key press: sipp and other players replay the
// same capture, headers and all, for a repeated key, while an end
// packet's retransmits follow within a few packet times.
const replayGap = 60 * time.Millisecond

// dtmfEvent is a telephone-event seen recently.
type dtmfEvent struct {
	used  bool
	ssrc  uint32
	ts    uint32
	code  byte
	ended bool
	endAt time.Time
}

// dtmfKeys are the RFC 4733 event codes 0-15.
const dtmfKeys = "0123456789*#ABCD"

// onTelephoneEvent delivers a digit on the first packet of each RFC 4733
// event. All packets of an event share its RTP timestamp; the end packet
// is retransmitted; the first packet may carry a duration of 0.
func (s *Session) onTelephoneEvent(h *rtp.Header, p []byte, now time.Time) {
	if len(p) < 4 {
		s.malformed.Add(1)
		return
	}
	code, end, dur := p[0], p[1]&0x80 != 0, binary.BigEndian.Uint16(p[2:4])
	if int(code) >= len(dtmfKeys) {
		return // flash and other non-key events
	}
	for i := range s.rx.events {
		e := &s.rx.events[i]
		if !e.used || e.ssrc != h.SSRC || e.ts != h.Timestamp || e.code != code {
			continue
		}
		if e.ended && !end && now.Sub(e.endAt) > replayGap {
			e.ended = false
			s.deliver(code, dur, now)
			return
		}
		if end && !e.ended {
			e.ended, e.endAt = true, now
		}
		return
	}
	s.rx.events[s.rx.slot] = dtmfEvent{used: true, ssrc: h.SSRC, ts: h.Timestamp, code: code, ended: end, endAt: now}
	s.rx.slot = (s.rx.slot + 1) % len(s.rx.events)
	s.deliver(code, dur, now)
}

func (s *Session) deliver(code byte, dur uint16, now time.Time) {
	d := Digit{Key: rune(dtmfKeys[code]), Duration: time.Duration(dur) * time.Second / SampleRate, At: now}
	s.dtmfEvents.Add(1)
	select {
	case s.digits <- d:
	default: // nobody reads: the oldest digits are kept
	}
	select {
	case s.digitNote <- struct{}{}:
	default:
	}
}

// Digits delivers each RFC 4733 telephone-event exactly once, on its first
// packet (deduplicated by RTP timestamp and end-bit retransmits); events
// whose first packet has duration 0 are accepted. Up to 32 unread digits
// are kept. The channel is closed when the session closes.
func (s *Session) Digits() <-chan Digit { return s.digits }

// ReadDigit waits for one digit; ok is false on timeout, ctx's end or the
// session's close.
func (s *Session) ReadDigit(ctx context.Context, timeout time.Duration) (Digit, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case d, ok := <-s.digits:
		return d, ok
	case <-t.C:
	case <-ctx.Done():
	}
	return Digit{}, false
}

// FlushDigits discards digits received but not read, and returns how many.
func (s *Session) FlushDigits() int {
	n := 0
	for {
		select {
		case _, ok := <-s.digits:
			if !ok {
				return n
			}
			n++
		default:
			return n
		}
	}
}
