package gatewayotel_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

// A gateway reads its krakend.json and sends OTLP to the collector named
// there; shutdown flushes what is left. (Not run: it serves forever.)
func ExampleSetup() {
	cfg, err := krakend.Parse([]byte(`{"version": 3, "name": "my-gateway", "extra_config": {
		"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "collector", "host": "localhost", "port": 4317}]}}}}`), "krakend.json")
	if err != nil {
		panic(err)
	}
	tel, shutdown, err := gatewayotel.Setup(context.Background(), cfg.OpenTelemetry, gatewayotel.WithEndpoints(cfg.Endpoints))
	if err != nil {
		panic(err)
	}
	defer func() { _ = shutdown(context.Background()) }()

	mux := http.NewServeMux()
	// ... the gateway's endpoints, each calling Endpoint(...).Proxy and its
	// backends through tel.Transport ...
	_ = http.ListenAndServe(":8080", tel.GlobalHandler(mux, nil))
}

// The three layers of one request, in the order their spans end.
func ExampleTelemetry_Transport() {
	cfg, _ := krakend.Parse([]byte(`{"version": 3, "extra_config": {
		"telemetry/opentelemetry": {"exporters": {"otlp": [{"name": "c"}]}}}}`), "")
	spans := tracetest.NewSpanRecorder()
	tel, shutdown, _ := gatewayotel.Setup(context.Background(), cfg.OpenTelemetry,
		gatewayotel.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))),
		gatewayotel.WithMeterProvider(sdkmetric.NewMeterProvider()))
	defer func() { _ = shutdown(context.Background()) }()

	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"id": 42}`)
	}))
	defer backend.Close()
	client := &http.Client{Transport: tel.Transport(nil, gatewayotel.BackendInfo{
		EndpointRoute: "/users/{id}", URLPattern: "/v1/users/{id}",
	})}

	ctx := context.Background()
	_, _ = tel.Proxy(ctx, "/users/{id}", "GET", func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+"/v1/users/42", nil)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return resp.StatusCode, err
	})
	for _, s := range spans.Ended() {
		for _, a := range s.Attributes() {
			if a.Key == gatewayotel.StageKey {
				fmt.Printf("%-34s %-8s %s\n", s.Name(), s.SpanKind(), a.Value.AsString())
			}
		}
	}
	// Output:
	// /v1/users/:id                      client   backend-request
	// http.client.response.read.tracker  internal backend-request
	// /v1/users/:id                      internal backend
	// /users/:id                         internal proxy
}

// Only a rate strictly between 0 and 1 samples.
func ExampleSampler() {
	for _, r := range []float64{0, 0.25, 1} {
		fmt.Println(r, gatewayotel.Sampler(r).Description())
	}
	// Output:
	// 0 AlwaysOnSampler
	// 0.25 ParentBased{root:TraceIDRatioBased{0.25},remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}
	// 1 AlwaysOnSampler
}

func ExampleColonRoute() {
	fmt.Println(gatewayotel.ColonRoute("/users/{id}/orders/{order}"))
	// Output: /users/:id/orders/:order
}
