package gatewayotel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

func TestTheVocabularyIsTheLayerModels(t *testing.T) {
	assert.Equal(t, layer.ScopeName, gatewayotel.ScopeName)
	assert.Equal(t, layer.StageKey, gatewayotel.StageKey)
	assert.Equal(t, layer.StageGlobal, gatewayotel.StageGlobal)
	assert.Equal(t, layer.StageProxy, gatewayotel.StageProxy)
	assert.Equal(t, layer.StageBackend, gatewayotel.StageBackend)
	assert.Equal(t, layer.StageBackendRequest, gatewayotel.StageBackendRequest)
	assert.Equal(t, layer.ReadTrackerSpanName, gatewayotel.ReadTrackerSpanName)
	assert.Equal(t, gatewaydata.TimeBuckets, gatewayotel.TimeBuckets)
	assert.Equal(t, gatewaydata.SizeBuckets, gatewayotel.SizeBuckets)
}

// spansByClass indexes the spans of one request by their layer class.
func spansByClass(t *testing.T, spans []sdktrace.ReadOnlySpan) map[layer.Class]sdktrace.ReadOnlySpan {
	t.Helper()
	out := map[layer.Class]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		c := classifySpan(s)
		require.NotEqual(t, layer.Unclassified, c, "span %q is unclassified", s.Name())
		require.NotContains(t, out, c, "two spans of class %s", c)
		out[c] = s
	}
	return out
}

func TestARequestMakesTheFiveSpansOfTheDesign(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	g := newGateway(t, r.tel, nil)
	req := http.Header{"User-Agent": {"curl/8.0"}}
	require.Equal(t, http.StatusOK, g.get(t, "/users/42?full=1", req))

	require.Len(t, r.spans.Ended(), 5)
	got := spansByClass(t, r.spans.Ended())
	gwHost := g.srv.Listener.Addr().String()
	beHost := g.backend.Listener.Addr().String()
	backendURL := g.backend.URL + "/v1/users/42"
	n := int64(len(backendBody))

	want := []struct {
		class  layer.Class
		name   string
		kind   trace.SpanKind
		status codes.Code
		attrs  map[string]any // nil values: present, value not compared
	}{
		{layer.GlobalStage, "/users/42", trace.SpanKindServer, codes.Ok, map[string]any{
			"krakend.stage": "global", "url.full": "/users/42?full=1", "server.address": gwHost,
			"http.request.method": "GET", "user_agent.original": "curl/8.0", "client.address": "127.0.0.1",
			"http.request.body.size": int64(0), "http.route": "/users/:id",
			"http.response.status_code": int64(200), "http.response.body.size": n,
		}},
		{layer.ProxyStage, "/users/:id", trace.SpanKindInternal, codes.Unset, map[string]any{
			"krakend.stage": "proxy", "http.request.method": "GET", "http.route": "/users/:id",
			"http.response.status_code": int64(200), "complete": true,
		}},
		{layer.BackendStage, "/v1/users/:id", trace.SpanKindInternal, codes.Unset, map[string]any{
			"krakend.stage": "backend", "http.request.method": "GET", "http.route": "/v1/users/:id",
			"krakend.endpoint.route": "/users/:id", "krakend.endpoint.method": "GET",
			"http.response.status_code": int64(200), "complete": true,
		}},
		{layer.BackendRoundTrip, "/v1/users/:id", trace.SpanKindClient, codes.Ok, map[string]any{
			"krakend.stage": "backend-request", "http.request.method": "GET", "http.route": "/v1/users/:id",
			"krakend.endpoint.route": "/users/:id", "krakend.endpoint.method": "GET",
			"url.full": backendURL, "server.address": beHost, "http.request.body.size": int64(0),
			"http.response.status_code": int64(200), "http.response.body.size": n,
			"response-duration": nil, "get-conn-duration": nil, "dns-duration": nil, "tls-duration": nil,
		}},
		{layer.BackendReadPayload, layer.ReadTrackerSpanName, trace.SpanKindInternal, codes.Ok, map[string]any{
			"krakend.stage": "backend-request", "http.request.method": "GET", "http.route": "/v1/users/:id",
			"krakend.endpoint.route": "/users/:id", "krakend.endpoint.method": "GET",
			"http.client.response.read.size": n, "http.client.response.read.time": nil,
		}},
	}
	for _, w := range want {
		t.Run(w.class.String(), func(t *testing.T) {
			s := got[w.class]
			require.NotNil(t, s)
			assert.Equal(t, w.name, s.Name())
			assert.Equal(t, w.kind, s.SpanKind())
			assert.Equal(t, w.status, s.Status().Code)
			assert.Equal(t, gatewayotel.ScopeName, s.InstrumentationScope().Name)
			assert.Empty(t, s.InstrumentationScope().Version)
			attrs := attrMap(s.Attributes())
			assert.ElementsMatch(t, keys(w.attrs), keys(attrs), "attribute keys")
			for k, v := range w.attrs {
				if v != nil {
					assert.Equal(t, v, attrs[k], k)
				}
			}
		})
	}

	// global → proxy → backend → backend-request → read tracker
	chain := []layer.Class{layer.GlobalStage, layer.ProxyStage, layer.BackendStage, layer.BackendRoundTrip, layer.BackendReadPayload}
	assert.False(t, got[layer.GlobalStage].Parent().IsValid(), "the global span is the root")
	for i := 1; i < len(chain); i++ {
		parent, child := got[chain[i-1]], got[chain[i]]
		assert.Equal(t, parent.SpanContext().SpanID(), child.Parent().SpanID(), "%s is the child of %s", chain[i], chain[i-1])
		assert.Equal(t, parent.SpanContext().TraceID(), child.SpanContext().TraceID())
	}
	rt, rd := got[layer.BackendRoundTrip], got[layer.BackendReadPayload]
	assert.False(t, rd.StartTime().Before(rt.EndTime()), "the read tracker starts after the backend request has ended")
	require.Len(t, rt.Events(), 1)
	assert.Equal(t, "first-byte-time", rt.Events()[0].Name)
}

