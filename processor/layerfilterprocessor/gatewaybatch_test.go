package layerfilterprocessor

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

// A KrakenD-shaped batch, as DESIGN.md section 2 describes it: per request
// the five spans (global, proxy, backend stage, backend-request, read
// tracker) with their attributes and headers, and every metric of the
// section's table with its attributes.

type gwRequest struct {
	rawPath  string // with query: /users/42?expand=1
	route    string // endpoint pattern, colon form
	method   string
	pattern  string // backend url_pattern, colon form
	host     string
	status   int64
	headers  bool // record headers, as report_headers does
	hostPort int64
}

func req(rawPath, route, pattern string) gwRequest {
	return gwRequest{rawPath: rawPath, route: route, method: "GET", pattern: pattern, host: "backend.internal", status: 200, headers: true, hostPort: 8080}
}

var (
	reqUser   = req("/users/42?expand=1", "/users/:id", "/v1/users/:id")
	reqOrders = req("/orders", "/orders", "/v1/orders")
	reqHealth = req("/__health", "/__health", "/__health")
)

func putHeaders(attrs pcommon.Map, prefix string, kv ...string) {
	for i := 0; i < len(kv); i += 2 {
		attrs.PutEmptySlice(prefix + kv[i]).AppendEmpty().SetStr(kv[i+1])
	}
}

func putBackendFixed(a pcommon.Map, r gwRequest) {
	a.PutStr("http.request.method", r.method)
	a.PutStr("http.route", r.pattern)
	a.PutStr("krakend.endpoint.route", r.route)
	a.PutStr("krakend.endpoint.method", r.method)
}

func appendRequestSpans(spans ptrace.SpanSlice, r gwRequest, traceNo byte) {
	tid := pcommon.TraceID{traceNo, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	parent := pcommon.SpanID{}
	next := func(name string, kind ptrace.SpanKind, n byte) ptrace.Span {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID{traceNo, n, 0, 0, 0, 0, 0, 1})
		s.SetParentSpanID(parent)
		parent = s.SpanID()
		s.SetName(name)
		s.SetKind(kind)
		s.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + int64(n)*1000))
		s.SetEndTimestamp(pcommon.Timestamp(1_700_000_000_100_000_000))
		return s
	}

	// global
	path := r.rawPath
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	g := next(path, ptrace.SpanKindServer, 1)
	g.Status().SetCode(ptrace.StatusCodeOk)
	a := g.Attributes()
	a.PutStr("krakend.stage", "global")
	a.PutStr("url.full", r.rawPath)
	a.PutStr("server.address", "api.example.com")
	a.PutStr("http.request.method", r.method)
	a.PutStr("user_agent.original", "curl/8.5.0")
	a.PutStr("client.address", "10.0.0.7")
	a.PutStr("http.route", r.route)
	a.PutInt("http.response.status_code", r.status)
	a.PutInt("http.response.body.size", 512)
	if r.headers {
		putHeaders(a, requestHeaderPrefix, "authorization", "Bearer s3cr3t", "cookie", "session=abc", "x-request-id", "req-1", "accept", "application/json")
		putHeaders(a, responseHeaderPrefix, "content-type", "application/json", "set-cookie", "session=def")
	}

	// proxy
	p := next(r.route, ptrace.SpanKindInternal, 2)
	a = p.Attributes()
	a.PutStr("krakend.stage", "proxy")
	a.PutStr("http.request.method", r.method)
	a.PutStr("http.route", r.route)
	a.PutInt("http.response.status_code", r.status)
	a.PutBool("complete", true)
	if r.headers {
		putHeaders(a, requestHeaderPrefix, "authorization", "Bearer s3cr3t", "x-request-id", "req-1")
	}

	// backend stage
	b := next(r.pattern, ptrace.SpanKindInternal, 3)
	a = b.Attributes()
	a.PutStr("krakend.stage", "backend")
	putBackendFixed(a, r)
	a.PutInt("http.response.status_code", r.status)
	a.PutBool("complete", true)

	// backend request
	br := next(r.pattern, ptrace.SpanKindClient, 4)
	br.Status().SetCode(ptrace.StatusCodeOk)
	a = br.Attributes()
	a.PutStr("krakend.stage", "backend-request")
	putBackendFixed(a, r)
	a.PutStr("url.full", "http://"+r.host+":8080"+strings.ReplaceAll(r.pattern, ":id", "42"))
	a.PutStr("server.address", r.host)
	a.PutInt("http.request.body.size", 0)
	a.PutStr("user_agent.original", "KrakenD Version 2.13.0")
	a.PutInt("http.response.status_code", r.status)
	a.PutInt("http.response.body.size", -1)
	a.PutDouble("response-duration", 0.012)
	a.PutDouble("get-conn-duration", 0.001)
	a.PutDouble("dns-duration", 0)
	a.PutDouble("tls-duration", 0)
	if r.headers {
		putHeaders(a, requestHeaderPrefix, "authorization", "Bearer s3cr3t", "x-api-key", "k-123", "x-request-id", "req-1")
		putHeaders(a, responseHeaderPrefix, "content-type", "application/json")
	}
	br.Events().AppendEmpty().SetName(firstByteEvent)

	// read tracker
	rt := next(layer.ReadTrackerSpanName, ptrace.SpanKindInternal, 5)
	a = rt.Attributes()
	a.PutStr("krakend.stage", "backend-request")
	putBackendFixed(a, r)
	a.PutStr("url.full", "http://"+r.host+":8080"+r.pattern)
	a.PutStr("server.address", r.host)
	a.PutInt("http.client.response.read.size", 512)
	a.PutDouble("http.client.response.read.time", 0.0004)
}

