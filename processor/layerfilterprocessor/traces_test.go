package layerfilterprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

const (
	cG  = "global"
	cP  = "proxy"
	cBS = "backend.stage"
	cRT = "backend.round_trip"
	cRP = "backend.read_payload"
)

var allFive = []string{cG, cP, cBS, cRT, cRP}

func TestTraceSwitches(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"the default config passes all five spans through", "", allFive},
		{"disabling global traces drops only the global span", "global: {disable_traces: true}", []string{cP, cBS, cRT, cRP}},
		{"disabling global metrics leaves every span", "global: {disable_metrics: true}", allFive},
		{"disabling proxy traces drops only the proxy span", "proxy: {disable_traces: true}", []string{cG, cBS, cRT, cRP}},
		{"disable_stage drops only the backend stage span", "backend: {traces: {disable_stage: true}}", []string{cG, cP, cRT, cRP}},
		{"round_trip off drops the backend-request span even with read_payload on (intent, not the gateway's gating)", "backend: {traces: {round_trip: false, read_payload: true}}", []string{cG, cP, cBS, cRP}},
		{"read_payload off drops only the read tracker span", "backend: {traces: {read_payload: false}}", []string{cG, cP, cBS, cRT}},
		{"round_trip and read_payload off leave the stage span", "backend: {traces: {round_trip: false, read_payload: false}}", []string{cG, cP, cBS}},
		{"detailed_connection off keeps every span", "backend: {traces: {detailed_connection: false}}", allFive},
		{"backend metrics switches do not touch spans", "backend: {metrics: {disable_stage: true, round_trip: false, read_payload: false}}", allFive},
		{"every layer off leaves nothing", "global: {disable_traces: true}\nproxy: {disable_traces: true}\nbackend: {traces: {disable_stage: true, round_trip: false, read_payload: false}}", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runTraces(t, tt.yaml, gatewayTraces("gw", reqUser))
			assert.Equal(t, tt.want, spanClasses(out))
			requireNoEmptySpanContainers(t, out)
		})
	}
}

func TestDetailedConnectionOffStripsOnlyItsAttributesAndEvent(t *testing.T) {
	out := runTraces(t, "backend: {traces: {detailed_connection: false}}", gatewayTraces("gw", reqUser))
	br := findSpans(out, layer.BackendRoundTrip)
	require.Len(t, br, 1)
	attrs := br[0].Attributes()
	for _, k := range detailedConnectionAttrs {
		_, ok := attrs.Get(k)
		assert.False(t, ok, k)
	}
	for _, k := range []string{"response-duration", "url.full", "server.address", "http.response.status_code", "krakend.endpoint.route"} {
		_, ok := attrs.Get(k)
		assert.True(t, ok, k)
	}
	assert.Equal(t, 0, br[0].Events().Len(), "first-byte-time event removed")

	// The same attributes on the read tracker are none of its business.
	rt := findSpans(out, layer.BackendReadPayload)
	require.Len(t, rt, 1)
	_, ok := rt[0].Attributes().Get("http.client.response.read.size")
	assert.True(t, ok)
}

func TestDetailedConnectionOnKeepsItsAttributesAndEvent(t *testing.T) {
	out := runTraces(t, "", gatewayTraces("gw", reqUser))
	br := findSpans(out, layer.BackendRoundTrip)[0]
	for _, k := range detailedConnectionAttrs {
		_, ok := br.Attributes().Get(k)
		assert.True(t, ok, k)
	}
	assert.Equal(t, 1, br.Events().Len())
}

