// Command bench-e2e is the end-to-end benchmark of issue #12 (`make
// bench-e2e`): it runs the floor (stock otlp receiver → nop exporter), its
// variant with an otlp exporter, the stock reference pipeline
// (bench/stock/config.yaml) and otelcol-gateway on the same krakend.json as
// child processes with GOMAXPROCS fixed, in rotating order over several
// rounds, drives each with the same pre-built KrakenD-shaped OTLP/gRPC load,
// and reports CPU per million spans and data points, peak RSS over the load
// windows (and its anonymous part, apart from the executable's pages),
// throughput, and ratios to the floor and to stock from the same run.
// It reports; it never fails on a number.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/load"
	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/procstat"
)

type options struct {
	stockBin, gatewayBin, stockDir, krakend, overlay string
	// prevBin: an earlier otelcol-gateway build, run as "gateway-prev" on
	// the same configuration, for before/after ratios within one run
	prevBin                 string
	out                     string
	pipelines               []string
	rounds                  int
	duration, rampStep      time.Duration
	gomaxprocs, concurrency int
	rates                   []float64
	metricRates             []float64
	rampFractions           []float64
	requestsPerBatch        int
	gctrace                 bool
	// paired: repetitions of the paired fixed-rate windows (paired.go), of
	// pairedWindow each; 0 runs none.
	paired       int
	pairedWindow time.Duration
	// serve: start only this pipeline's collector and the sink, for a
	// profiler to watch (bench/profile.sh); no measurement.
	serve string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sink" {
		runSink()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "load" {
		runLoad(os.Args[2:])
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "pool" {
		runPool(os.Args[2:])
		return
	}
	var o options
	var pipelines, rates, metricRates, fractions string
	var rerender bool
	flag.StringVar(&o.stockBin, "stock", "stock/build/otelcol-stock", "the stock reference collector (bench/stock/builder-config.yaml)")
	flag.StringVar(&o.gatewayBin, "gateway", "../cmd/otelcol-gateway/otelcol-gateway", "the otelcol-gateway binary (make build)")
	flag.StringVar(&o.prevBin, "gateway-prev", "", "an earlier otelcol-gateway binary, run as pipeline gateway-prev (before/after in one run)")
	flag.StringVar(&o.stockDir, "stock-configs", "stock", "folder of floor.yaml, floor-otlp.yaml and config.yaml")
	flag.StringVar(&o.krakend, "krakend", "testdata/krakend.json", "the krakend.json otelcol-gateway runs on (and stock/config.yaml mirrors)")
	flag.StringVar(&o.overlay, "overlay", "testdata/gateway-overlay.yaml", "the loopback-ports overlay merged over the translation")
	flag.StringVar(&o.out, "out", "results", "folder for results.json, results.md, the PNG chart and the collectors' logs")
	flag.StringVar(&pipelines, "pipelines", "floor,floor-otlp,stock,gateway", "pipelines to run (also the diagnostics gateway-no-spanmetrics and gateway-nop-export; gateway-prev, with -gateway-prev)")
	flag.IntVar(&o.rounds, "rounds", 4, "rounds (the pipelines' order rotates every round)")
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "length of each load window")
	flag.DurationVar(&o.rampStep, "ramp-step", 2*time.Second, "length of each ramp step")
	flag.IntVar(&o.gomaxprocs, "gomaxprocs", 1, "GOMAXPROCS of every collector")
	flag.IntVar(&o.concurrency, "concurrency", 8, "export requests in flight")
	flag.StringVar(&rates, "rates", "20000,100000", "fixed span rates (spans/s)")
	flag.StringVar(&metricRates, "metric-rates", "20000,100000", "fixed metric data point rates (points/s)")
	flag.StringVar(&fractions, "ramp", "0.5,0.6,0.7,0.8,0.9,1.0", "ramp steps, as fractions of the pipeline's unthrottled rate in the same round")
	flag.IntVar(&o.requestsPerBatch, "requests-per-batch", 100, "gateway requests per trace export (about five spans each)")
	flag.StringVar(&o.serve, "serve", "", "start only this pipeline's collector (and the sink) as a round would, print its receiver and pid, and run until interrupted: for bench/profile.sh")
	flag.BoolVar(&rerender, "rerender", false, "run nothing: render -out's results.md and chart again from its results.json, with this build's report")
	flag.IntVar(&o.paired, "paired", 0, "after the rounds, run every pipeline's collector at once and alternate the fixed-rate loads between them this many times (paired windows; 0: none)")
	flag.DurationVar(&o.pairedWindow, "paired-window", 6*time.Second, "length of each paired window")
	flag.BoolVar(&o.gctrace, "gctrace", false, "run the collectors with GODEBUG=gctrace=1 and report the CPU their garbage collections take in each window")
	flag.Parse()
	if rerender {
		if err := rerenderResults(o); err != nil {
			log.Fatal(err)
		}
		return
	}
	o.pipelines = strings.Split(pipelines, ",")
	var err error
	if o.rates, err = floats(rates); err != nil {
		log.Fatalf("-rates: %v", err)
	}
	if o.metricRates, err = floats(metricRates); err != nil {
		log.Fatalf("-metric-rates: %v", err)
	}
	if o.rampFractions, err = floats(fractions); err != nil {
		log.Fatalf("-ramp: %v", err)
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// floats reads a comma-separated list; an empty one is no value (-metric-rates
// "": no fixed-rate metric windows).
func floats(s string) ([]float64, error) {
	var out []float64
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// runSink is the child process that receives the collectors' exports.
func runSink() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	s := load.NewSink(l)
	fmt.Println(l.Addr().String())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	s.Stop()
	fmt.Fprintf(os.Stderr, "sink: %d requests, %d bytes\n", s.Requests.Load(), s.Bytes.Load())
}

// runLoad only sends load to an endpoint, for profiling a running collector
// (docs/benchmarks.md: perf record while it runs).
func runLoad(args []string) {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	endpoint := fs.String("endpoint", "127.0.0.1:4317", "OTLP/gRPC endpoint")
	signal := fs.String("signal", "traces", "traces or metrics")
	rate := fs.Float64("rate", 0, "items/s (0: unthrottled)")
	d := fs.Duration("duration", 30*time.Second, "how long")
	conc := fs.Int("concurrency", 8, "requests in flight")
	_ = fs.Parse(args)
	gen, err := load.Dial(*endpoint, *conc)
	if err != nil {
		log.Fatal(err)
	}
	defer gen.Close()
	method, batches := load.TracesMethod, []load.Batch(nil)
	if *signal == "metrics" {
		b, err := load.MetricBatch()
		if err != nil {
			log.Fatal(err)
		}
		method, batches = load.MetricsMethod, []load.Batch{b}
	} else if batches, err = load.TraceBatches(8, 100); err != nil {
		log.Fatal(err)
	}
	r := gen.Run(context.Background(), method, batches, *rate, *d)
	log.Printf("%s: %.0f/s accepted, %d refused, %d requests", *signal, r.Rate(), r.Refused, r.Requests)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Run is everything measured in one run.
type Run struct {
	Started     time.Time           `json:"started"`
	Machine     Machine             `json:"machine"`
	Options     map[string]any      `json:"options"`
	TraceBatch  int                 `json:"spans_per_trace_request"`
	MetricBatch int                 `json:"points_per_metric_request"`
	Rounds      []map[string]*Round `json:"rounds"`
	Paired      []PairedPhase       `json:"paired,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	MemoryGiB  int    `json:"memory_gib"`
	GoVersion  string `json:"go"`
	Kernel     string `json:"kernel"`
	Load1Start string `json:"loadavg_at_start"`
	Load1End   string `json:"loadavg_at_end,omitempty"`
}

// Round is one pipeline's measurements in one round.
type Round struct {
	Order      int    `json:"order"`
	StartupRSS uint64 `json:"rss_after_startup_bytes"`
	PeakRSS    uint64 `json:"peak_rss_load_bytes"`
	// VmRSS split: anonymous pages (heap, stacks) apart from file pages,
	// mostly the executable's own, which grow with the binary, not the load.
	// Zero in results from before the split, or on kernels before 4.5.
	StartupRSSAnon uint64  `json:"rss_anon_after_startup_bytes"`
	StartupRSSFile uint64  `json:"rss_file_after_startup_bytes"`
	PeakRSSAnon    uint64  `json:"peak_rss_anon_load_bytes"`
	PeakRSSFile    uint64  `json:"peak_rss_file_load_bytes"`
	Traces         []Phase `json:"traces"`
	Metrics        []Phase `json:"metrics"`
	Ramp           []Phase `json:"ramp"`
	Sustained      float64 `json:"sustained_spans_per_s"`
	Err            string  `json:"error,omitempty"`
}

// Phase is one load window.
type Phase struct {
	Name          string        `json:"name"`
	Offered       float64       `json:"offered_per_s"` // 0: unthrottled
	Rate          float64       `json:"accepted_per_s"`
	Sent          int64         `json:"accepted"`
	Refused       int64         `json:"refused"`
	Behind        int64         `json:"requests_behind_schedule"`
	Elapsed       time.Duration `json:"elapsed_ns"`
	CPU           time.Duration `json:"collector_cpu_ns"` // window plus drain
	Drain         time.Duration `json:"drain_ns"`
	GenCPU        time.Duration `json:"generator_cpu_ns"`
	PeakRSS       uint64        `json:"peak_rss_bytes"`
	PeakRSSAnon   uint64        `json:"peak_rss_anon_bytes"`
	PeakRSSFile   uint64        `json:"peak_rss_file_bytes"`
	CPUPerMillion float64       `json:"collector_cpu_s_per_million"`
	GenPerMillion float64       `json:"generator_cpu_s_per_million"`
	// With -gctrace: the collector's garbage collections that started
	// within the window or its drain, and the CPU they took.
	GCTraced     bool          `json:"gc_traced,omitempty"`
	GCCycles     int           `json:"gc_cycles,omitempty"`
	GCCPU        time.Duration `json:"gc_cpu_ns,omitempty"`
	GCPerMillion float64       `json:"gc_cpu_s_per_million,omitempty"`
	// from and to: the window and its drain, counted from the collector's
	// start, for attributing its gctrace lines.
	from, to time.Duration
}

func run(o options) error {
	if err := os.MkdirAll(filepath.Join(o.out, "logs"), 0o755); err != nil {
		return err
	}
	for _, p := range []*string{&o.stockBin, &o.gatewayBin, &o.prevBin, &o.stockDir, &o.krakend, &o.overlay} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}

	if o.serve != "" {
		return serve(o)
	}
	if o.rounds <= 0 && o.paired <= 0 {
		return fmt.Errorf("nothing to run: -rounds and -paired are both 0")
	}
	traceBatches, err := load.TraceBatches(8, o.requestsPerBatch)
	if err != nil {
		return err
	}
	metricBatch, err := load.MetricBatch()
	if err != nil {
		return err
	}
	metricBatches := []load.Batch{metricBatch}

	sinkAddr, stopSink, err := startSink(o)
	if err != nil {
		return err
	}
	defer stopSink()

	res := Run{
		Started: time.Now().UTC(), Machine: machine(),
		TraceBatch: traceBatches[0].Items, MetricBatch: metricBatch.Items,
		Options: map[string]any{
			"rounds": o.rounds, "duration": o.duration.String(), "ramp_step": o.rampStep.String(),
			"gomaxprocs": o.gomaxprocs, "concurrency": o.concurrency, "rates": o.rates,
			"metric_rates": o.metricRates, "ramp": o.rampFractions, "pipelines": o.pipelines,
			"krakend": o.krakend, "paired": o.paired, "paired_window": o.pairedWindow.String(),
		},
	}
	log.Printf("%d spans per trace request, %d points per metric request; sink at %s", res.TraceBatch, res.MetricBatch, sinkAddr)

	for r := range o.rounds {
		round := map[string]*Round{}
		res.Rounds = append(res.Rounds, round)
		n := len(o.pipelines)
		for i := range n {
			name := o.pipelines[(i+r)%n]
			log.Printf("round %d/%d: %s", r+1, o.rounds, name)
			rd := measurePipeline(o, name, r, sinkAddr, traceBatches, metricBatches)
			rd.Order = i
			round[name] = rd
			if rd.Err != "" {
				log.Printf("  %s: %s", name, rd.Err)
			}
		}
		if err := writeResults(o, &res); err != nil {
			return err
		}
	}
	if o.paired > 0 {
		paired, err := runPaired(o, sinkAddr, traceBatches, metricBatches)
		res.Paired = paired
		if err != nil {
			_ = writeResults(o, &res)
			return err
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.Machine.Load1End = strings.TrimSpace(string(b))
	}
	return writeResults(o, &res)
}

// serve runs one pipeline's collector, fed by nothing, exporting to the
// sink, until SIGTERM or SIGINT; its first line on stdout is
// "receiver=<address> pid=<pid>".
func serve(o options) error {
	sinkAddr, stopSink, err := startSink(o)
	if err != nil {
		return err
	}
	defer stopSink()
	cmd, receiver, err := collectorCmd(o, o.serve, sinkAddr)
	if err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(o.out, "logs", "serve-"+o.serve+".log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Printf("receiver=%s pid=%d\n", receiver, cmd.Process.Pid)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	select {
	case err := <-exited:
		return fmt.Errorf("collector exited: %v (log: %s)", err, logf.Name())
	case <-sig:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	return nil
}

func startSink(o options) (string, func(), error) {
	self, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(self, "sink")
	logf, err := os.Create(filepath.Join(o.out, "logs", "sink.log"))
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return "", nil, fmt.Errorf("sink: %w", err)
	}
	return strings.TrimSpace(addr), func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	}, nil
}

func (o options) command(name string) ([]string, error) {
	switch name {
	case "floor":
		return []string{o.stockBin, "--config", filepath.Join(o.stockDir, "floor.yaml")}, nil
	case "floor-otlp":
		return []string{o.stockBin, "--config", filepath.Join(o.stockDir, "floor-otlp.yaml")}, nil
	case "stock":
		return []string{o.stockBin, "--config", filepath.Join(o.stockDir, "config.yaml")}, nil
	case "gateway":
		return []string{o.gatewayBin, "--config", "krakend:" + o.krakend, "--config", "file:" + o.overlay}, nil
	case "gateway-prev":
		if o.prevBin == "" {
			return nil, fmt.Errorf("pipeline gateway-prev needs -gateway-prev")
		}
		return []string{o.prevBin, "--config", "krakend:" + o.krakend, "--config", "file:" + o.overlay}, nil
	case "gateway-no-spanmetrics":
		// diagnostic: the translation without its request metrics connector
		return o.diagnostic("gateway-no-spanmetrics.yaml"), nil
	case "gateway-nop-export":
		// diagnostic: the translation ending in the nop exporter, as the floor does
		return o.diagnostic("gateway-nop-export.yaml"), nil
	}
	return nil, fmt.Errorf("unknown pipeline %q", name)
}

// diagnostic is the gateway's command with one more overlay, which
// replaces pipeline lists: the distribution appends the lists of an overlay
// to a krakend: source's (so that an overlay adds exporters), which would
// leave what a diagnostic takes out in place. Naming the gate turns that
// off; the address overlay has no list the translation needs kept.
func (o options) diagnostic(overlay string) []string {
	return []string{o.gatewayBin, "--config", "krakend:" + o.krakend, "--config", "file:" + o.overlay,
		"--config", "file:" + filepath.Join(filepath.Dir(o.overlay), overlay),
		"--feature-gates=-confmap.enableMergeAppendOption"}
}

// collectorCmd is the command that starts a pipeline's collector as every
// round does: its configuration, GOMAXPROCS, free loopback ports for the
// overlay's BENCH_* variables, and with -gctrace the GC trace. It returns
// the address of the collector's OTLP/gRPC receiver.
func collectorCmd(o options, name, sink string) (*exec.Cmd, string, error) {
	argv, err := o.command(name)
	if err != nil {
		return nil, "", err
	}
	ports := make([]int, 3)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return nil, "", err
		}
	}
	receiver := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(),
		"GOMAXPROCS="+strconv.Itoa(o.gomaxprocs),
		"BENCH_RECEIVER="+receiver,
		"BENCH_TRACES_SINK="+sink,
		"BENCH_METRICS_SINK="+sink,
		"BENCH_SELF_METRICS_PORT="+strconv.Itoa(ports[1]),
		"BENCH_HEALTH_PORT="+strconv.Itoa(ports[2]),
	)
	if o.gctrace {
		// Kept beside the caller's own GODEBUG settings (the last one wins).
		godebug := "gctrace=1"
		if d := os.Getenv("GODEBUG"); d != "" {
			godebug = d + "," + godebug
		}
		cmd.Env = append(cmd.Env, "GODEBUG="+godebug)
	}
	return cmd, receiver, nil
}

// liveCollector is a pipeline's collector, started and ready for load.
type liveCollector struct {
	name    string
	pid     int
	gen     *load.Generator
	exited  chan error
	started time.Time
	stop    func()
}

// startCollector starts a pipeline's collector with its output in logPath,
// waits until it accepts a request and warms it up: heaps, pools and
// connections grown before anything counts.
func startCollector(o options, name, sink, logPath string, traces, metrics []load.Batch) (*liveCollector, error) {
	cmd, receiver, err := collectorCmd(o, name, sink)
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	c := &liveCollector{name: name, pid: cmd.Process.Pid, exited: make(chan error, 1), started: time.Now()}
	go func() { c.exited <- cmd.Wait() }()
	c.stop = func() {
		if c.gen != nil {
			c.gen.Close()
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-c.exited:
			c.exited <- err
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			err := <-c.exited
			c.exited <- err
		}
		logf.Close()
	}
	if c.gen, err = load.Dial(receiver, o.concurrency); err != nil {
		c.stop()
		return nil, err
	}
	ctx := context.Background()
	if err := waitReady(ctx, c.gen, &traces[0], c.exited); err != nil {
		c.stop()
		return nil, err
	}
	c.gen.Run(ctx, load.TracesMethod, traces, warmUpRate(o.rates), time.Second)
	c.gen.Run(ctx, load.MetricsMethod, metrics, warmUpRate(o.metricRates), 500*time.Millisecond)
	drain(c.pid)
	return c, nil
}

// warmUpRate is the first fixed rate, or 20k items/s when there is none.
func warmUpRate(rates []float64) float64 {
	if len(rates) == 0 {
		return 20000
	}
	return rates[0]
}

// exitErr tells whether the collector has exited.
func (c *liveCollector) exitErr() (string, bool) {
	select {
	case err := <-c.exited:
		c.exited <- err
		return fmt.Sprintf("collector exited during the run: %v", err), true
	default:
		return "", false
	}
}

func measurePipeline(o options, name string, round int, sink string, traces, metrics []load.Batch) *Round {
	rd := &Round{}
	logPath := filepath.Join(o.out, "logs", fmt.Sprintf("round%d-%s.log", round+1, name))
	if o.gctrace {
		// Deferred before the collector's stop, so it runs after it: the
		// log is then complete.
		defer func() {
			f, err := os.Open(logPath)
			if err != nil {
				return
			}
			defer f.Close()
			attributeGC(parseGCTrace(f), rd.Traces, rd.Metrics, rd.Ramp)
		}()
	}
	c, err := startCollector(o, name, sink, logPath, traces, metrics)
	if err != nil {
		rd.Err = err.Error()
		return rd
	}
	defer c.stop()
	pid, gen, started, ctx := c.pid, c.gen, c.started, context.Background()
	if m, err := memory(pid); err == nil {
		rd.StartupRSS, rd.StartupRSSAnon, rd.StartupRSSFile = m.RSS, m.Anon, m.File
	}

	window := func(phase string, method string, batches []load.Batch, rate float64, d time.Duration) Phase {
		from := time.Since(started)
		p := measure(pid, func() load.Result { return gen.Run(ctx, method, batches, rate, d) })
		p.Name = phase
		p.from, p.to = from, time.Since(started)
		rd.PeakRSS = max(rd.PeakRSS, p.PeakRSS)
		rd.PeakRSSAnon = max(rd.PeakRSSAnon, p.PeakRSSAnon)
		rd.PeakRSSFile = max(rd.PeakRSSFile, p.PeakRSSFile)
		return p
	}
	for _, rate := range o.rates {
		rd.Traces = append(rd.Traces, window(fmt.Sprintf("traces@%gk", rate/1000), load.TracesMethod, traces, rate, o.duration))
	}
	unthrottled := window("traces@max", load.TracesMethod, traces, 0, o.duration)
	rd.Traces = append(rd.Traces, unthrottled)
	for _, rate := range o.metricRates {
		rd.Metrics = append(rd.Metrics, window(fmt.Sprintf("metrics@%gk", rate/1000), load.MetricsMethod, metrics, rate, o.duration))
	}
	rd.Metrics = append(rd.Metrics, window("metrics@max", load.MetricsMethod, metrics, 0, o.duration))
	for _, f := range o.rampFractions {
		rate := f * unthrottled.Rate
		p := window(fmt.Sprintf("ramp@%.0f%%", f*100), load.TracesMethod, traces, rate, o.rampStep)
		rd.Ramp = append(rd.Ramp, p)
		if p.Refused > 0 || p.Rate < 0.95*rate {
			break
		}
		rd.Sustained = rate
	}
	if msg, ok := c.exitErr(); ok {
		rd.Err = msg
	}
	return rd
}

func waitReady(ctx context.Context, gen *load.Generator, b *load.Batch, exited chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("collector exited at start-up: %v (see its log)", err)
		default:
		}
		c, cancel := context.WithTimeout(ctx, time.Second)
		_, err := gen.Send(c, load.TracesMethod, b)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("collector not ready after 60s: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// measure runs one load window: the collector's CPU over the window and the
// drain after it (batches and exports still in flight belong to this load),
// the generator's own CPU over the window, the collector's RSS sampled every
// 50 ms during the window. Each of VmRSS, RssAnon and RssFile peaks on its
// own: the three maxima may come from different samples.
func measure(pid int, send func() load.Result) Phase {
	self := os.Getpid()
	cpu0, _ := procstat.CPU(pid)
	gen0, _ := procstat.CPU(self)
	stop := make(chan struct{})
	peak := make(chan procstat.MemoryUsage)
	go func() {
		var top procstat.MemoryUsage
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := memory(pid); err == nil {
				top.RSS, top.Anon, top.File = max(top.RSS, m.RSS), max(top.Anon, m.Anon), max(top.File, m.File)
			}
			select {
			case <-stop:
				peak <- top
				return
			case <-t.C:
			}
		}
	}()
	r := send()
	gen1, _ := procstat.CPU(self)
	close(stop)
	top := <-peak
	p := Phase{Offered: r.Offered, Rate: r.Rate(), Sent: r.Sent, Refused: r.Refused, Behind: r.Behind, Elapsed: r.Elapsed,
		PeakRSS: top.RSS, PeakRSSAnon: top.Anon, PeakRSSFile: top.File}
	p.Drain = drain(pid)
	cpu1, _ := procstat.CPU(pid)
	p.CPU = cpu1 - cpu0
	p.GenCPU = gen1 - gen0
	if r.Sent > 0 {
		p.CPUPerMillion = p.CPU.Seconds() / (float64(r.Sent) / 1e6)
		p.GenPerMillion = p.GenCPU.Seconds() / (float64(r.Sent) / 1e6)
	}
	return p
}

// memory reads the collector's resident memory. A kernel before 4.5 has no
// RssAnon or RssFile: VmRSS alone is then still measured, as before the split.
func memory(pid int) (procstat.MemoryUsage, error) {
	m, err := procstat.Memory(pid)
	if err == nil {
		return m, nil
	}
	rss, err := procstat.RSS(pid)
	return procstat.MemoryUsage{RSS: rss}, err
}

// drain waits until the collector is idle (under 2 % of a core over 200 ms),
// at most 3 s, and returns how long that took.
func drain(pid int) time.Duration {
	start := time.Now()
	prev, _ := procstat.CPU(pid)
	quiet := 0
	for time.Since(start) < 3*time.Second {
		time.Sleep(100 * time.Millisecond)
		c, err := procstat.CPU(pid)
		if err != nil {
			break
		}
		if c-prev <= 2*time.Millisecond {
			quiet++
			if quiet == 2 {
				break
			}
		} else {
			quiet = 0
		}
		prev = c
	}
	return time.Since(start)
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := procstat.ParseStatusField(b, "MemTotal"); err == nil {
			m.MemoryGiB = int((kb + 1<<29) >> 30)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.Load1Start = strings.TrimSpace(string(b))
	}
	return m
}

// rerenderResults renders o.out's results.md and chart again from its
// results.json, with the pipelines and rates the run recorded: a report row
// added since reads the rounds already measured. (A -gctrace run's rows
// need -gctrace again: the run does not record it.)
func rerenderResults(o options) error {
	b, err := os.ReadFile(filepath.Join(o.out, "results.json"))
	if err != nil {
		return err
	}
	var res Run
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(o.out, "results.json"), err)
	}
	var recorded struct {
		Pipelines   []string  `json:"pipelines"`
		Rates       []float64 `json:"rates"`
		MetricRates []float64 `json:"metric_rates"`
		Duration    string    `json:"duration"`
		RampStep    string    `json:"ramp_step"`
		GOMAXPROCS  int       `json:"gomaxprocs"`
		Concurrency int       `json:"concurrency"`
	}
	opts, err := json.Marshal(res.Options)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(opts, &recorded); err != nil {
		return fmt.Errorf("%s: options: %w", filepath.Join(o.out, "results.json"), err)
	}
	if len(recorded.Pipelines) == 0 {
		return fmt.Errorf("%s: options.pipelines is empty", filepath.Join(o.out, "results.json"))
	}
	o.pipelines, o.rates, o.metricRates = recorded.Pipelines, recorded.Rates, recorded.MetricRates
	// The report's header tells how the run was made: from the run, not
	// from this invocation's flags. Results from before a field existed
	// keep the flag's value.
	if d, err := time.ParseDuration(recorded.Duration); err == nil {
		o.duration = d
	}
	if d, err := time.ParseDuration(recorded.RampStep); err == nil {
		o.rampStep = d
	}
	if recorded.GOMAXPROCS > 0 {
		o.gomaxprocs = recorded.GOMAXPROCS
	}
	if recorded.Concurrency > 0 {
		o.concurrency = recorded.Concurrency
	}
	return writeResults(o, &res)
}

func writeResults(o options, res *Run) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "results.json"), b, 0o644); err != nil {
		return err
	}
	md := report(o, res)
	if err := os.WriteFile(filepath.Join(o.out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if len(res.Rounds) > 0 { // paired windows alone draw no chart
		if err := writeChart(o, res); err != nil {
			return err
		}
	}
	_, err = io.WriteString(os.Stdout, md)
	return err
}

func writeChart(o options, res *Run) error {
	f, err := os.Create(filepath.Join(o.out, "cpu-per-span.png"))
	if err != nil {
		return err
	}
	defer f.Close()
	return chartOf(o, res).WritePNG(f)
}
