package layerfilterprocessor

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// noRedaction keeps the tests about names apart from the default redaction.
const noRedaction = "redact_headers: []\n"

// addedAttrs returns the attributes of after that before lacks, and checks
// that every attribute of before is still there, unchanged.
func addedAttrs(t *testing.T, before, after pcommon.Map) map[string]any {
	t.Helper()
	for k, v := range before.All() {
		got, ok := after.Get(k)
		if assert.True(t, ok, "attribute %s kept", k) {
			assert.Equal(t, v.AsRaw(), got.AsRaw(), "attribute %s unchanged", k)
		}
	}
	out := map[string]any{}
	for k, v := range after.All() {
		if _, ok := before.Get(k); !ok {
			out[k] = v.AsRaw()
		}
	}
	return out
}

// spanPairs returns, per class, the spans of one request before and after
// the processor (a request's spans are in its own trace).
func spanPairs(t *testing.T, in, out ptrace.Traces, traceNo byte) map[layer.Class][2]ptrace.Span {
	t.Helper()
	pairs := map[layer.Class][2]ptrace.Span{}
	for _, c := range []layer.Class{layer.GlobalStage, layer.ProxyStage, layer.BackendStage, layer.BackendRoundTrip, layer.BackendReadPayload} {
		var pair [2]ptrace.Span
		for i, td := range []ptrace.Traces{in, out} {
			for _, s := range findSpans(td, c) {
				if s.TraceID()[0] == traceNo {
					pair[i] = s
				}
			}
		}
		pairs[c] = pair
	}
	return pairs
}

func TestDestinationNamesPerLayer(t *testing.T) {
	orders := reqOrders
	orders.method, orders.status, orders.host = "POST", 503, "orders.internal:9000"
	reqs := []gwRequest{reqUser, orders, reqUser} // the third reuses the first one's names
	in := gatewayTraces("gw", reqs...)
	work := ptrace.NewTraces()
	in.CopyTo(work)
	out := runTraces(t, noRedaction, work)

	for i, r := range reqs {
		var errorType map[string]any
		if r.status >= 500 {
			errorType = map[string]any{"error.type": "503"}
		}
		with := func(m map[string]any, extra map[string]any) map[string]any {
			for k, v := range extra {
				m[k] = v
			}
			return m
		}
		query := map[string]any{}
		path := r.rawPath
		if r.rawPath == "/users/42?expand=1" {
			query["url.query"], path = "expand=1", "/users/42"
		}
		tests := []struct {
			class layer.Class
			want  map[string]any
		}{
			{layer.GlobalStage, with(with(map[string]any{
				"url.scheme": "http",
				"url.path":   path,
				"http.url":   "http://api.example.com" + r.rawPath,
			}, query), errorType)},
			{layer.ProxyStage, with(map[string]any{
				"operation.name": "krakend.proxy",
				"resource.name":  r.method + " " + r.route,
			}, errorType)},
			{layer.BackendStage, with(map[string]any{
				"operation.name": "krakend.backend",
				"resource.name":  r.method + " " + r.pattern,
			}, errorType)},
			{layer.BackendRoundTrip, with(map[string]any{
				"resource.name": r.method + " " + r.pattern,
				"peer.service":  r.host,
			}, errorType)},
			{layer.BackendReadPayload, map[string]any{
				"operation.name": "krakend.backend.read",
				"resource.name":  r.method + " " + r.pattern,
			}},
		}
		pairs := spanPairs(t, in, out, byte(i+1))
		for _, tt := range tests {
			t.Run(r.method+" "+r.rawPath+" "+tt.class.String()+" gets its layer's names", func(t *testing.T) {
				p := pairs[tt.class]
				assert.Equal(t, tt.want, addedAttrs(t, p[0].Attributes(), p[1].Attributes()))
				assert.Equal(t, p[0].Name(), p[1].Name(), "the span name is the gateway's")
				assert.Equal(t, p[0].Kind(), p[1].Kind())
			})
		}
	}
}

