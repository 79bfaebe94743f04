package jsonenc

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// benchStrings are the strings of a chat frame: ids, a short message, a
// longer one with HTML and non-ASCII text.
var benchStrings = []struct{ name, s string }{
	{"id", "0b6b2f0e-7d1a-4b8e-9c3d-5e2f8a9d4c61"},
	{"text", "Thank you for your message, we are looking into it right now."},
	{"html", "<p>Tom & Jerry say \"hi\" <br/> over\nand out</p>"},
	{"unicode", "Привет, как дела? Grüße aus Köln, 日本語のテキスト 😀"},
	{"long", strings.Repeat("Hello, my order #1234 has not arrived yet, can you check where it is? ", 30)},
}

// BenchmarkAppendString compares AppendString, AppendStringWith and
// encoding/json on the strings of a chat frame
// (go test -run=- -bench=. -benchmem ./bus/event/jsonenc).
func BenchmarkAppendString(b *testing.B) {
	for _, bs := range benchStrings {
		buf := make([]byte, 0, 2*len(bs.s)+16)
		b.Run(bs.name+"/AppendString", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bs.s)))
			for b.Loop() {
				buf = AppendString(buf[:0], bs.s)
			}
		})
		b.Run(bs.name+"/AppendStringWith", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bs.s)))
			for b.Loop() {
				buf = AppendStringWith(buf[:0], bs.s, NoHTMLEscape|NumericBF)
			}
		})
		b.Run(bs.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bs.s)))
			for b.Loop() {
				if _, err := json.Marshal(bs.s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppendTime compares AppendTime with time.Time's MarshalJSON.
func BenchmarkAppendTime(b *testing.B) {
	tm := time.Date(2026, 11, 23, 10, 4, 5, 123456789, time.FixedZone("CET", 3600))
	buf := make([]byte, 0, 64)
	b.Run("AppendTime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = AppendTime(buf[:0], tm); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("MarshalJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tm.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppendCompact compares AppendCompact with json.Marshal of a
// json.RawMessage, on a kept field's value.
func BenchmarkAppendCompact(b *testing.B) {
	for _, raw := range []struct{ name, v string }{
		{"plain", ` { "sentiment" : [ 0.25, "neutral" ] } `},
		{"html", ` { "note" : "<b>VIP</b> & friends" } `},
	} {
		v, buf := []byte(raw.v), make([]byte, 0, 2*len(raw.v))
		b.Run(raw.name+"/AppendCompact", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = AppendCompact(buf[:0], v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(raw.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(json.RawMessage(v)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
