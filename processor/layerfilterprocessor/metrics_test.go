package layerfilterprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processorhelper"
)

var allMetrics = names(globalMetrics, proxyMetrics, stageMetrics, roundTripMetrics, detailedMetrics, readPayloadMetric)

func TestMetricSwitches(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"the default config passes every metric through", "", allMetrics},
		{"disabling global metrics drops the http.server metrics", "global: {disable_metrics: true}",
			names(proxyMetrics, stageMetrics, roundTripMetrics, detailedMetrics, readPayloadMetric)},
		{"disabling global traces leaves every metric", "global: {disable_traces: true}", allMetrics},
		{"disabling proxy metrics drops krakend.proxy.duration", "proxy: {disable_metrics: true}",
			names(globalMetrics, stageMetrics, roundTripMetrics, detailedMetrics, readPayloadMetric)},
		{"disable_stage drops krakend.backend.duration", "backend: {metrics: {disable_stage: true}}",
			names(globalMetrics, proxyMetrics, roundTripMetrics, detailedMetrics, readPayloadMetric)},
		{"round_trip off drops the round-trip and connection metrics even with read_payload on (intent, not the gateway's gating)",
			"backend: {metrics: {round_trip: false, read_payload: true}}",
			names(globalMetrics, proxyMetrics, stageMetrics, readPayloadMetric)},
		{"detailed_connection off drops only the get-conn, dns and tls histograms", "backend: {metrics: {detailed_connection: false}}",
			names(globalMetrics, proxyMetrics, stageMetrics, roundTripMetrics, readPayloadMetric)},
		{"read_payload off drops only the read.* metrics", "backend: {metrics: {read_payload: false}}",
			names(globalMetrics, proxyMetrics, stageMetrics, roundTripMetrics, detailedMetrics)},
		{"backend traces switches do not touch metrics", "backend: {traces: {disable_stage: true, round_trip: false, read_payload: false, detailed_connection: false}}", allMetrics},
	}
	for _, tt := range tests {
		for _, mark := range []bool{true, false} {
			name := tt.name
			if !mark {
				name += " (unmarked metrics, classified by name)"
			}
			t.Run(name, func(t *testing.T) {
				out := runMetrics(t, tt.yaml, gatewayMetrics("gw", mark, reqUser, reqOrders))
				assert.Equal(t, tt.want, metricNames(out))
				requireNoEmptyContainers(t, out)
			})
		}
	}
}

func TestMetricSkipPathsRemoveDataPointsAndEmptiedMetrics(t *testing.T) {
	for _, skip := range []string{`["/users/{id}"]`, `["/users/:id"]`} {
		t.Run("skip_paths "+skip+" removes the endpoint's data points in every layer and keeps the others", func(t *testing.T) {
			out := runMetrics(t, "skip_paths: "+skip, gatewayMetrics("gw", true, reqUser, reqOrders))
			assert.Equal(t, allMetrics, metricNames(out))
			for _, name := range allMetrics {
				m, _ := findMetric(out, name)
				pts := pointAttrs(m)
				require.Len(t, pts, 1, name)
				route := "http.route"
				if v, ok := pts[0].Get("krakend.endpoint.route"); ok {
					assert.Equal(t, "/orders", v.Str(), name)
					continue
				}
				assert.Equal(t, "/orders", strAttr(t, pts[0], route), name)
			}
		})
	}
	t.Run("a metric whose every data point is skipped is removed, and so are its emptied scope and resource", func(t *testing.T) {
		md := gatewayMetrics("gw", true, reqHealth)
		appendGatewayMetrics(md, "gw2", true, reqUser)
		out := runMetrics(t, `skip_paths: ["/__health"]`, md)
		require.Equal(t, 1, out.ResourceMetrics().Len())
		assert.Equal(t, "gw2", strAttr(t, out.ResourceMetrics().At(0).Resource().Attributes(), "service.name"))
		requireNoEmptyContainers(t, out)
	})
	t.Run("a parametrised entry keeps the data points of another endpoint of its shape in every layer", func(t *testing.T) {
		reqMe := req("/users/me", "/users/me", "/v1/me")
		for _, skip := range []string{`["/users/{id}"]`, `["/users/:id"]`} {
			out := runMetrics(t, "skip_paths: "+skip, gatewayMetrics("gw", true, reqUser, reqMe))
			assert.Equal(t, allMetrics, metricNames(out), skip)
			for _, name := range allMetrics {
				m, _ := findMetric(out, name)
				pts := pointAttrs(m)
				require.Len(t, pts, 1, name)
				route := "http.route"
				if _, ok := pts[0].Get("krakend.endpoint.route"); ok {
					route = "krakend.endpoint.route"
				}
				assert.Equal(t, "/users/me", strAttr(t, pts[0], route), "%s %s", skip, name)
			}
		}
	})
	t.Run("a global metric of an unmatched request keeps its data point", func(t *testing.T) {
		r := reqUser
		r.route = "404 Not Found"
		out := runMetrics(t, `skip_paths: ["/users/{id}"]`, gatewayMetrics("gw", true, r))
		assert.Contains(t, metricNames(out), "http.server.duration")
	})
}

