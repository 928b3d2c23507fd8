// Package gatewaydata builds telemetry shaped exactly like KrakenD's
// (DESIGN.md section 2) for tests and benchmarks: per request the five spans
// of the global → proxy → backend → backend-request → read tracker chain with
// their attributes, and every metric of each layer.
package gatewaydata

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// Request describes one gateway request: the raw path the client asked for,
// the endpoint pattern it matched and the backend it called.
type Request struct {
	Path           string // raw request path, e.g. /users/42
	EndpointRoute  string // colon form, e.g. /users/:id
	Method         string
	BackendPattern string // colon form, e.g. /v1/users/:id
	BackendHost    string // e.g. backend.local:8080
	Status         int
}

// DefaultRequest is a typical parametrised request.
var DefaultRequest = Request{
	Path: "/users/42", EndpointRoute: "/users/:id", Method: "GET",
	BackendPattern: "/v1/users/:id", BackendHost: "users.internal:8080", Status: 200,
}

// TraceID returns a deterministic trace ID for request number n.
func TraceID(n uint64) pcommon.TraceID {
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[0:8], n*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint64(id[8:16], (n+1)*0xbf58476d1ce4e5b9)
	return id
}

func spanID(n uint64, i byte) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n<<8|uint64(i+1))
	return id
}

// NewTraces returns one resource with the gateway scope holding the spans of
// the given requests, numbered from first.
func NewTraces(service string, first uint64, reqs ...Request) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
	if service != "" {
		rs.Resource().Attributes().PutStr("service.name", service)
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(layer.ScopeName)
	for i, r := range reqs {
		AppendRequestSpans(ss.Spans(), first+uint64(i), r)
	}
	return td
}

// AppendRequestSpans appends the five spans of one request, children first as
// the gateway's batch exporter sends them (children end first).
func AppendRequestSpans(spans ptrace.SpanSlice, n uint64, r Request) {
	tid := TraceID(n)
	start := pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0).Add(time.Duration(n) * time.Millisecond))
	ids := [5]pcommon.SpanID{spanID(n, 0), spanID(n, 1), spanID(n, 2), spanID(n, 3), spanID(n, 4)}
	url := "http://" + r.BackendHost + r.BackendPattern

	newSpan := func(i int, name string, kind ptrace.SpanKind, stage string) ptrace.Span {
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(ids[i])
		if i > 0 {
			s.SetParentSpanID(ids[i-1])
		}
		s.SetName(name)
		s.SetKind(kind)
		s.SetStartTimestamp(start + pcommon.Timestamp(i)*1000)
		s.SetEndTimestamp(start + pcommon.Timestamp(10-i)*1_000_000)
		s.Attributes().PutStr(layer.StageKey, stage)
		return s
	}
	backendAttrs := func(a pcommon.Map) {
		a.PutStr("http.request.method", r.Method)
		a.PutStr("http.route", r.BackendPattern)
		a.PutStr("krakend.endpoint.route", r.EndpointRoute)
		a.PutStr("krakend.endpoint.method", r.Method)
	}

	// read tracker (ends last but is exported with its siblings)
	rt := newSpan(4, layer.ReadTrackerSpanName, ptrace.SpanKindInternal, layer.StageBackendRequest)
	backendAttrs(rt.Attributes()) // no url.full: KrakenD puts it on the backend request only
	rt.Attributes().PutInt("http.client.response.read.size", 512)
	rt.Attributes().PutDouble("http.client.response.read.time", 0.0004)

	// backend request (round trip)
	br := newSpan(3, r.BackendPattern, ptrace.SpanKindClient, layer.StageBackendRequest)
	a := br.Attributes()
	backendAttrs(a)
	a.PutStr("url.full", url)
	a.PutStr("server.address", r.BackendHost)
	a.PutStr("user_agent.original", "KrakenD Version 2.13.0")
	a.PutInt("http.response.status_code", int64(r.Status))
	a.PutInt("http.response.body.size", 512)
	a.PutDouble("response-duration", 0.003)
	a.PutDouble("get-conn-duration", 0.0001)
	a.PutDouble("dns-duration", 0)
	a.PutDouble("tls-duration", 0)
	a.PutEmptySlice("http.request.header.x-request-id").AppendEmpty().SetStr("req-1")
	br.Events().AppendEmpty().SetName("first-byte-time")

	// backend stage
	bs := newSpan(2, r.BackendPattern, ptrace.SpanKindInternal, layer.StageBackend)
	backendAttrs(bs.Attributes())
	bs.Attributes().PutInt("http.response.status_code", int64(r.Status))
	bs.Attributes().PutBool("complete", true)

	// proxy
	px := newSpan(1, r.EndpointRoute, ptrace.SpanKindInternal, layer.StageProxy)
	px.Attributes().PutStr("http.request.method", r.Method)
	px.Attributes().PutStr("http.route", r.EndpointRoute)
	px.Attributes().PutInt("http.response.status_code", int64(r.Status))
	px.Attributes().PutBool("complete", true)

	// global (server), named by the raw path
	gl := newSpan(0, r.Path, ptrace.SpanKindServer, layer.StageGlobal)
	g := gl.Attributes()
	g.PutStr("url.full", r.Path)
	g.PutStr("server.address", "gateway.example.com")
	g.PutStr("http.request.method", r.Method)
	g.PutStr("user_agent.original", "curl/8.0")
	g.PutStr("client.address", "10.1.2.3")
	g.PutStr("http.route", r.EndpointRoute)
	g.PutInt("http.response.status_code", int64(r.Status))
	g.PutInt("http.response.body.size", 256)
	g.PutEmptySlice("http.request.header.authorization").AppendEmpty().SetStr("Bearer secret-token")
}

