package translate

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixturesDir holds real krakend.json files; CI always has it.
const fixturesDir = "../../../shared/fixtures/krakend-real"

var goldenOpts = Options{CollectorHosts: []string{"otel-collector"}}

// render is what a golden file holds: the YAML, then warnings and
// environment variables as comments (so the file stays valid YAML).
func render(res *Result) []byte {
	var b strings.Builder
	b.Write(res.YAML)
	for _, w := range res.Warnings {
		b.WriteString("# warning: " + w.String() + "\n")
	}
	for _, e := range res.EnvVars {
		b.WriteString("# env: " + e.Name + " — " + e.Purpose + "\n")
	}
	return []byte(b.String())
}

func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./config/translate -update")
	assert.Equal(t, string(want), string(got), "output differs from %s (go test -update to accept)", path)
}

// pipelines is the service.pipelines part of a collector configuration.
type pipelines map[string]struct {
	Receivers  []string `yaml:"receivers"`
	Processors []string `yaml:"processors"`
	Exporters  []string `yaml:"exporters"`
}

// checkCollectorShape asserts the invariants of docs/contracts.md on the
// produced YAML.
func checkCollectorShape(t *testing.T, out []byte) {
	t.Helper()
	var doc struct {
		Receivers  map[string]any `yaml:"receivers"`
		Processors map[string]any `yaml:"processors"`
		Exporters  map[string]map[string]any
		Connectors map[string]any `yaml:"connectors"`
		Service    struct {
			Pipelines pipelines `yaml:"pipelines"`
		} `yaml:"service"`
	}
	require.NoError(t, yaml.Unmarshal(out, &doc))
	require.NotEmpty(t, doc.Service.Pipelines)
	// A pipeline fed only by connectors starts after the memory limiter
	// (traces/in already passed it). Batching happens in the exporters'
	// sending_queue, after the (persistent) queue has the data: the batch
	// processor, which acknowledges data it holds in memory, ends only the
	// pipelines of exporters that have no queue to batch in.
	onlyConnectors := func(ids []string) bool {
		for _, id := range ids {
			if _, ok := doc.Connectors[id]; !ok {
				return false
			}
		}
		return len(ids) > 0
	}
	for name, p := range doc.Service.Pipelines {
		if !onlyConnectors(p.Receivers) {
			require.NotEmpty(t, p.Processors, name)
			assert.Equal(t, "memory_limiter", p.Processors[0], "%s: memory_limiter first", name)
		}
		needsBatch := false
		for _, e := range p.Exporters {
			if strings.SplitN(e, "/", 2)[0] == "awsxray" {
				needsBatch = true
			}
		}
		if needsBatch {
			assert.Equal(t, "batch", p.Processors[len(p.Processors)-1], "%s: batch last, for awsxray", name)
		} else {
			assert.NotContains(t, p.Processors, "batch", "%s: the exporters batch in their queue", name)
		}
		assert.NotEmpty(t, p.Exporters, name)
		for _, r := range p.Receivers {
			_, conn := doc.Connectors[r]
			_, recv := doc.Receivers[r]
			assert.True(t, conn || recv, "%s: receiver %s is defined", name, r)
		}
		for _, pr := range p.Processors {
			assert.Contains(t, doc.Processors, pr)
		}
		for _, e := range p.Exporters {
			_, conn := doc.Connectors[e]
			_, exp := doc.Exporters[e]
			assert.True(t, conn || exp, "%s: exporter %s is defined", name, e)
		}
	}
	// Datadog's APM stats see every span: whenever a datadog exporter takes
	// traces, the datadog connector is fed by a pipeline with no sampler, or
	// (when the translation samples nothing) by the exporter's own pipeline.
	for id := range doc.Exporters {
		if strings.SplitN(id, "/", 2)[0] != "datadog" {
			continue
		}
		takesTraces, statsUnsampled := false, false
		for _, p := range doc.Service.Pipelines {
			if slices.Contains(p.Exporters, id) && slices.Contains(p.Processors, "sampling") {
				takesTraces = true
			}
			if slices.Contains(p.Exporters, "datadog/stats") && (!slices.Contains(p.Processors, "sampling") || slices.Contains(p.Exporters, id)) {
				statsUnsampled = true
			}
		}
		if takesTraces {
			assert.True(t, statsUnsampled, "%s takes traces: the datadog/stats connector must see them before sampling", id)
		}
	}
	// A sampler that copies the kept spans (copy_kept_spans) lets the
	// collector hand it the spans requestmetrics reads without a copy of every
	// batch, but only if nothing after it says it mutates: its pipeline has
	// no batch processor, is fed by a connector, and its exporters do not
	// batch in their queue. Every other exporter batches in its queue.
	// The request metrics are counted either inline (their processor before
	// the sampler, their connector at the end of the same pipeline, the
	// sampler in place) or, beside Datadog's stats, in traces/in before a
	// copying sampler. Either way a connector shares the sampled batches
	// with the exporters, which then do not batch in their queue.
	sampling, _ := doc.Processors["sampling"].(map[string]any)
	copying, _ := sampling["copy_kept_spans"].(bool)
	shared := map[string]bool{}
	for name, p := range doc.Service.Pipelines {
		if !slices.Contains(p.Processors, "sampling") {
			continue
		}
		inline := slices.Contains(p.Exporters, "requestmetrics")
		if inline {
			counts := slices.Index(p.Processors, "requestmetrics")
			assert.True(t, counts >= 0 && counts < slices.Index(p.Processors, "sampling"), "%s: the requestmetrics processor counts before the sampler", name)
			assert.False(t, copying, "%s: the sampler has its input to itself and samples in place", name)
		} else {
			assert.NotContains(t, p.Processors, "requestmetrics", "%s: the processor counts for a connector at the pipeline's end", name)
		}
		for _, e := range p.Exporters {
			if copying || inline {
				shared[e] = true
			}
		}
		if copying {
			assert.True(t, onlyConnectors(p.Receivers), "%s: copy_kept_spans only where the input is shared", name)
		}
		if _, gathers := sampling["batch"]; gathers {
			assert.NotContains(t, p.Processors, "batch", "%s: the sampler gathers its kept spans: a batch processor after it batches twice", name)
		}
	}
	batches := func(id string) bool { return !shared[id] }
	for id, cfg := range doc.Exporters {
		typ := strings.SplitN(id, "/", 2)[0]
		_, q := cfg["sending_queue"]
		_, r := cfg["retry_on_failure"]
		switch typ {
		case "otlp_grpc", "otlp_http", "datadog", "zipkin", "influxdb":
			assert.True(t, q && r, "%s needs sending_queue and retry_on_failure", id)
			if batches(id) {
				assert.Contains(t, cfg["sending_queue"], "batch", "%s batches in its queue", id)
			} else {
				assert.NotContains(t, cfg["sending_queue"], "batch", "%s shares the sampled batches with a connector: a batching queue would make the collector copy every batch", id)
			}
		case "googlecloud":
			assert.Contains(t, cfg["sending_queue"], "batch", "%s batches in its queue", id)
			assert.False(t, r, "%s has no retry_on_failure", id)
		default:
			assert.False(t, q || r, "%s does not support sending_queue/retry_on_failure", id)
		}
	}
	checkUnsampledTraces(t, doc.Processors)
}

// checkUnsampledTraces: the layer filter spares the static attributes of
// the spans the sampler will drop only when it knows the sampler's rule
// exactly: sdk_parity, one percentage, the same one; and never with
// destination names, which read those attributes on every span.
func checkUnsampledTraces(t *testing.T, procs map[string]any) {
	t.Helper()
	lf, _ := procs["layerfilter"].(map[string]any)
	u, ok := lf["unsampled_traces"].(map[string]any)
	if !ok {
		return
	}
	sampling, _ := procs["sampling"].(map[string]any)
	require.NotNil(t, sampling, "unsampled_traces without a sampler")
	assert.Equal(t, "sdk_parity", sampling["mode"])
	assert.NotContains(t, sampling, "routes", "unsampled_traces knows one percentage, the sampler has per-route ones")
	assert.Equal(t, sampling["sampling_percentage"], u["sdk_parity_percentage"])
	names, _ := lf["destination_names"].(map[string]any)
	assert.Equal(t, false, names["enabled"], "unsampled_traces with destination names")
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.krakend.json")
	require.NoError(t, err)
	require.NotEmpty(t, inputs)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".krakend.json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			require.NoError(t, err)
			cfg, err := krakend.Parse(data, filepath.Base(in))
			require.NoError(t, err)
			res, err := Translate(cfg, goldenOpts)
			require.NoError(t, err)
			checkCollectorShape(t, res.YAML)
			compareGolden(t, filepath.Join("testdata", name+".golden.yaml"), render(res))
		})
	}
}

var located = regexp.MustCompile(`^[^:]+(:\d+:\d+: |: [A-Za-z_\[][^:]*: )\S`)

// TestRealFixtures runs every published krakend.json: each translates (its
// output kept as a golden file) or is refused with one line per problem that
// names the file, a JSON path or line:col, and a reason. Never a panic.
func TestRealFixtures(t *testing.T) {
	entries, err := os.ReadDir(fixturesDir)
	require.NoError(t, err, "the shared fixtures must be present at %s", fixturesDir)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(fixturesDir, name))
			require.NoError(t, err)
			var res *Result
			require.NotPanics(t, func() {
				var cfg *krakend.Config
				cfg, err = krakend.Parse(data, name)
				if err == nil {
					res, err = Translate(cfg, Options{})
				}
			})
			base := filepath.Join("testdata", "fixtures", strings.TrimSuffix(name, ".json"))
			if err != nil {
				es := krakend.AsErrors(err)
				require.NotEmpty(t, es, "refusal must be a *krakend.Error: %v", err)
				for _, e := range es {
					line := e.Error()
					assert.NotContains(t, line, "\n", "one line per problem")
					assert.True(t, strings.HasPrefix(line, name+":"), "names the file: %s", line)
					assert.Regexp(t, located, line, "names a path or line:col and a reason")
					assert.NotEmpty(t, e.Reason)
				}
				compareGolden(t, base+".golden.err", []byte(err.Error()+"\n"))
				return
			}
			checkCollectorShape(t, res.YAML)
			compareGolden(t, base+".golden.yaml", render(res))
		})
	}
}