func TestMetricStaticAttributes(t *testing.T) {
	yaml := `
global: {metrics_static_attributes: {env: prod}, traces_static_attributes: {t: only-traces}}
backend: {metrics: {static_attributes: {team: payments, skipped: ""}}}
endpoints:
  - route: /users/{id}
    global: {metrics_static_attributes: {owner: users-team, env: staging}}
`
	out := runMetrics(t, yaml, gatewayMetrics("gw", true, reqUser, reqOrders))
	assert.Equal(t, allMetrics, metricNames(out), "adding attributes keeps every metric")

	m, _ := findMetric(out, "http.server.duration")
	pts := pointAttrs(m)
	assert.Equal(t, "staging", strAttr(t, pts[0], "env"), "the endpoint's global attributes win a shared key")
	assert.Equal(t, "users-team", strAttr(t, pts[0], "owner"))
	assert.Equal(t, "prod", strAttr(t, pts[1], "env"))
	_, ok := pts[1].Get("owner")
	assert.False(t, ok)
	_, ok = pts[0].Get("t")
	assert.False(t, ok, "traces static attributes stay off metrics")

	m, _ = findMetric(out, "krakend.proxy.duration")
	for _, a := range pointAttrs(m) {
		assert.Equal(t, 5, a.Len(), "no static attributes where none are configured")
	}
	for _, name := range names(stageMetrics, roundTripMetrics, readPayloadMetric) {
		m, _ = findMetric(out, name)
		for _, a := range pointAttrs(m) {
			assert.Equal(t, "payments", strAttr(t, a, "team"), name)
			_, ok := a.Get("skipped")
			assert.False(t, ok)
		}
	}
}

func TestMetricOverrides(t *testing.T) {
	tests := []struct {
		name       string
		yaml       string
		metric     string
		wantRoutes []string // endpoint routes of the data points left
	}{
		{"an endpoint's proxy override disables that endpoint's proxy data points only", `
endpoints: [{route: "/users/{id}", proxy: {disable_metrics: true}}]`, "krakend.proxy.duration", []string{"/orders"}},
		{"a backend override turns round-trip metrics off for that backend only", `
backends: [{url_pattern: "/v1/users/{id}", backend: {metrics: {round_trip: false}}}]`, "http.client.duration", []string{"/orders"}},
		{"an endpoint's backend override applies to its backends' metrics", `
endpoints: [{route: /orders, backend: {metrics: {read_payload: false}}}]`, "http.client.response.read.size", []string{"/users/:id"}},
		{"an override may turn on what the service turned off", `
backend: {metrics: {disable_stage: true}}
backends: [{endpoint: /orders, url_pattern: /v1/orders, backend: {metrics: {disable_stage: false}}}]`, "krakend.backend.duration", []string{"/orders"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runMetrics(t, tt.yaml, gatewayMetrics("gw", true, reqUser, reqOrders))
			m, ok := findMetric(out, tt.metric)
			require.True(t, ok)
			var routes []string
			for _, a := range pointAttrs(m) {
				if v, ok := a.Get("krakend.endpoint.route"); ok {
					routes = append(routes, v.Str())
				} else {
					routes = append(routes, strAttr(t, a, "http.route"))
				}
			}
			assert.Equal(t, tt.wantRoutes, routes)
			requireNoEmptyContainers(t, out)
		})
	}
}

func TestMetricServicePolicies(t *testing.T) {
	md := gatewayMetrics("users-gw", true, reqUser)
	appendGatewayMetrics(md, "billing-gw", true, reqUser)
	out := runMetrics(t, `
proxy: {disable_metrics: true}
services: [{service_name: billing-gw, backend: {metrics: {read_payload: false}}}]
`, md)
	require.Equal(t, 2, out.ResourceMetrics().Len())
	one := func(i int) []string {
		x := pmetric.NewMetrics()
		out.ResourceMetrics().At(i).CopyTo(x.ResourceMetrics().AppendEmpty())
		return metricNames(x)
	}
	assert.Equal(t, names(globalMetrics, stageMetrics, roundTripMetrics, detailedMetrics, readPayloadMetric), one(0))
	assert.Equal(t, names(globalMetrics, proxyMetrics, stageMetrics, roundTripMetrics, detailedMetrics), one(1))
}

