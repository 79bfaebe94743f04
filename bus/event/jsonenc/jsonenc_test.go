package jsonenc

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// reference is what encoding/json writes for s in the spelling f: json.Marshal
// (or an Encoder with SetEscapeHTML(false)), then, for NumericBF, \b and \f
// respelled as encoding/json spelled them before Go 1.22.
func reference(t testing.TB, s string, f Flags) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(f&NoHTMLEscape == 0)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if f&NumericBF == 0 {
		return out
	}
	var numeric []byte
	for i := 0; i < len(out); i++ {
		if out[i] != '\\' {
			numeric = append(numeric, out[i])
			continue
		}
		i++ // an escape: '\' and the byte after it
		switch out[i] {
		case 'b':
			numeric = append(numeric, `\u0008`...)
		case 'f':
			numeric = append(numeric, `\u000c`...)
		default:
			numeric = append(numeric, '\\', out[i])
		}
	}
	return numeric
}

var allFlags = []Flags{0, NoHTMLEscape, NumericBF, NoHTMLEscape | NumericBF}

// checkString holds every spelling of s to its reference, after a prefix
// that must stay as it was.
func checkString(t testing.TB, s string) {
	t.Helper()
	prefix := []byte(`{"k":`)
	for _, f := range allFlags {
		want := reference(t, s, f)
		got := AppendStringWith(bytes.Clone(prefix), s, f)
		if !bytes.Equal(got, append(bytes.Clone(prefix), want...)) {
			t.Fatalf("AppendStringWith(%q, %b)\n got %s\nwant %s%s", s, f, got, prefix, want)
		}
		if !utf8.Valid(got) {
			t.Fatalf("AppendStringWith(%q, %b) wrote invalid UTF-8 %q", s, f, got)
		}
		var back string
		if err := json.Unmarshal(got[len(prefix):], &back); err != nil || utf8.ValidString(s) && back != s {
			t.Fatalf("AppendStringWith(%q, %b) = %s reads back as %q (%v)", s, f, got, back, err)
		}
	}
	if got, want := AppendString(nil, s), AppendStringWith(nil, s, 0); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %s, AppendStringWith(…, 0) = %s", s, got, want)
	}
}

func TestAppendString(t *testing.T) {
	for _, tc := range []struct {
		in                      string
		json, noHTML, numericBF string // the spellings of 0, NoHTMLEscape, NumericBF
	}{
		{"", `""`, `""`, `""`},
		{"plain text", `"plain text"`, `"plain text"`, `"plain text"`},
		{`"\/`, `"\"\\/"`, `"\"\\/"`, `"\"\\/"`},
		{"<a&b>", `"\u003ca\u0026b\u003e"`, `"<a&b>"`, `"\u003ca\u0026b\u003e"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`, `"\b\f\n\r\t"`, `"\u0008\u000c\n\r\t"`},
		{"\x00\x01\x0b\x1f\x7f", `"\u0000\u0001\u000b\u001f` + "\x7f\"", `"\u0000\u0001\u000b\u001f` + "\x7f\"",
			`"\u0000\u0001\u000b\u001f` + "\x7f\""},
		{"a\u2028b\u2029c\u2027", `"a\u2028b\u2029c` + "\u2027\"", `"a\u2028b\u2029c` + "\u2027\"", `"a\u2028b\u2029c` + "\u2027\""},
		{"é日本😀", `"é日本😀"`, `"é日本😀"`, `"é日本😀"`},
		{"a\xffb\xc3(\xed\xa0\x80\xf0\x9f\x98", `"a\ufffdb\ufffd(\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"`,
			`"a\ufffdb\ufffd(\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"`, `"a\ufffdb\ufffd(\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd"`},
		{`\u2028`, `"\\u2028"`, `"\\u2028"`, `"\\u2028"`},
		{`\b`, `"\\b"`, `"\\b"`, `"\\b"`},
	} {
		for _, sp := range []struct {
			f    Flags
			want string
		}{{0, tc.json}, {NoHTMLEscape, tc.noHTML}, {NumericBF, tc.numericBF}} {
			if got := AppendStringWith(nil, tc.in, sp.f); string(got) != sp.want {
				t.Errorf("AppendStringWith(%q, %b) = %s, want %s", tc.in, sp.f, got, sp.want)
			}
		}
		checkString(t, tc.in)
	}
}

// seeds are strings an escaper gets wrong, for the fuzz target.
var seeds = []string{"", "Hello", "<a href=\"x\">&amp;</a>", `\"/`, "\x00\x01\b\f\n\r\t\x0b\x1f\x7f", "é日本😀",
	"\u2028\u2029\u2027\ufffd", "\xff\xc3\xe2\x80\xed\xa0\x80\xf4\x90\x80\x80\xf0\x9f\x98", `\u2028\b`}

