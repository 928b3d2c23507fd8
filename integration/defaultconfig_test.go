package integration

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

// TestTheBareBinaryTakesAKrakenDTraceOnBothPorts is issue 2's acceptance
// test: the binary, started with no --config, takes a KrakenD-shaped trace on
// 4317 (gRPC) and 4318 (HTTP), shows each span's layer in the debug
// exporter's output, and the gateway's metrics on its Prometheus endpoint.
func TestTheBareBinaryTakesAKrakenDTraceOnBothPorts(t *testing.T) {
	requirePortsFree(t, 4317, 4318, 9090, 13133, 8888)
	c := startCollector(t)
	waitHTTP(t, "http://127.0.0.1:13133/", http.StatusOK)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("127.0.0.1:4317", grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx,
		ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("krakend-e2e", 1, gatewaydata.DefaultRequest)))
	require.NoError(t, err, "OTLP gRPC on 4317")

	body, err := ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("krakend-e2e", 2, gatewaydata.DefaultRequest)).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://127.0.0.1:4318/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "OTLP HTTP on 4318")

	_, err = pmetricotlp.NewGRPCClient(conn).Export(ctx,
		pmetricotlp.NewExportRequestFromMetrics(gatewaydata.NewMetrics("krakend-e2e", gatewaydata.Metrics, gatewaydata.DefaultRequest)))
	require.NoError(t, err, "OTLP metrics on 4317")

	for _, n := range []uint64{1, 2} {
		traceID := gatewaydata.TraceID(n).String()
		require.Eventually(t, func() bool { return countLines(c.logText(), traceID) >= 5 }, 30*time.Second, 100*time.Millisecond,
			"the debug exporter shows the five spans of trace %s", traceID)
		stages := map[string]int{}
		for _, line := range strings.Split(c.logText(), "\n") {
			if !strings.Contains(line, traceID) {
				continue
			}
			for _, stage := range []string{"global", "proxy", "backend", "backend-request"} {
				if strings.Contains(line, "krakend.stage="+stage+" ") || strings.HasSuffix(line, "krakend.stage="+stage) {
					stages[stage]++
				}
			}
		}
		assert.Equal(t, map[string]int{"global": 1, "proxy": 1, "backend": 1, "backend-request": 2}, stages,
			"every span of trace %s carries its layer", traceID)
	}
	assert.NotContains(t, c.logText(), "secret-token", "credential headers are redacted before any export")
	require.Eventually(t, func() bool { return releasedPages.MatchString(c.logText()) }, 10*time.Second, 50*time.Millisecond,
		"the startup_pages extension logs what it released")
	before, after := releasedStartupPages(t, c.logText())
	assert.Less(t, after, before/2, "startup_pages paged out most of the executable's resident pages once the pipelines ran")

	// The exporter takes an export in one metric at a time: wait until every
	// family KrakenD shows is there, then compare.
	var metrics string
	require.Eventually(t, func() bool {
		metrics = getBody(t, "http://127.0.0.1:9090/metrics")
		got := families(metrics)
		for f := range krakendFamilies(t) {
			if !got[f] {
				return false
			}
		}
		return true
	}, 30*time.Second, 200*time.Millisecond, "the gateway's metrics reach the Prometheus endpoint")
	for _, family := range []string{
		"http_server_duration_bucket", "http_server_response_size_bucket", "krakend_proxy_duration_bucket",
		"krakend_backend_duration_bucket", "http_client_duration_bucket", "http_client_request_started_count_total",
		"http_client_request_get_conn_duration_bucket",
	} {
		assert.Contains(t, metrics, family)
	}
	assert.Contains(t, metrics, `http_route="/users/:id"`)
	assertKrakenDFamilies(t, metrics)

	// The collector's own metrics, where the README says to look.
	var own string
	require.Eventually(t, func() bool {
		own = getBody(t, "http://127.0.0.1:8888/metrics")
		return strings.Contains(own, "otelcol_receiver_gateway_items")
	}, 30*time.Second, 200*time.Millisecond, "the collector's own metrics on :8888")
	for _, family := range []string{"otelcol_receiver_gateway_items", "otelcol_receiver_accepted_spans", "otelcol_exporter_sent_spans"} {
		assert.Contains(t, own, family)
	}
	// Health and own metrics listen on every interface, like the receivers,
	// so that a scraper in another container or pod reaches them.
	if ip := nonLoopbackIPv4(); ip != "" {
		assert.Contains(t, getBody(t, "http://"+ip+":8888/metrics"), "otelcol_receiver_gateway_items", "own metrics on %s", ip)
		assert.Contains(t, getBody(t, "http://"+ip+":13133/"), "Server available", "health check on %s", ip)
	} else {
		t.Log("no non-loopback IPv4 address on this machine: the every-interface check is skipped")
	}
}

// nonLoopbackIPv4 returns an address of this machine other than loopback,
// or "" when it has none.
func nonLoopbackIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// assertKrakenDFamilies compares the metric families on our Prometheus
// endpoint with what a real KrakenD served to Datadog's integration tests
// (fixtures/datadog/metrics.txt), apart from the go_/process_/promhttp_
// families KrakenD never sends over OTLP.
func assertKrakenDFamilies(t *testing.T, ours string) {
	t.Helper()
	want := krakendFamilies(t)
	got := families(ours)
	for f := range want {
		assert.Contains(t, got, f, "KrakenD's family %s", f)
	}
	for f := range got {
		assert.Contains(t, want, f, "a family KrakenD does not show: %s", f)
	}
	assert.Regexp(t, `otel_scope_info\{[^}]*otel_scope_name="io.krakend.krakend-otel"`, ours)
	assert.Regexp(t, `target_info\{[^}]*service_name="krakend-e2e"`, ours)
}

// krakendFamilies lists what a real KrakenD served to Datadog's integration
// tests (fixtures/datadog/metrics.txt), apart from the go_/process_/promhttp_
// families it never sends over OTLP.
func krakendFamilies(t *testing.T) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile("../../shared/fixtures/datadog/metrics.txt")
	require.NoError(t, err, "the fixtures sit beside the project in ../shared")
	out := map[string]bool{}
	for f := range families(string(raw)) {
		if !strings.HasPrefix(f, "go_") && !strings.HasPrefix(f, "process_") && !strings.HasPrefix(f, "promhttp_") {
			out[f] = true
		}
	}
	return out
}

// families lists the sample names of a Prometheus text exposition.
func families(text string) map[string]bool {
	out := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		out[name] = true
	}
	return out
}

var releasedPages = regexp.MustCompile(`Released the executable's start-up pages.*"file_pages_resident_before_mib": (\d+), "file_pages_resident_after_mib": (\d+)`)

// releasedStartupPages reads the startup_pages extension's log line: the
// process's resident file pages (MiB) before and after the release.
func releasedStartupPages(t *testing.T, log string) (before, after int) {
	t.Helper()
	m := releasedPages.FindStringSubmatch(log)
	require.NotNil(t, m, "the startup_pages extension logs what it released")
	before, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	after, err = strconv.Atoi(m[2])
	require.NoError(t, err)
	require.Positive(t, before, "file pages were resident before")
	return before, after
}