func TestDestinationNamesNeverOverwriteWhatIsThere(t *testing.T) {
	r := reqUser
	r.status = 503
	in := gatewayTraces("gw", r)
	mine := map[string]string{
		"operation.name": "mine.op", "resource.name": "mine.resource", "peer.service": "mine-peer",
		"http.url": "https://mine.example/x", "url.path": "/mine", "url.query": "mine=1", "error.type": "mine",
	}
	for _, c := range []layer.Class{layer.GlobalStage, layer.ProxyStage, layer.BackendStage, layer.BackendRoundTrip, layer.BackendReadPayload} {
		a := findSpans(in, c)[0].Attributes()
		for k, v := range mine {
			a.PutStr(k, v)
		}
		a.PutStr("url.scheme", "https")
	}
	work := ptrace.NewTraces()
	in.CopyTo(work)
	out := runTraces(t, noRedaction, work)
	for c, p := range spanPairs(t, in, out, 1) {
		t.Run(c.String(), func(t *testing.T) {
			assert.Empty(t, addedAttrs(t, p[0].Attributes(), p[1].Attributes()), "nothing added over the span's own attributes")
		})
	}
}

func TestDestinationNamesUseTheSpansOwnScheme(t *testing.T) {
	in := gatewayTraces("gw", reqOrders)
	findSpans(in, layer.GlobalStage)[0].Attributes().PutStr("url.scheme", "https")
	out := runTraces(t, noRedaction, in)
	g := findSpans(out, layer.GlobalStage)[0].Attributes()
	assert.Equal(t, "https://api.example.com/orders", strAttr(t, g, "http.url"))
	assert.Equal(t, "https", strAttr(t, g, "url.scheme"))

	in = gatewayTraces("gw", reqOrders)
	out = runTraces(t, noRedaction+"destination_names: {url_scheme: https}", in)
	g = findSpans(out, layer.GlobalStage)[0].Attributes()
	assert.Equal(t, "https://api.example.com/orders", strAttr(t, g, "http.url"), "the configured scheme")
	assert.Equal(t, "https", strAttr(t, g, "url.scheme"))
}

func TestDestinationNamesLeaveAnAbsoluteURLAndAMissingHostAlone(t *testing.T) {
	in := gatewayTraces("gw", reqUser, reqOrders)
	abs := findSpans(in, layer.GlobalStage)[0].Attributes()
	abs.PutStr("url.full", "http://api.example.com/users/42")
	noHost := findSpans(in, layer.GlobalStage)[1].Attributes()
	noHost.Remove("server.address")
	noHost.PutStr("url.full", "/orders#frag")
	work := ptrace.NewTraces()
	in.CopyTo(work)
	out := runTraces(t, noRedaction, work)

	added := addedAttrs(t, abs, findSpans(out, layer.GlobalStage)[0].Attributes())
	assert.Empty(t, added, "an absolute url.full needs nothing")
	added = addedAttrs(t, noHost, findSpans(out, layer.GlobalStage)[1].Attributes())
	assert.Equal(t, map[string]any{"url.scheme": "http", "url.path": "/orders"}, added, "no host: no whole URL")
}

func TestDestinationNamesOffLeaveSpansUntouched(t *testing.T) {
	r := reqOrders
	r.status = 503
	in := gatewayTraces("gw", reqUser, r)
	work := ptrace.NewTraces()
	in.CopyTo(work)
	out := runTraces(t, noRedaction+"destination_names: {enabled: false}", work)
	want, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(in)
	require.NoError(t, err)
	got, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(out)
	require.NoError(t, err)
	assert.Equal(t, want, got, "the batch leaves exactly as it came")
}

func TestDestinationNamesLeaveOtherInstrumentationAlone(t *testing.T) {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("GET /x")
	s.SetKind(ptrace.SpanKindServer)
	s.Attributes().PutStr("url.full", "/x")
	s.Attributes().PutStr("server.address", "svc")
	s.Attributes().PutInt("http.response.status_code", 503)
	out := runTraces(t, noRedaction, td)
	got := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, 3, got.Attributes().Len())
	assert.Equal(t, ptrace.StatusCodeUnset, got.Status().Code())
}