// wantMetricAttrs is DESIGN.md section 2's metric attributes per class, for
// the gateway of newGateway answering 200.
func wantMetricAttrs(c layer.Class, backendHost string, backendPort int) map[string]any {
	switch c {
	case layer.GlobalStage:
		return map[string]any{"http.request.method": "GET", "url.scheme": "http", "http.route": "/users/:id", "http.response.status_code": int64(200)}
	case layer.ProxyStage:
		return map[string]any{"http.request.method": "GET", "http.route": "/users/:id", "error": false, "canceled": false, "complete": true}
	}
	backend := map[string]any{"http.request.method": "GET", "http.route": "/v1/users/:id", "krakend.endpoint.route": "/users/:id", "krakend.endpoint.method": "GET"}
	switch c.Part {
	case layer.PartStage:
		backend["error"], backend["canceled"], backend["complete"] = false, false, true
	case layer.PartRoundTrip, layer.PartDetailedConnection:
		backend["clientname"], backend["server.address"], backend["server.port"], backend["http.response.status_code"] = "users", backendHost, int64(backendPort), int64(200)
	}
	return backend
}

// points returns each data point's attributes and, for histograms, bounds.
func points(t *testing.T, m metricdata.Metrics) (sets []attribute.Set, bounds [][]float64, histogram bool) {
	t.Helper()
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets, bounds = append(sets, p.Attributes), append(bounds, p.Bounds)
		}
		assert.Equal(t, metricdata.CumulativeTemporality, d.Temporality)
		return sets, bounds, true
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			sets, bounds = append(sets, p.Attributes), append(bounds, p.Bounds)
		}
		return sets, bounds, true
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
		assert.True(t, d.IsMonotonic)
		return sets, nil, false
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
		assert.True(t, d.IsMonotonic)
		return sets, nil, false
	}
	t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
	return nil, nil, false
}

func TestARequestRecordsTheMetricsOfTheDesign(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))

	got := r.metrics(t)
	host, port := hostPort(t, g.backend.URL)
	absent := map[string]bool{ // nothing failed, and the length was known
		"http.client.request.failed.count": true, "http.client.request.canceled.count": true,
		"http.client.request.timedout.count": true, "http.client.response.no-content-length": true,
	}
	for _, spec := range gatewaydata.Metrics {
		t.Run(spec.Name, func(t *testing.T) {
			m, ok := got[spec.Name]
			if absent[spec.Name] {
				assert.False(t, ok, "nothing to count")
				return
			}
			require.True(t, ok, "missing")
			assert.Equal(t, spec.Unit, m.Unit)
			assert.Equal(t, spec.Class, layer.ClassifyMetricName(m.Name))
			sets, bounds, hist := points(t, m)
			assert.Equal(t, spec.Histogram, hist)
			require.Len(t, sets, 1)
			if hist {
				want := gatewaydata.TimeBuckets
				if spec.Name == "http.server.response.size" || spec.Name == "http.client.response.size" || spec.Name == "http.client.response.read.size-hist" {
					want = gatewaydata.SizeBuckets
				}
				assert.Equal(t, want, bounds[0])
			}
			assert.Equal(t, wantMetricAttrs(spec.Class, host, port), attrMap(sets[0].ToSlice()))
		})
	}
	assert.Len(t, got, len(gatewaydata.Metrics)-len(absent), "no metric beyond the design's")
}

func TestSkipPathsLeaveNoTelemetry(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/__health", nil))
	assert.Empty(t, r.spans.Ended())
	assert.Empty(t, r.metrics(t))
}

func TestAParametrisedSkipPathSkipsProxyAndBackendInEitherForm(t *testing.T) {
	for _, form := range []string{"/users/{id}", "/users/:id"} {
		t.Run(form, func(t *testing.T) {
			r := newRig(t, krakendJSON(`{"skip_paths": ["`+form+`"], "exporters": {"otlp": [{"name": "c"}]}}`, ""))
			g := newGateway(t, r.tel, nil)
			require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
			got := spansByClass(t, r.spans.Ended())
			assert.Len(t, got, 1, "only the global span: its raw path is not a skip path")
			assert.Contains(t, got, layer.GlobalStage)
			assert.Empty(t, r.metrics(t), "the route is skipped, so are the global metrics")
		})
	}
}