// randString builds a string of up to 12 parts, each drawn from one class
// of what an escaper treats apart: plain ASCII, characters escaped by name,
// as \u00XX or for HTML, valid multi-byte runes (U+2028 and U+2029
// among them), and invalid UTF-8: stray bytes, surrogates, sequences cut
// short, runes past U+10FFFF.
func randString(r *rand.Rand) string {
	var b []byte
	for range r.IntN(13) {
		switch r.IntN(9) {
		case 0, 1:
			for range 1 + r.IntN(8) {
				b = append(b, byte(0x20+r.IntN(0x60)))
			}
		case 2:
			b = append(b, "\"\\\b\f\n\r\t"[r.IntN(7)])
		case 3:
			b = append(b, byte(r.IntN(0x20)))
		case 4:
			b = append(b, "<>&/\x7f"[r.IntN(5)])
		case 5:
			b = utf8.AppendRune(b, rune(0x80+r.IntN(0x3000))) // Latin to CJK, U+2028 and U+2029 included
		case 6:
			b = utf8.AppendRune(b, rune(0x80+r.IntN(utf8.MaxRune-0x80)))
		case 7:
			b = append(b, byte(0x80+r.IntN(0x80))) // a stray byte
		default:
			var full [4]byte
			n := utf8.EncodeRune(full[:], rune(0x800+r.IntN(0x20000)))
			b = append(b, full[:1+r.IntN(n-1)]...) // cut short
			if r.IntN(4) == 0 {
				b = append(b, 0xed, byte(0xa0+r.IntN(0x20)), 0x80) // a surrogate
			}
			if r.IntN(4) == 0 {
				b = append(b, 0xf4, byte(0x90+r.IntN(0x30)), 0x80, 0x80) // past U+10FFFF
			}
		}
	}
	return string(b)
}

// TestAppendStringRandom compares every spelling with encoding/json on
// varied strings.
func TestAppendStringRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // to replay a failure
	r := rand.New(rand.NewPCG(3, seed))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for range n {
		checkString(t, randString(r))
	}
	// Every single byte and every rune of the Basic Multilingual Plane,
	// alone and between others.
	for c := range 256 {
		checkString(t, string([]byte{byte(c)}))
		checkString(t, "x"+string([]byte{byte(c)})+"y")
	}
	for c := rune(0); c < 0x10000; c++ {
		checkString(t, "<"+string(c)+"é")
	}
}

// FuzzAppendString holds every spelling to encoding/json on any input
// (go test -fuzz=FuzzAppendString ./bus/event/jsonenc to search further).
func FuzzAppendString(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkString(t, s) })
}

func TestAppendOptional(t *testing.T) {
	if got := AppendOptional([]byte("{"), `"a":`, ""); string(got) != "{" {
		t.Errorf("empty value: %s", got)
	}
	if got := AppendOptional([]byte(`{"x":1`), `,"a":`, "<v>"); string(got) != `{"x":1,"a":"\u003cv\u003e"` {
		t.Errorf("value: %s", got)
	}
}

func TestAppendStrings(t *testing.T) {
	for _, list := range [][]string{nil, {}, {""}, {"a"}, {"a", "<b>", "\u2028", "\xff"}} {
		want, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendStrings([]byte("p"), list); string(got) != "p"+string(want) {
			t.Errorf("AppendStrings(%q) = %s, want p%s", list, got, want)
		}
	}
}

func TestAppendArray(t *testing.T) {
	type item struct {
		N int    `json:"n"`
		S string `json:"s"`
	}
	elem := func(b []byte, it *item) ([]byte, error) {
		if it.N < 0 {
			return nil, errors.New("negative")
		}
		b = append(b, `{"n":`...)
		b = append(b, byte('0'+it.N))
		b = append(b, `,"s":`...)
		return append(AppendString(b, it.S), '}'), nil
	}
	for _, list := range [][]item{nil, {}, {{1, "a"}}, {{1, "<"}, {2, ""}, {3, "\b"}}} {
		want, err := json.Marshal(list)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendArray([]byte("p"), list, elem)
		if err != nil || string(got) != "p"+string(want) {
			t.Errorf("AppendArray(%v) = %s (%v), want p%s", list, got, err, want)
		}
	}
	got, err := AppendArray([]byte("p"), []item{{1, "a"}, {-1, "b"}}, elem)
	if err == nil || string(got) != "p" {
		t.Errorf("failing element: %s (%v), want p and an error", got, err)
	}
}

// checkTime holds AppendTime to time.Time's MarshalJSON: the same bytes or
// the same error, and the prefix as it was.
func checkTime(t *testing.T, tm time.Time) {
	t.Helper()
	want, werr := tm.MarshalJSON()
	got, gerr := AppendTime([]byte("p"), tm)
	switch {
	case werr != nil:
		if gerr == nil || gerr.Error() != werr.Error() || string(got) != "p" {
			t.Fatalf("AppendTime(%v) = %s (%v), want p and error %v", tm, got, gerr, werr)
		}
	case gerr != nil || string(got) != "p"+string(want):
		t.Fatalf("AppendTime(%v) = %s (%v), want p%s", tm, got, gerr, want)
	}
}

