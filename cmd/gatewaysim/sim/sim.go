package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

// Config is one simulation run.
type Config struct {
	Endpoint    string // collector host:port
	UseHTTP     bool
	Rate        float64       // requests per second; 0 = as fast as the workers go
	Duration    time.Duration // stop after this long (0 = no limit)
	Requests    int           // stop after this many requests (0 = no limit)
	Endpoints   int
	Backends    int     // per endpoint
	ErrorRate   float64 // fraction of backend calls answering 500
	TimeoutRate float64 // fraction of backend calls slower than BackendTimeout
	SampleRate  float64 // trace_sample_rate, KrakenD's rule
	// CallerSampled is the fraction of requests that arrive from a caller
	// that traces and sampled the request (a W3C traceparent with the
	// sampled flag): KrakenD's parent-based sampler keeps all of them.
	CallerSampled float64
	Service       string
	Instance      string
	Workers       int

	Latency        time.Duration // mean backend latency (exponential)
	BackendTimeout time.Duration // a backend slower than this times out
	PayloadSize    int           // mean response size in bytes (exponential)

	Progress         io.Writer // progress lines and summary; nil = none
	ProgressInterval time.Duration
	Seed             uint64
}

func (c *Config) defaults() {
	if c.Endpoints <= 0 {
		c.Endpoints = 1
	}
	if c.Backends <= 0 {
		c.Backends = 1
	}
	if c.Workers <= 0 {
		c.Workers = 16
	}
	if c.Latency <= 0 {
		c.Latency = 2 * time.Millisecond
	}
	if c.BackendTimeout <= 0 {
		c.BackendTimeout = 50 * time.Millisecond
	}
	if c.PayloadSize <= 0 {
		c.PayloadSize = 512
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 2 * time.Second
	}
	if c.Service == "" {
		c.Service = "gatewaysim"
	}
	if c.SampleRate == 0 {
		c.SampleRate = 1
	}
}

// Truth is what the simulated gateway emitted.
type Truth struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	Spans    int64 `json:"spans"`
	// MetricPoints is the number of metric series (data points of one
	// collection) at the end of the run.
	MetricPoints int `json:"metric_points"`
	// SpansPerLayer counts ended spans by layer class (internal/layer names).
	SpansPerLayer map[string]int64 `json:"spans_per_layer"`
	// Traces holds, per trace ID, the spans of each class.
	Traces map[string]map[string]int `json:"traces"`
	// RequestsPerEndpoint counts requests by endpoint route and status.
	RequestsPerEndpoint map[string]map[string]int64 `json:"requests_per_endpoint"`
	// CallerTraces holds the trace IDs of the requests that came with a
	// caller's sampled traceparent (Config.CallerSampled).
	CallerTraces map[string]bool `json:"caller_traces,omitempty"`
}