// gatewayTraces makes one resource per service, in the gateway's scope.
func gatewayTraces(service string, reqs ...gwRequest) ptrace.Traces {
	td := ptrace.NewTraces()
	appendGatewayTraces(td, service, reqs...)
	return td
}

func appendGatewayTraces(td ptrace.Traces, service string, reqs ...gwRequest) {
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
	rs.Resource().Attributes().PutStr("service.name", service)
	rs.Resource().Attributes().PutStr("service.version", "2.13.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(layer.ScopeName)
	for i, r := range reqs {
		appendRequestSpans(ss.Spans(), r, byte(i+1))
	}
}

type metricKind uint8

const (
	hist metricKind = iota
	counterInt
	counterDouble
)

type metricDef struct {
	name string
	kind metricKind
	unit string
}

// gatewayMetricDefs is DESIGN.md section 2's metric table, default naming.
var gatewayMetricDefs = []metricDef{
	{"http.server.duration", hist, ""},
	{"http.server.response.size", hist, ""},
	{"krakend.proxy.duration", hist, ""},
	{"krakend.backend.duration", hist, ""},
	{"http.client.duration", hist, ""},
	{"http.client.response.size", hist, ""},
	{"http.client.request.size", counterInt, ""},
	{"http.client.request.started.count", counterInt, ""},
	{"http.client.request.failed.count", counterInt, ""},
	{"http.client.request.canceled.count", counterInt, ""},
	{"http.client.request.timedout.count", counterInt, ""},
	{"http.client.response.no-content-length", counterInt, ""},
	{"http.client.request.get-conn.duration", hist, ""},
	{"http.client.request.dns.duration", hist, ""},
	{"http.client.request.tls.duration", hist, ""},
	{"http.client.response.read.size", counterInt, "b"},
	{"http.client.response.read.size-hist", hist, "b"},
	{"http.client.response.read.time", counterDouble, "s"},
	{"http.client.response.read.time-hist", hist, "s"},
}

var (
	globalMetrics     = []string{"http.server.duration", "http.server.response.size"}
	proxyMetrics      = []string{"krakend.proxy.duration"}
	stageMetrics      = []string{"krakend.backend.duration"}
	roundTripMetrics  = []string{"http.client.duration", "http.client.response.size", "http.client.request.size", "http.client.request.started.count", "http.client.request.failed.count", "http.client.request.canceled.count", "http.client.request.timedout.count", "http.client.response.no-content-length"}
	detailedMetrics   = []string{"http.client.request.get-conn.duration", "http.client.request.dns.duration", "http.client.request.tls.duration"}
	readPayloadMetric = []string{"http.client.response.read.size", "http.client.response.read.size-hist", "http.client.response.read.time", "http.client.response.read.time-hist"}
)

// metricAttrs writes a data point's attributes as section 2 lists them.
func metricAttrs(a pcommon.Map, name string, r gwRequest) {
	c := layer.ClassifyMetricName(name)
	switch c {
	case layer.GlobalStage:
		a.PutStr("http.request.method", r.method)
		a.PutStr("url.scheme", "http")
		a.PutStr("http.route", r.route)
		a.PutInt("http.response.status_code", r.status)
	case layer.ProxyStage:
		a.PutStr("http.request.method", r.method)
		a.PutStr("http.route", r.route)
		a.PutBool("error", false)
		a.PutBool("canceled", false)
		a.PutBool("complete", true)
	case layer.BackendStage:
		putBackendFixed(a, r)
		a.PutBool("error", false)
		a.PutBool("canceled", false)
		a.PutBool("complete", true)
	case layer.BackendRoundTrip, layer.BackendDetailedConnection:
		putBackendFixed(a, r)
		a.PutStr("clientname", r.pattern)
		a.PutStr("server.address", r.host)
		a.PutInt("server.port", r.hostPort)
		a.PutInt("http.response.status_code", r.status)
	case layer.BackendReadPayload:
		putBackendFixed(a, r)
	}
}

var timeBounds = []float64{0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10}

// gatewayMetrics makes every gateway metric with one data point per request.
// mark writes the receiver's krakend.layer metadata, as the receiver does.
func gatewayMetrics(service string, mark bool, reqs ...gwRequest) pmetric.Metrics {
	md := pmetric.NewMetrics()
	appendGatewayMetrics(md, service, mark, reqs...)
	return md
}

func appendGatewayMetrics(md pmetric.Metrics, service string, mark bool, reqs ...gwRequest) {
	rm := md.ResourceMetrics().AppendEmpty()
	rm.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
	rm.Resource().Attributes().PutStr("service.name", service)
	rm.Resource().Attributes().PutStr("service.version", "2.13.0")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(layer.ScopeName)
	for _, d := range gatewayMetricDefs {
		m := sm.Metrics().AppendEmpty()
		m.SetName(d.name)
		m.SetUnit(d.unit)
		if mark {
			layer.MarkMetric(m, layer.ClassifyMetricName(d.name))
		}
		switch d.kind {
		case hist:
			h := m.SetEmptyHistogram()
			h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			for _, r := range reqs {
				dp := h.DataPoints().AppendEmpty()
				metricAttrs(dp.Attributes(), d.name, r)
				dp.SetCount(3)
				dp.SetSum(0.09)
				dp.ExplicitBounds().FromRaw(timeBounds)
				dp.BucketCounts().FromRaw(make([]uint64, len(timeBounds)+1))
			}
		case counterInt, counterDouble:
			s := m.SetEmptySum()
			s.SetIsMonotonic(true)
			s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			for _, r := range reqs {
				dp := s.DataPoints().AppendEmpty()
				metricAttrs(dp.Attributes(), d.name, r)
				if d.kind == counterInt {
					dp.SetIntValue(3)
				} else {
					dp.SetDoubleValue(0.0012)
				}
			}
		}
	}
}

// --- helpers to run the processor and read what remains -------------------

func loadConfig(t testing.TB, yaml string) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if yaml != "" {
		r, err := confmap.NewRetrievedFromYAML([]byte(yaml))
		require.NoError(t, err)
		cm, err := r.AsConf()
		require.NoError(t, err)
		require.NoError(t, cm.Unmarshal(cfg))
	}
	require.NoError(t, xconfmap.Validate(cfg))
	return cfg
}

