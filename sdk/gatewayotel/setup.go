package gatewayotel

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/credentials"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// SchemaURL is the schema of the gateway's resource.
const SchemaURL = "https://opentelemetry.io/schemas/1.21.0"

// Option changes how Setup or Resource build the telemetry. A nil Option
// changes nothing.
type Option func(*options)

type options struct {
	tls            *tls.Config
	instanceID     string
	serviceVersion string
	propagators    []string
	tp             trace.TracerProvider
	mp             metric.MeterProvider
	endpoints      []krakend.Endpoint
	traceOpts      []sdktrace.TracerProviderOption
	metricOpts     []sdkmetric.Option
}

// WithTLS makes every OTLP exporter use TLS with this configuration, over
// gRPC as well as HTTP (a custom CA or a client certificate, which KrakenD
// cannot set). Without it, an exporter uses TLS with the system roots when
// its host starts with https://: over HTTP as KrakenD does, and over gRPC
// too, where KrakenD sends plaintext whatever the scheme (the scheme's
// intent, README's table of differences).
func WithTLS(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// WithInstanceID sets service.instance.id. By default each Setup draws a
// random one, so that replicas of one gateway never share an identity; the
// variable OTEL_RESOURCE_ATTRIBUTES can set it too, and this option wins over
// both.
func WithInstanceID(id string) Option { return func(o *options) { o.instanceID = id } }

// WithServiceVersion is the service.version used when service_version is not
// configured (KrakenD reports its own build version there). Without it, the
// main module's version is used when the binary carries one.
func WithServiceVersion(v string) Option { return func(o *options) { o.serviceVersion = v } }

// WithPropagators chooses the propagators by their OTEL_PROPAGATORS names:
// "tracecontext", "baggage", "b3" (single header), "b3multi" and "none"; any
// other name makes Setup fail. Without it, the variable OTEL_PROPAGATORS
// chooses, as in KrakenD (its autoprop.NewTextMapPropagator, otel.go:86):
// "none" anywhere in it propagates nothing, names this package does not
// know ("jaeger", "xray", "ottrace", or a typo) are skipped and reported to
// the OpenTelemetry error handler, and when it is unset or names nothing
// known, tracecontext and baggage are used.
func WithPropagators(names ...string) Option {
	return func(o *options) { o.propagators = append([]string(nil), names...) }
}

// WithTracerProvider makes Setup use this provider instead of building one
// with OTLP exporters (for tests, or a gateway that owns its provider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(o *options) { o.tp = tp } }

// WithMeterProvider makes Setup use this provider instead of building one.
func WithMeterProvider(mp metric.MeterProvider) Option { return func(o *options) { o.mp = mp } }

// WithEndpoints gives the endpoints of the krakend.json, whose per-endpoint
// and per-backend overrides (proxy, global static attributes, backend) then
// apply to the instrumentation of matching routes.
func WithEndpoints(eps []krakend.Endpoint) Option {
	return func(o *options) { o.endpoints = eps }
}

// WithTracerProviderOptions adds options to the tracer provider Setup builds
// (for example a span processor of the caller's own).
func WithTracerProviderOptions(opts ...sdktrace.TracerProviderOption) Option {
	return func(o *options) { o.traceOpts = append(o.traceOpts, opts...) }
}

// WithMeterProviderOptions adds options to the meter provider Setup builds
// (for example a reader of the caller's own).
func WithMeterProviderOptions(opts ...sdkmetric.Option) Option {
	return func(o *options) { o.metricOpts = append(o.metricOpts, opts...) }
}

// Setup builds the gateway's tracer and meter providers from cfg and returns
// the Telemetry that instruments the three layers, and a shutdown function
// that flushes and stops both providers. The shutdown function is safe to
// call more than once and from several goroutines: the first call shuts
// down and returns its error; the others wait for it and return nil (or
// their own context's error if it ends first).
//
// Every exporters.otlp[] entry becomes one OTLP exporter (gRPC, or HTTP with
// use_http) for traces, metrics or both. exporters.prometheus[] entries are
// not served here: the collector exposes the gateway's /metrics.
//
// Setup reads cfg and the endpoints given WithEndpoints once, before it
// returns: changing them afterwards (reloading krakend.json into the same
// structs) changes nothing and does not race with the instrumentation; a
// new configuration takes a new Setup.
//
// A malformed OTEL_RESOURCE_ATTRIBUTES does not fail Setup: the resource
// keeps its well-formed pairs and the problem goes to the OpenTelemetry
// error handler (otel.Handle), as an unknown OTEL_PROPAGATORS name does.
//
// When Setup fails, it has already shut down the exporters and providers it
// built (with ctx's values but not its cancellation), so nothing it started
// keeps running.
func Setup(ctx context.Context, cfg *krakend.OpenTelemetry, opts ...Option) (*Telemetry, func(context.Context) error, error) {
	if cfg == nil {
		return nil, nil, errNoConfig
	}
	o := collect(opts)
	prop, err := propagators(o.propagators)
	if err != nil {
		return nil, nil, err
	}
	// stops shuts down what Setup has built, in the order it was built: the
	// providers, and the batch span processors and periodic readers not
	// yet handed to one (each runs a goroutine and owns its exporter).
	var stops []func(context.Context) error
	stopAll := func(ctx context.Context) error {
		var errs []error
		for _, s := range stops {
			errs = append(errs, s(ctx))
		}
		return errors.Join(errs...)
	}
	// fail shuts down what was built before returning err, even when ctx
	// is done: a canceled context is a reason to fail, not to leak.
	fail := func(err error) (*Telemetry, func(context.Context) error, error) {
		_ = stopAll(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	// Only the first call shuts down (a meter provider's second Shutdown
	// is an error); the others wait for it to finish.
	var called atomic.Bool
	done := make(chan struct{})
	shutdown := func(ctx context.Context) error {
		if called.CompareAndSwap(false, true) {
			defer close(done)
			return stopAll(ctx)
		}
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	var res *resource.Resource
	if o.tp == nil || o.mp == nil {
		if res, err = Resource(ctx, cfg, opts...); err != nil {
			if !partialOnly(err) {
				return nil, nil, err
			}
			// A malformed OTEL_RESOURCE_ATTRIBUTES is reported, not fatal
			// (the specification's advice): the SDK kept the well-formed
			// pairs, and the gateway keeps its own keys.
			otel.Handle(err)
		}
	}
	if o.tp == nil {
		topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(Sampler(cfg.TraceSampleRate))}
		built := len(stops)
		for _, e := range cfg.Exporters.OTLP {
			if e.DisableTraces {
				continue
			}
			exp, err := traceExporter(ctx, e, o.tls)
			if err != nil {
				return fail(fmt.Errorf("gatewayotel: exporters.otlp %q: %w", e.Name, err))
			}
			bsp := sdktrace.NewBatchSpanProcessor(exp)
			stops = append(stops, bsp.Shutdown)
			topts = append(topts, sdktrace.WithSpanProcessor(bsp))
		}
		if len(stops) == built && len(o.traceOpts) == 0 {
			// No exporter takes traces: KrakenD's provider is then a noop
			// one (state/state.go:115-127), so no span records and no
			// traceparent of an unexported span reaches a backend.
			o.tp = tracenoop.NewTracerProvider()
		} else {
			tp := sdktrace.NewTracerProvider(append(topts, o.traceOpts...)...)
			// The provider now shuts its span processors down.
			stops = append(stops[:built], tp.Shutdown)
			o.tp = tp
		}
	}
	if o.mp == nil {
		mopts := []sdkmetric.Option{sdkmetric.WithResource(res)}
		built := len(stops)
		for _, e := range cfg.Exporters.OTLP {
			if e.DisableMetrics {
				continue
			}
			exp, err := metricExporter(ctx, e, o.tls)
			if err != nil {
				return fail(fmt.Errorf("gatewayotel: exporters.otlp %q: %w", e.Name, err))
			}
			period := cfg.MetricReportingPeriod
			if e.CustomMetricReportingPeriod > 0 {
				period = e.CustomMetricReportingPeriod
			}
			var ropts []sdkmetric.PeriodicReaderOption
			if period > 0 { // <= 0 keeps the SDK's 60 s, as in KrakenD
				ropts = append(ropts, sdkmetric.WithInterval(time.Duration(period)*time.Second))
			}
			reader := sdkmetric.NewPeriodicReader(exp, ropts...)
			stops = append(stops, reader.Shutdown)
			mopts = append(mopts, sdkmetric.WithReader(reader))
		}
		mp := sdkmetric.NewMeterProvider(append(mopts, o.metricOpts...)...)
		// The provider now shuts its readers down.
		stops = append(stops[:built], mp.Shutdown)
		o.mp = mp
	}
	t, err := newTelemetry(cfg, o, prop)
	if err != nil {
		return fail(err)
	}
	return t, shutdown, nil
}

var errNoConfig = errors.New("gatewayotel: no telemetry/opentelemetry configuration")

func collect(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		if opt != nil { // an option chosen at run time may be left nil
			opt(o)
		}
	}
	return o
}

// Sampler is KrakenD's sampler for trace_sample_rate: only 0 < rate < 1
// samples, parent-based on the trace ID ratio; any other rate keeps every
// trace, whatever the parent decided.
func Sampler(rate float64) sdktrace.Sampler {
	if rate > 0 && rate < 1 {
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(rate))
	}
	return sdktrace.AlwaysSample()
}

// Resource builds the gateway's resource: service.name, service.version,
// deployment.environment (only when deploy_env is set) and
// service.instance.id, with schema URL 1.21.0. OTEL_RESOURCE_ATTRIBUTES is
// merged in; the configured keys win over it.
//
// As resource.New, Resource returns a partial resource together with an
// error wrapping resource.ErrPartialResource when OTEL_RESOURCE_ATTRIBUTES
// is malformed: the resource holds every well-formed pair and the
// configured keys, and the caller chooses whether to use it (Setup does,
// and reports the error to the OpenTelemetry error handler).
func Resource(ctx context.Context, cfg *krakend.OpenTelemetry, opts ...Option) (*resource.Resource, error) {
	if cfg == nil {
		return nil, errNoConfig
	}
	o := collect(opts)
	own := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	if v := serviceVersion(cfg, o); v != "" {
		own = append(own, attribute.String("service.version", v))
	}
	if cfg.DeployEnv != "" {
		own = append(own, attribute.String("deployment.environment", cfg.DeployEnv))
	}
	ropts := []resource.Option{
		// Later options win: the random id, then the environment, then the
		// configuration, then an explicit instance id.
		resource.WithAttributes(attribute.String("service.instance.id", randomInstanceID())),
		resource.WithFromEnv(),
		resource.WithAttributes(own...),
		resource.WithSchemaURL(SchemaURL),
	}
	if o.instanceID != "" {
		ropts = append(ropts, resource.WithAttributes(attribute.String("service.instance.id", o.instanceID)))
	}
	res, err := resource.New(ctx, ropts...)
	if err != nil {
		if partialOnly(err) {
			// Only the environment's detector can be partial.
			return res, fmt.Errorf("gatewayotel: resource: OTEL_RESOURCE_ATTRIBUTES: %w", err)
		}
		return nil, fmt.Errorf("gatewayotel: resource: %w", err)
	}
	return res, nil
}

// partialOnly tells whether every error err gathers is a partial resource
// (resource.ErrPartialResource): one other error among them, such as a
// schema URL conflict, makes the resource unusable.
func partialOnly(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case interface{ Unwrap() []error }:
		members := e.Unwrap()
		for _, m := range members {
			if !partialOnly(m) {
				return false
			}
		}
		return len(members) > 0
	}
	if err == resource.ErrPartialResource { // the chain is walked here, not with errors.Is
		return true
	}
	return partialOnly(errors.Unwrap(err))
}

