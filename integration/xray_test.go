package integration

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The fake AWS identity the X-Ray test runs with: the exporter must take the
// region and the credentials from the environment, as the overlay says.
const (
	fakeAWSRegion      = "eu-west-1"
	fakeAWSAccessKeyID = "AKIAOTELCOLGATEWAY01"
)

// xraySegment is the part of an X-Ray segment document the tests read
// (https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html).
type xraySegment struct {
	Name      string  `json:"name"`
	ID        string  `json:"id"`
	TraceID   string  `json:"trace_id"`
	ParentID  string  `json:"parent_id"`
	Type      string  `json:"type"`
	Namespace string  `json:"namespace"`
	StartTime float64 `json:"start_time"`
	EndTime   float64 `json:"end_time"`
	Fault     bool    `json:"fault"`
	Error     bool    `json:"error"`
	HTTP      *struct {
		Request struct {
			Method    string `json:"method"`
			URL       string `json:"url"`
			UserAgent string `json:"user_agent"`
			ClientIP  string `json:"client_ip"`
		} `json:"request"`
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	} `json:"http"`
	Annotations map[string]any `json:"annotations"`
}

// startFakeXRay answers PutTraceSegments as X-Ray does when it takes every
// document.
func startFakeXRay(t *testing.T) *fakeService {
	return startFakeService(t, func(w http.ResponseWriter, _ recordedRequest) bool {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"UnprocessedTraceSegments":[]}`))
		return true
	})
}

// setXRayEnv gives the awsxray exporter the region and credentials of the
// environment, as a user would, and points it at the fake.
func setXRayEnv(t *testing.T, fake *fakeService) {
	t.Setenv("AWS_REGION", fakeAWSRegion)
	t.Setenv("AWS_ACCESS_KEY_ID", fakeAWSAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "otelcol-gateway-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	// keep a developer's ~/.aws out of the test
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv("TEST_XRAY_ENDPOINT", fake.URL())
}

// xraySegments decodes every segment document of every PutTraceSegments call.
func xraySegments(t *testing.T, fake *fakeService) []xraySegment {
	t.Helper()
	var out []xraySegment
	for _, r := range fake.requests("/TraceSegments") {
		var body struct {
			TraceSegmentDocuments []string `json:"TraceSegmentDocuments"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &body), "PutTraceSegments body")
		for _, doc := range body.TraceSegmentDocuments {
			var s xraySegment
			require.NoError(t, json.Unmarshal([]byte(doc), &s), "segment document %s", doc)
			out = append(out, s)
		}
	}
	return out
}

var xrayTraceID = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)

// otlpToXRayTraceID is the X-Ray form of an OTLP trace ID: the first 8 hex
// digits (X-Ray's epoch field), then the other 24.
func otlpToXRayTraceID(hexID string) string { return "1-" + hexID[:8] + "-" + hexID[8:] }

// TestXRayOverlayDeliversSegments runs the collector on a krakend.json plus
// the X-Ray overlay, with a local PutTraceSegments endpoint: each gateway
// request becomes one segment and four subsegments, linked, named and
// annotated as asserted below, signed with the environment's credentials for
// the environment's region.
func TestXRayOverlayDeliversSegments(t *testing.T) {
	fake := startFakeXRay(t)
	setXRayEnv(t, fake)
	_, addr := startGatewayCollector(t, "../config/overlays/xray.yaml", "testdata/xray-local.yaml")
	sendGatewayTraces(t, addr, 1)

	require.Eventually(t, func() bool { return len(xraySegments(t, fake)) >= 10 }, 20*time.Second, 100*time.Millisecond,
		"X-Ray receives the 10 spans of 2 requests; it received %v", fake.paths())
	assertXRaySigned(t, fake)
	assertXRaySegments(t, xraySegments(t, fake), 1)
}

// assertXRaySigned checks that every call is SigV4-signed with the access
// key id and the region of the environment.
func assertXRaySigned(t *testing.T, fake *fakeService) {
	t.Helper()
	for _, r := range fake.requests("/TraceSegments") {
		auth := r.Header.Get("Authorization")
		assert.True(t, strings.HasPrefix(auth, "AWS4-HMAC-SHA256 "), "SigV4 signature: %q", auth)
		assert.Contains(t, auth, "Credential="+fakeAWSAccessKeyID+"/", "the access key id of the environment")
		assert.Contains(t, auth, "/"+fakeAWSRegion+"/xray/aws4_request", "the region of the environment, the xray service")
	}
}