func newFilter(t testing.TB, yaml, signal string) *layerFilter {
	t.Helper()
	f, err := newLayerFilter(processortest.NewNopSettings(metadata.Type), loadConfig(t, yaml), signal)
	require.NoError(t, err)
	return f
}

func runTraces(t testing.TB, yaml string, td ptrace.Traces) ptrace.Traces {
	t.Helper()
	out, err := newFilter(t, yaml, "traces").processTraces(t.Context(), td)
	if err != nil {
		require.Equal(t, 0, out.ResourceSpans().Len(), "an error means nothing is left")
	}
	return out
}

func runMetrics(t testing.TB, yaml string, md pmetric.Metrics) pmetric.Metrics {
	t.Helper()
	out, err := newFilter(t, yaml, "metrics").processMetrics(t.Context(), md)
	if err != nil {
		require.Equal(t, 0, out.ResourceMetrics().Len(), "an error means nothing is left")
	}
	return out
}

// spanClasses lists the class of every span left, in order.
func spanClasses(td ptrace.Traces) []string {
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out = append(out, layer.ClassifySpan(s).String())
			}
		}
	}
	return out
}

// findSpans returns the spans of one class.
func findSpans(td ptrace.Traces, c layer.Class) []ptrace.Span {
	return spansWhere(td, func(s ptrace.Span) bool { return layer.ClassifySpan(s) == c })
}

