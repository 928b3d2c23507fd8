package envhint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/config/dedupconverter"
	"github.com/otelcol-gateway/otelcol-gateway/config/krakendprovider"
)

const connStringEnv = "APPLICATIONINSIGHTS_CONNECTION_STRING"

// checkStart runs the check on a configuration as the collector resolved it
// (variables already expanded), with env as the environment.
func checkStart(t *testing.T, config string, env map[string]string) error {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(config), &m))
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	c := NewStartCheckFactory(lookup).Create(confmap.ConverterSettings{})
	return c.Convert(context.Background(), confmap.NewFromStringMap(m))
}

// The Azure Monitor overlay merged over a translation, its
// ${env:APPLICATIONINSIGHTS_CONNECTION_STRING} expanded to "" (unset).
const azureUnset = `
exporters:
  debug/traces: {}
  azuremonitor:
    connection_string: ""
service:
  pipelines:
    traces:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter]
      exporters: [debug/traces, azuremonitor]
    metrics/azuremonitor:
      receivers: [gateway]
      processors: [memory_limiter, layerfilter, cumulativetodelta/azuremonitor]
      exporters: [azuremonitor]
`

// The azuremonitor exporter accepts an empty connection string until it
// starts, which validate never does: the check refuses what the exporter's
// Start would (no connection string in the environment, none and no
// instrumentation key in its configuration), and nothing else.
func TestValidateRefusesAnAzureMonitorExporterThatWouldNotStart(t *testing.T) {
	const secret = "InstrumentationKey=s3cr3t-key;IngestionEndpoint=https://westeurope-1.in.applicationinsights.azure.com/"
	tests := []struct {
		name    string
		config  string
		env     map[string]string
		wantErr string // "" for none
	}{
		{"the overlay with the variable unset", azureUnset, nil,
			"exporters::azuremonitor: ConnectionString and InstrumentationKey cannot be empty (the exporter would refuse to start)"},
		{"the overlay with the variable empty", azureUnset, map[string]string{connStringEnv: ""},
			"exporters::azuremonitor: ConnectionString and InstrumentationKey cannot be empty (the exporter would refuse to start)"},
		{"a named exporter with no connection_string at all", `
exporters:
  azuremonitor/eu: {}
service:
  pipelines:
    traces: {receivers: [gateway], exporters: [azuremonitor/eu]}
`, nil, "exporters::azuremonitor/eu: ConnectionString and InstrumentationKey cannot be empty (the exporter would refuse to start)"},
		// the exporter reads the variable itself before its configuration
		{"the overlay with the variable set", azureUnset, map[string]string{connStringEnv: secret}, ""},
		{"a connection string written in the configuration", strings.Replace(azureUnset, `connection_string: ""`, `connection_string: "`+secret+`"`, 1), nil, ""},
		{"an instrumentation key instead", strings.Replace(azureUnset, `connection_string: ""`, `instrumentation_key: "00000000-0000-0000-0000-000000000000"`, 1), nil, ""},
		// the collector neither creates nor starts an exporter no pipeline uses
		{"an exporter that no pipeline uses", `
exporters:
  azuremonitor: {connection_string: ""}
  debug: {}
service:
  pipelines:
    traces: {receivers: [gateway], exporters: [debug]}
`, nil, ""},
		{"no pipelines", "exporters:\n  azuremonitor: {}\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkStart(t, tt.config, tt.env)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tt.wantErr, err.Error())
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
}

// What `otelcol-gateway validate --config krakend:krakend.json --config
// azuremonitor.yaml` resolves, the distribution's converter and then the
// check, and the one line it prints: the variable named first, and no
// value. The collector wraps the converter's error as below.
func TestValidateNamesTheUnsetAzureConnectionStringOfTheOverlay(t *testing.T) {
	krakendJSON := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(krakendJSON, []byte(`{"version": 3, "name": "orders-gateway", "extra_config": {"telemetry/opentelemetry": {
  "exporters": {"otlp": [{"name": "collector", "host": "localhost", "port": 4317}]}}}}`), 0o600))
	resolve := func() error {
		r, err := confmap.NewResolver(confmap.ResolverSettings{
			URIs: []string{"krakend:" + krakendJSON, "file:" + filepath.Join("..", "..", "config", "overlays", "azuremonitor.yaml")},
			ProviderFactories: []confmap.ProviderFactory{
				krakendprovider.NewFactory(), fileprovider.NewFactory(),
				envprovider.NewFactory(),
			},
			ConverterFactories: []confmap.ConverterFactory{dedupconverter.NewFactory(), NewStartCheckFactory(os.LookupEnv)},
		})
		require.NoError(t, err)
		_, err = r.Resolve(context.Background())
		return err
	}

	t.Setenv(connStringEnv, "") // restored afterwards
	require.NoError(t, os.Unsetenv(connStringEnv))
	err := resolve()
	require.Error(t, err, "validate refuses what the collector would refuse at start")
	line := Explain("failed to get config: cannot resolve the configuration: "+err.Error(), os.LookupEnv)
	assert.True(t, strings.HasPrefix(line, "APPLICATIONINSIGHTS_CONNECTION_STRING is not set: the azuremonitor exporter needs the connection string (exporters::azuremonitor::connection_string); "), line)

	t.Setenv(connStringEnv, "InstrumentationKey=s3cr3t-key")
	assert.NoError(t, resolve(), "set, the exporter starts")
}