func TestSkipPaths(t *testing.T) {
	tests := []struct {
		name string
		skip string
		want []string // classes left for reqUser + reqOrders + reqHealth
	}{
		{"a brace-form pattern skips every layer of a parametrised path, the global one by its raw path", `["/users/{id}"]`,
			append(append([]string{}, allFive...), allFive...)},
		{"a colon-form pattern skips every layer of a parametrised path too", `["/users/:id"]`,
			append(append([]string{}, allFive...), allFive...)},
		{"a literal path skips its endpoint in every layer", `["/__health"]`,
			append(append([]string{}, allFive...), allFive...)},
		{"a literal path that names a parameter value skips only the global layer (raw path), as KrakenD's exact match does", `["/users/42"]`,
			append([]string{cP, cBS, cRT, cRP}, append(append([]string{}, allFive...), allFive...)...)},
		{"an empty entry is ignored (KrakenD's [\"\"])", `[""]`,
			append(append(append([]string{}, allFive...), allFive...), allFive...)},
		{"a catch-all pattern skips its own endpoint only, not the endpoints below it (KrakenD compares the pattern as a string)", `["/users/*rest"]`,
			append(append(append([]string{}, allFive...), allFive...), allFive...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runTraces(t, "skip_paths: "+tt.skip, gatewayTraces("gw", reqUser, reqOrders, reqHealth))
			assert.Equal(t, tt.want, spanClasses(out))
		})
	}
}

// KrakenD's url.full is the path and query; a URL in the query is not the
// request's path (KrakenD's global layer compares r.URL.Path).
func TestSkipPathsReadTheRawPathBeforeTheQuery(t *testing.T) {
	r := reqUser
	r.rawPath = "/users/42?next=https://app.example.com/__health"
	out := runTraces(t, `skip_paths: ["/__health"]`, gatewayTraces("gw", r))
	assert.Equal(t, allFive, spanClasses(out), "a request to /users/42 is not /__health")

	r.rawPath = "/users/42?next=https://app.example.com/"
	out = runTraces(t, `skip_paths: ["/users/42"]`, gatewayTraces("gw", r))
	assert.Equal(t, []string{cP, cBS, cRT, cRP}, spanClasses(out), "the global span of /users/42 is skipped, whatever its query")
}

// KrakenD compares a skip entry with the endpoint pattern as a string at the
// proxy and backend layers (state/config.go SkipEndpoint, lura/proxy.go,
// lura/backend.go): `/users/:id` is not `/users/me`, a separate endpoint.
func TestParametrisedSkipPathKeepsOtherEndpointsOfItsShape(t *testing.T) {
	reqMe := req("/users/me", "/users/me", "/v1/me")
	for _, skip := range []string{`["/users/:id"]`, `["/users/{id}"]`} {
		t.Run(skip, func(t *testing.T) {
			out := runTraces(t, "skip_paths: "+skip, gatewayTraces("gw", reqUser, reqMe))
			assert.Equal(t, allFive, spanClasses(out), "every span of /users/:id skipped, every span of /users/me kept")
			for _, s := range spansWhere(out, func(ptrace.Span) bool { return true }) {
				route := "http.route"
				if layer.ClassifySpan(s).Layer == layer.Backend {
					route = "krakend.endpoint.route"
				}
				assert.Equal(t, "/users/me", strAttr(t, s.Attributes(), route), s.Name())
			}
		})
	}
	t.Run("a catch-all entry skips its own endpoint, whatever the raw path", func(t *testing.T) {
		debug := req("/__debug/a/b", "/__debug/*param", "/__debug/a/b")
		out := runTraces(t, `skip_paths: ["/__debug/*param"]`, gatewayTraces("gw", debug, reqUser))
		assert.Equal(t, allFive, spanClasses(out))
		assert.Equal(t, "/users/:id", strAttr(t, findSpans(out, layer.ProxyStage)[0].Attributes(), "http.route"))
	})
}

