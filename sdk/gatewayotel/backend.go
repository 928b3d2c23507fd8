package gatewayotel

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// BackendInfo names one backend of one endpoint.
type BackendInfo struct {
	// EndpointRoute and EndpointMethod name the endpoint the backend serves
	// ({id} or :id form; an empty method is GET).
	EndpointRoute  string
	EndpointMethod string
	// URLPattern is the backend's url_pattern ({id} or :id form). As in
	// KrakenD, a {placeholder}'s name is reported lower-cased:
	// /v1/users/{userId} names the spans /v1/users/:userid.
	URLPattern string
	// Method is the configured backend method; empty means the endpoint's.
	Method string
	// ClientName is the clientname attribute of round-trip metrics; empty
	// means the URL pattern as reported (KrakenD's only value).
	ClientName string
}

// Transport instruments the calls to one backend (the backend layer) made
// through base (http.DefaultTransport when nil):
//
//   - the backend stage: an Internal span named by the URL pattern and
//     krakend.backend.duration, from the start of the call until the
//     response body is closed;
//   - the round trip: a Client span of the same name, the http.client.*
//     metrics and counters and, with detailed_connection, the get-conn, DNS
//     and TLS durations and the first-byte-time event;
//   - the payload reading: the http.client.response.read.tracker span (it
//     starts at the first read, after the round-trip span has ended) and the
//     read.* metrics.
//
// The layer switches come from the backend's override, the endpoint's, or
// layers.backend. As in KrakenD's default response handling, a backend status
// other than 200 or 201 is an error of the backend stage. Callers must close
// the response body, which ends the stage. The returned transport passes
// CloseIdleConnections on to base.
func (t *Telemetry) Transport(base http.RoundTripper, b BackendInfo) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	ep := t.Endpoint(b.EndpointRoute, b.EndpointMethod)
	pattern := backendRoute(b.URLPattern)
	method := b.Method
	if method == "" {
		method = ep.method
	}
	client := b.ClientName
	if client == "" {
		client = pattern
	}
	layer := t.backend
	if c := ep.conf; c != nil {
		if c.backend != nil {
			layer = *c.backend
		}
		if l, ok := c.backends[pattern]; ok {
			layer = l
		}
	}
	return newBackendTransport(t, base, ep, pattern, method, client, layer)
}

type backendTransport struct {
	t       *Telemetry
	base    http.RoundTripper
	pattern string
	skip    bool

	traceStage, traceRoundTrip, traceDetail, traceRead     bool
	metricStage, metricRoundTrip, metricDetail, metricRead bool
	reportHeaders                                          bool
	skipHeaders                                            map[string]struct{}

	stageTraceAttrs  []attribute.KeyValue
	stageMetricAttrs []attribute.KeyValue
	rtTraceAttrs     []attribute.KeyValue // also the read tracker's
	rtMetricAttrs    []attribute.KeyValue // without the method sent, server and status
	readMetricAttrs  metric.MeasurementOption
	readErrorAttrs   metric.MeasurementOption
}

func newBackendTransport(t *Telemetry, base http.RoundTripper, ep *Endpoint, pattern, method, client string, l krakend.BackendLayer) *backendTransport {
	tr, m := l.Traces, l.Metrics
	b := &backendTransport{
		t: t, base: base, pattern: pattern, skip: ep.skip,
		traceStage:     !tr.DisableStage,
		traceRoundTrip: tr.RoundTrip || tr.ReadPayload, // the read tracker needs its parent
		traceRead:      tr.ReadPayload,
		metricStage:    !m.DisableStage,
		// Round-trip metrics come with either switch; detailed_connection
		// alone produces nothing.
		metricRoundTrip: m.RoundTrip || m.ReadPayload,
		metricRead:      m.ReadPayload,
		reportHeaders:   tr.ReportHeaders,
		skipHeaders:     headerSet(tr.SkipHeaders),
	}
	b.traceDetail = b.traceRoundTrip && tr.DetailedConnection
	b.metricDetail = b.metricRoundTrip && m.DetailedConnection

	fixed := []attribute.KeyValue{
		attribute.String("http.request.method", method),
		attribute.String("http.route", pattern),
		attribute.String("krakend.endpoint.route", ep.route),
		attribute.String("krakend.endpoint.method", ep.method),
	}
	traceStatic, metricStatic := traceStaticAttributes(tr.StaticAttributes), staticAttributes(m.StaticAttributes)
	b.stageTraceAttrs = concat([]attribute.KeyValue{attribute.String(StageKey, StageBackend)}, fixed, traceStatic)
	b.stageMetricAttrs = concat(fixed, metricStatic)
	b.rtTraceAttrs = concat([]attribute.KeyValue{attribute.String(StageKey, StageBackendRequest)}, fixed, traceStatic)
	// As KrakenD orders them (http/client/transport_metrics.go:228-253):
	// the static attributes come before clientname and the method sent.
	b.rtMetricAttrs = concat(fixed, metricStatic, []attribute.KeyValue{attribute.String("clientname", client)})
	readAttrs := concat(fixed, metricStatic)
	b.readMetricAttrs = metric.WithAttributeSet(attribute.NewSet(readAttrs...))
	b.readErrorAttrs = metric.WithAttributeSet(attribute.NewSet(concat(readAttrs, []attribute.KeyValue{attribute.String("error", "true")})...))
	return b
}

