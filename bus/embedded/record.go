package embedded

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"

	"github.com/hotline-hub/hotline/bus"
)

// A segment file is a sequence of frames, one per record, followed by zero
// bytes up to the preallocated size. Every integer is little-endian.
//
//	0   u32  length of the rest of the frame (0 marks the end of the data)
//	4   u32  CRC-32C (Castagnoli) of bytes 8..4+length
//	8   i64  offset
//	16  i64  append time, Unix nanoseconds
//	24  u32  bytes from the start of this record's write batch to this frame
//	28  u32  key length, then the key
//	    u32  header count, then per header: u32 key length, key, u32 value length, value
//	    u32  value length, then the value
//
// The batch position is the frame's place in its partition batch (one
// commit cycle's records of one partition, one write-ahead log entry); it
// helps a human reading a damaged file see which records went together.
const (
	frameFixed  = 32                 // up to and including the key length
	frameMinLen = frameFixed + 8 - 4 // smallest length field: empty key, no headers, empty value
	maxHeaders  = 1 << 16
	maxFrameLen = maxMessageLimit + 8*maxHeaders + frameFixed + 8
	indexEvery  = 64 << 10 // bytes between sparse index entries
	writeChunk  = 4 << 20  // most bytes written to a segment at once
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	errShortFrame = errors.New("frame extends past the data read")
	errBadLength  = errors.New("implausible frame length")
	errBadCRC     = errors.New("CRC mismatch")
	errBadLayout  = errors.New("frame fields do not add up to its length")
)

// frameSize is the number of bytes m occupies in a segment.
func frameSize(m *bus.Message) int {
	n := frameFixed + len(m.Key) + 4 + 4 + len(m.Value)
	for i := range m.Headers {
		n += 8 + len(m.Headers[i].Key) + len(m.Headers[i].Value)
	}
	return n
}

// appendFrame appends m's frame to buf with the CRC and batch position left
// zero; sealFrame fills them in once the frame's write batch is known.
func appendFrame(buf []byte, m *bus.Message, offset, unixNano int64) []byte {
	size := frameSize(m)
	start := len(buf)
	buf = grow(buf, size)
	b := buf[start : start+size]
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(size-4))
	le.PutUint32(b[4:], 0)
	le.PutUint64(b[8:], uint64(offset))
	le.PutUint64(b[16:], uint64(unixNano))
	le.PutUint32(b[24:], 0)
	le.PutUint32(b[28:], uint32(len(m.Key)))
	p := frameFixed + copy(b[frameFixed:], m.Key)
	le.PutUint32(b[p:], uint32(len(m.Headers)))
	p += 4
	for i := range m.Headers {
		h := &m.Headers[i]
		le.PutUint32(b[p:], uint32(len(h.Key)))
		p += 4
		p += copy(b[p:], h.Key)
		le.PutUint32(b[p:], uint32(len(h.Value)))
		p += 4
		p += copy(b[p:], h.Value)
	}
	le.PutUint32(b[p:], uint32(len(m.Value)))
	p += 4
	copy(b[p:], m.Value)
	return buf
}

// grow extends buf by n bytes, reallocating with room to spare.
func grow(buf []byte, n int) []byte {
	if cap(buf)-len(buf) < n {
		nb := make([]byte, len(buf), 2*cap(buf)+n)
		copy(nb, buf)
		buf = nb
	}
	return buf[:len(buf)+n]
}

// sealFrame sets the frame's batch position and CRC.
func sealFrame(frame []byte, batchPos int) {
	binary.LittleEndian.PutUint32(frame[24:], uint32(batchPos))
	binary.LittleEndian.PutUint32(frame[4:], crc32.Checksum(frame[8:], castagnoli))
}

// frameHead is the fixed part of a frame.
type frameHead struct {
	size     int // whole frame, length field included
	offset   int64
	unixNano int64
	batchPos int
}

// frameLen reads the length field at b[0:4]; 0 means end of data.
func frameLen(b []byte) int { return int(binary.LittleEndian.Uint32(b)) }

