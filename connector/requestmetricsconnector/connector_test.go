package requestmetricsconnector

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector/internal/metadata"
)

var epoch = time.Unix(1_700_000_000, 0)

// translatedConfig is what config/translate writes.
func translatedConfig() *Config {
	return &Config{
		Namespace:                   "gateway.spans",
		IncludeInstrumentationScope: []string{"io.krakend.krakend-otel"},
		Dimensions: []Dimension{
			{Name: "krakend.stage"}, {Name: "http.route"}, {Name: "krakend.endpoint.route"},
			{Name: "http.request.method"}, {Name: "http.response.status_code"},
		},
		ExcludeDimensions:           []string{"span.name"},
		AggregationCardinalityLimit: 5000,
		Histogram: HistogramConfig{Unit: UnitSeconds, Explicit: ExplicitHistogramConfig{Buckets: []time.Duration{
			ms(10), ms(20), ms(50), ms(75), ms(100), ms(125), ms(150), ms(175), ms(200), ms(250), ms(300), ms(350),
			ms(500), ms(750), ms(1000), ms(1500), ms(2000), ms(3500), ms(5000), ms(10000),
		}}},
		MetricsFlushInterval: 15 * time.Second,
	}
}

type harness struct {
	t     *testing.T
	clock *clockwork.FakeClock
	sink  *consumertest.MetricsSink
	c     connector.Traces
}

func start(t *testing.T, cfg *Config) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{t: t, clock: clockwork.NewFakeClockAt(epoch), sink: new(consumertest.MetricsSink)}
	set := connectortest.NewNopSettings(metadata.Type)
	set.Resource.Attributes().PutStr("collector.instance.id", "instance-1")
	c, err := NewFactory().CreateTracesToMetrics(clockwork.AddToContext(context.Background(), h.clock), set, cfg, h.sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, c.Shutdown(context.Background())) })
	h.c = c
	return h
}

func (h *harness) consume(td ptrace.Traces) {
	h.t.Helper()
	td.MarkReadOnly()
	require.NoError(h.t, h.c.ConsumeTraces(context.Background(), td))
}

// flush advances the fake clock by the interval and returns what the tick
// emitted.
func (h *harness) flush(interval time.Duration) pmetric.Metrics {
	h.t.Helper()
	n := len(h.sink.AllMetrics())
	require.NoError(h.t, h.clock.BlockUntilContext(context.Background(), 1))
	h.clock.Advance(interval)
	require.Eventually(h.t, func() bool { return len(h.sink.AllMetrics()) > n }, 5*time.Second, time.Millisecond)
	return h.sink.AllMetrics()[n]
}

type spanSpec struct {
	kind     ptrace.SpanKind
	status   ptrace.StatusCode
	duration time.Duration
	attrs    map[string]any
	state    string
	trace    pcommon.TraceID
	parent   pcommon.SpanID
}

func traces(resource map[string]any, scope string, spans ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	_ = rs.Resource().Attributes().FromRaw(resource)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(scope)
	ss.Scope().SetVersion("1.2.3")
	for _, s := range spans {
		sp := ss.Spans().AppendEmpty()
		sp.SetName("GET /users/42")
		sp.SetKind(s.kind)
		sp.Status().SetCode(s.status)
		st := pcommon.NewTimestampFromTime(epoch)
		sp.SetStartTimestamp(st)
		sp.SetEndTimestamp(st + pcommon.Timestamp(s.duration))
		sp.TraceState().FromRaw(s.state)
		sp.SetTraceID(s.trace)
		sp.SetParentSpanID(s.parent)
		_ = sp.Attributes().FromRaw(s.attrs)
	}
	return td
}

// points returns the calls and duration points of every resource, keyed by
// the resource's service.name and the point's attributes.
func points(md pmetric.Metrics) (map[string]pmetric.NumberDataPoint, map[string]pmetric.HistogramDataPoint) {
	calls := map[string]pmetric.NumberDataPoint{}
	durs := map[string]pmetric.HistogramDataPoint{}
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		svc, _ := rm.Resource().Attributes().Get("service.name")
		ms := rm.ScopeMetrics().At(0).Metrics()
		for j := 0; j < ms.Len(); j++ {
			m := ms.At(j)
			switch m.Type() {
			case pmetric.MetricTypeSum:
				for k := 0; k < m.Sum().DataPoints().Len(); k++ {
					dp := m.Sum().DataPoints().At(k)
					calls[svc.Str()+" "+attrString(dp.Attributes())] = dp
				}
			case pmetric.MetricTypeHistogram:
				for k := 0; k < m.Histogram().DataPoints().Len(); k++ {
					dp := m.Histogram().DataPoints().At(k)
					durs[svc.Str()+" "+attrString(dp.Attributes())] = dp
				}
			}
		}
	}
	return calls, durs
}

