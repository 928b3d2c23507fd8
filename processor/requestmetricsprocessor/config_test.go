package requestmetricsprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, id := range []component.ID{component.NewID(metadata.Type), component.NewIDWithName(metadata.Type, "edge")} {
		cfg := NewFactory().CreateDefaultConfig()
		sub, err := cm.Sub(id.String())
		require.NoError(t, err)
		require.NoError(t, sub.Unmarshal(cfg))
		require.NoError(t, xconfmap.Validate(cfg))
	}
}

// What to count is the connector's to say: a dimension given here is an
// error, not silently ignored.
func TestUnknownFieldFailsToDecode(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "invalid_unknown_field.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub("requestmetrics")
	require.NoError(t, err)
	require.ErrorContains(t, sub.Unmarshal(NewFactory().CreateDefaultConfig()), "dimensions")
}
