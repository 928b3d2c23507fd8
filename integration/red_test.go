package integration

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
)

// TestRequestMetricsAreExactAtTenPercentSampling: the translated
// configuration counts requests from every span before the sampler, so at
// 10 % sampling the counts at the destination equal what the gateway served,
// while about 10 % of the traces (each whole) reach the trace destination.
func TestRequestMetricsAreExactAtTenPercentSampling(t *testing.T) {
	sink, grpcPort, promPort := startREDCollector(t)
	const requests = 1000
	truth, err := sim.Run(context.Background(), sim.Config{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", grpcPort), Requests: requests, Rate: 500,
		Endpoints: 2, Backends: 1, ErrorRate: 0.05, Service: "orders-gateway", Instance: "replica-a", Seed: 7,
		// This gateway keeps every trace (a Go gateway set to 1 against this
		// file): the collector samples, and the request metrics see that it
		// does not sample (it starts traces the rule drops): 1:1.
		SampleRate: 1,
	})
	require.NoError(t, err)
	require.Equal(t, int64(requests), truth.Requests)

	var calls map[string]float64
	require.Eventually(t, func() bool {
		calls = sumByLabel(getBody(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)),
			"gateway_spans_calls_total", `krakend_stage="global"`, "http_route")
		total := 0.0
		for _, v := range calls {
			total += v
		}
		return total == requests
	}, 90*time.Second, time.Second, "the span-derived request count reaches %d (got %v)", requests, calls)
	for route, statuses := range truth.RequestsPerEndpoint {
		var want int64
		for _, n := range statuses {
			want += n
		}
		assert.Equal(t, float64(want), calls[route], "requests of %s", route)
	}

	// Traces: about 10 %, each whole. The span-derived count can be complete
	// while the trace exporter's queue still holds the last batch, which may
	// carry the rest of a trace: wait until what arrived is whole.
	traces := map[string]int{}
	require.Eventually(t, func() bool {
		for k := range traces {
			delete(traces, k)
		}
		for _, s := range sink.spans() {
			traces[s.TraceID().String()]++
		}
		for id, n := range traces {
			if n != sumInts(truth.Traces[id]) {
				return false
			}
		}
		return len(traces) > 0
	}, 30*time.Second, 500*time.Millisecond, "sampled traces arrive, each whole")
	// Binomial bound: 5 standard deviations of Bin(1000, 0.1) around 100.
	sd := math.Sqrt(requests * 0.1 * 0.9)
	assert.InDelta(t, 100, len(traces), 5*sd, "sampled traces")
	for id, n := range traces {
		assert.Equal(t, sumInts(truth.Traces[id]), n, "trace %s arrives whole", id)
	}
}

// startREDCollector starts the collector on a krakend.json that samples 10 %
// of traces, with its Prometheus exporter and a trace sink.
func startREDCollector(t *testing.T) (sink *otlpSink, grpcPort, promPort int) {
	t.Helper()
	requirePortsFree(t, 13133, 8888)
	sink, sinkAddr := startOTLPSink(t)
	grpcPort, promPort = freePort(t), freePort(t)
	krakendJSON := fmt.Sprintf(`{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "trace_sample_rate": 0.1,
      "exporters": {
        "otlp": [{"name": "collector", "host": "localhost", "port": %d}],
        "prometheus": [{"name": "prom", "port": %d, "listen_ip": "127.0.0.1"}]
      }
    }
  }
}`, grpcPort, promPort)
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(krakendJSON), 0o600))
	t.Setenv("TEMPO_ENDPOINT", sinkAddr)
	startCollector(t, "--config", "krakend:"+path, "--config", "../config/overlays/tempo.yaml")
	waitHTTP(t, "http://127.0.0.1:13133/", http.StatusOK)
	return sink, grpcPort, promPort
}

// TestRequestMetricsWeighTheGatewaysOwnSampleBack: a KrakenD that runs the
// same krakend.json samples 10 % of its traces before the collector sees
// them; each span of a trace it kept stands for 10 requests.
func TestRequestMetricsWeighTheGatewaysOwnSampleBack(t *testing.T) {
	_, grpcPort, promPort := startREDCollector(t)
	const requests = 3000
	truth, err := sim.Run(context.Background(), sim.Config{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", grpcPort), Requests: requests, Rate: 1000,
		Endpoints: 2, Backends: 1, ErrorRate: 0.05, Service: "orders-gateway", Instance: "replica-a", Seed: 11,
		SampleRate: 0.1, // as KrakenD samples with this file
	})
	require.NoError(t, err)
	kept := len(truth.Traces)
	require.Positive(t, kept)
	require.Less(t, kept, requests/5, "the simulated gateway sampled")

	total := 0.0
	require.Eventually(t, func() bool {
		total = 0
		for _, v := range sumByLabel(getBody(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort)),
			"gateway_spans_calls_total", `krakend_stage="global"`, "http_route") {
			total += v
		}
		return total == float64(10*kept)
	}, 90*time.Second, time.Second, "each of the %d traces the gateway kept counts 10 requests (got %v)", kept, total)
	// Binomial bound: 5 standard deviations of 10·Bin(3000, 0.1) around 3000.
	assert.InDelta(t, requests, total, 5*10*math.Sqrt(requests*0.1*0.9), "the weighted count estimates the requests served")
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// sumByLabel sums the samples of one metric whose labels contain filter,
// grouped by the value of label.
func sumByLabel(exposition, metric, filter, label string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, metric+"{") || !strings.Contains(line, filter) {
			continue
		}
		end := strings.LastIndex(line, "}")
		labels, value := line[len(metric)+1:end], strings.TrimSpace(line[end+1:])
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			continue
		}
		key := ""
		if i := strings.Index(labels, label+`="`); i >= 0 {
			rest := labels[i+len(label)+2:]
			key = rest[:strings.Index(rest, `"`)]
		}
		out[key] += v
	}
	return out
}