func TestLayerSwitchesRemoveTheirSpansAndMetrics(t *testing.T) {
	ns := `{"exporters": {"otlp": [{"name": "c"}]}, "layers": {
		"proxy": {"disable_traces": true},
		"backend": {
			"traces": {"round_trip": false, "read_payload": false, "detailed_connection": true},
			"metrics": {"disable_stage": true, "round_trip": false, "read_payload": false, "detailed_connection": true}}}}`
	r := newRig(t, krakendJSON(ns, ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))

	got := spansByClass(t, r.spans.Ended())
	require.Len(t, got, 2)
	assert.Equal(t, got[layer.GlobalStage].SpanContext().SpanID(), got[layer.BackendStage].Parent().SpanID(),
		"with the proxy span off, the backend stage is the global span's child")

	var names []string
	for n := range r.metrics(t) {
		names = append(names, n)
	}
	assert.ElementsMatch(t, []string{"http.server.duration", "http.server.response.size", "krakend.proxy.duration"}, names,
		"detailed_connection alone produces nothing")
}

func TestReadPayloadAloneKeepsTheRoundTrip(t *testing.T) {
	ns := `{"exporters": {"otlp": [{"name": "c"}]}, "layers": {"backend": {
		"traces": {"read_payload": true}, "metrics": {"read_payload": true}}}}`
	r := newRig(t, krakendJSON(ns, ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
	got := spansByClass(t, r.spans.Ended())
	assert.Len(t, got, 5, "the backend-request span exists with read_payload")
	assert.NotContains(t, attrMap(got[layer.BackendRoundTrip].Attributes()), "get-conn-duration")
	m := r.metrics(t)
	assert.Contains(t, m, "http.client.duration", "round-trip metrics come with read_payload")
	assert.NotContains(t, m, "http.client.request.dns.duration")
}

func TestStaticAttributesHeadersAndEndpointOverrides(t *testing.T) {
	ns := `{"exporters": {"otlp": [{"name": "c"}]}, "layers": {
		"global": {"report_headers": true, "skip_headers": ["X-Secret"],
			"traces_static_attributes": [{"key": "team", "value": "edge"}, {"key": "", "value": "ignored"}, {"key": "krakend.stage", "value": "edge"}],
			"metrics_static_attributes": [{"key": "region", "value": "eu"}]},
		"backend": {
			"traces": {"round_trip": true, "read_payload": true, "report_headers": true, "static_attributes": [{"key": "tier", "value": "db"}, {"key": "krakend.stage", "value": "db"}]},
			"metrics": {"round_trip": true, "static_attributes": [{"key": "tier", "value": "db"}]}}}}`
	endpoints := `[{"endpoint": "/users/{id}", "method": "GET",
		"extra_config": {"telemetry/opentelemetry": {
			"proxy": {"disable_metrics": true, "traces_static_attributes": [{"key": "ep", "value": "users"}, {"key": "krakend.stage", "value": "users"}]},
			"global": {"metrics_static_attributes": [{"key": "ep", "value": "users"}]}}},
		"backend": [{"url_pattern": "/v1/users/{id}"}]}]`
	r := newRig(t, krakendJSON(ns, endpoints))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", http.Header{"X-Request-Id": {"req-1"}, "X-Secret": {"s"}}))

	got := spansByClass(t, r.spans.Ended())
	ga := attrMap(got[layer.GlobalStage].Attributes())
	assert.Equal(t, "edge", ga["team"])
	assert.Equal(t, []string{"req-1"}, ga["http.request.header.x-request-id"])
	assert.NotContains(t, ga, "http.request.header.x-secret")
	assert.Contains(t, ga, "http.response.header.content-type")
	assert.Equal(t, "users", attrMap(got[layer.ProxyStage].Attributes())["ep"], "the endpoint's proxy override")
	for _, c := range []layer.Class{layer.BackendStage, layer.BackendRoundTrip, layer.BackendReadPayload} {
		assert.Equal(t, "db", attrMap(got[c].Attributes())["tier"], c.String())
	}
	assert.Contains(t, attrMap(got[layer.BackendRoundTrip].Attributes()), "http.response.header.content-type")
	// a static krakend.stage never replaces a span's own layer marker
	for c, stage := range map[layer.Class]string{
		layer.GlobalStage: "global", layer.ProxyStage: "proxy", layer.BackendStage: "backend",
		layer.BackendRoundTrip: "backend-request", layer.BackendReadPayload: "backend-request",
	} {
		assert.Equal(t, stage, attrMap(got[c].Attributes())[gatewayotel.StageKey], c.String())
	}

	m := r.metrics(t)
	assert.NotContains(t, m, "krakend.proxy.duration", "the endpoint's proxy override disables its metrics")
	sets, _, _ := points(t, m["http.server.duration"])
	a := attrMap(sets[0].ToSlice())
	assert.Equal(t, "eu", a["region"])
	assert.Equal(t, "users", a["ep"], "the endpoint's global static attributes are added")
	sets, _, _ = points(t, m["http.client.duration"])
	assert.Equal(t, "db", attrMap(sets[0].ToSlice())["tier"])
}

func TestSemanticConvention127Names(t *testing.T) {
	r := newRig(t, krakendJSON(`{"exporters": {"otlp": [{"name": "c"}]}, "layers": {"global": {"semantic_convention": "1.27"}}}`, ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
	got := r.metrics(t)
	for _, spec := range gatewaydata.Metrics127 {
		m, ok := got[spec.Name]
		if assert.True(t, ok, spec.Name) {
			assert.Equal(t, spec.Unit, m.Unit, spec.Name)
			assert.Equal(t, spec.Class, layer.ClassifyMetricName(spec.Name))
		}
	}
	for _, old := range []string{"http.server.duration", "http.client.duration", "http.client.request.size"} {
		assert.NotContains(t, got, old)
	}
	assert.Equal(t, "s", got["http.client.request.dns.duration"].Unit)
	assert.Contains(t, got, "krakend.proxy.duration")
	assert.Contains(t, got, "http.client.response.read.size")
}

// blockingBackend holds every request until its client gives up, and says
// when one has arrived.
func blockingBackend(t *testing.T) (*httptest.Server, chan struct{}) {
	arrived := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, arrived
}

func roundTripCounts(t *testing.T, r *rig) map[string]int64 {
	out := map[string]int64{}
	for name, m := range r.metrics(t) {
		if s, ok := m.Data.(metricdata.Sum[int64]); ok && layer.ClassifyMetricName(name) == layer.BackendRoundTrip {
			for _, p := range s.DataPoints {
				out[name] += p.Value
			}
		}
	}
	return out
}

func TestATimedOutBackendCountsAsTimedOutAndFailed(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	srv, _ := blockingBackend(t)
	rt := r.tel.Transport(nil, gatewayotel.BackendInfo{EndpointRoute: "/slow", URLPattern: "/slow"})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	_, err := rt.RoundTrip(req)
	require.Error(t, err)

	c := roundTripCounts(t, r)
	assert.Equal(t, int64(1), c["http.client.request.started.count"])
	assert.Equal(t, int64(1), c["http.client.request.timedout.count"])
	assert.Equal(t, int64(1), c["http.client.request.failed.count"])
	assert.Zero(t, c["http.client.request.canceled.count"])

	got := spansByClass(t, r.spans.Ended())
	brq := got[layer.BackendRoundTrip]
	assert.Equal(t, codes.Error, brq.Status().Code)
	assert.NotContains(t, attrMap(brq.Attributes()), "error", "a transport error is an exception event, not an attribute")
	require.NotEmpty(t, brq.Events())
	assert.Equal(t, "exception", brq.Events()[0].Name)
	st := attrMap(got[layer.BackendStage].Attributes())
	assert.Equal(t, int64(500), st["http.response.status_code"])
	assert.Equal(t, false, st["complete"])
	assert.IsType(t, "", st["error"], "error is the message")
	sets, _, _ := points(t, r.metrics(t)["http.client.duration"])
	assert.Equal(t, int64(0), attrMap(sets[0].ToSlice())["http.response.status_code"], "status 0 on a transport error")
}

func TestACanceledRequestIsNotAFailedOne(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	srv, arrived := blockingBackend(t)
	rt := r.tel.Transport(nil, gatewayotel.BackendInfo{EndpointRoute: "/slow", URLPattern: "/slow"})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	_, err := rt.RoundTrip(req)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)

	c := roundTripCounts(t, r)
	assert.Equal(t, int64(1), c["http.client.request.canceled.count"])
	assert.Zero(t, c["http.client.request.failed.count"])
	st := attrMap(spansByClass(t, r.spans.Ended())[layer.BackendStage].Attributes())
	assert.Equal(t, true, st["canceled"])
	assert.NotContains(t, st, "error", "a canceled stage is not an error (lura/proxy_tracer.go)")
	m := onlyPointAttrs(t, r, "krakend.backend.duration")
	assert.Equal(t, false, m["error"], "a canceled stage is not an error (lura/proxy_meter.go)")
	assert.Equal(t, true, m["canceled"])
	assert.Equal(t, false, m["complete"])
}

// A proxy whose backends failed while another was canceled is an error and
// canceled both, as KrakenD counts Lura's multi-errors.
func TestAFailureBesideACancellationIsAnError(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	failed := errors.Join(context.Canceled, errors.New("backend down"))
	_, err := r.tel.Proxy(context.Background(), "/users/{id}", "GET", func(context.Context) (int, error) { return 0, failed })
	require.ErrorIs(t, err, context.Canceled)

	sp := attrMap(spansByClass(t, r.spans.Ended())[layer.ProxyStage].Attributes())
	assert.Equal(t, failed.Error(), sp["error"])
	assert.Equal(t, true, sp["canceled"])
	m := onlyPointAttrs(t, r, "krakend.proxy.duration")
	assert.Equal(t, true, m["error"])
	assert.Equal(t, true, m["canceled"])
}

// onlyPointAttrs is the attributes of the one data point of a metric.
func onlyPointAttrs(t *testing.T, r *rig, name string) map[string]any {
	t.Helper()
	sets, _, _ := points(t, r.metrics(t)[name])
	require.Len(t, sets, 1)
	return attrMap(sets[0].ToSlice())
}

// multiError is Lura's shape: Errors() and no Unwrap, so errors.Is cannot
// see the cancellations inside.
type multiError []error

func (m multiError) Error() string   { return fmt.Sprintf("%d errors", len(m)) }
func (m multiError) Errors() []error { return m }

// Every backend of a proxy canceled: KrakenD's meter finds the
// cancellations among the multi-error's members and counts no error.
func TestAProxyWhoseBackendsWereAllCanceledIsNoError(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	allCanceled := multiError{context.Canceled, fmt.Errorf("backend b: %w", context.Canceled)}
	_, err := r.tel.Proxy(context.Background(), "/users/{id}", "GET", func(context.Context) (int, error) { return 0, allCanceled })
	require.Error(t, err)

	sp := attrMap(spansByClass(t, r.spans.Ended())[layer.ProxyStage].Attributes())
	assert.Equal(t, true, sp["canceled"])
	assert.NotContains(t, sp, "error")
	m := onlyPointAttrs(t, r, "krakend.proxy.duration")
	assert.Equal(t, false, m["error"], "lura/proxy_meter.go report: every member canceled")
	assert.Equal(t, true, m["canceled"])
	assert.Equal(t, false, m["complete"])
}

// A HEAD response has no body: KrakenD records neither its size nor
// no-content-length (http/client/transport_metrics.go), whatever the
// backend says its length is. The round-trip metrics carry the method as
// sent, not normalised like the global layer's.
func TestAHeadRequestSizesNoResponse(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush() // chunked for a GET: no Content-Length
	}))
	t.Cleanup(srv.Close)
	rt := r.tel.Transport(nil, gatewayotel.BackendInfo{EndpointRoute: "/probe", URLPattern: "/probe"})
	for _, method := range []string{http.MethodHead, "PURGE"} {
		req, _ := http.NewRequest(method, srv.URL+"/probe", nil)
		resp, err := rt.RoundTrip(req)
		require.NoError(t, err, method)
		require.NoError(t, resp.Body.Close())
	}

	got := r.metrics(t)
	assert.Equal(t, int64(1), roundTripCounts(t, r)["http.client.response.no-content-length"], "the PURGE only")
	assert.NotContains(t, got, "http.client.response.size", "no known length: nothing sized")
	sets, _, _ := points(t, got["http.client.duration"])
	var methods []any
	for _, set := range sets {
		methods = append(methods, attrMap(set.ToSlice())["http.request.method"])
	}
	assert.ElementsMatch(t, []any{"HEAD", "PURGE"}, methods)
}