func TestTranslateRefusals(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		wantPath string
		wantWhy  string
	}{
		{
			name:     "an endpoint override without the endpoint's path is refused at the missing path",
			json:     `{"version": 3, "endpoints": [{"backend": [{"url_pattern": "/a", "host": ["http://x"]}], "extra_config": {"telemetry/opentelemetry": {"proxy": {"disable_traces": true}}}}], "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "t", "host": "tempo"}]}}}}`,
			wantPath: "endpoints[0].endpoint",
			wantWhy:  "is missing: the collector finds an endpoint's telemetry settings by its path",
		},
		{
			name:     "a backend override without url_pattern is refused at the missing url_pattern",
			json:     `{"version": 3, "endpoints": [{"endpoint": "/b", "backend": [{"host": ["http://x"], "extra_config": {"telemetry/opentelemetry": {"backend": {"traces": {"round_trip": false}}}}}]}], "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "t", "host": "tempo"}]}}}}`,
			wantPath: "endpoints[0].backend[0].url_pattern",
			wantWhy:  "is missing: the collector finds a backend's telemetry settings by its url_pattern",
		},
		{
			name:     "a file without any telemetry namespace is refused",
			json:     `{"version": 3, "extra_config": {"router": {}}}`,
			wantPath: "extra_config",
			wantWhy:  "nothing to translate",
		},
		{
			name:     "zipkin without a collector URL is refused",
			json:     `{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"zipkin": {"service_name": "gw"}}}}}`,
			wantPath: `extra_config["telemetry/opencensus"].exporters.zipkin.collector_url`,
			wantWhy:  "the Zipkin collector's URL is required",
		},
		{
			name:     "influxdb without an address is refused",
			json:     `{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"influxdb": {"db": "krakend", "password": "x"}}}}}`,
			wantPath: `extra_config["telemetry/opencensus"].exporters.influxdb.address`,
			wantWhy:  "the InfluxDB address is required",
		},
		{
			name:     "influxdb without a database is refused",
			json:     `{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"influxdb": {"address": "http://i:8086", "password": "x"}}}}}`,
			wantPath: `extra_config["telemetry/opencensus"].exporters.influxdb.db`,
			wantWhy:  "the InfluxDB 1.x database is required",
		},
		{
			name:     "an influxdb address without a scheme is refused, without repeating it",
			json:     `{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"influxdb": {"address": "u:\"x\"@influx:8086", "db": "d"}}}}}`,
			wantPath: `extra_config["telemetry/opencensus"].exporters.influxdb.address`,
			wantWhy:  "not an http:// or https:// URL",
		},
		{
			name:     "a zipkin collector_url that is not an HTTP URL is refused",
			json:     `{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"zipkin": {"collector_url": "zipkin:9411"}}}}}`,
			wantPath: `extra_config["telemetry/opencensus"].exporters.zipkin.collector_url`,
			wantWhy:  "not an http:// or https:// URL",
		},
		{
			name:     "two listeners on one port are refused",
			json:     `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"prometheus": [{"name": "a", "port": 4317}]}}}}`,
			wantPath: `extra_config["telemetry/opentelemetry"].exporters.prometheus[0].port`,
			wantWhy:  "port 4317 is also used by receiver gateway",
		},
		{
			name:     "gRPC and OTLP/HTTP toward the collector on one port are refused at the exporter's port",
			json:     `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "g", "host": "localhost"}, {"name": "h", "host": "localhost", "use_http": true}], "prometheus": [{"name": "p"}]}}}}`,
			wantPath: `extra_config["telemetry/opentelemetry"].exporters.otlp[1].port`,
			wantWhy:  `port 4317 is also used by extra_config["telemetry/opentelemetry"].exporters.otlp[0].port`,
		},
		{
			name:     "a static attribute key with :: is refused: the collector would read nested maps",
			json:     `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c", "host": "localhost"}]}, "layers": {"global": {"traces_static_attributes": [{"key": "team", "value": "x"}, {"key": "k8s::ns", "value": "x"}]}}}}}`,
			wantPath: `extra_config["telemetry/opentelemetry"].layers.global.traces_static_attributes[1].key`,
			wantWhy:  "contains `::`, which the collector's configuration reads as a path separator",
		},
		{
			name:     "a backend's static attribute key with :: is refused at its own path",
			json:     `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c", "host": "localhost"}]}, "layers": {"backend": {"metrics": {"static_attributes": [{"key": "a::", "value": "x"}]}, "traces": {}}}}}}`,
			wantPath: `extra_config["telemetry/opentelemetry"].layers.backend.metrics.static_attributes[0].key`,
			wantWhy:  "contains `::`",
		},
		{
			name:     "an endpoint's static attribute key with :: is refused at its own path",
			json:     `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c", "host": "localhost"}]}}}, "endpoints": [{"endpoint": "/a", "extra_config": {"telemetry/opentelemetry": {"global": {"metrics_static_attributes": [{"key": "::b", "value": "x"}]}}}}]}`,
			wantPath: `endpoints[0].extra_config["telemetry/opentelemetry"].global.metrics_static_attributes[0].key`,
			wantWhy:  "contains `::`",
		},
		{
			name:     "a configuration that exports nothing is refused",
			json:     `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"prometheus": [{"name": "a", "disable_metrics": true}]}}}}`,
			wantPath: "extra_config",
			wantWhy:  "nothing to export",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := krakend.Parse([]byte(tt.json), "krakend.json")
			require.NoError(t, err)
			_, err = Translate(cfg, Options{})
			require.Error(t, err)
			var found bool
			for _, e := range krakend.AsErrors(err) {
				if e.Path == tt.wantPath && strings.Contains(e.Reason, tt.wantWhy) {
					found = true
				}
			}
			assert.True(t, found, "want %s: …%s…, got:\n%v", tt.wantPath, tt.wantWhy, err)
			assert.NotContains(t, err.Error(), `"x"`)
		})
	}
}

func TestNoTelemetryIsASentinel(t *testing.T) {
	cfg, err := krakend.Parse([]byte(`{"version": 3}`), "k.json")
	require.NoError(t, err)
	_, err = Translate(cfg, Options{})
	var ke *krakend.Error
	require.True(t, errors.As(err, &ke))
	assert.Contains(t, ke.Reason, ErrNoTelemetry.Error())
}

func TestSamplingRules(t *testing.T) {
	tests := []struct {
		name, ns, body string
		wantPct        string
		wantMode       string
	}{
		{"a rate inside (0,1) samples in sdk_parity mode", "telemetry/opentelemetry", `"trace_sample_rate": 0.25`, "25", "sdk_parity"},
		{"a rate of 0 keeps everything, as the gateway does", "telemetry/opentelemetry", `"trace_sample_rate": 0`, "100", "sdk_parity"},
		{"a rate of 1 keeps everything", "telemetry/opentelemetry", `"trace_sample_rate": 1`, "100", "sdk_parity"},
		{"a negative rate keeps everything", "telemetry/opentelemetry", `"trace_sample_rate": -3`, "100", "sdk_parity"},
		{"an OpenCensus percentage is the SDK rule of the OpenTelemetry gateway that will send", "telemetry/opencensus", `"sample_rate": 40`, "40", "sdk_parity"},
		{"an absent OpenCensus rate keeps no trace", "telemetry/opencensus", `"reporting_period": 1`, "0", "sdk_parity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := `"exporters": {"otlp": [{"name": "t", "host": "tempo"}]}`
			if tt.ns == "telemetry/opencensus" {
				exp = `"exporters": {"xray": {"region": "r", "version": "v", "use_env": true}}`
			}
			src := `{"version": 3, "extra_config": {"` + tt.ns + `": {` + tt.body + `, ` + exp + `}}}`
			cfg, err := krakend.Parse([]byte(src), "k.json")
			require.NoError(t, err)
			res, err := Translate(cfg, Options{})
			require.NoError(t, err)
			var doc struct {
				Processors struct {
					Sampling struct {
						Pct  yaml.Node `yaml:"sampling_percentage"`
						Mode string    `yaml:"mode"`
					} `yaml:"sampling"`
				} `yaml:"processors"`
			}
			require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
			assert.Equal(t, tt.wantPct, doc.Processors.Sampling.Pct.Value)
			assert.Equal(t, tt.wantMode, doc.Processors.Sampling.Mode)
		})
	}
}