func (b *backendTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if b.skip {
		return b.base.RoundTrip(req)
	}
	t := b.t
	start := time.Now()
	ctx := req.Context()
	stageCtx := ctx
	var stage trace.Span
	if b.traceStage {
		stageCtx, stage = t.tracer.Start(ctx, b.pattern, trace.WithSpanKind(trace.SpanKindInternal),
			trace.WithTimestamp(start), trace.WithAttributes(b.stageTraceAttrs...))
	}

	rtCtx := stageCtx
	var rt trace.Span
	urlFull := req.URL.Redacted()
	if b.traceRoundTrip {
		ctx2, s := t.tracer.Start(stageCtx, b.pattern, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(start), trace.WithAttributes(b.roundTripStartAttributes(req, urlFull)...))
		if s.IsRecording() { // an unsampled request gets no backend-request span
			rt, rtCtx = s, ctx2
		}
	}
	var ct *connTimes
	if b.traceDetail && rt != nil || b.metricDetail {
		ct = &connTimes{base: start}
		if b.traceDetail {
			ct.span = rt
		}
		rtCtx = httptrace.WithClientTrace(rtCtx, ct.clientTrace())
	}
	out := req.WithContext(rtCtx)
	if rt != nil {
		// Only a recorded backend-request span propagates, as in KrakenD.
		out.Header = req.Header.Clone()
		t.prop.Inject(rtCtx, propagation.HeaderCarrier(out.Header))
	}

	returned := false
	defer func() {
		if returned {
			return
		}
		// The base transport panicked: the spans end and the metrics
		// count a failed round trip, then the panic goes on, from here so
		// that its trace keeps the transport's frames.
		v := recover()
		b.abort(stageCtx, stage, rtCtx, rt, req, start, ct, v)
		if v != nil {
			panic(v)
		}
	}()
	resp, err := b.base.RoundTrip(out)
	returned = true
	end := time.Now()
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	canceled := err != nil && (errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled))
	// KrakenD reads the request's context (transport_metrics.go:188-202);
	// a transport's own timeout (net.Error) counts too.
	timedOut := err != nil && !canceled && (errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err))

	if rt != nil {
		if err != nil {
			rt.RecordError(err)
			rt.SetStatus(codes.Error, err.Error())
		} else {
			attrs := make([]attribute.KeyValue, 0, 8)
			attrs = append(attrs,
				attribute.Int("http.response.status_code", status),
				attribute.Int64("http.response.body.size", resp.ContentLength),
				attribute.Float64("response-duration", end.Sub(start).Seconds()))
			if b.traceDetail {
				attrs = append(attrs, ct.spanAttributes()...)
			}
			if b.reportHeaders {
				attrs = append(attrs, headerAttributes("http.response.header.", resp.Header, b.skipHeaders)...)
			}
			rt.SetAttributes(attrs...)
			rt.SetStatus(codes.Ok, "")
		}
		rt.End(trace.WithTimestamp(end))
	}
	if b.metricRoundTrip {
		// Each layer records in its own span's context, so that exemplars
		// point at it (krakend-otel http/client/transport.go:163,
		// lura/proxy.go:38-42, io/tracking.go:29).
		b.recordRoundTrip(rtCtx, req, resp, status, end.Sub(start), err, canceled, timedOut, ct)
	}

	if err != nil {
		b.endStage(stageCtx, stage, start, 0, err)
		return resp, err
	}
	if stage == nil && !b.metricStage && !b.traceRead && !b.metricRead {
		return resp, nil
	}
	readParent := stageCtx
	if rt != nil {
		readParent = trace.ContextWithSpan(stageCtx, rt)
	}
	tb := &trackedBody{
		rc: resp.Body, b: b, ctx: stageCtx, readParent: readParent, readCtx: readParent,
		stage: stage, start: start, status: status,
	}
	resp.Body = tb
	// The body of a 101 is the upgraded connection: it must stay writable
	// (httputil.ReverseProxy refuses a 101 whose body is not).
	if w, ok := tb.rc.(io.Writer); ok && status == http.StatusSwitchingProtocols {
		resp.Body = &trackedRWBody{trackedBody: tb, w: w}
	}
	return resp, nil
}

