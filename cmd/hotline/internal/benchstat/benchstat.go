// Package benchstat holds what the load commands (hotline bench chat,
// hotline bench voice) compute and print the same way: nearest-rank
// percentiles of latency samples, and the report's table and JSON.
package benchstat

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Percentile returns the q-th percentile (0 < q ≤ 100) of sorted by the
// nearest-rank method: the smallest sample at least q% of the samples are
// less than or equal to. It returns 0 for no samples.
func Percentile[T ~int64](sorted []T, q float64) T {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// Nearest rank: ceil(q/100 × n), computed in integers on a 1e6 scale so
	// that 99.9% of 1000 is exactly rank 999.
	rank := (int64(q*1e4+0.5)*int64(n) + 1e6 - 1) / 1e6
	return sorted[max(0, min(rank-1, int64(n-1)))]
}

// Duration prints d for a report table: to the millisecond from 100 ms,
// to 10 µs from 1 ms, to the microsecond below; zero as zero.
func Duration(d time.Duration, zero string) string {
	switch {
	case d == 0:
		return zero
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// MiB prints a byte count in mebibytes.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// WriteJSON writes report as indented JSON; who names the command in an
// error.
func WriteJSON(w io.Writer, report any, who string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		return fmt.Errorf("%s: encode report: %w", who, err)
	}
	return nil
}

// Table is a report's text table: a row per figure, a column per phase.
type Table[P any] struct {
	tw     *tabwriter.Writer
	phases []P
}

// NewTable starts a table of phases written to w (right-aligned columns).
func NewTable[P any](w io.Writer, phases []P) *Table[P] {
	return &Table[P]{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight), phases: phases}
}

// Row adds the row name, with f's value for each phase.
func (t *Table[P]) Row(name string, f func(p P) string) {
	fmt.Fprintf(t.tw, "%s\t", name)
	for _, p := range t.phases {
		fmt.Fprintf(t.tw, "%s\t", f(p))
	}
	fmt.Fprintln(t.tw)
}

// Flush writes the table out.
func (t *Table[P]) Flush() error { return t.tw.Flush() }

// Progress writes one progress line to w, stamped with the time of day;
// nothing when w is nil.
func Progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}
