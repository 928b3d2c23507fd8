package integration

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
)

// KrakenD's sampler is parent-based: at trace_sample_rate 0.25 it keeps a
// quarter of the traces it starts and every trace a caller sampled. The
// translation's collector samples again by the trace ID, so callers' traces
// lose the gateway's spans unless it leaves sampling to the gateway
// (?sampling=gateway), which then delivers every trace the gateway kept,
// whole.
func TestCallersSampledTracesAndSamplingAtTheGateway(t *testing.T) {
	requirePortsFree(t, 13133, 8888)
	grpcPort := freePort(t)
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`{"version": 3, "name": "edge",
  "extra_config": {"telemetry/opentelemetry": {"trace_sample_rate": 0.25,
    "exporters": {"otlp": [{"name": "collector", "host": "localhost", "port": %d}]}}}}`, grpcPort)), 0o600))
	rule := sdktrace.TraceIDRatioBased(0.25)
	keptByRule := func(id string) bool {
		var tid trace.TraceID
		b, err := hex.DecodeString(id)
		require.NoError(t, err)
		copy(tid[:], b)
		return rule.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: tid}).Decision == sdktrace.RecordAndSample
	}

	// run sends 400 requests, half from callers that sampled them, and
	// waits for the spans of the traces the collector should keep.
	run := func(t *testing.T, uri string, seed uint64, collectorSamples bool) (*sim.Truth, map[string]int, *collector) {
		sink, sinkAddr := startOTLPSink(t)
		t.Setenv("TEMPO_ENDPOINT", sinkAddr)
		c := startCollector(t, "--config", uri, "--config", "../config/overlays/tempo.yaml")
		waitHTTP(t, "http://127.0.0.1:13133/", http.StatusOK)
		truth, err := sim.Run(context.Background(), sim.Config{
			Endpoint: fmt.Sprintf("127.0.0.1:%d", grpcPort), Requests: 400, Rate: 400, Endpoints: 2, Backends: 1,
			SampleRate: 0.25, CallerSampled: 0.5, Service: "edge", Instance: "replica-a", Seed: seed,
		})
		require.NoError(t, err)
		want := 0
		for id, classes := range truth.Traces {
			if !collectorSamples || keptByRule(id) {
				want += sumInts(classes)
			}
		}
		require.Eventually(t, func() bool { return len(sink.spans()) >= want }, 60*time.Second, 200*time.Millisecond,
			"%d spans reach the trace destination", want)
		time.Sleep(2 * time.Second) // nothing more arrives, longer than the sampler's 1-s batch
		got := map[string]int{}
		for _, s := range sink.spans() {
			got[s.TraceID().String()]++
		}
		c.stop(t)
		return truth, got, c
	}

	t.Run("by default the collector samples callers' traces again", func(t *testing.T) {
		truth, got, c := run(t, "krakend:"+path, 5, true)
		lostCallers := 0
		for id, classes := range truth.Traces {
			if keptByRule(id) {
				assert.Equal(t, sumInts(classes), got[id], "trace %s, kept by the rule, arrives whole", id)
				continue
			}
			assert.Zero(t, got[id], "trace %s is dropped whole", id)
			require.True(t, truth.CallerTraces[id], "the gateway kept %s only because a caller had sampled it", id)
			lostCallers++
		}
		assert.Greater(t, lostCallers, len(truth.CallerTraces)/2, "about three in four callers' traces lose the gateway's spans")
		assert.Contains(t, c.logText(), "parent-based", "the start-up warning says so")
	})
	t.Run("sampling=gateway: every trace the gateway kept arrives whole", func(t *testing.T) {
		truth, got, c := run(t, "krakend:"+path+"?sampling=gateway", 6, false)
		require.NotEmpty(t, truth.CallerTraces)
		assert.Len(t, got, len(truth.Traces))
		for id, classes := range truth.Traces {
			assert.Equal(t, sumInts(classes), got[id], "trace %s arrives whole", id)
		}
		assert.NotContains(t, c.logText(), "parent-based")
	})
}