// otlpMetricsSink is a stand-in for an OTLP destination of traces and
// metrics (Mimir and Tempo behind one endpoint): it keeps what it receives.
type otlpMetricsSink struct {
	pmetricotlp.UnimplementedGRPCServer
	mu      sync.Mutex
	metrics []pmetric.Metrics
}

func (s *otlpMetricsSink) Export(_ context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md := pmetric.NewMetrics()
	req.Metrics().CopyTo(md)
	s.mu.Lock()
	s.metrics = append(s.metrics, md)
	s.mu.Unlock()
	return pmetricotlp.NewExportResponse(), nil
}

// globalCalls is the latest value of every global-stage calls series of
// the request metrics received, added up (cumulative sums: the latest point
// of a series holds its count).
func (s *otlpMetricsSink) globalCalls() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	latest := map[string]int64{}
	for _, md := range s.metrics {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "gateway.spans.calls" || m.Type() != pmetric.MetricTypeSum {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						if stage, ok := dp.Attributes().Get("krakend.stage"); !ok || stage.Str() != "global" {
							continue
						}
						key := ""
						for k, v := range dp.Attributes().All() {
							key += k + "=" + v.AsString() + " "
						}
						latest[key] = dp.IntValue()
					}
				}
			}
		}
	}
	var n int64
	for _, v := range latest {
		n += v
	}
	return n
}

// TestRequestMetricsCountedUpToShutdown: the requests of the last moments
// before SIGTERM, counted by the requestmetrics processor before the
// sampler, reach the destination in the connector's last emission: the
// collector shuts the connector down after the processor and the sampler.
// The flush interval (15 s) is longer than the test, so only that last
// emission can carry the counts.
func TestRequestMetricsCountedUpToShutdown(t *testing.T) {
	requirePortsFree(t, 13133, 8888)
	// not 127.0.0.1, which the translation takes for this collector
	ln, err := net.Listen("tcp", sinkHost+":0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	sink := &otlpMetricsSink{}
	pmetricotlp.RegisterGRPCServer(srv, sink)
	ptraceotlp.RegisterGRPCServer(srv, &otlpSink{})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	sinkPort := ln.Addr().(*net.TCPAddr).Port

	grpcPort := freePort(t)
	krakendJSON := fmt.Sprintf(`{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "trace_sample_rate": 0.1,
      "exporters": {
        "otlp": [
          {"name": "collector", "host": "localhost", "port": %d},
          {"name": "destination", "host": "%s", "port": %d}
        ]
      }
    }
  }
}`, grpcPort, sinkHost, sinkPort)
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(krakendJSON), 0o600))
	printed := printedPipelines(t, path, "")
	require.Contains(t, printed["traces"], "requestmetrics", "the translation counts inline: %v", printed)
	c := startCollector(t, "--config", "krakend:"+path)
	waitHTTP(t, "http://127.0.0.1:13133/", http.StatusOK)

	const requests = 300
	started := time.Now()
	truth, err := sim.Run(context.Background(), sim.Config{
		Endpoint: fmt.Sprintf("127.0.0.1:%d", grpcPort), Requests: requests, Rate: 1000,
		Endpoints: 2, Backends: 1, Service: "orders-gateway", Instance: "replica-a", Seed: 13,
		SampleRate: 1, // the collector samples; each span counts 1
	})
	require.NoError(t, err)
	require.Equal(t, int64(requests), truth.Requests)
	before := sink.globalCalls()
	took, exitErr := signalAndWait(t, c, syscall.SIGTERM, drainBound)
	require.NoError(t, exitErr)
	figure(t, "%d requests sent in %s after start; %d counted at the destination before SIGTERM; exit %s after it",
		requests, time.Since(started).Round(100*time.Millisecond), before, took.Round(100*time.Millisecond))
	assert.Equal(t, int64(requests), sink.globalCalls(), "every request counted, in the last emission at shutdown")
}