// An absent OpenCensus sample_rate keeps no trace: every destination that
// takes traces is warned about, whichever exporter it is.
func TestAnAbsentOpenCensusRateIsPointedOutWhereTracesGo(t *testing.T) {
	tests := []struct {
		name, exporters string
		warn            bool
	}{
		{"xray takes traces", `"xray": {"region": "r", "use_env": true}`, true},
		{"jaeger takes traces", `"jaeger": {"endpoint": "http://jaeger:14268/api/traces", "service_name": "gw"}`, true},
		{"zipkin takes traces", `"zipkin": {"collector_url": "http://zipkin:9411/api/v2/spans", "service_name": "gw"}`, true},
		{"stackdriver takes traces", `"stackdriver": {"project_id": "p", "metric_prefix": "krakend"}`, true},
		{"a logger of spans takes traces", `"logger": {"spans": true}`, true},
		{"prometheus takes no traces", `"prometheus": {"port": 9091}`, false},
		{"influxdb takes no traces", `"influxdb": {"address": "http://influxdb:8086", "db": "krakend"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := `{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {` + tt.exporters + `}}}}`
			_, ws := translateProcessors(t, src, Options{})
			paths := warningPaths(ws, "keeps no trace")
			if tt.warn {
				assert.Equal(t, []string{`extra_config["telemetry/opencensus"].sample_rate`}, paths)
			} else {
				assert.Empty(t, paths)
			}
		})
	}
}

func TestUnsampledTracesOnlyWhereTheSamplerIsKnown(t *testing.T) {
	const otlp = `"exporters": {"otlp": [{"name": "t", "host": "tempo"}, {"name": "m", "host": "mimir", "disable_traces": true}]}`
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"a trace_sample_rate spares the spans the sampler drops", `"trace_sample_rate": 0.25, ` + otlp, true},
		{"no sampling, nothing to spare", `"trace_sample_rate": 1, ` + otlp, false},
		{"a static attribute the request metrics count by goes on every span", `"trace_sample_rate": 0.25, "layers": {"proxy": {"traces_static_attributes": [{"key": "http.route", "value": "/all"}]}}, ` + otlp, false},
		{"a static attribute they do not count by is spared", `"trace_sample_rate": 0.25, "layers": {"proxy": {"traces_static_attributes": [{"key": "team", "value": "edge"}]}}, ` + otlp, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {` + tt.body + `}}}`
			cfg, err := krakend.Parse([]byte(src), "k.json")
			require.NoError(t, err)
			res, err := Translate(cfg, Options{})
			require.NoError(t, err)
			checkCollectorShape(t, res.YAML)
			var doc struct {
				Processors map[string]map[string]any `yaml:"processors"`
			}
			require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
			_, got := doc.Processors["layerfilter"]["unsampled_traces"]
			assert.Equal(t, tt.want, got)
		})
	}

	// per-route rates (KrakenD Enterprise's exporters_override): the
	// sampler no longer decides by one percentage
	src := `{"version": 3, "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/a", "host": ["http://a"]}], "extra_config": {"telemetry/opentelemetry": {"exporters_override": {"trace_sample_rate": 0.5}}}}], "extra_config": {"telemetry/opentelemetry": {"trace_sample_rate": 0.25, ` + otlp + `}}}`
	cfg, err := krakend.Parse([]byte(src), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{})
	require.NoError(t, err)
	assert.Contains(t, string(res.YAML), "routes:")
	assert.NotContains(t, string(res.YAML), "unsampled_traces")
}

// Secrets from the input never reach the YAML, the warnings or the errors.
func TestSecretsNeverLeak(t *testing.T) {
	secrets := []string{"AKIAFAKEEXAMPLE12345", "fakeSecretKeyValue/DoNotUse+123", "fake-ocagent-token-123", "influx-pa55w0rd",
		"influx-url-pa55", "zipkin-url-pa55", "jaeger-url-pa55", "not-in-the-yaml"}
	inputs := []string{
		readFile(t, "testdata/opencensus.krakend.json"),
		readFile(t, "testdata/opencensus-v2-legacy.krakend.json"),
		// the InfluxDB password (field and URL user info) and Zipkin URL credentials
		readFile(t, "testdata/opencensus-influxdb.krakend.json"),
		readFile(t, "testdata/opencensus-zipkin.krakend.json"),
		readFile(t, "testdata/opencensus-stackdriver-zipkin-influxdb.krakend.json"),
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"influxdb": {"address": "http://i:8086", "db": "d", "username": "u", "password": "influx-pa55w0rd"}}}}}`,
		// refused files: the error must not carry the secret either
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"influxdb": {"address": "http://i:8086", "password": "influx-pa55w0rd"}}}}}`,
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"influxdb": {"address": "u:influx-url-pa55@i:8086", "db": "d", "password": "influx-pa55w0rd"}}}}}`,
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"zipkin": {"collector_url": "tracer:zipkin-url-pa55@zipkin:9411"}}}}}`,
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"xray": {"region": "r", "access_key_id": "AKIAFAKEEXAMPLE12345", "secret_access_key": 5}}}}}`,
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"xray": {"region": "r", "version": "v", "access_key_id": "AKIAFAKEEXAMPLE12345", "secret_acces_key": "fakeSecretKeyValue/DoNotUse+123"}}}}}`,
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"ocagent": {"headers": {"x-token": ["fake-ocagent-token-123"]}}}}}}`,
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"influxdb": {"password": ["influx-pa55w0rd"]}}}}}`,
		// Jaeger endpoints with user info but no scheme
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"jaeger": {"endpoint": "tracer:jaeger-url-pa55@jaeger:14268"}}}}}`,
		`{"version": 3, "extra_config": {"telemetry/opencensus": {"exporters": {"jaeger": {"agent_endpoint": "tracer:jaeger-url-pa55@jaeger-agent:6831"}}}}}`,
	}
	for i, in := range inputs {
		var out strings.Builder
		cfg, err := krakend.Parse([]byte(in), "krakend.json")
		if err == nil {
			var res *Result
			res, err = Translate(cfg, Options{})
			if err == nil {
				out.Write(render(res))
			}
		}
		if err != nil {
			out.WriteString(err.Error())
		}
		for _, s := range secrets {
			assert.NotContains(t, out.String(), s, "input %d leaks a secret", i)
		}
	}
}

func TestXrayCredentialsBecomeEnvironmentVariables(t *testing.T) {
	cfg, err := krakend.Parse([]byte(readFile(t, "testdata/opencensus.krakend.json")), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{})
	require.NoError(t, err)
	var names []string
	for _, e := range res.EnvVars {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DD_API_KEY", "DD_SITE", "DD_HOSTNAME"}, names)
	assert.Contains(t, string(res.YAML), "key: ${env:DD_API_KEY}")
}

func TestHealthCheckCanBeTurnedOff(t *testing.T) {
	cfg, err := krakend.Parse([]byte(readFile(t, "testdata/otel-minimal.krakend.json")), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{DisableHealthCheck: true})
	require.NoError(t, err)
	assert.NotContains(t, string(res.YAML), "health_check")
	checkCollectorShape(t, res.YAML)
}

func TestColonRoute(t *testing.T) {
	assert.Equal(t, "/users/:id/items/:item", colonRoute("/users/{id}/items/{item}"))
	assert.Equal(t, "/plain", colonRoute("/plain"))
	assert.Equal(t, "/broken/{", colonRoute("/broken/{"))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

func TestPercentMovesTheDecimalPointExactly(t *testing.T) {
	for _, tt := range []struct {
		rate float64
		want float64
	}{{0.0007, 0.07}, {0.25, 25}, {0.123456789, 12.3456789}, {0.1, 10}, {1e-9, 1e-7}} {
		if got := percent(tt.rate); got != tt.want {
			t.Errorf("percent(%v) = %v, want %v", tt.rate, got, tt.want)
		}
	}
}

func TestOpenCensusZipkinInfluxDBAndStackdriverMapOntoStockExporters(t *testing.T) {
	const secret = "influx-s3cret-value"
	cfg, err := krakend.Parse([]byte(`{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 50, "exporters": {
		"zipkin": {"collector_url": "http://zipkin:9411/api/v2/spans", "service_name": "gw"},
		"influxdb": {"address": "http://influxdb:8086", "db": "krakend", "username": "kd", "password": "`+secret+`", "timeout": "2s"},
		"stackdriver": {"project_id": "my-project", "metric_prefix": "krakend", "default_labels": {"env": "prod"}}}}}}`), "oc.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{})
	require.NoError(t, err)
	var doc struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
	assert.Equal(t, "http://zipkin:9411/api/v2/spans", doc.Exporters["zipkin"]["endpoint"])
	assert.Equal(t, "http://influxdb:8086", doc.Exporters["influxdb"]["endpoint"])
	assert.Equal(t, map[string]any{"enabled": true, "db": "krakend", "username": "kd", "password": "${env:INFLUXDB_PASSWORD}"},
		doc.Exporters["influxdb"]["v1_compatibility"])
	assert.Equal(t, "my-project", doc.Exporters["googlecloud"]["project"])
	assert.Equal(t, map[string]any{"prefix": "custom.googleapis.com/opencensus/krakend",
		"resource_filters": []any{map[string]any{"regex": "^(env)$$"}}}, doc.Exporters["googlecloud"]["metric"])
	assert.NotContains(t, doc.Exporters["googlecloud"], "retry_on_failure")
	assert.NotContains(t, string(res.YAML), secret)
	names := []string{}
	for _, v := range res.EnvVars {
		names = append(names, v.Name)
	}
	assert.Contains(t, names, "INFLUXDB_PASSWORD")
	assert.Contains(t, names, "GOOGLE_APPLICATION_CREDENTIALS")
	checkCollectorShape(t, res.YAML)
}

// TestQueueDirectoryPutsEveryQueueOnDisk: with a queue directory, every
// exporter's sending_queue is on the file_storage extension, which the
// service starts.
func TestQueueDirectoryPutsEveryQueueOnDisk(t *testing.T) {
	data, err := os.ReadFile("testdata/opencensus-stackdriver-zipkin-influxdb.krakend.json")
	require.NoError(t, err)
	cfg, err := krakend.Parse(data, "krakend.json")
	require.NoError(t, err)
	opts := goldenOpts
	opts.QueueDirectory = "/var/lib/otelcol-gateway/queue"
	res, err := Translate(cfg, opts)
	require.NoError(t, err)
	checkCollectorShape(t, res.YAML)

	var doc struct {
		Extensions map[string]map[string]any `yaml:"extensions"`
		Exporters  map[string]map[string]any `yaml:"exporters"`
		Service    struct {
			Extensions []string `yaml:"extensions"`
		} `yaml:"service"`
	}
	require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
	require.Contains(t, doc.Extensions, "file_storage/queue")
	assert.Equal(t, "/var/lib/otelcol-gateway/queue", doc.Extensions["file_storage/queue"]["directory"])
	assert.Equal(t, true, doc.Extensions["file_storage/queue"]["create_directory"])
	assert.Contains(t, doc.Service.Extensions, "file_storage/queue")
	queues := 0
	for id, e := range doc.Exporters {
		q, ok := e["sending_queue"].(map[string]any)
		if !ok {
			continue
		}
		queues++
		assert.Equal(t, "file_storage/queue", q["storage"], "%s: the queue is on disk", id)
	}
	assert.GreaterOrEqual(t, queues, 3, "googlecloud, zipkin and influxdb have queues")

	// the sampler (in place: the request metrics are counted inline) holds
	// no kept spans: what it would hold would be acknowledged and not on
	// disk
	assert.Equal(t, map[string]any{"copy_kept_spans": false, "batch": false}, samplerCopyAndBatch(t, res.YAML))

	// without the option, nothing is on disk, and the sampler gathers what
	// it keeps
	res, err = Translate(cfg, goldenOpts)
	require.NoError(t, err)
	assert.NotContains(t, string(res.YAML), "file_storage")
	assert.Equal(t, map[string]any{"copy_kept_spans": false, "batch": true}, samplerCopyAndBatch(t, res.YAML))
}

// The gateway's own OTLP exporters send uncompressed (krakend-otel sets no
// compressor), so the translated ones do too: gzip would cost the
// collector CPU that the gateway never spent.
func TestOTLPExportersSendUncompressedAsTheGatewayDid(t *testing.T) {
	data, err := os.ReadFile("testdata/otel-full.krakend.json")
	require.NoError(t, err)
	cfg, err := krakend.Parse(data, "krakend.json")
	require.NoError(t, err)
	res, err := Translate(cfg, goldenOpts)
	require.NoError(t, err)
	var doc struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
	n := 0
	for id, e := range doc.Exporters {
		if typ := strings.SplitN(id, "/", 2)[0]; typ == "otlp_grpc" || typ == "otlp_http" {
			assert.Equal(t, "none", e["compression"], id)
			n++
		}
	}
	assert.Positive(t, n, "otel-full has OTLP exporters")
}

// The datadog destination (translate --destination datadog) puts Datadog's
// APM stats before the sampler in traces/in, beside the request metrics:
// one pass of the layer filter, as in a krakend.json whose OpenCensus
// exporters name Datadog, where the Datadog overlay needs a second one.
func TestDatadogDestination(t *testing.T) {
	data, err := os.ReadFile("testdata/destination-datadog.json")
	require.NoError(t, err)
	cfg, err := krakend.Parse(data, "destination-datadog.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{Destinations: []string{DestinationDatadog}})
	require.NoError(t, err)
	checkCollectorShape(t, res.YAML)
	compareGolden(t, "testdata/destination-datadog.golden.yaml", render(res))

	var doc struct {
		Processors map[string]map[string]any `yaml:"processors"`
		Service    struct {
			Pipelines pipelines `yaml:"pipelines"`
		} `yaml:"service"`
	}
	require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
	layerPasses := 0
	for name, p := range doc.Service.Pipelines {
		if strings.HasPrefix(name, "traces") && slices.Contains(p.Processors, "layerfilter") {
			layerPasses++
		}
	}
	assert.Equal(t, 1, layerPasses, "one layer filter pass over the traces")
	in := doc.Service.Pipelines["traces/in"]
	assert.Equal(t, []string{"memory_limiter", "layerfilter"}, in.Processors)
	assert.Contains(t, in.Exporters, "datadog/stats", "stats from every span, before sampling")
	assert.Equal(t, []string{"sampling"}, doc.Service.Pipelines["traces"].Processors)
	assert.Contains(t, doc.Service.Pipelines["traces"].Exporters, "datadog", "the sampled traces")
	assert.Contains(t, doc.Service.Pipelines["metrics"].Exporters, "datadog", "the gateway's metrics")
	assert.Equal(t, []string{"gateway"}, doc.Service.Pipelines["metrics"].Receivers, "Datadog counts requests in its APM stats, not in billed custom metrics")
	assert.Contains(t, doc.Service.Pipelines["metrics/prometheus"].Receivers, "requestmetrics", "Prometheus still gets the request metrics")
	assert.Equal(t, []string{"datadog/stats"}, doc.Service.Pipelines["metrics/datadog_stats"].Receivers)
	assert.Equal(t, true, doc.Processors["layerfilter"]["destination_names"].(map[string]any)["enabled"])

	var names []string
	for _, e := range res.EnvVars {
		names = append(names, e.Name)
	}
	assert.Equal(t, []string{"DD_API_KEY", "DD_SITE", "DD_HOSTNAME"}, names)

	// beside another metrics destination, which gets the request metrics,
	// Datadog gets the gateway's metrics in a pipeline of its own
	withMimir := strings.Replace(string(data), `"otlp": [{"name": "collector", "host": "localhost", "port": 4317}]`,
		`"otlp": [{"name": "collector", "host": "localhost", "port": 4317}, {"name": "mimir", "host": "mimir", "port": 4317, "disable_traces": true}]`, 1)
	require.NotEqual(t, string(data), withMimir)
	cfg, err = krakend.Parse([]byte(withMimir), "destination-datadog.json")
	require.NoError(t, err)
	res, err = Translate(cfg, Options{Destinations: []string{DestinationDatadog}})
	require.NoError(t, err)
	checkCollectorShape(t, res.YAML)
	doc.Service.Pipelines = nil
	require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
	assert.Equal(t, []string{"gateway", "requestmetrics"}, doc.Service.Pipelines["metrics"].Receivers)
	assert.Equal(t, []string{"otlp_grpc/mimir"}, doc.Service.Pipelines["metrics"].Exporters)
	assert.Equal(t, []string{"gateway"}, doc.Service.Pipelines["metrics/datadog"].Receivers)
	assert.Equal(t, []string{"datadog"}, doc.Service.Pipelines["metrics/datadog"].Exporters)

	// krakend.json naming Datadog already: not added twice
	oc, err := os.ReadFile("testdata/opencensus-datadog.krakend.json")
	require.NoError(t, err)
	cfg, err = krakend.Parse(oc, "opencensus-datadog.krakend.json")
	require.NoError(t, err)
	res, err = Translate(cfg, Options{Destinations: []string{DestinationDatadog}})
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(res.YAML), "\n  datadog:\n"), "one datadog exporter")
	assert.Contains(t, string(render(res)), "krakend.json names Datadog already")

	_, err = Translate(cfg, Options{Destinations: []string{"tempo"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown destination "tempo"`)
	assert.Contains(t, err.Error(), "config/overlays")
}

