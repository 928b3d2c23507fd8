package krakend

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseOK(t *testing.T, src string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(src), "k.json")
	require.NoError(t, err)
	return cfg
}

func TestServiceLevelDefaults(t *testing.T) {
	cfg := parseOK(t, `{"version": 3, "name": "gw", "extra_config": {"telemetry/opentelemetry": {`+okExporters+`}}}`)
	o := cfg.OpenTelemetry
	assert.Equal(t, "gw", o.ServiceName, "service_name defaults to the root name")
	assert.Equal(t, "name", o.ServiceNameFrom)
	assert.Equal(t, 30, o.MetricReportingPeriod)
	assert.Equal(t, 1.0, o.TraceSampleRate)
	assert.Equal(t, DefaultSkipPaths, o.SkipPaths)
	assert.True(t, o.SkipPathsDefault)
	assert.Equal(t, "localhost", o.Exporters.OTLP[0].Host)
	assert.Equal(t, 4317, o.Exporters.OTLP[0].Port)

	// Absent layers: global and proxy all on, but report_headers OFF
	// (krakend-otel config/config.go:41 and :49 leave ReportHeaders false).
	assert.Equal(t, GlobalLayer{Defaulted: true}, o.Layers.Global)
	assert.Equal(t, ProxyLayer{Defaulted: true}, o.Layers.Proxy)
	assert.Equal(t, BackendMetrics{RoundTrip: true, ReadPayload: true, DetailedConnection: true, Defaulted: true}, o.Layers.Backend.Metrics)
	assert.Equal(t, BackendTraces{RoundTrip: true, ReadPayload: true, DetailedConnection: true, Defaulted: true}, o.Layers.Backend.Traces)

	cfg = parseOK(t, `{"version": 3, "extra_config": {"telemetry/opentelemetry": {`+okExporters+`}}}`)
	assert.Equal(t, "KrakenD", cfg.OpenTelemetry.ServiceName)
	assert.Equal(t, "default", cfg.OpenTelemetry.ServiceNameFrom)
}

func TestDefaultsApplyObjectByObject(t *testing.T) {
	tests := []struct {
		name   string
		layers string
		check  func(t *testing.T, l Layers)
	}{
		{"a present backend.metrics with an omitted bool turns it off", `{"backend": {"metrics": {"round_trip": true}}}`, func(t *testing.T, l Layers) {
			assert.Equal(t, BackendMetrics{RoundTrip: true}, l.Backend.Metrics)
			assert.True(t, l.Backend.Traces.Defaulted, "traces absent: defaulted on its own")
			assert.True(t, l.Backend.Traces.ReadPayload)
		}},
		{"a null object is defaulted like an absent one", `{"global": null, "backend": {"traces": null, "metrics": {}}}`, func(t *testing.T, l Layers) {
			assert.True(t, l.Global.Defaulted)
			assert.True(t, l.Backend.Traces.Defaulted)
			assert.Equal(t, BackendMetrics{}, l.Backend.Metrics, "present and empty: everything off but the stage")
		}},
		{"a present global keeps omitted disable_* false, so layers stay on", `{"global": {"report_headers": true}}`, func(t *testing.T, l Layers) {
			assert.Equal(t, GlobalLayer{ReportHeaders: true}, l.Global)
			assert.True(t, l.Proxy.Defaulted)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parseOK(t, otel(okExporters+`, "layers": `+tt.layers))
			tt.check(t, cfg.OpenTelemetry.Layers)
		})
	}
}

func TestSkipPathsWithAnEmptyStringTurnDefaultsOff(t *testing.T) {
	cfg := parseOK(t, otel(okExporters+`, "skip_paths": [""]`))
	assert.Equal(t, []string{""}, cfg.OpenTelemetry.SkipPaths)
	assert.False(t, cfg.OpenTelemetry.SkipPathsDefault)
}

