package media

import (
	"context"
	"time"
)

// ptime is the packetisation interval of everything the hub sends.
const ptime = 20 * time.Millisecond

// maxLateness is how far behind its schedule a sender may fall before the
// schedule is moved, so a stalled goroutine sends a short burst and not
// everything it missed at once.
const maxLateness = 200 * time.Millisecond

// Play sends p paced every 20 ms (160 samples), with continuous sequence
// numbers and timestamps across calls to Play and the marker bit at each
// new talkspurt. It returns when the prompt is done, ctx ends (ctx.Err()),
// the session closes (ErrClosed), or, if interruptible, when a DTMF digit
// arrives (ErrInterrupted, barge-in). A digit already waiting unread in
// Digits when an interruptible Play starts interrupts it at once
// (type-ahead); FlushDigits discards such digits. Plays on one session
// run one after the other, and a Play that follows another continues its
// schedule seamlessly.
func (s *Session) Play(ctx context.Context, p *Prompt, interruptible bool) error {
	return s.play(ctx, p, interruptible, false)
}

// PlayLoop repeats p without a gap until ctx ends (music on hold) and then
// returns ctx.Err(); ErrClosed when the session closes first.
func (s *Session) PlayLoop(ctx context.Context, p *Prompt) error {
	return s.play(ctx, p, false, true)
}

func (s *Session) play(ctx context.Context, p *Prompt, interruptible, loop bool) error {
	if s.cfg.Load() == nil {
		return ErrNotStarted
	}
	select {
	case s.playing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	}
	defer func() { <-s.playing }()

	var interrupt chan struct{}
	if interruptible {
		select {
		case <-s.digitNote:
		default:
		}
		if len(s.digits) > 0 {
			return ErrInterrupted
		}
		interrupt = s.digitNote
	}
	frames := len(p.pcm) / frameSamples
	if len(p.pcm)%frameSamples != 0 {
		frames++
	}
	if frames == 0 {
		if loop {
			return s.wait(ctx, interrupt, time.Time{}, true)
		}
		return nil
	}

	s.sendMu.Lock()
	start := time.Now()
	if s.tx.nextDeadline.After(start) {
		start = s.tx.nextDeadline
	}
	s.sendMu.Unlock()

	for i := 0; loop || i < frames; i++ {
		deadline := start.Add(time.Duration(i) * ptime)
		now := time.Now()
		if now.Before(deadline) {
			if err := s.wait(ctx, interrupt, deadline, false); err != nil {
				return err
			}
		} else {
			if now.Sub(deadline) >= ptime {
				s.lateSends.Add(1)
			}
			if now.Sub(deadline) > maxLateness {
				start = now.Add(-time.Duration(i) * ptime)
				deadline = now
			}
			if err := s.poll(ctx, interrupt); err != nil {
				return err
			}
		}
		cfg := s.cfg.Load()
		payload := p.payload(cfg.codec)
		k := i % frames
		frame := payload[k*frameSamples : (k+1)*frameSamples]

		// The packet is stamped with its scheduled time, so that a Play
		// that follows another on schedule continues its timestamps.
		s.sendMu.Lock()
		t := &s.tx
		ts, marker := t.hdr.Timestamp+t.samples, false
		if i == 0 || t.fwdActive {
			ts, marker = t.spurtTS(deadline), true
		}
		err := s.emitLocked(cfg, cfg.codec.PayloadType, marker, ts, frame, &cfg.codec, false, deadline)
		t.nextDeadline = deadline.Add(ptime)
		s.sendMu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// wait blocks until deadline (or forever when untimed), ctx's end, the
// session's close or a digit on interrupt (nil when not interruptible).
func (s *Session) wait(ctx context.Context, interrupt chan struct{}, deadline time.Time, untimed bool) error {
	var timeout <-chan time.Time
	if !untimed {
		s.timer.Reset(time.Until(deadline))
		defer s.timer.Stop()
		timeout = s.timer.C
	}
	select {
	case <-timeout:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	case <-interrupt:
		return ErrInterrupted
	}
}

// poll is wait's non-blocking form, for a sender catching up.
func (s *Session) poll(ctx context.Context, interrupt chan struct{}) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	case <-interrupt:
		return ErrInterrupted
	default:
		return nil
	}
}