// Lura takes a url_pattern placeholder inside a segment (`{id}.json`); the
// translator copies the url_pattern of a backend override as written, and
// the layer filter must accept it.
func TestBackendOverrideWithAPlaceholderInsideASegmentValidates(t *testing.T) {
	src := `{"version": 3, "endpoints": [{"endpoint": "/users/{id}", "backend": [
	  {"url_pattern": "/v1/users/{id}.json", "host": ["http://users"],
	   "extra_config": {"telemetry/opentelemetry": {"backend": {"traces": {"disable_stage": false, "round_trip": true, "read_payload": false}}}}},
	  {"url_pattern": "/v1/users/{id}", "host": ["http://users"],
	   "extra_config": {"telemetry/opentelemetry": {"backend": {"traces": {"disable_stage": false, "round_trip": false, "read_payload": false}}}}}]}],
	  "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "t", "host": "tempo"}]}}}}`
	procs, _ := translateProcessors(t, src, Options{})
	lf := procs["layerfilter"]
	require.NotNil(t, lf)
	bes, _ := lf["backends"].([]any)
	require.Len(t, bes, 2)
	assert.Equal(t, "/v1/users/{id}.json", bes[0].(map[string]any)["url_pattern"])
	assertComponentConfigValid(t, layerfilterprocessor.NewFactory(), lf)
}

// Lura writes a leading / before an endpoint or url_pattern that lacks one
// (config.URI.CleanPath), and its strict REST parameters follow a / but may
// be followed by more of the segment (`/{id}.json`, served by gin as
// `/:id.json`). The collector must accept what the gateway serves and match
// it as the gateway reports it.
func TestEndpointPathsAreReadAsLuraReadsThem(t *testing.T) {
	src := `{"version": 3, "endpoints": [{"endpoint": "orders/{id}.json", "backend": [
	  {"url_pattern": "v1/orders/{id}", "host": ["http://orders"],
	   "extra_config": {"telemetry/opentelemetry": {"backend": {"traces": {"round_trip": true}}}}}],
	  "extra_config": {"telemetry/opentelemetry": {"proxy": {"disable_metrics": true}, "exporters_override": {"trace_sample_rate": 0.5}}}}],
	  "extra_config": {"telemetry/opentelemetry": {"trace_sample_rate": 0.25, "exporters": {"otlp": [{"name": "t", "host": "tempo"}]}}}}`
	procs, _ := translateProcessors(t, src, Options{})
	lf := procs["layerfilter"]
	require.NotNil(t, lf)
	eps, _ := lf["endpoints"].([]any)
	require.Len(t, eps, 1)
	assert.Equal(t, "/orders/{id}.json", eps[0].(map[string]any)["route"])
	bes, _ := lf["backends"].([]any)
	require.Len(t, bes, 1)
	assert.Equal(t, "/orders/{id}.json", bes[0].(map[string]any)["endpoint"])
	assert.Equal(t, "/v1/orders/{id}", bes[0].(map[string]any)["url_pattern"])
	assertComponentConfigValid(t, layerfilterprocessor.NewFactory(), lf)
	sampling := procs["sampling"]
	assert.Equal(t, map[string]any{"/orders/:id.json": 50}, sampling["routes"])
	assertComponentConfigValid(t, samplingprocessor.NewFactory(), sampling)
}

