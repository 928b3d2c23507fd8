package stats

import "testing"

func TestRatioOfTotalsWeighsEveryWindowByWhatItCarried(t *testing.T) {
	ps := []Pair{
		{CPUA: 1, ItemsA: 1, CPUB: 1, ItemsB: 1},
		{CPUA: 9, ItemsA: 3, CPUB: 1, ItemsB: 1},
	}
	// A: 10 s over 4 items, B: 2 s over 2 items. The mean of the two
	// repetitions' ratios would be 2.
	if got := RatioOfTotals(ps); got != 2.5 {
		t.Fatalf("RatioOfTotals = %v, want 2.5", got)
	}
	if got := RatioOfTotals([]Pair{{CPUA: 1, ItemsA: 1, ItemsB: 1}}); got != 0 {
		t.Fatalf("B without CPU: RatioOfTotals = %v, want 0", got)
	}
}

func TestBootstrapIntervalHoldsTheEstimateAndNarrowsWithRepetitions(t *testing.T) {
	// Repetitions whose ratios are 0.8 and 1.2 in turn: the ratio of totals
	// is 1, and the interval lies within the two.
	var few, many []Pair
	for i := range 64 {
		p := Pair{CPUA: 0.8, ItemsA: 1, CPUB: 1, ItemsB: 1}
		if i%2 == 1 {
			p.CPUA = 1.2
		}
		if i < 8 {
			few = append(few, p)
		}
		many = append(many, p)
	}
	lo8, hi8, ok := BootstrapInterval(few, 0.95)
	if !ok {
		t.Fatal("no interval for 8 repetitions")
	}
	lo64, hi64, _ := BootstrapInterval(many, 0.95)
	for _, iv := range [][2]float64{{lo8, hi8}, {lo64, hi64}} {
		if !(0.8 < iv[0] && iv[0] < 1 && 1 < iv[1] && iv[1] < 1.2) {
			t.Fatalf("interval %.3f–%.3f: want 0.8 < lo < 1 < hi < 1.2", iv[0], iv[1])
		}
	}
	// The interval's width goes as one over the square root of the
	// repetitions: eight times as many, under half as wide.
	if w8, w64 := hi8-lo8, hi64-lo64; w64 > w8/2 {
		t.Fatalf("width %.3f with 64 repetitions, %.3f with 8: want under half", w64, w8)
	}
	if lo, hi, _ := BootstrapInterval(many, 0.95); lo != lo64 || hi != hi64 {
		t.Fatalf("a second call gave %v–%v, the first %v–%v: the draws must repeat", lo, hi, lo64, hi64)
	}
}

func TestBootstrapIntervalOfEqualRepetitionsIsTheirRatio(t *testing.T) {
	ps := []Pair{{CPUA: 3, ItemsA: 2, CPUB: 1, ItemsB: 1}, {CPUA: 3, ItemsA: 2, CPUB: 1, ItemsB: 1}, {CPUA: 3, ItemsA: 2, CPUB: 1, ItemsB: 1}}
	lo, hi, ok := BootstrapInterval(ps, 0.95)
	if !ok || lo != 1.5 || hi != 1.5 {
		t.Fatalf("interval %v–%v (ok %v), want 1.5–1.5", lo, hi, ok)
	}
}

func TestBootstrapIntervalNeedsTwoRepetitions(t *testing.T) {
	if _, _, ok := BootstrapInterval([]Pair{{CPUA: 1, ItemsA: 1, CPUB: 1, ItemsB: 1}}, 0.95); ok {
		t.Fatal("an interval from one repetition")
	}
	if _, _, ok := BootstrapInterval(nil, 0.95); ok {
		t.Fatal("an interval from none")
	}
}
