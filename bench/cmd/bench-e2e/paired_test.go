package main

import (
	"strings"
	"testing"
	"time"

	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/stats"
)

func window(cpu time.Duration, sent int64) Phase {
	return Phase{Name: "traces@20k", Offered: 20000, Sent: sent, CPU: cpu, CPUPerMillion: cpu.Seconds() / (float64(sent) / 1e6)}
}

func TestPairedRatiosPairRepetitionsAndWeighTotalsByItems(t *testing.T) {
	pp := PairedPhase{Name: "traces@20k", Windows: map[string][]Phase{
		"floor":   {window(100*time.Millisecond, 100000), window(200*time.Millisecond, 100000), window(100*time.Millisecond, 300000)},
		"gateway": {window(110*time.Millisecond, 100000), window(180*time.Millisecond, 100000), window(150*time.Millisecond, 300000)},
	}}
	per, pairs := pairedRatios(pp, "gateway", "floor")
	total := stats.RatioOfTotals(pairs)
	want := []float64{1.1, 0.9, 1.5}
	if len(per) != len(want) {
		t.Fatalf("per repetition: got %v, want %v", per, want)
	}
	for i := range want {
		if d := per[i] - want[i]; d > 1e-9 || d < -1e-9 {
			t.Errorf("repetition %d: got %.4f, want %.4f", i, per[i], want[i])
		}
	}
	// (0.44 s / 500k) / (0.40 s / 500k): not the mean of the ratios (1.167)
	if d := total - 1.1; d > 1e-9 || d < -1e-9 {
		t.Errorf("totals: got %.4f, want 1.1", total)
	}
}

func TestPairedRatiosSkipAWindowThatCarriedNothing(t *testing.T) {
	pp := PairedPhase{Windows: map[string][]Phase{
		"floor":   {window(100*time.Millisecond, 100000), {Name: "traces@20k"}},
		"gateway": {window(120*time.Millisecond, 100000), window(90*time.Millisecond, 100000)},
	}}
	per, pairs := pairedRatios(pp, "gateway", "floor")
	total := stats.RatioOfTotals(pairs)
	if len(per) != 1 || total < 1.199 || total > 1.201 {
		t.Errorf("got %v and %.3f, want one ratio and totals 1.2", per, total)
	}
}

func TestReportOfPairedWindowsAlone(t *testing.T) {
	o := options{pipelines: []string{"floor", "gateway"}, rates: []float64{20000}, metricRates: []float64{20000}}
	run := &Run{
		Options: map[string]any{"paired_window": "6s"},
		Paired: []PairedPhase{{Name: "traces@20k", Windows: map[string][]Phase{
			"floor":   {window(100*time.Millisecond, 100000), window(200*time.Millisecond, 100000)},
			"gateway": {window(110*time.Millisecond, 100000), window(180*time.Millisecond, 100000)},
		}}},
	}
	md := report(o, run)
	lines := strings.Split(md, "\n")
	wantRows(t, lines,
		"| load | floor | gateway | gateway / floor, by repetition | totals (95 % interval) |",
		// two repetitions: the draws are both the first (1.1), both the
		// second (0.9) or one of each (0.967)
		"| traces@20k | 1.500 (1.000–2.000) | 1.450 (1.100–1.800) | 1.00× (0.90–1.10) | 0.967× (0.900–1.100) |",
	)
	if strings.Contains(md, "Median (min–max) over rounds") {
		t.Errorf("a run without rounds has no rounds table:\n%s", md)
	}
}

func TestEmptyRateListsMeanNoWindowsAndWarmUpAt20k(t *testing.T) {
	got, err := floats(" ")
	if err != nil || got != nil {
		t.Fatalf(`floats(" ") = %v, %v; want no rates`, got, err)
	}
	got, err = floats("20000, 100000")
	if err != nil || len(got) != 2 || got[1] != 100000 {
		t.Fatalf(`floats("20000, 100000") = %v, %v`, got, err)
	}
	if _, err := floats("20000,"); err == nil {
		t.Fatal(`floats("20000,"): no error for the empty item`)
	}
	if r := warmUpRate(nil); r != 20000 {
		t.Fatalf("warmUpRate(nil) = %v, want 20000", r)
	}
	if r := warmUpRate([]float64{5000, 100000}); r != 5000 {
		t.Fatalf("warmUpRate = %v, want the first rate", r)
	}
}

func TestPoolTakesTheNamedWindowsOfRoundsOrOfPairedWindows(t *testing.T) {
	round := map[string]*Round{
		"floor":   {Traces: []Phase{window(100*time.Millisecond, 100000), {Name: "traces@max", Sent: 1, CPU: time.Second}}, Metrics: []Phase{{Name: "metrics@20k", Sent: 100000, CPU: 50 * time.Millisecond}}},
		"gateway": {Traces: []Phase{window(120*time.Millisecond, 100000), {Name: "traces@max", Sent: 1, CPU: time.Second}}, Metrics: []Phase{{Name: "metrics@20k", Sent: 100000, CPU: 40 * time.Millisecond}}},
	}
	res := &Run{
		Rounds: []map[string]*Round{round, round},
		Paired: []PairedPhase{{Name: "traces@20k", Windows: map[string][]Phase{
			"floor":   {window(100*time.Millisecond, 100000)},
			"gateway": {window(90*time.Millisecond, 100000)},
		}}},
	}
	rounds := poolPairs(res, "gateway", "floor", []string{"traces@20k", "metrics@20k"}, false)
	if len(rounds) != 4 {
		t.Fatalf("rounds: %d pairs, want two rounds of two loads", len(rounds))
	}
	// (2×0.12 + 2×0.04) s over (2×0.10 + 2×0.05) s, equal items
	if got := stats.RatioOfTotals(rounds); got < 1.0666 || got > 1.0667 {
		t.Errorf("rounds: ratio of totals %.4f, want 1.0667", got)
	}
	paired := poolPairs(res, "gateway", "floor", []string{"traces@20k"}, true)
	if len(paired) != 1 || stats.RatioOfTotals(paired) != 0.9 {
		t.Errorf("paired: %v, want the one repetition at 0.9", paired)
	}
}

func TestPoolRunArgumentsNameTheirPipelineAfterAColon(t *testing.T) {
	for _, c := range []struct{ arg, dir, pipeline string }{
		{"results/run46", "results/run46", "gateway"},
		{"results/run45:gateway-prev", "results/run45", "gateway-prev"},
		{"results/run45:", "results/run45", "gateway"},
	} {
		dir, pipeline := runArg(c.arg, "gateway")
		if dir != c.dir || pipeline != c.pipeline {
			t.Errorf("runArg(%q) = %q, %q; want %q, %q", c.arg, dir, pipeline, c.dir, c.pipeline)
		}
	}
}