// KrakenD's sampler is parent-based: it keeps every trace a caller sampled.
// By default the collector samples again by the trace ID (and says what
// that costs); with sampling gateway it keeps what arrives, and nothing
// downstream pretends to count every request.
func TestSamplingAtTheGateway(t *testing.T) {
	const body = `"trace_sample_rate": 0.25, %s
	  "exporters": {"otlp": [{"name": "tempo", "host": "tempo", "port": 4317}], "prometheus": [{"name": "p", "port": 9091}]}`
	src := func(layers string) string {
		return `{"version": 3, "endpoints": [{"endpoint": "/orders/{id}", "backend": [{"url_pattern": "/o", "host": ["http://o"]}],
		  "extra_config": {"telemetry/opentelemetry": {"exporters_override": {"trace_sample_rate": 0.5}}}}],
		  "extra_config": {"telemetry/opentelemetry": {` + fmt.Sprintf(body, layers) + `}}}`
	}
	type out struct {
		Processors map[string]map[string]any `yaml:"processors"`
		Connectors map[string]any            `yaml:"connectors"`
	}
	translate := func(t *testing.T, json string, opts Options) (out, []Warning) {
		t.Helper()
		cfg, err := krakend.Parse([]byte(json), "k.json")
		require.NoError(t, err)
		res, err := Translate(cfg, opts)
		require.NoError(t, err)
		checkCollectorShape(t, res.YAML)
		var doc out
		require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
		return doc, res.Warnings
	}
	callersWarned := func(ws []Warning) bool {
		for _, w := range ws {
			if strings.Contains(w.Message, "parent-based") {
				assert.Equal(t, `extra_config["telemetry/opentelemetry"].trace_sample_rate`, w.Path)
				return true
			}
		}
		return false
	}

	t.Run("by default the collector samples again, and says what callers' traces lose", func(t *testing.T) {
		doc, ws := translate(t, src(""), Options{})
		assert.EqualValues(t, 25, doc.Processors["sampling"]["sampling_percentage"])
		assert.NotNil(t, doc.Processors["sampling"]["routes"])
		assert.Contains(t, doc.Connectors, "requestmetrics")
		assert.True(t, callersWarned(ws))
	})
	t.Run("a gateway that reads no incoming trace headers starts every trace: nothing to warn of", func(t *testing.T) {
		_, ws := translate(t, src(`"layers": {"global": {"disable_propagation": true}},`), Options{})
		assert.False(t, callersWarned(ws))
	})
	t.Run("sampling gateway: the collector keeps every trace it receives", func(t *testing.T) {
		doc, ws := translate(t, src(""), Options{Sampling: SamplingGateway})
		s := doc.Processors["sampling"]
		assert.EqualValues(t, 100, s["sampling_percentage"])
		assert.NotContains(t, s, "routes", "the per-endpoint rates are the gateway's too")
		assert.NotContains(t, s, "copy_kept_spans")
		assert.NotContains(t, doc.Processors["layerfilter"], "unsampled_traces", "no span is dropped by the sampler")
		assert.NotContains(t, doc.Connectors, "requestmetrics", "counted from the gateway's sample, they would not be every request")
		assert.False(t, callersWarned(ws))
	})
	t.Run("sampling gateway with Datadog: its hit counts are the gateway's sample, and it says so", func(t *testing.T) {
		doc, ws := translate(t, src(""), Options{Sampling: SamplingGateway, Destinations: []string{DestinationDatadog}})
		assert.Contains(t, doc.Connectors, "datadog/stats")
		found := false
		for _, w := range ws {
			found = found || strings.Contains(w.Message, "Datadog's APM stats count the spans that reach the collector")
		}
		assert.True(t, found, "%v", ws)
	})
	t.Run("an OpenCensus file the same way", func(t *testing.T) {
		oc := `{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 10, "exporters": {"zipkin": {"collector_url": "http://zipkin:9411/api/v2/spans", "service_name": "gw"}}}}}`
		doc, ws := translate(t, oc, Options{})
		assert.EqualValues(t, 10, doc.Processors["sampling"]["sampling_percentage"])
		assert.Equal(t, "sdk_parity", doc.Processors["sampling"]["mode"])
		warned := false
		for _, w := range ws {
			warned = warned || strings.Contains(w.Message, "parent-based")
		}
		assert.True(t, warned)
		doc, _ = translate(t, oc, Options{Sampling: SamplingGateway})
		assert.EqualValues(t, 100, doc.Processors["sampling"]["sampling_percentage"])
	})
	t.Run("an unknown place is refused", func(t *testing.T) {
		cfg, err := krakend.Parse([]byte(src("")), "k.json")
		require.NoError(t, err)
		_, err = Translate(cfg, Options{Sampling: "edge"})
		assert.ErrorContains(t, err, `unknown sampling "edge"`)
	})
}

// The sampler's routes are keyed by route alone: two Enterprise endpoints
// on one route (GET and POST, or parameters named differently) must not
// write the key twice, which the collector's YAML parser refuses; the route
// keeps the higher rate, which loses none of the traces the gateway kept.
func TestEndpointsSharingARouteShareOneSamplingRoute(t *testing.T) {
	src := `{"version": 3, "endpoints": [
	  {"endpoint": "/users/{id}", "extra_config": {"telemetry/opentelemetry": {"exporters_override": {"trace_sample_rate": 0.25}}}},
	  {"endpoint": "/users/{name}", "method": "POST", "extra_config": {"telemetry/opentelemetry": {"exporters_override": {"trace_sample_rate": 0.75}}}},
	  {"endpoint": "/users/{id}", "method": "PUT", "extra_config": {"telemetry/opentelemetry": {"exporters_override": {"trace_sample_rate": 0.5}}}}],
	  "extra_config": {"telemetry/opentelemetry": {"trace_sample_rate": 0.5, "exporters": {"otlp": [{"name": "t", "host": "tempo"}]}}}}`
	procs, ws := translateProcessors(t, src, Options{})
	s := procs["sampling"]
	assert.Equal(t, map[string]any{"/users/:id": 75}, s["routes"])
	assertComponentConfigValid(t, samplingprocessor.NewFactory(), s)
	assert.Equal(t, []string{
		`endpoints[1].extra_config["telemetry/opentelemetry"].exporters_override.trace_sample_rate`,
		`endpoints[2].extra_config["telemetry/opentelemetry"].exporters_override.trace_sample_rate`,
	}, warningPaths(ws, "higher rate"), "each endpoint whose rate differs says the route keeps the higher rate")
}

// A skip_paths entry that is no path (no leading /, or a query) matched
// nothing in the gateway; copied, it made the layer filter refuse the
// whole configuration.
func TestSkipPathsThatAreNoPathAreLeftOut(t *testing.T) {
	src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"skip_paths": ["__health", "/__health", "/status?full=1"],
	  "exporters": {"otlp": [{"name": "t", "host": "tempo"}]}}}}`
	procs, ws := translateProcessors(t, src, Options{})
	lf := procs["layerfilter"]
	assert.Equal(t, []any{"/__health"}, lf["skip_paths"])
	assertComponentConfigValid(t, layerfilterprocessor.NewFactory(), lf)
	assert.Equal(t, []string{
		`extra_config["telemetry/opentelemetry"].skip_paths[0]`,
		`extra_config["telemetry/opentelemetry"].skip_paths[2]`,
	}, warningPaths(ws, "left out"))
}

// A blank skip_headers entry (written like skip_paths' [""]) skips nothing
// in the gateway; copied, it made the layer filter refuse the configuration.
func TestBlankSkipHeadersAreLeftOut(t *testing.T) {
	src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {
	  "layers": {"global": {"report_headers": true, "skip_headers": [""]}, "proxy": {"skip_headers": ["x-a", " "]},
	    "backend": {"traces": {"report_headers": true, "skip_headers": [""]}}},
	  "exporters": {"otlp": [{"name": "t", "host": "tempo"}]}}}}`
	procs, ws := translateProcessors(t, src, Options{})
	lf := procs["layerfilter"]
	assertComponentConfigValid(t, layerfilterprocessor.NewFactory(), lf)
	assert.Equal(t, []any{"x-a"}, lf["proxy"].(map[string]any)["skip_headers"])
	assert.Equal(t, []string{
		`extra_config["telemetry/opentelemetry"].layers.global.skip_headers[0]`,
		`extra_config["telemetry/opentelemetry"].layers.proxy.skip_headers[1]`,
		`extra_config["telemetry/opentelemetry"].layers.backend.traces.skip_headers[0]`,
	}, warningPaths(ws, "blank header name"))
}

