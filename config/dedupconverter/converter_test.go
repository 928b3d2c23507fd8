package dedupconverter

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/featuregate"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"go.yaml.in/yaml/v3"
)

func convert(t *testing.T, config string) (map[string]any, *observer.ObservedLogs) {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(config), &m))
	conf := confmap.NewFromStringMap(m)
	core, logs := observer.New(zap.WarnLevel)
	c := NewFactory().Create(confmap.ConverterSettings{Logger: zap.New(core)})
	require.NoError(t, c.Convert(context.Background(), conf))
	pipelines, _ := conf.Get("service::pipelines").(map[string]any)
	return pipelines, logs
}

func exporters(t *testing.T, pipelines map[string]any, name string) []any {
	t.Helper()
	p, ok := pipelines[name].(map[string]any)
	require.True(t, ok, "pipeline %s is gone", name)
	e, _ := p["exporters"].([]any)
	return e
}

// What the Datadog overlay merged over a translation that has Datadog
// already looks like (the overlay's pipelines beside the translation's).
const datadogTwice = `
service:
  pipelines:
    traces/in:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter]
      exporters: [datadog/stats, forward]
    traces:
      receivers: [forward]
      processors: [sampling]
      exporters: [datadog]
    metrics:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter]
      exporters: [datadog]
    metrics/datadog_stats:
      receivers: [datadog/stats]
      exporters: [datadog]
    traces/datadog_stats:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter]
      exporters: [datadog/stats]
    metrics/datadog:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter]
      exporters: [datadog]
`

func TestPipelinesThatRepeatAnotherAreRemoved(t *testing.T) {
	pipelines, logs := convert(t, datadogTwice)
	assert.NotContains(t, pipelines, "traces/datadog_stats", "its spans reach datadog/stats through traces/in")
	assert.NotContains(t, pipelines, "metrics/datadog", "its points reach datadog through metrics")
	assert.Equal(t, []any{"datadog/stats", "forward"}, exporters(t, pipelines, "traces/in"))
	assert.Equal(t, []any{"datadog"}, exporters(t, pipelines, "metrics"))
	assert.Equal(t, []any{"datadog"}, exporters(t, pipelines, "traces"))
	assert.Equal(t, []any{"datadog"}, exporters(t, pipelines, "metrics/datadog_stats"))
	assert.Len(t, pipelines, 4)

	removed := map[string]string{}
	for _, e := range logs.All() {
		removed[e.ContextMap()["removed"].(string)] = e.ContextMap()["kept"].(string)
	}
	assert.Equal(t, map[string]string{"traces/datadog_stats": "traces/in", "metrics/datadog": "metrics"}, removed)
}

// A translation that does not sample puts the Datadog stats after its
// sampler (at 100 %, it keeps everything); the overlay's stats pipeline
// stops before it. The stats leave the translation's pipeline: the
// overlay's still feeds them every span.
func TestAnExporterLeavesThePipelineThatProcessesFurther(t *testing.T) {
	pipelines, logs := convert(t, `
service:
  pipelines:
    traces:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter, sampling]
      exporters: [datadog, datadog/stats]
    traces/datadog_stats:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter]
      exporters: [datadog/stats]
    traces/archive:
      receivers: [gateway]
      exporters: [otlp/archive]
    traces/errors:
      receivers: [gateway]
      processors: [filter/errors]
      exporters: [otlp/archive]
`)
	assert.Equal(t, []any{"datadog"}, exporters(t, pipelines, "traces"))
	assert.Equal(t, []any{"datadog/stats"}, exporters(t, pipelines, "traces/datadog_stats"))
	assert.Equal(t, []any{"otlp/archive"}, exporters(t, pipelines, "traces/archive"), "every span still reaches the archive, once")
	assert.NotContains(t, pipelines, "traces/errors", "the errors reached the archive twice")
	assert.Equal(t, 2, logs.Len())
}

