package gatewayreceiver

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/otlpdecode"
)

// nest makes m hold a map holding a map ... levels deep (three protobuf
// messages per level).
func nest(m pcommon.Map, levels int) {
	for range levels {
		m = m.PutEmptyMap("k")
	}
	m.PutStr("k", "leaf")
}

// nestedRequests are export requests of each signal with one value nested
// levels deep: in a span's attributes, a data point's, a log's body.
func nestedRequests(t *testing.T, levels int) map[string][]byte {
	t.Helper()
	td := ptrace.NewTraces()
	nest(td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes(), levels)
	traces, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)

	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("krakend.router.duration")
	nest(m.SetEmptyGauge().DataPoints().AppendEmpty().Attributes(), levels)
	metrics, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)

	ld := plog.NewLogs()
	nest(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetEmptyMap(), levels)
	logs, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	return map[string][]byte{"traces": traces, "metrics": metrics, "logs": logs}
}

// pdata's decoder recurses without limit: nested deep enough, a request
// overflowed its goroutine's stack, which ends the process. The receiver
// refuses one nested past otlpdecode.MaxNesting, on both transports, as a
// malformed request, and keeps serving.
func TestARequestNestedTooDeepIsRefusedAndTheReceiverKeepsServing(t *testing.T) {
	h := startReceiver(t, nil, func(c *Config) { c.Protocols.HTTP.Get().ServerConfig.MaxRequestBodySize = 4 << 20 })
	tooDeep := nestedRequests(t, otlpdecode.MaxNesting/3+1)
	deepEnough := nestedRequests(t, 100) // past the receiver's own decoder: pdata's

	for signal, body := range tooDeep {
		resp, reply := postOTLP(t, "http://"+h.httpAddr+"/v1/"+signal, "application/x-protobuf", "", body)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s: %s", signal, reply)
		assert.Contains(t, string(reply), "nested more than 10000 deep", signal)

		resp, reply = postOTLP(t, "http://"+h.httpAddr+"/v1/"+signal, "application/x-protobuf", "", deepEnough[signal])
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", signal, reply)
	}

	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	methods := map[string]string{"traces": traceExportMethod, "metrics": metricExportMethod, "logs": logExportMethod}
	for signal, body := range tooDeep {
		req := rawMessage(body)
		err := conn.Invoke(context.Background(), methods[signal], &req, new(rawMessage), grpc.ForceCodec(rawCodec{}))
		assert.Equal(t, codes.InvalidArgument, status.Code(err), "%s: %v", signal, err)
		assert.Contains(t, status.Convert(err).Message(), "nested more than 10000 deep", signal)
	}

	// what was nested within the limit arrived whole
	require.Equal(t, 1, h.traces.SpanCount())
	v, ok := h.traces.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("k")
	require.True(t, ok)
	depth := 0
	for ; v.Type() == pcommon.ValueTypeMap; depth++ {
		v, _ = v.Map().Get("k")
	}
	assert.Equal(t, 100, depth)
	assert.Equal(t, 1, h.metrics.DataPointCount())
	assert.Equal(t, 1, h.logs.LogRecordCount())

	assert.Equal(t, map[string]int64{"traces malformed": 2, "metrics malformed": 2, "logs malformed": 2}, refusedCounts(t, h, "signal", "reason"))
}