// The global span's raw path is matched by a parametrised entry (where
// KrakenD matches nothing: the documented difference) only when the span
// names no endpoint; a span whose route is another endpoint is kept.
func TestParametrisedSkipPathMatchesTheRawPathOfAGlobalSpanWithoutEndpoint(t *testing.T) {
	reqMe := req("/users/me", "/users/me", "/v1/me")
	withGlobalRoute := func(route string, present bool) ptrace.Traces {
		td := gatewayTraces("gw", reqMe)
		g := findSpans(td, layer.GlobalStage)[0].Attributes()
		if present {
			g.PutStr("http.route", route)
		} else {
			g.Remove("http.route")
		}
		return td
	}
	tests := []struct {
		name    string
		route   string
		present bool
		want    []string
	}{
		{"the route is another endpoint: kept", "/users/me", true, allFive},
		{"the route, in brace form, is the skipped endpoint: skipped", "/users/{id}", true, []string{cP, cBS, cRT, cRP}},
		{"no route: the raw path is matched", "", false, []string{cP, cBS, cRT, cRP}},
		{"an empty route: the raw path is matched", "", true, []string{cP, cBS, cRT, cRP}},
		{"a request no endpoint took (KrakenD writes the status text): the raw path is matched", "404 Not Found", true, []string{cP, cBS, cRT, cRP}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runTraces(t, `skip_paths: ["/users/{id}"]`, withGlobalRoute(tt.route, tt.present))
			assert.Equal(t, tt.want, spanClasses(out))
		})
	}
	t.Run("a literal entry still matches the raw path exactly, whatever the route, as KrakenD's global layer", func(t *testing.T) {
		out := runTraces(t, `skip_paths: ["/users/me"]`, gatewayTraces("gw", req("/users/me", "/users/:id", "/v1/users/:id")))
		assert.Equal(t, []string{cP, cBS, cRT, cRP}, spanClasses(out))
	})
}

func TestSkipPathsMatchRoutesWrittenWithBraces(t *testing.T) {
	// A gateway that writes its routes with braces is matched as well.
	r := reqUser
	r.route = "/users/{id}"
	r.rawPath = "/users/7"
	out := runTraces(t, `skip_paths: ["/users/:id"]`, gatewayTraces("gw", r, reqOrders))
	assert.Equal(t, allFive, spanClasses(out))
}

func TestHeaders(t *testing.T) {
	redacted := `["[REDACTED]"]`
	tests := []struct {
		name   string
		yaml   string
		span   layer.Class
		key    string
		want   string // "" = absent
		absent bool
	}{
		{"credential headers are redacted by default in the global layer", "", layer.GlobalStage, "http.request.header.authorization", redacted, false},
		{"cookies are redacted by default", "", layer.GlobalStage, "http.request.header.cookie", redacted, false},
		{"set-cookie responses are redacted by default", "", layer.GlobalStage, "http.response.header.set-cookie", redacted, false},
		{"credential headers are redacted by default in the proxy layer", "", layer.ProxyStage, "http.request.header.authorization", redacted, false},
		{"x-api-key is redacted by default in the backend layer", "", layer.BackendRoundTrip, "http.request.header.x-api-key", redacted, false},
		{"other headers are kept as they are", "", layer.GlobalStage, "http.request.header.x-request-id", `["req-1"]`, false},
		{"an empty redact_headers list opts out of redaction", "redact_headers: []", layer.GlobalStage, "http.request.header.authorization", `["Bearer s3cr3t"]`, false},
		{"a custom redact list replaces the default one", "redact_headers: [X-Request-ID]", layer.GlobalStage, "http.request.header.x-request-id", redacted, false},
		{"a custom redact list no longer redacts what it omits", "redact_headers: [x-request-id]", layer.GlobalStage, "http.request.header.authorization", `["Bearer s3cr3t"]`, false},
		{"report_headers false strips the global layer's request headers", "global: {report_headers: false}", layer.GlobalStage, "http.request.header.x-request-id", "", true},
		{"report_headers false strips the global layer's response headers", "global: {report_headers: false}", layer.GlobalStage, "http.response.header.content-type", "", true},
		{"report_headers false in the global layer leaves the proxy layer's headers", "global: {report_headers: false}", layer.ProxyStage, "http.request.header.x-request-id", `["req-1"]`, false},
		{"report_headers false strips the proxy layer's headers", "proxy: {report_headers: false}", layer.ProxyStage, "http.request.header.x-request-id", "", true},
		{"backend report_headers false strips the backend-request span's headers", "backend: {traces: {report_headers: false}}", layer.BackendRoundTrip, "http.response.header.content-type", "", true},
		{"skip_headers strips the named header, case-insensitively", "global: {skip_headers: [X-Request-Id]}", layer.GlobalStage, "http.request.header.x-request-id", "", true},
		{"skip_headers leaves the other headers", "global: {skip_headers: [x-request-id]}", layer.GlobalStage, "http.request.header.accept", `["application/json"]`, false},
		{"skip_headers and redaction work together", "global: {skip_headers: [accept]}", layer.GlobalStage, "http.request.header.authorization", redacted, false},
		{"backend skip_headers strips the named header", "backend: {traces: {skip_headers: [content-type]}}", layer.BackendRoundTrip, "http.response.header.content-type", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runTraces(t, tt.yaml, gatewayTraces("gw", reqUser))
			spans := findSpans(out, tt.span)
			require.Len(t, spans, 1)
			v, ok := spans[0].Attributes().Get(tt.key)
			if tt.absent {
				assert.False(t, ok, "%s should be gone", tt.key)
				return
			}
			require.True(t, ok, "%s should be there", tt.key)
			assert.Equal(t, tt.want, v.AsString())
		})
	}
}

