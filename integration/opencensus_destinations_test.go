package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-gateway/otelcol-gateway/cmd/gatewaysim/sim"
)

// The tests below run the collector directly on an old OpenCensus
// krakend.json (`--config krakend:...`) whose exporters name Zipkin, Jaeger,
// InfluxDB or Stackdriver, each pointed at a local stand-in that decodes
// what the real service would receive. What the translator refuses is shown
// by TestTheTranslatorRefusesOpenCensusDestinationsItCannotMap.

// ocRequests is the simulated load of each OpenCensus destination test.
const ocRequests = 200

// startOpenCensusCollector writes krakendJSON into a temporary directory and
// runs the collector on it, plus the extra configs, with the gateway
// receiver and health check moved to free ports. It returns the address the
// simulated gateway sends to.
func startOpenCensusCollector(t *testing.T, krakendJSON string, extra ...string) string {
	t.Helper()
	grpcPort, healthPort := freePort(t), freePort(t)
	t.Setenv("TEST_GRPC_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", grpcPort))
	t.Setenv("TEST_HTTP_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	t.Setenv("TEST_HEALTH_CHECK_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", healthPort))
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(krakendJSON), 0o600))
	args := []string{"--config", "krakend:" + path}
	for _, e := range extra {
		args = append(args, "--config", e)
	}
	args = append(args, "--config", "testdata/test-receiver.yaml", "--config", "testdata/test-ports.yaml")
	startCollector(t, args...)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), http.StatusOK)
	return fmt.Sprintf("127.0.0.1:%d", grpcPort)
}

// acceptSignal writes an overlay giving the gateway receiver a pipeline for
// signal ("traces" or "metrics") toward a nop exporter. A translation whose
// only destination takes one signal has no pipeline for the other, so the
// receiver answers its exports Unimplemented; the simulated gateway always
// sends both and fails on that, so the other signal is dropped here instead.
func acceptSignal(t *testing.T, signal string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "accept-"+signal+".yaml")
	body := fmt.Sprintf(`exporters:
  nop/unused: {}
service:
  pipelines:
    %s/unused:
      receivers: [gateway]
      exporters: [nop/unused]
`, signal)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

// openCensusJSON is a krakend.json whose OpenCensus block keeps every trace
// and every layer and declares the given exporters (a JSON object body).
func openCensusJSON(service, exporters string) string {
	return fmt.Sprintf(`{
  "version": 3,
  "name": %q,
  "extra_config": {
    "github_com/devopsfaith/krakend-opencensus": {
      "sample_rate": 100,
      "enabled_layers": {"router": true, "pipe": true, "backend": true},
      "exporters": {%s}
    }
  }
}`, service, exporters)
}