func serviceVersion(cfg *krakend.OpenTelemetry, o *options) string {
	if cfg.ServiceVersion != "" {
		return cfg.ServiceVersion
	}
	if o.serviceVersion != "" {
		return o.serviceVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return ""
}

// randomInstanceID is a random UUID (version 4).
func randomInstanceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

func propagators(names []string) (propagation.TextMapPropagator, error) {
	if len(names) == 0 {
		return envPropagators(), nil
	}
	var ps []propagation.TextMapPropagator
	for _, n := range names {
		p, ok, none := namedPropagator(n)
		switch {
		case none:
			return propagation.NewCompositeTextMapPropagator(), nil
		case !ok:
			return nil, fmt.Errorf("gatewayotel: unknown propagator %q: known ones are %s", n, knownPropagators)
		}
		ps = append(ps, p)
	}
	return propagation.NewCompositeTextMapPropagator(ps...), nil
}

const knownPropagators = "tracecontext, baggage, b3, b3multi and none"

// envPropagators reads OTEL_PROPAGATORS as KrakenD's autoprop does.
func envPropagators() propagation.TextMapPropagator {
	v, set := os.LookupEnv("OTEL_PROPAGATORS")
	var ps []propagation.TextMapPropagator
	var unknown []string
	if set {
		for _, n := range strings.Split(v, ",") {
			if strings.TrimSpace(n) == "" { // "" is unset; a stray comma names nothing
				continue
			}
			p, ok, none := namedPropagator(n)
			switch {
			case none:
				return propagation.NewCompositeTextMapPropagator()
			case !ok:
				unknown = append(unknown, n)
				continue
			}
			ps = append(ps, p)
		}
	}
	if len(unknown) > 0 {
		otel.Handle(fmt.Errorf("gatewayotel: OTEL_PROPAGATORS: skipping %q: known ones are %s", strings.Join(unknown, ","), knownPropagators))
	}
	if len(ps) == 0 {
		ps = []propagation.TextMapPropagator{propagation.TraceContext{}, propagation.Baggage{}}
	}
	return propagation.NewCompositeTextMapPropagator(ps...)
}

func namedPropagator(name string) (p propagation.TextMapPropagator, ok, none bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "tracecontext":
		return propagation.TraceContext{}, true, false
	case "baggage":
		return propagation.Baggage{}, true, false
	case "b3":
		return b3.New(b3.WithInjectEncoding(b3.B3SingleHeader)), true, false
	case "b3multi":
		return b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)), true, false
	case "none":
		return nil, true, true
	}
	return nil, false, false
}