func TestAnUnknownLengthCountsAsNoContentLengthAndA5xxStaysOk(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	g := newGateway(t, r.tel, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.(http.Flusher).Flush() // chunked: no Content-Length
		_, _ = w.Write([]byte("down"))
	}))
	require.Equal(t, http.StatusServiceUnavailable, g.get(t, "/users/42", nil))

	c := roundTripCounts(t, r)
	assert.Equal(t, int64(1), c["http.client.response.no-content-length"])
	got := spansByClass(t, r.spans.Ended())
	assert.Equal(t, codes.Ok, got[layer.BackendRoundTrip].Status().Code, "a backend 5xx leaves the round trip Ok")
	assert.Equal(t, int64(-1), attrMap(got[layer.BackendRoundTrip].Attributes())["http.response.body.size"])
	assert.Equal(t, codes.Ok, got[layer.GlobalStage].Status().Code, "a 5xx the gateway wrote stays Ok")
	assert.Equal(t, int64(503), attrMap(got[layer.GlobalStage].Attributes())["http.response.status_code"])
	assert.Equal(t, "invalid status code", attrMap(got[layer.BackendStage].Attributes())["error"])
}

func TestAnUnmatchedRouteIsNamedByItsStatus(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusNotFound, g.get(t, "/nowhere", nil))
	sets, _, _ := points(t, r.metrics(t)["http.server.duration"])
	assert.Equal(t, "404 Not Found", attrMap(sets[0].ToSlice())["http.route"])
	s := r.spans.Ended()
	require.Len(t, s, 1)
	assert.Equal(t, "/nowhere", s[0].Name())
	assert.NotContains(t, attrMap(s[0].Attributes()), "http.route")
}

