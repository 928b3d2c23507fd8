package stats

import (
	"math/rand/v2"
	"sort"
)

// Pair is one repetition of two pipelines under the same load: each one's
// CPU and the items it carried. A repetition's two windows are seconds
// apart, so what the machine's drift does to one it does to the other.
type Pair struct {
	CPUA, ItemsA float64
	CPUB, ItemsB float64
}

// RatioOfTotals is A's CPU per item over B's, each summed over the pairs: the
// estimate that weighs every window by what it carried. Zero when B took no
// CPU or either carried nothing.
func RatioOfTotals(ps []Pair) float64 {
	var cpuA, itemsA, cpuB, itemsB float64
	for _, p := range ps {
		cpuA, itemsA = cpuA+p.CPUA, itemsA+p.ItemsA
		cpuB, itemsB = cpuB+p.CPUB, itemsB+p.ItemsB
	}
	if cpuB == 0 || itemsA == 0 || itemsB == 0 {
		return 0
	}
	return (cpuA / itemsA) / (cpuB / itemsB)
}

// bootstrapDraws is enough for the 2.5th and 97.5th percentiles to move by
// well under a per cent from one seed to another.
const bootstrapDraws = 10000

// BootstrapInterval is a percentile interval of RatioOfTotals at the given
// level (0.95: the middle 95 % of the draws): the pairs are drawn with
// replacement, whole, as many as there are, bootstrapDraws times. The seed
// is fixed so that a report rendered again from the same results gives the
// same interval. Fewer than two pairs give no interval (ok false).
func BootstrapInterval(ps []Pair, level float64) (lo, hi float64, ok bool) {
	if len(ps) < 2 || level <= 0 || level >= 1 {
		return 0, 0, false
	}
	r := rand.New(rand.NewPCG(1, 2))
	draws := make([]float64, 0, bootstrapDraws)
	sample := make([]Pair, len(ps))
	for range bootstrapDraws {
		for i := range sample {
			sample[i] = ps[r.IntN(len(ps))]
		}
		if v := RatioOfTotals(sample); v > 0 {
			draws = append(draws, v)
		}
	}
	if len(draws) == 0 {
		return 0, 0, false
	}
	sort.Float64s(draws)
	tail := (1 - level) / 2
	return draws[int(tail*float64(len(draws)-1))], draws[int((1-tail)*float64(len(draws)-1)+0.5)], true
}
