package media

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Stereo channels of a recording.
const (
	callerChannel = 0 // left: what the caller sends
	hubChannel    = 1 // right: what the hub sends
)

const (
	// recordRing is how many frames are held to line the two directions up.
	recordRing = SampleRate * 2 / 5
	// recordLag is how long a direction may stay silent before its part of
	// the timeline is written as silence.
	recordLag = SampleRate / 5
	// recordChunk is the number of samples converted per write.
	recordChunk = 1024
	// recordBuffer is the file buffer of a recording: 0.5 s of stereo
	// audio, so a thousand calls recording make about 2,000 writes a
	// second rather than 8,000.
	recordBuffer = 16 << 10
)

// Recorder streams both directions of a session to a stereo WAV file
// (left: what the caller sends, right: what the hub sends), 8 kHz 16-bit.
// Packets are placed on a timeline by their arrival time; a direction
// without packets (silence suppression, hold) is written as silence. Only
// a ring of 400 ms and a file buffer are held in memory.
type Recorder struct {
	s     *Session
	path  string
	start time.Time

	mu   sync.Mutex
	w    *wavWriter
	ring []int16 // interleaved left/right, recordRing frames
	base int64   // first frame not yet written
	next [2]int64
	err  error
	done bool
	dur  time.Duration
	size int64
}

// StartRecording streams both directions to a stereo WAV file at path
// until the recorder is stopped. A session has one recording at a time.
func (s *Session) StartRecording(path string) (*Recorder, error) {
	select {
	case <-s.closed:
		return nil, ErrClosed
	default:
	}
	w, err := createWAV(path, 2, SampleRate, recordBuffer)
	if err != nil {
		return nil, fmt.Errorf("start recording: %w", err)
	}
	r := &Recorder{s: s, path: path, start: time.Now(), w: w, ring: make([]int16, 2*recordRing), next: [2]int64{-1, -1}}
	if !s.rec.CompareAndSwap(nil, r) {
		w.close()
		return nil, fmt.Errorf("start recording %s: %w", path, errors.New("session already recording"))
	}
	return r, nil
}

// frameAt is the timeline position of t.
func (r *Recorder) frameAt(t time.Time) int64 {
	return int64(t.Sub(r.start) * SampleRate / time.Second)
}

// push places one packet's samples of one direction on the timeline.
func (r *Recorder) push(ch int, pcm []int16, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done || r.err != nil || len(pcm) > recordRing/2 {
		return
	}
	wall := r.frameAt(now)
	n := int64(len(pcm))
	pos := r.next[ch]
	if pos < 0 || pos < wall-recordLag {
		pos = wall - n
	}
	pos = max(pos, r.base)
	end := pos + n
	if end > r.base+recordRing {
		r.commit(end - recordRing)
	}
	// The packet lands in the ring in at most two runs (it may wrap).
	at := int(pos % recordRing)
	first := min(len(pcm), recordRing-at)
	interleave(r.ring[2*at:], pcm[:first], ch)
	interleave(r.ring, pcm[first:], ch)
	r.next[ch] = end
	target := wall - recordLag
	if r.next[0] >= 0 && r.next[1] >= 0 {
		target = max(target, min(r.next[0], r.next[1]))
	}
	r.commit(target)
}

// interleave writes src into channel ch of the stereo frames of dst.
func interleave(dst, src []int16, ch int) {
	for i, v := range src {
		dst[2*i+ch] = v
	}
}

// commit writes the frames before target and clears their ring slots.
func (r *Recorder) commit(target int64) {
	for r.base < target && r.err == nil {
		i := r.base % recordRing
		n := min(target-r.base, recordRing-i, recordChunk/2)
		seg := r.ring[2*i : 2*(i+n)]
		r.err = r.w.write(seg)
		clear(seg)
		r.base += n
	}
}

// Stop detaches the recorder, writes what is pending up to now, fills in
// the WAV header and closes the file. It returns the recording's duration
// and its size in bytes (header included). Stop is idempotent.
func (r *Recorder) Stop() (time.Duration, int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return r.dur, r.size, r.err
	}
	r.done = true
	r.s.rec.CompareAndSwap(r, nil)
	r.commit(max(r.next[0], r.next[1], r.frameAt(time.Now())))
	if err := r.w.close(); r.err == nil {
		r.err = err
	}
	if r.err != nil {
		r.err = fmt.Errorf("recording %s: %w", r.path, r.err)
	}
	r.dur = time.Duration(r.base) * time.Second / SampleRate
	r.size = r.w.size()
	return r.dur, r.size, r.err
}

// Path is the file the recorder writes.
func (r *Recorder) Path() string { return r.path }