func TestServerPortIsTheBackendsRealPort(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
	_, port := hostPort(t, g.backend.URL)
	sets, _, _ := points(t, r.metrics(t)["http.client.duration"])
	assert.Equal(t, int64(port), attrMap(sets[0].ToSlice())["server.port"])
	assert.NotEqual(t, 80, port, strconv.Itoa(port))
}

func TestABackendStatusOtherThan200Or201IsAnErrorOfTheStage(t *testing.T) {
	// Lura's DefaultHTTPStatusHandler accepts 200 and 201 only.
	for _, status := range []int{http.StatusAccepted, http.StatusNoContent} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			r := newRig(t, krakendJSON("", ""))
			g := newGateway(t, r.tel, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(status)
			}))
			g.get(t, "/users/42", nil)
			st := attrMap(spansByClass(t, r.spans.Ended())[layer.BackendStage].Attributes())
			assert.Equal(t, "invalid status code", st["error"])
			assert.Equal(t, int64(500), st["http.response.status_code"])
			assert.Equal(t, false, st["complete"])
			m := onlyPointAttrs(t, r, "krakend.backend.duration")
			assert.Equal(t, true, m["error"])
		})
	}
}

// failingWriter is a ResponseWriter whose writes fail.
type failingWriter struct{ *httptest.ResponseRecorder }

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestAFailedWriteIsAnExceptionOfTheGlobalSpan(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	h := r.tel.GlobalHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("hello"))
	}), nil)
	h.ServeHTTP(failingWriter{httptest.NewRecorder()}, httptest.NewRequest(http.MethodGet, "/x", nil))

	s := r.spans.Ended()
	require.Len(t, s, 1)
	assert.Equal(t, codes.Error, s[0].Status().Code)
	assert.Equal(t, "broken pipe", s[0].Status().Description)
	require.Len(t, s[0].Events(), 1, "KrakenD records the write error (http/server/traces.go end)")
	assert.Equal(t, "exception", s[0].Events()[0].Name)
}

