package layerfilterprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
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

// unresolvedByReason returns otelcol_processor_layerfilter_released_unresolved_spans
// per reason, the reasons never recorded left out.
func unresolvedByReason(t *testing.T, tel *componenttest.Telemetry) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := tel.GetMetric(metricUnresolved)
	if err != nil {
		return out // nothing recorded
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "a sum")
	assert.True(t, sum.IsMonotonic)
	for _, dp := range sum.DataPoints {
		require.Equal(t, 1, dp.Attributes.Len(), "the reason alone: %v", dp.Attributes.ToSlice())
		r, ok := dp.Attributes.Value(attribute.Key("reason"))
		require.True(t, ok)
		if dp.Value != 0 {
			out[r.AsString()] = dp.Value
		}
	}
	return out
}

// Each way a held span (or one that would have waited) is handed on
// before its awaited parent came counts it once, under its reason, and
// nothing else does. Request 1's stage span waits for its proxy span (the
// proxy is off); it comes with the proxy and global spans.
func TestEachReleaseOfAnUnresolvedSpanIsCountedUnderItsReason(t *testing.T) {
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	children := func() ptrace.Traces { return batches(src, [][]int{{iRead, iRoundTrip, iStage}})[0] }
	parents := func() ptrace.Traces { return batches(src, [][]int{{iProxy, iGlobal}})[0] }
	flush := func(t *testing.T, h *harness) {
		require.NoError(t, h.proc.(*holdingTraces).hold.flush(context.Background(), false))
	}
	// inFlight holds back the delivery of request 1's children, runs
	// during, and then lets the next consumer take the batch.
	inFlight := func(during func(t *testing.T, h *harness)) func(t *testing.T, h *harness) {
		return func(t *testing.T, h *harness) {
			gate := &gatedConsumer{next: h.sink, arrived: make(chan struct{}), let: make(chan struct{})}
			h.refuse.next = gate
			errs := make(chan error, 1)
			go func() { errs <- h.proc.ConsumeTraces(context.Background(), children()) }()
			<-gate.arrived
			during(t, h)
			close(gate.let)
			require.NoError(t, <-errs)
		}
	}
	tests := []struct {
		name string
		yaml string // besides the proxy off
		run  func(t *testing.T, h *harness)
		want map[string]int64
	}{
		{
			name: "its parent came: resolved, not counted",
			run:  func(t *testing.T, h *harness) { h.consume(t, children()); h.consume(t, parents()) },
			want: map[string]int64{},
		},
		{
			name: "its batch was refused: let go, its sender's again, not counted",
			run: func(t *testing.T, h *harness) {
				h.refuse.refuseNext(1)
				require.ErrorIs(t, h.proc.ConsumeTraces(context.Background(), children()), errRefused)
			},
			want: map[string]int64{},
		},
		{
			name: "max_wait ran out: the expiry task hands it on",
			yaml: "reparent: {max_wait: 1s}\n",
			run: func(t *testing.T, h *harness) {
				h.consume(t, children())
				h.clock.Advance(time.Second)
				flush(t, h)
			},
			want: map[string]int64{"max_wait": 1},
		},
		{
			name: "max_wait ran out: the next batch hands it on",
			yaml: "reparent: {max_wait: 1s}\n",
			run: func(t *testing.T, h *harness) {
				h.consume(t, children())
				h.clock.Advance(time.Second)
				h.consume(t, orphanStage(2)) // which waits in turn
			},
			want: map[string]int64{"max_wait": 1},
		},
		{
			name: "max_wait ran out while its batch was in flight: handed on once the batch is taken",
			yaml: "reparent: {max_wait: 1s}\n",
			run: inFlight(func(t *testing.T, h *harness) {
				h.clock.Advance(time.Second)
				flush(t, h)
			}),
			want: map[string]int64{"max_wait": 1},
		},
		{
			name: "the expiry task's delivery was refused: counted once when it gets through",
			yaml: "reparent: {max_wait: 1s}\n",
			run: func(t *testing.T, h *harness) {
				h.consume(t, children())
				h.clock.Advance(time.Second)
				h.refuse.refuseNext(1)
				require.ErrorIs(t, h.proc.(*holdingTraces).hold.flush(context.Background(), false), errRefused)
				flush(t, h)
			},
			want: map[string]int64{"max_wait": 1},
		},
		{
			name: "max_spans: the oldest leaves with the batch that overflows",
			yaml: "reparent: {max_spans: 1}\n",
			run:  func(t *testing.T, h *harness) { h.consume(t, children()); h.consume(t, orphanStage(2)) },
			// request 2's stage span is held until the harness shuts down
			want: map[string]int64{"max_spans": 1},
		},
		{
			name: "max_spans with every held span pending: the span that would wait leaves with its own batch",
			yaml: "reparent: {max_spans: 1}\n",
			run:  inFlight(func(t *testing.T, h *harness) { h.consume(t, orphanStage(2)) }),
			want: map[string]int64{"max_spans": 1},
		},
		{
			name: "shutdown hands on what is held",
			run: func(t *testing.T, h *harness) {
				h.consume(t, children())
				h.consume(t, orphanStage(2))
				require.NoError(t, h.proc.Shutdown(context.Background()))
			},
			want: map[string]int64{"shutdown": 2},
		},
		{
			name: "shutdown while its batch was in flight: handed on once the batch is taken",
			run: inFlight(func(t *testing.T, h *harness) {
				require.NoError(t, h.proc.Shutdown(context.Background()))
			}),
			want: map[string]int64{"shutdown": 1},
		},
		{
			name: "a batch after shutdown: the span that would wait is handed on at once",
			run: func(t *testing.T, h *harness) {
				require.NoError(t, h.proc.Shutdown(context.Background()))
				h.consume(t, children())
			},
			want: map[string]int64{"shutdown": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "proxy: {disable_traces: true}\n"+tt.yaml)
			tt.run(t, h)
			assert.Equal(t, tt.want, unresolvedByReason(t, h.tel))
		})
	}
}
