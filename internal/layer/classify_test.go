package layer_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

func TestClassifySpanByStageAndName(t *testing.T) {
	tests := []struct {
		name, stage, spanName string
		want                  layer.Class
	}{
		{"the server span is the global layer", "global", "/users/42", layer.GlobalStage},
		{"the endpoint span is the proxy layer", "proxy", "/users/:id", layer.ProxyStage},
		{"the backend span is the backend stage", "backend", "/v1/users/:id", layer.BackendStage},
		{"the backend request is the round trip", "backend-request", "/v1/users/:id", layer.BackendRoundTrip},
		{"the read tracker is the payload reading", "backend-request", "http.client.response.read.tracker", layer.BackendReadPayload},
		{"an unknown stage is unclassified", "router", "/x", layer.Unclassified},
		{"no stage is unclassified", "", "/x", layer.Unclassified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := ptrace.NewSpan()
			span.SetName(tt.spanName)
			if tt.stage != "" {
				span.Attributes().PutStr(layer.StageKey, tt.stage)
			}
			assert.Equal(t, tt.want, layer.ClassifySpan(span))
		})
	}
}

func TestStageOfANonStringAttributeIsIgnored(t *testing.T) {
	span := ptrace.NewSpan()
	span.Attributes().PutInt(layer.StageKey, 1)
	assert.Equal(t, layer.Unclassified, layer.ClassifySpan(span))
}

func TestEveryGatewaySpanIsClassified(t *testing.T) {
	td := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	got := map[layer.Class]int{}
	for i := 0; i < spans.Len(); i++ {
		got[layer.ClassifySpan(spans.At(i))]++
	}
	assert.Equal(t, map[layer.Class]int{
		layer.GlobalStage: 1, layer.ProxyStage: 1, layer.BackendStage: 1,
		layer.BackendRoundTrip: 1, layer.BackendReadPayload: 1,
	}, got)
}

func TestInferSpanStage(t *testing.T) {
	tests := []struct {
		name     string
		kind     ptrace.SpanKind
		spanName string
		attrs    map[string]string
		want     string
	}{
		{"a server span is global", ptrace.SpanKindServer, "/users/42", nil, "global"},
		{"a client span is a backend request", ptrace.SpanKindClient, "/v1/users/:id", nil, "backend-request"},
		{"the read tracker is a backend request", ptrace.SpanKindInternal, layer.ReadTrackerSpanName, nil, "backend-request"},
		{"an internal span with an endpoint route is a backend stage", ptrace.SpanKindInternal, "/v1", map[string]string{"krakend.endpoint.route": "/u", "http.route": "/v1"}, "backend"},
		{"an internal span with a route is the proxy", ptrace.SpanKindInternal, "/u", map[string]string{"http.route": "/u"}, "proxy"},
		{"an internal span with neither is nothing", ptrace.SpanKindInternal, "work", nil, ""},
		{"a producer span is nothing", ptrace.SpanKindProducer, "send", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := ptrace.NewSpan()
			span.SetName(tt.spanName)
			span.SetKind(tt.kind)
			for k, v := range tt.attrs {
				span.Attributes().PutStr(k, v)
			}
			assert.Equal(t, tt.want, layer.InferSpanStage(span))
		})
	}
}

// TestClassifyEveryMetricName covers every metric name of DESIGN.md section 2,
// in both namings.
func TestClassifyEveryMetricName(t *testing.T) {
	specs := append(append([]gatewaydata.MetricSpec{}, gatewaydata.Metrics...), gatewaydata.Metrics127...)
	specs = append(specs, gatewaydata.MetricSpec{Name: "http.client.response.read.errors", Class: layer.BackendReadPayload})
	for _, spec := range specs {
		t.Run(spec.Name, func(t *testing.T) {
			assert.Equal(t, spec.Class, layer.ClassifyMetricName(spec.Name))
		})
	}
	assert.ElementsMatch(t, names(specs), layer.MetricNames(), "the table and the classification must list the same names")
	assert.Equal(t, layer.Unclassified, layer.ClassifyMetricName("http.server.active_requests"))
}

// KrakenD's semantic_convention "1.27" registers these counters only with
// detailed_connection; its default naming on every round trip.
func TestUnderSemanticConvention127TheRoundTripCountersAreDetailedConnection(t *testing.T) {
	for _, name := range []string{
		"http.client.request.started.count", "http.client.request.failed.count",
		"http.client.request.canceled.count", "http.client.request.timedout.count",
		"http.client.response.no-content-length",
	} {
		assert.Equal(t, layer.BackendDetailedConnection, layer.ClassifyMetricNameFor("1.27", name), name)
		assert.Equal(t, layer.BackendRoundTrip, layer.ClassifyMetricNameFor("", name), name)
		assert.Equal(t, layer.BackendRoundTrip, layer.ClassifyMetricNameFor("1.26", name), "%s: any other value is the default naming", name)
	}
	for _, spec := range append(append([]gatewaydata.MetricSpec{}, gatewaydata.Metrics127...),
		gatewaydata.MetricSpec{Name: "http.client.request.dns.duration", Class: layer.BackendDetailedConnection},
		gatewaydata.MetricSpec{Name: "krakend.backend.duration", Class: layer.BackendStage},
		gatewaydata.MetricSpec{Name: "http.client.response.read.size", Class: layer.BackendReadPayload}) {
		assert.Equal(t, spec.Class, layer.ClassifyMetricNameFor("1.27", spec.Name), spec.Name)
	}
}

func names(specs []gatewaydata.MetricSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Name
	}
	return out
}

func TestClassifyMetricNeedsTheGatewayScopeOrAMark(t *testing.T) {
	m := pmetric.NewMetric()
	m.SetName("http.server.duration")
	assert.Equal(t, layer.GlobalStage, layer.ClassifyMetric(layer.ScopeName, m))
	assert.Equal(t, layer.Unclassified, layer.ClassifyMetric("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", m),
		"another HTTP server's http.server.duration is no gateway metric")

	layer.MarkMetric(m, layer.ProxyStage)
	assert.Equal(t, layer.ProxyStage, layer.ClassifyMetric("any.scope", m), "the receiver's mark wins")
}

func TestClassStringsRoundTrip(t *testing.T) {
	for _, c := range append([]layer.Class{layer.Unclassified}, layer.Classes...) {
		got, ok := layer.ParseClass(c.String())
		assert.True(t, ok, c.String())
		assert.Equal(t, c, got)
	}
	_, ok := layer.ParseClass("backend.bogus")
	assert.False(t, ok)
}

func TestClassifyLogRecord(t *testing.T) {
	lr := plog.NewLogRecord()
	assert.Equal(t, layer.Unclassified, layer.ClassifyLogRecord(lr))
	lr.Attributes().PutStr(layer.StageKey, "proxy")
	assert.Equal(t, layer.ProxyStage, layer.ClassifyLogRecord(lr))
}

func BenchmarkClassifySpan(b *testing.B) {
	td := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = layer.ClassifySpan(spans.At(i % spans.Len()))
	}
}

func BenchmarkClassifyMetric(b *testing.B) {
	md := gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest)
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = layer.ClassifyMetric(layer.ScopeName, ms.At(i%ms.Len()))
	}
}
