package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// ErrInvalidWAV is wrapped by every error about a WAV file that is not
// what this package reads: not RIFF/WAVE, truncated, or in a format other
// than 16-bit linear PCM (and, for prompts, other than 8 kHz mono).
var ErrInvalidWAV = errors.New("invalid WAV file")

// wavFormat is the part of a "fmt " chunk this package uses.
type wavFormat struct {
	channels, sampleRate, bitsPerSample int
}

// wavHeaderSize is the size of the canonical header written by wavWriter.
const wavHeaderSize = 44

// readWAVHeader reads the RIFF header and chunks up to the start of the
// "data" chunk, and returns the format and the declared data length
// (-1 when the writer never filled it in, as streaming writers that were
// killed leave 0 or 0xFFFFFFFF).
func readWAVHeader(r io.Reader) (wavFormat, int64, error) {
	var f wavFormat
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return f, 0, fmt.Errorf("%w: reading RIFF header: %w", ErrInvalidWAV, err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return f, 0, fmt.Errorf("%w: not a RIFF/WAVE file", ErrInvalidWAV)
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if !haveFmt {
				return f, 0, fmt.Errorf("%w: no fmt chunk: %w", ErrInvalidWAV, err)
			}
			return f, 0, fmt.Errorf("%w: no data chunk: %w", ErrInvalidWAV, err)
		}
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return f, 0, fmt.Errorf("%w: fmt chunk of %d bytes", ErrInvalidWAV, size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return f, 0, fmt.Errorf("%w: truncated fmt chunk: %w", ErrInvalidWAV, err)
			}
			format := binary.LittleEndian.Uint16(b[0:2])
			if format == 0xFFFE && size >= 40 { // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the format tag
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			if format != 1 {
				return f, 0, fmt.Errorf("%w: audio format %d, want 1 (linear PCM)", ErrInvalidWAV, format)
			}
			f.channels = int(binary.LittleEndian.Uint16(b[2:4]))
			f.sampleRate = int(binary.LittleEndian.Uint32(b[4:8]))
			f.bitsPerSample = int(binary.LittleEndian.Uint16(b[14:16]))
			if f.bitsPerSample != 16 {
				return f, 0, fmt.Errorf("%w: %d bits per sample, want 16", ErrInvalidWAV, f.bitsPerSample)
			}
			if f.channels < 1 || f.sampleRate < 1 {
				return f, 0, fmt.Errorf("%w: %d channels at %d Hz", ErrInvalidWAV, f.channels, f.sampleRate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return f, 0, fmt.Errorf("%w: data chunk before fmt chunk", ErrInvalidWAV)
			}
			if size == 0 || size == 0xFFFFFFFF {
				size = -1
			}
			return f, size, nil
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return f, 0, fmt.Errorf("%w: truncated %q chunk: %w", ErrInvalidWAV, id, err)
			}
		}
	}
}

// readPCM16 reads a 16-bit PCM WAV wholly (used for prompts, which are
// small and shared) and returns its format and samples.
func readPCM16(path string) (wavFormat, []int16, error) {
	file, err := os.Open(path)
	if err != nil {
		return wavFormat{}, nil, err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return wavFormat{}, nil, err
	}
	br := bufio.NewReader(file)
	f, size, err := readWAVHeader(br)
	if err != nil {
		return f, nil, err
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return f, nil, fmt.Errorf("reading audio data: %w", err)
	}
	if size >= 0 && int64(len(data)) < size {
		return f, nil, fmt.Errorf("%w: truncated: data chunk declares %d bytes, file holds %d (file size %d)",
			ErrInvalidWAV, size, len(data), st.Size())
	}
	if size >= 0 {
		data = data[:size]
	}
	block := 2 * f.channels
	if len(data)%block != 0 {
		return f, nil, fmt.Errorf("%w: truncated: %d data bytes is not a whole number of %d-byte frames",
			ErrInvalidWAV, len(data), block)
	}
	samples := make([]int16, len(data)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return f, samples, nil
}

// wavWriter streams 16-bit PCM to a WAV file and fills in the chunk sizes
// on Close, so nothing but a small buffer is held in memory. Samples are
// encoded straight into the buffer, which is written out whole when full.
type wavWriter struct {
	file     *os.File
	buf      []byte
	n        int // bytes of buf in use
	channels int
	data     int64 // bytes of audio written
	err      error // the first write error; later writes return it
}

// createWAV creates path and writes a header whose sizes are patched on close.
func createWAV(path string, channels, rate, bufSize int) (*wavWriter, error) {
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w := &wavWriter{
		file:     file,
		buf:      make([]byte, max(bufSize, 2*wavHeaderSize)),
		channels: channels,
	}
	h := w.buf[:wavHeaderSize]
	copy(h[0:], "RIFF")
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*2))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*2))
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	w.n = wavHeaderSize
	return w, nil
}

