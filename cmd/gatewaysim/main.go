// Command gatewaysim plays an instrumented API gateway with N endpoints and
// M backends each and sends its OTLP telemetry to a collector, for load and
// integration tests of otelcol-gateway. With -truth it writes what it
// emitted as JSON.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
)

func main() {
	var cfg sim.Config
	var truth string
	flag.StringVar(&cfg.Endpoint, "endpoint", "localhost:4317", "collector OTLP endpoint host:port")
	flag.BoolVar(&cfg.UseHTTP, "http", false, "send OTLP over HTTP instead of gRPC")
	flag.Float64Var(&cfg.Rate, "rate", 100, "requests per second (0: as fast as possible)")
	flag.DurationVar(&cfg.Duration, "duration", 0, "run for this long")
	flag.IntVar(&cfg.Requests, "requests", 0, "run this many requests")
	flag.IntVar(&cfg.Endpoints, "endpoints", 4, "gateway endpoints")
	flag.IntVar(&cfg.Backends, "backends", 2, "backends per endpoint")
	flag.Float64Var(&cfg.ErrorRate, "error-rate", 0.01, "fraction of backend calls answering 500")
	flag.Float64Var(&cfg.TimeoutRate, "timeout-rate", 0.005, "fraction of backend calls timing out")
	flag.Float64Var(&cfg.SampleRate, "sample-rate", 1, "trace_sample_rate (only 0 < r < 1 samples)")
	flag.Float64Var(&cfg.CallerSampled, "caller-sampled", 0, "fraction of requests arriving with a caller's sampled traceparent (kept by the parent-based sampler)")
	flag.StringVar(&cfg.Service, "service", "gatewaysim", "service.name")
	flag.StringVar(&cfg.Instance, "instance", "", "service.instance.id (default: random)")
	flag.IntVar(&cfg.Workers, "workers", 32, "concurrent client requests")
	flag.DurationVar(&cfg.Latency, "latency", 2*time.Millisecond, "mean backend latency")
	flag.DurationVar(&cfg.BackendTimeout, "backend-timeout", 50*time.Millisecond, "backend timeout")
	flag.IntVar(&cfg.PayloadSize, "payload", 512, "mean backend payload in bytes")
	flag.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	flag.StringVar(&truth, "truth", "", "write the ground truth as JSON to this file")
	flag.Parse()
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		cfg.Duration = 10 * time.Second
	}
	cfg.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t, err := sim.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatewaysim:", err)
		os.Exit(1)
	}
	if truth != "" {
		if err := t.WriteFile(truth); err != nil {
			fmt.Fprintln(os.Stderr, "gatewaysim:", err)
			os.Exit(1)
		}
	}
}