func TestAPanickingHandlerStillEndsItsSpan(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom/{id}", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	h := r.tel.GlobalHandler(mux, nil)
	assert.PanicsWithValue(t, http.ErrAbortHandler, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/boom/1", nil))
	}, "the panic goes on to net/http")

	s := r.spans.Ended()
	require.Len(t, s, 1, "the span is ended")
	assert.Equal(t, "/boom/:id", attrMap(s[0].Attributes())["http.route"])
	assert.Equal(t, int64(500), attrMap(s[0].Attributes())["http.response.status_code"])
	m := onlyPointAttrs(t, r, "http.server.duration")
	assert.Equal(t, int64(500), m["http.response.status_code"])
}

func TestASwitchingProtocolsBodyStaysWritable(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		_, _ = brw.WriteString(line)
		_ = brw.Flush()
	}))
	t.Cleanup(srv.Close)
	rt := r.tel.Transport(nil, gatewayotel.BackendInfo{EndpointRoute: "/ws", URLPattern: "/ws"})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	// httputil.ReverseProxy needs the body of a 101 to be writable.
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	require.True(t, ok, "the upgraded connection's body must stay an io.ReadWriteCloser")
	_, err = rwc.Write([]byte("ping\n"))
	require.NoError(t, err)
	got := make([]byte, 5)
	_, err = io.ReadFull(rwc, got)
	require.NoError(t, err)
	assert.Equal(t, "ping\n", string(got))
	require.NoError(t, rwc.Close())
	assert.Contains(t, spansByClass(t, r.spans.Ended()), layer.BackendStage, "closing ends the stage")
}

// Lura writes a backend's {userId} as {{.UserId}} (config/config.go
// initBackendURLMappings) and krakend-otel reports it as :userid
// (config/path_pattern.go:10-16, lowering the whole name); the endpoint
// keeps its case (Lura's GetEndpointPath writes :userId).
func TestABackendPlaceholderIsReportedLowerCased(t *testing.T) {
	endpoints := `[{"endpoint": "/users/{userId}", "method": "GET",
		"backend": [{"url_pattern": "/v1/users/{userId}", "extra_config": {"telemetry/opentelemetry": {"backend": {
			"metrics": {"round_trip": true}, "traces": {"round_trip": true, "read_payload": true, "static_attributes": [{"key": "override", "value": "yes"}]}}}}}]}]`
	r := newRig(t, krakendJSON("", endpoints))
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") }))
	t.Cleanup(backend.Close)
	rt := r.tel.Transport(nil, gatewayotel.BackendInfo{EndpointRoute: "/users/{userId}", URLPattern: "/v1/users/{userId}"})
	_, err := r.tel.Proxy(context.Background(), "/users/{userId}", "GET", func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, backend.URL+"/v1/users/42", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.ReadAll(resp.Body)
		return resp.StatusCode, err
	})
	require.NoError(t, err)

	got := spansByClass(t, r.spans.Ended())
	assert.Equal(t, "/users/:userId", got[layer.ProxyStage].Name(), "the endpoint keeps its case")
	for _, c := range []layer.Class{layer.BackendStage, layer.BackendRoundTrip} {
		assert.Equal(t, "/v1/users/:userid", got[c].Name(), c.String())
	}
	for _, c := range []layer.Class{layer.BackendStage, layer.BackendRoundTrip, layer.BackendReadPayload} {
		a := attrMap(got[c].Attributes())
		assert.Equal(t, "/v1/users/:userid", a["http.route"], c.String())
		assert.Equal(t, "/users/:userId", a["krakend.endpoint.route"], c.String())
	}
	assert.Equal(t, "yes", attrMap(got[layer.BackendRoundTrip].Attributes())["override"], "the backend's override still applies")
	sets, _, _ := points(t, r.metrics(t)["http.client.duration"])
	a := attrMap(sets[0].ToSlice())
	assert.Equal(t, "/v1/users/:userid", a["http.route"])
	assert.Equal(t, "/v1/users/:userid", a["clientname"], "KrakenD's clientname is the normalised pattern")
}