func attrString(m pcommon.Map) string {
	var parts []string
	for k, v := range m.All() {
		parts = append(parts, fmt.Sprintf("%s=%s:%s", k, v.Type(), v.AsString()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func proxySpan(route string, status int64, d time.Duration) spanSpec {
	return spanSpec{kind: ptrace.SpanKindInternal, duration: d, attrs: map[string]any{
		"krakend.stage": "proxy", "http.route": route, "http.request.method": "GET", "http.response.status_code": status, "complete": true,
	}}
}

func TestTheTranslatedConfigurationEmitsSpanmetricsShapedSeries(t *testing.T) {
	h := start(t, translatedConfig())
	res := map[string]any{"service.name": "gw", "service.instance.id": "a"}
	h.consume(traces(res, "io.krakend.krakend-otel",
		proxySpan("/users/:id", 200, 10*time.Millisecond),   // exactly on the first bound: bucket 0
		proxySpan("/users/:id", 200, 10*time.Millisecond+1), // just past it: bucket 1
		proxySpan("/users/:id", 500, 20*time.Second),        // past the last bound
		spanSpec{kind: ptrace.SpanKindServer, status: ptrace.StatusCodeError, duration: -time.Millisecond, // end before start: 0
			attrs: map[string]any{"krakend.stage": "global", "http.route": "/users/:id", "http.request.method": "GET", "http.response.status_code": int64(500)}},
	))

	md := h.flush(15 * time.Second)
	require.Equal(t, 1, md.ResourceMetrics().Len())
	rm := md.ResourceMetrics().At(0)
	assert.Equal(t, map[string]any{"service.name": "gw", "service.instance.id": "a"}, rm.Resource().Attributes().AsRaw(), "the resource's attributes are carried")
	sm := rm.ScopeMetrics().At(0)
	assert.Equal(t, "spanmetricsconnector", sm.Scope().Name())
	require.Equal(t, 2, sm.Metrics().Len())
	callsM, durM := sm.Metrics().At(0), sm.Metrics().At(1)
	assert.Equal(t, "gateway.spans.calls", callsM.Name())
	assert.Empty(t, callsM.Unit())
	assert.True(t, callsM.Sum().IsMonotonic())
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, callsM.Sum().AggregationTemporality())
	assert.Equal(t, "gateway.spans.duration", durM.Name())
	assert.Equal(t, "s", durM.Unit())
	assert.Equal(t, pmetric.AggregationTemporalityCumulative, durM.Histogram().AggregationTemporality())

	calls, durs := points(md)
	require.Len(t, calls, 3)
	okKey := "gw collector.instance.id=Str:instance-1,http.request.method=Str:GET,http.response.status_code=Int:200,http.route=Str:/users/:id," +
		"krakend.stage=Str:proxy,service.name=Str:gw,span.instrumentation.scope.name=Str:io.krakend.krakend-otel," +
		"span.instrumentation.scope.version=Str:1.2.3,span.kind=Str:SPAN_KIND_INTERNAL,status.code=Str:STATUS_CODE_UNSET"
	require.Contains(t, calls, okKey)
	assert.Equal(t, int64(0), calls[okKey].IntValue(), "a new cumulative calls series starts at 0, as in spanmetrics")
	assert.Equal(t, pcommon.NewTimestampFromTime(epoch), calls[okKey].StartTimestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(epoch.Add(15*time.Second)), calls[okKey].Timestamp())
	d := durs[okKey]
	assert.Equal(t, uint64(2), d.Count())
	assert.Equal(t, 0.01+float64(10*time.Millisecond+1)/1e9, d.Sum())
	assert.Equal(t, []float64{0.01, 0.02, 0.05, 0.075, 0.1, 0.125, 0.15, 0.175, 0.2, 0.25, 0.3, 0.35, 0.5, 0.75, 1, 1.5, 2, 3.5, 5, 10}, d.ExplicitBounds().AsRaw())
	wantBuckets := make([]uint64, 21)
	wantBuckets[0], wantBuckets[1] = 1, 1
	assert.Equal(t, wantBuckets, d.BucketCounts().AsRaw())

	for k, dp := range durs {
		if strings.Contains(k, "status_code=Int:500") && strings.Contains(k, "stage=Str:proxy") {
			assert.Equal(t, uint64(1), dp.BucketCounts().At(20), "20 s is past the last bound")
		}
		if strings.Contains(k, "SPAN_KIND_SERVER") {
			assert.Contains(t, k, "status.code=Str:STATUS_CODE_ERROR")
			assert.Equal(t, 0.0, dp.Sum(), "an end before the start counts as 0")
			assert.Equal(t, uint64(1), dp.BucketCounts().At(0))
		}
	}

	// The next tick reports the counts, from the same start.
	h.consume(traces(res, "io.krakend.krakend-otel", proxySpan("/users/:id", 200, time.Millisecond)))
	calls, durs = points(h.flush(15 * time.Second))
	assert.Equal(t, int64(3), calls[okKey].IntValue())
	assert.Equal(t, uint64(3), durs[okKey].Count())
	assert.Equal(t, pcommon.NewTimestampFromTime(epoch), calls[okKey].StartTimestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(epoch.Add(30*time.Second)), calls[okKey].Timestamp())
}

func TestADimensionComesFromTheSpanThenTheResourceThenItsDefault(t *testing.T) {
	none := "none"
	cfg := translatedConfig()
	cfg.Dimensions = []Dimension{{Name: "tenant", Default: &none}, {Name: "region"}}
	h := start(t, cfg)
	h.consume(traces(map[string]any{"service.name": "gw", "tenant": "from-resource"}, "other",
		spanSpec{attrs: map[string]any{"tenant": "from-span"}},
		spanSpec{attrs: map[string]any{"region": "eu"}}))
	h.consume(traces(map[string]any{"service.name": "gw2"}, "other", spanSpec{}))
	calls, _ := points(h.flush(cfg.MetricsFlushInterval))
	var keys []string
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	common := "collector.instance.id=Str:instance-1,"
	assert.Equal(t, []string{
		"gw " + common + "region=Str:eu,service.name=Str:gw,span.kind=Str:SPAN_KIND_UNSPECIFIED,status.code=Str:STATUS_CODE_UNSET,tenant=Str:from-resource",
		"gw " + common + "service.name=Str:gw,span.kind=Str:SPAN_KIND_UNSPECIFIED,status.code=Str:STATUS_CODE_UNSET,tenant=Str:from-span",
		"gw2 " + common + "service.name=Str:gw2,span.kind=Str:SPAN_KIND_UNSPECIFIED,status.code=Str:STATUS_CODE_UNSET,tenant=Str:none",
	}, keys, "spans of a scope not included carry no scope attributes")
}

func TestSpanNameAndExclusions(t *testing.T) {
	cfg := translatedConfig()
	cfg.Dimensions = nil
	cfg.ExcludeDimensions = []string{"service.name", "collector.instance.id"}
	h := start(t, cfg)
	td := traces(map[string]any{"service.name": "gw"}, "s", spanSpec{}, spanSpec{})
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(1).SetName("other")
	h.consume(td)
	calls, _ := points(h.flush(cfg.MetricsFlushInterval))
	var keys []string
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{
		"gw span.kind=Str:SPAN_KIND_UNSPECIFIED,span.name=Str:GET /users/42,status.code=Str:STATUS_CODE_UNSET",
		"gw span.kind=Str:SPAN_KIND_UNSPECIFIED,span.name=Str:other,status.code=Str:STATUS_CODE_UNSET",
	}, keys)
}

// TestAnExcludedKindOrStatusDoesNotSplitTheSeries: spanmetrics leaves an
// excluded span.kind or status.code out of the series key (connector.go
// buildKey), so spans that differ only there share one series; two series
// would carry the same attributes.
func TestAnExcludedKindOrStatusDoesNotSplitTheSeries(t *testing.T) {
	cfg := translatedConfig()
	cfg.ExcludeDimensions = []string{"span.kind", "status.code"}
	h := start(t, cfg)
	ok := proxySpan("/a", 200, time.Millisecond)
	failed := proxySpan("/a", 200, time.Millisecond)
	failed.kind, failed.status = ptrace.SpanKindServer, ptrace.StatusCodeError
	h.consume(traces(map[string]any{"service.name": "gw"}, "s", ok, failed))
	md := h.flush(15 * time.Second)
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(1).Histogram().DataPoints()
	require.Equal(t, 1, dps.Len(), "one series without span.kind and status.code")
	assert.Equal(t, uint64(2), dps.At(0).Count())
}

// TestKindsAndStatusesOutsideTheEnumsShareASeries: spanmetrics names every
// kind or status code outside the enums "" (traceutil.SpanKindStr,
// StatusCodeStr) in its key and attributes, so such spans share one series.
func TestKindsAndStatusesOutsideTheEnumsShareASeries(t *testing.T) {
	h := start(t, translatedConfig())
	var spans []spanSpec
	for _, k := range []ptrace.SpanKind{6, 7, -1} {
		for _, s := range []ptrace.StatusCode{3, 4} {
			sp := proxySpan("/a", 200, time.Millisecond)
			sp.kind, sp.status = k, s
			spans = append(spans, sp)
		}
	}
	h.consume(traces(map[string]any{"service.name": "gw"}, "s", spans...))
	md := h.flush(15 * time.Second)
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(1).Histogram().DataPoints()
	require.Equal(t, 1, dps.Len())
	assert.Equal(t, uint64(6), dps.At(0).Count())
	kind, _ := dps.At(0).Attributes().Get("span.kind")
	status, _ := dps.At(0).Attributes().Get("status.code")
	assert.Empty(t, kind.Str())
	assert.Empty(t, status.Str())
}

func TestAResourceWithoutServiceNameIsNotCounted(t *testing.T) {
	h := start(t, translatedConfig())
	h.consume(traces(map[string]any{"host.name": "x"}, "s", proxySpan("/a", 200, time.Millisecond)))
	md := h.flush(15 * time.Second)
	assert.Equal(t, 0, md.ResourceMetrics().Len())
}

// A dimension value counts by its string form, which is what every metric
// destination labels it with: two series that differ only by a value's
// type would show in Prometheus with the same labels.
func TestAValueCountsByItsStringForm(t *testing.T) {
	for _, tc := range []struct {
		name        string
		first, then any
		series      int
	}{
		{"int and string", int64(200), "200", 1},
		{"string and int", "200", int64(200), 1},
		{"negative int and string", int64(-3), "-3", 1},
		{"bool and string", true, "true", 1},
		{"integral double and int", 200.0, int64(200), 1},
		{"integral double and string", 200.0, "200", 1},
		{"double and string", 0.5, "0.5", 1},
		{"double in exponent form and string", 1e21, "1e+21", 1},
		{"small double and string", 1e-9, "1e-9", 1},
		{"leading zero", int64(7), "007", 2},
		{"plus sign", int64(200), "+200", 2},
		{"space", int64(200), " 200", 2},
		{"zero double and string", 0.0, "0", 1},
		{"negative zero double and int", math.Copysign(0, -1), int64(0), 2}, // "-0" is not "0"
		{"int and bool", int64(1), true, 2},
		{"past int64", 1e19, "10000000000000000000", 1},
		{"string past int64 and int", "9223372036854775808", int64(math.MaxInt64), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, translatedConfig())
			s := proxySpan("/a", 200, time.Millisecond)
			s.attrs["http.response.status_code"] = tc.first
			s2 := proxySpan("/a", 200, time.Millisecond)
			s2.attrs["http.response.status_code"] = tc.then
			h.consume(traces(map[string]any{"service.name": "gw"}, "s", s, s2))
			h.flush(15 * time.Second) // a series' first point is its start, at 0
			calls, _ := points(h.flush(15 * time.Second))
			require.Len(t, calls, tc.series)
			if tc.series == 1 {
				for k, dp := range calls {
					assert.Equal(t, int64(2), dp.IntValue(), "both spans counted")
					first := pcommon.NewValueEmpty()
					require.NoError(t, first.FromRaw(tc.first))
					assert.Contains(t, k, "http.response.status_code="+first.Type().String()+":", "labelled with the type seen first")
				}
			}
		})
	}
}