func TestAppendTime(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 4, 5, 123456789, time.UTC)
	for _, tm := range []time.Time{
		{}, at, at.Truncate(time.Second), at.Truncate(time.Millisecond), time.Now(), time.Now().UTC(),
		at.In(time.FixedZone("CET", 3600)), at.In(time.FixedZone("", -(9*3600 + 30*60))), at.In(time.FixedZone("LMT", 561)),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC),
		at.In(time.FixedZone("", 24*3600)), at.In(time.FixedZone("", -24*3600)), at.In(time.FixedZone("", 24*3600-60)),
	} {
		checkTime(t, tm)
	}
	if _, err := AppendTime(nil, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil ||
		!strings.HasPrefix(err.Error(), "Time.MarshalJSON: ") {
		t.Errorf("year 10000: error %v, want Time.MarshalJSON's", err)
	}
	r := rand.New(rand.NewPCG(4, 5))
	for range 20000 {
		tm := time.Unix(r.Int64N(1<<39)-1<<38, r.Int64N(1e9))
		if r.IntN(3) == 0 {
			tm = tm.Truncate(time.Duration(r.Int64N(int64(time.Hour))))
		}
		checkTime(t, tm.In(time.FixedZone("", r.IntN(50*3600)-25*3600)))
	}
}

// compactPieces are JSON values, spaced oddly, to build random ones from.
var compactPieces = []string{`1`, ` -0.4e3 `, `true`, "\tnull\n", `"s"`, ` "<b>&</b>" `, "\"\u2028\u2029\"", `"\u2028"`,
	` { "a" : [ 1, 2, {"b":"c"} ] } `, ` [ ] `, `"\ud83d\ude00"`, `{}`, `"é"`, `"\u003c"`, `"\xe2\x80"`, `"a\\"`}

// compactKeys are object member names, spaced oddly.
var compactKeys = []string{`"a"`, ` "<k>&" `, "\"\u2028\"", `"é" `, `"k\"q"`, `"\\"`}

// randValue builds a JSON value of compactPieces nested up to three
// deep; one in ten is cut short, which is not JSON.
func randValue(r *rand.Rand, depth int) string {
	if depth > 2 || r.IntN(3) == 0 {
		return compactPieces[r.IntN(len(compactPieces))]
	}
	array := r.IntN(2) == 0
	var parts []string
	for range r.IntN(4) {
		v := randValue(r, depth+1)
		if !array {
			v = compactKeys[r.IntN(len(compactKeys))] + ":" + v
		}
		parts = append(parts, v)
	}
	v := " [" + strings.Join(parts, " , ") + "] "
	if !array {
		v = "{" + strings.Join(parts, ",") + "}"
	}
	if depth == 0 && r.IntN(10) == 0 {
		v = v[:r.IntN(len(v))]
	}
	return v
}

// checkCompact holds AppendCompact to what json.Marshal writes for a
// Marshaler that returns raw: the same bytes, or an error where it fails.
func checkCompact(t testing.TB, raw string) {
	t.Helper()
	want, werr := json.Marshal(json.RawMessage(raw))
	if raw == "" {
		werr = errors.New("empty") // RawMessage writes null for nil, a Marshaler returning nothing fails
	}
	got, gerr := AppendCompact([]byte("p"), []byte(raw))
	switch {
	case werr != nil:
		var syntax *json.SyntaxError
		if gerr == nil || !errors.As(gerr, &syntax) || string(got) != "p" {
			t.Fatalf("AppendCompact(%q) = %s (%v), want p and a syntax error (%v)", raw, got, gerr, werr)
		}
	case gerr != nil || string(got) != "p"+string(want):
		t.Fatalf("AppendCompact(%q) = %s (%v), want p%s", raw, got, gerr, want)
	}
}

func TestAppendCompact(t *testing.T) {
	for _, raw := range append(compactPieces, "", " ", "{", `{"a":}`, `"<`, "1 2", ` {"k" : [1, "<&>"] } `, "\"\u2028\"") {
		checkCompact(t, raw)
	}
	r := rand.New(rand.NewPCG(6, 7))
	for range 5000 {
		checkCompact(t, randValue(r, 0))
	}
	// Room enough: compacting appends in place.
	b := make([]byte, 1, 64)
	if got, err := AppendCompact(b, []byte(` { "a" : 1 } `)); err != nil || string(got) != "\x00"+`{"a":1}` || &got[0] != &b[0] {
		t.Errorf("in place: %q (%v)", got, err)
	}
}

// FuzzAppendCompact holds AppendCompact to encoding/json on any input.
func FuzzAppendCompact(f *testing.F) {
	for _, p := range compactPieces {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkCompact(t, raw) })
}
