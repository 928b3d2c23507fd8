package main

import (
	"strings"
	"testing"
	"time"
)

// Four gctrace lines as go1.26 writes them, after a collector's own log line.
const gcLog = `2026-12-04T03:35:33.159Z	info	service@v0.152.0/service.go:222	Starting otelcol-gateway...
gc 1 @0.046s 1%: 0.021+1.5+0.004 ms clock, 0.021+0.30/0.45/0.10+0.004 ms cpu, 3->4->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 1 P
gc 2 @2.500s 6%: 0.050+8.4+0.006 ms clock, 0.050+0.45/1.8/0+0.006 ms cpu, 8->10->5 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 1 P
gc 3 @2.750s 6%: 0.048+4.0+0.005 ms clock, 0.048+0.71/1.2/0+0.005 ms cpu, 8->8->4 MB, 9 MB goal, 0 MB stacks, 0 MB globals, 1 P (forced)
gc 4 @9.000s 5%: 0.058+54+0.006 ms clock, 0.058+1.6/15/0+0.006 ms cpu, 50->58->31 MB, 59 MB goal, 0 MB stacks, 0 MB globals, 1 P
`

func TestParseGCTraceSumsTheFiveCPUFields(t *testing.T) {
	got := parseGCTrace(strings.NewReader(gcLog))
	if len(got) != 4 {
		t.Fatalf("%d cycles, want 4: %+v", len(got), got)
	}
	// 0.021 + 0.30 + 0.45 + 0.10 + 0.004 ms
	if want := 875 * time.Microsecond; got[0].cpu != want || got[0].at != 46*time.Millisecond {
		t.Errorf("cycle 1: %+v, want cpu %v at 46ms", got[0], want)
	}
	if want := 16664 * time.Microsecond; got[3].cpu != want || got[3].at != 9*time.Second {
		t.Errorf("cycle 4: %+v, want cpu %v at 9s", got[3], want)
	}
}

func TestAttributeGCCountsTheCyclesOfEachWindowAndItsDrain(t *testing.T) {
	traces := []Phase{
		{Name: "traces@20k", Sent: 1_000_000, CPU: 2 * time.Second, from: 2 * time.Second, to: 2750 * time.Millisecond},
		{Name: "traces@max", Sent: 2_000_000, CPU: 4 * time.Second, from: 2750 * time.Millisecond, to: 8 * time.Second},
	}
	attributeGC(parseGCTrace(strings.NewReader(gcLog)), traces)
	// gc 2 falls in the first window; gc 3 starts where the second begins;
	// gc 1 (start-up) and gc 4 (after every window) count nowhere
	if p := traces[0]; p.GCCycles != 1 || p.GCCPU != 2306*time.Microsecond || !p.GCTraced {
		t.Errorf("first window: %d cycles, %v", p.GCCycles, p.GCCPU)
	}
	if p := traces[1]; p.GCCycles != 1 || p.GCCPU != 1963*time.Microsecond {
		t.Errorf("second window: %d cycles, %v", p.GCCycles, p.GCCPU)
	}
	if got, want := traces[1].GCPerMillion, 0.001963/2; got < want*0.999 || got > want*1.001 {
		t.Errorf("GC s per million: %v, want %v", got, want)
	}
}

func TestReportShowsGCRowsOnlyForAGCTraceRun(t *testing.T) {
	round := func(gcMs, cpuMs int) *Round {
		return &Round{Traces: []Phase{{Name: "traces@max", Sent: 1_000_000, CPU: time.Duration(cpuMs) * time.Millisecond,
			GCTraced: true, GCCycles: 10, GCCPU: time.Duration(gcMs) * time.Millisecond, GCPerMillion: float64(gcMs) / 1000}}}
	}
	res := &Run{Rounds: []map[string]*Round{{"floor": round(500, 5000), "gateway": round(750, 6000)}}}
	o := options{pipelines: []string{"floor", "gateway"}, rates: []float64{20000}, metricRates: []float64{20000}}
	if r := report(o, res); strings.Contains(r, "GC CPU") {
		t.Errorf("GC rows in a run without -gctrace:\n%s", r)
	}
	o.gctrace = true
	lines := strings.Split(report(o, res), "\n")
	wantRows(t, lines,
		"| GC CPU s / M spans unthrottled | 0.500 (0.500–0.500) | 0.750 (0.750–0.750) |",
		"| GC share of CPU, spans unthrottled (%) | 10.0 (10.0–10.0) | 12.5 (12.5–12.5) |",
		"| GC CPU s / M spans @20k | – | – |",
		"| GC CPU s / M spans unthrottled | 1.50× (1.50–1.50) |",
	)
}

func TestParseGCTraceSkipsALineItCannotRead(t *testing.T) {
	log := "gc 5 @1.2.3s 1%: 0.1+1+0.1 ms clock, 0.1+0.2/0.3/0+0.1 ms cpu, 1->1->1 MB, 4 MB goal, 1 P\n" +
		"gc 6 @2.000s 1%: 0.1+1+0.1 ms clock, 0.1+0.2/0.3/0+0.1 ms cpu, 1->1->1 MB, 4 MB goal, 1 P\n"
	got := parseGCTrace(strings.NewReader(log))
	if len(got) != 1 || got[0].at != 2*time.Second || got[0].cpu != 700*time.Microsecond {
		t.Errorf("got %+v, want only gc 6 (0.7 ms at 2s)", got)
	}
}
