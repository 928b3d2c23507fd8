package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"strings"

	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/load"
	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/stats"
)

// Paired windows (-paired N): at the fixed rates, a round's window of one
// pipeline and the other pipelines' windows are minutes apart, and this
// machine's speed drifts over minutes: at 20k spans/s, where a collector
// idles most of the time, two rounds of one binary differ by a third. So
// the paired windows run every pipeline's collector at once (an idle one
// takes no measurable CPU) and alternate the load between them in short
// windows, the order rotating at each repetition: a repetition's windows
// are seconds apart, and its ratio compares like with like.

// PairedPhase is one fixed-rate load, every pipeline's windows in
// repetition order.
type PairedPhase struct {
	Name    string             `json:"name"`
	Windows map[string][]Phase `json:"windows"`
}

type pairedLoad struct {
	name    string
	method  string
	batches []load.Batch
	rate    float64
}

func runPaired(o options, sink string, traces, metrics []load.Batch) ([]PairedPhase, error) {
	var live []*liveCollector
	defer func() {
		for _, c := range live {
			c.stop()
		}
	}()
	for _, name := range o.pipelines {
		log.Printf("paired windows: starting %s", name)
		c, err := startCollector(o, name, sink, filepath.Join(o.out, "logs", "paired-"+name+".log"), traces, metrics)
		if err != nil {
			return nil, fmt.Errorf("paired windows: %s: %w", name, err)
		}
		live = append(live, c)
	}
	var loads []pairedLoad
	for _, r := range o.rates {
		loads = append(loads, pairedLoad{fmt.Sprintf("traces@%gk", r/1000), load.TracesMethod, traces, r})
	}
	for _, r := range o.metricRates {
		loads = append(loads, pairedLoad{fmt.Sprintf("metrics@%gk", r/1000), load.MetricsMethod, metrics, r})
	}
	ctx := context.Background()
	var out []PairedPhase
	for _, l := range loads {
		log.Printf("paired windows: %s, %d repetitions of %s", l.name, o.paired, o.pairedWindow)
		pp := PairedPhase{Name: l.name, Windows: map[string][]Phase{}}
		for rep := range o.paired {
			for i := range live {
				c := live[(i+rep)%len(live)]
				p := measure(c.pid, func() load.Result { return c.gen.Run(ctx, l.method, l.batches, l.rate, o.pairedWindow) })
				p.Name = l.name
				pp.Windows[c.name] = append(pp.Windows[c.name], p)
			}
		}
		out = append(out, pp)
	}
	for _, c := range live {
		if msg, ok := c.exitErr(); ok {
			return out, fmt.Errorf("paired windows: %s: %s", c.name, msg)
		}
	}
	return out, nil
}

// pairedRatios is a's CPU per million items over b's, repetition by
// repetition, and the repetitions as pairs for stats.RatioOfTotals (all of
// a's CPU over all of its items, against b's: the estimate that weighs
// every window by what it carried) and its bootstrap interval. A
// repetition in which either window carried nothing is left out.
func pairedRatios(pp PairedPhase, a, b string) (per []float64, pairs []stats.Pair) {
	wa, wb := pp.Windows[a], pp.Windows[b]
	for i := range min(len(wa), len(wb)) {
		if wa[i].Sent == 0 || wb[i].Sent == 0 || wb[i].CPUPerMillion == 0 {
			continue
		}
		per = append(per, wa[i].CPUPerMillion/wb[i].CPUPerMillion)
		pairs = append(pairs, stats.Pair{
			CPUA: wa[i].CPU.Seconds(), ItemsA: float64(wa[i].Sent),
			CPUB: wb[i].CPU.Seconds(), ItemsB: float64(wb[i].Sent),
		})
	}
	return per, pairs
}

// totalsSummary is the ratio of totals and its 95 % bootstrap interval.
func totalsSummary(pairs []stats.Pair) string {
	total := stats.RatioOfTotals(pairs)
	if lo, hi, ok := stats.BootstrapInterval(pairs, 0.95); ok {
		return fmt.Sprintf("%.3f× (%.3f–%.3f)", total, lo, hi)
	}
	return fmt.Sprintf("%.3f×", total)
}

func pairedReport(o options, res *Run, cols [][2]string) string {
	if len(res.Paired) == 0 {
		return ""
	}
	var b strings.Builder
	reps := 0
	for _, ws := range res.Paired[0].Windows {
		reps = max(reps, len(ws))
	}
	fmt.Fprintf(&b, "\n### Paired windows\n\nEvery pipeline's collector up at once, the load alternating between them in windows of %s, the order rotating; %d repetitions. CPU s per million items, median (min–max) over the windows; the totals are all of a pipeline's CPU over all its items, with the 95 %% bootstrap interval of that ratio (repetitions drawn with replacement).\n\n| load |",
		res.Options["paired_window"], reps)
	for _, p := range o.pipelines {
		fmt.Fprintf(&b, " %s |", p)
	}
	for _, c := range cols {
		fmt.Fprintf(&b, " %s / %s, by repetition | totals (95 %% interval) |", c[0], c[1])
	}
	b.WriteString("\n|---|")
	for range o.pipelines {
		b.WriteString("---|")
	}
	for range cols {
		b.WriteString("---|---|")
	}
	b.WriteString("\n")
	for _, pp := range res.Paired {
		fmt.Fprintf(&b, "| %s |", pp.Name)
		for _, p := range o.pipelines {
			var xs []float64
			for _, w := range pp.Windows[p] {
				if w.Sent > 0 {
					xs = append(xs, w.CPUPerMillion)
				}
			}
			fmt.Fprintf(&b, " %s |", summary(stats.Of(xs), "s"))
		}
		for _, c := range cols {
			per, pairs := pairedRatios(pp, c[0], c[1])
			if len(per) == 0 {
				b.WriteString(" – | – |")
				continue
			}
			fmt.Fprintf(&b, " %s | %s |", ratioSummary(stats.Of(per)), totalsSummary(pairs))
		}
		b.WriteString("\n")
	}
	return b.String()
}
