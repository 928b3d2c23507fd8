package gatewayotel_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

// A gateway that reloads its krakend.json into the structs it gave Setup
// (an in-place reload) while it serves must neither race with the
// instrumentation nor change it half-way: Setup reads the configuration
// once, and a new configuration takes a new Setup.
func TestAnInPlaceReloadDoesNotReachTheInstrumentation(t *testing.T) {
	const endpoints = `[
		{"endpoint": "/users/{id}", "backend": [{"url_pattern": "/v1/users/{id}"}]},
		{"endpoint": "/orders/{id}", "backend": [{"url_pattern": "/v1/orders/{id}"}]}]`
	const reloadedEndpoints = `[
		{"endpoint": "/users/{id}", "extra_config": {"telemetry/opentelemetry": {"proxy": {"disable_traces": true}}},
			"backend": [{"url_pattern": "/v1/users/{id}", "extra_config": {"telemetry/opentelemetry": {"backend": {
				"traces": {"disable_stage": true}, "metrics": {"disable_stage": true}}}}}]},
		{"endpoint": "/orders/{id}", "backend": [{"url_pattern": "/v1/orders/{id}"}]}]`
	cfg := parse(t, krakendJSON("", endpoints))
	reloaded := parse(t, krakendJSON(`{"exporters": {"otlp": [{"name": "c"}]}, "layers": {
		"proxy": {"disable_traces": true, "disable_metrics": true},
		"backend": {"traces": {"disable_stage": true}, "metrics": {"disable_stage": true}}}}`, reloadedEndpoints))

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	mp := sdkmetric.NewMeterProvider()
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	tel, shutdown, err := gatewayotel.Setup(context.Background(), cfg.OpenTelemetry,
		gatewayotel.WithTracerProvider(tp), gatewayotel.WithMeterProvider(mp), gatewayotel.WithEndpoints(cfg.Endpoints))
	require.NoError(t, err)
	t.Cleanup(func() { _ = shutdown(context.Background()) })

	ok := func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: http.NoBody}, nil
	}
	call := func(route, pattern string) {
		_, _ = tel.Proxy(context.Background(), route, "GET", func(ctx context.Context) (int, error) {
			rt := tel.Transport(roundTripFunc(ok), gatewayotel.BackendInfo{EndpointRoute: route, URLPattern: pattern})
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://backend.invalid"+pattern, nil)
			if err != nil {
				return 0, err
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				return 0, err
			}
			return resp.StatusCode, resp.Body.Close()
		})
	}

	// The reload happens while requests are served, the first ones of
	// their routes among them (-race sees the two meet).
	var wg sync.WaitGroup
	wg.Go(func() {
		*cfg.OpenTelemetry = *reloaded.OpenTelemetry
		copy(cfg.Endpoints, reloaded.Endpoints)
	})
	wg.Go(func() { call("/orders/{id}", "/v1/orders/{id}") })
	wg.Wait()

	// Routes first used after the reload are instrumented as Setup read
	// the configuration, like those used before it.
	spans.Reset()
	call("/users/{id}", "/v1/users/{id}")
	call("/other", "/v1/other")
	got := map[string]int{}
	for _, s := range spans.Ended() {
		got[classifySpan(s).String()+" "+s.Name()]++
	}
	for _, want := range []string{
		layer.ProxyStage.String() + " /users/:id",
		layer.BackendStage.String() + " /v1/users/:id",
		layer.ProxyStage.String() + " /other",
		layer.BackendStage.String() + " /v1/other",
	} {
		assert.Equal(t, 1, got[want], "%s: spans %v", want, got)
	}
}
