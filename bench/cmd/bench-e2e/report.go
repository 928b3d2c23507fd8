package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/chart"
	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/stats"
)

// metric is one number read from a pipeline's round.
type metric struct {
	name  string
	unit  string
	read  func(rd *Round) (float64, bool)
	ratio bool // reported as a ratio to the floor and to stock
	diff  bool // reported as a difference (MiB) to the floor
}

func phase(ps []Phase, name string) (Phase, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Phase{}, false
}

func cpuAt(list func(*Round) []Phase, name string) func(*Round) (float64, bool) {
	return func(rd *Round) (float64, bool) {
		p, ok := phase(list(rd), name)
		return p.CPUPerMillion, ok && p.Sent > 0
	}
}

func rateAt(list func(*Round) []Phase, name string) func(*Round) (float64, bool) {
	return func(rd *Round) (float64, bool) {
		p, ok := phase(list(rd), name)
		return p.Rate, ok
	}
}

// mib reads a byte count in MiB; zero is no measurement (a result file from
// before the field existed, or a kernel without it).
func mib(bytes func(*Round) uint64) func(*Round) (float64, bool) {
	return func(rd *Round) (float64, bool) {
		b := bytes(rd)
		return float64(b) / (1 << 20), b > 0
	}
}

// peakAtFixedRates is the highest RSS over the fixed-rate trace windows,
// which come first in a round. The metric windows are left out: they come
// after the unthrottled trace window, and an exporting pipeline may still
// hold that window's queue.
func peakAtFixedRates(rd *Round) uint64 {
	var peak uint64
	for _, p := range rd.Traces {
		if p.Offered > 0 {
			peak = max(peak, p.PeakRSS)
		}
	}
	return peak
}

func tracesOf(rd *Round) []Phase  { return rd.Traces }
func metricsOf(rd *Round) []Phase { return rd.Metrics }

func metrics(o options) []metric {
	var ms []metric
	for _, r := range o.rates {
		n := fmt.Sprintf("traces@%gk", r/1000)
		ms = append(ms,
			metric{name: "CPU s / M spans @" + fmt.Sprintf("%gk", r/1000), unit: "s", read: cpuAt(tracesOf, n), ratio: true},
			metric{name: "spans/s accepted @" + fmt.Sprintf("%gk", r/1000), unit: "/s", read: rateAt(tracesOf, n)})
	}
	ms = append(ms,
		metric{name: "CPU s / M spans unthrottled", unit: "s", read: cpuAt(tracesOf, "traces@max"), ratio: true},
		metric{name: "max spans/s unthrottled", unit: "/s", read: rateAt(tracesOf, "traces@max"), ratio: true},
		metric{name: "spans/s sustained, zero refused (ramp)", unit: "/s", read: func(rd *Round) (float64, bool) { return rd.Sustained, rd.Err == "" }, ratio: true},
	)
	for _, r := range o.metricRates {
		n := fmt.Sprintf("metrics@%gk", r/1000)
		ms = append(ms,
			metric{name: "CPU s / M points @" + fmt.Sprintf("%gk", r/1000), unit: "s", read: cpuAt(metricsOf, n), ratio: true},
			metric{name: "points/s accepted @" + fmt.Sprintf("%gk", r/1000), unit: "/s", read: rateAt(metricsOf, n)})
	}
	ms = append(ms,
		metric{name: "CPU s / M points unthrottled", unit: "s", read: cpuAt(metricsOf, "metrics@max"), ratio: true},
		metric{name: "max points/s unthrottled", unit: "/s", read: rateAt(metricsOf, "metrics@max"), ratio: true},
		metric{name: "peak RSS over load (MiB)", unit: "MiB", read: func(rd *Round) (float64, bool) { return float64(rd.PeakRSS) / (1 << 20), rd.PeakRSS > 0 }, diff: true},
		metric{name: "RSS after start-up (MiB)", unit: "MiB", read: func(rd *Round) (float64, bool) { return float64(rd.StartupRSS) / (1 << 20), rd.StartupRSS > 0 }},
		// RSS split: the executable's pages grow with the binary, the
		// anonymous ones (heap, stacks) with what the collector does
		metric{name: "peak anonymous RSS over load (MiB)", unit: "MiB", read: mib(func(rd *Round) uint64 { return rd.PeakRSSAnon }), diff: true},
		metric{name: "anonymous RSS after start-up (MiB)", unit: "MiB", read: mib(func(rd *Round) uint64 { return rd.StartupRSSAnon })},
		metric{name: "executable and other file pages resident after start-up (MiB)", unit: "MiB", read: mib(func(rd *Round) uint64 { return rd.StartupRSSFile })},
		metric{name: "peak file pages over load (MiB)", unit: "MiB", read: mib(func(rd *Round) uint64 { return rd.PeakRSSFile }), diff: true},
		// unthrottled, an exporting pipeline's queue fills for as long as the
		// window lasts; at a fixed rate it keeps up and no queue builds
		metric{name: "peak RSS at the fixed span rates (MiB)", unit: "MiB", read: mib(peakAtFixedRates), diff: true},
		metric{name: "generator CPU s / M spans (unthrottled)", unit: "s", read: func(rd *Round) (float64, bool) {
			p, ok := phase(rd.Traces, "traces@max")
			return p.GenPerMillion, ok && p.Sent > 0
		}},
	)
	if o.gctrace {
		ms = append(ms, gcMetrics(o)...)
	}
	return ms
}

