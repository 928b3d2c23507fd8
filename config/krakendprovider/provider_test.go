package krakendprovider

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const krakendJSON = `{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "trace_sample_rate": 0.25,
      "layers": {"global": {"disable_propagation": true}, "backend": {"metrics": {"disable_stage": true}, "traces": {"disable_stage": true}}},
      "exporters": {
        "otlp": [{"name": "local", "host": "localhost", "port": 4317}],
        "prometheus": [{"name": "prom", "port": 9091}]
      }
    }
  }
}`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func retrieve(t *testing.T, uri string, logger *zap.Logger) (*confmap.Conf, error) {
	t.Helper()
	p := NewFactory().Create(confmap.ProviderSettings{Logger: logger})
	ret, err := p.Retrieve(context.Background(), uri, nil)
	if err != nil {
		return nil, err
	}
	return ret.AsConf()
}

func TestAKrakenDFileBecomesACollectorConfiguration(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	conf, err := retrieve(t, "krakend:"+writeFile(t, "krakend.json", krakendJSON), zap.New(core))
	require.NoError(t, err)
	assert.True(t, conf.IsSet("receivers::gateway"))
	assert.True(t, conf.IsSet("processors::layerfilter"))
	assert.True(t, conf.IsSet("exporters"))
	assert.True(t, conf.IsSet("service::pipelines"))
	found := false
	for _, e := range logs.All() {
		if strings.Contains(e.Message, "disable_propagation") || strings.Contains(e.ContextMap()["path"].(string), "disable_propagation") {
			found = true
		}
	}
	assert.True(t, found, "a gateway-only switch is reported as a warning in the collector's log")
}

func TestAnOverlayMergesTheCollectorsOwnWay(t *testing.T) {
	base, err := retrieve(t, "krakend:"+writeFile(t, "krakend.json", krakendJSON), zap.NewNop())
	require.NoError(t, err)
	overlay := writeFile(t, "tempo.yaml", "exporters:\n  otlp_grpc/tempo:\n    endpoint: tempo:4317\n")
	ret, err := fileprovider.NewFactory().Create(confmap.ProviderSettings{}).Retrieve(context.Background(), "file:"+overlay, nil)
	require.NoError(t, err)
	over, err := ret.AsConf()
	require.NoError(t, err)
	require.NoError(t, base.Merge(over))
	assert.Equal(t, "tempo:4317", base.Get("exporters::otlp_grpc/tempo::endpoint"))
	assert.True(t, base.IsSet("receivers::gateway"), "the translated part stays")
}

func TestAnInvalidFileIsRefusedOnOneLine(t *testing.T) {
	bad := strings.Replace(krakendJSON, `"trace_sample_rate": 0.25`, `"trace_sample_rat": 0.25`, 1)
	_, err := retrieve(t, "krakend:"+writeFile(t, "krakend.json", bad), zap.NewNop())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\n")
	assert.Contains(t, err.Error(), "trace_sample_rat")
	assert.Contains(t, err.Error(), "trace_sample_rate", "with a did-you-mean")
}

func TestAMissingFileSaysSo(t *testing.T) {
	_, err := retrieve(t, "krakend:/nonexistent/krakend.json", zap.NewNop())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/krakend.json")
	_, err = retrieve(t, "krakend:", zap.NewNop())
	assert.ErrorContains(t, err, "expected krakend:<path to krakend.json>")
}

// composeKrakendJSON names the collector by a service name, as KrakenD's own
// examples do (`otel-collector`), on a port of its own.
const composeKrakendJSON = `{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "exporters": {
        "otlp": [
          {"name": "collector", "host": "otel-collector", "port": 14317},
          {"name": "vendor", "host": "otlp.vendor.example", "port": 4317}
        ]
      }
    }
  }
}`

// forwardsTo lists the endpoints of the translated exporters.
func forwardsTo(t *testing.T, conf *confmap.Conf) []string {
	t.Helper()
	var out []string
	for id, cfg := range conf.Get("exporters").(map[string]any) {
		if m, ok := cfg.(map[string]any); ok {
			if ep, ok := m["endpoint"].(string); ok {
				out = append(out, id+"="+ep)
			}
		}
	}
	return out
}