func TestPastTheCardinalityLimitNewSeriesShareTheOverflowSeries(t *testing.T) {
	cfg := translatedConfig()
	cfg.AggregationCardinalityLimit = 2
	h := start(t, cfg)
	res := map[string]any{"service.name": "gw"}
	h.consume(traces(res, "s", proxySpan("/a", 200, time.Millisecond), proxySpan("/b", 200, time.Millisecond)))
	h.clock.Advance(time.Second)
	h.consume(traces(res, "s", proxySpan("/c", 200, time.Millisecond), proxySpan("/d", 200, time.Millisecond), proxySpan("/a", 200, time.Millisecond)))
	h.consume(traces(map[string]any{"service.name": "other"}, "s", proxySpan("/c", 200, time.Millisecond)))
	h.flush(14 * time.Second)
	calls, durs := points(h.flush(15 * time.Second))
	require.Len(t, calls, 4, "two series and the overflow series of gw, one series of other")
	ov := calls["gw otel.metric.overflow=Bool:true"]
	assert.Equal(t, int64(2), ov.IntValue())
	assert.Equal(t, pcommon.NewTimestampFromTime(epoch.Add(time.Second)), ov.StartTimestamp(), "the overflow series starts when it is first needed")
	assert.Equal(t, uint64(2), durs["gw otel.metric.overflow=Bool:true"].Count())
	for k, dp := range calls {
		if strings.Contains(k, "http.route=Str:/a") {
			assert.Equal(t, int64(2), dp.IntValue(), "an existing series is still counted past the limit")
		}
	}
}