// MetricSpec is one metric KrakenD emits.
type MetricSpec struct {
	Name      string
	Unit      string
	Histogram bool
	Class     layer.Class
}

// Metrics lists every metric of DESIGN.md section 2's default naming.
var Metrics = []MetricSpec{
	{"http.server.duration", "", true, layer.GlobalStage},
	{"http.server.response.size", "", true, layer.GlobalStage},
	{"krakend.proxy.duration", "", true, layer.ProxyStage},
	{"krakend.backend.duration", "", true, layer.BackendStage},
	{"http.client.duration", "", true, layer.BackendRoundTrip},
	{"http.client.response.size", "", true, layer.BackendRoundTrip},
	{"http.client.request.size", "", false, layer.BackendRoundTrip},
	{"http.client.request.started.count", "", false, layer.BackendRoundTrip},
	{"http.client.request.failed.count", "", false, layer.BackendRoundTrip},
	{"http.client.request.canceled.count", "", false, layer.BackendRoundTrip},
	{"http.client.request.timedout.count", "", false, layer.BackendRoundTrip},
	{"http.client.response.no-content-length", "", false, layer.BackendRoundTrip},
	{"http.client.request.get-conn.duration", "", true, layer.BackendDetailedConnection},
	{"http.client.request.dns.duration", "", true, layer.BackendDetailedConnection},
	{"http.client.request.tls.duration", "", true, layer.BackendDetailedConnection},
	{"http.client.response.read.size", "b", false, layer.BackendReadPayload},
	{"http.client.response.read.size-hist", "b", true, layer.BackendReadPayload},
	{"http.client.response.read.time", "s", false, layer.BackendReadPayload},
	{"http.client.response.read.time-hist", "s", true, layer.BackendReadPayload},
}

// Metrics127 lists the names that semantic_convention "1.27" changes.
var Metrics127 = []MetricSpec{
	{"http.server.request.duration", "s", true, layer.GlobalStage},
	{"http.server.response.body.size", "By", true, layer.GlobalStage},
	{"http.client.request.duration", "s", true, layer.BackendRoundTrip},
	{"http.client.response.body.size", "By", true, layer.BackendRoundTrip},
	{"http.client.request.body.size", "By", true, layer.BackendRoundTrip},
}

