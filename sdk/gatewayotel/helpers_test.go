package gatewayotel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

// krakendJSON wraps a telemetry/opentelemetry namespace (and optional
// endpoints) into a krakend.json.
func krakendJSON(namespace, endpoints string) string {
	if namespace == "" {
		namespace = `{"exporters": {"otlp": [{"name": "local"}]}}`
	}
	if endpoints == "" {
		endpoints = "[]"
	}
	return fmt.Sprintf(`{"version": 3, "name": "test-gw", "endpoints": %s, "extra_config": {"telemetry/opentelemetry": %s}}`, endpoints, namespace)
}

func parse(t testing.TB, doc string) *krakend.Config {
	t.Helper()
	cfg, err := krakend.Parse([]byte(doc), "test.json")
	require.NoError(t, err)
	require.NotNil(t, cfg.OpenTelemetry)
	return cfg
}

// rig is a Telemetry recording into memory.
type rig struct {
	tel    *gatewayotel.Telemetry
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func newRig(t testing.TB, doc string, opts ...gatewayotel.Option) *rig {
	t.Helper()
	cfg := parse(t, doc)
	r := &rig{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans), sdktrace.WithSampler(gatewayotel.Sampler(cfg.OpenTelemetry.TraceSampleRate)))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	opts = append([]gatewayotel.Option{gatewayotel.WithTracerProvider(tp), gatewayotel.WithMeterProvider(mp), gatewayotel.WithEndpoints(cfg.Endpoints)}, opts...)
	tel, shutdown, err := gatewayotel.Setup(context.Background(), cfg.OpenTelemetry, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	r.tel = tel
	return r
}

func (r *rig) metrics(t testing.TB) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(t, gatewayotel.ScopeName, sm.Scope.Name)
		require.Empty(t, sm.Scope.Version)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// gateway is an httptest gateway with one endpoint GET /users/{id} calling
// one backend GET /v1/users/{id}, all three layers instrumented.
type gateway struct {
	srv     *httptest.Server
	backend *httptest.Server
}

const backendBody = `{"id": 42, "name": "Ada"}`

func newGateway(t testing.TB, tel *gatewayotel.Telemetry, backend http.Handler) *gateway {
	t.Helper()
	if backend == nil {
		backend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, backendBody)
		})
	}
	g := &gateway{backend: httptest.NewServer(backend)}
	t.Cleanup(g.backend.Close)
	client := &http.Client{Transport: tel.Transport(http.DefaultTransport.(*http.Transport).Clone(), gatewayotel.BackendInfo{
		EndpointRoute: "/users/{id}", EndpointMethod: "GET", URLPattern: "/v1/users/{id}", ClientName: "users",
	})}
	ep := tel.Endpoint("/users/{id}", "GET")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		status, err := ep.Proxy(r.Context(), r.Header, func(ctx context.Context) (int, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.backend.URL+"/v1/users/"+r.PathValue("id"), nil)
			if err != nil {
				return 0, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			if body, err = io.ReadAll(resp.Body); err != nil {
				return 0, err
			}
			if resp.StatusCode >= 400 {
				return resp.StatusCode, fmt.Errorf("backend answered %d", resp.StatusCode)
			}
			return resp.StatusCode, nil
		})
		if err != nil {
			http.Error(w, "backend failed", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("GET /__health", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	g.srv = httptest.NewServer(tel.GlobalHandler(mux, nil))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) get(t testing.TB, path string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, g.srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}

// classifySpan classifies a recorded span with the layer model, through the
// pdata form the collector sees.
func classifySpan(s sdktrace.ReadOnlySpan) layer.Class {
	ps := ptrace.NewSpan()
	ps.SetName(s.Name())
	for _, kv := range s.Attributes() {
		if kv.Value.Type() == attribute.STRING {
			ps.Attributes().PutStr(string(kv.Key), kv.Value.AsString())
		}
	}
	return layer.ClassifySpan(ps)
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func hostPort(t testing.TB, url string) (string, int) {
	t.Helper()
	hp := strings.TrimPrefix(url, "http://")
	i := strings.LastIndexByte(hp, ':')
	var port int
	_, err := fmt.Sscanf(hp[i+1:], "%d", &port)
	require.NoError(t, err)
	return hp[:i], port
}
