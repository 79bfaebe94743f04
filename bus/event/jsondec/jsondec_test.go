package jsondec

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkUnquote holds Unquote to json.Unmarshal into a string: the same
// value where both read one, and Unquote declining only what
// encoding/json rejects (or reads as null, which is not a string).
func checkUnquote(t testing.TB, in string) {
	t.Helper()
	s := NewScanner([]byte(in))
	got, ok := s.Unquote()
	ok = ok && s.End()
	var want string
	err := json.Unmarshal([]byte(in), &want)
	isString := err == nil && strings.TrimLeft(in, " \t\r\n")[0] == '"'
	switch {
	case ok && !isString:
		t.Fatalf("Unquote(%q) = %q, but encoding/json reads no string (%v)", in, got, err)
	case !ok && isString:
		t.Fatalf("Unquote(%q) declined; encoding/json reads %q", in, want)
	case ok && got != want:
		t.Fatalf("Unquote(%q) = %q, encoding/json reads %q", in, got, want)
	}
}

func TestUnquote(t *testing.T) {
	for _, in := range []string{
		`""`, `"a"`, ` "plain ascii" `, `"é日本😀"`, `"\"\\\/\b\f\n\r\t"`, `"\u0041\u00e9\u65e5"`, `"\u0000"`,
		`"\ud83d\ude00"`, `"\uD83D\uDE00"`, `"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\ud83d\ude00"`,
		`"\ud83d\u0041"`, `"\ud83d\\ude00"`, `"\udbff\udfff"`, `"\ud800\udc00"`, `"\uffff\ufffe"`,
		"\"\xff\"", "\"a\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\\u00e9\xff\"",
		"\"\x7f\"", "\"\u2028\"",
		// Invalid: encoding/json rejects these.
		`"`, `"abc`, `"\"`, `"\x"`, `"\'"`, `"\u12"`, `"\u12g4"`, `"\U0041"`, "\"a\nb\"", "\"\x00\"", "\"\x1f\"",
		`"a"x`, `"a" "b"`, `'a'`, `a`, ``, ` `, `null`, `1`, `["a"]`,
	} {
		checkUnquote(t, in)
	}
}

// randJSONString writes a random valid JSON string, or now and then an
// invalid one, with every kind of escape and rune.
func randJSONString(r *rand.Rand) string {
	var b strings.Builder
	b.WriteByte('"')
	for range r.IntN(12) {
		switch r.IntN(10) {
		case 0:
			b.WriteString([]string{`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`}[r.IntN(8)])
		case 1:
			fmtU := func(v int) { b.WriteString(`\u` + strings.ToUpper(strconv.FormatInt(int64(0x10000+v), 16))[1:]) }
			switch r.IntN(4) {
			case 0:
				fmtU(r.IntN(0x10000)) // anything, surrogates included
			case 1:
				fmtU(0xd800 + r.IntN(0x400))
				fmtU(0xdc00 + r.IntN(0x400))
			case 2:
				fmtU(0xdc00 + r.IntN(0x400))
			default:
				fmtU(0xd800 + r.IntN(0x800))
			}
		case 2:
			b.WriteByte(byte(0x80 + r.IntN(0x80))) // a stray byte
		case 3:
			b.WriteRune(rune(r.IntN(utf8.MaxRune + 1)))
		case 4:
			if r.IntN(20) == 0 {
				b.WriteByte(byte(r.IntN(0x20))) // invalid
			}
		default:
			b.WriteByte(byte(0x20 + r.IntN(0x60)))
		}
	}
	if r.IntN(30) != 0 {
		b.WriteByte('"')
	}
	return b.String()
}

func TestUnquoteRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		checkUnquote(t, randJSONString(r))
	}
}

func FuzzUnquote(f *testing.F) {
	f.Add(`"a\u00e9\ud83d\ude00\ud83d"`)
	f.Add("\"\xff\\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		if in == "" {
			return
		}
		checkUnquote(t, in)
	})
}

