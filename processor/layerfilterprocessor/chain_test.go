package layerfilterprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

// chain is layerfilter/a then layerfilter/b in one pipeline, as the
// collector builds it: a hands its batches (and the held spans it
// releases) to b, b to the refusing consumer in front of the sink.
type chain struct {
	a, b   processor.Traces
	sink   *consumertest.TracesSink
	refuse *refusingConsumer
	clock  *fakeClock // both instances'
}

func newChain(t *testing.T, yamlA, yamlB string) *chain {
	t.Helper()
	c := &chain{sink: new(consumertest.TracesSink), clock: &fakeClock{t: time.Unix(1_700_000_000, 0)}}
	c.refuse = &refusingConsumer{next: c.sink}
	create := func(name, yaml string, next consumer.Traces) processor.Traces {
		set := processortest.NewNopSettings(metadata.Type)
		set.ID = component.MustNewIDWithName(metadata.Type.String(), name)
		p, err := newTracesProcessor(context.Background(), set, loadConfig(t, yaml), next, c.clock.Now)
		require.NoError(t, err)
		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
		return p
	}
	c.b = create("b", yamlB, c.refuse)
	c.a = create("a", yamlA, c.b)
	// the collector shuts a pipeline's processors down in order: what a
	// hands on at shutdown still reaches b
	t.Cleanup(func() {
		require.NoError(t, c.a.Shutdown(context.Background()))
		require.NoError(t, c.b.Shutdown(context.Background()))
	})
	return c
}

// Two layerfilter instances in one pipeline each answer for their own
// hold: what the first releases with a batch, and what the second holds of
// it, must be neither lost nor handed on twice when the consumer after them
// refuses that batch and its sender sends it again. Request 1's spans come
// in three batches: the backend spans, the proxy span with the whole of
// request 2 (so that the batch reaches the consumer), the global span. The
// first instance (proxy off) holds request 1's backend stage span until the
// proxy span comes, then hands it on, re-parented to the global span, with
// the second batch: the batch the consumer refuses.
func TestTwoLayerFiltersInOnePipelineKeepTracesWhole(t *testing.T) {
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest, gatewaydata.DefaultRequest)
	const r2 = 5 // request 2's first span
	plan := [][]int{{iRead, iRoundTrip, iStage}, {iProxy, r2 + iRead, r2 + iRoundTrip, r2 + iStage, r2 + iProxy, r2 + iGlobal}, {iGlobal}}
	const refusedBatch = 1
	tests := []struct {
		name         string
		yamlA, yamlB string
		kept         func(ptrace.Span) bool
	}{
		{
			// b re-parents the read tracker within its batch, and holds
			// nothing
			name:  "the second removes other spans",
			yamlA: "proxy: {disable_traces: true}\n",
			yamlB: "backend: {traces: {round_trip: false}}\n",
			kept:  switches{proxyOff: true, roundTripOff: true}.kept,
		},
		{
			// b re-parents within each batch only, and cannot hold
			name:  "the second holds nothing (max_wait 0)",
			yamlA: "proxy: {disable_traces: true}\n",
			yamlB: "backend: {traces: {round_trip: false}}\nreparent: {max_wait: 0s}\n",
			kept:  switches{proxyOff: true, roundTripOff: true}.kept,
		},
		{
			// b does not know the global span either, and its policy says
			// the stage span's parent may be one it removed: b holds what a
			// released
			name:  "the second holds what the first released",
			yamlA: "proxy: {disable_traces: true}\n",
			yamlB: "proxy: {disable_traces: true}\n",
			kept:  switches{proxyOff: true}.kept,
		},
	}
	for _, tt := range tests {
		for _, refused := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, refused: %t", tt.name, refused), func(t *testing.T) {
				c := newChain(t, tt.yamlA, tt.yamlB)
				for i, td := range batches(src, plan) {
					if refused && i == refusedBatch {
						c.refuse.refuseNext(1)
						require.ErrorIs(t, c.a.ConsumeTraces(context.Background(), td), errRefused)
						// its sender sends it again, as it came
						td = batches(src, plan)[i]
					}
					require.NoError(t, c.a.ConsumeTraces(context.Background(), td))
				}
				require.NoError(t, c.a.Shutdown(context.Background()))
				require.NoError(t, c.b.Shutdown(context.Background()))
				if !assert.Empty(t, handedOnOtherThanOnce(src, sinkSpans(c.sink), tt.kept), "each kept span handed on once") {
					return
				}
				checkIntegrity(t, src, sinkSpans(c.sink), tt.kept, "layerfilter/a then layerfilter/b")
			})
		}
	}
}

