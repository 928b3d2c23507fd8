package gatewayreceiver

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/metadata"
)

// fuzzReceiver is a receiver without sockets: the fuzz targets call its
// handlers directly.
func fuzzReceiver(f *testing.F) *gatewayReceiver {
	cfg := createDefaultConfig().(*Config)
	cfg.ResourceDefaults = map[string]string{"service.name": "fuzz"}
	r, err := newGatewayReceiver(cfg, receivertest.NewNopSettings(metadata.Type), nil)
	if err != nil {
		f.Fatal(err)
	}
	r.nextTraces, r.nextMetrics, r.nextLogs = consumertest.NewNop(), consumertest.NewNop(), consumertest.NewNop()
	return r
}

// FuzzHTTPTraces feeds arbitrary bodies to the OTLP/HTTP traces endpoint in
// both encodings: it must answer 200 or 400, never panic.
func FuzzHTTPTraces(f *testing.F) {
	r := fuzzReceiver(f)
	pb, _ := ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)).MarshalProto()
	js, _ := ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)).MarshalJSON()
	f.Add(pb, false)
	f.Add(js, true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x","attributes":[{"key":"krakend.stage","value":{"intValue":"3"}}]}]}]}]}`), true)
	f.Add([]byte{0x0a, 0x80}, false)
	f.Fuzz(func(t *testing.T, body []byte, json bool) {
		contentType := contentTypeProtobuf
		if json {
			contentType = contentTypeJSON
		}
		req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		r.handleTraces(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for a %d-byte body: %s", rec.Code, len(body), rec.Body.String())
		}
		if rec.Code == http.StatusBadRequest && !bytes.Contains(rec.Body.Bytes(), []byte("malformed OTLP")) {
			t.Fatalf("a 400 must say why: %q", rec.Body.String())
		}
	})
}

// FuzzHTTPMetrics does the same for metrics, whose marking reads names and
// data points.
func FuzzHTTPMetrics(f *testing.F) {
	r := fuzzReceiver(f)
	pb, _ := pmetricotlp.NewExportRequestFromMetrics(gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest)).MarshalProto()
	f.Add(pb)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/v1/metrics", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentTypeProtobuf)
		rec := httptest.NewRecorder()
		r.handleMetrics(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	})
}

// FuzzGRPCTraces decodes arbitrary bytes as the gRPC service does and exports what
// decodes: no panic in classification or enrichment.
func FuzzGRPCTraces(f *testing.F) {
	r := fuzzReceiver(f)
	svc := &tracesService{r: r, obs: r.obsGRPC}
	pb, _ := ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)).MarshalProto()
	f.Add(pb)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &tracesRequest{}
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		if err := svc.exportTraces(context.Background(), req.traces()); err != nil {
			t.Fatalf("a decodable request was refused: %v", err)
		}
	})
}

// FuzzGRPCMetrics does the same for metrics.
func FuzzGRPCMetrics(f *testing.F) {
	r := fuzzReceiver(f)
	svc := &metricsService{r: r, obs: r.obsGRPC}
	pb, _ := pmetricotlp.NewExportRequestFromMetrics(gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest)).MarshalProto()
	f.Add(pb)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &metricsRequest{}
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		if err := svc.exportMetrics(context.Background(), req.metrics()); err != nil {
			t.Fatalf("a decodable request was refused: %v", err)
		}
	})
}
