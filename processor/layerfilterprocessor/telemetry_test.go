package layerfilterprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

func TestDroppedItemsAreCountedPerSignalLayerAndReason(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := loadConfig(t, `
skip_paths: ["/__health"]
proxy: {disable_traces: true, disable_metrics: true}
backend:
  traces: {read_payload: false}
  metrics: {detailed_connection: false}
`)

	tf, err := newLayerFilter(set, cfg, "traces")
	require.NoError(t, err)
	_, err = tf.processTraces(t.Context(), gatewayTraces("gw", reqUser, reqOrders, reqHealth))
	require.NoError(t, err)

	mf, err := newLayerFilter(set, cfg, "metrics")
	require.NoError(t, err)
	_, err = mf.processMetrics(t.Context(), gatewayMetrics("gw", true, reqUser, reqOrders, reqHealth))
	require.NoError(t, err)

	got, err := tel.GetMetric("otelcol_processor_layerfilter_dropped_items")
	require.NoError(t, err)
	sum, ok := got.Data.(metricdata.Sum[int64])
	require.True(t, ok)
	counts := map[[3]string]int64{}
	for _, dp := range sum.DataPoints {
		s, _ := dp.Attributes.Value(attribute.Key("signal"))
		l, _ := dp.Attributes.Value(attribute.Key("layer"))
		r, _ := dp.Attributes.Value(attribute.Key("reason"))
		counts[[3]string{s.AsString(), l.AsString(), r.AsString()}] = dp.Value
	}
	assert.Equal(t, map[[3]string]int64{
		// /__health: its five spans, one per layer part.
		{"traces", "global", "skip_path"}:  1,
		{"traces", "proxy", "skip_path"}:   1,
		{"traces", "backend", "skip_path"}: 3,
		// the two other requests
		{"traces", "proxy", "layer_disabled"}: 2,
		{"traces", "backend", "switch_off"}:   2,
		// metrics: one data point per request and metric
		{"metrics", "global", "skip_path"}:     2,
		{"metrics", "proxy", "skip_path"}:      1,
		{"metrics", "backend", "skip_path"}:    16,
		{"metrics", "proxy", "layer_disabled"}: 2,
		{"metrics", "backend", "switch_off"}:   6,
	}, counts)
}