// gcMetrics are the rows of a -gctrace run: the CPU of the collector's
// garbage collections per million items, and their share of its CPU.
func gcMetrics(o options) []metric {
	var ms []metric
	for _, r := range o.rates {
		ms = append(ms, metric{name: "GC CPU s / M spans @" + fmt.Sprintf("%gk", r/1000), unit: "s",
			read: gcAt(tracesOf, fmt.Sprintf("traces@%gk", r/1000)), ratio: true})
	}
	ms = append(ms,
		metric{name: "GC CPU s / M spans unthrottled", unit: "s", read: gcAt(tracesOf, "traces@max"), ratio: true},
		metric{name: "GC share of CPU, spans unthrottled (%)", unit: "%", read: gcShareAt(tracesOf, "traces@max")},
		metric{name: "GC CPU s / M points unthrottled", unit: "s", read: gcAt(metricsOf, "metrics@max"), ratio: true},
		metric{name: "GC share of CPU, points unthrottled (%)", unit: "%", read: gcShareAt(metricsOf, "metrics@max")},
	)
	return ms
}

func gcAt(list func(*Round) []Phase, name string) func(*Round) (float64, bool) {
	return func(rd *Round) (float64, bool) {
		p, ok := phase(list(rd), name)
		return p.GCPerMillion, ok && p.GCTraced && p.Sent > 0
	}
}

func gcShareAt(list func(*Round) []Phase, name string) func(*Round) (float64, bool) {
	return func(rd *Round) (float64, bool) {
		p, ok := phase(list(rd), name)
		return 100 * p.GCCPU.Seconds() / p.CPU.Seconds(), ok && p.GCTraced && p.CPU > 0
	}
}

