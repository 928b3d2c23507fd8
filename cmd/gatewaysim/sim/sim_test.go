package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func startReceiver(t *testing.T) (string, *consumertest.TracesSink, *consumertest.MetricsSink) {
	addr := freeAddr(t)
	traces, metrics := new(consumertest.TracesSink), new(consumertest.MetricsSink)
	f := gatewayreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*gatewayreceiver.Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = addr
	set := receivertest.NewNopSettings(f.Type())
	tr, err := f.CreateTraces(context.Background(), set, cfg, traces)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(context.Background(), set, cfg, metrics)
	require.NoError(t, err)
	for _, c := range []component.Component{tr, mr} {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	}
	t.Cleanup(func() {
		for _, c := range []component.Component{tr, mr} {
			assert.NoError(t, c.Shutdown(context.Background()))
		}
	})
	return addr, traces, metrics
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestTheTruthFileMatchesWhatTheReceiverGot(t *testing.T) {
	addr, traces, metrics := startReceiver(t)
	var out syncBuffer
	truth, err := sim.Run(context.Background(), sim.Config{
		Endpoint: addr, Requests: 300, Endpoints: 3, Backends: 2,
		ErrorRate: 0.05, TimeoutRate: 0.02, BackendTimeout: 20 * time.Millisecond,
		SampleRate: 0.5, Service: "sim-gw", Instance: "sim-1", Workers: 8, Seed: 7,
		Progress: &out,
	})
	require.NoError(t, err)
	assert.Contains(t, out.String(), "summary: requests=300")

	path := filepath.Join(t.TempDir(), "truth.json")
	require.NoError(t, truth.WriteFile(path))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var file sim.Truth
	require.NoError(t, json.Unmarshal(raw, &file))

	assert.Equal(t, int64(300), file.Requests)
	assert.Positive(t, file.Errors, "errors and timeouts happened")
	assert.Less(t, len(file.Traces), 300, "at 0.5 some traces are not sampled")
	assert.Positive(t, len(file.Traces))

	require.Eventually(t, func() bool { return int64(traces.SpanCount()) == file.Spans }, 10*time.Second, 20*time.Millisecond)
	got := map[string]map[string]int{}
	for _, td := range traces.AllTraces() {
		for i := 0; i < td.ResourceSpans().Len(); i++ {
			rs := td.ResourceSpans().At(i)
			id, _ := rs.Resource().Attributes().Get("service.instance.id")
			assert.Equal(t, "sim-1", id.Str())
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					c := layer.ClassifySpan(s).String()
					tid := s.TraceID().String()
					if got[tid] == nil {
						got[tid] = map[string]int{}
					}
					got[tid][c]++
				}
			}
		}
	}
	assert.Equal(t, file.Traces, got, "spans per layer and per trace")

	// Every request is counted once by the global layer's duration histogram.
	require.Eventually(t, func() bool { return metrics.DataPointCount() > 0 }, 10*time.Second, 20*time.Millisecond)
	perRoute := map[string]map[string]int64{}
	all := metrics.AllMetrics()
	last := all[len(all)-1] // cumulative: the final flush holds every count
	rms := last.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				assert.NotEqual(t, layer.Unclassified, layer.ClassifyMetric(sms.At(j).Scope().Name(), m), m.Name())
				if m.Name() == "http.client.duration" {
					// KrakenD's clientname is the backend's pattern
					// (krakend-otel lura/backend.go:121).
					dps := m.Histogram().DataPoints()
					for d := 0; d < dps.Len(); d++ {
						route, _ := dps.At(d).Attributes().Get("http.route")
						client, _ := dps.At(d).Attributes().Get("clientname")
						assert.Equal(t, route.Str(), client.Str(), "clientname")
					}
				}
				if m.Name() != "http.server.duration" || m.Type() != pmetric.MetricTypeHistogram {
					continue
				}
				dps := m.Histogram().DataPoints()
				for d := 0; d < dps.Len(); d++ {
					route, _ := dps.At(d).Attributes().Get("http.route")
					status, _ := dps.At(d).Attributes().Get("http.response.status_code")
					if perRoute[route.Str()] == nil {
						perRoute[route.Str()] = map[string]int64{}
					}
					perRoute[route.Str()][fmt.Sprint(status.Int())] += int64(dps.At(d).Count())
				}
			}
		}
	}
	assert.Equal(t, file.RequestsPerEndpoint, perRoute, "requests per endpoint and status")
}

// Requests from a caller that sampled them carry its traceparent: the
// gateway's parent-based sampler keeps every one of those traces, under
// the caller's trace ID and parent span, and samples its own at the rate.
func TestCallersSampledTracesAreAllKept(t *testing.T) {
	addr, traces, _ := startReceiver(t)
	const requests = 400
	truth, err := sim.Run(context.Background(), sim.Config{
		Endpoint: addr, Requests: requests, Endpoints: 2, Backends: 1,
		SampleRate: 0.1, CallerSampled: 0.5, Service: "sim-gw", Workers: 8, Seed: 11,
	})
	require.NoError(t, err)
	require.Greater(t, len(truth.CallerTraces), requests/4, "about half the requests come from a caller")
	for id := range truth.CallerTraces {
		assert.NotEmpty(t, truth.Traces[id], "caller trace %s kept by the gateway", id)
	}
	own := len(truth.Traces) - len(truth.CallerTraces)
	assert.Less(t, own, (requests-len(truth.CallerTraces))/2, "the gateway's own traces are sampled at 10 %%")

	withCaller := map[string]bool{}
	require.Eventually(t, func() bool {
		for _, td := range traces.AllTraces() {
			for i := 0; i < td.ResourceSpans().Len(); i++ {
				ss := td.ResourceSpans().At(i).ScopeSpans()
				for j := 0; j < ss.Len(); j++ {
					spans := ss.At(j).Spans()
					for k := 0; k < spans.Len(); k++ {
						s := spans.At(k)
						if layer.ClassifySpan(s) == layer.GlobalStage && !s.ParentSpanID().IsEmpty() {
							withCaller[s.TraceID().String()] = true
						}
					}
				}
			}
		}
		return len(withCaller) == len(truth.CallerTraces)
	}, 20*time.Second, 200*time.Millisecond)
	for id := range withCaller {
		assert.True(t, truth.CallerTraces[id], "a global span with a parent belongs to a caller's trace: %s", id)
	}
}
