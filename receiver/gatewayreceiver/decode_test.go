package gatewayreceiver

import (
	"context"
	"net/http"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// stageKeyData returns where each span's krakend.stage key is stored:
// the receiver's decoder shares one copy, pdata's makes one per span.
func stageKeyData(td ptrace.Traces) map[*byte]int {
	keys := map[*byte]int{}
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		for k := range spans.At(i).Attributes().All() {
			if k == layer.StageKey {
				keys[unsafe.StringData(k)]++
			}
		}
	}
	return keys
}

func TestTraceProtobufIsDecodedByTheReceiversDecoderOnBothTransports(t *testing.T) {
	h := startReceiver(t, nil)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(),
		ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("", 1, gatewaydata.DefaultRequest)))
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", contentTypeProtobuf, "", traceRequestProto(t, 2, ""))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	received := h.traces.AllTraces()
	require.Len(t, received, 2)
	for i, td := range received {
		assert.Len(t, stageKeyData(td), 1, "batch %d: the spans share one copy of the key", i)
		assert.Equal(t, 5, td.SpanCount())
	}
}

// A request the receiver's decoder leaves to pdata's (a field it does not
// know) is received all the same.
func TestATraceRequestWithAnUnknownFieldIsDecodedByPdata(t *testing.T) {
	h := startReceiver(t, nil)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	// Field 99 (varint) at the end of the request: pdata skips it.
	body := rawMessage(append(traceRequestProto(t, 1, ""), 0x98, 0x06, 0x01))
	require.NoError(t, conn.Invoke(context.Background(), traceExportMethod, &body, new(rawMessage), grpc.ForceCodec(rawCodec{})))
	resp, out := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", contentTypeProtobuf, "", body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)

	received := h.traces.AllTraces()
	require.Len(t, received, 2)
	for _, td := range received {
		assert.Equal(t, 5, td.SpanCount())
		assert.Len(t, stageKeyData(td), 5, "pdata's decoder copies the key per span")
	}
}

// methodKeyData returns where each data point's http.request.method key is
// stored, as stageKeyData does for spans.
func methodKeyData(md pmetric.Metrics) map[*byte]int {
	keys := map[*byte]int{}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		var attrs []pcommon.Map
		switch m := ms.At(i); m.Type() {
		case pmetric.MetricTypeSum:
			for j := 0; j < m.Sum().DataPoints().Len(); j++ {
				attrs = append(attrs, m.Sum().DataPoints().At(j).Attributes())
			}
		case pmetric.MetricTypeHistogram:
			for j := 0; j < m.Histogram().DataPoints().Len(); j++ {
				attrs = append(attrs, m.Histogram().DataPoints().At(j).Attributes())
			}
		}
		for _, a := range attrs {
			for k := range a.All() {
				if k == "http.request.method" {
					keys[unsafe.StringData(k)]++
				}
			}
		}
	}
	return keys
}

func gatewayMetricsProto(t *testing.T) []byte {
	body, err := pmetricotlp.NewExportRequestFromMetrics(
		gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest)).MarshalProto()
	require.NoError(t, err)
	return body
}

func TestMetricProtobufIsDecodedByTheReceiversDecoderOnBothTransports(t *testing.T) {
	h := startReceiver(t, nil)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = pmetricotlp.NewGRPCClient(conn).Export(context.Background(),
		pmetricotlp.NewExportRequestFromMetrics(gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest)))
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/metrics", contentTypeProtobuf, "", gatewayMetricsProto(t))
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)

	received := h.metrics.AllMetrics()
	require.Len(t, received, 2)
	for i, md := range received {
		assert.Len(t, methodKeyData(md), 1, "batch %d: the points share one copy of the key", i)
		assert.Equal(t, len(gatewaydata.Metrics), md.DataPointCount())
	}
}

// A metrics request the receiver's decoder leaves to pdata's (a field it
// does not know) is received all the same.
func TestAMetricRequestWithAnUnknownFieldIsDecodedByPdata(t *testing.T) {
	h := startReceiver(t, nil)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	// Field 99 (varint) at the end of the request: pdata skips it.
	body := rawMessage(append(gatewayMetricsProto(t), 0x98, 0x06, 0x01))
	require.NoError(t, conn.Invoke(context.Background(), metricExportMethod, &body, new(rawMessage), grpc.ForceCodec(rawCodec{})))
	resp, out := postOTLP(t, "http://"+h.httpAddr+"/v1/metrics", contentTypeProtobuf, "", body)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)

	received := h.metrics.AllMetrics()
	require.Len(t, received, 2)
	for _, md := range received {
		assert.Equal(t, len(gatewaydata.Metrics), md.DataPointCount())
		assert.Greater(t, len(methodKeyData(md)), 1, "pdata's decoder copies the key per point")
	}
}

// A malformed metrics request is refused on both transports, as pdata
// refuses it.
func TestAMalformedMetricRequestIsRefused(t *testing.T) {
	h := startReceiver(t, nil)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	body := rawMessage(gatewayMetricsProto(t)[:40])
	err = conn.Invoke(context.Background(), metricExportMethod, &body, new(rawMessage), grpc.ForceCodec(rawCodec{}))
	require.Error(t, err)
	resp, out := postOTLP(t, "http://"+h.httpAddr+"/v1/metrics", contentTypeProtobuf, "", body)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s", out)
	assert.Empty(t, h.metrics.AllMetrics())
}
