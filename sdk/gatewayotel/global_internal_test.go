package gatewayotel

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// A pattern without a method matches any method a client sends: the
// global layer must not keep one endpoint per method it sees.
func TestClientMethodsDoNotGrowTheEndpointCache(t *testing.T) {
	tel, _, err := Setup(context.Background(), &krakend.OpenTelemetry{},
		WithTracerProvider(tracenoop.NewTracerProvider()), WithMeterProvider(metricnoop.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/any/{id}", func(http.ResponseWriter, *http.Request) {})
	h := tel.GlobalHandler(mux, nil)
	for i := range 100 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("M"+strconv.Itoa(i), "/any/1", nil))
	}
	n := 0
	tel.endpoints.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Fatalf("%d endpoints cached for 100 client methods", n)
	}
}

func TestPanicTypeNamesTheValuesType(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{"boom", "string"},
		{42, "int"},
		{http.ErrAbortHandler, "*errors.errorString"},
		{&http.MaxBytesError{}, "*http.MaxBytesError"}, // as the SDK names a pointer
		{krakend.Attribute{}, "github.com/otelcol-gateway/otelcol-gateway/config/krakend.Attribute"},
	} {
		if got := panicType(tt.v); got != tt.want {
			t.Errorf("panicType(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
