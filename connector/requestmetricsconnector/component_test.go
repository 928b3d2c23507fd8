package requestmetricsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector/internal/metadata"
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
	require.Equal(t, component.StabilityLevelAlpha, NewFactory().TracesToMetricsStability())
}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf("metadata.yaml")
	require.NoError(t, err)
	cfg := factory.CreateDefaultConfig()
	sub, err := cm.Sub("tests::config")
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(&cfg))

	t.Run("traces_to_metrics-shutdown", func(t *testing.T) {
		c, err := factory.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, c.Shutdown(context.Background()))
	})
	t.Run("traces_to_metrics-lifecycle", func(t *testing.T) {
		sink := new(consumertest.MetricsSink)
		c, err := factory.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, sink)
		require.NoError(t, err)
		require.False(t, c.Capabilities().MutatesData)
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		traces := generateLifecycleTestTraces()
		traces.MarkReadOnly()
		require.NotPanics(t, func() { err = c.ConsumeTraces(context.Background(), traces) })
		require.NoError(t, err)
		require.NoError(t, c.Shutdown(context.Background()))
		require.NotEmpty(t, sink.AllMetrics(), "Shutdown emits what was counted")
		require.NoError(t, c.Shutdown(context.Background()), "a second Shutdown is harmless")
	})
}

func generateLifecycleTestTraces() ptrace.Traces {
	traces := ptrace.NewTraces()
	rs := traces.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "R1")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.Attributes().PutStr("krakend.stage", "global")
	span.SetName("test_span")
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-1 * time.Second)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return traces
}