// The first instance's expiry task hands on a held span with no batch of
// its sender's: when the consumer after the second instance refuses that
// delivery, the first takes back what it finds in it, and the second keeps
// what it holds of it. Request 2's endpoint has the proxy off in both
// instances, request 1's in the first only: the second holds request 2's
// stage span, and hands on request 1's.
func TestTwoLayerFiltersInOnePipelineKeepWhatTheExpiryTaskHandsOn(t *testing.T) {
	orders := gatewaydata.DefaultRequest
	orders.Path, orders.EndpointRoute, orders.BackendPattern = "/orders", "/orders", "/v1/orders"
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest, orders)
	const r2 = 5
	plan := [][]int{{iRead, iRoundTrip, iStage, r2 + iRead, r2 + iRoundTrip, r2 + iStage}, {iProxy, iGlobal, r2 + iProxy, r2 + iGlobal}}
	kept := switches{proxyOff: true}.kept
	for _, refused := range []bool{false, true} {
		t.Run(fmt.Sprintf("refused: %t", refused), func(t *testing.T) {
			c := newChain(t, "proxy: {disable_traces: true}\nreparent: {max_wait: 1s}\n",
				"endpoints:\n  - {route: /orders, proxy: {disable_traces: true}}\n")
			bs := batches(src, plan)
			require.NoError(t, c.a.ConsumeTraces(context.Background(), bs[0]))
			require.Equal(t, 4, c.sink.SpanCount(), "the first holds both stage spans")
			c.clock.Advance(time.Second)
			if refused {
				c.refuse.refuseNext(1)
				require.ErrorIs(t, c.a.(*holdingTraces).hold.flush(context.Background(), false), errRefused)
			}
			require.NoError(t, c.a.(*holdingTraces).hold.flush(context.Background(), false))
			require.Equal(t, 5, c.sink.SpanCount(), "request 1's stage span is handed on, request 2's held by the second")
			require.NoError(t, c.a.ConsumeTraces(context.Background(), bs[1]))
			require.NoError(t, c.a.Shutdown(context.Background()))
			require.NoError(t, c.b.Shutdown(context.Background()))
			assert.Empty(t, handedOnOtherThanOnce(src, sinkSpans(c.sink), kept), "each kept span handed on once")
		})
	}
}

// handedOnOtherThanOnce names each kept span of src that got handed on
// other than once, and each span handed on that should not have been.
func handedOnOtherThanOnce(src ptrace.Traces, got []ptrace.Span, kept func(ptrace.Span) bool) []string {
	n := map[spanKey]int{}
	for _, s := range got {
		n[spanKey{s.TraceID(), s.SpanID()}]++
	}
	traces := map[pcommon.TraceID]int{}
	var wrong []string
	for _, s := range allSpans(src) {
		k := spanKey{s.TraceID(), s.SpanID()}
		if _, ok := traces[k.trace]; !ok {
			traces[k.trace] = len(traces) + 1
		}
		want := 0
		if kept(s) {
			want = 1
		}
		if n[k] != want {
			wrong = append(wrong, fmt.Sprintf("request %d's %s span handed on %d times", traces[k.trace], layer.ClassifySpan(s), n[k]))
		}
	}
	return wrong
}
