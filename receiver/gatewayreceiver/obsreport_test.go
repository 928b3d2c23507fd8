package gatewayreceiver

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/metadata"
)

// The collector's receiver counters say what the pipeline did with the
// items: refused when the next consumer returned an error, on both
// transports and for every signal. (With the alpha feature gate
// receiverhelper.newReceiverMetrics, an error not marked downstream would
// count as failed instead; the gate is off by default.)
func TestItemsTheNextConsumerRefusesAreCountedRefused(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { assert.NoError(t, tel.Shutdown(context.Background())) })
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = grpcAddr
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = httpAddr
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	refusal := errors.New("queue is full")
	ctx := context.Background()
	tr, err := f.CreateTraces(ctx, set, cfg, consumertest.NewErr(refusal))
	require.NoError(t, err)
	mr, err := f.CreateMetrics(ctx, set, cfg, consumertest.NewErr(refusal))
	require.NoError(t, err)
	lr, err := f.CreateLogs(ctx, set, cfg, consumertest.NewErr(refusal))
	require.NoError(t, err)
	for _, c := range []component.Component{tr, mr, lr} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
		t.Cleanup(func() { assert.NoError(t, c.Shutdown(context.Background())) })
	}

	td := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	md := gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("backend call")
	spans, points, records := int64(td.SpanCount()), int64(md.DataPointCount()), int64(ld.LogRecordCount())

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	require.Error(t, err)
	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
	require.Error(t, err)
	_, err = plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld))
	require.Error(t, err)

	for path, body := range map[string]func() ([]byte, error){
		"/v1/traces":  ptraceotlp.NewExportRequestFromTraces(td).MarshalProto,
		"/v1/metrics": pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto,
		"/v1/logs":    plogotlp.NewExportRequestFromLogs(ld).MarshalProto,
	} {
		b, err := body()
		require.NoError(t, err)
		resp, out := postOTLP(t, "http://"+httpAddr+path, "application/x-protobuf", "", b)
		require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s: %s", path, out)
	}

	for _, transport := range []string{"grpc", "http"} {
		for _, c := range []struct {
			signal, accepted, refused string
			n                         int64
		}{
			{"traces", "otelcol_receiver_accepted_spans", "otelcol_receiver_refused_spans", spans},
			{"metrics", "otelcol_receiver_accepted_metric_points", "otelcol_receiver_refused_metric_points", points},
			{"logs", "otelcol_receiver_accepted_log_records", "otelcol_receiver_refused_log_records", records},
		} {
			assert.Zero(t, receiverCount(t, tel, c.accepted, transport), "%s %s accepted", transport, c.signal)
			assert.Equal(t, c.n, receiverCount(t, tel, c.refused, transport), "%s %s refused", transport, c.signal)
		}
	}
}

// receiverCount sums one of the collector's receiver counters over the
// data points of one transport.
func receiverCount(t *testing.T, tel *componenttest.Telemetry, name, transport string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0 // never recorded
	}
	var n int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		if v, _ := dp.Attributes.Value("transport"); v.AsString() == transport {
			n += dp.Value
		}
	}
	return n
}
