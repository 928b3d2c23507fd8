package gatewayotel_test

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/goleak"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

func traceIDWithLow(v uint64) trace.TraceID {
	var id trace.TraceID
	id[0] = 1
	binary.BigEndian.PutUint64(id[8:], v)
	return id
}

func decide(s sdktrace.Sampler, id trace.TraceID, parent trace.SpanContext) bool {
	ctx := trace.ContextWithSpanContext(context.Background(), parent)
	return s.ShouldSample(sdktrace.SamplingParameters{ParentContext: ctx, TraceID: id, Name: "x"}).Decision == sdktrace.RecordAndSample
}

func TestSamplerFollowsKrakenDsRule(t *testing.T) {
	unsampledParent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: traceIDWithLow(1), SpanID: trace.SpanID{1}, Remote: true})
	sampledParent := unsampledParent.WithTraceFlags(trace.FlagsSampled)
	low, high := traceIDWithLow(0), traceIDWithLow(^uint64(0))
	tests := []struct {
		name   string
		rate   float64
		id     trace.TraceID
		parent trace.SpanContext
		want   bool
	}{
		{"a rate of 1 keeps everything", 1, high, trace.SpanContext{}, true},
		{"a rate of 0 keeps everything (only 0 < r < 1 samples)", 0, high, trace.SpanContext{}, true},
		{"a negative rate keeps everything", -1, high, trace.SpanContext{}, true},
		{"a rate above 1 keeps everything", 2, high, trace.SpanContext{}, true},
		{"outside (0, 1) an unsampled parent is overridden", 1, high, unsampledParent, true},
		{"at 0.5 a root with low trace ID bits is kept", 0.5, low, trace.SpanContext{}, true},
		{"at 0.5 a root with high trace ID bits is dropped", 0.5, high, trace.SpanContext{}, false},
		{"at 0.5 a sampled parent is followed", 0.5, high, sampledParent, true},
		{"at 0.5 an unsampled parent is followed", 0.5, low, unsampledParent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, decide(gatewayotel.Sampler(tt.rate), tt.id, tt.parent))
		})
	}
}

func TestResourceSaysWhoTheGatewayIs(t *testing.T) {
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-env,k8s.pod.name=gw-0")
	cfg := parse(t, krakendJSON(`{"service_name": "edge", "service_version": "2.13", "deploy_env": "prod", "exporters": {"otlp": [{"name": "c"}]}}`, "")).OpenTelemetry
	res, err := gatewayotel.Resource(context.Background(), cfg)
	require.NoError(t, err)
	assert.Equal(t, gatewayotel.SchemaURL, res.SchemaURL())
	attrs := attrMap(res.Attributes())
	assert.Equal(t, "edge", attrs["service.name"], "the configured keys win over the environment")
	assert.Equal(t, "2.13", attrs["service.version"])
	assert.Equal(t, "prod", attrs["deployment.environment"])
	assert.Equal(t, "gw-0", attrs["k8s.pod.name"], "the environment is merged in")
	assert.Len(t, attrs["service.instance.id"], 36)
	for _, k := range keys(attrs) {
		assert.NotContains(t, k, "telemetry.sdk", "KrakenD sends no telemetry.sdk.*")
	}

	other, err := gatewayotel.Resource(context.Background(), cfg)
	require.NoError(t, err)
	assert.NotEqual(t, attrs["service.instance.id"], attrMap(other.Attributes())["service.instance.id"], "two replicas never collide")

	fixed, err := gatewayotel.Resource(context.Background(), cfg, gatewayotel.WithInstanceID("gw-a"))
	require.NoError(t, err)
	assert.Equal(t, "gw-a", attrMap(fixed.Attributes())["service.instance.id"])
}

