package requestmetrics

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

// epoch is the fake clock's start; collectorInstanceIDKey the attribute
// both connectors copy from the collector's resource.
var epoch = time.Unix(1_700_000_000, 0)

const collectorInstanceIDKey = "collector.instance.id"

// resourceLimit is how many resources both keep (spanmetrics'
// resource_metrics_cache_size default, requestmetrics' fixed limit).
const resourceLimit = 1000

// newConfPair runs spanmetrics v0.152.0 and requestmetrics side by side
// (startPair), each built by its own factory from the same configuration
// keys; every flush compares what both emit.
func newConfPair(t *testing.T, conf map[string]any) *pair {
	t.Helper()
	return startPair(t, func(f connector.Factory) component.Config {
		cfg := f.CreateDefaultConfig()
		require.NoError(t, confmap.NewFromStringMap(conf).Unmarshal(cfg), f.Type().String())
		return cfg
	})
}

// canonicalMetrics is one line per resource, metric and data point, sorted:
// spanmetrics emits resources and points in map order. NaN attribute
// values compare by their string form.
func canonicalMetrics(md pmetric.Metrics) string {
	var lines []string
	for _, rm := range md.ResourceMetrics().All() {
		res := attrLine(rm.Resource().Attributes())
		lines = append(lines, fmt.Sprintf("resource %s scopes=%d", res, rm.ScopeMetrics().Len()))
		for _, sm := range rm.ScopeMetrics().All() {
			scope := fmt.Sprintf("%s scope=%q/%q", res, sm.Scope().Name(), sm.Scope().Version())
			lines = append(lines, fmt.Sprintf("%s metrics=%d", scope, sm.Metrics().Len()))
			for _, m := range sm.Metrics().All() {
				head := fmt.Sprintf("%s %s %s unit=%q", scope, m.Type(), m.Name(), m.Unit())
				switch m.Type() {
				case pmetric.MetricTypeSum:
					s := m.Sum()
					lines = append(lines, fmt.Sprintf("%s monotonic=%v %v points=%d", head, s.IsMonotonic(), s.AggregationTemporality(), s.DataPoints().Len()))
					for _, dp := range s.DataPoints().All() {
						lines = append(lines, fmt.Sprintf("%s {%s} start=%d ts=%d %v int=%d double=%v exemplars=%d flags=%d",
							head, attrLine(dp.Attributes()), dp.StartTimestamp(), dp.Timestamp(), dp.ValueType(), dp.IntValue(), dp.DoubleValue(), dp.Exemplars().Len(), dp.Flags()))
					}
				case pmetric.MetricTypeHistogram:
					h := m.Histogram()
					lines = append(lines, fmt.Sprintf("%s %v points=%d", head, h.AggregationTemporality(), h.DataPoints().Len()))
					for _, dp := range h.DataPoints().All() {
						lines = append(lines, fmt.Sprintf("%s {%s} start=%d ts=%d count=%d sum=%v bounds=%v buckets=%v min=%v max=%v exemplars=%d flags=%d",
							head, attrLine(dp.Attributes()), dp.StartTimestamp(), dp.Timestamp(), dp.Count(), dp.Sum(),
							dp.ExplicitBounds().AsRaw(), dp.BucketCounts().AsRaw(), dp.HasMin(), dp.HasMax(), dp.Exemplars().Len(), dp.Flags()))
					}
				default:
					lines = append(lines, head+" unexpected type")
				}
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// attrLine is a map's attributes in order, each with its value's type.
func attrLine(m pcommon.Map) string {
	parts := make([]string, 0, m.Len())
	for k, v := range m.All() {
		parts = append(parts, fmt.Sprintf("%s=%s:%s", k, v.Type(), v.AsString()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// span is a span of a test batch; zero fields take a default.
type span struct {
	name   string
	kind   ptrace.SpanKind
	status ptrace.StatusCode
	start  time.Duration // after epoch
	dur    time.Duration // negative: ends before it starts
	attrs  map[string]any
	state  string
}

// scopeSpans is one ScopeSpans of a test batch.
type scopeSpans struct {
	name, version string
	spans         []span
}

// resourceSpans is one ResourceSpans; a nil resource has no attributes.
type resourceSpans struct {
	resource map[string]any
	scopes   []scopeSpans
}

func batch(rss ...resourceSpans) ptrace.Traces {
	td := ptrace.NewTraces()
	for i, r := range rss {
		rs := td.ResourceSpans().AppendEmpty()
		if err := rs.Resource().Attributes().FromRaw(r.resource); err != nil {
			panic(err)
		}
		for j, s := range r.scopes {
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(s.name)
			ss.Scope().SetVersion(s.version)
			for k, sp := range s.spans {
				out := ss.Spans().AppendEmpty()
				out.SetName(sp.name)
				if sp.name == "" {
					out.SetName("span")
				}
				out.SetKind(sp.kind)
				out.Status().SetCode(sp.status)
				st := pcommon.NewTimestampFromTime(epoch.Add(sp.start))
				out.SetStartTimestamp(st)
				out.SetEndTimestamp(pcommon.Timestamp(int64(st) + int64(sp.dur)))
				out.TraceState().FromRaw(sp.state)
				out.SetTraceID(gatewaydata.TraceID(uint64(i<<20 | j<<10 | k)))
				if err := out.Attributes().FromRaw(sp.attrs); err != nil {
					panic(err)
				}
			}
		}
	}
	return td
}

func one(resource map[string]any, spans ...span) ptrace.Traces {
	return batch(resourceSpans{resource: resource, scopes: []scopeSpans{{name: "io.krakend.krakend-otel", spans: spans}}})
}

// krakendConf is the translator's configuration, as keys.
func krakendConf() map[string]any {
	return map[string]any{
		"namespace":                     "gateway.spans",
		"include_instrumentation_scope": []any{"io.krakend.krakend-otel"},
		"dimensions": []any{
			map[string]any{"name": "krakend.stage"}, map[string]any{"name": "http.route"},
			map[string]any{"name": "krakend.endpoint.route"}, map[string]any{"name": "http.request.method"},
			map[string]any{"name": "http.response.status_code"},
		},
		"exclude_dimensions":            []any{"span.name"},
		"aggregation_cardinality_limit": 5000,
		"histogram": map[string]any{"unit": "s", "explicit": map[string]any{"buckets": []any{
			"10ms", "20ms", "50ms", "75ms", "100ms", "125ms", "150ms", "175ms", "200ms", "250ms", "300ms", "350ms",
			"500ms", "750ms", "1s", "1500ms", "2s", "3500ms", "5s", "10s",
		}}},
		"metrics_flush_interval": "15s",
	}
}

func with(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func gatewayBatchOf(service string, first uint64, statuses ...int) ptrace.Traces {
	reqs := make([]gatewaydata.Request, len(statuses))
	for i, s := range statuses {
		reqs[i] = gatewaydata.DefaultRequest
		reqs[i].Status = s
		reqs[i].EndpointRoute = fmt.Sprintf("/e%d/:id", i%3)
		reqs[i].Path = fmt.Sprintf("/e%d/%d", i%3, i)
	}
	return gatewaydata.NewTraces(service, first, reqs...)
}

// step is a batch consumed at an offset of the clock, or a tick.
type step struct {
	advance time.Duration // before the batch
	td      ptrace.Traces
	tick    bool
}

func ticks() step { return step{tick: true} }

// TestSameMetricsAsSpanmetrics feeds the same batches to spanmetrics and to
// requestmetrics, each configured from the same keys, and requires every
// tick's emission to be the same: names, units, temporality, attributes
// with their types, values, bucket counts and timestamps. Batches avoid
// only what the README lists as a difference (a value's type or position in
// the series key, the scope in the key, an empty bucket list, the counts
// past the largest int64, Shutdown's emission).
func TestSameMetricsAsSpanmetrics(t *testing.T) {
	svc := map[string]any{"service.name": "gw"}
	proxy := func(route string, status any, d time.Duration) span {
		return span{name: route, kind: ptrace.SpanKindInternal, dur: d, attrs: map[string]any{
			"krakend.stage": "proxy", "http.route": route, "http.request.method": "GET", "http.response.status_code": status,
		}}
	}
	var everyKindAndStatus []span
	for k := ptrace.SpanKind(-1); k <= 7; k++ {
		for s := ptrace.StatusCode(-1); s <= 4; s++ {
			everyKindAndStatus = append(everyKindAndStatus, span{name: "op", kind: k, status: s, dur: time.Duration(k+2) * time.Millisecond})
		}
	}
	odd := map[string]any{"service.name": "odd", "tenant": "acme", "zone": int64(3)}
	tests := []struct {
		name  string
		conf  map[string]any
		steps []step
	}{
		{
			name: "KrakenD batches with the translator's configuration",
			conf: krakendConf(),
			steps: []step{
				{td: gatewayBatchOf("krakend", 1, 200, 404, 500, 200, 503)}, ticks(),
				{advance: time.Second, td: gatewayBatchOf("krakend", 10, 200, 200, 429)},
				{td: gatewayBatchOf("other-gw", 20, 200)}, ticks(), ticks(),
			},
		},
		{
			name: "the defaults: milliseconds, default buckets, span names",
			conf: map[string]any{},
			steps: []step{
				{td: gatewayBatchOf("krakend", 1, 200, 500)},
				{td: one(svc, span{dur: 2 * time.Millisecond}, span{dur: 2*time.Millisecond + 1}, span{dur: 15 * time.Second}, span{dur: time.Hour})}, ticks(),
				{td: one(svc, span{dur: 3 * time.Millisecond})}, ticks(),
			},
		},
		{
			name: "seconds with default buckets",
			conf: map[string]any{"histogram": map[string]any{"unit": "s"}},
			steps: []step{
				{td: one(svc, span{dur: 2 * time.Millisecond}, span{dur: 1400 * time.Millisecond}, span{dur: 1400*time.Millisecond + 1}, span{dur: 16 * time.Second})}, ticks(),
			},
		},
		{
			name: "explicit milliseconds buckets",
			conf: map[string]any{"histogram": map[string]any{"unit": "ms", "explicit": map[string]any{"buckets": []any{"100us", "1ms", "1500ms", "1m"}}}},
			steps: []step{
				{td: one(svc, span{dur: 100 * time.Microsecond}, span{dur: 101 * time.Microsecond}, span{dur: time.Minute}, span{dur: 2 * time.Minute})}, ticks(),
			},
		},
		{
			name: "spans that end before they start, or at it, or at the largest timestamp",
			conf: map[string]any{},
			steps: []step{
				{td: one(svc, span{dur: -time.Second}, span{dur: 0}, span{start: -time.Duration(epoch.UnixNano()), dur: math.MaxInt64})}, ticks(),
			},
		},
		{
			name:  "every span kind and status code, inside the enums and out",
			conf:  map[string]any{},
			steps: []step{{td: one(svc, everyKindAndStatus...)}, ticks(), {td: one(svc, everyKindAndStatus...)}, ticks()},
		},
		{
			name: "resources without service.name, with a service.name that is not a string, with no spans",
			conf: map[string]any{},
			steps: []step{
				{td: batch(
					resourceSpans{resource: nil, scopes: []scopeSpans{{spans: []span{{}}}}},
					resourceSpans{resource: map[string]any{"host.name": "h"}, scopes: []scopeSpans{{spans: []span{{}}}}},
					resourceSpans{resource: map[string]any{"service.name": int64(7)}, scopes: []scopeSpans{{spans: []span{{}, {name: "b"}}}}},
					resourceSpans{resource: map[string]any{"service.name": "empty"}},
					resourceSpans{resource: map[string]any{"service.name": "no-spans"}, scopes: []scopeSpans{{name: "s"}}},
				)}, ticks(),
			},
		},
		{
			name: "dimensions of every type, from the span, the resource or a default",
			conf: map[string]any{"dimensions": []any{
				map[string]any{"name": "tenant"}, map[string]any{"name": "zone", "default": "none"},
				map[string]any{"name": "code"}, map[string]any{"name": "ratio"}, map[string]any{"name": "ok"},
				map[string]any{"name": "tags"}, map[string]any{"name": "meta"}, map[string]any{"name": "raw"},
				map[string]any{"name": "missing", "default": "dflt"},
			}},
			steps: []step{
				{td: batch(resourceSpans{resource: odd, scopes: []scopeSpans{{name: "s", spans: []span{
					{attrs: map[string]any{"code": int64(200), "ratio": 0.5, "ok": true, "tags": []any{"a", int64(1)}, "meta": map[string]any{"k": "v"}, "raw": []byte{1, 2}}},
					{attrs: map[string]any{"code": int64(500), "ratio": math.Inf(1), "ok": false, "tenant": "span-wins", "zone": int64(4)}},
					{attrs: map[string]any{"code": int64(500), "ratio": math.Inf(1), "ok": false}},
					{attrs: map[string]any{"code": int64(200), "ratio": 0.5, "ok": true, "tags": []any{"a", int64(1)}, "meta": map[string]any{"k": "v"}, "raw": []byte{1, 2}}},
				}}}})},
				{td: one(map[string]any{"service.name": "plain"}, span{attrs: map[string]any{"code": int64(1)}}, span{})},
				ticks(),
			},
		},
		{
			name: "included scopes, with and without a version, beside other scopes",
			conf: map[string]any{"include_instrumentation_scope": []any{"a", "b"}},
			steps: []step{
				{td: batch(
					resourceSpans{resource: svc, scopes: []scopeSpans{
						{name: "a", version: "1.0", spans: []span{{name: "x"}, {name: "x"}}},
						{name: "b", spans: []span{{name: "y"}}},
						{name: "c", version: "9", spans: []span{{name: "z"}}},
						{name: "", spans: []span{{name: "w"}}},
					}},
				)}, ticks(),
			},
		},
		{
			name: "every built-in dimension excluded",
			conf: map[string]any{"exclude_dimensions": []any{"service.name", "span.name", "span.kind", "status.code", "collector.instance.id"},
				"dimensions": []any{map[string]any{"name": "route"}}},
			steps: []step{
				{td: one(svc, span{name: "a", kind: 1, attrs: map[string]any{"route": "/a"}}, span{name: "b", kind: 2, status: 2, attrs: map[string]any{"route": "/a"}}, span{attrs: map[string]any{"route": "/b"}})},
				ticks(),
			},
		},
		{
			name: "an empty namespace, span.kind and status.code excluded",
			conf: map[string]any{"namespace": "", "exclude_dimensions": []any{"span.kind", "status.code"}},
			steps: []step{
				{td: one(svc, span{kind: 1}, span{kind: 2, status: 2}, span{name: "other", kind: 3})}, ticks(),
			},
		},
		{
			name: "past the cardinality limit, in several resources and ticks",
			conf: with(krakendConf(), "aggregation_cardinality_limit", 3),
			steps: []step{
				{td: one(svc, proxy("/a", int64(200), time.Millisecond), proxy("/b", int64(200), time.Millisecond))},
				{td: one(map[string]any{"service.name": "other"}, proxy("/a", int64(200), time.Millisecond))},
				ticks(),
				{advance: time.Second, td: one(svc, proxy("/c", int64(200), time.Millisecond), proxy("/d", int64(200), 20*time.Second), proxy("/e", int64(500), time.Millisecond), proxy("/a", int64(200), time.Millisecond))},
				ticks(),
				{td: one(svc, proxy("/f", int64(200), time.Millisecond))}, ticks(),
			},
		},
		{
			name: "OTEP 235 thresholds that divide exactly",
			conf: map[string]any{},
			steps: []step{
				{td: one(svc, span{state: "ot=th:8", dur: time.Millisecond}, span{state: "ot=th:c;rv:ffffffffffffff", dur: time.Second}, span{state: "ot=th:0"},
					span{state: "ot=th:ffffffffffffff"}, span{state: "vendor=x,ot=th:8"}, span{state: "ot=th:zz"}, span{state: "vendor=x"})},
				ticks(),
			},
		},
		{
			name: "a resource's attribute that changes makes another resource",
			conf: map[string]any{},
			steps: []step{
				{td: one(map[string]any{"service.name": "gw", "service.instance.id": "1"}, span{})},
				{td: one(map[string]any{"service.name": "gw", "service.instance.id": "2"}, span{})},
				{td: one(map[string]any{"service.instance.id": "1", "service.name": "gw"}, span{})},
				ticks(),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newConfPair(t, tt.conf)
			interval := time.Minute
			if s, ok := tt.conf["metrics_flush_interval"].(string); ok {
				var err error
				interval, err = time.ParseDuration(s)
				require.NoError(t, err)
			}
			var elapsed time.Duration
			for _, s := range tt.steps {
				if s.tick {
					p.flush(t, interval-elapsed)
					elapsed = 0
					continue
				}
				if s.advance > 0 {
					p.clock.Advance(s.advance)
					elapsed += s.advance
				}
				p.consume(t, s.td)
			}
			// once more, so that every series shows its calls (the first
			// point of a series is 0)
			p.flush(t, interval-elapsed)
		})
	}
}

// TestSameResourceEvictionAsSpanmetrics goes past the 1000 resources both
// keep: the least recently seen ones are emitted once more then forgotten,
// one seen again before that tick is kept, and a forgotten one that comes
// back starts over.
func TestSameResourceEvictionAsSpanmetrics(t *testing.T) {
	p := newConfPair(t, map[string]any{})
	res := func(i int) map[string]any { return map[string]any{"service.name": fmt.Sprint("gw-", i)} }
	for i := range resourceLimit + 5 {
		p.consume(t, one(res(i), span{}))
	}
	p.consume(t, one(res(1), span{name: "again"})) // evicted, then seen again
	p.consume(t, one(res(resourceLimit+5), span{}))
	p.flush(t, time.Minute)
	p.consume(t, one(res(0), span{})) // forgotten: starts over
	p.consume(t, one(res(500), span{}))
	p.flush(t, time.Minute)
	p.flush(t, time.Minute)

	// one more resource than kept, in turn, with some seen out of turn:
	// every batch revives an evicted resource and evicts another
	for round := range 3 {
		for i := range resourceLimit + 1 {
			p.consume(t, one(res(i), span{}))
			if i%97 == round {
				p.consume(t, one(res((i*7)%(resourceLimit+1)), span{name: "out of turn"}))
			}
		}
		p.flush(t, time.Minute)
	}
	p.flush(t, time.Minute)
}