// Two exporters.otlp[] entries toward the collector: one listener serves
// hosts that share an address (localhost is 127.0.0.1 to Go's listener,
// a wildcard serves every host); each entry is an exporter in the gateway,
// so a signal two entries send arrives twice, which a warning says.
func TestTwoEntriesTowardTheCollector(t *testing.T) {
	translate := func(t *testing.T, otlp string) (map[string]any, []Warning) {
		t.Helper()
		src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [` + otlp + `], "prometheus": [{"name": "p"}]}}}}`
		cfg, err := krakend.Parse([]byte(src), "k.json")
		require.NoError(t, err)
		res, err := Translate(cfg, Options{CollectorHosts: []string{"otel-collector"}})
		require.NoError(t, err)
		checkCollectorShape(t, res.YAML)
		var doc struct {
			Receivers map[string]any `yaml:"receivers"`
		}
		require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
		return doc.Receivers, res.Warnings
	}
	twice := func(ws []Warning) (out []string) {
		for _, w := range ws {
			if strings.Contains(w.Message, "to this collector, as") {
				out = append(out, w.Path+": "+w.Message[:strings.Index(w.Message, " to this")])
			}
		}
		return out
	}
	for name, tt := range map[string]struct {
		otlp     string
		endpoint string
	}{
		"localhost and 127.0.0.1 on one port: one listener":                {`{"name": "a", "host": "localhost"}, {"name": "b", "host": "127.0.0.1", "disable_metrics": true}`, "localhost:4317"},
		"a loopback and a name of the collector: the wildcard serves both": {`{"name": "a", "host": "localhost", "disable_traces": true}, {"name": "b", "host": "otel-collector", "disable_metrics": true}`, "0.0.0.0:4317"},
	} {
		t.Run(name, func(t *testing.T) {
			recv, _ := translate(t, tt.otlp)
			require.Len(t, recv, 1, "one receiver: two would not both bind the port")
			assert.Equal(t, tt.endpoint, getPath(t, recv, "gateway", "protocols", "grpc", "endpoint"))
		})
	}
	t.Run("each signal sent by one entry: no warning", func(t *testing.T) {
		_, ws := translate(t, `{"name": "m", "host": "localhost", "disable_traces": true}, {"name": "t", "host": "localhost", "port": 4318, "use_http": true, "disable_metrics": true}`)
		assert.Empty(t, twice(ws))
	})
	t.Run("a signal sent by two entries: warned at the second", func(t *testing.T) {
		_, ws := translate(t, `{"name": "a", "host": "localhost"}, {"name": "b", "host": "localhost", "port": 4318, "use_http": true, "disable_metrics": true}, {"name": "c", "host": "otel-collector", "port": 4319, "disable_traces": true}`)
		assert.Equal(t, []string{
			`extra_config["telemetry/opentelemetry"].exporters.otlp[1]: sends the gateway's spans`,
			`extra_config["telemetry/opentelemetry"].exporters.otlp[2]: sends the gateway's metrics`,
		}, twice(ws))
	})
}

// translateProcessors translates src and returns the YAML's processors and
// the warnings.
func translateProcessors(t *testing.T, src string, opts Options) (map[string]map[string]any, []Warning) {
	t.Helper()
	procs, res := translateSection(t, src, opts, "processors")
	return procs, res.Warnings
}

// translateSection translates src, checks the YAML's shape, and returns one
// of its top-level sections (receivers, processors, exporters, ...) by
// component ID, with the whole result.
func translateSection(t *testing.T, src string, opts Options, section string) (map[string]map[string]any, *Result) {
	t.Helper()
	cfg, err := krakend.Parse([]byte(src), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, opts)
	require.NoError(t, err)
	checkCollectorShape(t, res.YAML)
	var doc map[string]yaml.Node
	require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
	var components map[string]map[string]any
	if node, ok := doc[section]; ok {
		require.NoError(t, node.Decode(&components))
	}
	return components, res
}

// assertComponentConfigValid loads a translated section into the real
// component's configuration and validates it, as the collector will.
func assertComponentConfigValid(t *testing.T, f component.Factory, section map[string]any) {
	t.Helper()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(section).Unmarshal(cfg))
	assert.NoError(t, xconfmap.Validate(cfg), "the translated %s configuration is valid", f.Type())
}

// warningPaths lists the paths of the warnings whose message contains s.
func warningPaths(ws []Warning, s string) []string {
	var paths []string
	for _, w := range ws {
		if strings.Contains(w.Message, s) {
			paths = append(paths, w.Path)
		}
	}
	return paths
}

func getPath(t *testing.T, m map[string]any, keys ...string) any {
	t.Helper()
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		require.True(t, ok, "%v at %s", cur, k)
		cur = mm[k]
	}
	return cur
}

// A token in the query of an OpenCensus destination's URL (hosted Zipkin,
// InfluxDB 1.x's u/p parameters) is a secret: the YAML reads it from the
// environment, which the collector expands inside the string.
func TestCredentialsInAURLQueryAreNotCopied(t *testing.T) {
	src := `{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 100, "exporters": {
	  "zipkin": {"collector_url": "https://zipkin.example.com/api/v2/spans?api_key=zk-SECRET-1&region=eu", "service_name": "gw"},
	  "jaeger": {"endpoint": "http://jaeger:14268/api/traces?token=jg-SECRET-2", "service_name": "gw"},
	  "influxdb": {"address": "http://influx:8086/?u=gw&p=ix-SECRET-3", "db": "gateway"}}}}}`
	cfg, err := krakend.Parse([]byte(src), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{})
	require.NoError(t, err)
	checkCollectorShape(t, res.YAML)
	out := string(res.YAML)
	for _, secret := range []string{"zk-SECRET-1", "jg-SECRET-2", "ix-SECRET-3"} {
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, out, "https://zipkin.example.com/api/v2/spans?api_key=${env:ZIPKIN_API_KEY}&region=eu")
	assert.Contains(t, out, "endpoint: http://influx:8086/?u=gw&p=${env:INFLUXDB_P}")
	var envs []string
	for _, v := range res.EnvVars {
		envs = append(envs, v.Name)
	}
	assert.Contains(t, envs, "ZIPKIN_API_KEY")
	assert.Contains(t, envs, "INFLUXDB_P")
}

// An entry toward "otel-collector" (KrakenD's examples' name) that nobody
// told the translation is this collector: the warning says how to.
func TestACollectorLikeHostIsPointedOut(t *testing.T) {
	src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c", "host": "otel-collector", "port": 4317}]}}}}`
	cfg, err := krakend.Parse([]byte(src), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{})
	require.NoError(t, err)
	var found bool
	for _, w := range res.Warnings {
		found = found || strings.Contains(w.Message, `unless "otel-collector" is this collector: then translate with --collector-host otel-collector`)
	}
	assert.True(t, found, "%v", res.Warnings)
	res, err = Translate(cfg, Options{CollectorHosts: []string{"otel-collector"}})
	require.NoError(t, err)
	for _, w := range res.Warnings {
		assert.NotContains(t, w.Message, "does not send to the collector")
	}
}

// Under semantic_convention "1.27" the gateway emits the round-trip
// counters only with detailed_connection: every receiver is told, so that
// the layer filter's detailed_connection governs them; without it, nothing
// is written.
func TestSemanticConventionIsToldToEveryReceiver(t *testing.T) {
	translateReceivers := func(t *testing.T, global string) (map[string]map[string]any, []Warning) {
		t.Helper()
		src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {
			"exporters": {"otlp": [{"name": "local", "host": "localhost", "port": 4317},
				{"name": "other_port", "host": "localhost", "port": 14317}]},
			"layers": {"global": {` + global + `}}}}}`
		receivers, res := translateSection(t, src, Options{}, "receivers")
		require.Len(t, receivers, 2)
		return receivers, res.Warnings
	}

	recv, ws := translateReceivers(t, `"semantic_convention": "1.27"`)
	for id, section := range recv {
		assert.Equal(t, "1.27", section["semantic_convention"], id)
		assertComponentConfigValid(t, gatewayreceiver.NewFactory(), section)
	}
	assert.Equal(t, []string{`extra_config["telemetry/opentelemetry"].layers.global.semantic_convention`},
		warningPaths(ws, "renames"), "the names still differ from the defaults dashboards read")
	assert.Empty(t, warningPaths(ws, "receives whatever the gateway sends"))

	recv, _ = translateReceivers(t, `"semantic_convention": ""`)
	for id, section := range recv {
		assert.NotContains(t, section, "semantic_convention", id)
	}
}

// An IPv6 literal in an exporters.otlp[] host, with or without brackets, a
// scheme or a port of its own, is one address: toward a loopback or
// unspecified address it is this collector's receiver, elsewhere the
// exporter's endpoint, written [addr]:port.
func TestIPv6HostsInOTLPEntries(t *testing.T) {
	for name, tt := range map[string]struct {
		entry    string
		receiver string // the gateway receiver's endpoint, "" for a destination
		protocol string
		exporter string // the destination exporter's id
		endpoint string
		bare     bool // an IPv6 literal without brackets, which the gateway cannot use
	}{
		"::1 is this collector":                        {entry: `"host": "::1", "port": 4317`, receiver: "[::1]:4317", protocol: "grpc", bare: true},
		"[::1] is this collector":                      {entry: `"host": "[::1]", "port": 4317`, receiver: "[::1]:4317", protocol: "grpc"},
		"[::1] with a port of its own":                 {entry: `"host": "[::1]:4317"`, receiver: "[::1]:4317", protocol: "grpc"},
		"http://[::1] with a port and a path":          {entry: `"host": "http://[::1]:4318/v1/traces", "port": 4318, "use_http": true`, receiver: "[::1]:4318", protocol: "http"},
		"::1 written in full is this collector":        {entry: `"host": "0:0:0:0:0:0:0:1"`, receiver: "[::1]:4317", protocol: "grpc", bare: true},
		"the unspecified :: is this collector":         {entry: `"host": "::"`, receiver: "0.0.0.0:4317", protocol: "grpc", bare: true},
		"fd00::1 is a gRPC destination":                {entry: `"host": "fd00::1", "port": 4317`, exporter: "otlp_grpc/o", endpoint: "[fd00::1]:4317", bare: true},
		"[fd00::1]:4317 is a gRPC destination":         {entry: `"host": "[fd00::1]:4317"`, exporter: "otlp_grpc/o", endpoint: "[fd00::1]:4317"},
		"http://[fd00::1] is an OTLP/HTTP destination": {entry: `"host": "http://[fd00::1]", "port": 4318, "use_http": true`, exporter: "otlp_http/o", endpoint: "http://[fd00::1]:4318"},
		"https://[fd00::1]:4318/ keeps its scheme":     {entry: `"host": "https://[fd00::1]:4318/", "port": 4318, "use_http": true`, exporter: "otlp_http/o", endpoint: "https://[fd00::1]:4318"},
	} {
		t.Run(name, func(t *testing.T) {
			src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "o", ` + tt.entry + `}], "prometheus": [{"name": "p"}]}}}}`
			cfg, err := krakend.Parse([]byte(src), "k.json")
			require.NoError(t, err)
			res, err := Translate(cfg, Options{})
			require.NoError(t, err)
			checkCollectorShape(t, res.YAML)
			var doc struct {
				Receivers map[string]any            `yaml:"receivers"`
				Exporters map[string]map[string]any `yaml:"exporters"`
			}
			require.NoError(t, yaml.Unmarshal(res.YAML, &doc))
			bareWarnings := warningPaths(res.Warnings, "an IPv6 address without brackets")
			if tt.bare {
				assert.Equal(t, []string{`extra_config["telemetry/opentelemetry"].exporters.otlp[0].host`}, bareWarnings)
			} else {
				assert.Empty(t, bareWarnings)
			}
			if tt.receiver != "" {
				assert.Equal(t, tt.receiver, getPath(t, doc.Receivers, "gateway", "protocols", tt.protocol, "endpoint"))
				for id := range doc.Exporters {
					assert.False(t, strings.HasPrefix(id, "otlp"), "toward this collector, not a destination: %s", id)
				}
				return
			}
			require.Contains(t, doc.Exporters, tt.exporter)
			assert.Equal(t, tt.endpoint, doc.Exporters[tt.exporter]["endpoint"])
		})
	}
}

