// Package jsonenc appends JSON text byte for byte as encoding/json writes
// it. It serves the hand-written encoders of Hotline's hot paths (the chat
// payloads of bus/event, the chat and inbox socket frames), which must
// write exactly what encoding/json wrote before them, so that stored
// events and frames a client compares do not change shape.
//
// Each function appends to b and returns the extended slice, as
// strconv.AppendInt does, so that a caller sizes one buffer and builds a
// whole frame in it. Integers and booleans need nothing here:
// strconv.AppendInt, strconv.AppendUint and strconv.AppendBool write what
// encoding/json writes for them.
package jsonenc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Flags select a spelling of JSON strings other than encoding/json's for
// AppendStringWith; other bits are ignored. Each spelling is the same
// JSON text (a decoder reads the same string back); only the bytes
// differ. The zero Flags is encoding/json's spelling.
type Flags uint8

const (
	// NoHTMLEscape leaves <, > and & as they are instead of writing
	// \u003c, \u003e and \u0026, as a json.Encoder with SetEscapeHTML(false)
	// does.
	NoHTMLEscape Flags = 1 << iota
	// NumericBF spells backspace and form feed \u0008 and \u000c rather than
	// \b and \f, as encoding/json did before Go 1.22. bus/event's envelope
	// and Address encoders have always written them so, and the payload
	// encoders reproduce that byte for byte.
	NumericBF

	// spellings is every flag AppendStringWith heeds.
	spellings = NoHTMLEscape | NumericBF
)

// AppendString appends s as encoding/json writes a string: quoted, with
// '"' and '\' escaped, \b \f \n \r \t by name, other control characters
// as \u00XX, <, > and & as \u003c, \u003e and \u0026 (HTML-safe), U+2028
// and U+2029 as \u2028 and \u2029, and each byte of invalid UTF-8 as
// \ufffd.
func AppendString(b []byte, s string) []byte { return AppendStringWith(b, s, 0) }

const hexDigits = "0123456789abcdef"

// How AppendStringWith writes each byte, from its escapes table: the byte as
// it is (0), the start of a multi-byte UTF-8 sequence (multiByte), as
// \u00XX ('u'), or as '\' followed by the entry ('"', '\\', 'b', 'f', 'n',
// 'r', 't').
const multiByte = 0x80

// escapes holds a table for each spelling, indexed by Flags. Looking a
// byte up is most of the speed of AppendStringWith.
var escapes = func() (t [spellings + 1][256]byte) {
	for f := range t {
		e := &t[f]
		for c := range 0x20 {
			e[c] = 'u'
		}
		e['\n'], e['\r'], e['\t'] = 'n', 'r', 't'
		if Flags(f)&NumericBF == 0 {
			e['\b'], e['\f'] = 'b', 'f'
		}
		e['"'], e['\\'] = '"', '\\'
		if Flags(f)&NoHTMLEscape == 0 {
			e['<'], e['>'], e['&'] = 'u', 'u', 'u'
		}
		for c := utf8.RuneSelf; c < 256; c++ {
			e[c] = multiByte
		}
	}
	return t
}()

// AppendStringWith appends s as AppendString does, but in the spelling f
// selects.
func AppendStringWith(b []byte, s string, f Flags) []byte {
	// The loop is shaped for the compiler: the table's address is a
	// global's, and the bytes written as they are are skipped by a loop of
	// their own that keeps everything in registers (as fast as the
	// fastest of the copies this replaced).
	e := &escapes[f&spellings]
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i < len(s) && e[s[i]] == 0 {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if x := e[c]; x != multiByte {
			b = append(b, s[start:i]...)
			if x == 'u' {
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				b = append(b, '\\', x)
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendOptional appends a string member with omitempty: nothing if s is
// empty, else member (the punctuation and quoted name, such as
// `,"name":`) and s as AppendString writes it.
func AppendOptional(b []byte, member, s string) []byte {
	if s == "" {
		return b
	}
	return AppendString(append(b, member...), s)
}

// AppendStrings appends list as encoding/json writes a []string: null for
// a nil slice, else an array of strings as AppendString writes them.
func AppendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, s)
	}
	return append(b, ']')
}

// AppendArray appends list as encoding/json writes a slice: null for a nil
// slice, else an array of the elements as elem writes them. It stops at
// elem's first error and returns it with b as it was.
func AppendArray[T any](b []byte, list []T, elem func([]byte, *T) ([]byte, error)) ([]byte, error) {
	if list == nil {
		return append(b, "null"...), nil
	}
	out := append(b, '[')
	for i := range list {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = elem(out, &list[i]); err != nil {
			return b, err
		}
	}
	return append(out, ']'), nil
}

// AppendTime appends t as time.Time's MarshalJSON writes it: quoted
// RFC 3339 with as many fractional digits as needed. A time RFC 3339
// cannot hold (a year outside [0,9999], a zone offset of 24 hours or
// more) is an error, MarshalJSON's own, and b comes back unchanged.
func AppendTime(b []byte, t time.Time) ([]byte, error) {
	out, err := t.AppendText(append(b, '"'))
	if err != nil {
		// AppendText names itself in its error; MarshalJSON's is the one
		// encoding/json reports.
		if _, jerr := t.MarshalJSON(); jerr != nil {
			err = jerr
		}
		return b, err
	}
	return append(out, '"'), nil
}

// AppendCompact appends raw, a JSON value, as encoding/json writes what a
// json.Marshaler returned: without insignificant space, and HTML-safe
// (<, >, & and U+2028, U+2029 escaped). Raw that is not valid JSON is an
// error wrapping json.Compact's *json.SyntaxError, and b comes back
// unchanged.
func AppendCompact(b, raw []byte) ([]byte, error) {
	n := len(b)
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, raw); err != nil {
		return b, fmt.Errorf("jsonenc: compact: %w", err)
	}
	out := buf.Bytes()
	i := n + htmlUnsafe(out[n:])
	if i == len(out) {
		return out, nil
	}
	// Rare: escaping lengthens the value, so what follows i moves.
	rest := bytes.Clone(out[i:])
	out = out[:i]
	start := 0
	for j := 0; j < len(rest); j++ {
		switch c := rest[j]; {
		case c == '<' || c == '>' || c == '&':
			out = append(out, rest[start:j]...)
			out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			start = j + 1
		case isLineSeparator(rest, j):
			out = append(out, rest[start:j]...)
			out = append(out, '\\', 'u', '2', '0', '2', hexDigits[rest[j+2]&0xf])
			j += 2
			start = j + 1
		}
	}
	return append(out, rest[start:]...), nil
}

// htmlUnsafe returns the index of the first byte of p AppendCompact
// escapes, or len(p).
func htmlUnsafe(p []byte) int {
	for j, c := range p {
		if c == '<' || c == '>' || c == '&' || isLineSeparator(p, j) {
			return j
		}
	}
	return len(p)
}

// isLineSeparator reports whether p[j:] starts with the UTF-8 of U+2028
// or U+2029 (E2 80 A8, E2 80 A9).
func isLineSeparator(p []byte, j int) bool {
	return p[j] == 0xE2 && j+2 < len(p) && p[j+1] == 0x80 && p[j+2]&^1 == 0xA8
}