func TestCollectorHostsComeFromTheURIAndTheEnvironment(t *testing.T) {
	path := writeFile(t, "krakend.json", composeKrakendJSON)
	tests := []struct {
		name string
		uri  string
		env  string
		self bool // otel-collector is this collector
	}{
		{"without an option a named host is a destination", "krakend:" + path, "", false},
		{"?collector_host= makes it this collector", "krakend:" + path + "?collector_host=otel-collector", "", true},
		{"a comma-separated list works in the option", "krakend:" + path + "?collector_host=otelcol,otel-collector", "", true},
		{"the environment variable works alone", "krakend:" + path, "otelcol, otel-collector", true},
		{"the environment and the option add up", "krakend:" + path + "?collector_host=otelcol", "otel-collector", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(CollectorHostsEnv, tt.env)
			conf, err := retrieve(t, tt.uri, zap.NewNop())
			require.NoError(t, err)
			exporters := strings.Join(forwardsTo(t, conf), " ")
			assert.Contains(t, exporters, "otlp.vendor.example:4317", "the vendor stays a destination")
			if tt.self {
				assert.NotContains(t, exporters, "otel-collector")
				assert.Equal(t, "0.0.0.0:14317", conf.Get("receivers::gateway::protocols::grpc::endpoint"), "the gateway's port becomes the receiver's")
			} else {
				assert.Contains(t, exporters, "otel-collector:14317")
			}
		})
	}
}

func TestAURIOptionIsCheckedStrictly(t *testing.T) {
	path := writeFile(t, "krakend.json", composeKrakendJSON)
	_, err := retrieve(t, "krakend:"+path+"?collector_hots=otel-collector", zap.NewNop())
	assert.ErrorContains(t, err, `unknown option "collector_hots"`)
	_, err = retrieve(t, "krakend:"+path+"?collector_host=", zap.NewNop())
	assert.ErrorContains(t, err, "collector_host needs a host name")
	_, err = retrieve(t, "krakend:?collector_host=x", zap.NewNop())
	assert.ErrorContains(t, err, "expected krakend:<path to krakend.json>")
}

func TestADestinationComesFromTheURIOrTheEnvironment(t *testing.T) {
	path := writeFile(t, "krakend.json", composeKrakendJSON)
	for name, tt := range map[string]struct{ uri, env string }{
		"the URI option":           {"krakend:" + path + "?destination=datadog", ""},
		"the environment variable": {"krakend:" + path, "datadog"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(DestinationsEnv, tt.env)
			conf, err := retrieve(t, tt.uri, zap.NewNop())
			require.NoError(t, err)
			assert.Equal(t, "${env:DD_API_KEY}", conf.Get("exporters::datadog::api::key"), "the key stays a reference")
			assert.NotNil(t, conf.Get("connectors::datadog/stats"), "Datadog's APM stats")
			assert.Contains(t, conf.Get("service::pipelines::traces::exporters"), "datadog/stats", "nothing sampled: beside the exporters")
		})
	}

	t.Setenv(DestinationsEnv, "")
	_, err := retrieve(t, "krakend:"+path+"?destination=xray", zap.NewNop())
	assert.ErrorContains(t, err, `unknown destination "xray"`)
	_, err = retrieve(t, "krakend:"+path+"?destination=", zap.NewNop())
	assert.ErrorContains(t, err, "destination needs a name (datadog)")
	t.Setenv(DestinationsEnv, "tempo")
	_, err = retrieve(t, "krakend:"+path, zap.NewNop())
	assert.ErrorContains(t, err, DestinationsEnv+`: unknown destination "tempo"`)
}

