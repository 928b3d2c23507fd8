package integration

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

// The fakes below stand in for the cloud services of the X-Ray, Datadog and
// Azure Monitor overlays. Each keeps every request it receives, decompressed,
// so a test asserts on what the stock exporter really put on the wire.

// destinationsKrakendJSON is a gateway that sends traces and metrics to this
// collector and names no destination of its own: the overlays add them. Its
// OTLP port is rewritten to a free one by writeKrakendJSON.
const destinationsKrakendJSON = "testdata/krakend-destinations.json"

// destinationsService is the gateway's service name in krakend.json and in
// the telemetry the tests send.
const destinationsService = "orders-gateway"

// recordedRequest is one request a fake service received.
type recordedRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte // after Content-Encoding is undone
}

// fakeService is an HTTP server that records every request and answers with
// respond (200 and an empty JSON object when respond is nil or returns false).
type fakeService struct {
	t       *testing.T
	srv     *httptest.Server
	respond func(w http.ResponseWriter, r recordedRequest) bool
	mu      sync.Mutex
	reqs    []recordedRequest
}

func startFakeService(t *testing.T, respond func(w http.ResponseWriter, r recordedRequest) bool) *fakeService {
	t.Helper()
	f := &fakeService{t: t, respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeService) URL() string { return f.srv.URL }

func (f *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := decodeContent(r.Header.Get("Content-Encoding"), raw)
	if err != nil {
		// Answer 400 so that the exporter logs it and the test sees it in
		// the collector's log; record nothing that cannot be read.
		f.t.Logf("fake service: %s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rec := recordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
	if f.respond != nil && f.respond(w, rec) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{}`))
}

// requests returns the recorded requests whose path is path.
func (f *fakeService) requests(path string) []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recordedRequest
	for _, r := range f.reqs {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// paths lists the distinct paths received, for failure messages.
func (f *fakeService) paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, r := range f.reqs {
		if !seen[r.Method+" "+r.Path] {
			seen[r.Method+" "+r.Path] = true
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// decodeContent undoes an HTTP Content-Encoding. Datadog's "deflate" is the
// zlib format (RFC 1950), as HTTP defines it.
func decodeContent(encoding string, raw []byte) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	default:
		return nil, fmt.Errorf("content encoding %q not understood by the fake", encoding)
	}
}

// writeKrakendJSON copies the destinations krakend.json with its OTLP
// exporter's port set to grpcPort: the translator turns that entry into the
// gateway receiver's endpoint, so the collector listens on a free port.
func writeKrakendJSON(t *testing.T, grpcPort int) string {
	t.Helper()
	raw, err := os.ReadFile(destinationsKrakendJSON)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	otel := doc["extra_config"].(map[string]any)["telemetry/opentelemetry"].(map[string]any)
	otlp := otel["exporters"].(map[string]any)["otlp"].([]any)
	require.Len(t, otlp, 1)
	otlp[0].(map[string]any)["port"] = grpcPort
	out, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "krakend.json")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

// startGatewayCollector runs the collector on the destinations krakend.json
// plus the given overlays and test-only YAML files, with the health check on
// a free port and no self-metrics listener, and waits until it is healthy.
// It returns the address the gateway sends OTLP/gRPC to.
func startGatewayCollector(t *testing.T, configs ...string) (*collector, string) {
	t.Helper()
	grpcPort, healthPort := freePort(t), freePort(t)
	t.Setenv("TEST_HEALTH_CHECK_ENDPOINT", fmt.Sprintf("127.0.0.1:%d", healthPort))
	args := []string{"--config", "krakend:" + writeKrakendJSON(t, grpcPort)}
	for _, c := range configs {
		args = append(args, "--config", c)
	}
	// last, so that its ports win over the translation's fixed ones
	args = append(args, "--config", "testdata/test-ports.yaml")
	c := startCollector(t, args...)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), http.StatusOK)
	return c, fmt.Sprintf("127.0.0.1:%d", grpcPort)
}

// Two gateway requests of different shapes, so that names, routes, hosts and
// result codes can be told apart at the destination.
var (
	usersRequest  = gatewaydata.DefaultRequest // GET /users/42 → users.internal:8080/v1/users/:id, 200
	ordersRequest = gatewaydata.Request{
		Path: "/orders", EndpointRoute: "/orders", Method: "POST",
		BackendPattern: "/v2/orders", BackendHost: "orders.internal:9000", Status: 503,
	}
	destinationRequests = []gatewaydata.Request{usersRequest, ordersRequest}
)

// sendGatewayTraces sends the five spans of each destination request as the
// gateway would (one export, trace numbers first, first+1).
func sendGatewayTraces(t *testing.T, addr string, first uint64) ptrace.Traces {
	t.Helper()
	td := gatewaydata.NewTraces(destinationsService, first, destinationRequests...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := ptraceotlp.NewGRPCClient(dialGRPC(t, addr)).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
	require.NoError(t, err)
	return td
}

// sendGatewayMetrics sends every gateway metric for usersRequest twice, as
// the gateway's periodic reader does: the same cumulative series (same start
// time) with growing values. Datadog's exporter turns cumulative series into
// deltas and drops the first point of each, so only the second export can
// arrive there.
func sendGatewayMetrics(t *testing.T, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := pmetricotlp.NewGRPCClient(dialGRPC(t, addr))
	for export := 1; export <= 2; export++ {
		md := gatewaydata.NewMetrics(destinationsService, gatewaydata.Metrics, usersRequest)
		scaleCumulative(md, uint64(export))
		_, err := client.Export(ctx, pmetricotlp.NewExportRequestFromMetrics(md))
		require.NoError(t, err)
	}
}

// scaleCumulative multiplies every count and value by factor and moves each
// point's timestamp factor minutes past its start: export n of a cumulative
// series with n times the first export's requests.
func scaleCumulative(md pmetric.Metrics, factor uint64) {
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		m := ms.At(i)
		switch m.Type() {
		case pmetric.MetricTypeHistogram:
			dps := m.Histogram().DataPoints()
			for j := 0; j < dps.Len(); j++ {
				dp := dps.At(j)
				dp.SetCount(dp.Count() * factor)
				dp.SetSum(dp.Sum() * float64(factor))
				counts := dp.BucketCounts().AsRaw()
				for k := range counts {
					counts[k] *= factor
				}
				dp.BucketCounts().FromRaw(counts)
				dp.SetTimestamp(dp.StartTimestamp() + pcommon.Timestamp(time.Duration(factor)*time.Minute))
			}
		case pmetric.MetricTypeSum:
			dps := m.Sum().DataPoints()
			for j := 0; j < dps.Len(); j++ {
				dp := dps.At(j)
				dp.SetIntValue(dp.IntValue() * int64(factor))
				dp.SetTimestamp(dp.StartTimestamp() + pcommon.Timestamp(time.Duration(factor)*time.Minute))
			}
		}
	}
}

// gatewayMetricNames lists every metric the gateway sends (all of them when
// histograms is nil, else only the histograms or only the others): Datadog
// sends histograms to another endpoint than counters.
func gatewayMetricNames(histograms *bool) []string {
	var names []string
	for _, spec := range gatewaydata.Metrics {
		if histograms == nil || *histograms == spec.Histogram {
			names = append(names, spec.Name)
		}
	}
	slices.Sort(names)
	return names
}

func gatewayCounterNames() []string   { return gatewayMetricNames(new(bool)) }
func gatewayHistogramNames() []string { h := true; return gatewayMetricNames(&h) }

// traceIDHex is the OTLP trace ID of gateway request n, as hex.
func traceIDHex(n uint64) string {
	id := gatewaydata.TraceID(n)
	return fmt.Sprintf("%x", id[:])
}
