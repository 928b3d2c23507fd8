package layerfilterprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"
)

func TestThroughTheFactoryWhatIsLeftReachesTheNextConsumer(t *testing.T) {
	cfg := loadConfig(t, `skip_paths: ["/__health"]`)
	traces, metrics := new(consumertest.TracesSink), new(consumertest.MetricsSink)
	f := NewFactory()
	tp, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, traces)
	require.NoError(t, err)
	mp, err := f.CreateMetrics(context.Background(), processortest.NewNopSettings(typ), cfg, metrics)
	require.NoError(t, err)
	require.NoError(t, tp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, mp.Start(context.Background(), componenttest.NewNopHost()))
	assert.True(t, tp.Capabilities().MutatesData)

	require.NoError(t, tp.ConsumeTraces(context.Background(), gatewayTraces("gw", reqHealth, reqUser)))
	require.NoError(t, tp.ConsumeTraces(context.Background(), gatewayTraces("gw", reqHealth)))
	require.NoError(t, mp.ConsumeMetrics(context.Background(), gatewayMetrics("gw", true, reqHealth)))

	require.Len(t, traces.AllTraces(), 1, "a batch left empty is not handed on")
	assert.Equal(t, 5, traces.SpanCount())
	assert.Empty(t, metrics.AllMetrics())
	require.NoError(t, tp.Shutdown(context.Background()))
	require.NoError(t, mp.Shutdown(context.Background()))
}