func TestResourceHasNoEnvironmentWithoutDeployEnv(t *testing.T) {
	cfg := parse(t, krakendJSON("", "")).OpenTelemetry
	res, err := gatewayotel.Resource(context.Background(), cfg, gatewayotel.WithServiceVersion("1.0.0"))
	require.NoError(t, err)
	attrs := attrMap(res.Attributes())
	assert.Equal(t, "test-gw", attrs["service.name"], "service_name defaults to the root name")
	assert.Equal(t, "1.0.0", attrs["service.version"])
	assert.NotContains(t, attrs, "deployment.environment")
}

// A malformed OTEL_RESOURCE_ATTRIBUTES is an operator's typo, not a reason
// for the gateway not to start: the SDK keeps the well-formed pairs and says
// the resource is partial (resource.ErrPartialResource). Resource returns
// that partial resource with the error, as resource.New does; Setup uses it
// and reports the problem to the OpenTelemetry error handler, as it does an
// unknown OTEL_PROPAGATORS name.
func TestAMalformedResourceVariableIsReportedNotFatal(t *testing.T) {
	h := &recordingErrorHandler{}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(h)
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "k8s.pod.name=gw-0,oops,service.instance.id=gw-a")
	cfg := &krakend.OpenTelemetry{ServiceName: "edge"}
	wantAttrs := func(t *testing.T, res *resource.Resource) {
		t.Helper()
		require.NotNil(t, res)
		assert.Equal(t, gatewayotel.SchemaURL, res.SchemaURL())
		attrs := attrMap(res.Attributes())
		assert.Equal(t, "edge", attrs["service.name"], "the configured keys are kept")
		assert.Equal(t, "gw-0", attrs["k8s.pod.name"], "the well-formed pairs are kept")
		assert.Equal(t, "gw-a", attrs["service.instance.id"])
	}

	t.Run("Resource returns the partial resource and the error", func(t *testing.T) {
		res, err := gatewayotel.Resource(context.Background(), cfg)
		require.ErrorIs(t, err, resource.ErrPartialResource)
		assert.ErrorContains(t, err, "OTEL_RESOURCE_ATTRIBUTES")
		assert.ErrorContains(t, err, "oops")
		wantAttrs(t, res)
	})

	t.Run("Setup starts and reports it", func(t *testing.T) {
		h.mu.Lock()
		h.errs = nil
		h.mu.Unlock()
		reader := sdkmetric.NewManualReader()
		tel, shutdown, err := gatewayotel.Setup(context.Background(), cfg, gatewayotel.WithMeterProviderOptions(sdkmetric.WithReader(reader)))
		require.NoError(t, err)
		t.Cleanup(func() { _ = shutdown(context.Background()) })
		_, _ = tel.Proxy(context.Background(), "/x", "GET", func(context.Context) (int, error) { return http.StatusOK, nil })
		var rm metricdata.ResourceMetrics
		require.NoError(t, reader.Collect(context.Background(), &rm))
		wantAttrs(t, rm.Resource)
		h.mu.Lock()
		defer h.mu.Unlock()
		// The SDK's providers report the variable too, on their own
		// (resource.Environment in their WithResource): count ours.
		var ours []error
		for _, err := range h.errs {
			if strings.HasPrefix(err.Error(), "gatewayotel: ") {
				ours = append(ours, err)
			}
		}
		require.Len(t, ours, 1, "Setup reports the problem once: %v", h.errs)
		assert.ErrorIs(t, ours[0], resource.ErrPartialResource)
		assert.ErrorContains(t, ours[0], "OTEL_RESOURCE_ATTRIBUTES")
	})
}

