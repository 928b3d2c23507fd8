package integration

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
)

// datadogStats decodes every APM stats payload (StatsPayload, msgpack,
// gzip) the exporter posted.
func datadogStats(t *testing.T, fake *fakeService) []*pb.ClientGroupedStats {
	t.Helper()
	var out []*pb.ClientGroupedStats
	for _, r := range fake.requests("/api/v0.2/stats") {
		require.Equal(t, "application/msgpack", r.Header.Get("Content-Type"))
		var p pb.StatsPayload
		_, err := p.UnmarshalMsg(r.Body)
		require.NoError(t, err, "StatsPayload")
		for _, c := range p.Stats {
			for _, b := range c.Stats {
				out = append(out, b.Stats...)
			}
		}
	}
	return out
}

// serverHits sums the hits and errors of the gateway's request spans.
func serverHits(stats []*pb.ClientGroupedStats, service string) (hits, errors uint64) {
	for _, s := range stats {
		if s.Service == service && s.SpanKind == "server" {
			hits += s.Hits
			errors += s.Errors
		}
	}
	return hits, errors
}

// runSimulatedGateway sends requests through the simulator to addr; the
// simulated gateway keeps every trace, so the collector does the sampling.
func runSimulatedGateway(t *testing.T, addr, service string, requests int) *sim.Truth {
	t.Helper()
	truth, err := sim.Run(context.Background(), sim.Config{
		Endpoint: addr, Requests: requests, Rate: 500,
		Endpoints: 2, Backends: 1, ErrorRate: 0.05, Service: service, Instance: "replica-a", Seed: 11,
		SampleRate: 1,
	})
	require.NoError(t, err)
	require.Equal(t, int64(requests), truth.Requests)
	return truth
}

// assertTrueHitsAndSampledTraces waits for Datadog's stats to count every
// request, then checks that only about tenth of the traces, each whole, was
// sent.
func assertTrueHitsAndSampledTraces(t *testing.T, fake *fakeService, service string, truth *sim.Truth, rate float64) {
	t.Helper()
	requests := uint64(truth.Requests)
	var hits uint64
	require.Eventually(t, func() bool {
		hits, _ = serverHits(datadogStats(t, fake), service)
		return hits >= requests
	}, 60*time.Second, 500*time.Millisecond, "Datadog's stats count every request; hits %d of %d (paths %v)", hits, requests, fake.paths())
	// a last bucket may still be on its way: wait one interval and count again
	time.Sleep(3 * time.Second)
	hits, errors := serverHits(datadogStats(t, fake), service)
	assert.Equal(t, requests, hits, "hits of the gateway's request span: every request, not the sampled ones")
	// the layer filter's destination names flag a 5xx as an error
	require.Positive(t, truth.Errors)
	assert.Equal(t, uint64(truth.Errors), errors, "errors: every 5xx request")

	traces := map[uint64]int{}
	require.Eventually(t, func() bool {
		clear(traces)
		for _, s := range datadogSpans(t, fake) {
			traces[s.TraceID]++
		}
		return len(traces) > 0
	}, 30*time.Second, 500*time.Millisecond)
	time.Sleep(6 * time.Second) // the trace writer flushes every few seconds
	clear(traces)
	for _, s := range datadogSpans(t, fake) {
		traces[s.TraceID]++
	}
	n := float64(truth.Requests)
	sd := math.Sqrt(n * rate * (1 - rate))
	assert.InDelta(t, n*rate, float64(len(traces)), 5*sd, "sampled traces at Datadog (binomial bound, 5 sd)")
	assert.Less(t, len(traces), int(truth.Requests)/2, "traces are sampled")
	perTrace := map[uint64]int{}
	for id, spans := range truth.Traces {
		perTrace[datadogTraceID(id)] = sumInts(spans)
	}
	for id, got := range traces {
		assert.Equal(t, perTrace[id], got, "trace %x arrives whole", id)
	}
}