func TestRedactionIsIdempotentAndHandlesStringValues(t *testing.T) {
	td := gatewayTraces("gw", reqUser)
	g := findSpans(td, layer.GlobalStage)[0]
	g.Attributes().PutStr("http.request.header.proxy-authorization", "Basic Zm9v")
	g.Attributes().PutStr("http.request.header.X-Api-Key", "mixed-case-key")
	out := runTraces(t, "", td)
	out = runTraces(t, "", out)
	g = findSpans(out, layer.GlobalStage)[0]
	assert.Equal(t, redactedValue, strAttr(t, g.Attributes(), "http.request.header.proxy-authorization"))
	assert.Equal(t, redactedValue, strAttr(t, g.Attributes(), "http.request.header.X-Api-Key"))
	assert.Equal(t, `["[REDACTED]"]`, strAttr(t, g.Attributes(), "http.request.header.authorization"))
}

func TestTraceStaticAttributes(t *testing.T) {
	yaml := `
global: {traces_static_attributes: {layer.name: global, empty: ""}, metrics_static_attributes: {m: only-metrics}}
proxy: {traces_static_attributes: {layer.name: proxy}}
backend: {traces: {static_attributes: {layer.name: backend, team: payments}}}
`
	out := runTraces(t, yaml, gatewayTraces("gw", reqUser))
	want := map[layer.Class]string{
		layer.GlobalStage: "global", layer.ProxyStage: "proxy",
		layer.BackendStage: "backend", layer.BackendRoundTrip: "backend", layer.BackendReadPayload: "backend",
	}
	for c, v := range want {
		s := findSpans(out, c)[0]
		assert.Equal(t, v, strAttr(t, s.Attributes(), "layer.name"), c.String())
		_, ok := s.Attributes().Get("m")
		assert.False(t, ok, "metrics static attributes stay off spans")
		_, ok = s.Attributes().Get("empty")
		assert.False(t, ok, "an empty value is ignored, as KrakenD does")
	}
	assert.Equal(t, "payments", strAttr(t, findSpans(out, layer.BackendRoundTrip)[0].Attributes(), "team"))
}