func TestAnAdjustedCountWeighsTheSpan(t *testing.T) {
	h := start(t, translatedConfig())
	s := proxySpan("/a", 200, 2*time.Second)
	s.state = "ot=th:c" // kept at 25 %: each span stands for 4
	h.consume(traces(map[string]any{"service.name": "gw"}, "s", s, s, proxySpan("/a", 200, 2*time.Second)))
	h.flush(15 * time.Second)
	calls, durs := points(h.flush(15 * time.Second))
	require.Len(t, calls, 1)
	for k := range calls {
		assert.Equal(t, int64(9), calls[k].IntValue())
		assert.Equal(t, uint64(9), durs[k].Count())
		assert.Equal(t, 18.0, durs[k].Sum())
	}
}

// Trace IDs that KrakenD's rule at 25 % keeps and drops: it keeps when
// BigEndian(id[8:16])>>1 < 0.25·2^63.
var (
	keptAt25    = pcommon.TraceID{0: 1, 8: 0x1f}
	droppedAt25 = pcommon.TraceID{0: 2, 8: 0xe0}
)

// spanOf returns s in the given trace, a child span unless root.
func spanOf(s spanSpec, trace pcommon.TraceID, root bool) spanSpec {
	s.trace = trace
	if !root {
		s.parent = pcommon.SpanID{1}
	}
	return s
}

