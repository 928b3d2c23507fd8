package krakend

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const otelNS = `extra_config["telemetry/opentelemetry"]`
const ocNS = `extra_config["telemetry/opencensus"]`

// otel wraps a telemetry/opentelemetry body into a whole krakend.json.
func otel(body string) string {
	return `{"version": 3, "extra_config": {"telemetry/opentelemetry": {` + body + `}}}`
}

const okExporters = `"exporters": {"otlp": [{"name": "c", "host": "localhost"}]}`

func oc(body string) string {
	return `{"version": 3, "extra_config": {"telemetry/opencensus": {` + body + `}}}`
}

func withEndpoint(ep string) string {
	return `{"version": 3, "extra_config": {"telemetry/opentelemetry": {` + okExporters + `}}, "endpoints": [` + ep + `]}`
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		kind     Kind
		wantPath string // exact JSON path; empty for syntax-level errors
		wantPos  string // "line:col" for errors without a path
		wantWhy  string // part of the reason
	}{
		// syntax, templates, fragments
		{"a stray comma is a syntax error with its position", "{\n  \"version\": 3,,\n}", KindSyntax, "", "2:16", "a stray comma?"},
		{"a trailing comma is named", "{\"version\": 3,\n}", KindSyntax, "", "2:1", "a trailing comma before it?"},
		{"a truncated file is a syntax error at its end", `{"version": 3`, KindSyntax, "", "1:14", "unexpected end of JSON input"},
		{"an unquoted template value says how to render", "{\n \"port\": {{ .port }}\n}", KindTemplate, "", "2:10", "FC_OUT"},
		{"an include template says how to render", `{"endpoints": {{ include "e.json" }}}`, KindTemplate, "", "1:15", `{{ include "e.json" }}`},
		{"a comma list of endpoints is a fragment", `{"endpoint": "/a"}, {"endpoint": "/b"}`, KindFragment, "", "1:19", "comma-separated list of endpoints"},
		{"a single endpoint is a fragment", `{"endpoint": "/a", "backend": []}`, KindFragment, "", "1:1", "a single endpoint"},
		{"a bare extra_config is a fragment", `{"telemetry/opentelemetry": {}}`, KindFragment, "", "1:1", "bare `extra_config`"},
		{"a namespace body alone is a fragment", `{"service_name": "x", "exporters": {}}`, KindFragment, "", "1:1", "content of extra_config[\"telemetry/opentelemetry\"]"},
		{"an array root is a list of endpoints", `[{"endpoint": "/a"}]`, KindFragment, "", "1:1", "list of endpoints"},
		{"a scalar root is not a krakend.json", `"hello"`, KindFragment, "", "1:1", "the root is a string"},

		// root
		{"a missing version is reported", `{"endpoints": []}`, KindRequired, "version", "", "is missing"},
		{"version 1 is not supported", `{"version": 1}`, KindUnsupported, "version", "", "1 is not supported"},
		{"version as a string is a type error", `{"version": "3"}`, KindType, "version", "", `expected an integer, got string "3"`},
		{"endpoints must be an array", `{"version": 3, "endpoints": {}}`, KindType, "endpoints", "", "expected an array"},
		{"a misspelt namespace is caught", `{"version": 3, "extra_config": {"telemetry/opentelemtry": {}}}`, KindUnknownField, `extra_config["telemetry/opentelemtry"]`, "", `did you mean "telemetry/opentelemetry"?`},

		// wrong types
		{"a boolean given as a string", otel(okExporters + `, "layers": {"global": {"disable_metrics": "false"}}`), KindType, otelNS + ".layers.global.disable_metrics", "", `expected a boolean (true or false), got string "false"`},
		{"a port given as a string", otel(`"exporters": {"otlp": [{"name": "c", "port": "4317"}]}`), KindType, otelNS + ".exporters.otlp[0].port", "", "expected an integer"},
		{"a fractional port", otel(`"exporters": {"otlp": [{"name": "c", "port": 4317.5}]}`), KindType, otelNS + ".exporters.otlp[0].port", "", "expected an integer, got number 4317.5"},
		{"a fraction in exponent form", otel(`"exporters": {"otlp": [{"name": "c", "port": 43175e-1}]}`), KindType, otelNS + ".exporters.otlp[0].port", "", "expected an integer, got number 43175e-1"},
		{"a huge integer in exponent form", otel(okExporters + `, "metric_reporting_period": 1e20`), KindRange, otelNS + ".metric_reporting_period", "", "1e20 is too large"},
		{"trace_sample_rate must be a number", otel(okExporters + `, "trace_sample_rate": "0.5"`), KindType, otelNS + ".trace_sample_rate", "", "expected a number"},
		{"static attributes as a map are refused", otel(okExporters + `, "layers": {"proxy": {"metrics_static_attributes": {"a": "b"}}}`), KindType, otelNS + ".layers.proxy.metrics_static_attributes", "", "a map is not accepted"},
		{"a static attribute key must be a string", otel(okExporters + `, "layers": {"backend": {"metrics": {"static_attributes": [{"key": "a", "value": "b"}, {"key": "c", "value": "d"}, {"key": 3, "value": "x"}]}}}`), KindType, otelNS + ".layers.backend.metrics.static_attributes[2].key", "", "expected a string, got number 3"},
		{"skip_paths must be strings", otel(okExporters + `, "skip_paths": ["/a", 2]`), KindType, otelNS + ".skip_paths[1]", "", "expected a string"},
		{"a namespace must be an object", `{"version": 3, "extra_config": {"telemetry/opentelemetry": []}}`, KindType, otelNS, "", "expected an object, got an array"},
		{"a null opentelemetry namespace is the gateway's empty one, which sends nothing", `{"version": 3, "extra_config": {"telemetry/opentelemetry": null}}`, KindRequired, otelNS, "", "null: the gateway reads it as an empty configuration"},
		{"a null opencensus namespace is the gateway's empty one, which sends nothing", `{"version": 3, "extra_config": {"telemetry/opencensus": null}}`, KindRequired, ocNS, "", "null: the gateway reads it as an empty configuration"},
		{"a null opencensus namespace under its older name too", `{"version": 3, "extra_config": {"github_com/devopsfaith/krakend-opencensus": null}}`, KindRequired, `extra_config["github_com/devopsfaith/krakend-opencensus"]`, "", "null: the gateway reads it as an empty configuration"},
		{"a null opentelemetry namespace beside opencensus is still refused", `{"version": 3, "extra_config": {"telemetry/opentelemetry": null, "telemetry/opencensus": {"exporters": {"logger": {}}}}}`, KindRequired, otelNS, "", "remove the key to turn it off"},
		{"sample_rate must be an integer", oc(`"sample_rate": 2.5, "exporters": {"logger": {"spans": true}}`), KindType, ocNS + ".sample_rate", "", "expected an integer, got number 2.5"},

		// unknown fields, did-you-mean, legacy names
		{"a typo gets a did-you-mean", otel(okExporters + `, "trace_sample_rat": 0.5`), KindUnknownField, otelNS + ".trace_sample_rat", "", "did you mean `trace_sample_rate`?"},
		{"camelCase serviceName is found", otel(okExporters + `, "serviceName": "x"`), KindUnknownField, otelNS + ".serviceName", "", "did you mean `service_name`?"},
		{"camelCase collectorURL is found", oc(`"exporters": {"zipkin": {"collectorURL": "http://z"}}`), KindUnknownField, ocNS + ".exporters.zipkin.collectorURL", "", "did you mean `collector_url`?"},
		{"custom_reporting_period has its own hint", otel(`"exporters": {"otlp": [{"name": "c", "custom_reporting_period": 5}]}`), KindUnknownField, otelNS + ".exporters.otlp[0].custom_reporting_period", "", "the name is `custom_metric_reporting_period`"},
		{"a pipe layer in opentelemetry has its own hint", otel(okExporters + `, "layers": {"pipe": {}}`), KindUnknownField, otelNS + ".layers.pipe", "", "in telemetry/opentelemetry it is `proxy`"},
		{"report_headers under backend.metrics is explained", otel(okExporters + `, "layers": {"backend": {"metrics": {"report_headers": true}}}`), KindUnknownField, otelNS + ".layers.backend.metrics.report_headers", "", "exists only in backend.traces"},
		{"an unknown far name lists the known ones", otel(okExporters + `, "wibble": 1`), KindUnknownField, otelNS + ".wibble", "", "known here: deploy_env, exporters"},
		{"a layers wrapper in an endpoint override is explained", withEndpoint(`{"endpoint": "/a", "extra_config": {"telemetry/opentelemetry": {"layers": {}}}}`), KindUnknownField, `endpoints[0].extra_config["telemetry/opentelemetry"].layers`, "", "no `layers` wrapper"},
		{"endpoint global reads only static attributes", withEndpoint(`{"endpoint": "/a", "extra_config": {"telemetry/opentelemetry": {"global": {"disable_metrics": true}}}}`), KindUnknownField, `endpoints[0].extra_config["telemetry/opentelemetry"].global.disable_metrics`, "", "only `metrics_static_attributes` and `traces_static_attributes`"},
		{"proxy in a backend override is explained", withEndpoint(`{"endpoint": "/a", "backend": [{"url_pattern": "/b", "extra_config": {"telemetry/opentelemetry": {"proxy": {}}}}]}`), KindUnknownField, `endpoints[0].backend[0].extra_config["telemetry/opentelemetry"].proxy`, "", "read only in an endpoint's extra_config"},

		// ranges
		{"sample_rate above 100", oc(`"sample_rate": 150, "exporters": {"logger": {}}`), KindRange, ocNS + ".sample_rate", "", "150 is out of range 0..100"},
		{"sample_rate below 0", oc(`"sample_rate": -1, "exporters": {"logger": {}}`), KindRange, ocNS + ".sample_rate", "", "-1 is out of range 0..100"},
		{"a port above 65535", otel(`"exporters": {"prometheus": [{"name": "p", "port": 70000}]}`), KindRange, otelNS + ".exporters.prometheus[0].port", "", "70000 is out of range 1..65535"},
		{"a port of 0 suggests omitting it", otel(`"exporters": {"otlp": [{"name": "c", "port": 0}]}`), KindRange, otelNS + ".exporters.otlp[0].port", "", "omit it for the default 4317"},
		{"an unclosed IPv6 bracket in host", otel(`"exporters": {"otlp": [{"name": "c", "host": "[fd00::1"}]}`), KindRange, otelNS + ".exporters.otlp[0].host", "", "no closing `]`"},
		{"brackets around a name in host", otel(`"exporters": {"otlp": [{"name": "c", "host": "http://[tempo]"}]}`), KindRange, otelNS + ".exporters.otlp[0].host", "", "brackets hold an IPv6 address"},
		{"text after an IPv6 literal's bracket", otel(`"exporters": {"otlp": [{"name": "c", "host": "[fd00::1]x"}]}`), KindRange, otelNS + ".exporters.otlp[0].host", "", "only `:port` may follow"},
		{"colons in something that is no IPv6 address", otel(`"exporters": {"otlp": [{"name": "c", "host": "fd00::zz"}]}`), KindRange, otelNS + ".exporters.otlp[0].host", "", "neither a host:port nor an IPv6 address"},
		{"a port in host that is no number", otel(`"exporters": {"otlp": [{"name": "c", "host": "tempo:grpc"}]}`), KindRange, otelNS + ".exporters.otlp[0].host", "", "the port written after `:` must be a number"},
		{"custom_metric_reporting_period below 1", otel(`"exporters": {"otlp": [{"name": "c", "custom_metric_reporting_period": 0}]}`), KindRange, otelNS + ".exporters.otlp[0].custom_metric_reporting_period", "", "at least 1"},
		{"semantic_convention other than 1.27", otel(okExporters + `, "layers": {"global": {"semantic_convention": "1.26"}}`), KindRange, otelNS + ".layers.global.semantic_convention", "", `"1.26" is not supported`},
		{"a huge integer", otel(okExporters + `, "metric_reporting_period": 99999999999999999999`), KindRange, otelNS + ".metric_reporting_period", "", "is too large"},
		{"path_aggregation values are checked", withEndpoint(`{"endpoint": "/a", "extra_config": {"telemetry/opencensus": {"path_aggregation": "first"}}}`), KindRange, `endpoints[0].extra_config["telemetry/opencensus"].path_aggregation`, "", "not one of pattern, lastparam, off"},

		// required, duplicates, unsupported
		{"exporter names are unique across otlp and prometheus", otel(`"exporters": {"otlp": [{"name": "x"}], "prometheus": [{"name": "x"}]}`), KindDuplicate, otelNS + ".exporters.prometheus[0].name", "", `"x" is already the name of ` + otelNS + `.exporters.otlp[0].name`},
		{"an exporter needs a name", otel(`"exporters": {"otlp": [{"host": "h"}]}`), KindRequired, otelNS + ".exporters.otlp[0].name", "", "is required"},
		{"opentelemetry without exporters", otel(`"service_name": "x"`), KindRequired, otelNS + ".exporters", "", "no exporter is declared"},
		{"opencensus without exporters", oc(`"sample_rate": 10, "exporters": {}`), KindRequired, ocNS + ".exporters", "", "no exporter is declared"},
		{"x-ray without credentials", oc(`"exporters": {"xray": {"region": "eu-west-1", "version": "v"}}`), KindRequired, ocNS + ".exporters.xray", "", "missing: access_key_id, secret_access_key"},
		{"x-ray without region", oc(`"exporters": {"xray": {"use_env": true}}`), KindRequired, ocNS + ".exporters.xray", "", "needs region and either access_key_id+secret_access_key or use_env (missing: region)"},
		{"an opencensus prometheus needs a port", oc(`"exporters": {"prometheus": {"namespace": "k"}}`), KindRequired, ocNS + ".exporters.prometheus", "", "`port` is required"},
		{"jaeger needs an endpoint", oc(`"exporters": {"jaeger": {"service_name": "k"}}`), KindRequired, ocNS + ".exporters.jaeger", "", "needs `endpoint`"},
		{"both opencensus names at once", `{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"logger": {}}}, "github_com/devopsfaith/krakend-opencensus": {"exporters": {"logger": {}}}}}`, KindDuplicate, `extra_config["github_com/devopsfaith/krakend-opencensus"]`, "", "both"},
		{"exporters_override names a missing exporter", withEndpoint(`{"endpoint": "/a", "extra_config": {"telemetry/opentelemetry": {"exporters_override": {"trace_exporters": ["d"]}}}}`), KindRequired, `endpoints[0].extra_config["telemetry/opentelemetry"].exporters_override.trace_exporters`, "", `exporter "d" is not declared`},
		{"a backend override without traces is refused", withEndpoint(`{"endpoint": "/a", "backend": [{"url_pattern": "/b", "extra_config": {"telemetry/opentelemetry": {"backend": {"metrics": {"disable_stage": true}}}}}]}`), KindUnsupported, `endpoints[0].backend[0].extra_config["telemetry/opentelemetry"].backend`, "", "KrakenD panics at start-up"},
		{"an empty backend override is refused too", withEndpoint(`{"endpoint": "/a", "backend": [{"url_pattern": "/b", "extra_config": {"telemetry/opentelemetry": {"backend": {}}}}]}`), KindUnsupported, `endpoints[0].backend[0].extra_config["telemetry/opentelemetry"].backend`, "", "no `traces` object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.json), "krakend.json")
			require.Error(t, err)
			assert.Nil(t, cfg)
			var match *Error
			for _, e := range AsErrors(err) {
				if e.Kind == tt.kind && e.Path == tt.wantPath && strings.Contains(e.Reason, tt.wantWhy) {
					match = e
					break
				}
			}
			require.NotNil(t, match, "want %s at %q: …%s…; got:\n%v", tt.kind, tt.wantPath, tt.wantWhy, err)
			msg := match.Error()
			assert.NotContains(t, msg, "\n", "one line")
			if tt.wantPath != "" {
				assert.Equal(t, "krakend.json: "+tt.wantPath+": "+match.Reason, msg)
				assert.NotZero(t, match.Line, "a path error still knows its line")
			} else {
				assert.True(t, strings.HasPrefix(msg, "krakend.json:"+tt.wantPos+": "), "want position %s in %q", tt.wantPos, msg)
			}
		})
	}
}