func TestEndpointOverrides(t *testing.T) {
	t.Run("an endpoint's proxy replaces the proxy layer for that endpoint only", func(t *testing.T) {
		out := runTraces(t, `
endpoints:
  - route: /users/{id}
    proxy: {disable_traces: true}
`, gatewayTraces("gw", reqUser, reqOrders))
		assert.Equal(t, []string{cG, cBS, cRT, cRP, cG, cP, cBS, cRT, cRP}, spanClasses(out))
	})
	t.Run("an endpoint's proxy replaces the proxy layer whole, static attributes and headers included", func(t *testing.T) {
		out := runTraces(t, `
proxy: {report_headers: false, traces_static_attributes: {from: service}}
endpoints:
  - route: /users/:id
    proxy: {traces_static_attributes: {from: endpoint}}
`, gatewayTraces("gw", reqUser, reqOrders))
		proxies := findSpans(out, layer.ProxyStage)
		require.Len(t, proxies, 2)
		assert.Equal(t, "endpoint", strAttr(t, proxies[0].Attributes(), "from"))
		_, ok := proxies[0].Attributes().Get("http.request.header.x-request-id")
		assert.True(t, ok, "the override's report_headers (omitted = on) replaced the service's off")
		assert.Equal(t, "service", strAttr(t, proxies[1].Attributes(), "from"))
		_, ok = proxies[1].Attributes().Get("http.request.header.x-request-id")
		assert.False(t, ok)
	})
	t.Run("a method-specific override wins over an any-method one and ignores other methods", func(t *testing.T) {
		post := reqUser
		post.method = "POST"
		out := runTraces(t, `
endpoints:
  - route: /users/:id
    method: get
    proxy: {traces_static_attributes: {which: get}}
  - route: /users/{id}
    proxy: {traces_static_attributes: {which: any}}
`, gatewayTraces("gw", reqUser, post))
		proxies := findSpans(out, layer.ProxyStage)
		assert.Equal(t, "get", strAttr(t, proxies[0].Attributes(), "which"))
		assert.Equal(t, "any", strAttr(t, proxies[1].Attributes(), "which"))
	})
	t.Run("an endpoint's global static attributes are added to the service's, the endpoint winning a shared key", func(t *testing.T) {
		out := runTraces(t, `
global: {traces_static_attributes: {env: prod, tier: gold}}
endpoints:
  - route: /users/{id}
    global: {traces_static_attributes: {tier: platinum, owner: users-team}}
`, gatewayTraces("gw", reqUser, reqOrders))
		globals := findSpans(out, layer.GlobalStage)
		a := globals[0].Attributes()
		assert.Equal(t, "prod", strAttr(t, a, "env"))
		assert.Equal(t, "platinum", strAttr(t, a, "tier"))
		assert.Equal(t, "users-team", strAttr(t, a, "owner"))
		b := globals[1].Attributes()
		assert.Equal(t, "gold", strAttr(t, b, "tier"))
		_, ok := b.Get("owner")
		assert.False(t, ok)
		// The proxy layer of the endpoint gets none of them.
		_, ok = findSpans(out, layer.ProxyStage)[0].Attributes().Get("owner")
		assert.False(t, ok)
	})
	t.Run("an endpoint's backend replaces the backend layer for every backend of the endpoint", func(t *testing.T) {
		out := runTraces(t, `
endpoints:
  - route: /users/{id}
    backend: {traces: {round_trip: false, read_payload: false}}
`, gatewayTraces("gw", reqUser, reqOrders))
		assert.Equal(t, []string{cG, cP, cBS, cG, cP, cBS, cRT, cRP}, spanClasses(out))
	})
}

