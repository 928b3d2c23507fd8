package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/DataDog/agent-payload/v5/gogen"
	pb "github.com/DataDog/datadog-agent/pkg/proto/pbgo/trace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fake Datadog account of the test.
const (
	fakeDatadogAPIKey   = "0123456789abcdef0123456789abcdef"
	fakeDatadogHostname = "gateway-test-host"
)

// startFakeDatadog is a Datadog intake that accepts every key and payload.
func startFakeDatadog(t *testing.T) *fakeService {
	return startFakeService(t, func(w http.ResponseWriter, r recordedRequest) bool {
		w.Header().Set("Content-Type", "application/json")
		if r.Path == "/api/v1/validate" {
			_, _ = w.Write([]byte(`{"valid":true}`))
			return true
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{}`))
		return true
	})
}

func setDatadogEnv(t *testing.T, fake *fakeService) {
	t.Setenv("DD_API_KEY", fakeDatadogAPIKey)
	t.Setenv("DD_HOSTNAME", fakeDatadogHostname)
	t.Setenv("TEST_DATADOG_ENDPOINT", fake.URL())
}

// datadogSpans decodes every span of every trace payload (AgentPayload,
// protobuf, gzip), keyed by span ID.
func datadogSpans(t *testing.T, fake *fakeService) map[uint64]*pb.Span {
	t.Helper()
	out := map[uint64]*pb.Span{}
	for _, r := range fake.requests("/api/v0.2/traces") {
		require.Equal(t, "application/x-protobuf", r.Header.Get("Content-Type"))
		var p pb.AgentPayload
		require.NoError(t, p.UnmarshalVT(r.Body), "AgentPayload")
		assert.Equal(t, fakeDatadogHostname, p.HostName, "the hostname of DD_HOSTNAME, which the overlay and the translation both read")
		for _, tp := range p.TracerPayloads {
			for _, chunk := range tp.Chunks {
				for _, s := range chunk.Spans {
					out[s.SpanID] = s
				}
			}
		}
	}
	return out
}

// datadogSeries decodes the gateway's series (MetricPayload, protobuf,
// deflate) by metric name. The exporter's own JSON series (its running
// gauges) are left out.
func datadogSeries(t *testing.T, fake *fakeService) map[string][]*gogen.MetricPayload_MetricSeries {
	t.Helper()
	out := map[string][]*gogen.MetricPayload_MetricSeries{}
	for _, r := range fake.requests("/api/v2/series") {
		if r.Header.Get("Content-Type") != "application/x-protobuf" {
			continue
		}
		var p gogen.MetricPayload
		require.NoError(t, p.Unmarshal(r.Body), "MetricPayload")
		for _, s := range p.Series {
			out[s.Metric] = append(out[s.Metric], s)
		}
	}
	return out
}

// datadogSketches decodes the histograms (SketchPayload, protobuf, deflate)
// by metric name.
func datadogSketches(t *testing.T, fake *fakeService) map[string][]gogen.SketchPayload_Sketch {
	t.Helper()
	out := map[string][]gogen.SketchPayload_Sketch{}
	for _, r := range fake.requests("/api/beta/sketches") {
		var p gogen.SketchPayload
		require.NoError(t, p.Unmarshal(r.Body), "SketchPayload")
		for _, s := range p.Sketches {
			out[s.Metric] = append(out[s.Metric], s)
		}
	}
	return out
}

// TestDatadogOverlayDeliversTracesAndMetrics runs the collector on a
// krakend.json plus the Datadog overlay, with a local Datadog intake: the key
// is validated, every span arrives with the service, operation and resource
// names below, and every gateway metric arrives as a series or a sketch.
func TestDatadogOverlayDeliversTracesAndMetrics(t *testing.T) {
	fake := startFakeDatadog(t)
	setDatadogEnv(t, fake)
	_, addr := startGatewayCollector(t, "../config/overlays/datadog.yaml", "testdata/datadog-local.yaml")
	sendGatewayTraces(t, addr, 1)
	sendGatewayMetrics(t, addr)

	// The trace agent flushes every few seconds.
	require.Eventually(t, func() bool {
		return len(datadogSpans(t, fake)) >= 10 && len(datadogSeries(t, fake)) >= len(gatewayCounterNames()) &&
			len(datadogSketches(t, fake)) >= len(gatewayHistogramNames())
	}, 25*time.Second, 200*time.Millisecond, "Datadog receives 10 spans and every metric; it received %v", fake.paths())
	assertDatadogStart(t, fake)
	assertDatadogSpans(t, datadogSpans(t, fake), 1)
	assertDatadogMetrics(t, fake)
}

// assertDatadogStart checks what the exporter does before any data: it
// validates the key and posts the host's metadata under DD_HOSTNAME.
func assertDatadogStart(t *testing.T, fake *fakeService) {
	t.Helper()
	validations := fake.requests("/api/v1/validate")
	require.NotEmpty(t, validations, "the API key is validated at start")
	// The exporter sends the key in a header; the metrics forwarder's health
	// check, whose request may come first, in the query
	// (datadog-agent comp/forwarder/defaultforwarder/forwarder_health.go).
	for _, v := range validations {
		key := v.Header.Get("Dd-Api-Key")
		if key == "" {
			key = v.Query.Get("api_key")
		}
		assert.Equal(t, fakeDatadogAPIKey, key, "a validation request without the key")
	}
	intake := fake.requests("/intake")
	require.NotEmpty(t, intake, "host metadata is posted at start")
	var meta struct {
		InternalHostname string `json:"internalHostname"`
	}
	require.NoError(t, json.Unmarshal(intake[0].Body, &meta))
	assert.Equal(t, fakeDatadogHostname, meta.InternalHostname)
	for _, r := range fake.requests("/api/v0.2/traces") {
		assert.Equal(t, fakeDatadogAPIKey, r.Header.Get("Dd-Api-Key"))
	}
}

// datadogTraceID is the Datadog trace ID of an OTLP trace: its low 64 bits.
func datadogTraceID(hexID string) uint64 {
	id, _ := strconv.ParseUint(hexID[16:], 16, 64)
	return id
}

// assertDatadogSpans checks the spans of the destination requests sent as
// traces first and first+1.
func assertDatadogSpans(t *testing.T, spans map[uint64]*pb.Span, first uint64) {
	t.Helper()
	byTrace := map[uint64][]*pb.Span{}
	for _, s := range spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	require.Len(t, byTrace, len(destinationRequests), "one Datadog trace per gateway request")

	for i, req := range destinationRequests {
		otlpID := traceIDHex(first + uint64(i))
		trace := byTrace[datadogTraceID(otlpID)]
		require.Len(t, trace, 5, "trace %s: five spans", otlpID)
		byStage := map[string]*pb.Span{}
		for _, s := range trace {
			stage := s.Meta["krakend.stage"]
			if _, isReadTracker := s.Metrics["http.client.response.read.size"]; isReadTracker {
				stage = "read-tracker"
			}
			byStage[stage] = s
			assert.Equal(t, otlpID, s.Meta["otel.trace_id"], "the full 128-bit trace ID is kept")
			if s.ParentID != 0 {
				assert.Contains(t, spans, s.ParentID, "%s: the parent is in the trace", s.Name)
			}
		}
		require.Len(t, byStage, 5, "trace %s: the five layers, told apart by the krakend.stage tag", otlpID)

		backendURL := "http://" + req.BackendHost + req.BackendPattern
		backendResource := req.Method + " " + req.BackendPattern
		// The gateway leaves the status Ok or Unset on a 5xx; the collector
		// sets Error (HTTP conventions), and Datadog's error flag follows
		// the status: every span of the failed request but the read tracker.
		var failed int32
		if req.Status >= 500 {
			failed = 1
		}
		tests := []struct {
			stage, name, resource, spanType, parentStage string
			// http.status_code is a metric of the span in Datadog's model
			status    float64
			errorFlag int32
			meta      map[string]string
		}{
			// Datadog's own mapping names an HTTP server span well: its
			// operation is http.server.request, its resource the route.
			{stage: "global", name: "http.server.request", resource: req.Method + " " + req.EndpointRoute, spanType: "web", status: float64(req.Status), errorFlag: failed,
				meta: map[string]string{"http.route": req.EndpointRoute, "http.url": req.Path, "http.method": req.Method, "span.kind": "server"}},
			// The internal layers: the collector's operation.name and
			// resource.name (method and route, method and url_pattern).
			{stage: "proxy", name: "krakend.proxy", resource: req.Method + " " + req.EndpointRoute, spanType: "custom", parentStage: "global", status: float64(req.Status), errorFlag: failed,
				meta: map[string]string{"http.route": req.EndpointRoute, "span.kind": "internal"}},
			{stage: "backend", name: "krakend.backend", resource: backendResource, spanType: "custom", parentStage: "proxy", status: float64(req.Status), errorFlag: failed,
				meta: map[string]string{"http.route": req.BackendPattern, "krakend.endpoint.route": req.EndpointRoute, "span.kind": "internal"}},
			// The round trip: server.address becomes http.server_name,
			// url.full http.url; the collector's peer.service names the
			// backend as a downstream service.
			{stage: "backend-request", name: "http.client.request", resource: backendResource, spanType: "http", parentStage: "backend", status: float64(req.Status), errorFlag: failed,
				meta: map[string]string{"http.route": req.BackendPattern, "http.url": backendURL, "http.server_name": req.BackendHost, "peer.service": req.BackendHost, "span.kind": "client"}},
			{stage: "read-tracker", name: "krakend.backend.read", resource: backendResource, spanType: "custom", parentStage: "backend-request",
				meta: map[string]string{"http.url": "", "span.kind": "internal"}}, // no URL on KrakenD's read tracker
		}
		for _, tt := range tests {
			t.Run(req.Method+" "+req.Path+"/"+tt.stage, func(t *testing.T) {
				s := byStage[tt.stage]
				assert.Equal(t, destinationsService, s.Service)
				assert.Equal(t, tt.name, s.Name, "operation name")
				assert.Equal(t, tt.resource, s.Resource, "resource name")
				assert.Equal(t, tt.spanType, s.Type)
				if tt.parentStage != "" {
					assert.Equal(t, byStage[tt.parentStage].SpanID, s.ParentID, "child of the %s span", tt.parentStage)
				} else {
					assert.Zero(t, s.ParentID, "the root")
				}
				assert.Equal(t, tt.status, s.Metrics["http.status_code"])
				assert.Equal(t, tt.errorFlag, s.Error, "error flag")
				if tt.errorFlag == 1 {
					assert.Equal(t, fmt.Sprint(req.Status), s.Meta["error.type"], "error.type: the status code")
				}
				for k, v := range tt.meta {
					assert.Equal(t, v, s.Meta[k], "tag %s", k)
				}
			})
		}
	}
}

// assertDatadogMetrics checks every gateway metric: exactly one point per
// series, the delta between the two cumulative exports (the first point of
// a cumulative series is dropped), on the overlay's host, with the
// attributes as tags.
func assertDatadogMetrics(t *testing.T, fake *fakeService) {
	t.Helper()
	series, sketches := datadogSeries(t, fake), datadogSketches(t, fake)
	commonTags := []string{"service:" + destinationsService, "instrumentation_scope:io.krakend.krakend-otel"}
	for _, name := range gatewayCounterNames() {
		t.Run("series "+name, func(t *testing.T) {
			require.Len(t, series[name], 1, "one series")
			s := series[name][0]
			require.Len(t, s.Points, 1, "the first cumulative point is dropped: one delta")
			assert.Equal(t, 3.0, s.Points[0].Value, "6 - 3")
			assert.Equal(t, gogen.MetricPayload_COUNT, s.Type)
			require.NotEmpty(t, s.Resources)
			assert.Equal(t, "host", s.Resources[0].Type)
			assert.Equal(t, fakeDatadogHostname, s.Resources[0].Name)
			assert.Subset(t, s.Tags, append(commonTags, "http.route:/v1/users/:id", "krakend.endpoint.route:/users/:id"))
		})
	}
	for _, name := range gatewayHistogramNames() {
		t.Run("sketch "+name, func(t *testing.T) {
			require.Len(t, sketches[name], 1, "one sketch series")
			s := sketches[name][0]
			assert.Equal(t, fakeDatadogHostname, s.Host)
			require.Len(t, s.Dogsketches, 1, "the first cumulative point is dropped: one delta")
			assert.EqualValues(t, 3, s.Dogsketches[0].Cnt, "6 - 3 requests")
			assert.Subset(t, s.Tags, commonTags)
			if strings.HasPrefix(name, "http.server.") {
				assert.Contains(t, s.Tags, "http.route:/users/:id")
				assert.Contains(t, s.Tags, "http.response.status_code:200")
			}
		})
	}
}
