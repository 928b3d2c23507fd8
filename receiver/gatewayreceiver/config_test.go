package gatewayreceiver

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, xconfmap.Validate(cfg)
}

func TestConfigLoads(t *testing.T) {
	t.Run("the protocols listen on localhost by default and replicas are told apart by address", func(t *testing.T) {
		cfg, err := loadConfig(t, "defaults")
		require.NoError(t, err)
		assert.Equal(t, "localhost:4317", cfg.Protocols.GRPC.Get().NetAddr.Endpoint)
		assert.Equal(t, "localhost:4318", cfg.Protocols.HTTP.Get().ServerConfig.NetAddr.Endpoint)
		assert.True(t, cfg.InstanceIDFromPeer)
		assert.Equal(t, []string{"io.krakend.krakend-otel"}, cfg.GatewayScopes)
	})
	t.Run("every option is read", func(t *testing.T) {
		cfg, err := loadConfig(t, "custom")
		require.NoError(t, err)
		assert.Equal(t, "0.0.0.0:14317", cfg.Protocols.GRPC.Get().NetAddr.Endpoint)
		assert.Equal(t, int64(1048576), cfg.Protocols.HTTP.Get().ServerConfig.MaxRequestBodySize)
		assert.Equal(t, map[string]string{"service.name": "my-gateway", "deployment.environment": "prod"}, cfg.ResourceDefaults)
		assert.False(t, cfg.InstanceIDFromPeer)
		assert.Equal(t, []string{"io.krakend.krakend-otel", "my.gateway"}, cfg.GatewayScopes)
		assert.Equal(t, "1.27", cfg.SemanticConvention)
	})
	t.Run("http alone is enough", func(t *testing.T) {
		cfg, err := loadConfig(t, "http_only")
		require.NoError(t, err)
		assert.True(t, cfg.Protocols.HTTP.HasValue())
	})
}

func TestConfigRefusesInvalidValues(t *testing.T) {
	tests := []struct{ name, wantErr string }{
		{"", "at least one of grpc or http"},
		{"invalid_no_protocols", "at least one of grpc or http"},
		{"invalid_empty_scope", "gateway_scopes[0]: a scope name must not be empty"},
		{"invalid_empty_key", "resource_defaults: an attribute key must not be empty"},
		// either would make the HTTP mux panic when the receiver starts
		{"invalid_shared_path", `protocols.http.metrics_url_path: "/otlp" is already traces_url_path`},
		{"invalid_pattern_path", `protocols.http.logs_url_path: "/v1/{x" is a URL path`},
		{"invalid_semantic_convention", `semantic_convention: "1.26" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestConfigUnknownFieldIsAnError(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub("gateway/custom")
	require.NoError(t, err)
	require.NoError(t, sub.Merge(confmapFromMap(map[string]any{"resource_default": map[string]any{"a": "b"}})))
	cfg := NewFactory().CreateDefaultConfig()
	err = sub.Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resource_default")
}