// checkInt holds Int to json.Unmarshal into an integer of bitSize bits.
func checkInt(t testing.TB, in string, bitSize int) {
	t.Helper()
	s := NewScanner([]byte(in))
	got, ok := s.Int(bitSize)
	ok = ok && s.End()
	var want int64
	var err error
	switch bitSize {
	case 8:
		var v int8
		err = json.Unmarshal([]byte(in), &v)
		want = int64(v)
	case 32:
		var v int32
		err = json.Unmarshal([]byte(in), &v)
		want = int64(v)
	default:
		err = json.Unmarshal([]byte(in), &want)
	}
	isInt := err == nil && strings.TrimSpace(in) != "null"
	switch {
	case ok != isInt:
		t.Fatalf("Int(%q, %d) ok=%v; encoding/json: %d, %v", in, bitSize, ok, want, err)
	case ok && got != want:
		t.Fatalf("Int(%q, %d) = %d, encoding/json reads %d", in, bitSize, got, want)
	}
}

func TestInt(t *testing.T) {
	for _, in := range []string{
		"0", "-0", "1", " 42 ", "-17", "127", "128", "-128", "-129", "2147483647", "2147483648", "-2147483648",
		"-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
		"18446744073709551616", "99999999999999999999", "00", "01", "-01", "1.0", "1e2", "1E2", "-", "", "+1", `"1"`,
		"null", "true", "1 2", "1,", "0x10", "1.", "-a",
	} {
		for _, bits := range []int{8, 32, 64} {
			checkInt(t, in, bits)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		n := r.Int64() >> r.IntN(64)
		for _, bits := range []int{8, 32, 64} {
			checkInt(t, strconv.FormatInt(n, 10), bits)
		}
	}
	checkInt(t, strconv.FormatInt(math.MinInt64, 10), 64)
}

// checkSkip holds Skip to json.Valid and, for an object, a walk of its
// members with NextMember to encoding/json's tokens.
func checkSkip(t testing.TB, in string) {
	t.Helper()
	data := []byte(in)
	s := NewScanner(data)
	raw, ok := s.Skip()
	ok = ok && s.End()
	if valid := json.Valid(data); ok != valid {
		t.Fatalf("Skip(%q) ok=%v, json.Valid says %v", in, ok, valid)
	}
	if ok && !bytes.Equal(raw, bytes.TrimSpace(data)) {
		t.Fatalf("Skip(%q) returned %q", in, raw)
	}
	checkMembers(t, data)
}

// checkMembers walks the object data with NextMember and Skip, and
// compares its names and values with what a json.Decoder reads.
func checkMembers(t testing.TB, data []byte) {
	t.Helper()
	type member struct {
		name  string
		value string
	}
	var got []member
	s := NewScanner(data)
	ok := s.BeginObject()
	for ok {
		name, escaped, more := s.NextMember()
		if !more {
			break
		}
		// escaped says exactly whether the raw name needs unquoting.
		if want := bytes.IndexByte(name, '\\') >= 0 || !utf8.Valid(name); escaped != want {
			t.Fatalf("member %q of %q: escaped=%v", name, data, escaped)
		}
		if !escaped && unquoteName(name) != string(name) {
			t.Fatalf("member %q of %q is not escaped, yet unquotes to %q", name, data, unquoteName(name))
		}
		value, vok := s.Skip()
		if ok = vok; ok {
			got = append(got, member{unquoteName(name), compact(value)})
		}
	}
	ok = ok && s.End()
	isObject := json.Valid(data) && bytes.TrimLeft(data, " \t\r\n")[0] == '{'
	if ok != isObject {
		t.Fatalf("walking %q: ok=%v, encoding/json: object %v", data, ok, isObject)
	}
	if !ok {
		return
	}
	var want []member
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		want = append(want, member{tok.(string), compact(v)})
	}
	if _, err := dec.Token(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("walking %q: %d members, encoding/json reads %d", data, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("walking %q: member %d is %q, encoding/json reads %q", data, i, got[i], want[i])
		}
	}
}

func unquoteName(raw []byte) string {
	var s string
	if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s); err != nil {
		panic(err)
	}
	return s
}

func compact(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		panic(err)
	}
	return b.String()
}

