package gatewayotel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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

	conf *endpointConf // nil when the endpoint is not in WithEndpoints
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

func (t *Telemetry) newEndpoint(route, method string, conf *endpointConf) *Endpoint {
	if method == "" {
		method = http.MethodGet
	}
	e := &Endpoint{t: t, route: route, method: method, skip: t.skipped(route), proxy: t.proxy, conf: conf}
	if conf != nil {
		if conf.proxy != nil {
			e.proxy = *conf.proxy // replaces layers.proxy whole
		}
		e.globalTraceAttrs = conf.globalTraceAttrs
		e.globalMetricAttrs = conf.globalMetricAttrs
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
	returned := false
	defer func() {
		if returned {
			return
		}
		// fn panicked: the span ends and the metrics count an error, then
		// the panic goes on, from here so that its trace keeps fn's frames.
		v := recover()
		e.end(ctx, span, start, abortOutcome(v))
		if v != nil {
			panic(v)
		}
	}()
	status, err := fn(ctx)
	returned = true
	e.end(ctx, span, start, outcomeOf(ctx, status, err))
	return status, err
}

func (e *Endpoint) end(ctx context.Context, span trace.Span, start time.Time, o outcome) {
	if span != nil {
		o.endSpan(span)
	}
	if !e.proxy.DisableMetrics {
		attrs := concat(e.metricAttrs, o.metricAttributes())
		e.t.inst.proxyDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	}
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
	panicked bool // err is a panicError
}

// abortOutcome is the outcome of a stage whose code did not return: it
// panicked with v, or called runtime.Goexit when v is nil. Either is an
// error (KrakenD has no such outcome: a panic there crashes the gateway or
// is answered by gin's recovery with a 500).
func abortOutcome(v any) outcome {
	err := abortError(v)
	_, panicked := err.(panicError)
	return outcome{status: http.StatusInternalServerError, err: err, failed: true, panicked: panicked}
}

// abortError is the error of code that panicked with v, or called
// runtime.Goexit when v is nil.
func abortError(v any) error {
	if v == nil {
		return errGoexit
	}
	return panicError{v}
}

// endSpan sets the outcome's attributes on a proxy or backend stage span
// and ends it. Only a panic sets a status: KrakenD sets none on these
// spans, and a panic is no outcome of KrakenD's.
func (o outcome) endSpan(span trace.Span, opts ...trace.SpanEndOption) {
	span.SetAttributes(o.spanAttributes()...)
	if o.panicked {
		recordPanic(span, o.err.(panicError).v)
	}
	span.End(opts...)
}

// panicError is the error of a layer whose code panicked with v.
type panicError struct{ v any }

func (e panicError) Error() string { return "panic: " + fmt.Sprint(e.v) }

// errGoexit is the error of a layer whose code called runtime.Goexit.
var errGoexit = errors.New("runtime.Goexit")

// recordPanic records a recovered panic on span as the SDK's span.End
// does for a panic it sees (what otelhttp relies on): an exception event
// with the value's type and message. The span's status becomes Error.
func recordPanic(span trace.Span, v any) {
	span.AddEvent("exception", trace.WithAttributes(
		attribute.String("exception.type", panicType(v)),
		attribute.String("exception.message", fmt.Sprint(v))))
	span.SetStatus(codes.Error, panicError{v}.Error())
}

// panicType names the type of a panic's value as the SDK names an
// exception's: package path and name, or, for a builtin or unnamed type,
// the type as Go writes it (the SDK writes ".string" for a string).
func panicType(v any) string {
	t := reflect.TypeOf(v)
	if t.PkgPath() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

func outcomeOf(ctx context.Context, status int, err error) outcome {
	o := outcome{status: status, err: err}
	if err == nil {
		return o
	}
	if _, ok := err.(panicError); ok { // the body's reading panicked
		o.panicked = true
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