func TestBackendOverrides(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"a backend override without endpoint applies to that url_pattern in any endpoint", `
backends:
  - url_pattern: /v1/users/{id}
    backend: {traces: {disable_stage: true, round_trip: false, read_payload: false}}
`, []string{cG, cP, cG, cP, cBS, cRT, cRP}},
		{"a backend override for another endpoint does not apply", `
backends:
  - endpoint: /accounts/{id}
    url_pattern: /v1/users/{id}
    backend: {traces: {disable_stage: true}}
`, append(append([]string{}, allFive...), allFive...)},
		{"a backend override replaces the backend layer whole: omitted switches are on", `
backend: {traces: {round_trip: false, read_payload: false}}
backends:
  - endpoint: /users/:id
    url_pattern: /v1/users/:id
    backend: {traces: {disable_stage: false}}
`, []string{cG, cP, cBS, cRT, cRP, cG, cP, cBS}},
		{"the override for the backend's endpoint wins over the one for any endpoint and over the endpoint's", `
endpoints:
  - route: /users/{id}
    backend: {traces: {disable_stage: true}}
backends:
  - url_pattern: /v1/users/{id}
    backend: {traces: {read_payload: false}}
  - endpoint: /users/{id}
    url_pattern: /v1/users/{id}
    backend: {traces: {round_trip: false}}
`, []string{cG, cP, cBS, cRP, cG, cP, cBS, cRT, cRP}},
		{"a backend override wins over its endpoint's backend override", `
endpoints:
  - route: /users/{id}
    backend: {traces: {disable_stage: true}}
backends:
  - url_pattern: /v1/users/{id}
    backend: {traces: {read_payload: false}}
`, []string{cG, cP, cBS, cRT, cG, cP, cBS, cRT, cRP}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runTraces(t, tt.yaml, gatewayTraces("gw", reqUser, reqOrders))
			assert.Equal(t, tt.want, spanClasses(out))
		})
	}
}

// krakend-otel's own example overrides a backend whose url_pattern has a
// query (`/posts?userId={id}`); its telemetry reports `/posts?userId=:id`.
func TestBackendOverrideWithAQueryInTheURLPattern(t *testing.T) {
	posts := req("/users/7/posts", "/users/:id/posts", "/posts?userId=:id")
	out := runTraces(t, `
backends:
  - url_pattern: /posts?userId={id}
    backend: {traces: {round_trip: false, read_payload: false}}
`, gatewayTraces("gw", posts, reqOrders))
	assert.Equal(t, []string{cG, cP, cBS, cG, cP, cBS, cRT, cRP}, spanClasses(out))
}

// Lura takes a url_pattern placeholder inside a segment; KrakenD reports
// /v1/users/{id}.json as the http.route /v1/users/:id.json. An override of
// that backend is valid and applies to it only, not to /v1/users/:id.
func TestBackendOverrideWithAPlaceholderInsideASegment(t *testing.T) {
	jsonUser := req("/users/42", "/users/:id", "/v1/users/:id.json")
	for _, pattern := range []string{`"/v1/users/{id}.json"`, `"/v1/users/:id.json"`, `"/v1/users/{ID}.json"`} {
		t.Run(pattern, func(t *testing.T) {
			out := runTraces(t, `
backends:
  - url_pattern: `+pattern+`
    backend: {traces: {read_payload: false}}
`, gatewayTraces("gw", jsonUser, reqUser))
			assert.Equal(t, []string{cG, cP, cBS, cRT, cG, cP, cBS, cRT, cRP}, spanClasses(out),
				"the override applies to /v1/users/:id.json and not to /v1/users/:id")
		})
	}
	t.Run("an override of /v1/users/{id} does not apply to /v1/users/:id.json", func(t *testing.T) {
		out := runTraces(t, `
backends:
  - url_pattern: /v1/users/{id}
    backend: {traces: {read_payload: false}}
`, gatewayTraces("gw", jsonUser, reqUser))
		assert.Equal(t, []string{cG, cP, cBS, cRT, cRP, cG, cP, cBS, cRT}, spanClasses(out))
	})
	t.Run("several placeholders in one segment", func(t *testing.T) {
		file := req("/files/a/b", "/files/:dir/:name", "/v1/files/:dir-:name.tar.gz")
		out := runTraces(t, `
backends:
  - url_pattern: "/v1/files/{dir}-{name}.tar.gz"
    backend: {traces: {read_payload: false}}
`, gatewayTraces("gw", file, reqUser))
		assert.Equal(t, []string{cG, cP, cBS, cRT, cG, cP, cBS, cRT, cRP}, spanClasses(out))
	})
}