// exporterEndpoint returns host:port as the gateway builds it, and whether
// the exporter uses TLS (and with which configuration). A port written in
// host wins, as in the translation: where the gateway sends when it can
// (after a path), what was meant where it cannot.
func exporterEndpoint(e krakend.OTLPExporter, tlsCfg *tls.Config) (string, *tls.Config) {
	// An OTLPExporter built in Go gets KrakenD's defaults for what it
	// leaves zero (exporter/otelcollector/otelcollector.go:160-165).
	if e.Host == "" {
		e.Host = "localhost"
	}
	if e.Port == 0 {
		e.Port = 4317
	}
	host, scheme := e.HostName()
	port := e.Port
	if written, _ := e.HostPort(); written != 0 {
		port = written
	}
	var endpoint string
	if strings.HasPrefix(host, "[") { // an IPv6 literal keeps its brackets
		endpoint = host + ":" + strconv.Itoa(port)
	} else {
		endpoint = net.JoinHostPort(host, strconv.Itoa(port))
	}
	if tlsCfg == nil && scheme == "https" {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return endpoint, tlsCfg
}

func traceExporter(ctx context.Context, e krakend.OTLPExporter, tlsCfg *tls.Config) (sdktrace.SpanExporter, error) {
	endpoint, tlsCfg := exporterEndpoint(e, tlsCfg)
	if e.UseHTTP {
		opts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(endpoint)}
		if tlsCfg != nil {
			opts = append(opts, otlptracehttp.WithTLSClientConfig(tlsCfg))
		} else {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
		return otlptracehttp.New(ctx, opts...)
	}
	opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(endpoint)}
	if tlsCfg != nil {
		opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
	} else {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	return otlptracegrpc.New(ctx, opts...)
}

func metricExporter(ctx context.Context, e krakend.OTLPExporter, tlsCfg *tls.Config) (sdkmetric.Exporter, error) {
	endpoint, tlsCfg := exporterEndpoint(e, tlsCfg)
	if e.UseHTTP {
		opts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(endpoint)}
		if tlsCfg != nil {
			opts = append(opts, otlpmetrichttp.WithTLSClientConfig(tlsCfg))
		} else {
			opts = append(opts, otlpmetrichttp.WithInsecure())
		}
		return otlpmetrichttp.New(ctx, opts...)
	}
	opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpoint(endpoint)}
	if tlsCfg != nil {
		opts = append(opts, otlpmetricgrpc.WithTLSCredentials(credentials.NewTLS(tlsCfg)))
	} else {
		opts = append(opts, otlpmetricgrpc.WithInsecure())
	}
	return otlpmetricgrpc.New(ctx, opts...)
}
