package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
)

// The names DESIGN.md section 3 says Datadog's KrakenD integration reads
// (histograms by their _count series), each of which the simulated traffic
// produces.
var datadogFamilies = []string{
	"http_server_duration_count", "http_server_response_size_count", "krakend_proxy_duration_count",
	"krakend_backend_duration_count", "http_client_duration_count",
	"http_client_request_dns_duration_count", "http_client_request_get_conn_duration_count", "http_client_request_tls_duration_count",
	"http_client_request_started_count_total", "http_client_request_failed_count_total", "http_client_request_timedout_count_total",
	"http_client_request_size_total",
	"http_client_response_read_size_total", "http_client_response_read_size_hist_count",
	"http_client_response_read_time_seconds_total", "http_client_response_read_time_hist_seconds_count",
	"otel_scope_info", "target_info",
}

// TestARealPrometheusScrapesTheGatewaysMetrics runs Debian's Prometheus
// against the collector while two replicas of one gateway send at once: every
// name Datadog's integration reads is there, and each replica's request count
// is exactly what it sent.
func TestARealPrometheusScrapesTheGatewaysMetrics(t *testing.T) {
	grpcPort, exporterPort, healthPort := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
receivers:
  gateway:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  layerfilter: {}
  prometheus_compat: {}
  batch: {}
exporters:
  prometheus:
    endpoint: 127.0.0.1:%d
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics/prometheus:
      receivers: [gateway]
      processors: [layerfilter, prometheus_compat, batch]
      exporters: [prometheus]
`, healthPort, grpcPort, exporterPort)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "collector.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	startCollector(t, "--config", cfgPath)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), http.StatusOK)

	promURL := startPrometheus(t, fmt.Sprintf("127.0.0.1:%d", exporterPort))

	// Two replicas of one gateway, sending at once.
	truths := map[string]*sim.Truth{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, replica := range []string{"replica-a", "replica-b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			truth, err := sim.Run(context.Background(), sim.Config{
				Endpoint: fmt.Sprintf("127.0.0.1:%d", grpcPort), Requests: 300, Rate: 300,
				Endpoints: 3, Backends: 2, ErrorRate: 0.05, TimeoutRate: 0.02,
				Service: "orders-gateway", Instance: replica, Seed: uint64(len(replica)),
			})
			assert.NoError(t, err)
			mu.Lock()
			truths[replica] = truth
			mu.Unlock()
		}()
	}
	wg.Wait()
	require.Len(t, truths, 2)

	// Each replica's request count is exactly what it sent: no collision.
	// The exporter takes in an export one metric at a time, so a scrape can
	// hold the final http_server count and an earlier proxy count: wait for
	// both.
	for replica, truth := range truths {
		query := fmt.Sprintf(`sum(http_server_duration_count{instance=%q})`, replica)
		proxyQuery := fmt.Sprintf(`sum(krakend_proxy_duration_count{instance=%q})`, replica)
		var got, gotProxy float64
		require.Eventually(t, func() bool {
			got, gotProxy = promScalar(t, promURL, query), promScalar(t, promURL, proxyQuery)
			return got == float64(truth.Requests) && gotProxy == float64(truth.Requests)
		}, 60*time.Second, 500*time.Millisecond, "%s: Prometheus has %v requests (%v at the proxy), the replica sent %d",
			replica, got, gotProxy, truth.Requests)
		assert.Equal(t, float64(truth.Requests), promScalar(t, promURL, proxyQuery))
	}
	for _, family := range datadogFamilies {
		assert.Greater(t, promScalar(t, promURL, fmt.Sprintf(`count(%s)`, family)), 0.0, "Prometheus has %s", family)
	}
	assert.Equal(t, 2.0, promScalar(t, promURL, `count(target_info{service_name="orders-gateway"})`), "one target_info per replica, with service_name")
	assert.Greater(t, promScalar(t, promURL, `count(http_server_duration_count{http_response_status_code!=""})`), 0.0,
		"the status code label Datadog maps to code_class")
	assert.Equal(t, 0.0, promScalar(t, promURL, `count(http_client_response_read_size_b_total) or vector(0)`), "no unit suffix KrakenD does not show")
}

// startPrometheus runs Debian's Prometheus scraping target every second and
// returns its base URL once it is ready.
func startPrometheus(t *testing.T, target string) string {
	t.Helper()
	promBin, err := exec.LookPath("prometheus")
	require.NoError(t, err, "Debian's prometheus package must be installed (.ci/run installs it)")
	dir, promPort := t.TempDir(), freePort(t)
	// honor_labels keeps the collector's instance label: it names the gateway
	// replica (service.instance.id), not the collector that was scraped.
	promCfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(promCfg, []byte(fmt.Sprintf(`
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: otelcol-gateway
    honor_labels: true
    static_configs:
      - targets: ['%s']
`, target)), 0o600))
	prom := exec.Command(promBin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", promPort))
	promLog, err := os.Create(filepath.Join(dir, "prometheus.log"))
	require.NoError(t, err)
	prom.Stdout, prom.Stderr = promLog, promLog
	require.NoError(t, prom.Start())
	t.Cleanup(func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(promLog.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	})
	promURL := fmt.Sprintf("http://127.0.0.1:%d", promPort)
	waitHTTP(t, promURL+"/-/ready", http.StatusOK)
	return promURL
}

// promScalar runs an instant query whose result is one number.
func promScalar(t *testing.T, base, query string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "success", body.Status, query)
	if len(body.Data.Result) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(body.Data.Result[0].Value[1].(string), 64)
	require.NoError(t, err)
	return v
}