// waitUntil polls cond for up to 20 s and returns whether it held; the
// assertions that follow report what arrived when it did not.
func waitUntil(cond func() bool) bool {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

// spansPerTrace is the truth's span count of every trace.
func spansPerTrace(truth *sim.Truth) map[string]int {
	out := map[string]int{}
	for id, classes := range truth.Traces {
		out[id] = sumInts(classes)
	}
	return out
}

// zipkinSpan is a span of Zipkin's v2 JSON model, as posted to /api/v2/spans.
type zipkinSpan struct {
	TraceID       string                        `json:"traceId"`
	ID            string                        `json:"id"`
	ParentID      string                        `json:"parentId"`
	Name          string                        `json:"name"`
	Kind          string                        `json:"kind"`
	Timestamp     int64                         `json:"timestamp"`
	Duration      int64                         `json:"duration"`
	LocalEndpoint *struct{ ServiceName string } `json:"localEndpoint"`
	Tags          map[string]string             `json:"tags"`
}

func zipkinSpans(t *testing.T, fake *fakeService) []zipkinSpan {
	t.Helper()
	var out []zipkinSpan
	for _, r := range fake.requests("/api/v2/spans") {
		require.Equal(t, http.MethodPost, r.Method)
		require.Contains(t, r.Header.Get("Content-Type"), "application/json")
		var batch []zipkinSpan
		require.NoError(t, json.Unmarshal(r.Body, &batch), "Zipkin v2 JSON span list")
		out = append(out, batch...)
	}
	return out
}

// TestZipkinFromOpenCensusConfigReceivesEveryTrace: an OpenCensus zipkin
// exporter whose collector_url carries a user and password becomes the
// zipkin exporter with the Authorization header from ZIPKIN_BASIC_AUTH; a
// local Zipkin receives every span of every trace, linked and named.
func TestZipkinFromOpenCensusConfigReceivesEveryTrace(t *testing.T) {
	fake := startFakeService(t, func(w http.ResponseWriter, _ recordedRequest) bool {
		w.WriteHeader(http.StatusAccepted) // what Zipkin answers
		return true
	})
	auth := base64.StdEncoding.EncodeToString([]byte("tracer:zipkin-env-pa55"))
	t.Setenv("ZIPKIN_BASIC_AUTH", auth)
	const service = "oc-zipkin-gateway"
	collectorURL := strings.Replace(fake.URL(), "http://", "http://tracer:literal-not-sent@", 1) + "/api/v2/spans"
	addr := startOpenCensusCollector(t, openCensusJSON(service,
		fmt.Sprintf(`"zipkin": {"collector_url": %q, "service_name": %q}`, collectorURL, service)),
		acceptSignal(t, "metrics"))

	truth := runSimulatedGateway(t, addr, service, ocRequests)
	want := spansPerTrace(truth)
	var spans []zipkinSpan
	waitUntil(func() bool { return int64(len(zipkinSpans(t, fake))) >= truth.Spans })
	time.Sleep(2 * time.Second) // nothing more may come, longer than the sampler's 1-s batch
	spans = zipkinSpans(t, fake)
	require.NotEmpty(t, spans, "Zipkin received no span (paths %v)", fake.paths())

	for _, r := range fake.requests("/api/v2/spans") {
		assert.Equal(t, "Basic "+auth, r.Header.Get("Authorization"), "the header from ZIPKIN_BASIC_AUTH, never the URL's literal")
	}
	byTrace := map[string][]zipkinSpan{}
	for _, s := range spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	got := map[string]int{}
	for id, ss := range byTrace {
		got[id] = len(ss)
	}
	assert.Equal(t, want, got, "spans per trace: every span the gateway sent, once")

	staged := 0
	for id, ss := range byTrace {
		ids := map[string]bool{}
		for _, s := range ss {
			ids[s.ID] = true
		}
		roots := 0
		for _, s := range ss {
			assert.NotEmpty(t, s.Name, "span name")
			if assert.NotNil(t, s.LocalEndpoint, "localEndpoint") {
				assert.Equal(t, service, s.LocalEndpoint.ServiceName, "localEndpoint.serviceName")
			}
			assert.Positive(t, s.Timestamp, "timestamp")
			if s.ParentID == "" {
				roots++
				assert.Equal(t, "SERVER", s.Kind, "the root is the gateway's request span")
				assert.NotEmpty(t, s.Tags["krakend.stage"], "the root span carries krakend.stage")
			} else {
				assert.True(t, ids[s.ParentID], "trace %s: span %s's parent %s is in the trace", id, s.ID, s.ParentID)
			}
			if assert.NotEmpty(t, s.Tags["krakend.stage"], "span %s %q carries krakend.stage", s.ID, s.Name) {
				staged++
			}
		}
		assert.Equal(t, 1, roots, "trace %s has one root", id)
	}
	assert.Positive(t, staged)
	t.Logf("zipkin: %d spans in %d traces, %d with krakend.stage", len(spans), len(byTrace), staged)
}

// influxLine is one point of InfluxDB line protocol.
type influxLine struct {
	Measurement string
	Tags        map[string]string
	Fields      map[string]float64
}

// splitUnescaped splits s at sep outside backslash escapes and double
// quotes, as line protocol does.
func splitUnescaped(s string, sep byte, limit int) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case s[i] == '"':
			quoted = !quoted
		case s[i] == sep && !quoted && (limit <= 0 || len(out) < limit-1):
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unescapeLP(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func parseLineProtocol(t *testing.T, body []byte) []influxLine {
	t.Helper()
	var out []influxLine
	for _, line := range strings.Split(string(body), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := splitUnescaped(line, ' ', 3)
		require.Len(t, parts, 3, "measurement+tags, fields, timestamp: %q", line)
		_, err := strconv.ParseInt(parts[2], 10, 64)
		require.NoError(t, err, "timestamp of %q", line)
		head := splitUnescaped(parts[0], ',', 0)
		l := influxLine{Measurement: unescapeLP(head[0]), Tags: map[string]string{}, Fields: map[string]float64{}}
		for _, kv := range head[1:] {
			p := splitUnescaped(kv, '=', 2)
			require.Len(t, p, 2, "tag %q", kv)
			l.Tags[unescapeLP(p[0])] = unescapeLP(p[1])
		}
		for _, kv := range splitUnescaped(parts[1], ',', 0) {
			p := splitUnescaped(kv, '=', 2)
			require.Len(t, p, 2, "field %q", kv)
			v := strings.TrimSuffix(strings.TrimSuffix(p[1], "i"), "u")
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				l.Fields[unescapeLP(p[0])] = f
			}
		}
		out = append(out, l)
	}
	return out
}

// TestInfluxDBFromOpenCensusConfigReceivesTheGatewaysMetrics: an OpenCensus
// influxdb exporter becomes the influxdb exporter in v1 compatibility; a
// local InfluxDB 1.x /write receives line protocol into the configured
// database, authenticated with the username and INFLUXDB_PASSWORD, whose
// request duration histogram counts every request per route.
func TestInfluxDBFromOpenCensusConfigReceivesTheGatewaysMetrics(t *testing.T) {
	fake := startFakeService(t, func(w http.ResponseWriter, _ recordedRequest) bool {
		w.WriteHeader(http.StatusNoContent) // what InfluxDB answers a write
		return true
	})
	const password = "influx-env-pa55"
	t.Setenv("INFLUXDB_PASSWORD", password)
	const service = "oc-influx-gateway"
	addr := startOpenCensusCollector(t, openCensusJSON(service,
		fmt.Sprintf(`"influxdb": {"address": %q, "db": "gateway", "username": "metrics", "password": "literal-not-sent", "service_name": %q}`, fake.URL(), service)),
		acceptSignal(t, "traces"))

	truth := runSimulatedGateway(t, addr, service, ocRequests)
	wantPerRoute := map[string]float64{}
	for route, statuses := range truth.RequestsPerEndpoint {
		for _, n := range statuses {
			wantPerRoute[route] += float64(n)
		}
	}

	// cumulative counts: the last value of each series is the total
	final := func() (map[string]float64, []influxLine) {
		series := map[string]influxLine{}
		var all []influxLine
		for _, r := range fake.requests("/write") {
			for _, l := range parseLineProtocol(t, r.Body) {
				all = append(all, l)
				if l.Measurement != "http.server.duration" {
					continue
				}
				key, _ := json.Marshal(l.Tags)
				if prev, ok := series[string(key)]; !ok || l.Fields["count"] >= prev.Fields["count"] {
					series[string(key)] = l
				}
			}
		}
		perRoute := map[string]float64{}
		for _, l := range series {
			perRoute[l.Tags["http.route"]] += l.Fields["count"]
		}
		return perRoute, all
	}
	var perRoute map[string]float64
	waitUntil(func() bool {
		perRoute, _ = final()
		return assert.ObjectsAreEqual(wantPerRoute, perRoute)
	})
	assert.Equal(t, wantPerRoute, perRoute, "requests per route counted by http.server.duration")

	reqs := fake.requests("/write")
	require.NotEmpty(t, reqs)
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("metrics:"+password))
	for _, r := range reqs {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, wantAuth, r.Header.Get("Authorization"), "username and INFLUXDB_PASSWORD, never the literal")
		assert.Equal(t, "gateway", r.Query.Get("db"), "the database from .db")
	}
	_, lines := final()
	names := map[string]bool{}
	for _, l := range lines {
		names[l.Measurement] = true
		if l.Measurement == "http.server.duration" {
			assert.NotEmpty(t, l.Tags["http.route"], "http.route tag")
			assert.NotEmpty(t, l.Tags["http.response.status_code"], "status tag")
			assert.Equal(t, service, l.Tags["service.name"], "service.name tag")
			assert.GreaterOrEqual(t, l.Fields["sum"], 0.0)
		}
	}
	for _, n := range []string{"http.server.duration", "http.client.duration"} {
		assert.True(t, names[n], "measurement %s among %v", n, names)
	}
	known := map[string]bool{}
	for _, n := range gatewayMetricNames(nil) {
		known[n] = true
	}
	for n := range names {
		// the schema writes a histogram's exemplars as <name>_exemplar
		assert.True(t, known[strings.TrimSuffix(n, "_exemplar")], "measurement %s is a metric the gateway sends (OpenTelemetry names, not OpenCensus views)", n)
	}
	t.Logf("influxdb: %d writes, measurements %v", len(reqs), names)
}