// TestErrorStatusFollowsTheHTTPConventions: a server span is an error on a
// 5xx only (a 4xx is the client's error, not the gateway's); a client span
// on a 4xx or 5xx; the proxy and backend stage spans, which report the
// gateway's own processing (KrakenD writes 500 on any of their errors),
// like the server span. The read tracker has no status code: its status
// is the gateway's.
func TestErrorStatusFollowsTheHTTPConventions(t *testing.T) {
	tests := []struct {
		status int64
		class  layer.Class
		want   ptrace.StatusCode
	}{
		{200, layer.GlobalStage, ptrace.StatusCodeOk},
		{404, layer.GlobalStage, ptrace.StatusCodeOk},
		{499, layer.GlobalStage, ptrace.StatusCodeOk},
		{500, layer.GlobalStage, ptrace.StatusCodeError},
		{503, layer.GlobalStage, ptrace.StatusCodeError},
		{404, layer.ProxyStage, ptrace.StatusCodeUnset},
		{503, layer.ProxyStage, ptrace.StatusCodeError},
		{404, layer.BackendStage, ptrace.StatusCodeUnset},
		{500, layer.BackendStage, ptrace.StatusCodeError},
		{200, layer.BackendRoundTrip, ptrace.StatusCodeOk},
		{399, layer.BackendRoundTrip, ptrace.StatusCodeOk},
		{400, layer.BackendRoundTrip, ptrace.StatusCodeError},
		{404, layer.BackendRoundTrip, ptrace.StatusCodeError},
		{503, layer.BackendRoundTrip, ptrace.StatusCodeError},
		{503, layer.BackendReadPayload, ptrace.StatusCodeUnset},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s with %d", tt.class, tt.status), func(t *testing.T) {
			r := reqUser
			r.status = tt.status
			out := runTraces(t, noRedaction, gatewayTraces("gw", r))
			s := findSpans(out, tt.class)[0]
			assert.Equal(t, tt.want, s.Status().Code())
			assert.Empty(t, s.Status().Message(), "no error attribute here: no message")
			et, ok := s.Attributes().Get("error.type")
			if tt.want == ptrace.StatusCodeError {
				require.True(t, ok, "error.type")
				assert.Equal(t, errorTypeAttrs[tt.status].value, et.Str())
			} else {
				assert.False(t, ok, "no error.type")
			}
		})
	}
}

// The proxy and backend stage spans carry the gateway's error message in
// their `error` attribute (krakend-otel lura/proxy_tracer.go): it becomes the
// status message, which the destinations show as the error's cause.
func TestTheGatewaysErrorMessageBecomesTheStatusMessage(t *testing.T) {
	r := reqUser
	r.status = 500
	in := gatewayTraces("gw", r)
	for _, c := range []layer.Class{layer.ProxyStage, layer.BackendStage} {
		findSpans(in, c)[0].Attributes().PutStr("error", "context deadline exceeded")
	}
	out := runTraces(t, noRedaction, in)
	for _, c := range []layer.Class{layer.ProxyStage, layer.BackendStage} {
		s := findSpans(out, c)[0]
		assert.Equal(t, ptrace.StatusCodeError, s.Status().Code(), "%s", c)
		assert.Equal(t, "context deadline exceeded", s.Status().Message(), "%s", c)
	}
	assert.Empty(t, findSpans(out, layer.GlobalStage)[0].Status().Message(), "no error attribute: no message")

	r.status = 200 // an error attribute without an error status code marks nothing
	in = gatewayTraces("gw", r)
	findSpans(in, layer.ProxyStage)[0].Attributes().PutStr("error", "ignored")
	s := findSpans(runTraces(t, noRedaction, in), layer.ProxyStage)[0]
	assert.NotEqual(t, ptrace.StatusCodeError, s.Status().Code())
	assert.Empty(t, s.Status().Message())
}