// KrakenD keeps every trace a caller sampled: sampling=gateway leaves the
// sampling to it, from the URI or the environment (the URI wins).
func TestSamplingAtTheGatewayComesFromTheURIOrTheEnvironment(t *testing.T) {
	src := strings.Replace(krakendJSON, `"layers": {"global": {"disable_propagation": true}, `, `"layers": {`, 1)
	path := writeFile(t, "krakend.json", src)
	for name, tt := range map[string]struct {
		uri, env string
		want     float64
	}{
		"the default: the collector samples":   {"krakend:" + path, "", 25},
		"the URI option":                       {"krakend:" + path + "?sampling=gateway", "", 100},
		"the environment variable":             {"krakend:" + path, "gateway", 100},
		"the URI wins over the environment":    {"krakend:" + path + "?sampling=collector", "gateway", 25},
		"the environment, with another option": {"krakend:" + path + "?collector_host=otel", " gateway ", 100},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(SamplingEnv, tt.env)
			core, logs := observer.New(zap.WarnLevel)
			conf, err := retrieve(t, tt.uri, zap.New(core))
			require.NoError(t, err)
			assert.EqualValues(t, tt.want, conf.Get("processors::sampling::sampling_percentage"))
			warned := logs.FilterMessageSnippet("parent-based").Len() > 0
			assert.Equal(t, tt.want < 100, warned, "the re-sampled callers' traces are warned of only when the collector samples")
		})
	}

	t.Setenv(SamplingEnv, "")
	_, err := retrieve(t, "krakend:"+path+"?sampling=edge", zap.NewNop())
	assert.ErrorContains(t, err, `unknown sampling "edge"`)
	_, err = retrieve(t, "krakend:"+path+"?sampling=gateway&sampling=collector", zap.NewNop())
	assert.ErrorContains(t, err, "sampling takes one value, collector or gateway")
	_, err = retrieve(t, "krakend:"+path+"?sampling=", zap.NewNop())
	assert.ErrorContains(t, err, "sampling takes one value")
	t.Setenv(SamplingEnv, "both")
	_, err = retrieve(t, "krakend:"+path, zap.NewNop())
	assert.ErrorContains(t, err, SamplingEnv+`: unknown sampling "both"`)

	// The URI wins: the variable it overrides is not read, only warned of.
	core, logs := observer.New(zap.WarnLevel)
	conf, err := retrieve(t, "krakend:"+path+"?sampling=gateway", zap.New(core))
	require.NoError(t, err, "an invalid %s the URI overrides", SamplingEnv)
	assert.EqualValues(t, 100, conf.Get("processors::sampling::sampling_percentage"))
	warned := logs.FilterMessageSnippet(SamplingEnv).All()
	require.Len(t, warned, 1, "the overridden invalid variable is warned of")
	assert.Contains(t, warned[0].Message, `unknown sampling "both"`)
}

// A $ in krakend.json is the gateway's text, not a reference: the collector
// reads it as written (the translation escapes it), while its own ${env:...}
// references still expand.
func TestADollarInKrakenDJSONIsReadLiterally(t *testing.T) {
	path := writeFile(t, "krakend.json", `{"version": 3, "name": "shop-${env:HOME}", "extra_config": {"telemetry/opentelemetry": {
	  "layers": {"global": {"traces_static_attributes": [{"key": "price", "value": "$5 and $$"}]}},
	  "exporters": {"otlp": [{"name": "local", "host": "localhost", "port": 4317}, {"name": "tempo", "host": "tempo"}]}}}}`)
	t.Setenv("HOME", "/should/not/appear")
	r, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"krakend:" + path},
		ProviderFactories: []confmap.ProviderFactory{NewFactory()},
	})
	require.NoError(t, err)
	conf, err := r.Resolve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "shop-${env:HOME}", conf.Get("receivers::gateway::resource_defaults::service.name"))
	assert.Equal(t, "$5 and $$", conf.Get("processors::layerfilter::global::traces_static_attributes::price"))
}