func TestASharedExporterLeavesThePipelineThatAlsoSendsElsewhere(t *testing.T) {
	pipelines, logs := convert(t, `
service:
  pipelines:
    metrics:
      receivers: [gateway]
      processors: [layerfilter]
      exporters: [datadog, otlp]
    metrics/datadog:
      receivers: [gateway]
      processors: [layerfilter]
      exporters: [datadog, azuremonitor]
`)
	assert.Equal(t, []any{"datadog", "otlp"}, exporters(t, pipelines, "metrics"))
	assert.Equal(t, []any{"azuremonitor"}, exporters(t, pipelines, "metrics/datadog"), "the later name gives datadog up")
	require.Equal(t, 1, logs.Len())
	assert.Equal(t, "metrics/datadog", logs.All()[0].ContextMap()["from"])
}

// The gateway turns the collector's append merging on for overlays: the
// shortened list must replace the old one, not be added to it.
func TestTheExportersAreReplacedWithTheAppendMergeGateOn(t *testing.T) {
	const gate = "confmap.enableMergeAppendOption"
	require.NoError(t, featuregate.GlobalRegistry().Set(gate, true))
	t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(gate, false)) })
	pipelines, _ := convert(t, `
service:
  pipelines:
    traces/a:
      receivers: [gateway]
      exporters: [otlp, debug]
    traces/b:
      receivers: [gateway]
      exporters: [otlp, zipkin]
`)
	assert.Equal(t, []any{"otlp", "debug"}, exporters(t, pipelines, "traces/a"))
	assert.Equal(t, []any{"zipkin"}, exporters(t, pipelines, "traces/b"))
}

func TestPipelinesThatMaySendDifferentDataAreLeftAlone(t *testing.T) {
	for name, config := range map[string]string{
		"other processors": `
service:
  pipelines:
    traces/errors:
      receivers: [gateway]
      processors: [filter/errors]
      exporters: [otlp]
    traces:
      receivers: [gateway]
      processors: [sampling]
      exporters: [otlp]
`,
		"processors in another order": `
service:
  pipelines:
    traces/a:
      receivers: [gateway]
      processors: [layerfilter, sampling]
      exporters: [otlp]
    traces/b:
      receivers: [gateway]
      processors: [sampling, layerfilter]
      exporters: [otlp]
`,
		"receivers of their own": `
service:
  pipelines:
    traces/a:
      receivers: [gateway, otlp/legacy]
      exporters: [otlp]
    traces/b:
      receivers: [gateway, zipkin]
      exporters: [otlp]
`,
		"another signal": `
service:
  pipelines:
    traces:
      receivers: [gateway]
      exporters: [datadog]
    metrics:
      receivers: [gateway]
      exporters: [datadog]
`,
		"a list the collector will refuse": `
service:
  pipelines:
    traces/a:
      receivers: [gateway]
      exporters: otlp
    traces/b:
      receivers: [gateway]
      exporters: [otlp]
`,
	} {
		t.Run(name, func(t *testing.T) {
			var want map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(config), &want))
			pipelines, logs := convert(t, config)
			assert.Equal(t, want["service"].(map[string]any)["pipelines"], pipelines)
			assert.Zero(t, logs.Len())
		})
	}
}

// A pipeline whose receivers are a subset of another's, with the same
// processors, repeats that one for every item of its receivers.
func TestAPipelineOnFewerReceiversRepeatsTheOther(t *testing.T) {
	pipelines, _ := convert(t, `
service:
  pipelines:
    traces/all:
      receivers: [gateway, otlp]
      exporters: [tempo]
    traces/gateway:
      receivers: [gateway]
      exporters: [tempo]
`)
	assert.NotContains(t, pipelines, "traces/gateway")
	assert.Equal(t, []any{"tempo"}, exporters(t, pipelines, "traces/all"))
}

// No translation repeats a pipeline: the converter leaves every golden
// translation as it is.
func TestTranslationsAreLeftAsTheyAre(t *testing.T) {
	goldens, err := filepath.Glob("../translate/testdata/*.golden.yaml")
	require.NoError(t, err)
	fixtures, err := filepath.Glob("../translate/testdata/fixtures/*.yaml")
	require.NoError(t, err)
	goldens = append(goldens, fixtures...)
	require.NotEmpty(t, goldens)
	for _, path := range goldens {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		var want map[string]any
		require.NoError(t, yaml.Unmarshal(b, &want))
		pipelines, logs := convert(t, string(b))
		assert.Zero(t, logs.Len(), path)
		if svc, ok := want["service"].(map[string]any); ok {
			assert.Equal(t, svc["pipelines"], any(pipelines), path)
		}
	}
}
