package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeInstrumentationKey is the Application Insights resource of the test's
// connection string.
const fakeInstrumentationKey = "5b5c4e2a-7d1f-4c3e-9a8b-0c1d2e3f4a5b"

// azureEnvelope is the part of an Application Insights envelope the tests
// read: RequestData, RemoteDependencyData and MetricData share it.
type azureEnvelope struct {
	Name string            `json:"name"`
	Time string            `json:"time"`
	IKey string            `json:"iKey"`
	Tags map[string]string `json:"tags"`
	Data struct {
		BaseType string `json:"baseType"`
		BaseData struct {
			ID           string            `json:"id"`
			Name         string            `json:"name"`
			Duration     string            `json:"duration"`
			ResponseCode string            `json:"responseCode"` // RequestData
			ResultCode   string            `json:"resultCode"`   // RemoteDependencyData
			Success      *bool             `json:"success"`
			URL          string            `json:"url"`    // RequestData
			Source       string            `json:"source"` // RequestData
			Data         string            `json:"data"`   // RemoteDependencyData
			Target       string            `json:"target"` // RemoteDependencyData
			Type         string            `json:"type"`   // RemoteDependencyData
			Properties   map[string]string `json:"properties"`
			Metrics      []struct {
				Name  string  `json:"name"`
				Kind  int     `json:"kind"`
				Value float64 `json:"value"`
				Count int     `json:"count"`
			} `json:"metrics"` // MetricData
		} `json:"baseData"`
	} `json:"data"`
}