func format(v float64, unit string) string {
	switch {
	case unit == "/s":
		return fmt.Sprintf("%.0f", v)
	case unit == "MiB", unit == "%":
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func summary(s stats.Summary, unit string) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%s (%s–%s)", format(s.Median, unit), format(s.Min, unit), format(s.Max, unit))
}

func collect(res *Run, pipeline string, m metric) []float64 {
	var xs []float64
	for _, round := range res.Rounds {
		if rd, ok := round[pipeline]; ok && rd.Err == "" {
			if v, ok := m.read(rd); ok {
				xs = append(xs, v)
			}
		}
	}
	return xs
}

// ratios pairs a and b round by round (same run, adjacent in time).
func ratios(res *Run, a, b string, m metric) []float64 {
	var xs []float64
	for _, round := range res.Rounds {
		ra, okA := round[a]
		rb, okB := round[b]
		if !okA || !okB || ra.Err != "" || rb.Err != "" {
			continue
		}
		va, ok1 := m.read(ra)
		vb, ok2 := m.read(rb)
		if !ok1 || !ok2 {
			continue
		}
		if m.diff {
			xs = append(xs, va-vb)
		} else if vb != 0 {
			xs = append(xs, va/vb)
		}
	}
	return xs
}

func report(o options, res *Run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Run of %s\n\n", res.Started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Machine: %s, %d cores, %d GiB, %s, kernel %s; /proc/loadavg at start %s, at end %s.\n", res.Machine.CPU, res.Machine.Cores, res.Machine.MemoryGiB, res.Machine.GoVersion, res.Machine.Kernel, res.Machine.Load1Start, res.Machine.Load1End)
	fmt.Fprintf(&b, "Collectors at GOMAXPROCS=%d; %d rounds, order rotating; windows of %s (ramp steps %s); %d export requests in flight; %d spans per trace request, %d points per metric request.\n\n",
		o.gomaxprocs, len(res.Rounds), o.duration, o.rampStep, o.concurrency, res.TraceBatch, res.MetricBatch)
	ms := metrics(o)
	pairs := [][2]string{{"gateway", "floor"}, {"gateway", "floor-otlp"}, {"gateway", "stock"}, {"stock", "floor"}, {"stock", "floor-otlp"},
		{"gateway-no-spanmetrics", "floor"}, {"gateway-no-spanmetrics", "floor-otlp"}, {"gateway", "gateway-no-spanmetrics"},
		{"gateway-nop-export", "floor"}, {"gateway", "gateway-nop-export"},
		{"gateway-prev", "floor"}, {"gateway-prev", "floor-otlp"}, {"gateway", "gateway-prev"}}
	var cols [][2]string
	for _, pr := range pairs {
		if has(o.pipelines, pr[0]) && has(o.pipelines, pr[1]) {
			cols = append(cols, pr)
		}
	}
	if len(res.Rounds) == 0 {
		b.WriteString(pairedReport(o, res, cols))
		return b.String()
	}
	b.WriteString("Median (min–max) over rounds.\n\n| measure |")
	for _, p := range o.pipelines {
		fmt.Fprintf(&b, " %s |", p)
	}
	b.WriteString("\n|---|")
	for range o.pipelines {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "| %s |", m.name)
		for _, p := range o.pipelines {
			fmt.Fprintf(&b, " %s |", summary(stats.Of(collect(res, p, m)), m.unit))
		}
		b.WriteString("\n")
	}

	if len(cols) > 0 {
		b.WriteString("\nRatios, round by round (same round, adjacent in time), median (min–max); RSS as a difference in MiB.\n\n")
		ratioHeader(&b, "measure", cols)
		for _, m := range ms {
			if !m.ratio && !m.diff {
				continue
			}
			name := m.name
			if m.diff {
				name += ", difference"
			}
			fmt.Fprintf(&b, "| %s |", name)
			for _, c := range cols {
				s := stats.Of(ratios(res, c[0], c[1], m))
				if m.diff {
					fmt.Fprintf(&b, " %s |", summary(s, "MiB"))
				} else {
					fmt.Fprintf(&b, " %s |", ratioSummary(s))
				}
			}
			b.WriteString("\n")
		}
	}
	b.WriteString(roundTotals(o, res, cols))
	for ri, round := range res.Rounds {
		for _, p := range o.pipelines {
			if rd, ok := round[p]; ok && rd.Err != "" {
				fmt.Fprintf(&b, "\nround %d, %s: %s\n", ri+1, p, rd.Err)
			}
		}
	}
	b.WriteString(pairedReport(o, res, cols))
	return b.String()
}

