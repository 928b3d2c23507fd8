package requestmetricsconnector

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector/internal/metadata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

// gatewayBatch is 100 requests of 5 spans over 4 endpoints and 3 statuses.
func gatewayBatch() ptrace.Traces {
	td := gatewaydata.NewTraces("krakend", 1)
	ss := td.ResourceSpans().At(0).ScopeSpans().At(0)
	for i := range 100 {
		r := gatewaydata.DefaultRequest
		r.EndpointRoute = fmt.Sprintf("/e%d/:id", i%4)
		r.Status = []int{200, 404, 500}[i%3]
		gatewaydata.AppendRequestSpans(ss.Spans(), uint64(i), r)
	}
	td.MarkReadOnly()
	return td
}

// BenchmarkConsumeTraces is the connector's cost per span in steady state
// (every series exists), with the translator's configuration.
func BenchmarkConsumeTraces(b *testing.B) {
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), translatedConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Shutdown(context.Background()) }()
	td := gatewayBatch()
	_ = c.ConsumeTraces(context.Background(), td)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = c.ConsumeTraces(context.Background(), td)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*td.SpanCount()), "ns/span")
}

// BenchmarkResourceChurn is one more resource than the 1000 kept, sending
// in turn (1001 gateway replicas, each with its service.instance.id): every
// batch revives an evicted resource and evicts the least recently seen one.
func BenchmarkResourceChurn(b *testing.B) {
	c, err := NewFactory().CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), translatedConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Shutdown(context.Background()) }()
	batches := make([]ptrace.Traces, resourceLimit+1)
	for i := range batches {
		batches[i] = gatewaydata.NewTraces("krakend", uint64(i), gatewaydata.DefaultRequest)
		batches[i].ResourceSpans().At(0).Resource().Attributes().PutStr("service.instance.id", fmt.Sprint("replica-", i))
		batches[i].MarkReadOnly()
		_ = c.ConsumeTraces(context.Background(), batches[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		_ = c.ConsumeTraces(context.Background(), batches[i%len(batches)])
	}
}