// TestJaegerFromOpenCensusConfigReceivesEveryTraceOverOTLP: an OpenCensus
// jaeger exporter becomes otlp_grpc/jaeger toward the Jaeger host's OTLP
// gRPC port, which the translator fixes at 4317 whatever port the endpoint
// named. The test cannot listen on the host's 4317 (other tests and users
// may hold it), so an overlay redirects only otlp_grpc/jaeger's endpoint to
// a local OTLP sink standing in for Jaeger; everything else is the
// translation's.
func TestJaegerFromOpenCensusConfigReceivesEveryTraceOverOTLP(t *testing.T) {
	const service = "oc-jaeger-gateway"
	krakendJSON := openCensusJSON(service, fmt.Sprintf(`"jaeger": {"endpoint": "http://127.0.0.1:14268/api/traces", "service_name": %q}`, service))

	// the translation's endpoint, which the overlay below replaces
	path := filepath.Join(t.TempDir(), "jaeger.krakend.json")
	require.NoError(t, os.WriteFile(path, []byte(krakendJSON), 0o600))
	code, stdout, stderr := runBinary(t, "translate", path)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "otlp_grpc/jaeger:\n    endpoint: 127.0.0.1:4317", "Jaeger's OTLP port is assumed to be 4317")
	// so is it when only the agent's UDP address is known
	agentPath := filepath.Join(t.TempDir(), "jaeger-agent.krakend.json")
	require.NoError(t, os.WriteFile(agentPath, []byte(openCensusJSON(service, `"jaeger": {"agent_endpoint": "jaeger-agent.internal:6831"}`)), 0o600))
	code, stdout, stderr = runBinary(t, "translate", agentPath)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "otlp_grpc/jaeger:\n    endpoint: jaeger-agent.internal:4317", "the agent's host, OTLP port 4317")

	sink, sinkAddr := startOTLPSink(t)
	t.Setenv("JAEGER_OTLP_ENDPOINT", sinkAddr)
	overlay := filepath.Join(t.TempDir(), "jaeger-local.yaml")
	require.NoError(t, os.WriteFile(overlay, []byte("exporters:\n  otlp_grpc/jaeger:\n    endpoint: ${env:JAEGER_OTLP_ENDPOINT}\n"), 0o600))
	addr := startOpenCensusCollector(t, krakendJSON, overlay, acceptSignal(t, "metrics"))

	truth := runSimulatedGateway(t, addr, service, ocRequests)
	waitUntil(func() bool { return int64(len(sink.spans())) >= truth.Spans })
	time.Sleep(2 * time.Second) // nothing more may come, longer than the sampler's 1-s batch
	got := map[string]int{}
	for _, s := range sink.spans() {
		got[s.TraceID().String()]++
	}
	assert.Equal(t, spansPerTrace(truth), got, "spans per trace: every span the gateway sent, once")
	assert.Equal(t, truth.Spans, int64(len(sink.spans())))
}

