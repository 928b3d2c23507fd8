package gatewayreceiver

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// gatewayBatch is what a gateway's batch span processor sends: many requests'
// spans in one resource and scope.
func gatewayBatch(requests int) ptrace.Traces {
	td := gatewaydata.NewTraces("gw", 0)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < requests; i++ {
		gatewaydata.AppendRequestSpans(spans, uint64(i), gatewaydata.DefaultRequest)
	}
	return td
}

// BenchmarkEnrichTraces measures the receiver's per-span work on a batch of
// 512 spans that already carry their stage (KrakenD's case): classification,
// counting and resource defaults.
func BenchmarkEnrichTraces(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	cfg.ResourceDefaults = map[string]string{"service.name": "x", "deployment.environment": "prod"}
	e, err := newEnricher(cfg, componenttest.NewNopTelemetrySettings())
	require.NoError(b, err)
	td := gatewayBatch(512 / 5)
	spans := td.SpanCount()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		e.enrichTraces(ctx, td)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

func TestEnrichingAKrakenDBatchAllocatesNothingPerSpan(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	e, err := newEnricher(cfg, componenttest.NewNopTelemetrySettings())
	require.NoError(t, err)
	td := gatewayBatch(100)
	e.enrichTraces(context.Background(), td) // first pass may fill resource attributes
	allocs := testing.AllocsPerRun(20, func() { e.enrichTraces(context.Background(), td) })
	// A few allocations per call (the counters), none per span: 500 spans here.
	require.Less(t, allocs, 20.0, "allocations per 500-span batch")
	require.Equal(t, layer.GlobalStage, layer.ClassifySpan(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(4)))
}

// The port changes with every connection; a Unix socket's peer is unnamed
// ("@" or ""), the same for every sender, so it names no instance.
func TestPeerHostNamesTheSendersIPOnly(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 51234}, "10.0.0.7"},
		{&net.TCPAddr{IP: net.ParseIP("fd00::7"), Port: 51234}, "fd00::7"},
		{&net.UnixAddr{Name: "@", Net: "unix"}, ""},
		{&net.UnixAddr{Name: "", Net: "unix"}, ""},
		{nil, ""},
	} {
		ctx := client.NewContext(context.Background(), client.Info{Addr: c.addr})
		require.Equal(t, c.want, peerHost(ctx), "%v", c.addr)
	}
}
