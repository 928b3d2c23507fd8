package main

import (
	"strings"
	"testing"
	"time"
)

func window(cpu time.Duration, sent int64) Phase {
	return Phase{Name: "traces@20k", Offered: 20000, Sent: sent, CPU: cpu, CPUPerMillion: cpu.Seconds() / (float64(sent) / 1e6)}
}

func TestPairedRatiosPairRepetitionsAndWeighTotalsByItems(t *testing.T) {
	pp := PairedPhase{Name: "traces@20k", Windows: map[string][]Phase{
		"floor":   {window(100*time.Millisecond, 100000), window(200*time.Millisecond, 100000), window(100*time.Millisecond, 300000)},
		"gateway": {window(110*time.Millisecond, 100000), window(180*time.Millisecond, 100000), window(150*time.Millisecond, 300000)},
	}}
	per, total := pairedRatios(pp, "gateway", "floor")
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
	per, total := pairedRatios(pp, "gateway", "floor")
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
		"| load | floor | gateway | gateway / floor, by repetition | totals |",
		"| traces@20k | 1.500 (1.000–2.000) | 1.450 (1.100–1.800) | 1.00× (0.90–1.10) | 0.967× |",
	)
	if strings.Contains(md, "Median (min–max) over rounds") {
		t.Errorf("a run without rounds has no rounds table:\n%s", md)
	}
}