// assertXRaySegments checks the segments of the destination requests sent
// as traces first and first+1.
func assertXRaySegments(t *testing.T, segs []xraySegment, first uint64) {
	t.Helper()
	byTrace := map[string][]xraySegment{}
	for _, s := range segs {
		assert.Regexp(t, xrayTraceID, s.TraceID, "X-Ray trace ID format")
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	require.Len(t, byTrace, len(destinationRequests), "one X-Ray trace per gateway request")

	for i, req := range destinationRequests {
		traceID := otlpToXRayTraceID(traceIDHex(first + uint64(i)))
		docs := byTrace[traceID]
		require.Len(t, docs, 5, "trace %s: one document per span", traceID)

		// Links: one root segment, every subsegment's parent in the trace.
		ids := map[string]bool{}
		for _, s := range docs {
			ids[s.ID] = true
		}
		byStage := map[string]xraySegment{}
		roots := 0
		for _, s := range docs {
			if s.ParentID == "" {
				roots++
				assert.Empty(t, s.Type, "the root is a segment, not a subsegment")
			} else {
				assert.Equal(t, "subsegment", s.Type, "%s", s.Name)
				assert.True(t, ids[s.ParentID], "%s: parent %s is in the trace", s.Name, s.ParentID)
			}
			stage, _ := s.Annotations["krakend.stage"].(string)
			key := stage
			if s.Name == "http.client.response.read.tracker" {
				key = "read-tracker"
			}
			byStage[key] = s
			assert.LessOrEqual(t, s.StartTime, s.EndTime, "%s: start before end", s.Name)
		}
		assert.Equal(t, 1, roots, "trace %s: one root segment", traceID)
		require.Len(t, byStage, 5, "trace %s: the five layers, told apart by the krakend.stage annotation", traceID)

		backendURL := "http://" + req.BackendHost + req.BackendPattern
		fault := req.Status >= 500
		tests := []struct {
			stage, name, namespace, parentStage string
			method, url, userAgent, clientIP    string
			status                              int
			annotations                         map[string]any
		}{
			// The root is named after the service (the exporter's rule for a
			// server span). KrakenD's url.full is a bare path; the
			// collector's http.url, which the exporter reads after it,
			// makes the URL whole: scheme and the Host header.
			{stage: "global", name: destinationsService, method: req.Method, url: "http://gateway.example.com" + req.Path, userAgent: "curl/8.0", clientIP: "10.1.2.3",
				status: req.Status, annotations: map[string]any{"krakend.stage": "global", "http.route": req.EndpointRoute}},
			{stage: "proxy", name: req.EndpointRoute, parentStage: "global", method: req.Method, status: req.Status,
				annotations: map[string]any{"krakend.stage": "proxy", "http.route": req.EndpointRoute}},
			// The backend stage has no URL or host: KrakenD puts none on it.
			{stage: "backend", name: req.BackendPattern, parentStage: "proxy", method: req.Method, status: req.Status,
				annotations: map[string]any{"krakend.stage": "backend", "http.route": req.BackendPattern, "krakend.endpoint.route": req.EndpointRoute}},
			// A client span is a "remote" subsegment, named after the
			// collector's peer.service, the backend's host: the service map
			// shows each backend as a node of its own.
			{stage: "backend-request", name: req.BackendHost, namespace: "remote", parentStage: "backend", method: req.Method, url: backendURL,
				userAgent: "KrakenD Version 2.13.0", status: req.Status,
				annotations: map[string]any{"krakend.stage": "backend-request", "http.route": req.BackendPattern, "krakend.endpoint.route": req.EndpointRoute}},
			// The read tracker keeps its span name (no peer.service on it)
			// and has no URL: KrakenD gives it the backend's fixed
			// attributes only (http/client/transport.go, io/tracking.go).
			{stage: "read-tracker", name: "http.client.response.read.tracker", parentStage: "backend-request", method: req.Method,
				annotations: map[string]any{"krakend.stage": "backend-request", "http.route": req.BackendPattern, "krakend.endpoint.route": req.EndpointRoute}},
		}
		for _, tt := range tests {
			t.Run(req.Method+" "+req.Path+"/"+tt.stage, func(t *testing.T) {
				s := byStage[tt.stage]
				assert.Equal(t, tt.name, s.Name)
				assert.Equal(t, tt.namespace, s.Namespace)
				if tt.parentStage != "" {
					assert.Equal(t, byStage[tt.parentStage].ID, s.ParentID, "child of the %s span", tt.parentStage)
				}
				require.NotNil(t, s.HTTP, "http fields")
				assert.Equal(t, tt.method, s.HTTP.Request.Method)
				assert.Equal(t, tt.url, s.HTTP.Request.URL)
				assert.Equal(t, tt.userAgent, s.HTTP.Request.UserAgent)
				assert.Equal(t, tt.clientIP, s.HTTP.Request.ClientIP)
				assert.Equal(t, tt.status, s.HTTP.Response.Status)
				// fault is X-Ray's 5xx flag; the read tracker has no status.
				assert.Equal(t, fault && tt.status != 0, s.Fault, "fault on a 5xx")
				assert.Equal(t, tt.annotations, s.Annotations, "the overlay's indexed_attributes, and nothing else, as annotations")
			})
		}
	}
}