// CloseIdleConnections passes http.Client.CloseIdleConnections on to the
// base transport, which holds the connections.
func (b *backendTransport) CloseIdleConnections() {
	if c, ok := b.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (b *backendTransport) roundTripStartAttributes(req *http.Request, urlFull string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, len(b.rtTraceAttrs)+4)
	attrs = append(attrs, b.rtTraceAttrs...)
	// The request's own attributes follow the fixed ones, as in KrakenD
	// (http/client/transport_traces.go:97-98): the method is the one sent.
	attrs = append(attrs,
		attribute.String("url.full", urlFull),
		attribute.String("server.address", req.URL.Host),
		attribute.String("http.request.method", req.Method))
	if n, known := requestSize(req); known {
		attrs = append(attrs, attribute.Int64("http.request.body.size", n))
	}
	if ua := req.UserAgent(); ua != "" {
		attrs = append(attrs, attribute.String("user_agent.original", ua))
	}
	if b.reportHeaders {
		attrs = append(attrs, headerAttributes("http.request.header.", req.Header, b.skipHeaders)...)
	}
	return attrs
}

func (b *backendTransport) recordRoundTrip(ctx context.Context, req *http.Request, resp *http.Response, status int, d time.Duration, err error, canceled, timedOut bool, ct *connTimes) {
	inst := b.t.inst
	attrs := make([]attribute.KeyValue, 0, len(b.rtMetricAttrs)+4)
	attrs = append(attrs, b.rtMetricAttrs...)
	attrs = append(attrs,
		attribute.String("http.request.method", req.Method), // as sent: the gateway chose it
		attribute.String("server.address", req.URL.Hostname()),
		attribute.Int("server.port", serverPort(req)),
		attribute.Int("http.response.status_code", status))
	set := metric.WithAttributeSet(attribute.NewSet(attrs...))

	inst.clientDuration.Record(ctx, d.Seconds(), set)
	if n, known := requestSize(req); known {
		if inst.sem127 {
			inst.clientReqBodySize.Record(ctx, n, set)
		} else {
			inst.clientReqSize.Add(ctx, n, set)
		}
	}
	// With semantic_convention 1.27 the counters exist only with
	// detailed_connection.
	counters := !inst.sem127 || b.metricDetail
	if counters {
		inst.started.Add(ctx, 1, set)
		switch {
		case canceled: // a canceled request is not a failed one
			inst.canceled.Add(ctx, 1, set)
		case timedOut:
			inst.timedOut.Add(ctx, 1, set)
			inst.failed.Add(ctx, 1, set)
		case err != nil:
			inst.failed.Add(ctx, 1, set)
		}
	}
	// A HEAD response has no body to size: KrakenD records neither
	// (http/client/transport_metrics.go).
	if err == nil && req.Method != http.MethodHead {
		if resp.ContentLength >= 0 {
			inst.clientRespSize.Record(ctx, resp.ContentLength, set)
		} else if counters {
			inst.noContentLength.Add(ctx, 1, set)
		}
	}
	if b.metricDetail {
		getConn, dns, tlsDur := ct.durations()
		inst.getConn.Record(ctx, getConn, set)
		inst.dns.Record(ctx, dns, set)
		inst.tls.Record(ctx, tlsDur, set)
	}
}

