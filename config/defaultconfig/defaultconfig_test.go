package defaultconfig

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
)

func TestWithDefaultConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // the last argument afterwards
	}{
		{"the bare binary runs the embedded default", []string{"otelcol-gateway"}, "--config=gateway:default"},
		{"flags without a config still get the default", []string{"otelcol-gateway", "--feature-gates=x"}, "--config=gateway:default"},
		{"validate with no config validates the default", []string{"otelcol-gateway", "validate"}, "--config=gateway:default"},
		{"an explicit config is left alone", []string{"otelcol-gateway", "--config", "a.yaml"}, "a.yaml"},
		{"an explicit config= is left alone", []string{"otelcol-gateway", "--config=krakend:k.json"}, "--config=krakend:k.json"},
		{"help is left alone", []string{"otelcol-gateway", "--help"}, "--help"},
		{"components is left alone", []string{"otelcol-gateway", "components"}, "components"},
		{"translate is left alone", []string{"otelcol-gateway", "translate", "k.json"}, "k.json"},
		// the collector's commands that take no --config refuse the flag
		{"featuregate is left alone", []string{"otelcol-gateway", "featuregate"}, "featuregate"},
		{"featuregate with a gate is left alone", []string{"otelcol-gateway", "featuregate", "confmap.enableMergeAppendOption"}, "confmap.enableMergeAppendOption"},
		{"completion is left alone", []string{"otelcol-gateway", "completion", "bash"}, "bash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WithDefaultConfig(tt.args)
			assert.Equal(t, tt.want, got[len(got)-1], "args %q", got)
		})
	}
}

func TestWithOverlayMerge(t *testing.T) {
	tests := []struct {
		name string
		args []string
		gate bool
	}{
		{"krakend plus an overlay appends lists", []string{"b", "--config", "krakend:k.json", "--config=tempo.yaml"}, true},
		{"krakend alone needs nothing", []string{"b", "--config=krakend:k.json"}, false},
		{"plain YAML files keep the collector's replace merging", []string{"b", "--config=a.yaml", "--config=b.yaml"}, false},
		{"a gate the user named is left alone", []string{"b", "--config=krakend:k.json", "--config=t.yaml", "--feature-gates=-confmap.enableMergeAppendOption"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WithOverlayMerge(tt.args)
			assert.Equal(t, tt.gate, got[len(got)-1] == "--feature-gates=confmap.enableMergeAppendOption", "%q", got)
		})
	}
}

// -help is help for every command, as for translate and Go's tools: the
// collector's flag parser alone reads it as -h -e -l -p and refuses it.
func TestWithLongHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"help of the binary", []string{"b", "-help"}, []string{"b", "--help"}},
		{"help of a command", []string{"b", "validate", "-help"}, []string{"b", "validate", "--help"}},
		{"after the collector's flags", []string{"b", "validate", "--config", "k.yaml", "-help"}, []string{"b", "validate", "--config", "k.yaml", "--help"}},
		{"--help and -h are left alone", []string{"b", "--help", "-h"}, []string{"b", "--help", "-h"}},
		{"the value of a flag is left alone", []string{"b", "--config", "-help"}, []string{"b", "--config", "-help"}},
		{"what follows -- is left alone", []string{"b", "--", "-help"}, []string{"b", "--", "-help"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, WithLongHelp(tt.args))
		})
	}
}

func TestProviderServesTheEmbeddedDefault(t *testing.T) {
	p := NewFactory().Create(confmap.ProviderSettings{})
	assert.Equal(t, "gateway", p.Scheme())
	ret, err := p.Retrieve(context.Background(), DefaultURI, nil)
	require.NoError(t, err)
	conf, err := ret.AsConf()
	require.NoError(t, err)
	for _, key := range []string{"receivers::gateway", "processors::layerfilter", "processors::sampling", "exporters::prometheus", "exporters::debug", "service::pipelines::traces"} {
		assert.True(t, conf.IsSet(key), key)
	}
	assert.Equal(t, "0.0.0.0:4317", conf.Get("receivers::gateway::protocols::grpc::endpoint"))
	assert.Equal(t, "0.0.0.0:4318", conf.Get("receivers::gateway::protocols::http::endpoint"))
	// Self-telemetry and health where a scraper in another container or pod
	// reaches them, like the receivers.
	assert.Equal(t, "0.0.0.0:13133", conf.Get("extensions::health_check::endpoint"))
	assert.Equal(t, []any{"health_check", "startup_pages"}, conf.Get("service::extensions"))
	assert.True(t, conf.IsSet("extensions::startup_pages"), "the start-up pages are given back once the pipelines run")
	readers, ok := conf.Get("service::telemetry::metrics::readers").([]any)
	require.True(t, ok, "service.telemetry.metrics.readers is a list")
	require.Len(t, readers, 1)
	prom := confmap.NewFromStringMap(readers[0].(map[string]any))
	assert.Equal(t, "0.0.0.0", prom.Get("pull::exporter::prometheus::host"))
	assert.Equal(t, 8888, prom.Get("pull::exporter::prometheus::port"))

	_, err = p.Retrieve(context.Background(), "gateway:other", nil)
	assert.ErrorContains(t, err, `no embedded configuration named "other"`)
	require.NoError(t, p.Shutdown(context.Background()))
}
