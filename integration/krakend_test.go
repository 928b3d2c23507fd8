package integration

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// secretEnv gives the ${env:...} references of translated configurations a
// value, as a user would before starting the collector.
var secretEnv = []string{
	"DD_API_KEY=0123456789abcdef0123456789abcdef", "AWS_ACCESS_KEY_ID=AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY=example",
	"INFLUXDB_PASSWORD=example", "ZIPKIN_BASIC_AUTH=dXNlcjpwYXNz",
}

func runBinary(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = append(os.Environ(), secretEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exitErr, ok := err.(*exec.ExitError); ok {
		code = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, stdout.String(), stderr.String()
}

// TestEveryTranslatedConfigurationIsValidForTheCollector loads each golden
// output of the translator with the collector's own loader (`validate`), so a
// translation that would not start fails here.
func TestEveryTranslatedConfigurationIsValidForTheCollector(t *testing.T) {
	goldens, err := filepath.Glob("../config/translate/testdata/*.golden.yaml")
	require.NoError(t, err)
	fixtures, err := filepath.Glob("../config/translate/testdata/fixtures/*.golden.yaml")
	require.NoError(t, err)
	all := append(goldens, fixtures...)
	require.GreaterOrEqual(t, len(all), 10, "the golden files are where the translator's tests keep them")
	for _, golden := range all {
		t.Run(filepath.Base(golden), func(t *testing.T) {
			code, _, stderr := runBinary(t, "validate", "--config", golden)
			assert.Equal(t, 0, code, stderr)
		})
	}
}

func TestTranslateCommandPrintsTheYAML(t *testing.T) {
	code, stdout, stderr := runBinary(t, "translate", "../../shared/fixtures/krakend-real/umkh-boilerplate-prometheus-skip-paths.json")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "layerfilter:")
	assert.Contains(t, stdout, "# from extra_config")

	code, stdout, stderr = runBinary(t, "translate", "../../shared/fixtures/krakend-real/playground-community-otel-pipe-layer.json")
	assert.NotEqual(t, 0, code)
	assert.Empty(t, stdout)
	assert.Contains(t, strings.SplitN(stderr, "\n", 2)[0], `extra_config["telemetry/opentelemetry"].layers.pipe`)
}

// TestTheCollectorRunsDirectlyOnKrakenDJSON starts the binary with
// --config krakend:<file>: the gateway's own exporters.otlp entry toward
// localhost becomes the receiver's endpoint, its Prometheus exporter the
// collector's, and the layers switches apply.
func TestTheCollectorRunsDirectlyOnKrakenDJSON(t *testing.T) {
	requirePortsFree(t, 13133, 8888)
	grpcPort, promPort := freePort(t), freePort(t)
	krakendJSON := fmt.Sprintf(`{
  "version": 3,
  "name": "orders-gateway",
  "extra_config": {
    "telemetry/opentelemetry": {
      "layers": {
        "backend": {
          "metrics": {"disable_stage": true, "round_trip": true, "read_payload": false, "detailed_connection": false},
          "traces": {"disable_stage": false, "round_trip": true, "read_payload": true, "detailed_connection": true}
        }
      },
      "exporters": {
        "otlp": [{"name": "collector", "host": "localhost", "port": %d}],
        "prometheus": [{"name": "prom", "port": %d, "listen_ip": "127.0.0.1"}]
      }
    }
  }
}`, grpcPort, promPort)
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(krakendJSON), 0o600))

	c := startCollector(t, "--config", "krakend:"+path)
	waitHTTP(t, "http://127.0.0.1:13133/", http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := dialGRPC(t, fmt.Sprintf("127.0.0.1:%d", grpcPort))
	_, err := pmetricotlp.NewGRPCClient(conn).Export(ctx, pmetricotlp.NewExportRequestFromMetrics(gatewayMetrics("orders-gateway")))
	require.NoError(t, err)
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(gatewayTraces("orders-gateway", 1)))
	require.NoError(t, err)

	var metrics string
	require.Eventually(t, func() bool {
		metrics = getBody(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", promPort))
		return strings.Contains(metrics, "http_client_duration_bucket")
	}, 30*time.Second, 200*time.Millisecond)
	assert.Contains(t, metrics, "krakend_proxy_duration_bucket")
	assert.NotContains(t, metrics, "krakend_backend_duration", "backend.metrics.disable_stage drops the stage metric")
	assert.NotContains(t, metrics, "http_client_response_read", "read_payload false drops the read metrics")
	assert.NotContains(t, metrics, "get_conn_duration", "detailed_connection false drops the connection metrics")

	// No trace destination: the placeholder debug exporter takes the traces
	// and logs a line a second at most, not one per batch (overlays that
	// add destinations leave it in the pipeline).
	for i := range 30 {
		_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(gatewayTraces("orders-gateway", uint64(i+2))))
		require.NoError(t, err)
	}
	// the sampler gathers kept spans for up to a second before they go on
	require.Eventually(t, func() bool { return strings.Contains(c.logText(), `"spans": `) }, 10*time.Second, 100*time.Millisecond,
		"the placeholder shows that traces arrive")
	batches := strings.Count(c.logText(), `"spans": `)
	assert.LessOrEqual(t, batches, 4, "31 batches in about a second: a line a second at most")
}

func TestAnInvalidKrakenDFileStopsTheCollectorWithOneLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"version": 3, "extra_config": {"telemetry/opencensus": {"sample_rate": 150, "exporters": {"logger": {}}}}}`), 0o600))
	code, _, stderr := runBinary(t, "--config", "krakend:"+path)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, stderr, `extra_config["telemetry/opencensus"].sample_rate`)
	assert.Contains(t, stderr, "150")
}