func TestMetricIdentityIsKept(t *testing.T) {
	in := gatewayMetrics("gw", true, reqUser, reqOrders)
	want := pmetric.NewMetrics()
	in.CopyTo(want)
	out := runMetrics(t, "backend: {metrics: {read_payload: false}}", in)
	for _, name := range metricNames(out) {
		got, _ := findMetric(out, name)
		w, _ := findMetric(want, name)
		assert.Equal(t, w, got, "a kept metric is handed on unchanged: %s", name)
	}
}

func TestNonGatewayMetricsPassUntouched(t *testing.T) {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	m := sm.Metrics().AppendEmpty()
	m.SetName("http.server.duration") // the same name, another instrumentation
	dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("http.route", "/__health")
	want := pmetric.NewMetrics()
	md.CopyTo(want)
	out := runMetrics(t, `
skip_paths: ["/__health"]
global: {disable_metrics: true, metrics_static_attributes: {a: b}}`, md)
	assert.Equal(t, want, out)
}

func TestGaugeAndSummaryDataPointsAreFilteredToo(t *testing.T) {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("io.krakend.krakend-otel")
	g := sm.Metrics().AppendEmpty()
	g.SetName("krakend.proxy.duration")
	g.SetEmptyGauge()
	for _, r := range []string{"/a", "/b"} {
		g.Gauge().DataPoints().AppendEmpty().Attributes().PutStr("http.route", r)
	}
	s := sm.Metrics().AppendEmpty()
	s.SetName("http.server.duration")
	s.SetEmptySummary().DataPoints().AppendEmpty().Attributes().PutStr("http.route", "/a")
	e := sm.Metrics().AppendEmpty()
	e.SetName("krakend.backend.duration")
	e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty().Attributes().PutStr("krakend.endpoint.route", "/a")

	out := runMetrics(t, `skip_paths: ["/a"]`, md)
	assert.Equal(t, []string{"krakend.proxy.duration"}, metricNames(out))
	m, _ := findMetric(out, "krakend.proxy.duration")
	assert.Equal(t, 1, m.Gauge().DataPoints().Len())
}

// A metric of a disabled layer or switch is dropped whole, data points or
// none: a gateway that sends an instrument with no data points yet (an
// exponential histogram, a summary, a metric whose data type is not set)
// must not leak the name of a layer turned off to the destinations. A
// metric of a layer that is on is handed on as it came, empty or not.
func TestMetricsWithoutDataPointsFollowTheirLayerSwitch(t *testing.T) {
	build := func() pmetric.Metrics {
		md := pmetric.NewMetrics()
		sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("io.krakend.krakend-otel")
		sm.Metrics().AppendEmpty().SetName("krakend.proxy.duration")
		sm.Metrics().At(0).SetEmptyHistogram()
		sm.Metrics().AppendEmpty().SetName("http.server.duration")
		sm.Metrics().At(1).SetEmptyExponentialHistogram()
		sm.Metrics().AppendEmpty().SetName("http.client.request.dns.duration")
		sm.Metrics().At(2).SetEmptySummary()
		sm.Metrics().AppendEmpty().SetName("krakend.backend.duration") // no data type
		return md
	}
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"the default config hands every one on", "",
			[]string{"http.client.request.dns.duration", "http.server.duration", "krakend.backend.duration", "krakend.proxy.duration"}},
		{"disabled layers drop theirs", "global: {disable_metrics: true}\nproxy: {disable_metrics: true}",
			[]string{"http.client.request.dns.duration", "krakend.backend.duration"}},
		{"backend switches drop theirs", "backend: {metrics: {disable_stage: true, detailed_connection: false}}",
			[]string{"http.server.duration", "krakend.proxy.duration"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runMetrics(t, tt.yaml, build())
			assert.Equal(t, tt.want, metricNames(out))
		})
	}
	out, err := newFilter(t, "global: {disable_metrics: true}\nproxy: {disable_metrics: true}\nbackend: {metrics: {disable_stage: true, detailed_connection: false}}", "metrics").processMetrics(t.Context(), build())
	require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData, "nothing left to hand on")
	assert.Zero(t, out.ResourceMetrics().Len())
}
