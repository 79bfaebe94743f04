package media

// Codec is a G.711 payload format as negotiated in SDP.
type Codec struct {
	// Name is the SDP encoding name ("PCMU" or "PCMA").
	Name string
	// PayloadType is the static RTP payload type (RFC 3551).
	PayloadType uint8
	// ClockRate is the RTP clock rate in Hz.
	ClockRate int
}

var (
	// PCMU is G.711 µ-law, static payload type 0.
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	// PCMA is G.711 A-law, static payload type 8.
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
)

// CodecByPayloadType returns the G.711 codec of a static payload type.
func CodecByPayloadType(pt uint8) (Codec, bool) {
	switch pt {
	case PCMU.PayloadType:
		return PCMU, true
	case PCMA.PayloadType:
		return PCMA, true
	}
	return Codec{}, false
}

// silence is the byte that encodes a zero sample.
func (c Codec) silence() byte {
	if c.PayloadType == PCMA.PayloadType {
		return 0xD5
	}
	return 0xFF
}

// encodeTable returns the compression table of the codec, indexed by the
// 16-bit sample.
func (c Codec) encodeTable() *[65536]byte {
	if c.PayloadType == PCMA.PayloadType {
		return &alawEncode
	}
	return &ulawEncode
}

// decodeTable returns the 256-entry expansion table of the codec.
func (c Codec) decodeTable() *[256]int16 {
	if c.PayloadType == PCMA.PayloadType {
		return &alawDecode
	}
	return &ulawDecode
}

// The lookup tables are immutable once built at package initialisation;
// indexing the encoders by the whole 16-bit sample keeps them branch-free.
var (
	ulawEncode [65536]byte
	alawEncode [65536]byte
	ulawDecode [256]int16
	alawDecode [256]int16
	ulawToALaw [256]byte
	alawToULaw [256]byte
)

func init() {
	for i := range 65536 {
		s := int16(uint16(i))
		ulawEncode[i] = ulawFromLinear(s)
		alawEncode[i] = alawFromLinear(s)
	}
	for i := range 256 {
		ulawDecode[i] = ulawToLinear(byte(i))
		alawDecode[i] = alawToLinear(byte(i))
	}
	for i := range 256 {
		ulawToALaw[i] = alawEncode[uint16(ulawDecode[i])]
		alawToULaw[i] = ulawEncode[uint16(alawDecode[i])]
	}
}

// encodeWith compresses pcm into dst through compression table t; dst
// must be at least as long as pcm. Small enough to be inlined, so that
// each law's loop indexes its own table directly.
func encodeWith(t *[65536]byte, dst []byte, pcm []int16) {
	dst = dst[:len(pcm)]
	for i, s := range pcm {
		dst[i] = t[uint16(s)]
	}
}

// decodeWith expands b into dst through expansion table t; dst must be
// at least as long as b.
func decodeWith(t *[256]int16, dst []int16, b []byte) {
	dst = dst[:len(b)]
	for i, c := range b {
		dst[i] = t[c]
	}
}

// EncodeULaw compresses pcm into dst with G.711 µ-law; dst must be at
// least as long as pcm.
func EncodeULaw(dst []byte, pcm []int16) { encodeWith(&ulawEncode, dst, pcm) }

// DecodeULaw expands µ-law bytes into dst; dst must be at least as long as b.
func DecodeULaw(dst []int16, b []byte) { decodeWith(&ulawDecode, dst, b) }

// EncodeALaw compresses pcm into dst with G.711 A-law; dst must be at
// least as long as pcm.
func EncodeALaw(dst []byte, pcm []int16) { encodeWith(&alawEncode, dst, pcm) }

// DecodeALaw expands A-law bytes into dst; dst must be at least as long as b.
func DecodeALaw(dst []int16, b []byte) { decodeWith(&alawDecode, dst, b) }

// encode compresses pcm with the codec.
func (c Codec) encode(dst []byte, pcm []int16) { encodeWith(c.encodeTable(), dst, pcm) }

// decode expands payload b of the codec into dst.
func (c Codec) decode(dst []int16, b []byte) { decodeWith(c.decodeTable(), dst, b) }

// transcode converts a G.711 payload from one law to the other into dst.
func transcode(dst, src []byte, from, to Codec) {
	dst = dst[:len(src)]
	if from.PayloadType == to.PayloadType {
		copy(dst, src)
		return
	}
	t := &ulawToALaw
	if from.PayloadType == PCMA.PayloadType {
		t = &alawToULaw
	}
	for i, v := range src {
		dst[i] = t[v]
	}
}

// ulawFromLinear is the G.711 µ-law compressor. The sample is rounded to
// the 14 bits G.711 takes as input; its magnitude, biased by 33 so that
// every segment starts at a power of two, is cut into a 3-bit segment
// number and the 4 bits that follow the leading one.
func ulawFromLinear(s int16) byte {
	const bias, clip = 33, 8159
	x := (int(s) + 2) >> 2
	mask := byte(0xFF)
	if x < 0 {
		x = -x
		mask = 0x7F
	}
	x = min(x, clip) + bias
	seg := 0
	for v := x >> 6; v > 0; v >>= 1 {
		seg++
	}
	if seg > 7 {
		return 0x7F ^ mask
	}
	return (byte(seg)<<4 | byte(x>>(seg+1))&0x0F) ^ mask
}

// ulawToLinear is the G.711 µ-law expander.
func ulawToLinear(c byte) int16 {
	c = ^c
	x := (int(c&0x0F)<<3 + 132) << ((c & 0x70) >> 4)
	if c&0x80 != 0 {
		return int16(132 - x)
	}
	return int16(x - 132)
}

// alawFromLinear is the G.711 A-law compressor on the sample rounded to
// 13 bits; even bits are inverted on the line (the 0x55 mask).
func alawFromLinear(s int16) byte {
	x := min((int(s)+4)>>3, 4095)
	mask := byte(0xD5)
	if x < 0 {
		x = -x - 1
		mask = 0x55
	}
	if x < 32 {
		return byte(x>>1) ^ mask
	}
	seg := 1
	for v := x >> 5; v > 1; v >>= 1 {
		seg++
	}
	return (byte(seg)<<4 | byte(x>>seg)&0x0F) ^ mask
}

// alawToLinear is the G.711 A-law expander.
func alawToLinear(c byte) int16 {
	c ^= 0x55
	x := int(c&0x0F)<<4 + 8
	if seg := (c & 0x70) >> 4; seg > 0 {
		x = (x + 0x100) << (seg - 1)
	}
	if c&0x80 != 0 {
		return int16(x)
	}
	return int16(-x)
}
