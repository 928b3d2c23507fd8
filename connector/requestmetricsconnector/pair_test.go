package requestmetricsconnector

import (
	"context"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector/internal/metadata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"
)

// callsIn adds up the calls points of md.
func callsIn(md pmetric.Metrics) uint64 {
	calls, _ := points(md)
	var n uint64
	for _, dp := range calls {
		n += uint64(dp.IntValue())
	}
	return n
}

// gatewaySpans is n server spans of the gateway's scope.
func gatewaySpans(n int) ptrace.Traces {
	specs := make([]spanSpec, n)
	for i := range specs {
		specs[i] = spanSpec{kind: ptrace.SpanKindServer, attrs: map[string]any{"krakend.stage": "global", "http.route": "/users/{id}"}}
	}
	return traces(map[string]any{"service.name": "krakend"}, "io.krakend.krakend-otel", specs...)
}

// The processor of the same ID counts for the connector: what the
// connector receives then (the sampled spans after it) is not counted
// again, and its last emission at shutdown holds what the processor
// handed it.
func TestAPairedProcessorCountsForTheConnector(t *testing.T) {
	id := component.MustNewIDWithName(metadata.Type.String(), t.Name())
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = id
	clock := clockwork.NewFakeClockAt(epoch)
	sink := new(consumertest.MetricsSink)
	c, err := NewFactory().CreateTracesToMetrics(clockwork.AddToContext(context.Background(), clock), set, translatedConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))

	pair := requestpair.For(id)
	require.Same(t, c, pair.Counter(), "the connector is its ID's counter once made")

	// no processor runs: the connector counts what it receives
	require.NoError(t, c.ConsumeTraces(context.Background(), gatewaySpans(1)))

	pair.Counter().AttachProcessor() // a processor started
	pair.Counter().CountTraces(gatewaySpans(5))
	require.NoError(t, c.ConsumeTraces(context.Background(), gatewaySpans(2)), "the sampled share after the processor")
	// the processor is shut down first; the sampler after it hands on its
	// last batch: counted by the processor already
	require.NoError(t, c.ConsumeTraces(context.Background(), gatewaySpans(3)), "the sampler's last batch")

	require.NoError(t, c.Shutdown(context.Background()))
	assert.Nil(t, pair.Counter(), "a connector shut down counts for no one")
	require.Len(t, sink.AllMetrics(), 1, "the final emission")
	assert.Equal(t, uint64(6), callsIn(sink.AllMetrics()[0]), "1 received unpaired, 5 from the processor, none of the 5 received after it")
}
