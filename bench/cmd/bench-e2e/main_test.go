package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRerenderReadsTheRecordedPipelinesAndRates(t *testing.T) {
	dir := t.TempDir()
	run := Run{
		Options: map[string]any{"pipelines": []string{"floor", "gateway"}, "rates": []float64{20000}, "metric_rates": []float64{50000},
			"duration": "10s", "ramp_step": "2s", "gomaxprocs": 1, "concurrency": 8},
		Rounds: []map[string]*Round{{
			"floor":   {PeakRSSFile: 25 * mebi, Traces: []Phase{{Name: "traces@20k", Offered: 20000, Sent: 1e6, CPUPerMillion: 2}}},
			"gateway": {PeakRSSFile: 11 * mebi, Traces: []Phase{{Name: "traces@20k", Offered: 20000, Sent: 1e6, CPUPerMillion: 3}}},
		}},
	}
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// the flags' own pipelines, rates and windows are not the run's
	if err := rerenderResults(options{out: dir, pipelines: []string{"stock"}, rates: []float64{1}, duration: 3 * time.Second, gomaxprocs: 2}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(md), "\n")
	wantRows(t, lines,
		"| CPU s / M spans @20k | 2.000 (2.000–2.000) | 3.000 (3.000–3.000) |",
		"| peak file pages over load (MiB), difference | -14.0 (-14.0–-14.0) |",
	)
	if !strings.Contains(string(md), "Collectors at GOMAXPROCS=1; 1 rounds, order rotating; windows of 10s (ramp steps 2s); 8 export requests in flight") {
		t.Errorf("the header does not tell the run's own settings:\n%s", md)
	}
	if !strings.Contains(string(md), "CPU s / M points @50k") {
		t.Errorf("no row for the recorded metric rate in\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(dir, "cpu-per-span.png")); err != nil {
		t.Errorf("chart: %v", err)
	}
}

func TestRerenderRefusesAResultWithoutPipelines(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte(`{"options": {}, "rounds": []}`), 0o644); err != nil {
		t.Fatal(err)
	}
	err := rerenderResults(options{out: dir})
	if err == nil || !strings.Contains(err.Error(), "options.pipelines is empty") {
		t.Fatalf("got %v, want options.pipelines is empty", err)
	}
}
