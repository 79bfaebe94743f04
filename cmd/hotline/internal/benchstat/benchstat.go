// Package benchstat holds the statistics the load commands (hotline bench
// chat, hotline bench voice) compute the same way: nearest-rank
// percentiles of latency samples.
package benchstat

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