func TestServicePolicies(t *testing.T) {
	yaml := `
proxy: {disable_traces: true, traces_static_attributes: {policy: default}}
services:
  - service_name: billing-gw
    backend: {traces: {round_trip: false}}
  - service_name: legacy-gw
    global: {disable_traces: true}
    redact_headers: []
`
	td := gatewayTraces("users-gw", reqUser)
	appendGatewayTraces(td, "billing-gw", reqUser)
	appendGatewayTraces(td, "legacy-gw", reqUser)
	out := runTraces(t, yaml, td)
	require.Equal(t, 3, out.ResourceSpans().Len())
	classesOf := func(i int) []string {
		one := ptrace.NewTraces()
		out.ResourceSpans().At(i).CopyTo(one.ResourceSpans().AppendEmpty())
		return spanClasses(one)
	}
	assert.Equal(t, []string{cG, cBS, cRT, cRP}, classesOf(0), "the top level is the default policy")
	assert.Equal(t, []string{cG, cP, cBS, cRP}, classesOf(1), "a service policy replaces the default whole")
	assert.Equal(t, []string{cP, cBS, cRT, cRP}, classesOf(2))

	// The default's static attributes do not leak into a service policy;
	// redaction defaults per policy and can be turned off per service.
	billingProxy := out.ResourceSpans().At(1).ScopeSpans().At(0).Spans().At(1)
	_, ok := billingProxy.Attributes().Get("policy")
	assert.False(t, ok)
	assert.Equal(t, `["[REDACTED]"]`, strAttr(t, billingProxy.Attributes(), "http.request.header.authorization"))
	legacyProxy := out.ResourceSpans().At(2).ScopeSpans().At(0).Spans().At(0)
	assert.Equal(t, `["Bearer s3cr3t"]`, strAttr(t, legacyProxy.Attributes(), "http.request.header.authorization"))
}

func TestNonGatewaySpansPassUntouched(t *testing.T) {
	td := ptrace.NewTraces()
	s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetName("GET /x")
	s.Attributes().PutEmptySlice("http.request.header.authorization").AppendEmpty().SetStr("Bearer other")
	s.Attributes().PutStr("http.route", "/users/:id")
	want := ptrace.NewTraces()
	td.CopyTo(want)
	out := runTraces(t, `
skip_paths: ["/users/{id}"]
global: {disable_traces: true, traces_static_attributes: {a: b}}
`, td)
	assert.Equal(t, want, out)
}

func TestEmptiedContainersAreRemoved(t *testing.T) {
	td := gatewayTraces("gw", reqHealth)
	appendGatewayTraces(td, "gw", reqUser)
	// An extra non-gateway scope in the first resource keeps it alive.
	extra := td.ResourceSpans().At(0).ScopeSpans().AppendEmpty()
	extra.Scope().SetName("other")
	extra.Spans().AppendEmpty().SetName("other-span")

	out := runTraces(t, `skip_paths: ["/__health"]`, td)
	requireNoEmptySpanContainers(t, out)
	require.Equal(t, 2, out.ResourceSpans().Len())
	assert.Equal(t, 1, out.ResourceSpans().At(0).ScopeSpans().Len())
	assert.Equal(t, "other", out.ResourceSpans().At(0).ScopeSpans().At(0).Scope().Name())
}

func TestAllDroppedSkipsTheRestOfThePipeline(t *testing.T) {
	f := newFilter(t, `skip_paths: ["/__health"]`, "traces")
	_, err := f.processTraces(t.Context(), gatewayTraces("gw", reqHealth))
	require.Error(t, err)
	// Empty input is handed on as it came.
	_, err = f.processTraces(t.Context(), ptrace.NewTraces())
	require.NoError(t, err)
}