func TestErrorStatusKeepsAnErrorTheGatewaySetAndCanBeTurnedOff(t *testing.T) {
	r := reqUser
	r.status = 502
	in := gatewayTraces("gw", r)
	findSpans(in, layer.BackendRoundTrip)[0].Status().SetCode(ptrace.StatusCodeError)
	findSpans(in, layer.BackendRoundTrip)[0].Status().SetMessage("dial tcp: connection refused")
	out := runTraces(t, noRedaction, in)
	rt := findSpans(out, layer.BackendRoundTrip)[0]
	assert.Equal(t, "dial tcp: connection refused", rt.Status().Message(), "the gateway's error is kept")
	_, ok := rt.Attributes().Get("error.type")
	assert.False(t, ok, "the gateway's error is not relabelled")

	out = runTraces(t, noRedaction+"destination_names: {error_status: false}", gatewayTraces("gw", r))
	for _, c := range []layer.Class{layer.GlobalStage, layer.ProxyStage, layer.BackendStage} {
		s := findSpans(out, c)[0]
		assert.NotEqual(t, ptrace.StatusCodeError, s.Status().Code(), "%s: status left alone", c)
		_, ok := s.Attributes().Get("operation.name")
		assert.Equal(t, c != layer.GlobalStage, ok, "%s: the names are still added", c)
	}
}

func TestDestinationNamesApplyToKeptSpansOnly(t *testing.T) {
	out := runTraces(t, noRedaction+"proxy: {disable_traces: true}", gatewayTraces("gw", reqUser))
	assert.Empty(t, findSpans(out, layer.ProxyStage))
	s := findSpans(out, layer.BackendStage)[0]
	assert.Equal(t, "krakend.backend", strAttr(t, s.Attributes(), "operation.name"))
}

// The names read a span as its static attributes leave it, though the
// filter learns those while setting them instead of reading the span again.
func TestDestinationNamesSeeStaticAttributes(t *testing.T) {
	failing := reqUser
	failing.status = 503
	in := gatewayTraces("gw", failing)
	out := runTraces(t, noRedaction+`
global: {traces_static_attributes: {url.scheme: https}}
proxy: {traces_static_attributes: {resource.name: custom, http.route: /static}}
backend: {traces: {static_attributes: {http.response.status_code: "n/a", peer.service: configured}}}
`, copyTraces(in))
	pairs := spanPairs(t, in, out, 1)

	g := pairs[layer.GlobalStage][1]
	assert.Equal(t, "https", strAttr(t, g.Attributes(), "url.scheme"))
	assert.Equal(t, "https://api.example.com/users/42?expand=1", strAttr(t, g.Attributes(), "http.url"),
		"the static url.scheme is the URL's scheme")
	assert.Equal(t, ptrace.StatusCodeError, g.Status().Code())

	p := pairs[layer.ProxyStage][1]
	assert.Equal(t, "custom", strAttr(t, p.Attributes(), "resource.name"), "a static resource.name is kept")
	assert.Equal(t, "krakend.proxy", strAttr(t, p.Attributes(), "operation.name"))
	assert.Equal(t, "/static", strAttr(t, p.Attributes(), "http.route"))

	for _, c := range []layer.Class{layer.BackendStage, layer.BackendRoundTrip} {
		s := pairs[c][1]
		assert.NotEqual(t, ptrace.StatusCodeError, s.Status().Code(), "%v: a string status code is no failure", c)
		_, hasErrorType := s.Attributes().Get("error.type")
		assert.False(t, hasErrorType, c.String())
		assert.Equal(t, "GET /v1/users/:id", strAttr(t, s.Attributes(), "resource.name"), c.String())
	}
	assert.Equal(t, "configured", strAttr(t, pairs[layer.BackendRoundTrip][1].Attributes(), "peer.service"),
		"a static peer.service is kept")
}

func copyTraces(td ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	return out
}

// The resource names are built once per (method, route) and shared.
func TestNameCache(t *testing.T) {
	var c nameCache
	a := c.get("GET", "/users/:id")
	assert.Equal(t, "GET /users/:id", a.value)
	assert.Equal(t, attrResourceName, a.key)
	assert.True(t, a.shared.Shares(), "the name's value is written shared")
	assert.Equal(t, "/health", c.get("", "/health").value)
	b := c.get("GET", "/users/:id")
	assert.Equal(t, unsafe.StringData(a.value), unsafe.StringData(b.value), "the second look-up builds nothing")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = c.get("GET", "/users/:id") }))
	for i := range maxCachedNames + 10 {
		r := fmt.Sprintf("/r/%d", i)
		require.Equal(t, "PUT "+r, c.get("PUT", r).value)
	}
	assert.Len(t, *c.m.Load(), maxCachedNames, "the cache is bounded")
}
