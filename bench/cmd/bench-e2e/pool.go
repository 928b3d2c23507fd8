package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/stats"
)

// runPool is `bench-e2e pool`: one ratio of totals, with its bootstrap
// interval, over the windows of several runs. A run's handful of rounds
// pins a ratio at 20k items/s down to ±10 % or so; the rounds of several
// runs of the same builds, pooled, tell whether those runs disagree.
//
//	bench-e2e pool -loads traces@20k,traces@20.001k results/run39 results/run42
//	bench-e2e pool -from paired results/run45:gateway-prev results/run46
//
// A run's directory may name, after a colon, the pipeline that stands for
// -a in that run (one build run as gateway-prev there and as gateway in
// another).
func runPool(args []string) {
	fs := flag.NewFlagSet("pool", flag.ExitOnError)
	a := fs.String("a", "gateway", "the pipeline whose CPU is the numerator (dir:pipeline names another for one run)")
	b := fs.String("b", "floor", "the pipeline whose CPU is the denominator")
	loads := fs.String("loads", "traces@20k", "load windows to pool, by name (traces@20k, metrics@100k, traces@max…)")
	from := fs.String("from", "rounds", "rounds or paired: which windows of each run")
	_ = fs.Parse(args)
	if fs.NArg() == 0 || (*from != "rounds" && *from != "paired") {
		log.Fatal("usage: bench-e2e pool [-a gateway] [-b floor] [-loads traces@20k,…] [-from rounds|paired] results-dir…")
	}
	names := strings.Split(*loads, ",")
	var pairs []stats.Pair
	for _, arg := range fs.Args() {
		dir, numerator := runArg(arg, *a)
		raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
		if err != nil {
			log.Fatal(err)
		}
		var res Run
		if err := json.Unmarshal(raw, &res); err != nil {
			log.Fatalf("%s: %v", filepath.Join(dir, "results.json"), err)
		}
		ps := poolPairs(&res, numerator, *b, names, *from == "paired")
		fmt.Printf("%s: %s / %s, %d pairs of windows, %s\n", dir, numerator, *b, len(ps), totalsSummary(ps))
		pairs = append(pairs, ps...)
	}
	if len(pairs) == 0 {
		log.Fatalf("no window of %s holds both %s and %s", *loads, *a, *b)
	}
	fmt.Printf("pooled, %s / %s, %s (%s): %d pairs of windows, %s\n", *a, *b, *loads, *from, len(pairs), totalsSummary(pairs))
}

// runArg splits "dir:pipeline" into the run's directory and the pipeline
// that stands for the numerator there; a bare directory keeps def.
func runArg(arg, def string) (dir, pipeline string) {
	if d, name, ok := strings.Cut(arg, ":"); ok && name != "" {
		return d, name
	}
	return strings.TrimSuffix(arg, ":"), def
}

// poolPairs is a run's pairs of windows of the named loads: its rounds',
// or its paired windows' repetitions.
func poolPairs(res *Run, a, b string, names []string, paired bool) []stats.Pair {
	var out []stats.Pair
	for _, n := range names {
		if paired {
			for _, pp := range res.Paired {
				if pp.Name == n {
					_, ps := pairedRatios(pp, a, b)
					out = append(out, ps...)
				}
			}
			continue
		}
		list := tracesOf
		if strings.HasPrefix(n, "metrics@") {
			list = metricsOf
		}
		out = append(out, roundPairs(res, a, b, list, n)...)
	}
	return out
}