// abort ends a round trip whose base transport did not return: it
// panicked with v, or called runtime.Goexit when v is nil. The round trip
// fails as on a transport error (status code 0), and so does the stage.
func (b *backendTransport) abort(stageCtx context.Context, stage trace.Span, rtCtx context.Context, rt trace.Span, req *http.Request, start time.Time, ct *connTimes, v any) {
	o := abortOutcome(v)
	end := time.Now()
	if rt != nil {
		if o.panicked {
			recordPanic(rt, v)
		} else {
			rt.RecordError(o.err)
			rt.SetStatus(codes.Error, o.err.Error())
		}
		rt.End(trace.WithTimestamp(end))
	}
	if b.metricRoundTrip {
		b.recordRoundTrip(rtCtx, req, nil, 0, end.Sub(start), o.err, false, false, ct)
	}
	b.endStageWith(stageCtx, stage, start, o)
}

// endStage ends the backend stage: its span and krakend.backend.duration.
func (b *backendTransport) endStage(ctx context.Context, stage trace.Span, start time.Time, status int, err error) {
	// Lura's DefaultHTTPStatusHandler accepts 200 and 201 only
	// (transport/http/client/status.go).
	if err == nil && status != http.StatusOK && status != http.StatusCreated {
		err = errInvalidStatusCode
	}
	b.endStageWith(ctx, stage, start, outcomeOf(ctx, status, err))
}

func (b *backendTransport) endStageWith(ctx context.Context, stage trace.Span, start time.Time, o outcome) {
	end := time.Now()
	if stage != nil {
		o.endSpan(stage, trace.WithTimestamp(end))
	}
	if b.metricStage {
		attrs := concat(b.stageMetricAttrs, o.metricAttributes())
		b.t.inst.backendDuration.Record(ctx, end.Sub(start).Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	}
}

// errInvalidStatusCode is the error of a backend stage whose backend answered
// with a status other than 200 or 201, as KrakenD's default response handling
// has it.
var errInvalidStatusCode = errors.New("invalid status code")

func requestSize(req *http.Request) (int64, bool) {
	if req.ContentLength > 0 {
		return req.ContentLength, true
	}
	if req.ContentLength == 0 && (req.Body == nil || req.Body == http.NoBody) {
		return 0, true
	}
	return 0, false
}

// serverPort is the backend's real port: the URL's, or the scheme's default
// (KrakenD reports 80 with an explicit port and 0 without).
func serverPort(req *http.Request) int {
	if p := req.URL.Port(); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			return n
		}
	}
	if req.URL.Scheme == "https" {
		return 443
	}
	return 80
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connTimes collects the connection phases of one round trip. httptrace may
// call back from dialing goroutines that outlive the round trip, hence the
// atomics.
type connTimes struct {
	base time.Time
	span trace.Span // receives first-byte-time; nil without detailed traces

	getConnStart, getConn atomic.Int64
	dnsStart, dns         atomic.Int64
	tlsStart, tlsDur      atomic.Int64
}

func (c *connTimes) since() int64 { return int64(time.Since(c.base)) }