// KrakenD names an upgraded connection "Upgraded Connection" only when no
// endpoint matched: the matched pattern comes first
// (krakend-otel http/server/tracking.go:39-47).
func TestAnUpgradedConnectionKeepsItsMatchedRoute(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	upgrade := func(w http.ResponseWriter, _ *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		_ = brw.Flush()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws/{room}", upgrade)
	routeOf := func(r *http.Request) string {
		if r.URL.Path == "/plugin/ws" { // served outside any endpoint
			return ""
		}
		return gatewayotel.RouteFromPattern(r)
	}
	srv := httptest.NewServer(r.tel.GlobalHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plugin/ws" {
			upgrade(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), routeOf))
	t.Cleanup(srv.Close)
	for _, path := range []string{"/ws/lobby", "/plugin/ws"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "echo")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
		_ = resp.Body.Close()
	}
	// The handler records the metrics after it has ended the span, and
	// ends both after the client has its 101: wait for the data points.
	var sets []attribute.Set
	require.Eventually(t, func() bool {
		var rm metricdata.ResourceMetrics
		if err := r.reader.Collect(context.Background(), &rm); err != nil || len(rm.ScopeMetrics) == 0 {
			return false
		}
		for _, m := range rm.ScopeMetrics[0].Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "http.server.duration" {
				sets = sets[:0]
				for _, p := range h.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
		}
		return len(sets) == 2
	}, 5*time.Second, 10*time.Millisecond)
	require.Len(t, r.spans.Ended(), 2)

	var routes []any
	for _, s := range sets {
		routes = append(routes, attrMap(s.ToSlice())["http.route"])
	}
	assert.ElementsMatch(t, []any{"/ws/:room", "Upgraded Connection"}, routes)
}

// KrakenD upper-cases the method before checking it against the standard
// ones (krakend-otel http/server/metrics.go:62).
func TestAGlobalMetricsMethodIsUpperCasedFirst(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	h := r.tel.GlobalHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), func(*http.Request) string { return "/x" })
	for _, m := range []string{"get", "Post", "PURGE"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(m, "/x", nil))
	}
	sets, _, _ := points(t, r.metrics(t)["http.server.duration"])
	var methods []any
	for _, s := range sets {
		methods = append(methods, attrMap(s.ToSlice())["http.request.method"])
	}
	assert.ElementsMatch(t, []any{"GET", "POST", "_OTHER"}, methods)
}