// ratioHeader writes the head of a table with one column per pair of
// pipelines compared.
func ratioHeader(b *strings.Builder, first string, cols [][2]string) {
	fmt.Fprintf(b, "| %s |", first)
	for _, c := range cols {
		fmt.Fprintf(b, " %s / %s |", c[0], c[1])
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
}

// roundPairs pairs a's and b's windows of one load round by round, for the
// ratio of totals over the rounds.
func roundPairs(res *Run, a, b string, list func(*Round) []Phase, name string) []stats.Pair {
	var ps []stats.Pair
	for _, round := range res.Rounds {
		ra, okA := round[a]
		rb, okB := round[b]
		if !okA || !okB || ra.Err != "" || rb.Err != "" {
			continue
		}
		pa, ok1 := phase(list(ra), name)
		pb, ok2 := phase(list(rb), name)
		if !ok1 || !ok2 || pa.Sent == 0 || pb.Sent == 0 {
			continue
		}
		ps = append(ps, stats.Pair{CPUA: pa.CPU.Seconds(), ItemsA: float64(pa.Sent), CPUB: pb.CPU.Seconds(), ItemsB: float64(pb.Sent)})
	}
	return ps
}

// roundTotals is the CPU per item of every load as a ratio of totals over
// the rounds, with its bootstrap interval: how far a handful of rounds
// pins the ratio down.
func roundTotals(o options, res *Run, cols [][2]string) string {
	if len(cols) == 0 {
		return ""
	}
	type load struct {
		name string
		list func(*Round) []Phase
	}
	var loads []load
	for _, r := range o.rates {
		loads = append(loads, load{fmt.Sprintf("traces@%gk", r/1000), tracesOf})
	}
	loads = append(loads, load{"traces@max", tracesOf})
	for _, r := range o.metricRates {
		loads = append(loads, load{fmt.Sprintf("metrics@%gk", r/1000), metricsOf})
	}
	loads = append(loads, load{"metrics@max", metricsOf})
	var b strings.Builder
	b.WriteString("\nCPU per item, ratio of totals over the rounds (all of a pipeline's CPU in that load over all its items) with its 95 % bootstrap interval (rounds drawn with replacement).\n\n")
	ratioHeader(&b, "load", cols)
	for _, l := range loads {
		fmt.Fprintf(&b, "| %s |", l.name)
		for _, c := range cols {
			ps := roundPairs(res, c[0], c[1], l.list, l.name)
			if len(ps) == 0 {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " %s |", totalsSummary(ps))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func ratioSummary(s stats.Summary) string {
	if s.N == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", s.Median, s.Min, s.Max)
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// chartOf draws CPU per million spans against the accepted rate: the line
// through each pipeline's medians (fixed rates, ramp steps, unthrottled), the
// single rounds as dots.
func chartOf(o options, res *Run) chart.Chart {
	c := chart.Chart{
		Title:  fmt.Sprintf("cpu per span against offered load (gomaxprocs=%d, %d rounds)", o.gomaxprocs, len(res.Rounds)),
		XLabel: "spans/s accepted",
		YLabel: "collector cpu s per million spans",
	}
	for _, p := range o.pipelines {
		s := chart.Series{Name: p}
		byPhase := map[string][]chart.Point{}
		for _, round := range res.Rounds {
			rd, ok := round[p]
			if !ok || rd.Err != "" {
				continue
			}
			for _, ph := range append(append([]Phase(nil), rd.Traces...), rd.Ramp...) {
				if ph.Sent == 0 {
					continue
				}
				pt := chart.Point{X: ph.Rate, Y: ph.CPUPerMillion}
				s.Extra = append(s.Extra, pt)
				byPhase[ph.Name] = append(byPhase[ph.Name], pt)
			}
		}
		for _, pts := range byPhase {
			var xs, ys []float64
			for _, pt := range pts {
				xs, ys = append(xs, pt.X), append(ys, pt.Y)
			}
			s.Points = append(s.Points, chart.Point{X: stats.Of(xs).Median, Y: stats.Of(ys).Median})
		}
		sort.Slice(s.Points, func(i, j int) bool { return s.Points[i].X < s.Points[j].X })
		c.Series = append(c.Series, s)
	}
	return c
}