// TimeBuckets and SizeBuckets are the gateway's fixed histogram bounds, as
// krakend-otel's config/histogram_buckets.go defines them.
var (
	TimeBuckets = []float64{0.010, 0.020, 0.050, 0.075, 0.100, 0.125, 0.150, 0.175, 0.200, 0.250, 0.300, 0.350, 0.500, 0.750, 1.000, 1.500, 2.000, 3.500, 5.000, 10.000}
	SizeBuckets = []float64{128, 256, 512, 1024, 4 * 1024, 8 * 1024, 16 * 1024, 32 * 1024, 64 * 1024, 4 * 64 * 1024, 8 * 64 * 1024, 16 * 64 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024}
)

// NewMetrics returns every gateway metric (specs) with one cumulative data
// point carrying the layer's attributes for request r.
func NewMetrics(service string, specs []MetricSpec, r Request) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	if service != "" {
		rm.Resource().Attributes().PutStr("service.name", service)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(layer.ScopeName)
	start := pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 0))
	now := start + pcommon.Timestamp(time.Minute)
	for _, spec := range specs {
		m := sm.Metrics().AppendEmpty()
		m.SetName(spec.Name)
		m.SetUnit(spec.Unit)
		var attrs pcommon.Map
		if spec.Histogram {
			h := m.SetEmptyHistogram()
			h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			dp := h.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(now)
			dp.SetCount(3)
			dp.SetSum(0.3)
			dp.ExplicitBounds().FromRaw(TimeBuckets)
			counts := make([]uint64, len(TimeBuckets)+1)
			counts[4] = 3
			dp.BucketCounts().FromRaw(counts)
			attrs = dp.Attributes()
		} else {
			s := m.SetEmptySum()
			s.SetIsMonotonic(true)
			s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			dp := s.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(start)
			dp.SetTimestamp(now)
			dp.SetIntValue(3)
			attrs = dp.Attributes()
		}
		putMetricAttributes(attrs, spec.Class, r)
	}
	return md
}

// MergeByName moves the metrics of src into dst as an SDK's periodic reader
// aggregates them: one metric per name, the data points of later metrics of
// a name appended to the first one's.
func MergeByName(dst, src pmetric.MetricSlice) {
	for i := 0; i < src.Len(); i++ {
		m := src.At(i)
		var into pmetric.Metric
		found := false
		for j := 0; j < dst.Len() && !found; j++ {
			into, found = dst.At(j), dst.At(j).Name() == m.Name()
		}
		if !found {
			m.CopyTo(dst.AppendEmpty())
			continue
		}
		switch m.Type() {
		case pmetric.MetricTypeHistogram:
			m.Histogram().DataPoints().MoveAndAppendTo(into.Histogram().DataPoints())
		case pmetric.MetricTypeSum:
			m.Sum().DataPoints().MoveAndAppendTo(into.Sum().DataPoints())
		case pmetric.MetricTypeGauge:
			m.Gauge().DataPoints().MoveAndAppendTo(into.Gauge().DataPoints())
		}
	}
}

func putMetricAttributes(a pcommon.Map, c layer.Class, r Request) {
	switch c.Layer {
	case layer.Global:
		a.PutStr("http.request.method", r.Method)
		a.PutStr("url.scheme", "http")
		a.PutStr("http.route", r.EndpointRoute)
		a.PutInt("http.response.status_code", int64(r.Status))
	case layer.Proxy:
		a.PutStr("http.request.method", r.Method)
		a.PutStr("http.route", r.EndpointRoute)
		a.PutBool("error", false)
		a.PutBool("canceled", false)
		a.PutBool("complete", true)
	case layer.Backend:
		a.PutStr("http.request.method", r.Method)
		a.PutStr("http.route", r.BackendPattern)
		a.PutStr("krakend.endpoint.route", r.EndpointRoute)
		a.PutStr("krakend.endpoint.method", r.Method)
		switch c.Part {
		case layer.PartStage:
			a.PutBool("error", false)
			a.PutBool("canceled", false)
			a.PutBool("complete", true)
		case layer.PartRoundTrip, layer.PartDetailedConnection:
			a.PutStr("clientname", "users")
			a.PutStr("server.address", r.BackendHost)
			a.PutInt("server.port", 8080)
			a.PutInt("http.response.status_code", int64(r.Status))
		}
	}
}