// TestTheTranslatorRefusesOpenCensusDestinationsItCannotMap: each
// OpenCensus destination the translator cannot map stops `translate` with
// exit code 1 and one line naming the file, the JSON path and the reason.
// (ocagent is not refused: it named the gateway's agent, and becomes the
// gateway receiver's address; stackdriver without project_id only warns.)
func TestTheTranslatorRefusesOpenCensusDestinationsItCannotMap(t *testing.T) {
	const ns = `extra_config["github_com/devopsfaith/krakend-opencensus"].exporters.`
	tests := []struct {
		name      string
		exporters string
		path      string
		reason    string
	}{
		{"jaeger with no host", `"jaeger": {"endpoint": "http://:14268/api/traces"}`,
			ns + "jaeger", "cannot tell the Jaeger host from endpoint/agent_endpoint; the distribution has no jaeger exporter: declare an OTLP destination instead"},
		{"jaeger with no endpoint", `"jaeger": {"service_name": "gw"}`,
			ns + "jaeger", "needs `endpoint` (the collector URL) or `agent_endpoint`"},
		{"zipkin with no collector_url", `"zipkin": {"service_name": "gw"}`,
			ns + "zipkin.collector_url", "the Zipkin collector's URL is required (e.g. http://zipkin:9411/api/v2/spans)"},
		{"zipkin with a collector_url that is no URL", `"zipkin": {"collector_url": "zipkin:9411"}`,
			ns + "zipkin.collector_url", "not an http:// or https:// URL with a host (e.g. http://zipkin:9411/api/v2/spans)"},
		{"influxdb with no address", `"influxdb": {"db": "gateway"}`,
			ns + "influxdb.address", "the InfluxDB address is required (e.g. http://influxdb:8086)"},
		{"influxdb over UDP", `"influxdb": {"address": "udp://influx:8089", "db": "gateway"}`,
			ns + "influxdb.address", "not an http:// or https:// URL with a host (e.g. http://influxdb:8086)"},
		{"influxdb with no database", `"influxdb": {"address": "http://influx:8086"}`,
			ns + "influxdb.db", "the InfluxDB 1.x database is required: InfluxDB refuses writes without one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "refused.krakend.json")
			require.NoError(t, os.WriteFile(path, []byte(openCensusJSON("refused-gateway", tt.exporters)), 0o600))
			code, stdout, stderr := runBinary(t, "translate", path)
			assert.Equal(t, 1, code, "exit code; stderr:\n%s", stderr)
			assert.Empty(t, stdout, "no YAML")
			var errs []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if !strings.HasPrefix(l, "warning: ") {
					errs = append(errs, l)
				}
			}
			assert.Equal(t, []string{path + ": " + tt.path + ": " + tt.reason}, errs, "one line: file, JSON path, reason")
		})
	}
}
