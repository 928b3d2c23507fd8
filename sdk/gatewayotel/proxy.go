package gatewayotel

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// Endpoint is the instrumentation of one gateway endpoint, with its
// configuration resolved once: the endpoint's own `proxy` override or
// layers.proxy, and its global static attributes.
type Endpoint struct {
	t      *Telemetry
	route  string // colon form
	method string
	skip   bool

	proxy             krakend.ProxyLayer
	proxySkipHdr      map[string]struct{}
	traceAttrs        []attribute.KeyValue // proxy span, at start
	metricAttrs       []attribute.KeyValue // proxy metrics, without the outcome
	globalTraceAttrs  []attribute.KeyValue // added to the global span
	globalMetricAttrs []attribute.KeyValue // added to the global metrics

	conf *krakend.Endpoint // nil when the endpoint is not in WithEndpoints
}

// Endpoint returns the instrumentation of the endpoint with this pattern
// ({id} or :id form) and method (empty means GET). Handles are cached: call
// it per request or keep the result.
func (t *Telemetry) Endpoint(route, method string) *Endpoint {
	route = ColonRoute(route)
	key := endpointKey(route, method)
	if e, ok := t.endpoints.Load(key); ok {
		return e.(*Endpoint)
	}
	e := t.newEndpoint(route, method, t.configured[key])
	actual, _ := t.endpoints.LoadOrStore(key, e)
	return actual.(*Endpoint)
}

func (t *Telemetry) newEndpoint(route, method string, conf *krakend.Endpoint) *Endpoint {
	if method == "" {
		method = http.MethodGet
	}
	e := &Endpoint{t: t, route: route, method: method, skip: t.skipped(route), proxy: t.cfg.Layers.Proxy, conf: conf}
	if conf != nil && conf.Telemetry != nil {
		if conf.Telemetry.Proxy != nil {
			e.proxy = *conf.Telemetry.Proxy // replaces layers.proxy whole
		}
		e.globalTraceAttrs = traceStaticAttributes(conf.Telemetry.GlobalTracesStaticAttributes)
		e.globalMetricAttrs = staticAttributes(conf.Telemetry.GlobalMetricsStaticAttributes)
	}
	e.proxySkipHdr = headerSet(e.proxy.SkipHeaders)
	fixed := []attribute.KeyValue{
		attribute.String("http.request.method", method),
		attribute.String("http.route", route),
	}
	e.traceAttrs = concat([]attribute.KeyValue{attribute.String(StageKey, StageProxy)}, fixed, traceStaticAttributes(e.proxy.TracesStaticAttributes))
	e.metricAttrs = concat(fixed, staticAttributes(e.proxy.MetricsStaticAttributes))
	return e
}

// Route returns the endpoint pattern in colon form.
func (e *Endpoint) Route() string { return e.route }

// Method returns the endpoint's method.
func (e *Endpoint) Method() string { return e.method }

// Proxy runs fn, the endpoint's merging of its backends, as the proxy layer:
// an Internal span named by the endpoint pattern and krakend.proxy.duration.
// fn returns the status the endpoint answers with and its error; the span
// records the error message, or canceled when the context was canceled
// (which, as in KrakenD, is not an error unless one of the errors fn
// gathers is something else), the status (500 on any error) and complete
// (no error). header, when not nil, is reported with report_headers.
func (e *Endpoint) Proxy(ctx context.Context, header http.Header, fn func(context.Context) (int, error)) (int, error) {
	if e.skip || (e.proxy.DisableTraces && e.proxy.DisableMetrics) {
		return fn(ctx)
	}
	t := e.t
	start := time.Now()
	var span trace.Span
	if !e.proxy.DisableTraces {
		attrs := e.traceAttrs
		if e.proxy.ReportHeaders && header != nil {
			attrs = concat(attrs, headerAttributes("http.request.header.", header, e.proxySkipHdr))
		}
		ctx, span = t.tracer.Start(ctx, e.route, trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithTimestamp(start), trace.WithAttributes(attrs...))
	}
	status, err := fn(ctx)
	o := outcomeOf(ctx, status, err)
	if span != nil {
		span.SetAttributes(o.spanAttributes()...)
		span.End()
	}
	if !e.proxy.DisableMetrics {
		attrs := concat(e.metricAttrs, o.metricAttributes())
		t.inst.proxyDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	}
	return status, err
}

// Proxy is Endpoint(route, method).Proxy(ctx, nil, fn).
func (t *Telemetry) Proxy(ctx context.Context, route, method string, fn func(context.Context) (int, error)) (int, error) {
	return t.Endpoint(route, method).Proxy(ctx, nil, fn)
}

// outcome is how a proxy or backend stage ended.
type outcome struct {
	status   int
	err      error
	canceled bool // the context was canceled: KrakenD does not count it as an error
	failed   bool // an error other than the cancellation
}

func outcomeOf(ctx context.Context, status int, err error) outcome {
	o := outcome{status: status, err: err}
	if err == nil {
		return o
	}
	o.status = http.StatusInternalServerError
	o.canceled = errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled)
	// A gathered error (Lura's multi-error Errors(), or errors.Join) is
	// canceled when one member is, and an error when one member is not
	// a cancellation: KrakenD counts both (lura/proxy_meter.go report).
	for _, member := range gatheredErrors(err) {
		if errors.Is(member, context.Canceled) {
			o.canceled = true
		} else {
			o.failed = true
		}
	}
	if !o.canceled {
		o.failed = true
	}
	return o
}

// gatheredErrors returns the members of an error that gathers several:
// Lura's multi-error has Errors() and no Unwrap, errors.Join has Unwrap.
func gatheredErrors(err error) []error {
	switch e := err.(type) {
	case interface{ Errors() []error }:
		return e.Errors()
	case interface{ Unwrap() []error }:
		return e.Unwrap()
	}
	return nil
}

func (o outcome) spanAttributes() []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4)
	if o.failed {
		attrs = append(attrs, attribute.String("error", o.err.Error()))
	}
	if o.canceled {
		attrs = append(attrs, attribute.Bool("canceled", true))
	}
	return append(attrs,
		attribute.Int("http.response.status_code", o.status),
		attribute.Bool("complete", o.err == nil))
}

func (o outcome) metricAttributes() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.Bool("error", o.failed),
		attribute.Bool("canceled", o.canceled),
		attribute.Bool("complete", o.err == nil),
	}
}