// write appends interleaved samples.
func (w *wavWriter) write(samples []int16) error {
	for len(samples) > 0 && w.err == nil {
		room := (len(w.buf) - w.n) / 2
		if room == 0 {
			w.flush()
			continue
		}
		k := min(len(samples), room)
		b := w.buf[w.n : w.n+2*k]
		for i, s := range samples[:k] {
			b[2*i] = byte(s)
			b[2*i+1] = byte(uint16(s) >> 8)
		}
		w.n += 2 * k
		w.data += int64(2 * k)
		samples = samples[k:]
	}
	return w.err
}

// flush writes the buffer to the file.
func (w *wavWriter) flush() {
	if w.n == 0 || w.err != nil {
		return
	}
	_, w.err = w.file.Write(w.buf[:w.n])
	w.n = 0
}

// close flushes, writes the RIFF and data sizes and closes the file.
func (w *wavWriter) close() error {
	w.flush()
	err := w.err
	if err == nil {
		data := min(w.data, math.MaxUint32-36)
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(36+data))
		if _, err = w.file.WriteAt(b[:], 4); err == nil {
			binary.LittleEndian.PutUint32(b[:], uint32(data))
			_, err = w.file.WriteAt(b[:], 40)
		}
	}
	if cerr := w.file.Close(); err == nil {
		err = cerr
	}
	return err
}

// size is the number of bytes the file holds once closed.
func (w *wavWriter) size() int64 { return wavHeaderSize + w.data }

// WAVInfo describes a 16-bit PCM WAV file as measured by AnalyzeWAV.
type WAVInfo struct {
	Channels   int
	SampleRate int
	Frames     int64
	Duration   time.Duration
	// RMS is the root mean square level of each channel, 0 to 32768.
	RMS []float64
	// Peak is the largest absolute sample of each channel.
	Peak []int
}

// AnalyzeWAV reads a 16-bit PCM WAV file of any rate and channel count in
// a streaming way and measures each channel, so tests and operators can
// check that a recording holds audio (and on which side).
func AnalyzeWAV(path string) (WAVInfo, error) {
	var info WAVInfo
	file, err := os.Open(path)
	if err != nil {
		return info, err
	}
	defer file.Close()
	br := bufio.NewReader(file)
	f, size, err := readWAVHeader(br)
	if err != nil {
		return info, fmt.Errorf("%s: %w", path, err)
	}
	info.Channels, info.SampleRate = f.channels, f.sampleRate
	sums := make([]float64, f.channels)
	info.Peak = make([]int, f.channels)
	var r io.Reader = br
	if size >= 0 {
		r = io.LimitReader(br, size)
	}
	buf := make([]byte, 4096*f.channels)
	var read int64
	ch := 0
	for {
		n, err := io.ReadFull(r, buf)
		n -= n % 2
		for i := 0; i < n; i += 2 {
			s := int(int16(binary.LittleEndian.Uint16(buf[i:])))
			sums[ch] += float64(s * s)
			info.Peak[ch] = max(info.Peak[ch], s, -s)
			ch = (ch + 1) % f.channels
		}
		read += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return info, fmt.Errorf("%s: reading audio data: %w", path, err)
		}
	}
	if size >= 0 && read < size {
		return info, fmt.Errorf("%s: %w: truncated: data chunk declares %d bytes, file holds %d", path, ErrInvalidWAV, size, read)
	}
	info.Frames = read / int64(2*f.channels)
	info.Duration = time.Duration(info.Frames) * time.Second / time.Duration(f.sampleRate)
	info.RMS = make([]float64, f.channels)
	if info.Frames > 0 {
		for i := range sums {
			info.RMS[i] = math.Sqrt(sums[i] / float64(info.Frames))
		}
	}
	return info, nil
}