func TestUpstreamSamplingWeighsTheSpansOfTracesItsRuleKeeps(t *testing.T) {
	cfg := translatedConfig()
	cfg.UpstreamSampling.Percentage = 25
	h := start(t, cfg)
	s := proxySpan("/a", 200, 2*time.Second)
	th := spanOf(s, keptAt25, false)
	th.state = "ot=th:8" // a threshold of its own (50 %) wins
	h.consume(traces(map[string]any{"service.name": "gw"}, "s",
		spanOf(s, keptAt25, true),     // the gateway's root: 4
		spanOf(s, keptAt25, false),    // its child: 4
		spanOf(s, droppedAt25, false), // a caller's trace, kept for the caller: 1
		th,                            // 2
	))
	h.flush(15 * time.Second)
	calls, durs := points(h.flush(15 * time.Second))
	require.Len(t, calls, 1)
	for k := range calls {
		assert.Equal(t, int64(11), calls[k].IntValue())
		assert.Equal(t, uint64(11), durs[k].Count())
		assert.Equal(t, 22.0, durs[k].Sum())
	}
}

func TestASenderThatStartsATraceTheRuleDropsIsCountedOneToOne(t *testing.T) {
	cfg := translatedConfig()
	cfg.UpstreamSampling.Percentage = 25
	h := start(t, cfg)
	s := proxySpan("/a", 200, time.Second)
	other := map[string]any{"service.name": "sends-everything"}
	sampling := map[string]any{"service.name": "samples"}
	// Its root comes after the first span of a kept trace: the whole batch
	// counts 1:1.
	h.consume(traces(other, "s", spanOf(s, keptAt25, false), spanOf(s, droppedAt25, true)))
	h.consume(traces(other, "s", spanOf(s, keptAt25, true)))
	h.consume(traces(sampling, "s", spanOf(s, keptAt25, true)))
	h.flush(15 * time.Second)
	calls, _ := points(h.flush(15 * time.Second))
	byService := map[string]int64{}
	for k, p := range calls {
		svc, _, _ := strings.Cut(k, " ")
		byService[svc] += p.IntValue()
	}
	assert.Equal(t, map[string]int64{"sends-everything": 3, "samples": 4}, byService)
}