// Why a static attribute key must not contain "::": the collector's
// configuration reads it as a key path, so a map keyed "a::b" is a map "a"
// holding "b", and the layer filter, which takes string values, refuses to
// start.
func TestTheCollectorReadsDoubleColonsInAKeyAsNesting(t *testing.T) {
	ret, err := confmap.NewRetrievedFromYAML([]byte("global:\n  traces_static_attributes:\n    \"a::b\": x\n"))
	require.NoError(t, err)
	conf, err := ret.AsConf()
	require.NoError(t, err)
	err = conf.Unmarshal(layerfilterprocessor.NewFactory().CreateDefaultConfig())
	assert.ErrorContains(t, err, "global.traces_static_attributes[a]", "the collector would not start")
}

// KrakenD's gRPC exporter sends plaintext whatever the scheme in host
// (krakend-otel exporter/otelcollector/otelcollector.go:176: Exporter passes
// WithInsecure before https:// is read): the translated exporter keeps what
// the destination took, and says so where host says https://; a receiver
// the gateway reaches with https:// over gRPC takes its plaintext as it is.
func TestGRPCOverHTTPSIsPlaintextAsTheGatewaySentIt(t *testing.T) {
	translateOTLP := func(t *testing.T, entry string) (map[string]map[string]any, []Warning) {
		t.Helper()
		src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c", "host": "localhost"}, {"name": "o", ` + entry + `}]}}}}`
		exporters, res := translateSection(t, src, Options{}, "exporters")
		return exporters, res.Warnings
	}
	for entry, warned := range map[string]bool{
		`"host": "https://tempo.example.com", "port": 443`: true,
		`"host": "http://tempo", "port": 4317`:             false,
		`"host": "tempo", "port": 4317`:                    false,
	} {
		exporters, ws := translateOTLP(t, entry)
		require.Contains(t, exporters, "otlp_grpc/o", entry)
		assert.Equal(t, true, getPath(t, exporters["otlp_grpc/o"], "tls", "insecure"), entry)
		assert.Equal(t, warned, len(warningPaths(ws, "KrakenD sent this plaintext")) == 1, entry)
	}
	exporters, _ := translateOTLP(t, `"host": "https://tempo.example.com", "port": 443`)
	assert.Equal(t, "tempo.example.com:443", exporters["otlp_grpc/o"]["endpoint"])

	for src, want := range map[string]string{
		`{"name": "c", "host": "https://localhost"}`:                   "KrakenD still sends plaintext",
		`{"name": "c", "host": "https://localhost", "use_http": true}`: "sends OTLP/HTTP over TLS",
	} {
		cfg, err := krakend.Parse([]byte(`{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [`+src+`]}}}}`), "k.json")
		require.NoError(t, err)
		res, err := Translate(cfg, Options{})
		require.NoError(t, err)
		assert.Equal(t, []string{`extra_config["telemetry/opentelemetry"].exporters.otlp[0].host`}, warningPaths(res.Warnings, want), src)
	}
}

// A port written into host: the gateway appends :port after it, so with a
// scheme and a path it sends to the host's port, and anywhere else to no
// address at all (krakend-otel exporter/otelcollector/otelcollector.go
// builds "%s:%d" before url.Parse). The collector uses the host's port, and
// says so where it differs from what the gateway does.
func TestAPortWrittenInHost(t *testing.T) {
	for name, tt := range map[string]struct {
		entry, endpoint, warning string
	}{
		"after a path the gateway sends to it": {`"host": "http://tempo:4318/v1", "use_http": true`, "http://tempo:4318", "lands in the path"},
		"after a trailing slash too":           {`"host": "https://tempo:443/", "port": 4317`, "tempo:443", "lands in the path"},
		"the same as port, nothing to say":     {`"host": "http://tempo:4317/v1", "port": 4317`, "tempo:4317", ""},
		"without a path it makes no address":   {`"host": "tempo:4318", "port": 4317`, "tempo:4318", "tempo:4318:4317), which is no address"},
		"with a scheme and no path neither":    {`"host": "http://tempo:4318"`, "tempo:4318", "which is no address"},
		"an IPv6 address's port":               {`"host": "[fd00::1]:4318"`, "[fd00::1]:4318", "[fd00::1]:4318:4317), which is no address"},
	} {
		t.Run(name, func(t *testing.T) {
			src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c", "host": "localhost"}, {"name": "o", ` + tt.entry + `}]}}}}`
			exporters, res := translateSection(t, src, Options{}, "exporters")
			var endpoints []any
			for _, e := range exporters {
				endpoints = append(endpoints, e["endpoint"])
			}
			assert.Contains(t, endpoints, tt.endpoint)
			const hostPath = `extra_config["telemetry/opentelemetry"].exporters.otlp[1].host`
			if tt.warning == "" {
				assert.NotContains(t, warningPaths(res.Warnings, "port"), hostPath)
			} else {
				assert.Equal(t, []string{hostPath}, warningPaths(res.Warnings, tt.warning))
			}
		})
	}
}

// Credentials in an OTLP host reach neither the YAML nor a warning: the
// notes show the scheme and the host alone.
func TestCredentialsInAnOTLPHostAreNotCopied(t *testing.T) {
	src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [
		{"name": "c", "host": "http://gw:s3cret-a@localhost/x?token=s3cret-b"},
		{"name": "o", "host": "https://user:s3cret-c@tempo.example.com/v1?token=s3cret-d", "port": 443}]}}}}`
	cfg, err := krakend.Parse([]byte(src), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{})
	require.NoError(t, err)
	assert.NotContains(t, string(res.YAML), "s3cret")
	for _, w := range res.Warnings {
		assert.NotContains(t, w.Message, "s3cret")
	}
	assert.Contains(t, string(res.YAML), "host https://tempo.example.com, port 443")
}

// A gateway that runs the file samples before the collector, and its SDK
// writes no threshold: the request metrics weigh its spans back to
// requests at its rate, when it is one rate.
func TestRequestMetricsWeighTheGatewaysSampleBack(t *testing.T) {
	const otel = `{"version": 3, "extra_config": {"telemetry/opentelemetry": {%s
  "exporters": {"otlp": [{"name": "tempo", "host": "tempo", "port": 4317}],
    "prometheus": [{"name": "p", "port": 9090}]}}}%s}`
	upstream := func(t *testing.T, src string, opts Options) (any, *Result) {
		t.Helper()
		conns, res := translateSection(t, src, opts, "connectors")
		rm, ok := conns["requestmetrics"]
		if !ok {
			return nil, res
		}
		assertComponentConfigValid(t, requestmetricsconnector.NewFactory(), rm)
		return rm["upstream_sampling"], res
	}
	t.Run("one rate", func(t *testing.T) {
		got, _ := upstream(t, fmt.Sprintf(otel, `"trace_sample_rate": 0.25,`, ""), Options{})
		assert.Equal(t, map[string]any{"percentage": 25}, got)
	})
	t.Run("every trace", func(t *testing.T) {
		conns, _ := translateSection(t, fmt.Sprintf(otel, "", ""), Options{}, "connectors")
		assert.NotContains(t, conns, "requestmetrics", "nothing sampled: no counting before a sampler")
	})
	t.Run("rates per endpoint", func(t *testing.T) {
		src := fmt.Sprintf(otel, `"trace_sample_rate": 0.25,`, `, "endpoints": [{"endpoint": "/a", "backend": [{"url_pattern": "/a"}],
  "extra_config": {"telemetry/opentelemetry": {"exporters_override": {"trace_sample_rate": 1}}}}]`)
		got, res := upstream(t, src, Options{})
		assert.Nil(t, got, "the rates differ by endpoint: no one weight")
		assert.NotEmpty(t, warningPaths(res.Warnings, "not weighted back"), "the warning says the counts are the gateway's sample")
	})
	t.Run("OpenCensus", func(t *testing.T) {
		got, _ := upstream(t, `{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 10, "reporting_period": 1,
  "exporters": {"prometheus": {"port": 9090}, "jaeger": {"endpoint": "http://jaeger:14268/api/traces", "service_name": "gw"}}}}}`, Options{})
		assert.Equal(t, map[string]any{"percentage": 10}, got)
	})
}

// The prometheus exporter forgets a series after 5 min without a point
// (metric_expiration); a gateway that pushes less often than every 100 s
// keeps its series for three pushes.
func TestPrometheusSeriesOutliveTheGatewaysPushPeriod(t *testing.T) {
	for name, tc := range map[string]struct {
		period, custom string
		want           any
	}{
		"the default 30 s":                   {want: nil},
		"metric_reporting_period 300":        {period: `"metric_reporting_period": 300,`, want: "900s"},
		"<= 0 is the SDK's 60 s":             {period: `"metric_reporting_period": 0,`, want: nil},
		"custom_metric_reporting_period 200": {custom: `, "custom_metric_reporting_period": 200`, want: "600s"},
	} {
		t.Run(name, func(t *testing.T) {
			src := `{"version": 3, "extra_config": {"telemetry/opentelemetry": {` + tc.period + `
  "exporters": {"otlp": [{"name": "c", "host": "localhost"` + tc.custom + `}], "prometheus": [{"name": "p", "port": 9090}]}}}}`
			exporters, _ := translateSection(t, src, Options{}, "exporters")
			require.Contains(t, exporters, "prometheus/p")
			got, ok := exporters["prometheus/p"]["metric_expiration"]
			if tc.want == nil {
				assert.False(t, ok, "the exporter's default is kept: %v", got)
				return
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// An OpenCensus xray exporter becomes an awsxray exporter that makes the
// gateway's layer and route searchable X-Ray annotations, as the X-Ray
// overlay does: without indexed_attributes the awsxray exporter writes every
// attribute into the segment's metadata, which X-Ray cannot filter on
// (awsxrayexporter internal/translator/segment.go makeXRayAttributes).
func TestXrayAnnotatesTheLayerAndRouteAsTheOverlayDoes(t *testing.T) {
	cfg, err := krakend.Parse([]byte(readFile(t, "testdata/opencensus.krakend.json")), "k.json")
	require.NoError(t, err)
	res, err := Translate(cfg, Options{})
	require.NoError(t, err)
	var doc struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	require.NoError(t, yaml.Unmarshal(res.YAML, &doc))

	var overlay struct {
		Exporters map[string]map[string]any `yaml:"exporters"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(readFile(t, "../overlays/xray.yaml")), &overlay))
	want := overlay.Exporters["awsxray"]["indexed_attributes"]
	require.NotEmpty(t, want, "the overlay's annotations")
	assert.Equal(t, want, doc.Exporters["awsxray"]["indexed_attributes"], "the translation's X-Ray annotations are the overlay's")
}