// checkFrame validates the frame at the start of b: plausible length, whole
// frame present, CRC. It returns errShortFrame if b holds only part of a
// plausible frame.
func checkFrame(b []byte) (frameHead, error) {
	if len(b) < 4 {
		return frameHead{}, errShortFrame
	}
	l := frameLen(b)
	if l < frameMinLen || l > maxFrameLen {
		return frameHead{}, errBadLength
	}
	if len(b) < 4+l {
		return frameHead{}, errShortFrame
	}
	le := binary.LittleEndian
	if le.Uint32(b[4:]) != crc32.Checksum(b[8:4+l], castagnoli) {
		return frameHead{}, errBadCRC
	}
	return frameHead{
		size:     4 + l,
		offset:   int64(le.Uint64(b[8:])),
		unixNano: int64(le.Uint64(b[16:])),
		batchPos: int(le.Uint32(b[24:])),
	}, nil
}

// decodeMessage copies the key, headers and value of a checked frame into
// one new allocation and returns them as a Message.
func decodeMessage(frame []byte) (bus.Message, error) {
	return decodeMessageKeys(frame, nil)
}

// headerKeys interns header names: events repeat the same dozen names on
// every record, so the records of the tail cache share one string per name
// instead of allocating each. Owned by the committer.
type headerKeys map[string]string

// Bounds of headerKeys, so odd producers cannot grow it without end.
const (
	maxHeaderKeys   = 256
	maxHeaderKeyLen = 64
)

// intern returns k as a string, the same one for every equal k it keeps.
func (hk headerKeys) intern(k []byte) string {
	if s, ok := hk[string(k)]; ok {
		return s
	}
	s := string(k)
	hk.keep(s)
	return s
}

// internString is intern for a name that is already a string (a published
// message's header). A name it does not keep is copied, so that the ring
// never holds a string sharing a larger one's memory.
func (hk headerKeys) internString(k string) string {
	if s, ok := hk[k]; ok {
		return s
	}
	s := strings.Clone(k)
	hk.keep(s)
	return s
}

// keep adds s to hk within its bounds.
func (hk headerKeys) keep(s string) {
	if len(hk) < maxHeaderKeys && len(s) <= maxHeaderKeyLen {
		hk[s] = s
	}
}

// decodeMessageKeys is decodeMessage, taking header names from keys when
// it is not nil.
func decodeMessageKeys(frame []byte, keys headerKeys) (bus.Message, error) {
	le := binary.LittleEndian
	data := make([]byte, len(frame)-frameFixed)
	copy(data, frame[frameFixed:])
	rest := data
	take := func() ([]byte, bool) {
		if len(rest) < 4 {
			return nil, false
		}
		n := int(le.Uint32(rest))
		if n > len(rest)-4 {
			return nil, false
		}
		v := rest[4 : 4+n : 4+n]
		rest = rest[4+n:]
		return v, true
	}
	var m bus.Message
	// The key length sits in the fixed part; re-read it from the frame.
	kl := int(le.Uint32(frame[28:]))
	if kl > len(rest) {
		return m, errBadLayout
	}
	if kl > 0 {
		m.Key = rest[:kl:kl]
	}
	rest = rest[kl:]
	if len(rest) < 4 {
		return m, errBadLayout
	}
	nh := int(le.Uint32(rest))
	rest = rest[4:]
	if nh > len(rest)/8 {
		return m, errBadLayout
	}
	if nh > 0 {
		m.Headers = make([]bus.Header, nh)
		for i := range m.Headers {
			k, ok1 := take()
			v, ok2 := take()
			if !ok1 || !ok2 {
				return m, errBadLayout
			}
			var name string
			if keys != nil {
				name = keys.intern(k)
			} else {
				name = string(k)
			}
			m.Headers[i] = bus.Header{Key: name, Value: v}
		}
	}
	v, ok := take()
	if !ok || len(rest) != 0 {
		return m, errBadLayout
	}
	m.Value = v
	return m, nil
}
