package krakend

// KrakenD's defaults, object by object, as krakend-otel applies them
// (github.com/krakend/krakend-otel, config/config.go, UnsetFieldsToDefaults,
// read at commit 27832c4e). Each object is defaulted on its own when absent or
// null; inside a present object an omitted boolean is false.

const (
	defaultServiceName           = "KrakenD" // config/lura.go:36, when neither service_name nor the root name is set
	defaultMetricReportingPeriod = 30        // config/config.go:28
	defaultTraceSampleRate       = 1.0       // config/config.go:32
	defaultOTLPHost              = "localhost"
	defaultOTLPPort              = 4317 // exporter/otelcollector/otelcollector.go:161, also with use_http
	defaultPrometheusPort        = 9090 // exporter/prometheus/prometheus.go:39
	defaultXrayVersion           = "KrakenD-opencensus"
)

// DefaultSkipPaths is used when skip_paths is missing or empty
// (config/config.go:80).
var DefaultSkipPaths = []string{"/__health", "/__debug/", "/__echo/", "/__stats/"}

// defaultGlobal is layers.global when absent (config/config.go:41). Note that
// report_headers is NOT on: the struct literal leaves ReportHeaders false, so
// without a layers.global object the gateway reports no headers.
func defaultGlobal() GlobalLayer {
	return GlobalLayer{Defaulted: true}
}

// defaultProxy is layers.proxy when absent (config/config.go:49); as for
// global, report_headers stays false.
func defaultProxy() ProxyLayer {
	return ProxyLayer{Defaulted: true}
}

// defaultBackendMetrics is backend.metrics when absent (config/config.go:60,
// and lura/backend.go:19 for overrides).
func defaultBackendMetrics() BackendMetrics {
	return BackendMetrics{RoundTrip: true, ReadPayload: true, DetailedConnection: true, Defaulted: true}
}

// defaultBackendTraces is backend.traces when absent (config/config.go:69);
// report_headers stays false.
func defaultBackendTraces() BackendTraces {
	return BackendTraces{RoundTrip: true, ReadPayload: true, DetailedConnection: true, Defaulted: true}
}

func defaultBackend() BackendLayer {
	return BackendLayer{Metrics: defaultBackendMetrics(), Traces: defaultBackendTraces(), Defaulted: true}
}

func defaultLayers() Layers {
	return Layers{Global: defaultGlobal(), Proxy: defaultProxy(), Backend: defaultBackend()}
}

// defaultOCLayers: krakend-opencensus opencensus.go:48 turns every layer on
// when enabled_layers is absent.
func defaultOCLayers() OCEnabledLayers {
	return OCEnabledLayers{Router: true, Pipe: true, Backend: true, Defaulted: true}
}
