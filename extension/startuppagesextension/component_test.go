package startuppagesextension

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension/internal/metadata"
)

// The shape of mdatagen's generated_component_test.go, written by hand.

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, component.MustNewType("startup_pages"), NewFactory().Type())
	require.Equal(t, metadata.Type, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestComponentStability(t *testing.T) {
	require.Equal(t, component.StabilityLevelAlpha, NewFactory().Stability())
}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	sub, err := cm.Sub("tests::config")
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(&cfg))

	ext, err := factory.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	watcher, ok := ext.(extensioncapabilities.PipelineWatcher)
	require.True(t, ok, "the collector calls Ready only on a PipelineWatcher")
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, watcher.Ready())
	require.NoError(t, watcher.NotReady())
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, name := range []string{"", "empty"} {
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		cfg := NewFactory().CreateDefaultConfig()
		require.NoError(t, sub.Unmarshal(cfg), name)
		require.NoError(t, xconfmap.Validate(cfg), name)
		require.Equal(t, &Config{}, cfg, name)
	}

	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "unknown").String())
	require.NoError(t, err)
	err = sub.Unmarshal(NewFactory().CreateDefaultConfig())
	require.ErrorContains(t, err, "delay", "an unknown key is refused by name")
}