// TestDatadogHitCountsAreTrueAtTenPercentSampling: with Datadog added to a
// krakend.json that samples 10 %, Datadog's APM stats count every request
// (they come from the datadog connector before the sampler) while about
// 10 % of the traces are sent. Datadog comes from the overlay (a second
// pipeline through the layer filter for the stats), from the translation's
// datadog destination (the stats in traces/in, one pass), or from both,
// whose repeated pipelines the collector removes so that every hit counts
// once.
func TestDatadogHitCountsAreTrueAtTenPercentSampling(t *testing.T) {
	for name, c := range map[string]struct{ overlay, destination bool }{
		"overlay":                 {overlay: true},
		"destination":             {destination: true},
		"overlay and destination": {overlay: true, destination: true},
	} {
		t.Run(name, func(t *testing.T) {
			fake := startFakeDatadog(t)
			setDatadogEnv(t, fake)
			grpcPort, healthPort := freePort(t), freePort(t)
			t.Setenv("TEST_HEALTH_CHECK_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", healthPort))
			service := "dd-sampled-gateway-" + strings.ReplaceAll(name, " ", "-")
			krakendJSON := fmt.Sprintf(`{
  "version": 3,
  "name": %q,
  "extra_config": {
    "telemetry/opentelemetry": {
      "service_name": %q,
      "trace_sample_rate": 0.1,
      "exporters": {"otlp": [{"name": "collector", "host": "localhost", "port": %d}]}
    }
  }
}`, service, service, grpcPort)
			path := filepath.Join(t.TempDir(), "krakend.json")
			require.NoError(t, os.WriteFile(path, []byte(krakendJSON), 0o600))
			uri := "krakend:" + path
			if c.destination {
				uri += "?destination=datadog"
			}
			args := []string{"--config", uri}
			if c.overlay {
				args = append(args, "--config", "../config/overlays/datadog.yaml")
			}
			col := startCollector(t, append(args, "--config", "testdata/datadog-local.yaml",
				"--config", "testdata/datadog-stats-fast.yaml", "--config", "testdata/test-ports.yaml")...)
			waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), http.StatusOK)

			truth := runSimulatedGateway(t, fmt.Sprintf("127.0.0.1:%d", grpcPort), service, 400)
			assertTrueHitsAndSampledTraces(t, fake, service, truth, 0.1)
			removed := strings.Count(col.logText(), "the collector would hand the same data twice to the same exporters")
			if c.overlay && c.destination {
				assert.Equal(t, 2, removed, "the overlay's traces/datadog_stats and metrics/datadog are removed, each with a warning")
			} else {
				assert.Zero(t, removed)
			}
		})
	}
}

// TestDatadogOverlayAndDestinationOnAnUnsampledFileCountOnce: a krakend.json
// that does not sample puts the destination's stats after its sampler, where
// the overlay's stop before it; the collector takes the stats out of the
// translated pipeline, and every request is one hit.
func TestDatadogOverlayAndDestinationOnAnUnsampledFileCountOnce(t *testing.T) {
	fake := startFakeDatadog(t)
	setDatadogEnv(t, fake)
	grpcPort, healthPort := freePort(t), freePort(t)
	t.Setenv("TEST_HEALTH_CHECK_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", healthPort))
	const service = "dd-unsampled-overlay-and-destination"
	krakendJSON := fmt.Sprintf(`{
  "version": 3,
  "extra_config": {
    "telemetry/opentelemetry": {
      "service_name": %q,
      "exporters": {"otlp": [{"name": "collector", "host": "localhost", "port": %d}]}
    }
  }
}`, service, grpcPort)
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(krakendJSON), 0o600))
	col := startCollector(t, "--config", "krakend:"+path+"?destination=datadog", "--config", "../config/overlays/datadog.yaml",
		"--config", "testdata/datadog-local.yaml", "--config", "testdata/datadog-stats-fast.yaml", "--config", "testdata/test-ports.yaml")
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), http.StatusOK)

	truth := runSimulatedGateway(t, fmt.Sprintf("127.0.0.1:%d", grpcPort), service, 200)
	requests := uint64(truth.Requests)
	var hits uint64
	require.Eventually(t, func() bool {
		hits, _ = serverHits(datadogStats(t, fake), service)
		return hits >= requests
	}, 60*time.Second, 500*time.Millisecond, "hits %d of %d", hits, requests)
	time.Sleep(3 * time.Second) // a last bucket may still be on its way
	hits, _ = serverHits(datadogStats(t, fake), service)
	assert.Equal(t, requests, hits, "every request counted once")
	log := col.logText()
	assert.True(t, strings.Contains(log, "exporters removed from one pipeline") && strings.Contains(log, `"from": "traces"`),
		"the converter's warning names the translated traces pipeline")
}

// TestDatadogFromOpenCensusConfigCountsEveryRequest: a krakend.json whose
// OpenCensus exporters name Datadog translates to the datadog connector
// before the sampler (no overlay): true hit counts at the file's 10 %.
func TestDatadogFromOpenCensusConfigCountsEveryRequest(t *testing.T) {
	fake := startFakeDatadog(t)
	setDatadogEnv(t, fake)
	grpcPort, healthPort := freePort(t), freePort(t)
	t.Setenv("TEST_HEALTH_CHECK_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", healthPort))
	t.Setenv("TEST_GRPC_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", grpcPort))
	t.Setenv("TEST_HTTP_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	const service = "dd-opencensus-gateway"
	startCollector(t, "--config", "krakend:../config/translate/testdata/opencensus-datadog.krakend.json",
		"--config", "testdata/datadog-local.yaml", "--config", "testdata/datadog-stats-fast.yaml",
		"--config", "testdata/test-receiver.yaml", "--config", "testdata/test-ports.yaml")
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), http.StatusOK)

	truth := runSimulatedGateway(t, fmt.Sprintf("127.0.0.1:%d", grpcPort), service, 400)
	assertTrueHitsAndSampledTraces(t, fake, service, truth, 0.1)
}