func (c *connTimes) clientTrace() *httptrace.ClientTrace {
	done := func(start, dur *atomic.Int64) {
		if s := start.Load(); s != 0 {
			dur.Store(c.since() - s)
		}
	}
	return &httptrace.ClientTrace{
		GetConn:              func(string) { c.getConnStart.Store(c.since() | 1) },
		GotConn:              func(httptrace.GotConnInfo) { done(&c.getConnStart, &c.getConn) },
		DNSStart:             func(httptrace.DNSStartInfo) { c.dnsStart.Store(c.since() | 1) },
		DNSDone:              func(httptrace.DNSDoneInfo) { done(&c.dnsStart, &c.dns) },
		TLSHandshakeStart:    func() { c.tlsStart.Store(c.since() | 1) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { done(&c.tlsStart, &c.tlsDur) },
		GotFirstResponseByte: c.firstByte,
	}
}

func (c *connTimes) firstByte() {
	if c.span != nil {
		c.span.AddEvent("first-byte-time")
	}
}

// durations returns the get-conn, DNS and TLS durations in seconds, 0 for a
// phase that did not happen.
func (c *connTimes) durations() (getConn, dns, tlsDur float64) {
	if c == nil {
		return 0, 0, 0
	}
	sec := func(v *atomic.Int64) float64 { return time.Duration(v.Load()).Seconds() }
	return sec(&c.getConn), sec(&c.dns), sec(&c.tlsDur)
}

func (c *connTimes) spanAttributes() []attribute.KeyValue {
	getConn, dns, tlsDur := c.durations()
	return []attribute.KeyValue{
		attribute.Float64("get-conn-duration", getConn),
		attribute.Float64("dns-duration", dns),
		attribute.Float64("tls-duration", tlsDur),
	}
}

// trackedBody measures the reading of a backend's response body and ends the
// backend stage when closed.
type trackedBody struct {
	rc         io.ReadCloser
	b          *backendTransport
	ctx        context.Context
	readParent context.Context
	readCtx    context.Context // the read tracker's, for the read.* metrics

	mu        sync.Mutex
	stage     trace.Span
	start     time.Time
	status    int
	err       error
	reading   bool
	readDone  bool
	readStart time.Time
	readSpan  trace.Span
	size      int64
	closed    bool
}

func (tb *trackedBody) Read(p []byte) (int, error) {
	tb.mu.Lock()
	if !tb.reading && !tb.readDone && !tb.closed {
		tb.reading = true
		tb.readStart = time.Now()
		if tb.b.traceRead {
			// Only the backend-request's fixed attributes, as KrakenD's
			// (lura/backend.go:90-99, io/tracking.go:30): no url.full.
			tb.readCtx, tb.readSpan = tb.b.t.tracer.Start(tb.readParent, ReadTrackerSpanName,
				trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(tb.readStart), trace.WithAttributes(tb.b.rtTraceAttrs...))
		}
	}
	tb.mu.Unlock()

	returned := false
	defer func() {
		if returned {
			return
		}
		// The body's Read panicked: the read tracker ends with it, the
		// stage (ended by Close) is an error, and the panic goes on.
		v := recover()
		err := abortError(v)
		tb.mu.Lock()
		tb.finishRead(err)
		if tb.err == nil {
			tb.err = err
		}
		tb.mu.Unlock()
		if v != nil {
			panic(v)
		}
	}()
	n, err := tb.rc.Read(p)
	returned = true

	tb.mu.Lock()
	tb.size += int64(n)
	if err != nil {
		var readErr error
		if err != io.EOF {
			readErr = err
		}
		tb.finishRead(readErr)
	}
	tb.mu.Unlock()
	return n, err
}

func (tb *trackedBody) Close() error {
	returned := false
	defer func() {
		if returned {
			return
		}
		// The body's Close panicked: the stage still ends, as an error,
		// and the panic goes on.
		v := recover()
		tb.end(abortError(v))
		if v != nil {
			panic(v)
		}
	}()
	err := tb.rc.Close()
	returned = true
	tb.end(nil)
	return err
}

// end ends the read tracker and the stage once; closeErr is an error of
// Close itself.
func (tb *trackedBody) end(closeErr error) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.closed {
		return
	}
	tb.closed = true
	tb.finishRead(nil)
	if tb.err == nil {
		tb.err = closeErr
	}
	tb.b.endStage(tb.ctx, tb.stage, tb.start, tb.status, tb.err)
}

// trackedRWBody is a trackedBody that also writes to the upgraded
// connection of a 101 response.
type trackedRWBody struct {
	*trackedBody
	w io.Writer
}

func (b *trackedRWBody) Write(p []byte) (int, error) { return b.w.Write(p) }

// finishRead ends the read tracker once; mu must be held.
func (tb *trackedBody) finishRead(err error) {
	if !tb.reading || tb.readDone {
		return
	}
	tb.readDone = true
	if err != nil && tb.err == nil {
		tb.err = err
	}
	end := time.Now()
	d := end.Sub(tb.readStart).Seconds()
	if tb.readSpan != nil {
		tb.readSpan.SetAttributes(
			attribute.Int64("http.client.response.read.size", tb.size),
			attribute.Float64("http.client.response.read.time", d))
		// KrakenD sets Ok on a read without error (io/tracking.go:64).
		if pe, ok := err.(panicError); ok {
			recordPanic(tb.readSpan, pe.v)
		} else if err != nil {
			tb.readSpan.RecordError(err)
			tb.readSpan.SetStatus(codes.Error, err.Error())
		} else {
			tb.readSpan.SetStatus(codes.Ok, "")
		}
		tb.readSpan.End(trace.WithTimestamp(end))
	}
	if tb.b.metricRead {
		inst, set := tb.b.t.inst, tb.b.readMetricAttrs
		if err != nil {
			set = tb.b.readErrorAttrs
		}
		inst.readSize.Add(tb.readCtx, tb.size, set)
		inst.readSizeHist.Record(tb.readCtx, tb.size, set)
		inst.readTime.Add(tb.readCtx, d, set)
		inst.readTimeHist.Record(tb.readCtx, d, set)
	}
}
