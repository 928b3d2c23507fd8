// Package stats summarises the rounds of a benchmark: min, median, max.
package stats

import "sort"

// Summary is min, median and max of a set of measurements.
type Summary struct {
	Min, Median, Max float64
	N                int
}

// Of summarises xs; the zero Summary when xs is empty.
func Of(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Summary{Min: s[0], Median: med, Max: s[n-1], N: n}
}
