package requestmetricsprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"
	"github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor/internal/metadata"
)

// The shape of mdatagen's generated_component_test.go, written by hand.

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, component.MustNewType("requestmetrics"), NewFactory().Type())
	require.Equal(t, metadata.Type, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestComponentStability(t *testing.T) {
	require.Equal(t, component.StabilityLevelAlpha, NewFactory().TracesStability())
}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	sub, err := cm.Sub("tests::config")
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(&cfg))

	// the connector of the same ID, as the collector makes it first
	set := processortest.NewNopSettings(metadata.Type)
	pair := requestpair.For(set.ID)
	counter := &spanCounter{}
	pair.SetCounter(counter)
	defer pair.ClearCounter(counter)

	t.Run("traces-shutdown", func(t *testing.T) {
		c, err := factory.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, c.Shutdown(context.Background()))
	})
	t.Run("traces-lifecycle", func(t *testing.T) {
		c, err := factory.CreateTraces(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, c.ConsumeTraces(context.Background(), ptrace.NewTraces()))
		require.NoError(t, c.Shutdown(context.Background()))
	})
}
