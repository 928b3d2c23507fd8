package layer

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const (
	// ScopeName is the instrumentation scope of every KrakenD span and metric
	// (and of the sdk/gatewayotel package, which speaks like KrakenD).
	ScopeName = "io.krakend.krakend-otel"
	// StageKey is the span attribute in which KrakenD names the span's stage.
	// It is the receiver's mark for spans.
	StageKey = "krakend.stage"
	// MetadataKey is the metric metadata key in which the receiver records a
	// metric's class. Metadata is not a data-point label, so the mark changes
	// no series identity downstream.
	MetadataKey = "krakend.layer"
	// ReadTrackerSpanName is the fixed name of the span that measures the
	// reading of a backend's response body.
	ReadTrackerSpanName = "http.client.response.read.tracker"
)

// Stage values of the krakend.stage span attribute.
const (
	StageGlobal         = "global"
	StageProxy          = "proxy"
	StageBackend        = "backend"
	StageBackendRequest = "backend-request"
)

// ClassifySpan tells a span's class from its krakend.stage attribute and, for
// the backend request stage, its name. A span without the attribute is
// Unclassified (the receiver infers and writes the attribute where it can).
func ClassifySpan(span ptrace.Span) Class {
	v, ok := span.Attributes().Get(StageKey)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return Unclassified
	}
	return classOfStage(v.Str(), span.Name())
}

func classOfStage(stage, spanName string) Class {
	switch stage {
	case StageGlobal:
		return GlobalStage
	case StageProxy:
		return ProxyStage
	case StageBackend:
		return BackendStage
	case StageBackendRequest:
		if spanName == ReadTrackerSpanName {
			return BackendReadPayload
		}
		return BackendRoundTrip
	}
	return Unclassified
}

// InferSpanStage guesses the krakend.stage of a span from a gateway scope that
// lacks the attribute, from its name, kind and the attributes KrakenD sets per
// stage (DESIGN.md section 2). It returns "" when the span is no gateway span.
func InferSpanStage(span ptrace.Span) string {
	if span.Name() == ReadTrackerSpanName {
		return StageBackendRequest
	}
	switch span.Kind() {
	case ptrace.SpanKindServer:
		return StageGlobal
	case ptrace.SpanKindClient:
		return StageBackendRequest
	case ptrace.SpanKindInternal, ptrace.SpanKindUnspecified:
		attrs := span.Attributes()
		if _, ok := attrs.Get("krakend.endpoint.route"); ok {
			return StageBackend
		}
		if _, ok := attrs.Get("http.route"); ok {
			return StageProxy
		}
	}
	return ""
}

// metricClasses maps every metric name KrakenD emits, in both its default
// naming and the semantic_convention "1.27" naming, to its class.
var metricClasses = map[string]Class{
	// global
	"http.server.duration":           GlobalStage,
	"http.server.response.size":      GlobalStage,
	"http.server.request.duration":   GlobalStage, // 1.27
	"http.server.response.body.size": GlobalStage, // 1.27
	// proxy
	"krakend.proxy.duration": ProxyStage,
	// backend stage
	"krakend.backend.duration": BackendStage,
	// backend round trip
	"http.client.duration":                   BackendRoundTrip,
	"http.client.response.size":              BackendRoundTrip,
	"http.client.request.size":               BackendRoundTrip,
	"http.client.request.started.count":      BackendRoundTrip,
	"http.client.request.failed.count":       BackendRoundTrip,
	"http.client.request.canceled.count":     BackendRoundTrip,
	"http.client.request.timedout.count":     BackendRoundTrip,
	"http.client.response.no-content-length": BackendRoundTrip,
	"http.client.request.duration":           BackendRoundTrip, // 1.27
	"http.client.response.body.size":         BackendRoundTrip, // 1.27
	"http.client.request.body.size":          BackendRoundTrip, // 1.27
	// backend detailed connection
	"http.client.request.get-conn.duration": BackendDetailedConnection,
	"http.client.request.dns.duration":      BackendDetailedConnection,
	"http.client.request.tls.duration":      BackendDetailedConnection,
	// backend payload reading
	"http.client.response.read.size":      BackendReadPayload,
	"http.client.response.read.size-hist": BackendReadPayload,
	"http.client.response.read.time":      BackendReadPayload,
	"http.client.response.read.time-hist": BackendReadPayload,
	"http.client.response.read.errors":    BackendReadPayload, // registered, never incremented
}

// SemanticConvention127 is the one semantic_convention value KrakenD knows
// besides "" (its default names), read from the service-level layers.global.
const SemanticConvention127 = "1.27"

// roundTripCountersDetailedIn127 are the round-trip instruments that
// semantic_convention "1.27" registers only with detailed_connection
// (krakend-otel http/client/transport_metrics.go): under that naming
// detailed_connection governs them, not round_trip alone.
var roundTripCountersDetailedIn127 = []string{
	"http.client.request.started.count",
	"http.client.request.failed.count",
	"http.client.request.canceled.count",
	"http.client.request.timedout.count",
	"http.client.response.no-content-length",
}

// metricClasses127 is metricClasses for a gateway with semantic_convention
// "1.27", built once so that classifying costs one map look-up either way.
var metricClasses127 = func() map[string]Class {
	m := make(map[string]Class, len(metricClasses))
	for name, c := range metricClasses {
		m[name] = c
	}
	for _, name := range roundTripCountersDetailedIn127 {
		m[name] = BackendDetailedConnection
	}
	return m
}()

// MetricNames returns every metric name the classification knows, for tests
// and documentation.
func MetricNames() []string {
	names := make([]string, 0, len(metricClasses))
	for n := range metricClasses {
		names = append(names, n)
	}
	return names
}

// ClassifyMetricName tells a gateway metric's class from its name alone. The
// caller must know the metric comes from a gateway scope: http.server.duration
// is also what any HTTP server instrumentation emits.
func ClassifyMetricName(name string) Class {
	return metricClasses[name]
}

// ClassifyMetricNameFor is ClassifyMetricName for a gateway configured with
// semanticConvention ("" or "1.27"; any other value is KrakenD's default
// naming, as in the gateway). The names alone cannot tell the naming: the
// counters that "1.27" ties to detailed_connection keep their names.
func ClassifyMetricNameFor(semanticConvention, name string) Class {
	if semanticConvention == SemanticConvention127 {
		return metricClasses127[name]
	}
	return metricClasses[name]
}

// ClassifyMetric reads the receiver's mark, falling back to the name when the
// metric comes from a gateway scope and carries no mark (data that did not
// pass through the gateway receiver; the default naming is assumed then).
func ClassifyMetric(scopeName string, m pmetric.Metric) Class {
	if v, ok := m.Metadata().Get(MetadataKey); ok {
		if c, ok := ParseClass(v.Str()); ok {
			return c
		}
	}
	if scopeName == ScopeName {
		return ClassifyMetricName(m.Name())
	}
	return Unclassified
}

// MarkMetric records a metric's class in its metadata.
func MarkMetric(m pmetric.Metric, c Class) {
	m.Metadata().PutStr(MetadataKey, c.String())
}

// ClassifyLogRecord classifies a log record that carries krakend.stage like a
// span of that stage. KrakenD itself sends no OTLP logs.
func ClassifyLogRecord(lr plog.LogRecord) Class {
	v, ok := lr.Attributes().Get(StageKey)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return Unclassified
	}
	return classOfStage(v.Str(), "")
}