func TestAWeightWithAFractionIsRoundedToItOnAverage(t *testing.T) {
	cfg := translatedConfig()
	cfg.UpstreamSampling.Percentage = 30 // 3⅓ requests a span
	h := start(t, cfg)
	const n = 30_000
	spans := make([]spanSpec, n)
	for i := range spans {
		spans[i] = spanOf(proxySpan("/a", 200, time.Millisecond), keptAt25, false) // kept at 30 % too
	}
	h.consume(traces(map[string]any{"service.name": "gw"}, "s", spans...))
	h.flush(15 * time.Second)
	calls, _ := points(h.flush(15 * time.Second))
	require.Len(t, calls, 1)
	for k := range calls {
		// Each span counts 3 or 4, 4 with probability 1/3: the sum's
		// standard deviation is sqrt(n·2/9) ≈ 82.
		assert.InDelta(t, float64(n)*10/3, float64(calls[k].IntValue()), 5*82)
	}
}

func TestACountStopsAtTheLargestInt64InsteadOfWrappingNegative(t *testing.T) {
	h := start(t, translatedConfig())
	s := proxySpan("/a", 200, time.Millisecond)
	s.state = "ot=th:ffffffffffffff" // each span stands for 2^56
	spans := make([]spanSpec, 129)
	for i := range spans {
		spans[i] = s
	}
	h.consume(traces(map[string]any{"service.name": "gw"}, "s", spans...))
	h.flush(15 * time.Second)
	calls, durs := points(h.flush(15 * time.Second))
	require.Len(t, calls, 1)
	for k := range calls {
		assert.Equal(t, int64(math.MaxInt64), calls[k].IntValue(), "129 × 2^56 is past the int64 of a calls point")
		assert.Equal(t, uint64(math.MaxInt64), durs[k].Count())
		assert.Equal(t, uint64(math.MaxInt64), durs[k].BucketCounts().At(0))
	}
}

func TestEveryResourcePastTheLimitIsEmittedOnceMoreThenForgotten(t *testing.T) {
	h := start(t, translatedConfig())
	for i := range resourceLimit + 1 {
		h.consume(traces(map[string]any{"service.name": fmt.Sprint("gw-", i)}, "s", proxySpan("/a", 200, time.Millisecond)))
	}
	assert.Equal(t, resourceLimit+1, h.flush(15*time.Second).ResourceMetrics().Len())
	md := h.flush(15 * time.Second)
	assert.Equal(t, resourceLimit, md.ResourceMetrics().Len())
	calls, _ := points(md)
	for k := range calls {
		assert.False(t, strings.HasPrefix(k, "gw-0 "), "the least recently seen resource is the one forgotten")
	}
}

func TestConcurrentBatchesAreAllCounted(t *testing.T) {
	h := start(t, translatedConfig())
	const workers, batches = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				td := traces(map[string]any{"service.name": "gw"}, "io.krakend.krakend-otel",
					proxySpan(fmt.Sprint("/r", (w+b)%7), 200, time.Millisecond), proxySpan("/a", 500, time.Millisecond))
				td.MarkReadOnly()
				assert.NoError(t, h.c.ConsumeTraces(context.Background(), td))
			}
		}()
	}
	// flushes while the batches arrive
	for range 3 {
		h.flush(15 * time.Second)
	}
	wg.Wait()
	h.flush(15 * time.Second)
	calls, durs := points(h.flush(15 * time.Second))
	var total int64
	var count uint64
	for k, dp := range calls {
		total += dp.IntValue()
		count += durs[k].Count()
	}
	assert.Equal(t, int64(workers*batches*2), total)
	assert.Equal(t, uint64(workers*batches*2), count)
}

