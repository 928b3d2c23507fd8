package gatewayotel_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startGatewayReceiver starts a real gateway receiver on free loopback ports.
func startGatewayReceiver(t *testing.T) (grpcPort, httpPort int, traces *consumertest.TracesSink, metrics *consumertest.MetricsSink) {
	t.Helper()
	grpcPort, httpPort = freePort(t), freePort(t)
	traces, metrics = new(consumertest.TracesSink), new(consumertest.MetricsSink)
	f := gatewayreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*gatewayreceiver.Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", grpcPort)
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = fmt.Sprintf("127.0.0.1:%d", httpPort)
	set := receivertest.NewNopSettings(f.Type())
	ctx := context.Background()
	tr, err := f.CreateTraces(ctx, set, cfg, traces)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(ctx, set, cfg, metrics)
	require.NoError(t, err)
	for _, c := range []component.Component{tr, mr} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	t.Cleanup(func() {
		for _, c := range []component.Component{tr, mr} {
			assert.NoError(t, c.Shutdown(context.Background()))
		}
	})
	return grpcPort, httpPort, traces, metrics
}

func TestTelemetryArrivesClassifiedAtARealGatewayReceiver(t *testing.T) {
	for _, useHTTP := range []bool{false, true} {
		t.Run(map[bool]string{false: "grpc", true: "http"}[useHTTP], func(t *testing.T) {
			grpcPort, httpPort, traces, metrics := startGatewayReceiver(t)
			port := grpcPort
			if useHTTP {
				port = httpPort
			}
			ns := fmt.Sprintf(`{"service_name": "e2e-gw", "exporters": {"otlp": [{"name": "collector", "host": "127.0.0.1", "port": %d, "use_http": %t}]}}`, port, useHTTP)
			cfg := parse(t, krakendJSON(ns, ""))
			tel, shutdown, err := gatewayotel.Setup(context.Background(), cfg.OpenTelemetry, gatewayotel.WithInstanceID("gw-1"))
			require.NoError(t, err)
			g := newGateway(t, tel, nil)
			const requests = 3
			for range requests {
				require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, shutdown(ctx), "shutdown flushes both providers")

			require.Eventually(t, func() bool { return traces.SpanCount() == 5*requests }, 10*time.Second, 20*time.Millisecond)
			perClass := map[layer.Class]int{}
			for _, td := range traces.AllTraces() {
				for i := 0; i < td.ResourceSpans().Len(); i++ {
					rs := td.ResourceSpans().At(i)
					name, _ := rs.Resource().Attributes().Get("service.name")
					assert.Equal(t, "e2e-gw", name.Str())
					id, _ := rs.Resource().Attributes().Get("service.instance.id")
					assert.Equal(t, "gw-1", id.Str())
					assert.Equal(t, gatewayotel.SchemaURL, rs.SchemaUrl())
					for j := 0; j < rs.ScopeSpans().Len(); j++ {
						ss := rs.ScopeSpans().At(j)
						assert.Equal(t, layer.ScopeName, ss.Scope().Name())
						for k := 0; k < ss.Spans().Len(); k++ {
							perClass[layer.ClassifySpan(ss.Spans().At(k))]++
						}
					}
				}
			}
			assert.Equal(t, map[layer.Class]int{
				layer.GlobalStage: requests, layer.ProxyStage: requests, layer.BackendStage: requests,
				layer.BackendRoundTrip: requests, layer.BackendReadPayload: requests,
			}, perClass)

			require.Eventually(t, func() bool { return metrics.DataPointCount() > 0 }, 10*time.Second, 20*time.Millisecond)
			seen := map[string]bool{}
			for _, md := range metrics.AllMetrics() {
				for i := 0; i < md.ResourceMetrics().Len(); i++ {
					sms := md.ResourceMetrics().At(i).ScopeMetrics()
					for j := 0; j < sms.Len(); j++ {
						sm := sms.At(j)
						for k := 0; k < sm.Metrics().Len(); k++ {
							m := sm.Metrics().At(k)
							c := layer.ClassifyMetric(sm.Scope().Name(), m)
							assert.Equal(t, layer.ClassifyMetricName(m.Name()), c, m.Name())
							assert.NotEqual(t, layer.Unclassified, c, m.Name())
							mark, ok := m.Metadata().Get(layer.MetadataKey)
							assert.True(t, ok, "%s carries the receiver's mark", m.Name())
							assert.Equal(t, c.String(), mark.Str())
							seen[m.Name()] = true
						}
					}
				}
			}
			for _, spec := range gatewaydata.Metrics {
				switch spec.Name {
				case "http.client.request.failed.count", "http.client.request.canceled.count",
					"http.client.request.timedout.count", "http.client.response.no-content-length":
					continue
				}
				assert.True(t, seen[spec.Name], "%s arrived", spec.Name)
			}
		})
	}
}
