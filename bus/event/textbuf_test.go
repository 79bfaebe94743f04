package event

import (
	"fmt"
	"testing"
	"time"
)

// Strings come back as added; strings handed out keep their bytes through
// later adds and compactions, which keep only the spans still used.
func TestTextBuf(t *testing.T) {
	var tb TextBuf
	if tb.String(0, 0) != "" {
		t.Fatal("empty string")
	}
	type span struct{ off, n uint32 }
	var spans []span
	var want []string
	for i := range 100 {
		a, b := fmt.Sprintf("id-%d", i), fmt.Sprintf("text %d", i*i)
		off, ok := tb.Add(a, "", b)
		if !ok {
			t.Fatal("add refused")
		}
		spans = append(spans, span{off, uint32(len(a))}, span{off + uint32(len(a)), uint32(len(b))})
		want = append(want, a, b)
	}
	for i, s := range spans {
		if got := tb.String(s.off, s.n); got != want[i] {
			t.Fatalf("span %d = %q, want %q", i, got, want[i])
		}
	}
	first := tb.String(spans[0].off, spans[0].n)

	// Drop the first 150 spans: the buffer is wasteful, and compacting
	// keeps the other 50, moved.
	for _, s := range spans[:150] {
		tb.Drop(s.n)
	}
	if !tb.Wasteful() {
		held, dropped := tb.Len()
		t.Fatalf("%d of %d bytes dropped, not wasteful", dropped, held)
	}
	spans, want = spans[150:], want[150:]
	tb.Compact(func(keep func(off, n uint32) uint32) {
		for i := range spans {
			spans[i].off = keep(spans[i].off, spans[i].n)
		}
	})
	held, dropped := tb.Len()
	if dropped != 0 || tb.Wasteful() {
		t.Fatalf("after compacting %d bytes dropped", dropped)
	}
	size := 0
	for i, s := range spans {
		size += int(s.n)
		if got := tb.String(s.off, s.n); got != want[i] {
			t.Fatalf("after compacting span %d = %q, want %q", i, got, want[i])
		}
	}
	if held != size {
		t.Fatalf("compacted buffer holds %d bytes, the spans %d", held, size)
	}
	if first != "id-0" {
		t.Fatalf("a string handed out before compacting changed to %q", first)
	}
}

func TestPackTime(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tm := range []time.Time{
		{},
		time.Date(2026, 11, 24, 13, 0, 0, 123456789, paris),
		time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Unix(0, 0),
	} {
		got := UnpackTime(PackTime(tm))
		if !got.Equal(tm) || got.IsZero() != tm.IsZero() || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("%v came back as %v", tm, got)
		}
	}
}
