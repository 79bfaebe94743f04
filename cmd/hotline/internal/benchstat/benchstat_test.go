package benchstat

import (
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	hundred := make([]int64, 100)
	for i := range hundred {
		hundred[i] = int64(i + 1) // 1..100
	}
	thousand := make([]int64, 1000)
	for i := range thousand {
		thousand[i] = int64(i + 1)
	}
	for _, tc := range []struct {
		name   string
		sorted []int64
		q      float64
		want   int64
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", []int64{7}, 50, 7},
		{"one sample p99.9", []int64{7}, 99.9, 7},
		{"two samples p50 is the lower", []int64{1, 2}, 50, 1},
		{"two samples p51 is the upper", []int64{1, 2}, 51, 2},
		{"p50 of 1..100", hundred, 50, 50},
		{"p90 of 1..100", hundred, 90, 90},
		{"p99 of 1..100", hundred, 99, 99},
		{"p99.9 of 1..100 is the max", hundred, 99.9, 100},
		{"p100 is the max", hundred, 100, 100},
		{"p99.9 of 1..1000", thousand, 99.9, 999},
		{"p0.1 of 1..1000", thousand, 0.1, 1},
		{"tiny q is the min", hundred, 0.0001, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.q); got != tc.want {
				t.Errorf("Percentile(%d samples, %v) = %d, want %d", len(tc.sorted), tc.q, got, tc.want)
			}
		})
	}
}

func TestPercentileOfDurations(t *testing.T) {
	if got := Percentile([]durationLike{1, 2, 3, 4}, 50); got != 2 {
		t.Errorf("p50 of 1..4 = %d, want 2", got)
	}
}

type durationLike int64

func TestTableAndFormats(t *testing.T) {
	var b strings.Builder
	tb := NewTable(&b, []string{"relay", "hub"})
	tb.Row("", func(p string) string { return p })
	tb.Row("p99", func(p string) string {
		if p == "hub" {
			return Duration(1234567*time.Nanosecond, "-")
		}
		return Duration(0, "-")
	})
	if err := tb.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "       relay     hub\n  p99      -  1.23ms\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
	if got := MiB(3 << 19); got != "1.5 MiB" {
		t.Errorf("MiB = %q", got)
	}
	if got := Duration(1500*time.Millisecond, "0"); got != "1.5s" {
		t.Errorf("Duration(1.5s) = %q", got)
	}
}