// WriteFile writes the truth as JSON.
func (t *Truth) WriteFile(path string) error {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// spanCounter records every ended span's class per trace.
type spanCounter struct {
	mu      sync.Mutex
	total   atomic.Int64
	perLay  map[string]int64
	perTrac map[string]map[string]int
}

func classOf(s sdktrace.ReadOnlySpan) string {
	for _, a := range s.Attributes() {
		if a.Key != gatewayotel.StageKey {
			continue
		}
		switch v := a.Value.AsString(); v {
		case gatewayotel.StageGlobal:
			return "global"
		case gatewayotel.StageProxy:
			return "proxy"
		case gatewayotel.StageBackend:
			return "backend.stage"
		case gatewayotel.StageBackendRequest:
			if s.Name() == gatewayotel.ReadTrackerSpanName {
				return "backend.read_payload"
			}
			return "backend.round_trip"
		}
	}
	return "none"
}

func (c *spanCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c *spanCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	cl, id := classOf(s), s.SpanContext().TraceID().String()
	c.total.Add(1)
	c.mu.Lock()
	c.perLay[cl]++
	if c.perTrac[id] == nil {
		c.perTrac[id] = map[string]int{}
	}
	c.perTrac[id][cl]++
	c.mu.Unlock()
}
func (c *spanCounter) Shutdown(context.Context) error   { return nil }
func (c *spanCounter) ForceFlush(context.Context) error { return nil }

// Run plays the gateway until the duration or request count is reached (or
// ctx ends), flushes the telemetry and returns the truth.
func Run(ctx context.Context, cfg Config) (*Truth, error) {
	cfg.defaults()
	if cfg.Duration <= 0 && cfg.Requests <= 0 {
		return nil, errors.New("sim: set a duration or a request count")
	}
	host, port := cfg.Endpoint, 4317
	if h, p, err := splitHostPort(cfg.Endpoint); err == nil {
		host, port = h, p
	}
	otel := &krakend.OpenTelemetry{
		ServiceName: cfg.Service, TraceSampleRate: cfg.SampleRate, MetricReportingPeriod: 5,
		Exporters: krakend.Exporters{OTLP: []krakend.OTLPExporter{{Name: "collector", Host: host, Port: port, UseHTTP: cfg.UseHTTP}}},
		Layers: krakend.Layers{Backend: krakend.BackendLayer{
			Metrics: krakend.BackendMetrics{RoundTrip: true, ReadPayload: true, DetailedConnection: true},
			Traces:  krakend.BackendTraces{RoundTrip: true, ReadPayload: true, DetailedConnection: true},
		}},
	}
	counter := &spanCounter{perLay: map[string]int64{}, perTrac: map[string]map[string]int{}}
	series := sdkmetric.NewManualReader()
	opts := []gatewayotel.Option{
		gatewayotel.WithTracerProviderOptions(sdktrace.WithSpanProcessor(counter)),
		gatewayotel.WithMeterProviderOptions(sdkmetric.WithReader(series)),
	}
	if cfg.Instance != "" {
		opts = append(opts, gatewayotel.WithInstanceID(cfg.Instance))
	}
	tel, shutdown, err := gatewayotel.Setup(ctx, otel, opts...)
	if err != nil {
		return nil, err
	}

	backend := httptest.NewServer(http.HandlerFunc(serveBackend))
	defer backend.Close()
	gw := newGateway(tel, backend.URL, cfg)

	var (
		requests, failures atomic.Int64
		mu                 sync.Mutex
		perEndpoint        = map[string]map[string]int64{}
		callerTraces       = map[string]bool{}
	)
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				status := gw.serve(j)
				requests.Add(1)
				if status >= 500 {
					failures.Add(1)
				}
				mu.Lock()
				route := gw.endpoints[j.endpoint].route
				if perEndpoint[route] == nil {
					perEndpoint[route] = map[string]int64{}
				}
				perEndpoint[route][strconv.Itoa(status)]++
				if j.callerTrace != "" {
					callerTraces[j.callerTrace] = true
				}
				mu.Unlock()
			}
		}()
	}

	// progress prints a line; points < 0 means count the metric series now
	// (the summary passes the count taken before the reader shut down).
	progress := func(label string, points int) {
		if cfg.Progress == nil {
			return
		}
		if points < 0 {
			points = countPoints(ctx, series)
		}
		fmt.Fprintf(cfg.Progress, "%s: requests=%d spans=%d metric_points=%d errors=%d\n",
			label, requests.Load(), counter.total.Load(), points, failures.Load())
	}

	runCtx := ctx
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	done := make(chan struct{})
	go func() {
		report := time.NewTicker(cfg.ProgressInterval)
		defer report.Stop()
		for {
			select {
			case <-report.C:
				progress("progress", -1)
			case <-done:
				return
			}
		}
	}()
dispatch:
	for n := 0; cfg.Requests <= 0 || n < cfg.Requests; n++ {
		if tick != nil {
			select {
			case <-tick:
			case <-runCtx.Done():
				break dispatch
			}
		}
		select {
		case jobs <- gw.next(rng):
		case <-runCtx.Done():
			break dispatch
		}
	}
	close(jobs)
	wg.Wait()
	close(done)

	points := countPoints(ctx, series)
	if err := shutdown(ctx); err != nil {
		return nil, fmt.Errorf("sim: flush telemetry: %w", err)
	}
	progress("summary", points)
	counter.mu.Lock()
	defer counter.mu.Unlock()
	return &Truth{
		Requests: requests.Load(), Errors: failures.Load(), Spans: counter.total.Load(), MetricPoints: points,
		SpansPerLayer: counter.perLay, Traces: counter.perTrac, RequestsPerEndpoint: perEndpoint,
		CallerTraces: callerTraces,
	}, nil
}

func countPoints(ctx context.Context, r *sdkmetric.ManualReader) int {
	var rm metricdata.ResourceMetrics
	if err := r.Collect(ctx, &rm); err != nil {
		return 0
	}
	n := 0
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				n += len(d.DataPoints)
			case metricdata.Histogram[int64]:
				n += len(d.DataPoints)
			case metricdata.Sum[int64]:
				n += len(d.DataPoints)
			case metricdata.Sum[float64]:
				n += len(d.DataPoints)
			}
		}
	}
	return n
}