// echoBackend records the headers each request carried.
func echoBackend(t *testing.T) (*httptest.Server, chan http.Header) {
	got := make(chan http.Header, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		_, _ = w.Write([]byte(backendBody))
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

const incomingTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

func TestTracecontextIsReadAndPassedOnToBackends(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	backend, headers := echoBackend(t)
	g := newGateway(t, r.tel, backend.Config.Handler)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", http.Header{"Traceparent": {incomingTraceparent}}))

	got := spansByClass(t, r.spans.Ended())
	gl := got[layer.GlobalStage]
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", gl.SpanContext().TraceID().String())
	assert.Equal(t, "b7ad6b7169203331", gl.Parent().SpanID().String())
	assert.True(t, gl.Parent().IsRemote())
	h := <-headers
	rt := got[layer.BackendRoundTrip].SpanContext()
	assert.Equal(t, "00-"+rt.TraceID().String()+"-"+rt.SpanID().String()+"-01", h.Get("Traceparent"),
		"the backend's parent is the backend-request span")
}

func TestDisablePropagationOnlyStopsReading(t *testing.T) {
	r := newRig(t, krakendJSON(`{"exporters": {"otlp": [{"name": "c"}]}, "layers": {"global": {"disable_propagation": true}}}`, ""))
	backend, headers := echoBackend(t)
	g := newGateway(t, r.tel, backend.Config.Handler)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", http.Header{"Traceparent": {incomingTraceparent}}))
	gl := spansByClass(t, r.spans.Ended())[layer.GlobalStage]
	assert.False(t, gl.Parent().IsValid(), "the incoming context is ignored")
	assert.NotEmpty(t, (<-headers).Get("Traceparent"), "backends still receive one")
}

func TestAnUnsampledRequestSendsNoTraceparent(t *testing.T) {
	r := newRig(t, krakendJSON(`{"trace_sample_rate": 0.5, "exporters": {"otlp": [{"name": "c"}]}}`, ""))
	backend, headers := echoBackend(t)
	g := newGateway(t, r.tel, backend.Config.Handler)
	unsampled := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", http.Header{"Traceparent": {unsampled}}))
	assert.Empty(t, r.spans.Ended())
	assert.Empty(t, (<-headers).Get("Traceparent"))
	assert.NotEmpty(t, r.metrics(t), "metrics are never sampled")
}

func TestB3CanBeChosen(t *testing.T) {
	r := newRig(t, krakendJSON("", ""), gatewayotel.WithPropagators("b3"))
	backend, headers := echoBackend(t)
	g := newGateway(t, r.tel, backend.Config.Handler)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", http.Header{"B3": {"0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1"}}))
	gl := spansByClass(t, r.spans.Ended())[layer.GlobalStage]
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", gl.SpanContext().TraceID().String())
	h := <-headers
	assert.NotEmpty(t, h.Get("B3"))
	assert.Empty(t, h.Get("Traceparent"))

	_, _, err := gatewayotel.Setup(context.Background(), parse(t, krakendJSON("", "")).OpenTelemetry, gatewayotel.WithPropagators("jaeger"))
	assert.ErrorContains(t, err, `unknown propagator "jaeger"`)
}

func TestColonRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/users/{id}":            "/users/:id",
		"/users/:id":             "/users/:id",
		"/a/{x}/b/{y}":           "/a/:x/b/:y",
		"/files/{path...}":       "/files/:path",
		"/exact/{$}":             "/exact/",
		"/__health":              "/__health",
		"/broken/{unterminated":  "/broken/{unterminated",
		"/v1/{tenant}-{id}/data": "/v1/:tenant-:id/data",
	} {
		assert.Equal(t, want, gatewayotel.ColonRoute(in), in)
	}
}

func TestSetupWithoutAConfigurationFails(t *testing.T) {
	_, _, err := gatewayotel.Setup(context.Background(), nil)
	assert.Error(t, err)
}

func TestResourceWithoutAConfigurationFails(t *testing.T) {
	require.NotPanics(t, func() {
		res, err := gatewayotel.Resource(context.Background(), nil)
		assert.Error(t, err)
		assert.Nil(t, res)
	})
}

func TestWithoutATraceExporterBackendsReceiveNoTraceparent(t *testing.T) {
	cfg := parse(t, krakendJSON(`{"exporters": {"otlp": [{"name": "c", "disable_traces": true}]}}`, "")).OpenTelemetry
	tel, shutdown, err := gatewayotel.Setup(context.Background(), cfg, gatewayotel.WithMeterProvider(metricnoop.NewMeterProvider()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = shutdown(context.Background()) })
	backend, headers := echoBackend(t)
	g := newGateway(t, tel, backend.Config.Handler)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", http.Header{"Traceparent": {incomingTraceparent}}))
	assert.Empty(t, (<-headers).Get("Traceparent"), "no span is recorded, as with KrakenD's noop provider")
}

