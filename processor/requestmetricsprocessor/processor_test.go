package requestmetricsprocessor

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"
	"github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor/internal/metadata"
)

// spanCounter stands for the connector: it records what it is handed.
type spanCounter struct {
	mu       sync.Mutex
	spans    int
	attached int
}

func (c *spanCounter) CountTraces(td ptrace.Traces) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.spans += td.SpanCount()
}

func (c *spanCounter) AttachProcessor() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.attached++
}

func newProcessor(t *testing.T, name string, next *consumertest.TracesSink) (processor.Traces, component.ID) {
	t.Helper()
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, name)
	p, err := NewFactory().CreateTraces(context.Background(), set, NewFactory().CreateDefaultConfig(), next)
	require.NoError(t, err)
	return p, set.ID
}

func spans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	for i := 0; i < n; i++ {
		ss.Spans().AppendEmpty().SetName("GET /users/{id}")
	}
	return td
}

func TestCountsEverySpanAndHandsTheBatchOnAsItCame(t *testing.T) {
	sink := new(consumertest.TracesSink)
	p, id := newProcessor(t, t.Name(), sink)
	pair := requestpair.For(id)
	counter := &spanCounter{}
	pair.SetCounter(counter)
	defer pair.ClearCounter(counter)

	assert.False(t, p.Capabilities().MutatesData, "it only reads: the sampler after it keeps its input to itself")
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	assert.Equal(t, 1, counter.attached, "the connector now counts only what the processor hands it")

	in := spans(7)
	require.NoError(t, p.ConsumeTraces(context.Background(), in))
	require.NoError(t, p.ConsumeTraces(context.Background(), spans(3)))
	assert.Equal(t, 10, counter.spans)
	require.Len(t, sink.AllTraces(), 2)
	assert.Equal(t, in, sink.AllTraces()[0], "the same batch, not a copy")
	assert.Equal(t, 7, sink.AllTraces()[0].SpanCount())

	require.NoError(t, p.Shutdown(context.Background()))
}

func TestStartWithoutItsConnectorFails(t *testing.T) {
	p, _ := newProcessor(t, "alone", new(consumertest.TracesSink))
	err := p.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, `no requestmetrics connector "requestmetrics/alone" is configured`)
	require.NoError(t, p.Shutdown(context.Background()))
}

// Processors of one ID in two pipelines count for the same connector.
func TestTwoPipelinesOneConnector(t *testing.T) {
	counter := &spanCounter{}
	set := processortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, t.Name())
	pair := requestpair.For(set.ID)
	pair.SetCounter(counter)
	defer pair.ClearCounter(counter)
	for range 2 {
		p, err := NewFactory().CreateTraces(context.Background(), set, NewFactory().CreateDefaultConfig(), consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, p.ConsumeTraces(context.Background(), spans(2)))
		require.NoError(t, p.Shutdown(context.Background()))
	}
	assert.Equal(t, 4, counter.spans)
	assert.Equal(t, 2, counter.attached)
}