// spansWhere returns the spans for which keep is true, in order.
func spansWhere(td ptrace.Traces, keep func(ptrace.Span) bool) []ptrace.Span {
	var out []ptrace.Span
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if keep(s) {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// metricNames lists the metric names left, sorted.
func metricNames(md pmetric.Metrics) []string {
	var out []string
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				out = append(out, m.Name())
			}
		}
	}
	sort.Strings(out)
	return out
}

func findMetric(md pmetric.Metrics, name string) (pmetric.Metric, bool) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() == name {
					return m, true
				}
			}
		}
	}
	return pmetric.Metric{}, false
}

// pointAttrs returns the attributes of every data point of a metric.
func pointAttrs(m pmetric.Metric) []pcommon.Map {
	var out []pcommon.Map
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			out = append(out, dp.Attributes())
		}
	case pmetric.MetricTypeSum:
		for _, dp := range m.Sum().DataPoints().All() {
			out = append(out, dp.Attributes())
		}
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			out = append(out, dp.Attributes())
		}
	}
	return out
}

func names(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	sort.Strings(out)
	return out
}

// requireNoEmptyContainers checks metric identity: no resource, scope or
// metric is handed on empty.
func requireNoEmptyContainers(t *testing.T, md pmetric.Metrics) {
	t.Helper()
	for _, rm := range md.ResourceMetrics().All() {
		require.NotZero(t, rm.ScopeMetrics().Len(), "empty resource")
		for _, sm := range rm.ScopeMetrics().All() {
			require.NotZero(t, sm.Metrics().Len(), "empty scope")
			for _, m := range sm.Metrics().All() {
				require.NotZero(t, layer.DataPointCount(m), "empty metric %s", m.Name())
			}
		}
	}
}

func requireNoEmptySpanContainers(t *testing.T, td ptrace.Traces) {
	t.Helper()
	for _, rs := range td.ResourceSpans().All() {
		require.NotZero(t, rs.ScopeSpans().Len(), "empty resource")
		for _, ss := range rs.ScopeSpans().All() {
			require.NotZero(t, ss.Spans().Len(), "empty scope")
		}
	}
}

func strAttr(t *testing.T, m pcommon.Map, k string) string {
	t.Helper()
	v, ok := m.Get(k)
	require.True(t, ok, "attribute %s missing", k)
	return v.AsString()
}