// KrakenD's propagator is autoprop.NewTextMapPropagator() (krakend-otel
// otel.go:86): OTEL_PROPAGATORS chooses it, "none" propagates nothing, and
// names it does not know are skipped.
func TestOTELPropagatorsChoosesThePropagators(t *testing.T) {
	for _, tt := range []struct {
		env             string
		b3, traceparent bool
	}{
		{"b3multi", true, false},
		{"tracecontext,b3", true, true},
		{"none", false, false},
		{"tracecontext,none", false, false},
		{"nonsense", false, true}, // nothing known: the default
	} {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv("OTEL_PROPAGATORS", tt.env)
			r := newRig(t, krakendJSON("", ""))
			backend, headers := echoBackend(t)
			g := newGateway(t, r.tel, backend.Config.Handler)
			require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
			h := <-headers
			assert.Equal(t, tt.b3, h.Get("X-B3-Traceid") != "" || h.Get("B3") != "", "b3")
			assert.Equal(t, tt.traceparent, h.Get("Traceparent") != "", "traceparent")
		})
	}

	t.Run("WithPropagators wins", func(t *testing.T) {
		t.Setenv("OTEL_PROPAGATORS", "b3multi")
		r := newRig(t, krakendJSON("", ""), gatewayotel.WithPropagators("tracecontext"))
		backend, headers := echoBackend(t)
		g := newGateway(t, r.tel, backend.Config.Handler)
		require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
		h := <-headers
		assert.Empty(t, h.Get("X-B3-Traceid"))
		assert.NotEmpty(t, h.Get("Traceparent"))
	})
}

// A Setup that fails part-way shuts down what it had built before it
// returns: no batch span processor, periodic reader or exporter connection
// outlives the error, even when the caller's context is what failed it.
func TestAFailedSetupLeavesNothingRunning(t *testing.T) {
	collector := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(collector.Close)
	host, port := hostPort(t, collector.URL)
	good := krakend.OTLPExporter{Name: "good", Host: host, Port: port, UseHTTP: true}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name      string
		ctx       context.Context
		exporters []krakend.OTLPExporter
		wantErr   string
	}{
		{
			name: "the second trace exporter cannot be built",
			ctx:  context.Background(),
			exporters: []krakend.OTLPExporter{good,
				{Name: "bad", Host: "bad%zz", Port: 4317}}, // gRPC refuses the target
			wantErr: `exporters.otlp "bad"`,
		},
		{
			name: "the second metric exporter cannot be built",
			ctx:  context.Background(),
			exporters: []krakend.OTLPExporter{good,
				{Name: "bad", Host: "bad host", Port: 4318, UseHTTP: true}}, // no metrics URL
			wantErr: `exporters.otlp "bad"`,
		},
		{
			// The tracer provider is built (gRPC does not look at the
			// context) and must be shut down although ctx is done.
			name: "a metric exporter fails under a canceled context",
			ctx:  canceled,
			exporters: []krakend.OTLPExporter{
				{Name: "traces", Host: "127.0.0.1", Port: freePort(t), DisableMetrics: true},
				{Name: "bad", Host: "bad host", Port: 4318, UseHTTP: true, DisableTraces: true}},
			wantErr: `exporters.otlp "bad"`,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			cfg := &krakend.OpenTelemetry{ServiceName: "gw", Exporters: krakend.Exporters{OTLP: tt.exporters}}
			tel, shutdown, err := gatewayotel.Setup(tt.ctx, cfg)
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, tel)
			assert.Nil(t, shutdown)
		})
	}
}