var skipCases = []string{
	`{}`, ` { } `, `[]`, `[ ]`, `null`, `true`, `false`, `0`, `-0`, `-0.5e-3`, `1E+9`, `12.25`, `"s"`,
	`{"a":1,"b":[1,2,{"c":null}],"d":{"e":"}"},"f":"\"]"}`, `{"a\u0062":1, "\ud83d":2, "é":3}`, "{\"\xff\":1}",
	`[1,[2,[3,[4]]],{"a":[]}]`, ` {"a" : "b" , "c" : [ true , false ] } `,
	// Invalid.
	``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a" 1}`,
	`{a:1}`, `{"a":1]`, `[1}`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `+1`, `tru`, `truex`, `nul`, `nulll`, `"a`,
	`{"a":1}x`, `{"a":1}{}`, `[1] 2`, `{"a":'b'}`, "{\"a\":\"\x01\"}", `NaN`, `Infinity`, "\ufeff{}",
}

func TestSkip(t *testing.T) {
	for _, in := range skipCases {
		checkSkip(t, in)
	}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	checkSkip(t, deep(MaxDepth))
	checkSkip(t, deep(MaxDepth+1))
}

// randValue writes a random JSON value, now and then invalid.
func randValue(r *rand.Rand, depth int) string {
	ws := func() string { return []string{"", "", " ", "\n\t", "\r "}[r.IntN(5)] }
	switch n := r.IntN(9); {
	case n < 2 && depth < 4:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, ws()+randJSONString(r)+ws()+":"+ws()+randValue(r, depth+1)+ws())
		}
		return "{" + strings.Join(parts, ",") + ws() + "}"
	case n < 4 && depth < 4:
		var parts []string
		for range r.IntN(4) {
			parts = append(parts, ws()+randValue(r, depth+1)+ws())
		}
		return "[" + strings.Join(parts, ",") + "]"
	case n == 4:
		return randJSONString(r)
	case n == 5:
		return []string{"true", "false", "null", "tru", "nul"}[r.IntN(5)]
	default:
		return []string{"0", "-1", "12.5", "1e3", "-0.0E-2", "01", "1.", "-", "7"}[r.IntN(9)]
	}
}

func TestSkipRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		checkSkip(t, randValue(r, 0))
	}
}

func FuzzSkip(f *testing.F) {
	for _, in := range skipCases {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) { checkSkip(t, in) })
}

// TestMembersAndElements reads nested objects and arrays with the
// Scanner's calls, as a hand-written decoder does.
func TestMembersAndElements(t *testing.T) {
	in := ` { "to" : [ { "address" : "a" } , {"address":"b\u00e9"} ], "n":-3 , "empty":[], "o":{} } `
	s := NewScanner([]byte(in))
	var addrs []string
	var n int64
	if !s.BeginObject() {
		t.Fatal("no object")
	}
	for {
		name, _, more := s.NextMember()
		if !more {
			break
		}
		switch string(name) {
		case "to", "empty":
			s.BeginArray()
			for s.NextElement() {
				s.BeginObject()
				for {
					if _, _, more := s.NextMember(); !more {
						break
					}
					v, _ := s.Unquote()
					addrs = append(addrs, v)
				}
			}
		case "n":
			n, _ = s.Int(64)
		case "o":
			s.BeginObject()
			if _, _, more := s.NextMember(); more {
				t.Fatal("member in an empty object")
			}
		}
	}
	if !s.End() || strings.Join(addrs, ",") != "a,bé" || n != -3 {
		t.Fatalf("read %q, %d, end %v", addrs, n, s.End())
	}
	// A mismatched closer, a missing comma or a trailing comma fail, and
	// failure sticks.
	for _, in := range []string{`{"a":[1}`, `{"a":[1 2]}`, `{"a":[1,]}`, `{"a":1,}`, `{"a":"x"]`} {
		s := NewScanner([]byte(in))
		s.BeginObject()
		for {
			_, _, more := s.NextMember()
			if !more {
				break
			}
			if s.BeginArray() {
				for s.NextElement() {
					s.Int(64)
				}
			} else {
				s.Skip()
			}
		}
		if s.End() {
			t.Errorf("%s: End reports valid input", in)
		}
		if _, ok := s.Unquote(); ok {
			t.Errorf("%s: a call after a failure succeeded", in)
		}
	}
}
