package integration

import (
	byteorder "encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/testbed/testbed"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// The testbed scenarios of issue #6: each destination alone, all five at
// once from one krakend.json, the three configuration namespaces, and the
// layer switches and sampling as the destinations see them. Each runs the
// built binary through the contrib testbed (testbed_harness_test.go), so
// each also records the collector's CPU and RSS against its ResourceSpec.
// Content (names, fields, links) is checked by the destination tests
// (xray_test.go, datadog_test.go, azure_test.go, prometheus_test.go); these
// check counts per layer against the simulator's ground truth.

// testbedLoad is a few seconds of two endpoints with two backends each, 5 %
// backend errors and 2 % timeouts: eight spans a request when nothing
// fails. Long enough for the simulator's 5 s metric export to happen twice
// (Datadog drops the first point of each cumulative series).
func testbedLoad(d time.Duration) sim.Config {
	return sim.Config{Rate: 150, Duration: d, Endpoints: 2, Backends: 2, ErrorRate: 0.05, TimeoutRate: 0.02,
		Service: destinationsService, Instance: "replica-a", Seed: 11, SampleRate: 1}
}

// A gateway that sends to this collector; with a Prometheus exporter of its
// own in promKrakendJSON.
const (
	otlpKrakendJSON = `{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "service_name": "orders-gateway",
      "exporters": {
        "otlp": [{"name": "collector", "host": "localhost", "port": {{GRPC}}}]
      }
    }
  }
}`
	promKrakendJSON = `{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "service_name": "orders-gateway",
      "exporters": {
        "otlp": [{"name": "collector", "host": "localhost", "port": {{GRPC}}}],
        "prometheus": [{"name": "prom", "port": {{PROM}}, "listen_ip": "127.0.0.1"}]
      }
    }
  }
}`
)

var (
	xrayConfigs    = []string{"../config/overlays/xray.yaml", "testdata/xray-local.yaml"}
	datadogConfigs = []string{"../config/overlays/datadog.yaml", "testdata/datadog-local.yaml"}
	azureConfigs   = []string{"../config/overlays/azuremonitor.yaml"}
	tempoConfigs   = []string{"../config/overlays/tempo.yaml"}
)

func TestTestbedEachDestinationAlone(t *testing.T) {
	t.Run("Prometheus", func(t *testing.T) {
		c := startTestbed(t, testbedRun{krakendJSON: promKrakendJSON, prometheus: true, load: testbedLoad(4 * time.Second)})
		assertPrometheusPerLayer(t, c, allClasses)
		c.healthy()
	})
	t.Run("Tempo", func(t *testing.T) {
		c := startTestbed(t, testbedRun{krakendJSON: otlpKrakendJSON, configs: tempoConfigs, tempo: true, load: testbedLoad(4 * time.Second)})
		assertTempoPerLayer(t, c)
		c.healthy()
	})
	t.Run("XRay", func(t *testing.T) {
		xray := startFakeXRay(t)
		setXRayEnv(t, xray)
		c := startTestbed(t, testbedRun{krakendJSON: otlpKrakendJSON, configs: xrayConfigs, load: testbedLoad(4 * time.Second)})
		assertPerLayer(t, c, "X-Ray", c.truth, allClasses, func() destinationSpans { return xraySpans(t, xray) })
		c.healthy()
	})
	t.Run("Datadog", func(t *testing.T) {
		datadog := startFakeDatadog(t)
		setDatadogEnv(t, datadog)
		c := startTestbed(t, testbedRun{krakendJSON: otlpKrakendJSON, configs: datadogConfigs, load: testbedLoad(6 * time.Second)})
		assertPerLayer(t, c, "Datadog", c.truth, allClasses, func() destinationSpans { return datadogSpansByClass(t, datadog) })
		assertDatadogLayerMetrics(t, datadog)
		c.healthy()
	})
	t.Run("AzureMonitor", func(t *testing.T) {
		azure := startFakeAzureMonitor(t)
		setAzureEnv(t, azure)
		c := startTestbed(t, testbedRun{krakendJSON: otlpKrakendJSON, configs: azureConfigs, load: testbedLoad(4 * time.Second)})
		assertPerLayer(t, c, "Azure Monitor", c.truth, allClasses, func() destinationSpans { return azureSpans(t, azure) })
		assertAzureRequestCount(t, azure, c.truth)
		c.healthy()
	})
}

// TestTestbedAllFiveFromOneKrakenDFile: one collector, one krakend.json (with
// its Prometheus exporter) plus the four overlays; every destination gets
// every span of every layer, and Prometheus the exact counts.
func TestTestbedAllFiveFromOneKrakenDFile(t *testing.T) {
	xray, datadog, azure := startFakeXRay(t), startFakeDatadog(t), startFakeAzureMonitor(t)
	setXRayEnv(t, xray)
	setDatadogEnv(t, datadog)
	setAzureEnv(t, azure)
	configs := slices.Concat(tempoConfigs, xrayConfigs, datadogConfigs, azureConfigs)
	c := startTestbed(t, testbedRun{krakendJSON: promKrakendJSON, configs: configs, tempo: true, prometheus: true, load: testbedLoad(6 * time.Second),
		// four exporters' queues and the Datadog exporter's own state
		limits: testbed.ResourceSpec{ExpectedMaxCPU: 100, ExpectedMaxRAM: 300}})

	assertTempoPerLayer(t, c)
	assertPerLayer(t, c, "X-Ray", c.truth, allClasses, func() destinationSpans { return xraySpans(t, xray) })
	assertPerLayer(t, c, "Datadog", c.truth, allClasses, func() destinationSpans { return datadogSpansByClass(t, datadog) })
	assertPerLayer(t, c, "Azure Monitor", c.truth, allClasses, func() destinationSpans { return azureSpans(t, azure) })
	assertPrometheusPerLayer(t, c, allClasses)
	assertDatadogLayerMetrics(t, datadog)
	assertAzureRequestCount(t, azure, c.truth)
	c.healthy()
}

// TestTestbedLayerSwitchesAndSampling: a krakend.json that turns the proxy
// layer off, keeps the backend's read tracker but not its round-trip span,
// drops the backend's read and connection metrics, and samples 25 % of the
// traces. What a disabled layer would have sent never arrives; metrics stay
// exact; the sampled traces are the ones KrakenD's rule keeps (the
// translation picks the SDK-parity rule for trace_sample_rate), their number
// is within a binomial bound, and each arrives whole.
func TestTestbedLayerSwitchesAndSampling(t *testing.T) {
	const rate = 0.25
	krakendJSON := `{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "service_name": "orders-gateway",
      "trace_sample_rate": 0.25,
      "exporters": {
        "otlp": [{"name": "collector", "host": "localhost", "port": {{GRPC}}}],
        "prometheus": [{"name": "prom", "port": {{PROM}}, "listen_ip": "127.0.0.1"}]
      },
      "layers": {
        "proxy": {"disable_traces": true, "disable_metrics": true},
        "backend": {
          "traces": {"round_trip": false, "read_payload": true},
          "metrics": {"round_trip": true, "read_payload": false, "detailed_connection": false}
        }
      }
    }
  }
}`
	load := testbedLoad(0)
	load.Requests, load.Rate = 1200, 300
	c := startTestbed(t, testbedRun{krakendJSON: krakendJSON, configs: tempoConfigs, tempo: true, load: load})
	traceClasses := func(class string) bool {
		return class != layer.ProxyStage.String() && class != layer.BackendRoundTrip.String()
	}
	require.Positive(t, c.truth.SpansPerLayer[layer.ProxyStage.String()], "the gateway sent proxy spans")
	require.Positive(t, c.truth.SpansPerLayer[layer.BackendRoundTrip.String()], "the gateway sent round-trip spans")

	kept := keptTraces(c.truth, func(id [16]byte) bool { return sdkParityKeeps(id, rate) })
	assertSampled(t, c, "Tempo", c.truth, rate, kept, traceClasses, func() destinationSpans { return tempoSpans(c.tc.MockBackend) })

	// Metrics are never sampled; disabled metric families never arrive.
	assertPrometheusPerLayer(t, c, func(class string) bool {
		return class == layer.GlobalStage.String() || class == layer.BackendStage.String() || class == layer.BackendRoundTrip.String()
	})
	c.healthy()
}

// TestTestbedConfigNamespaces: the same gateway described in each of the
// three namespaces KrakenD reads (proxy/pipe layer off, half the traces),
// with X-Ray and Prometheus as destinations. Each file alone drives the
// collector to the same outcome. OpenCensus names its own destinations
// (exporters.xray, exporters.prometheus); its sample_rate samples by the
// Go SDK's rule, that of the telemetry/opentelemetry gateway that will send.
func TestTestbedConfigNamespaces(t *testing.T) {
	const rate = 0.5
	opencensus := func(namespace string) string {
		return `{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "` + namespace + `": {
      "sample_rate": 50,
      "reporting_period": 1,
      "enabled_layers": {"router": true, "backend": true},
      "exporters": {
        "prometheus": {"port": {{PROM}}},
        "xray": {"region": "eu-west-1", "version": "KrakenD-opencensus", "use_env": true}
      }
    }
  }
}`
	}
	for _, tt := range []struct {
		namespace, krakendJSON string
		configs                []string
		keeps                  func(id [16]byte) bool
	}{
		{
			namespace: "telemetry/opentelemetry",
			krakendJSON: `{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "service_name": "orders-gateway",
      "trace_sample_rate": 0.5,
      "exporters": {
        "otlp": [{"name": "collector", "host": "localhost", "port": {{GRPC}}}],
        "prometheus": [{"name": "prom", "port": {{PROM}}, "listen_ip": "127.0.0.1"}]
      },
      "layers": {"proxy": {"disable_traces": true, "disable_metrics": true}}
    }
  }
}`,
			configs: xrayConfigs,
			keeps:   func(id [16]byte) bool { return sdkParityKeeps(id, rate) },
		},
		{
			namespace:   "telemetry/opencensus",
			krakendJSON: opencensus("telemetry/opencensus"),
			// OpenCensus has no OTLP receiver entry: the test moves the
			// collector's default OTLP ports to free ones.
			configs: []string{"testdata/xray-local.yaml", "testdata/testbed-receiver.yaml"},
			keeps:   func(id [16]byte) bool { return sdkParityKeeps(id, rate) },
		},
		{
			namespace:   "github_com/devopsfaith/krakend-opencensus",
			krakendJSON: opencensus("github_com/devopsfaith/krakend-opencensus"),
			configs:     []string{"testdata/xray-local.yaml", "testdata/testbed-receiver.yaml"},
			keeps:       func(id [16]byte) bool { return sdkParityKeeps(id, rate) },
		},
	} {
		t.Run(strings.ReplaceAll(tt.namespace, "/", "_"), func(t *testing.T) {
			xray := startFakeXRay(t)
			setXRayEnv(t, xray)
			load := testbedLoad(0)
			load.Requests, load.Rate = 600, 300
			c := startTestbed(t, testbedRun{krakendJSON: tt.krakendJSON, configs: tt.configs, load: load})
			traceClasses := func(class string) bool { return class != layer.ProxyStage.String() }
			require.Positive(t, c.truth.SpansPerLayer[layer.ProxyStage.String()], "the gateway sent proxy spans")
			assertSampled(t, c, "X-Ray", c.truth, rate, keptTraces(c.truth, tt.keeps), traceClasses,
				func() destinationSpans { return xraySpans(t, xray) })
			assertPrometheusPerLayer(t, c, traceClasses)
			c.healthy()
		})
	}
}

// assertPerLayer waits for every span the enabled classes of the truth hold
// and checks the destination's count per class: exactly the truth, nothing
// of a disabled class.
func assertPerLayer(t *testing.T, c *testbedCase, name string, truth *sim.Truth, enabled func(string) bool, got func() destinationSpans) destinationSpans {
	t.Helper()
	want := expectedPerClass(truth, enabled)
	var total int64
	for _, n := range want {
		total += n
	}
	d := waitForSpans(t, name, total, got)
	c.record(name, d)
	assert.Equal(t, want, d.perClass, "%s: spans per layer", name)
	assert.Equal(t, len(truth.Traces), len(d.perTrace), "%s: traces", name)
	return d
}

func assertTempoPerLayer(t *testing.T, c *testbedCase) {
	t.Helper()
	assertPerLayer(t, c, "Tempo", c.truth, allClasses, func() destinationSpans { return tempoSpans(c.tc.MockBackend) })
	assert.Equal(t, uint64(c.truth.Spans), c.tc.MockBackend.DataItemsReceived(), "the testbed's OTLP backend counted every span")
}

// assertSampled checks a sampled destination: the kept traces are exactly
// those of kept (the sampler's documented function of the trace ID), their
// number is within five standard deviations of Bin(requests, rate), each
// arrives whole (every span of its enabled classes), and no span of a
// disabled class arrives.
func assertSampled(t *testing.T, c *testbedCase, name string, truth *sim.Truth, rate float64, kept map[string]bool, enabled func(string) bool, got func() destinationSpans) {
	t.Helper()
	var want int64
	wantPerClass := map[string]int64{}
	for id := range kept {
		for class, n := range truth.Traces[id] {
			if enabled(class) {
				want += int64(n)
				wantPerClass[class] += int64(n)
			}
		}
	}
	d := waitForSpans(t, name, want, got)
	c.record(name, d)

	n := float64(len(truth.Traces))
	bound := 5 * math.Sqrt(n*rate*(1-rate))
	t.Logf("%s: %d of %d traces kept (expected %.0f ± %.0f)", name, len(d.perTrace), len(truth.Traces), n*rate, bound)
	assert.InDelta(t, n*rate, float64(len(d.perTrace)), bound, "%s: sampled traces within 5 sd of Bin(%d, %.2f)", name, len(truth.Traces), rate)
	assert.Equal(t, len(kept), len(d.perTrace), "%s: as many traces as the sampling rule keeps", name)

	var notKept, broken []string
	for id, classes := range d.perTrace {
		if !kept[id] {
			notKept = append(notKept, id)
			continue
		}
		whole := map[string]int{}
		for class, n := range truth.Traces[id] {
			if enabled(class) {
				whole[class] = n
			}
		}
		if !maps.Equal(whole, classes) {
			broken = append(broken, fmt.Sprintf("%s: received %v, sent %v", id, classes, whole))
		}
	}
	slices.Sort(notKept)
	slices.Sort(broken)
	assert.Empty(t, notKept[:min(len(notKept), 5)], "%s: %d traces the rule drops arrived (first 5 shown)", name, len(notKept))
	assert.Empty(t, broken[:min(len(broken), 5)], "%s: %d kept traces did not arrive whole (first 5 shown)", name, len(broken))
	assert.Equal(t, wantPerClass, d.perClass, "%s: spans per layer of the kept traces; none of a disabled layer", name)
}

// keptTraces is the set of the truth's traces that keeps accepts.
func keptTraces(truth *sim.Truth, keeps func([16]byte) bool) map[string]bool {
	out := map[string]bool{}
	for id := range truth.Traces {
		var b [16]byte
		if _, err := hex.Decode(b[:], []byte(id)); err == nil && keeps(b) {
			out[id] = true
		}
	}
	return out
}

// sdkParityKeeps is KrakenD's (the Go SDK's) rule: keep a root when the
// trace ID's last 8 bytes, shifted right once, are below rate·2^63.
func sdkParityKeeps(id [16]byte, rate float64) bool {
	return byteorder.BigEndian.Uint64(id[8:16])>>1 < uint64(rate*(1<<63))
}

// Prometheus families by layer: each counts one record per span of its class
// (the gateway records a span's metric where it ends the span).
var promFamilyOfClass = map[string]string{
	layer.GlobalStage.String():        "http_server_duration_count",
	layer.ProxyStage.String():         "krakend_proxy_duration_count",
	layer.BackendStage.String():       "krakend_backend_duration_count",
	layer.BackendRoundTrip.String():   "http_client_duration_count",
	layer.BackendReadPayload.String(): "http_client_response_read_size_hist_count",
}

// assertPrometheusPerLayer checks Prometheus: every enabled layer's family
// counts exactly what the gateway recorded (metrics are never sampled); a
// disabled layer's families are absent. It waits until the counts match:
// the exporter takes in an export one metric at a time, so a scrape can see
// some families updated and others not yet.
func assertPrometheusPerLayer(t *testing.T, c *testbedCase, enabled func(string) bool) {
	t.Helper()
	want := map[string]float64{}
	for class, family := range promFamilyOfClass {
		if enabled(class) {
			want[family] = float64(c.truth.SpansPerLayer[class])
		}
	}
	got := map[string]float64{}
	matches := func() bool {
		clear(got)
		for family := range want {
			got[family], _ = c.promFamily(t, family)
		}
		return maps.Equal(want, got)
	}
	if !assert.Eventually(t, matches, 30*time.Second, 250*time.Millisecond, "Prometheus counts every record of every enabled layer") {
		assert.Equal(t, want, got, "Prometheus: records per family")
	}
	for class, family := range promFamilyOfClass {
		if !enabled(class) {
			_, present := c.promFamily(t, family)
			assert.False(t, present, "the disabled %s layer's %s never arrives", class, family)
		}
	}
	if !enabled(layer.BackendReadPayload.String()) {
		_, present := c.promFamily(t, "http_client_response_read_size_total")
		assert.False(t, present, "read_payload metrics off")
	}
}

// assertDatadogLayerMetrics checks that a metric of each layer reaches
// Datadog (as a sketch: they are histograms) and the round trip's counters
// as series.
func assertDatadogLayerMetrics(t *testing.T, fake *fakeService) {
	t.Helper()
	sketches := []string{"http.server.duration", "krakend.proxy.duration", "krakend.backend.duration", "http.client.duration",
		"http.client.response.read.size-hist"}
	series := []string{"http.client.request.started.count", "http.client.response.read.size"}
	require.Eventually(t, func() bool {
		got := datadogSketches(t, fake)
		for _, name := range sketches {
			if len(got[name]) == 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 250*time.Millisecond, "Datadog receives a sketch of every layer %v", sketches)
	got := datadogSeries(t, fake)
	for _, name := range series {
		assert.NotEmpty(t, got[name], "Datadog series %s", name)
	}
}

// assertAzureRequestCount: the increases Azure Monitor receives for the
// global layer's histogram add up to every request (the series began after
// the collector started, so cumulativetodelta keeps its first point).
func assertAzureRequestCount(t *testing.T, fake *fakeService, truth *sim.Truth) {
	t.Helper()
	var count float64
	require.Eventually(t, func() bool {
		count = 0
		for _, e := range envelopesOfType(azureEnvelopes(t, fake), "MetricData") {
			for _, m := range e.Data.BaseData.Metrics {
				if m.Name == "http.server.duration" {
					count += float64(m.Count)
				}
			}
		}
		return count == float64(truth.Requests)
	}, 30*time.Second, 250*time.Millisecond, "Azure Monitor counts %d requests in http.server.duration", truth.Requests)
}