func TestErrorsAreCollectedTogether(t *testing.T) {
	_, err := Parse([]byte(otel(`"trace_sample_rat": 1, "exporters": {"otlp": [{"name": "a", "port": 0}, {"name": "a"}]}`)), "k.json")
	es := AsErrors(err)
	require.Len(t, es, 3, "%v", err)
	assert.Len(t, strings.Split(err.Error(), "\n"), 3)
	assert.True(t, HasKind(err, KindDuplicate))
	assert.True(t, HasKind(err, KindRange))
	assert.True(t, HasKind(err, KindUnknownField))
}

func TestCommentKeysAreAcceptedEverywhere(t *testing.T) {
	src := otel(`"@comment": "x", "$ref": 1, "_note": {}, "#tag": [], "exporters": {"@c": 1, "otlp": [{"name": "a", "_x": 1}]}, "layers": {"global": {"#": true}}`)
	_, err := Parse([]byte(src), "k.json")
	assert.NoError(t, err)
}

func TestOtherFeaturesAreNotChecked(t *testing.T) {
	src := `{"version": 3, "extra_config": {"router": {"whatever": 1}, "telemetry/logging": {"level": "DEBUG"}, "telemetry/opentelemetry": {` + okExporters + `}},
	 "endpoints": [{"endpoint": "/a", "whitelist": 3, "backend": [{"url_pattern": "/b", "sd": "dns", "extra_config": {"qos/ratelimit": {"x": 1}}}]}]}`
	cfg, err := Parse([]byte(src), "k.json")
	require.NoError(t, err)
	assert.Equal(t, "/b", cfg.Endpoints[0].Backends[0].URLPattern)
}

func TestSecretsStayOutOfMessages(t *testing.T) {
	const key = "AKIAFAKE0123456789"
	inputs := []string{
		oc(`"exporters": {"xray": {"region": "r", "access_key_id": "` + key + `"}}`),
		oc(`"exporters": {"xray": {"region": "r", "version": "v", "access_key_id": ["` + key + `"], "secret_access_key": "` + key + `"}}`),
		oc(`"exporters": {"influxdb": {"password": 12345678, "pasword": "` + key + `"}}`),
		oc(`"exporters": {"ocagent": {"headers": {"authorization": 5, "x": ["` + key + `"]}}}`),
		oc(`"exporters": {"datadog": {"api_key": "` + key + `"}}`),
	}
	for _, in := range inputs {
		_, err := Parse([]byte(in), "k.json")
		require.Error(t, err)
		assert.NotContains(t, err.Error(), key)
		assert.NotContains(t, err.Error(), "12345678")
	}
	s := Secret(key)
	for _, out := range []string{s.String(), s.GoString()} {
		assert.NotContains(t, out, key)
	}
	assert.Equal(t, key, s.Reveal())
}

func TestLoad(t *testing.T) {
	_, err := Load("testdata/does-not-exist.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "load testdata/does-not-exist.json")
}
