package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const mebi = 1 << 20

// reportOf renders a two-pipeline run: round 1 with the RSS split, round 2
// decoded from a results.json written before the split existed.
func reportOf(t *testing.T) []string {
	t.Helper()
	o := options{pipelines: []string{"floor", "gateway"}, rates: []float64{20000}, metricRates: []float64{20000}}
	split := map[string]*Round{
		"floor": {StartupRSS: 30 * mebi, PeakRSS: 40 * mebi,
			StartupRSSAnon: 8 * mebi, StartupRSSFile: 22 * mebi, PeakRSSAnon: 12 * mebi, PeakRSSFile: 23 * mebi},
		"gateway": {StartupRSS: 94 * mebi, PeakRSS: 110 * mebi,
			StartupRSSAnon: 16.5 * mebi, StartupRSSFile: 77.5 * mebi, PeakRSSAnon: 30 * mebi, PeakRSSFile: 78 * mebi},
	}
	var old map[string]*Round
	if err := json.Unmarshal([]byte(`{
		"floor":   {"order": 0, "rss_after_startup_bytes": 31457280, "peak_rss_load_bytes": 44040192},
		"gateway": {"order": 1, "rss_after_startup_bytes": 98566144, "peak_rss_load_bytes": 117440512}
	}`), &old); err != nil {
		t.Fatal(err)
	}
	return strings.Split(report(o, &Run{Rounds: []map[string]*Round{split, old}}), "\n")
}

func TestReportSplitsRSSIntoAnonymousAndFilePages(t *testing.T) {
	lines := reportOf(t)
	// the existing rows are unchanged and count both rounds
	want := []string{
		"| peak RSS over load (MiB) | 41.0 (40.0–42.0) | 111.0 (110.0–112.0) |",
		"| RSS after start-up (MiB) | 30.0 (30.0–30.0) | 94.0 (94.0–94.0) |",
		// the new rows follow them and count only the round that has the split
		"| peak anonymous RSS over load (MiB) | 12.0 (12.0–12.0) | 30.0 (30.0–30.0) |",
		"| anonymous RSS after start-up (MiB) | 8.0 (8.0–8.0) | 16.5 (16.5–16.5) |",
		"| executable and other file pages resident after start-up (MiB) | 22.0 (22.0–22.0) | 77.5 (77.5–77.5) |",
	}
	i := index(lines, want[0])
	if i < 0 || i+len(want) > len(lines) {
		t.Fatalf("no row %q in\n%s", want[0], strings.Join(lines, "\n"))
	}
	for j, w := range want {
		if lines[i+j] != w {
			t.Errorf("row %d after %q:\n got %q\nwant %q", j, want[0], lines[i+j], w)
		}
	}
}

func TestReportGivesTheAnonymousPeakAsADifference(t *testing.T) {
	lines := reportOf(t)
	wantRows(t, lines,
		"| peak RSS over load (MiB), difference | 70.0 (70.0–70.0) |",
		"| peak anonymous RSS over load (MiB), difference | 18.0 (18.0–18.0) |",
	)
	// the start-up rows are neither ratios nor differences
	for _, l := range lines {
		if strings.HasPrefix(l, "| anonymous RSS after start-up (MiB),") || strings.HasPrefix(l, "| executable and other file pages resident after start-up (MiB),") {
			t.Errorf("unexpected row %q", l)
		}
	}
}

func TestReportRendersResultsFromBeforeTheSplit(t *testing.T) {
	o := options{pipelines: []string{"floor", "gateway"}, rates: []float64{20000}, metricRates: []float64{20000}}
	var old Run
	if err := json.Unmarshal([]byte(`{"rounds": [{
		"floor":   {"rss_after_startup_bytes": 31457280, "peak_rss_load_bytes": 44040192},
		"gateway": {"rss_after_startup_bytes": 98566144, "peak_rss_load_bytes": 117440512}
	}]}`), &old); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(report(o, &old), "\n")
	wantRows(t, lines,
		"| peak RSS over load (MiB) | 42.0 (42.0–42.0) | 112.0 (112.0–112.0) |",
		"| peak anonymous RSS over load (MiB) | – | – |",
		"| anonymous RSS after start-up (MiB) | – | – |",
		"| executable and other file pages resident after start-up (MiB) | – | – |",
		"| peak anonymous RSS over load (MiB), difference | – |",
	)
}

// wantRows fails for each row that is not a line of the report.
func wantRows(t *testing.T, lines []string, rows ...string) {
	t.Helper()
	for _, w := range rows {
		if index(lines, w) < 0 {
			t.Errorf("no row %q in\n%s", w, strings.Join(lines, "\n"))
		}
	}
}

func index(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}

func TestReportGivesThePeakAtFixedSpanRatesAndOfFilePages(t *testing.T) {
	o := options{pipelines: []string{"floor", "gateway"}, rates: []float64{20000}, metricRates: []float64{20000}}
	round := func(fixedTraces, unthrottled, fixedMetrics, file uint64) *Round {
		return &Round{PeakRSS: unthrottled * mebi, PeakRSSFile: file * mebi,
			Traces: []Phase{
				{Name: "traces@20k", Offered: 20000, PeakRSS: fixedTraces * mebi},
				{Name: "traces@max", PeakRSS: unthrottled * mebi},
			},
			Metrics: []Phase{
				{Name: "metrics@20k", Offered: 20000, PeakRSS: fixedMetrics * mebi},
				{Name: "metrics@max", PeakRSS: unthrottled * mebi},
			},
			Ramp: []Phase{{Name: "ramp@50%", Offered: 1, PeakRSS: 999 * mebi}},
		}
	}
	run := &Run{Rounds: []map[string]*Round{{
		"floor":   round(40, 42, 41, 25),
		"gateway": round(45, 120, 50, 11),
	}}}
	lines := strings.Split(report(o, run), "\n")
	wantRows(t, lines,
		// the fixed-rate trace windows only: not the unthrottled windows, not the ramp, not the metric windows after them
		"| peak RSS at the fixed span rates (MiB) | 40.0 (40.0–40.0) | 45.0 (45.0–45.0) |",
		"| peak RSS at the fixed span rates (MiB), difference | 5.0 (5.0–5.0) |",
		"| peak file pages over load (MiB), difference | -14.0 (-14.0–-14.0) |",
	)
}

func TestReportGivesRoundTotalsWithTheirInterval(t *testing.T) {
	o := options{pipelines: []string{"floor", "gateway"}, rates: []float64{20000}, metricRates: []float64{20000}}
	round := func(floorCPU, gatewayCPU time.Duration) map[string]*Round {
		return map[string]*Round{
			"floor":   {Traces: []Phase{window(floorCPU, 200000)}},
			"gateway": {Traces: []Phase{window(gatewayCPU, 200000)}},
		}
	}
	// the gateway at 1.2× in one round, 1.0× in two, and a round whose
	// gateway failed, which counts for neither
	failed := round(time.Second, 9*time.Second)
	failed["gateway"].Err = "collector exited"
	run := &Run{Rounds: []map[string]*Round{
		round(500*time.Millisecond, 600*time.Millisecond),
		round(500*time.Millisecond, 500*time.Millisecond),
		round(1000*time.Millisecond, 1000*time.Millisecond),
		failed,
	}}
	lines := strings.Split(report(o, run), "\n")
	wantRows(t, lines,
		"| load | gateway / floor |",
		// 2.1 s over 2.0 s: the dear round weighs by its CPU, not a third;
		// the draws run from three cheap rounds (1.0) to three dear (1.2)
		"| traces@20k | 1.050× (1.000–1.200) |",
		"| traces@max | – |",
	)
}