func TestOverridesGetNoDefaultsOfTheirOwn(t *testing.T) {
	cfg := parseOK(t, withEndpoint(`{"endpoint": "/a/{id}", "method": "POST",
	  "extra_config": {"telemetry/opentelemetry": {"proxy": {"disable_traces": true}, "global": {"traces_static_attributes": [{"key": "k", "value": "v"}]}}},
	  "backend": [{"url_pattern": "/b", "host": ["http://b"], "extra_config": {"telemetry/opentelemetry": {"backend": {"traces": {"round_trip": true}}}}}]}`))
	ep := cfg.Endpoints[0]
	assert.Equal(t, "/a/{id}", ep.Endpoint)
	assert.Equal(t, "POST", ep.Method)
	assert.Equal(t, &ProxyLayer{DisableTraces: true}, ep.Telemetry.Proxy)
	assert.True(t, ep.Telemetry.GlobalSet)
	assert.Equal(t, []Attribute{{"k", "v"}}, ep.Telemetry.GlobalTracesStaticAttributes)
	b := ep.Backends[0].Telemetry.Backend
	assert.Equal(t, BackendTraces{RoundTrip: true}, b.Traces)
	assert.True(t, b.Metrics.Defaulted, "an omitted metrics gets the all-on defaults (lura/backend.go:19)")
	assert.True(t, b.Metrics.RoundTrip)
}

func TestOpenCensusDefaults(t *testing.T) {
	cfg := parseOK(t, `{"version": 2, "extra_config": {"github_com/devopsfaith/krakend-opencensus": {"exporters": {"xray": {"region": "r", "version": "v", "use_env": true}}}}}`)
	o := cfg.OpenCensus
	assert.Equal(t, NamespaceOpenCensusLegacy, o.Namespace)
	assert.Equal(t, 0, o.SampleRate, "OpenCensus keeps no trace by default")
	assert.False(t, o.SampleRateSet)
	assert.Equal(t, OCEnabledLayers{true, true, true, true}, o.EnabledLayers)

	cfg = parseOK(t, oc(`"enabled_layers": {"router": true}, "exporters": {"logger": {"stats": true}}`))
	assert.Equal(t, OCEnabledLayers{Router: true}, cfg.OpenCensus.EnabledLayers, "present: omitted layers are off")

	cfg = parseOK(t, oc(`"exporters": {"xray": {"region": "r", "use_env": true}}`))
	assert.Equal(t, "KrakenD-opencensus", cfg.OpenCensus.Exporters.Xray.Version, "krakend-opencensus's X-Ray default (only its schema requires version)")
}

func TestOTLPHostName(t *testing.T) {
	tests := []struct{ host, want, scheme string }{
		{"localhost", "localhost", ""},
		{"http://localhost", "localhost", "http"},
		{"HTTPS://otlp.example.com/v1/traces", "otlp.example.com", "https"},
		{"tempo:4317", "tempo", ""},
		{"[::1]", "[::1]", ""},
		{"::1", "::1", ""},
		{"[::1]:4317", "[::1]", ""},
		{"http://[fd00::1]:4318/v1/traces", "[fd00::1]", "http"},
		{"fd00::1", "fd00::1", ""},
	}
	for _, tt := range tests {
		h, s := OTLPExporter{Host: tt.host}.HostName()
		assert.Equal(t, tt.want, h, tt.host)
		assert.Equal(t, tt.scheme, s, tt.host)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"service_name", "trace_sample_rate", "skip_paths"}
	assert.Equal(t, "trace_sample_rate", suggest("trace_sample_rat", known))
	assert.Equal(t, "service_name", suggest("serviceName", known))
	assert.Equal(t, "skip_paths", suggest("SkipPaths", known))
	assert.Equal(t, "", suggest("completely_else", known))
	assert.Equal(t, "collector_url", snakeCase("collectorURL"))
}

// JSON has one number type: the gateway reads extra_config into float64
// before its structs, so 4317.0 and 1.5e1 are the integers 4317 and 15.
func TestIntegralNumbersAreIntegers(t *testing.T) {
	cfg := parseOK(t, otel(`"exporters": {"otlp": [{"name": "c", "host": "localhost", "port": 4317.0}]}, "metric_reporting_period": 1.5e1`))
	o := cfg.OpenTelemetry
	require.Len(t, o.Exporters.OTLP, 1)
	assert.Equal(t, 4317, o.Exporters.OTLP[0].Port)
	assert.Equal(t, 15, o.MetricReportingPeriod)
	assert.True(t, o.MetricReportingPeriodSet)
}