// The backend-request span's method is the one sent: krakend-otel sets the
// request's own attributes (http/attributes.go:23, r.Method) after the
// configured ones (http/client/transport_traces.go:97-98). The other backend
// spans keep the configured method.
func TestTheBackendRequestSpanCarriesTheMethodSent(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "{}") }))
	t.Cleanup(backend.Close)
	rt := r.tel.Transport(nil, gatewayotel.BackendInfo{EndpointRoute: "/users", URLPattern: "/v1/users"})
	req, _ := http.NewRequest(http.MethodPost, backend.URL+"/v1/users", nil)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	_, _ = io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())

	got := spansByClass(t, r.spans.Ended())
	assert.Equal(t, "POST", attrMap(got[layer.BackendRoundTrip].Attributes())["http.request.method"])
	assert.Equal(t, "GET", attrMap(got[layer.BackendStage].Attributes())["http.request.method"])
	assert.Equal(t, "GET", attrMap(got[layer.BackendReadPayload].Attributes())["http.request.method"])
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// KrakenD tells a timeout by the request's context (krakend-otel
// http/client/transport_metrics.go:188-202), whatever error the transport
// returned.
func TestAnExpiredDeadlineCountsAsTimedOutWhateverTheError(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	base := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		<-req.Context().Done()
		return nil, errors.New("upstream gone")
	})
	rt := r.tel.Transport(base, gatewayotel.BackendInfo{EndpointRoute: "/slow", URLPattern: "/slow"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://backend.invalid/slow", nil)
	_, err := rt.RoundTrip(req)
	require.Error(t, err)

	c := roundTripCounts(t, r)
	assert.Equal(t, int64(1), c["http.client.request.timedout.count"])
	assert.Equal(t, int64(1), c["http.client.request.failed.count"])
	assert.Zero(t, c["http.client.request.canceled.count"])
}

// krakend-otel records each layer's metrics in the context of that layer's
// own span, so their exemplars point at it: the proxy and backend stage
// (lura/proxy.go:38-42), the round trip (http/client/transport.go:163, the
// request carrying the backend-request span) and the read tracker
// (io/tracking.go:29,72-76).
func TestExemplarsPointAtTheirLayersSpan(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
	spans := spansByClass(t, r.spans.Ended())
	m := r.metrics(t)
	for name, class := range map[string]layer.Class{
		"http.server.duration":                layer.GlobalStage,
		"krakend.proxy.duration":              layer.ProxyStage,
		"krakend.backend.duration":            layer.BackendStage,
		"http.client.duration":                layer.BackendRoundTrip,
		"http.client.request.dns.duration":    layer.BackendRoundTrip,
		"http.client.response.read.time-hist": layer.BackendReadPayload,
	} {
		h, ok := m[name].Data.(metricdata.Histogram[float64])
		require.True(t, ok, name)
		require.Len(t, h.DataPoints, 1, name)
		ex := h.DataPoints[0].Exemplars
		require.Len(t, ex, 1, name)
		want := spans[class].SpanContext().SpanID()
		assert.Equal(t, want[:], ex[0].SpanID, "%s: the exemplar is the %s span", name, class)
	}
}

// A static attribute never replaces what KrakenD sets after it: the global
// metrics' method, scheme, route and status (http/server/metrics.go:79-88,
// the endpoint's static attributes before them and the service's as an
// earlier option), and the round trip's clientname and method
// (http/client/transport_metrics.go:228-253).
func TestStaticAttributesDoNotReplaceTheFixedOnes(t *testing.T) {
	ns := `{"exporters": {"otlp": [{"name": "c"}]}, "layers": {
		"global": {"metrics_static_attributes": [{"key": "http.route", "value": "static"}, {"key": "url.scheme", "value": "static"}, {"key": "who", "value": "service"}]},
		"backend": {"traces": {"round_trip": true}, "metrics": {"round_trip": true, "static_attributes": [
			{"key": "clientname", "value": "static"}, {"key": "http.request.method", "value": "static"}, {"key": "http.response.status_code", "value": "static"}]}}}}`
	endpoints := `[{"endpoint": "/users/{id}", "method": "GET", "extra_config": {"telemetry/opentelemetry": {
			"global": {"metrics_static_attributes": [{"key": "http.response.status_code", "value": "static"}, {"key": "who", "value": "endpoint"}]}}},
		"backend": [{"url_pattern": "/v1/users/{id}"}]}]`
	r := newRig(t, krakendJSON(ns, endpoints))
	g := newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
	m := r.metrics(t)

	sets, _, _ := points(t, m["http.server.duration"])
	a := attrMap(sets[0].ToSlice())
	assert.Equal(t, "/users/:id", a["http.route"])
	assert.Equal(t, "http", a["url.scheme"])
	assert.Equal(t, int64(200), a["http.response.status_code"])
	assert.Equal(t, "endpoint", a["who"], "the endpoint's static attributes come after the service's")

	sets, _, _ = points(t, m["http.client.duration"])
	a = attrMap(sets[0].ToSlice())
	assert.Equal(t, "users", a["clientname"])
	assert.Equal(t, "GET", a["http.request.method"])
	assert.Equal(t, int64(200), a["http.response.status_code"])
}

// With semantic_convention 1.27 KrakenD's instruments carry descriptions
// (krakend-otel http/server/metrics.go:98-110,
// http/client/transport_metrics.go:98-139, semconv v1.27.0's for the
// standard ones); in the default naming they carry none.
func TestSemanticConvention127Descriptions(t *testing.T) {
	r := newRig(t, krakendJSON(`{"exporters": {"otlp": [{"name": "c"}]}, "layers": {"global": {"semantic_convention": "1.27"}}}`, ""))
	g := newGateway(t, r.tel, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.(http.Flusher).Flush() // no Content-Length: no-content-length counts
		_, _ = io.WriteString(w, backendBody)
	}))
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
	got := r.metrics(t)
	for name, want := range map[string]string{
		"http.server.request.duration":           "Duration of HTTP server requests.",
		"http.server.response.body.size":         "Size of HTTP server response bodies.",
		"http.client.request.duration":           "Duration of HTTP client requests.",
		"http.client.request.body.size":          "Size of HTTP client request bodies.",
		"http.client.response.no-content-length": "Client received responses that do not have 'Content-Length' value set",
		"http.client.request.get-conn.duration":  "Time spent acquiring a client connection",
		"http.client.request.dns.duration":       "Time spent resolving the DNS name",
		"http.client.request.tls.duration":       "Time spent on TLS negotiation and connection",
		"krakend.proxy.duration":                 "",
		"http.client.response.read.size":         "",
	} {
		if assert.Contains(t, got, name) {
			assert.Equal(t, want, got[name].Description, name)
		}
	}

	r = newRig(t, krakendJSON("", ""))
	g = newGateway(t, r.tel, nil)
	require.Equal(t, http.StatusOK, g.get(t, "/users/42", nil))
	for name, m := range r.metrics(t) {
		assert.Empty(t, m.Description, name)
	}
}

// idleCloser is a base transport that records CloseIdleConnections.
type idleCloser struct {
	http.RoundTripper
	closed int
}

func (c *idleCloser) CloseIdleConnections() { c.closed++ }

// http.Client.CloseIdleConnections reaches the transport only through a
// CloseIdleConnections method: an instrumented transport must pass it on,
// or a gateway replacing its clients (a configuration reload) keeps every
// backend's idle connections open.
func TestClosingIdleConnectionsReachesTheBaseTransport(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	base := &idleCloser{RoundTripper: http.DefaultTransport}
	client := &http.Client{Transport: r.tel.Transport(base, gatewayotel.BackendInfo{EndpointRoute: "/users/{id}", URLPattern: "/v1/users/{id}"})}
	client.CloseIdleConnections()
	assert.Equal(t, 1, base.closed)

	plain := &http.Client{Transport: r.tel.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("unused")
	}), gatewayotel.BackendInfo{EndpointRoute: "/users/{id}", URLPattern: "/v1/users/{id}"})}
	assert.NotPanics(t, plain.CloseIdleConnections, "a base without the method is left alone")
}