func TestStaticAttributesAreNotRewrittenWhenAlreadyThere(t *testing.T) {
	td := gatewayTraces("gw", reqUser)
	g := findSpans(td, layer.GlobalStage)[0]
	g.Attributes().PutStr("env", "prod")
	before := g.Attributes().Len()
	out := runTraces(t, "global: {traces_static_attributes: {env: prod}}\ndestination_names: {enabled: false}", td)
	g = findSpans(out, layer.GlobalStage)[0]
	assert.Equal(t, before, g.Attributes().Len())
	assert.Equal(t, pcommon.ValueTypeStr, func() pcommon.ValueType { v, _ := g.Attributes().Get("env"); return v.Type() }())
}

// Semantic conventions before 1.21 spelled header keys with _ for -
// (http.request.header.x_api_key): a credential is redacted either way.
func TestRedactionCoversTheUnderscoreSpelling(t *testing.T) {
	td := gatewayTraces("gw", reqUser)
	g := findSpans(td, layer.GlobalStage)[0]
	g.Attributes().PutStr("http.request.header.x_api_key", "old-style-key")
	g.Attributes().PutStr("http.response.header.set_cookie", "sid=1")
	g.Attributes().PutStr("http.request.header.x_request_id", "req-2")
	g = findSpans(runTraces(t, "", td), layer.GlobalStage)[0]
	assert.Equal(t, redactedValue, strAttr(t, g.Attributes(), "http.request.header.x_api_key"))
	assert.Equal(t, redactedValue, strAttr(t, g.Attributes(), "http.response.header.set_cookie"))
	assert.Equal(t, "req-2", strAttr(t, g.Attributes(), "http.request.header.x_request_id"), "only credentials")
}

// A backend host written with credentials (http://user:password@host, which
// Go's client turns into the Authorization header) reaches the span's
// url.full as the gateway recorded it (krakend-otel http/attributes.go:
// r.URL.String()). The header is redacted by default; the URL must be too,
// as the semantic conventions ask of url.full: the user info becomes
// REDACTED:REDACTED, the rest of the URL stays.
func TestRedactionCoversCredentialsInAURL(t *testing.T) {
	td := gatewayTraces("gw", reqUser)
	rt := findSpans(td, layer.BackendRoundTrip)[0]
	rt.Attributes().PutStr("url.full", "https://svc:s3cret@users.internal:8080/v1/users/42?q=a@b")
	g := findSpans(td, layer.GlobalStage)[0]
	g.Attributes().PutStr("http.url", "http://admin@api.example.com/users/42") // older conventions
	g.Attributes().PutStr("url.full", "/login?next=http://u:p@x/")
	in := copyTraces(td)

	for name, yaml := range map[string]string{"names off": "destination_names: {enabled: false}", "names on": ""} {
		t.Run(name, func(t *testing.T) {
			out := runTraces(t, yaml, copyTraces(in))
			out = runTraces(t, yaml, out) // a second pass changes nothing
			rt := findSpans(out, layer.BackendRoundTrip)[0]
			assert.Equal(t, "https://REDACTED:REDACTED@users.internal:8080/v1/users/42?q=a@b", strAttr(t, rt.Attributes(), "url.full"))
			g := findSpans(out, layer.GlobalStage)[0]
			assert.Equal(t, "http://REDACTED:REDACTED@api.example.com/users/42", strAttr(t, g.Attributes(), "http.url"))
			assert.Equal(t, "/login?next=http://u:p@x/", strAttr(t, g.Attributes(), "url.full"), "a path is left alone, query and all")
		})
	}

	out := runTraces(t, "redact_headers: []", copyTraces(in))
	assert.Equal(t, "https://svc:s3cret@users.internal:8080/v1/users/42?q=a@b",
		strAttr(t, findSpans(out, layer.BackendRoundTrip)[0].Attributes(), "url.full"), "redaction turned off")
}