// `defer shutdown(ctx)` next to an explicit call is the usual way to use
// Setup: a second call, or several at once, return nil once the first has
// flushed.
func TestShutdownCanBeCalledMoreThanOnce(t *testing.T) {
	collector := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(collector.Close)
	host, port := hostPort(t, collector.URL)
	cfg := &krakend.OpenTelemetry{ServiceName: "gw", Exporters: krakend.Exporters{OTLP: []krakend.OTLPExporter{
		{Name: "c", Host: host, Port: port, UseHTTP: true},
	}}}

	t.Run("one after the other", func(t *testing.T) {
		_, shutdown, err := gatewayotel.Setup(context.Background(), cfg)
		require.NoError(t, err)
		require.NoError(t, shutdown(context.Background()))
		assert.NoError(t, shutdown(context.Background()))
	})

	t.Run("at the same time", func(t *testing.T) {
		_, shutdown, err := gatewayotel.Setup(context.Background(), cfg)
		require.NoError(t, err)
		const callers = 8
		errs := make(chan error, callers)
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() { errs <- shutdown(context.Background()) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
	})
}

// A second call waits for the first one's flush: it returns nil only once
// that is done, and gives up with its own context.
func TestASecondShutdownWaitsForTheFirst(t *testing.T) {
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	collector := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		<-release
	}))
	t.Cleanup(collector.Close)
	host, port := hostPort(t, collector.URL)
	cfg := &krakend.OpenTelemetry{ServiceName: "gw", Exporters: krakend.Exporters{OTLP: []krakend.OTLPExporter{
		{Name: "c", Host: host, Port: port, UseHTTP: true},
	}}}
	tel, shutdown, err := gatewayotel.Setup(context.Background(), cfg)
	require.NoError(t, err)
	_, _ = tel.Proxy(context.Background(), "/users/{id}", "GET", func(context.Context) (int, error) { return http.StatusOK, nil })

	first := make(chan error, 1)
	go func() { first <- shutdown(context.Background()) }()
	<-arrived // the first call is flushing, held by the collector

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, shutdown(canceled), context.Canceled, "the first call has not finished")
	close(release)
	assert.NoError(t, <-first)
	assert.NoError(t, shutdown(context.Background()))
}

// An option chosen at run time may be left nil (`var tlsOpt Option; if
// ... { tlsOpt = WithTLS(c) }`): a nil Option changes nothing.
func TestANilOptionIsIgnored(t *testing.T) {
	cfg := parse(t, krakendJSON("", "")).OpenTelemetry
	var none gatewayotel.Option
	require.NotPanics(t, func() {
		res, err := gatewayotel.Resource(context.Background(), cfg, none, gatewayotel.WithInstanceID("gw-a"))
		require.NoError(t, err)
		assert.Equal(t, "gw-a", attrMap(res.Attributes())["service.instance.id"])

		_, shutdown, err := gatewayotel.Setup(context.Background(), cfg, none,
			gatewayotel.WithTracerProvider(tracenoop.NewTracerProvider()), gatewayotel.WithMeterProvider(metricnoop.NewMeterProvider()))
		require.NoError(t, err)
		assert.NoError(t, shutdown(context.Background()))
	})
}

type recordingErrorHandler struct {
	mu   sync.Mutex
	errs []error
}

func (h *recordingErrorHandler) Handle(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, err)
}

// OpenTelemetry reads an empty variable as an unset one, and a stray comma
// names nothing: neither is an unknown propagator to report.
func TestAnEmptyOTELPropagatorsEntryIsNotReportedAsUnknown(t *testing.T) {
	h := &recordingErrorHandler{}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(h)
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	for _, env := range []string{"", "tracecontext,", " , baggage"} {
		t.Setenv("OTEL_PROPAGATORS", env)
		newRig(t, krakendJSON("", ""))
	}
	h.mu.Lock()
	assert.Empty(t, h.errs)
	h.mu.Unlock()

	t.Setenv("OTEL_PROPAGATORS", "tracecontext,,jaeger")
	newRig(t, krakendJSON("", ""))
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.errs, 1, "an unknown name is still reported")
	assert.ErrorContains(t, h.errs[0], `skipping "jaeger"`)
}