// A gateway with a root tls block serves HTTPS: the global span's URL, made
// absolute for X-Ray and Azure, says https://.
func TestAGatewayServingTLSGetsHTTPSURLs(t *testing.T) {
	for tls, want := range map[string]any{
		``: nil,
		`"tls": {"public_key": "/etc/krakend/cert.pem", "private_key": "/etc/krakend/key.pem"},`: "https",
		`"tls": {"disabled": true, "public_key": "/etc/krakend/cert.pem"},`:                      nil,
	} {
		src := `{"version": 3, ` + tls + ` "extra_config": {"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c", "host": "localhost"}]}}}}`
		procs, _ := translateSection(t, src, Options{}, "processors")
		lf := procs["layerfilter"]
		assertComponentConfigValid(t, layerfilterprocessor.NewFactory(), lf)
		dn, _ := lf["destination_names"].(map[string]any)
		assert.Equal(t, want, dn["url_scheme"], tls)
	}
}

// buffer_max_count sized the OpenCensus Jaeger client's span buffer
// (krakend-opencensus exporter/jaeger: jaeger.Options.BufferMaxCount); the
// otlp exporter that replaces it has no such setting, so the field is
// pointed out rather than dropped without a word.
func TestOpenCensusJaegerBufferMaxCountIsPointedOut(t *testing.T) {
	src := `{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 100, "exporters": {
  "jaeger": {"endpoint": "http://jaeger:14268/api/traces", "service_name": "gw", "buffer_max_count": 500}}}}}`
	_, res := translateSection(t, src, Options{}, "exporters")
	var paths []string
	for _, w := range res.Warnings {
		paths = append(paths, w.Path)
	}
	assert.Contains(t, paths, `extra_config["telemetry/opencensus"].exporters.jaeger.buffer_max_count`)
}

// disable_count_per_buckets stopped the OpenCensus Datadog exporter's
// per-bucket count metrics; the datadog exporter sends none when it sends
// histograms as distributions (pkg/datadog config/metrics.go
// HistogramModeDistributions), which the translation says where the user
// asked for it rather than dropping the field.
func TestOpenCensusDatadogDisableCountPerBucketsIsTranslated(t *testing.T) {
	for _, disable := range []bool{true, false} {
		src := fmt.Sprintf(`{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 100, "exporters": {
  "datadog": {"service": "gw", "disable_count_per_buckets": %t}}}}}`, disable)
		exporters, _ := translateSection(t, src, Options{}, "exporters")
		require.Contains(t, exporters, "datadog")
		if disable {
			assert.Equal(t, "distributions", getPath(t, exporters["datadog"], "metrics", "histograms", "mode"))
		} else {
			assert.NotContains(t, exporters["datadog"], "metrics", "the exporter's defaults")
		}
	}
}

// Each OpenCensus exporter named the service on its own; the gateway sends
// one service.name over OTLP. The translation takes the first name: a
// different one written elsewhere is pointed out, not dropped without a
// word; the same name repeated is not.
func TestOpenCensusServiceNamesThatDifferArePointedOut(t *testing.T) {
	const ns = `extra_config["telemetry/opencensus"].exporters.`
	for name, tc := range map[string]struct {
		exporters string
		want      []string
	}{
		"different names": {
			exporters: `"jaeger": {"endpoint": "http://jaeger:14268/api/traces", "service_name": "a"},
  "zipkin": {"collector_url": "http://zipkin:9411/api/v2/spans", "service_name": "b"},
  "datadog": {"service": "c"},
  "influxdb": {"address": "http://influxdb:8086", "db": "d", "service_name": "a"}`,
			want: []string{ns + "zipkin.service_name", ns + "datadog.service"},
		},
		"one name everywhere": {
			exporters: `"jaeger": {"endpoint": "http://jaeger:14268/api/traces", "service_name": "a"},
  "zipkin": {"collector_url": "http://zipkin:9411/api/v2/spans", "service_name": "a"}`,
		},
	} {
		t.Run(name, func(t *testing.T) {
			src := `{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 100, "exporters": {` + tc.exporters + `}}}}`
			_, res := translateSection(t, src, Options{}, "exporters")
			assert.Equal(t, tc.want, warningPaths(res.Warnings, "service.name"))
		})
	}
}

// insecure, reconnection and enable_compression were the gateway's client
// settings toward the OpenCensus agent, whose address becomes a receiver.
// None is dropped without a word: the receiver meets insecure (plaintext)
// and enable_compression (it takes gzip), which its comment says; it has no
// counterpart of reconnection, which is warned about.
func TestOpenCensusAgentClientSettingsArePointedOut(t *testing.T) {
	const at = `extra_config["telemetry/opencensus"].exporters.ocagent`
	src := `{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 100, "exporters": {
  "ocagent": {"address": "localhost:55678", "service_name": "gw", "insecure": true, "reconnection": "5s", "enable_compression": true}}}}}`
	_, res := translateSection(t, src, Options{}, "receivers")
	var paths []string
	for _, w := range res.Warnings {
		paths = append(paths, w.Path)
	}
	assert.Contains(t, paths, at+".reconnection")
	for _, f := range []string{"insecure", "enable_compression"} {
		assert.Contains(t, string(res.YAML), at+"."+f)
	}
}

// krakend-opencensus's jaeger exporter takes process_tags (JaegerConfig
// in opencensus.go, jaeger.Process.Tags in exporter/jaeger/jaeger.go): a
// valid krakend.json with them is translated, the tags becoming resource
// attributes, which Jaeger shows as the process's tags.
func TestOpenCensusJaegerProcessTagsBecomeResourceAttributes(t *testing.T) {
	src := `{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 100, "exporters": {
  "jaeger": {"endpoint": "http://jaeger:14268/api/traces", "service_name": "gw",
    "process_tags": {"env": "prod", "replica": 3, "canary": true, "service.name": "other"}}}}}}`
	receivers, res := translateSection(t, src, Options{}, "receivers")
	assertComponentConfigValid(t, gatewayreceiver.NewFactory(), receivers["gateway"])
	assert.Equal(t, map[string]any{"service.name": "gw", "env": "prod", "replica": "3", "canary": "true"},
		receivers["gateway"]["resource_defaults"])
	assert.Equal(t, []string{`extra_config["telemetry/opencensus"].exporters.jaeger.process_tags["service.name"]`},
		warningPaths(res.Warnings, "already sets this key"))
}

// samplerCopyAndBatch tells whether the translation's sampler copies its
// kept spans and whether it gathers them (a batch with both settings).
func samplerCopyAndBatch(t *testing.T, out []byte) map[string]any {
	t.Helper()
	var doc struct {
		Processors struct {
			Sampling struct {
				CopyKeptSpans bool           `yaml:"copy_kept_spans"`
				Batch         map[string]any `yaml:"batch"`
			} `yaml:"sampling"`
		} `yaml:"processors"`
	}
	require.NoError(t, yaml.Unmarshal(out, &doc))
	b := doc.Processors.Sampling.Batch
	if b != nil {
		assert.Equal(t, samplerBatchTimeout, b["timeout"])
		assert.Equal(t, samplerBatchSize, b["send_batch_size"])
	}
	return map[string]any{"copy_kept_spans": doc.Processors.Sampling.CopyKeptSpans, "batch": b != nil}
}