func TestShutdownEmitsWhatWasCountedSinceTheLastTick(t *testing.T) {
	sink := new(consumertest.MetricsSink)
	clock := clockwork.NewFakeClockAt(epoch)
	c, err := NewFactory().CreateTracesToMetrics(clockwork.AddToContext(context.Background(), clock),
		connectortest.NewNopSettings(metadata.Type), translatedConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(context.Background(), traces(map[string]any{"service.name": "gw"}, "s", proxySpan("/a", 200, time.Millisecond))))
	require.NoError(t, c.Shutdown(context.Background()))
	require.Len(t, sink.AllMetrics(), 1)
	_, durs := points(sink.AllMetrics()[0])
	require.Len(t, durs, 1)
	for _, dp := range durs {
		assert.Equal(t, uint64(1), dp.Count())
	}
}

// TestShutdownEmitsTheCallsOfSeriesNotYetEmitted: a series first seen since
// the last tick (or a connector stopped before its first tick, a restart
// within metrics_flush_interval) has no later emission for its calls to
// rise from the usual first 0: Shutdown's point carries its count.
func TestShutdownEmitsTheCallsOfSeriesNotYetEmitted(t *testing.T) {
	for _, tickFirst := range []bool{false, true} {
		t.Run(fmt.Sprint("after a tick: ", tickFirst), func(t *testing.T) {
			sink := new(consumertest.MetricsSink)
			clock := clockwork.NewFakeClockAt(epoch)
			c, err := NewFactory().CreateTracesToMetrics(clockwork.AddToContext(context.Background(), clock),
				connectortest.NewNopSettings(metadata.Type), translatedConfig(), sink)
			require.NoError(t, err)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			res := map[string]any{"service.name": "gw"}
			if tickFirst {
				require.NoError(t, c.ConsumeTraces(context.Background(), traces(res, "s", proxySpan("/old", 200, time.Millisecond))))
				require.NoError(t, clock.BlockUntilContext(context.Background(), 1))
				clock.Advance(15 * time.Second)
				require.Eventually(t, func() bool { return len(sink.AllMetrics()) == 1 }, 5*time.Second, time.Millisecond)
			}
			require.NoError(t, c.ConsumeTraces(context.Background(), traces(res, "s",
				proxySpan("/new", 200, time.Millisecond), proxySpan("/new", 200, time.Millisecond), proxySpan("/old", 200, time.Millisecond))))
			require.NoError(t, c.Shutdown(context.Background()))
			all := sink.AllMetrics()
			calls, durs := points(all[len(all)-1])
			require.NotEmpty(t, calls)
			for k, dp := range calls {
				assert.Equal(t, int64(durs[k].Count()), dp.IntValue(), "calls of %s at Shutdown", k)
			}
		})
	}
}

// stuckConsumer blocks its first ConsumeMetrics until that call's context
// is done, as an exporter retrying a refusing backend does, and accepts
// the later ones.
type stuckConsumer struct {
	consumertest.MetricsSink
	entered chan struct{}
	once    sync.Once
}

func (s *stuckConsumer) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-ctx.Done()
		return ctx.Err()
	}
	return s.MetricsSink.ConsumeMetrics(ctx, md)
}

// TestShutdownDoesNotWaitForATickStuckInTheNextConsumer: a tick's emission
// blocked in the next consumer is abandoned when Shutdown is called, which
// then emits once more and returns, instead of hanging the collector's
// shutdown for as long as the exporter retries.
func TestShutdownDoesNotWaitForATickStuckInTheNextConsumer(t *testing.T) {
	next := &stuckConsumer{entered: make(chan struct{})}
	clock := clockwork.NewFakeClockAt(epoch)
	c, err := NewFactory().CreateTracesToMetrics(clockwork.AddToContext(context.Background(), clock),
		connectortest.NewNopSettings(metadata.Type), translatedConfig(), next)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(context.Background(), traces(map[string]any{"service.name": "gw"}, "s", proxySpan("/a", 200, time.Millisecond))))
	require.NoError(t, clock.BlockUntilContext(context.Background(), 1))
	clock.Advance(15 * time.Second)
	<-next.entered

	done := make(chan error, 1)
	go func() { done <- c.Shutdown(context.Background()) }()
	var shutdownErr error
	require.Eventually(t, func() bool {
		select {
		case shutdownErr = <-done:
			return true
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond, "Shutdown waits for the stuck tick")
	require.NoError(t, shutdownErr)
	require.Len(t, next.AllMetrics(), 1, "Shutdown's own emission")
	calls, _ := points(next.AllMetrics()[0])
	require.Len(t, calls, 1)
	for _, dp := range calls {
		assert.Equal(t, int64(1), dp.IntValue())
	}
}
