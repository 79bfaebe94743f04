// Package jsondec reads a JSON object member by member for the
// hand-written decoders of Hotline's hot paths (the chat payloads of
// bus/event), which must produce exactly what encoding/json produces.
//
// A Scanner validates everything it reads. It never reports an error
// message: a decoder that meets anything it does not handle, invalid JSON
// included, gives up and lets encoding/json decode the input, which then
// says what is wrong. So the Scanner accepts only valid JSON (as
// encoding/json's scanner defines it), and what it returns is what
// encoding/json decodes from it:
//
//   - Unquote turns a string into what encoding/json stores in a Go
//     string: every escape resolved, a valid surrogate pair joined, a lone
//     or invalid surrogate and each byte of invalid UTF-8 replaced by
//     U+FFFD;
//   - Int reads a plain integer literal, as encoding/json reads one into
//     an int of the given size, and declines anything else (a fraction, an
//     exponent, an overflow), where encoding/json would fail;
//   - Skip passes over any value, checking it.
//
// Failures are sticky: once a method has failed every later call fails
// too, and End, which a decoder calls last, reports whether all it read
// was valid and nothing but white space follows.
package jsondec

import (
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply Skip lets arrays and objects nest within the
// value it skips, encoding/json's own limit.
const MaxDepth = 10000

// Scanner reads JSON text from a byte slice, one token or value at a time.
// A decoder opens an object with BeginObject, reads each member's name
// with NextMember and its value with Unquote, Int, Skip, BeginObject or
// BeginArray, and ends with End. The zero Scanner reads empty input; use
// NewScanner.
type Scanner struct {
	data []byte
	pos  int
	// opened says the last token read opened an object or array, so the
	// next member or element has no comma before it.
	opened bool
	failed bool
	// buf is scratch space for unquoting strings with escapes.
	buf []byte
}

// NewScanner returns a Scanner reading data from its start.
func NewScanner(data []byte) Scanner { return Scanner{data: data} }

func (s *Scanner) fail() bool {
	s.failed = true
	return false
}

// next skips white space and returns the byte there, or 0 at the end.
func (s *Scanner) next() byte {
	s.pos = SkipSpace(s.data, s.pos)
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// BeginObject reads the '{' that opens an object, after white space, and
// reports whether it was there.
func (s *Scanner) BeginObject() bool { return s.begin('{') }

// BeginArray reads the '[' that opens an array, after white space, and
// reports whether it was there.
func (s *Scanner) BeginArray() bool { return s.begin('[') }

func (s *Scanner) begin(c byte) bool {
	if s.failed || s.next() != c {
		return s.fail()
	}
	s.pos++
	s.opened = true
	return true
}

// more reads what comes after an object's member or an array's element
// (or its opening): the comma before the next one, or the closing byte.
func (s *Scanner) more(closing byte) bool {
	if s.failed {
		return false
	}
	c := s.next()
	if c == closing {
		s.pos++
		s.opened = false
		return false
	}
	if s.opened {
		s.opened = false
		return true
	}
	if c != ',' {
		return s.fail()
	}
	s.pos++
	return true
}

// NextMember reads the next member's name and the colon after it, in the
// object BeginObject opened last (the members of any object nested in a
// member's value having been read). name is the text between the quotes,
// valid but still quoted: escaped says it holds escapes or invalid UTF-8,
// and so differs from the name encoding/json decodes; otherwise name is
// that name. ok is false at the end of the object, which it reads past,
// and on invalid input.
func (s *Scanner) NextMember() (name []byte, escaped, ok bool) {
	if !s.more('}') {
		return nil, false, false
	}
	s.next()
	start := s.pos
	end, escaped, ok := scanString(s.data, start)
	if !ok {
		return nil, false, s.fail()
	}
	s.pos = end
	if s.next() != ':' {
		return nil, false, s.fail()
	}
	s.pos++
	return s.data[start+1 : end-1], escaped, true
}

// NextElement reports whether another element follows in the array
// BeginArray opened last, reading the comma before it; it is false at the
// end of the array, which it reads past, and on invalid input.
func (s *Scanner) NextElement() bool { return s.more(']') }

// Unquote reads a string value and returns it decoded as encoding/json
// decodes it into a Go string. A string without escapes in valid UTF-8
// costs one allocation, string(bytes); others are decoded in a buffer the
// Scanner reuses. ok is false if the value is not a valid string.
func (s *Scanner) Unquote() (v string, ok bool) {
	if s.failed || s.next() != '"' {
		return "", s.fail()
	}
	start := s.pos
	end, escaped, ok := scanString(s.data, start)
	if !ok {
		return "", s.fail()
	}
	s.pos = end
	raw := s.data[start+1 : end-1]
	if !escaped {
		return string(raw), true
	}
	s.buf = appendUnquoted(s.buf[:0], raw)
	return string(s.buf), true
}

// Int reads an integer literal that fits in a signed integer of bitSize
// bits (8 to 64), as encoding/json reads one into an int of that size. ok
// is false for anything else: another kind of value, a number with a
// fraction or exponent, one out of range, invalid input.
func (s *Scanner) Int(bitSize int) (v int64, ok bool) {
	if s.failed {
		return 0, false
	}
	i := SkipSpace(s.data, s.pos)
	neg := i < len(s.data) && s.data[i] == '-'
	if neg {
		i++
	}
	start := i
	if i < len(s.data) && s.data[i] == '0' {
		i++
	} else {
		for i < len(s.data) && s.data[i] >= '0' && s.data[i] <= '9' {
			i++
		}
	}
	digits := s.data[start:i]
	// Nineteen digits hold every int64 and fit in a uint64.
	if len(digits) == 0 || len(digits) > 19 ||
		i < len(s.data) && (s.data[i] == '.' || s.data[i] == 'e' || s.data[i] == 'E') {
		return 0, s.fail()
	}
	var u uint64
	for _, c := range digits {
		u = u*10 + uint64(c-'0')
	}
	limit := uint64(1) << (bitSize - 1)
	if neg && u > limit || !neg && u >= limit {
		return 0, s.fail()
	}
	s.pos = i
	if neg {
		return -int64(u), true
	}
	return int64(u), true
}

// Skip reads past the next value, whatever it is, checking that it is
// valid, and returns its text.
func (s *Scanner) Skip() (raw []byte, ok bool) {
	if s.failed {
		return nil, false
	}
	start := SkipSpace(s.data, s.pos)
	end, ok := skipValue(s.data, start, 0)
	if !ok {
		return nil, s.fail()
	}
	s.pos = end
	return s.data[start:end], true
}

// Members reads an object member by member, for a decoder that knows a
// fixed set of members: member is called with each name, reads the
// member's value from s, and says which known member it is (a bit of its
// own) and whether it read it. A member may come once, under its exact
// name: an escaped name, one member does not take (ok false) or a repeat
// ends the reading with false, as does invalid input. Members reports
// whether it read the whole object; if s has failed, End says so too.
func (s *Scanner) Members(member func(name []byte) (bit uint64, ok bool)) bool {
	if !s.BeginObject() {
		return false
	}
	var seen uint64
	for {
		name, escaped, more := s.NextMember()
		if !more {
			return !s.failed
		}
		if escaped {
			return false
		}
		bit, ok := member(name)
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
	}
}

// End reports whether everything read was valid JSON and only white space
// follows it.
func (s *Scanner) End() bool {
	return !s.failed && SkipSpace(s.data, s.pos) == len(s.data)
}

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space (space, tab, line feed, carriage return), or len(data).
func SkipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// Byte classes inside a JSON string.
const (
	plain   = iota // ASCII that stands for itself
	quote          // '"'
	escape         // '\'
	control        // below 0x20: invalid
	high           // 0x80 and above: UTF-8 to check
)

var classes = func() (t [256]uint8) {
	for c := range t {
		switch {
		case c == '"':
			t[c] = quote
		case c == '\\':
			t[c] = escape
		case c < 0x20:
			t[c] = control
		case c >= utf8.RuneSelf:
			t[c] = high
		}
	}
	return t
}()

// scanString checks the string starting at data[i], which must be '"',
// and returns the index after its closing quote. escaped says it holds
// escapes or invalid UTF-8, so that its contents are not its value.
func scanString(data []byte, i int) (end int, escaped, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return 0, false, false
	}
	for j := i + 1; j < len(data); {
		switch classes[data[j]] {
		case plain:
			j++
		case quote:
			return j + 1, escaped, true
		case escape:
			escaped = true
			if j+1 >= len(data) {
				return 0, false, false
			}
			switch data[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(data) || !isHex(data[j+2]) || !isHex(data[j+3]) || !isHex(data[j+4]) || !isHex(data[j+5]) {
					return 0, false, false
				}
				j += 6
			default:
				return 0, false, false
			}
		case control:
			return 0, false, false
		case high:
			r, size := utf8.DecodeRune(data[j:])
			if r == utf8.RuneError && size == 1 {
				escaped = true
			}
			j += size
		}
	}
	return 0, false, false
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexValue(c byte) rune {
	switch {
	case c <= '9':
		return rune(c - '0')
	case c <= 'F':
		return rune(c - 'A' + 10)
	}
	return rune(c - 'a' + 10)
}

// u4 is the code unit of the \uXXXX escape at p[0:6], or -1 if there is
// none.
func u4(p []byte) rune {
	if len(p) < 6 || p[0] != '\\' || p[1] != 'u' {
		return -1
	}
	return hexValue(p[2])<<12 | hexValue(p[3])<<8 | hexValue(p[4])<<4 | hexValue(p[5])
}

// appendUnquoted appends the value of raw, the contents of a string that
// scanString accepted, as encoding/json's unquote decodes it.
func appendUnquoted(b, raw []byte) []byte {
	for r := 0; r < len(raw); {
		c := raw[r]
		if c >= utf8.RuneSelf {
			// Invalid UTF-8 decodes to RuneError, which is written as
			// U+FFFD: one for each invalid byte.
			rr, size := utf8.DecodeRune(raw[r:])
			b = utf8.AppendRune(b, rr)
			r += size
			continue
		}
		if c != '\\' {
			b = append(b, c)
			r++
			continue
		}
		switch raw[r+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			rr := u4(raw[r:])
			r += 6
			if utf16.IsSurrogate(rr) {
				// A pair only if a low surrogate's escape follows;
				// otherwise U+FFFD, and what follows is read on its own.
				if pair := utf16.DecodeRune(rr, u4(raw[r:])); pair != utf8.RuneError {
					b = utf8.AppendRune(b, pair)
					r += 6
					continue
				}
				rr = utf8.RuneError
			}
			b = utf8.AppendRune(b, rr)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[r+1])
		}
		r += 2
	}
	return b
}

// skipValue checks the value starting at data[i], nested depth levels
// deep in what Skip skips, and returns the index after it.
func skipValue(data []byte, i, depth int) (end int, ok bool) {
	if i >= len(data) {
		return 0, false
	}
	switch c := data[i]; c {
	case '"':
		end, _, ok := scanString(data, i)
		return end, ok
	case '{', '[':
		if depth >= MaxDepth {
			return 0, false
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		i = SkipSpace(data, i+1)
		if i < len(data) && data[i] == closing {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i, _, ok = scanString(data, i); !ok {
					return 0, false
				}
				if i = SkipSpace(data, i); i >= len(data) || data[i] != ':' {
					return 0, false
				}
				i = SkipSpace(data, i+1)
			}
			if i, ok = skipValue(data, i, depth+1); !ok {
				return 0, false
			}
			i = SkipSpace(data, i)
			switch {
			case i >= len(data):
				return 0, false
			case data[i] == closing:
				return i + 1, true
			case data[i] != ',':
				return 0, false
			}
			i = SkipSpace(data, i+1)
		}
	case 't':
		return literal(data, i, "true")
	case 'f':
		return literal(data, i, "false")
	case 'n':
		return literal(data, i, "null")
	}
	return skipNumber(data, i)
}

func literal(data []byte, i int, lit string) (end int, ok bool) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// skipNumber checks the number starting at data[i]: an optional minus,
// an integer part without leading zeros, an optional fraction and an
// optional exponent.
func skipNumber(data []byte, i int) (end int, ok bool) {
	digits := func() int {
		n := 0
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data):
		return 0, false
	case data[i] == '0':
		i++
	case digits() == 0:
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		i++
		if digits() == 0 {
			return 0, false
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0, false
		}
	}
	return i, true
}