// startFakeAzureMonitor answers the ingestion endpoint's track calls as
// Application Insights does when it accepts every item.
func startFakeAzureMonitor(t *testing.T) *fakeService {
	return startFakeService(t, func(w http.ResponseWriter, r recordedRequest) bool {
		n := bytes.Count(r.Body, []byte("\n"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"itemsReceived":%d,"itemsAccepted":%d,"errors":[]}`, n, n)
		return true
	})
}

func setAzureEnv(t *testing.T, fake *fakeService) {
	t.Setenv("APPLICATIONINSIGHTS_CONNECTION_STRING",
		fmt.Sprintf("InstrumentationKey=%s;IngestionEndpoint=%s/", fakeInstrumentationKey, fake.URL()))
}

// azureEnvelopes decodes the newline-delimited JSON of every track call.
func azureEnvelopes(t *testing.T, fake *fakeService) []azureEnvelope {
	t.Helper()
	var out []azureEnvelope
	for _, r := range fake.requests("/v2.1/track") {
		for _, line := range bytes.Split(r.Body, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var e azureEnvelope
			require.NoError(t, json.Unmarshal(line, &e), "envelope %s", line)
			out = append(out, e)
		}
	}
	return out
}

func envelopesOfType(envs []azureEnvelope, baseType string) []azureEnvelope {
	var out []azureEnvelope
	for _, e := range envs {
		if e.Data.BaseType == baseType {
			out = append(out, e)
		}
	}
	return out
}

// TestAzureMonitorOverlayDeliversRequestsDependenciesAndMetrics runs the
// collector on a krakend.json plus the Azure Monitor overlay, with a local
// ingestion endpoint: the global span arrives as a request, the other four
// spans as dependencies of it, and every metric point as a metric envelope.
func TestAzureMonitorOverlayDeliversRequestsDependenciesAndMetrics(t *testing.T) {
	fake := startFakeAzureMonitor(t)
	setAzureEnv(t, fake)
	_, addr := startGatewayCollector(t, "../config/overlays/azuremonitor.yaml")
	sendGatewayTraces(t, addr, 1)
	sendGatewayMetrics(t, addr)

	// 2 exports × every gateway metric, one point each.
	// one increase per series: the first cumulative point is dropped (see assertAzureMetrics)
	wantMetricPoints := len(gatewayMetricNames(nil))
	// the exporter sends a batch 10 s (maxbatchinterval) after its first item
	require.Eventually(t, func() bool {
		envs := azureEnvelopes(t, fake)
		return len(envelopesOfType(envs, "RequestData"))+len(envelopesOfType(envs, "RemoteDependencyData")) >= 10 &&
			len(envelopesOfType(envs, "MetricData")) >= wantMetricPoints
	}, 60*time.Second, 100*time.Millisecond, "Azure Monitor receives 10 spans and %d metric points; it received %v", wantMetricPoints, fake.paths())
	envs := azureEnvelopes(t, fake)
	for _, e := range envs {
		assert.Equal(t, fakeInstrumentationKey, e.IKey, "the connection string's instrumentation key")
		assert.Equal(t, destinationsService, e.Tags["ai.cloud.role"], "the service is the cloud role")
	}
	assertAzureTraces(t, envs, 1)
	assertAzureMetrics(t, envs)
}

// assertAzureTraces checks the request and dependency envelopes of the
// destination requests sent as traces first and first+1.
func assertAzureTraces(t *testing.T, envs []azureEnvelope, first uint64) {
	t.Helper()
	byOperation := map[string][]azureEnvelope{}
	for _, e := range append(envelopesOfType(envs, "RequestData"), envelopesOfType(envs, "RemoteDependencyData")...) {
		byOperation[e.Tags["ai.operation.id"]] = append(byOperation[e.Tags["ai.operation.id"]], e)
	}
	require.Len(t, byOperation, len(destinationRequests), "one operation per gateway request")

	for i, req := range destinationRequests {
		opID := traceIDHex(first + uint64(i))
		items := byOperation[opID]
		require.Len(t, items, 5, "operation %s: one item per span", opID)
		byStage := map[string]azureEnvelope{}
		for _, e := range items {
			stage := e.Data.BaseData.Properties["krakend.stage"]
			if _, isReadTracker := e.Data.BaseData.Properties["http.client.response.read.size"]; isReadTracker {
				stage = "read-tracker"
			}
			byStage[stage] = e
		}
		require.Len(t, byStage, 5, "operation %s: the five layers, told apart by the krakend.stage property", opID)

		status := fmt.Sprint(req.Status)
		success := req.Status < 400
		backendURL := "http://" + req.BackendHost + req.BackendPattern
		methodAndBackend := req.Method + " " + req.BackendPattern
		tests := []struct {
			stage, baseType, name, parentStage string
			// duration as Application Insights writes it (d.hh:mm:ss.ffffff)
			duration, code string
			success        bool
			depType        string // RemoteDependencyData only
			data, target   string // RemoteDependencyData only
			url, source    string // RequestData only
			properties     map[string]string
		}{
			// The exporter names the request "{method} {http.route}"; its url
			// is composed from the collector's url.scheme and url.path and
			// the gateway's server.address (KrakenD's url.full is a bare
			// path).
			{stage: "global", baseType: "RequestData", name: req.Method + " " + req.EndpointRoute, duration: "00.00:00:00.010000",
				code: status, success: success, url: "http://gateway.example.com" + req.Path, source: "10.1.2.3",
				properties: map[string]string{"http.route": req.EndpointRoute, "server.address": "gateway.example.com", "user_agent.original": "curl/8.0"}},
			// Internal spans are InProc dependencies, named from the method
			// and http.route like the HTTP call itself.
			{stage: "proxy", baseType: "RemoteDependencyData", name: req.Method + " " + req.EndpointRoute, parentStage: "global",
				duration: "00.00:00:00.008999", code: status, success: success, depType: "InProc",
				properties: map[string]string{"http.route": req.EndpointRoute, "complete": "true", "operation.name": "krakend.proxy"}},
			{stage: "backend", baseType: "RemoteDependencyData", name: methodAndBackend, parentStage: "proxy",
				duration: "00.00:00:00.007998", code: status, success: success, depType: "InProc",
				properties: map[string]string{"http.route": req.BackendPattern, "krakend.endpoint.route": req.EndpointRoute, "operation.name": "krakend.backend"}},
			// The round trip is an HTTP dependency on the backend's host,
			// its result code the backend's status.
			{stage: "backend-request", baseType: "RemoteDependencyData", name: methodAndBackend, parentStage: "backend",
				duration: "00.00:00:00.006997", code: status, success: success, depType: "HTTP", data: backendURL, target: req.BackendHost,
				properties: map[string]string{"server.address": req.BackendHost, "url.full": backendURL, "response-duration": "0.003", "peer.service": req.BackendHost}},
			// The read tracker has no status code: its result code is the
			// span status (0, Unset); nor a URL or host (KrakenD gives it
			// the backend's fixed attributes only).
			{stage: "read-tracker", baseType: "RemoteDependencyData", name: methodAndBackend, parentStage: "backend-request",
				duration: "00.00:00:00.005996", code: "0", success: true, depType: "InProc",
				properties: map[string]string{"http.client.response.read.size": "512", "http.client.response.read.time": "0.0004"}},
		}
		for _, tt := range tests {
			t.Run(req.Method+" "+req.Path+"/"+tt.stage, func(t *testing.T) {
				e := byStage[tt.stage]
				d := e.Data.BaseData
				assert.Equal(t, tt.baseType, e.Data.BaseType)
				assert.Equal(t, tt.name, d.Name)
				assert.Equal(t, tt.duration, d.Duration)
				require.NotNil(t, d.Success)
				assert.Equal(t, tt.success, *d.Success)
				if tt.baseType == "RequestData" {
					assert.Equal(t, tt.code, d.ResponseCode)
					assert.Equal(t, tt.url, d.URL)
					assert.Equal(t, tt.source, d.Source)
					assert.Empty(t, e.Tags["ai.operation.parentId"], "the request is the operation's root")
					assert.Equal(t, tt.name, e.Tags["ai.operation.name"])
				} else {
					assert.Equal(t, tt.code, d.ResultCode)
					assert.Equal(t, tt.depType, d.Type)
					assert.Equal(t, tt.data, d.Data)
					assert.Equal(t, tt.target, d.Target)
					assert.Equal(t, byStage[tt.parentStage].Data.BaseData.ID, e.Tags["ai.operation.parentId"], "child of the %s span", tt.parentStage)
				}
				assert.Equal(t, destinationsService, d.Properties["service.name"])
				// The collector flags the failed request's spans Error (HTTP
				// conventions); the read tracker has no status code.
				wantStatus := "STATUS_CODE_UNSET"
				if req.Status >= 500 && tt.stage != "read-tracker" {
					wantStatus = "STATUS_CODE_ERROR"
				}
				assert.Equal(t, wantStatus, d.Properties["otel.status_code"], "span status")
				for k, v := range tt.properties {
					assert.Equal(t, v, d.Properties[k], "custom property %s", k)
				}
			})
		}
	}
}

// assertAzureMetrics checks that every gateway metric arrives, with its
// attributes as custom properties, as the increase since the last export:
// Application Insights adds up what it receives, so running totals (3, then
// 6) would count 9. The series began before the collector started, so the
// overlay's cumulativetodelta drops the first point (it may have been counted
// by a collector before a restart) and sends the increase, 3.
func assertAzureMetrics(t *testing.T, envs []azureEnvelope) {
	t.Helper()
	seen := map[string][]float64{}
	for _, e := range envelopesOfType(envs, "MetricData") {
		require.Len(t, e.Data.BaseData.Metrics, 1, "one data point per envelope")
		m := e.Data.BaseData.Metrics[0]
		props := e.Data.BaseData.Properties
		assert.Equal(t, destinationsService, props["service.name"], "%s", m.Name)
		assert.Equal(t, "GET", props["http.request.method"], "%s", m.Name)
		if m.Kind == 1 { // aggregation: a histogram point
			seen[m.Name] = append(seen[m.Name], float64(m.Count))
		} else {
			seen[m.Name] = append(seen[m.Name], m.Value)
		}
	}
	for _, name := range gatewayMetricNames(nil) {
		values := seen[name]
		slices.Sort(values)
		assert.Equal(t, []float64{3}, values, "%s: the increase between the two cumulative exports, once", name)
	}
	for _, e := range envelopesOfType(envs, "MetricData") {
		if e.Data.BaseData.Metrics[0].Name == "http.client.duration" {
			assert.Equal(t, "users.internal:8080", e.Data.BaseData.Properties["server.address"])
			assert.Equal(t, "/v1/users/:id", e.Data.BaseData.Properties["http.route"])
			assert.Equal(t, "/users/:id", e.Data.BaseData.Properties["krakend.endpoint.route"])
		}
	}
}