// OTELCOL_GATEWAY_QUEUE_DIR puts every queue on disk, the overlays'
// exporters' too: a crash must not lose what the collector acknowledged
// for Tempo, Datadog or Azure Monitor either. Without it they stay in
// memory, and the configuration names no storage.
func TestTheQueueDirectoryReachesTheOverlaysExporters(t *testing.T) {
	path := writeFile(t, "krakend.json", krakendJSON)
	overlays := map[string][]string{
		"tempo.yaml":        {"otlp_grpc/tempo"},
		"datadog.yaml":      {"datadog"},
		"azuremonitor.yaml": {"azuremonitor"},
	}
	resolve := func(t *testing.T, overlay string) *confmap.Conf {
		t.Helper()
		return resolveAll(t, "krakend:"+path, "file:"+filepath.Join("..", "overlays", overlay))
	}
	for overlay, exporters := range overlays {
		t.Run(overlay+" on disk", func(t *testing.T) {
			t.Setenv(QueueDirEnv, t.TempDir())
			conf := resolve(t, overlay)
			require.True(t, conf.IsSet("extensions::file_storage/queue"), "the translation declares the storage")
			for _, id := range exporters {
				assert.Equal(t, "file_storage/queue", conf.Get("exporters::"+id+"::sending_queue::storage"), "%s: the overlay's queue is on disk too", id)
				assert.Equal(t, "file_storage/queue", queueStorage(t, conf, id).String())
			}
		})
		t.Run(overlay+" in memory", func(t *testing.T) {
			t.Setenv(QueueDirEnv, "")
			conf := resolve(t, overlay)
			assert.False(t, conf.IsSet("extensions::file_storage/queue"))
			for _, id := range exporters {
				require.True(t, conf.IsSet("exporters::"+id+"::sending_queue"), id)
				assert.Nil(t, conf.Get("exporters::"+id+"::sending_queue::storage"), "%s: no storage, an in-memory queue", id)
				assert.Nil(t, queueStorage(t, conf, id), "%s: the exporter reads no storage", id)
			}
		})
	}
}

// resolveAll resolves the URIs as the collector does, with the krakend,
// file and env providers.
func resolveAll(t *testing.T, uris ...string) *confmap.Conf {
	t.Helper()
	r, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs: uris,
		ProviderFactories: []confmap.ProviderFactory{
			NewFactory(), fileprovider.NewFactory(),
			envprovider.NewFactory(),
		},
	})
	require.NoError(t, err)
	conf, err := r.Resolve(context.Background())
	require.NoError(t, err)
	return conf
}

// queueStorage reads sending_queue.storage as the exporters' queue
// configuration does (a *component.ID).
func queueStorage(t *testing.T, conf *confmap.Conf, exporter string) *component.ID {
	t.Helper()
	sub, err := conf.Sub("exporters::" + exporter + "::sending_queue")
	require.NoError(t, err)
	var q struct {
		Storage *component.ID `mapstructure:"storage"`
	}
	require.NoError(t, sub.Unmarshal(&q, confmap.WithIgnoreUnused()))
	return q.Storage
}

// A configuration that does not come through a krakend: URI (a file written
// by translate, or any YAML) declares no storage this provider knows of: an
// overlay's queue stays in memory with the variable set, rather than name a
// storage extension the collector would not find at start.
func TestTheQueueDirectoryWithoutAKrakenDURILeavesTheOverlaysInMemory(t *testing.T) {
	t.Setenv(QueueDirEnv, t.TempDir())
	translated := writeFile(t, "collector.yaml", "receivers: {}\n")
	conf := resolveAll(t, "file:"+translated, "file:"+filepath.Join("..", "overlays", "tempo.yaml"))
	require.True(t, conf.IsSet("exporters::otlp_grpc/tempo::sending_queue"))
	assert.Nil(t, queueStorage(t, conf, "otlp_grpc/tempo"))
}

// The order of --config does not matter: the overlay before the krakend:
// URI still finds the storage.
func TestTheQueueDirectoryReachesAnOverlayGivenFirst(t *testing.T) {
	t.Setenv(QueueDirEnv, t.TempDir())
	path := writeFile(t, "krakend.json", krakendJSON)
	conf := resolveAll(t, "file:"+filepath.Join("..", "overlays", "tempo.yaml"), "krakend:"+path)
	assert.Equal(t, "file_storage/queue", queueStorage(t, conf, "otlp_grpc/tempo").String())
}
