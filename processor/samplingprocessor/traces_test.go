package samplingprocessor

import (
	"context"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

// expectedKept is the decision function applied to trace IDs alone.
func expectedKept(mode Mode, pct float64, ids []pcommon.TraceID) map[pcommon.TraceID]bool {
	pol := newPolicy(pct)
	keep := keepFunc(mode, &pol)
	out := make(map[pcommon.TraceID]bool, len(ids))
	for _, id := range ids {
		out[id] = keep(id)
	}
	return out
}

func TestEverySpanOfATraceGetsOneDecision(t *testing.T) {
	ids := randomTraceIDs(400, 11)
	reqs := requestsFor(ids, "/orders/:id", "/users/:id", "/catalog")
	for _, mode := range []Mode{ModeConsistent, ModeSDKParity} {
		for _, pct := range []float64{10, 50} {
			want := expectedKept(mode, pct, ids)
			for _, split := range []struct {
				name    string
				batches []ptrace.Traces
			}{
				{"in one batch", []ptrace.Traces{krakendBatch(reqs)}},
				{"in batches of up to 7 spans, shuffled", shuffledBatches(reqs, 1, 7)},
				{"in batches of up to 64 spans, shuffled differently", shuffledBatches(reqs, 2, 64)},
				{"one span per batch", shuffledBatches(reqs, 3, 1)},
			} {
				t.Run(string(mode)+" "+split.name, func(t *testing.T) {
					got := keptSpans(t, newConfig(pct, mode, nil), split.batches)
					keptTraces := 0
					for _, id := range ids {
						if want[id] {
							keptTraces++
							require.Equal(t, 5, got[id], "all five spans of kept trace %s", id)
						} else {
							require.Zero(t, got[id], "no span of dropped trace %s", id)
						}
					}
					require.Positive(t, keptTraces)
					require.Less(t, keptTraces, len(ids))
				})
			}
		}
	}
}

func TestTwoInstancesDecideIdentically(t *testing.T) {
	ids := randomTraceIDs(300, 12)
	reqs := requestsFor(ids)
	for _, mode := range []Mode{ModeConsistent, ModeSDKParity} {
		cfg := newConfig(30, mode, map[string]float64{"/users/{id}": 80})
		// Two replicas, each seeing the spans in its own batches and order.
		a := keptSpans(t, cfg, shuffledBatches(reqs, 21, 13))
		b := keptSpans(t, newConfig(30, mode, map[string]float64{"/users/{id}": 80}), shuffledBatches(reqs, 22, 40))
		require.Equal(t, a, b, string(mode))
		require.NotEmpty(t, a)
	}
}

func spanByID(td ptrace.Traces) map[pcommon.SpanID]ptrace.Span {
	out := map[pcommon.SpanID]ptrace.Span{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				out[spans.At(k).SpanID()] = spans.At(k)
			}
		}
	}
	return out
}

// traceIDWithRandomness builds a trace ID whose low 56 bits are rnd.
func traceIDWithRandomness(rnd uint64) pcommon.TraceID {
	id := pcommon.TraceID{0xab, 1, 2, 3, 4, 5, 6, 7}
	for i := 15; i >= 9; i-- {
		id[i] = byte(rnd)
		rnd >>= 8
	}
	id[8] = 0x5a
	return id
}

func TestConsistentTracestate(t *testing.T) {
	high := traceIDWithRandomness(0xf0000000000000) // kept at 25 % (th c) and at 6.25 % (th f)
	mid := traceIDWithRandomness(0xd0000000000000)  // kept at 25 %, dropped at 6.25 % (th f)
	low := traceIDWithRandomness(0x10000000000000)  // dropped at 25 %

	tests := []struct {
		name     string
		pct      float64
		id       pcommon.TraceID
		arriving string
		keep     bool
		after    string
	}{
		{name: "a kept span without tracestate gets our th", pct: 25, id: mid, arriving: "", keep: true, after: "ot=th:c"},
		{name: "a span below the threshold is dropped", pct: 25, id: low, arriving: "", keep: false},
		{name: "an earlier stage's higher th decides and stays", pct: 25, id: high, arriving: "ot=th:f", keep: true, after: "ot=th:f"},
		{name: "an earlier stage's higher th drops what ours would keep", pct: 25, id: mid, arriving: "ot=th:f", keep: false},
		{name: "an equal th is left as it is", pct: 25, id: mid, arriving: "ot=th:c000", keep: true, after: "ot=th:c000"},
		{name: "a lower arriving th is raised to ours, other vendors kept", pct: 25, id: mid, arriving: "ot=th:4;x:y,vendor=abc", keep: true, after: "ot=th:c;x:y,vendor=abc"},
		{name: "th:0 from a 100 % stage is raised to ours", pct: 25, id: mid, arriving: "ot=th:0", keep: true, after: "ot=th:c"},
		{name: "a tracestate without ot gets ot first", pct: 25, id: mid, arriving: "vendor=abc,other=1", keep: true, after: "ot=th:c,vendor=abc,other=1"},
		{name: "an explicit rv replaces the trace ID's randomness (keep)", pct: 25, id: low, arriving: "ot=rv:ffffffffffffff", keep: true, after: "ot=rv:ffffffffffffff;th:c"},
		{name: "an explicit rv replaces the trace ID's randomness (drop)", pct: 25, id: high, arriving: "ot=rv:00000000000000", keep: false},
		{name: "a malformed tracestate is left alone and the trace ID decides (keep)", pct: 25, id: mid, arriving: "Not A=Tracestate!", keep: true, after: "Not A=Tracestate!"},
		{name: "a malformed tracestate is left alone and the trace ID decides (drop)", pct: 25, id: low, arriving: "Not A=Tracestate!", keep: false},
		{name: "an arriving th inconsistent with the randomness drops the span", pct: 25, id: mid, arriving: "ot=th:e", keep: false},
		{name: "100 % keeps everything and writes nothing", pct: 100, id: low, arriving: "", keep: true, after: ""},
		{name: "100 % leaves an arriving tracestate untouched", pct: 100, id: low, arriving: "ot=th:f", keep: true, after: "ot=th:f"},
		{name: "0 % drops everything", pct: 0, id: high, arriving: "ot=th:0", keep: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := krakendRequest{traceID: tt.id, route: "/orders/:id", backend: "/v1/orders/:id", tracestate: tt.arriving}
			td := krakendBatch([]krakendRequest{req})
			tp := newTestTracesProcessor(t, newConfig(tt.pct, ModeConsistent, nil))
			out, err := tp.processTraces(context.Background(), td)
			if !tt.keep {
				require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData)
				require.Zero(t, out.SpanCount())
				return
			}
			require.NoError(t, err)
			require.Equal(t, 5, out.SpanCount())
			for _, span := range spanByID(out) {
				assert.Equal(t, tt.after, span.TraceState().AsRaw(), span.Name())
			}
		})
	}
}

// In sdk_parity mode a kept span that arrived without tracestate gets
// "ot=rv:…;th:…": th gives the adjusted count (1/p) and rv, a function of
// the trace ID, meets it, so OTEP 235 readers find the span consistent.
// Another vendor's arriving tracestate gets the same entry in front; one
// whose ot entry has a higher th (an earlier stage kept less) or with 32
// members stays as it came; at 100 % nothing is written.
func TestSDKParityWritesThresholdAndRandomness(t *testing.T) {
	full := strings.TrimSuffix(strings.Repeat("v=1,", 32), ",")
	for _, pct := range []float64{0.5, 7, 10, 25, 50, 99.9} {
		ids := randomTraceIDs(2000, 5)
		reqs := requestsFor(ids)
		reqs[0].tracestate = "vendor=abc"
		reqs[1].tracestate = "ot=th:fffff" // an earlier stage that kept less
		reqs[2].tracestate = full
		tp := newTestTracesProcessor(t, newConfig(pct, ModeSDKParity, nil))
		out, err := tp.processTraces(context.Background(), krakendBatch(reqs))
		if pct < 1 && err != nil {
			continue // nothing kept in this sample
		}
		require.NoError(t, err)
		perTrace := map[pcommon.TraceID]string{}
		for _, span := range spanByID(out) {
			raw := span.TraceState().AsRaw()
			switch span.TraceID() {
			case ids[1]:
				assert.Equal(t, "ot=th:fffff", raw)
				continue
			case ids[2]:
				assert.Equal(t, full, raw)
				continue
			case ids[0]:
				ours, vendor, _ := strings.Cut(raw, ",")
				assert.Equal(t, "vendor=abc", vendor, "the vendor's entry stays, after ours")
				raw = ours
			}
			w3c, err := sampling.NewW3CTraceState(raw)
			require.NoError(t, err, raw)
			ot := w3c.OTelValue()
			rnd, hasRV := ot.RValueRandomness()
			th, hasTH := ot.TValueThreshold()
			require.True(t, hasRV && hasTH, "%q carries rv and th", raw)
			assert.True(t, th.ShouldSample(rnd), "%q: rv meets th", raw)
			assert.InEpsilon(t, 100/pct, th.AdjustedCount(), 1e-9, "adjusted count of %v %%", pct)
			if prev, ok := perTrace[span.TraceID()]; ok {
				assert.Equal(t, prev, raw, "every span of a trace carries the same tracestate")
			}
			perTrace[span.TraceID()] = raw
		}
	}

	tp := newTestTracesProcessor(t, newConfig(100, ModeSDKParity, nil))
	out, err := tp.processTraces(context.Background(), krakendBatch(requestsFor(randomTraceIDs(50, 6))))
	require.NoError(t, err)
	for _, span := range spanByID(out) {
		assert.Empty(t, span.TraceState().AsRaw(), "100 %%: nothing written")
	}
}

// A consistent sampler after an sdk_parity one keeps a subset of its traces
// at its own rate: 50 % then 20 % keeps about 20 % of all traces (reading
// the written rv), where two independent rules would keep 10 %.
func TestSDKParityThenConsistentIsAChain(t *testing.T) {
	const n = 20000
	ids := randomTraceIDs(n, 77)
	first := newTestTracesProcessor(t, newConfig(50, ModeSDKParity, nil))
	second := newTestTracesProcessor(t, newConfig(20, ModeConsistent, nil))
	td, err := first.processTraces(context.Background(), krakendBatch(requestsFor(ids)))
	require.NoError(t, err)
	afterFirst := map[pcommon.TraceID]bool{}
	for _, s := range spanByID(td) {
		afterFirst[s.TraceID()] = true
	}
	td, err = second.processTraces(context.Background(), td)
	require.NoError(t, err)
	kept := map[pcommon.TraceID]bool{}
	for _, s := range spanByID(td) {
		kept[s.TraceID()] = true
		assert.True(t, afterFirst[s.TraceID()], "a subset")
		assert.Contains(t, s.TraceState().AsRaw(), "th:c", "the higher threshold (20 %%) is written")
	}
	sd := math.Sqrt(n * 0.2 * 0.8)
	assert.InDelta(t, n*0.2, float64(len(kept)), 5*sd, "kept traces: 20 %% of all, not 10 %%")
}

func TestEmptyContainersAreRemoved(t *testing.T) {
	ids := randomTraceIDs(50, 6)
	want := expectedKept(ModeConsistent, 50, ids)
	td := ptrace.NewTraces()
	// One resource and one scope per trace: dropped traces leave nothing.
	for i, id := range ids {
		rs := td.ResourceSpans().AppendEmpty()
		ss := rs.ScopeSpans().AppendEmpty()
		for n := range 5 {
			appendKrakenDSpan(ss.Spans(), i, krakendRequest{traceID: id, route: "/a", backend: "/b"}, n)
		}
	}
	tp := newTestTracesProcessor(t, newConfig(50, ModeConsistent, nil))
	out, err := tp.processTraces(context.Background(), td)
	require.NoError(t, err)
	kept := 0
	for _, id := range ids {
		if want[id] {
			kept++
		}
	}
	require.Equal(t, kept, out.ResourceSpans().Len())
	for i := 0; i < out.ResourceSpans().Len(); i++ {
		require.Equal(t, 1, out.ResourceSpans().At(i).ScopeSpans().Len())
		require.Equal(t, 5, out.ResourceSpans().At(i).ScopeSpans().At(0).Spans().Len())
	}
}

func TestRoutes(t *testing.T) {
	routes := map[string]float64{"/orders/{id}": 100, "/health": 0}
	ids := randomTraceIDs(300, 8)
	var reqs []krakendRequest
	for i, id := range ids {
		route := []string{"/orders/:id", "/health", "/other/:x"}[i%3]
		reqs = append(reqs, krakendRequest{traceID: id, route: route, backend: "/v1" + route})
	}
	defaultWant := expectedKept(ModeConsistent, 20, ids)
	for _, split := range []struct {
		name    string
		batches []ptrace.Traces
	}{
		{"with the root in the batch", []ptrace.Traces{krakendBatch(reqs)}},
		// KrakenD's spans all carry the endpoint route (http.route on the
		// global and proxy spans, krakend.endpoint.route on backend spans),
		// so the route decides even when the root is in another batch.
		{"with spans spread over batches without their root", shuffledBatches(reqs, 9, 3)},
	} {
		t.Run(split.name, func(t *testing.T) {
			got := keptSpans(t, newConfig(20, ModeConsistent, routes), split.batches)
			for i, id := range ids {
				switch reqs[i].route {
				case "/orders/:id":
					require.Equal(t, 5, got[id], "route at 100 %%")
				case "/health":
					require.Zero(t, got[id], "route at 0 %%")
				default:
					if defaultWant[id] {
						require.Equal(t, 5, got[id])
					} else {
						require.Zero(t, got[id])
					}
				}
			}
		})
	}
}

// A span of another service (no krakend.* attributes, no route of its own)
// follows the route of its trace's root only when the root is in the same
// batch; otherwise it gets the default percentage (README: limits).
func TestRoutesForeignSpanFollowsRootOnlyInTheSameBatch(t *testing.T) {
	id := traceIDWithRandomness(0x10000000000000) // dropped at 10 %
	req := krakendRequest{traceID: id, route: "/orders/:id", backend: "/v1/orders/:id"}
	cfg := newConfig(10, ModeConsistent, map[string]float64{"/orders/{id}": 100})

	foreign := func(spans ptrace.SpanSlice) {
		s := spans.AppendEmpty()
		s.SetTraceID(id)
		s.SetSpanID(pcommon.SpanID{9, 9, 9, 9, 9, 9, 9, 9})
		s.SetParentSpanID(spanIDOf(0, 3))
		s.SetName("GET /v1/orders/{id}")
		s.SetKind(ptrace.SpanKindServer)
	}

	td, spans := newGatewayTraces()
	appendKrakenDSpan(spans, 0, req, 0)
	foreign(spans)
	got := keptSpans(t, cfg, []ptrace.Traces{td})
	require.Equal(t, 2, got[id], "root in the batch: the route's 100 %% applies to the foreign span")

	td, spans = newGatewayTraces()
	foreign(spans)
	got = keptSpans(t, cfg, []ptrace.Traces{td})
	require.Zero(t, got[id], "root elsewhere: the default 10 %% applies")

	// A parentless root of another service carries the route too.
	td, spans = newGatewayTraces()
	root := spans.AppendEmpty()
	root.SetTraceID(id)
	root.SetSpanID(pcommon.SpanID{1})
	root.Attributes().PutStr("http.route", "/orders/{id}")
	foreign(spans)
	got = keptSpans(t, cfg, []ptrace.Traces{td})
	require.Equal(t, 2, got[id])
}

// Two gateways in one trace (a KrakenD calling another) put two global
// spans into a batch: the span without a route of its own follows the outer
// one (the earlier start), whatever the order of the spans in the batch.
func TestRoutesRootChoiceDoesNotDependOnOrder(t *testing.T) {
	id := traceIDWithRandomness(0x10000000000000) // dropped at 10 %
	cfg := newConfig(10, ModeConsistent, map[string]float64{"/outer": 100, "/inner": 0})
	start := pcommon.NewTimestampFromTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	batch := func(innerFirst bool) ptrace.Traces {
		td, spans := newGatewayTraces()
		global := func(n byte, route string, offset time.Duration) {
			s := spans.AppendEmpty()
			s.SetTraceID(id)
			s.SetSpanID(pcommon.SpanID{n})
			s.SetParentSpanID(pcommon.SpanID{n - 1})
			s.SetStartTimestamp(start + pcommon.Timestamp(offset))
			s.Attributes().PutStr(layer.StageKey, layer.StageGlobal)
			s.Attributes().PutStr("http.route", route)
		}
		if innerFirst {
			global(5, "/inner", time.Millisecond)
			global(2, "/outer", 0)
		} else {
			global(2, "/outer", 0)
			global(5, "/inner", time.Millisecond)
		}
		foreign := spans.AppendEmpty()
		foreign.SetTraceID(id)
		foreign.SetSpanID(pcommon.SpanID{9})
		foreign.SetParentSpanID(pcommon.SpanID{8})
		return td
	}
	for _, innerFirst := range []bool{false, true} {
		got := keptSpans(t, cfg, []ptrace.Traces{batch(innerFirst)})
		require.Equal(t, 2, got[id], "inner global first: %v; the outer global and the foreign span are kept", innerFirst)
	}
}

// The gateway's global span is the root a span without a route of its own
// follows, even when the global span's route has no percentage of its own
// (it then stands for sampling_percentage): a parentless span of another
// service with a configured route, or an inner gateway's global span, must
// not decide for it.
func TestRoutesGlobalSpanWinsEvenWhenItsRouteHasNoPercentage(t *testing.T) {
	id := traceIDWithRandomness(0x10000000000000) // kept at 100 %
	cfg := newConfig(100, ModeConsistent, map[string]float64{"/orders/{id}": 0, "/inner": 0})
	start := pcommon.NewTimestampFromTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	global := func(spans ptrace.SpanSlice, n byte, route string, offset time.Duration) {
		s := spans.AppendEmpty()
		s.SetTraceID(id)
		s.SetSpanID(pcommon.SpanID{n})
		s.SetParentSpanID(pcommon.SpanID{n - 1})
		s.SetStartTimestamp(start + pcommon.Timestamp(offset))
		s.Attributes().PutStr(layer.StageKey, layer.StageGlobal)
		s.Attributes().PutStr("http.route", route)
	}
	foreign := func(spans ptrace.SpanSlice) {
		s := spans.AppendEmpty()
		s.SetTraceID(id)
		s.SetSpanID(pcommon.SpanID{9})
		s.SetParentSpanID(pcommon.SpanID{8})
	}

	t.Run("over a parentless span of another service", func(t *testing.T) {
		for _, callerFirst := range []bool{false, true} {
			td, spans := newGatewayTraces()
			caller := func() {
				s := spans.AppendEmpty()
				s.SetTraceID(id)
				s.SetSpanID(pcommon.SpanID{1})
				s.SetKind(ptrace.SpanKindServer)
				s.Attributes().PutStr("http.route", "/orders/{id}")
			}
			if callerFirst {
				caller()
			}
			global(spans, 2, "/other", time.Millisecond)
			if !callerFirst {
				caller()
			}
			foreign(spans)
			got := keptSpans(t, cfg, []ptrace.Traces{td})
			require.Equal(t, 3, got[id], "caller first: %v; the global span's 100 %% decides for the spans without a route of their own, the caller's too", callerFirst)
		}
	})
	t.Run("over an inner gateway's global span", func(t *testing.T) {
		for _, innerFirst := range []bool{false, true} {
			td, spans := newGatewayTraces()
			if innerFirst {
				global(spans, 5, "/inner", time.Millisecond)
				global(spans, 2, "/outer", 0)
			} else {
				global(spans, 2, "/outer", 0)
				global(spans, 5, "/inner", time.Millisecond)
			}
			foreign(spans)
			got := keptSpans(t, cfg, []ptrace.Traces{td})
			require.Equal(t, 2, got[id], "inner first: %v; the outer global span and the span that follows it are kept", innerFirst)
		}
	})
}

func TestOwnTelemetry(t *testing.T) {
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tt.NewTelemetrySettings()

	ids := randomTraceIDs(100, 13)
	want := expectedKept(ModeSDKParity, 40, ids)
	keptTraces := 0
	for _, k := range want {
		if k {
			keptTraces++
		}
	}
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), set, newConfig(40, ModeSDKParity, nil), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeTraces(context.Background(), krakendBatch(requestsFor(ids))))
	require.NoError(t, p.Shutdown(context.Background()))

	mode := attribute.NewSet(attribute.String("mode", "sdk_parity"))
	for name, value := range map[string]int64{
		"otelcol_processor_sampling_spans_kept":    int64(5 * keptTraces),
		"otelcol_processor_sampling_spans_dropped": int64(5 * (len(ids) - keptTraces)),
	} {
		got, err := tt.GetMetric(name)
		require.NoError(t, err, name)
		metricdatatest.AssertEqual(t, metricdata.Metrics{
			Name:        name,
			Description: got.Description,
			Unit:        "{span}",
			Data: metricdata.Sum[int64]{
				Temporality: metricdata.CumulativeTemporality,
				IsMonotonic: true,
				DataPoints:  []metricdata.DataPoint[int64]{{Attributes: mode, Value: value}},
			},
		}, got, metricdatatest.IgnoreTimestamp())
	}
	require.Equal(t, 5*keptTraces, sink.SpanCount())
}

// The hot path: deciding a span (kept, with th written, or dropped)
// allocates nothing in sdk_parity mode, nor in consistent mode when the span
// arrived without tracestate (KrakenD's case), with or without routes.
func TestDecisionDoesNotAllocate(t *testing.T) {
	ids := randomTraceIDs(100, 14)
	td := krakendBatch(requestsFor(ids))
	var spans []ptrace.Span
	for _, s := range spanByID(td) {
		spans = append(spans, s)
	}
	for _, tc := range []struct {
		mode   Mode
		routes map[string]float64
	}{
		{ModeSDKParity, nil},
		{ModeConsistent, nil},
		{ModeSDKParity, map[string]float64{"/orders/{id}": 60}},
		{ModeConsistent, map[string]float64{"/orders/{id}": 60}},
	} {
		tp := newTestTracesProcessor(t, newConfig(60, tc.mode, tc.routes))
		sc := tp.getScratch()
		allocs := testing.AllocsPerRun(20, func() {
			for _, s := range spans {
				s.TraceState().FromRaw("")
				tp.keepSpan(s, sc)
			}
		})
		tp.putScratch(sc)
		require.Zero(t, allocs, "%s routes=%v", tc.mode, tc.routes)
	}
}

// One processor serves concurrent pipelines' calls: decisions do not depend
// on which goroutine, or which pooled scratch, handled a batch.
func TestConcurrentBatches(t *testing.T) {
	ids := randomTraceIDs(400, 41)
	reqs := requestsFor(ids)
	cfg := newConfig(35, ModeConsistent, map[string]float64{"/users/{id}": 70})
	want := keptSpans(t, cfg, []ptrace.Traces{krakendBatch(reqs)})

	sink := new(traceCountingSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	var wg sync.WaitGroup
	for g := range 4 {
		batches := shuffledBatches(reqs[g*100:(g+1)*100], uint64(g), 17)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, td := range batches {
				assert.NoError(t, p.ConsumeTraces(context.Background(), td))
			}
		}()
	}
	wg.Wait()
	require.NoError(t, p.Shutdown(context.Background()))
	require.Equal(t, want, sink.countByTrace())
}

// A trace whose gateway spans arrive without tracestate and whose backend
// service's spans with another vendor's: after sdk_parity every kept span
// carries the same rv, so a later OTEP 235 stage keeps or drops the trace
// whole.
func TestSDKParityThenConsistentKeepsMixedTracesWhole(t *testing.T) {
	ids := randomTraceIDs(4000, 78)
	gateway := krakendBatch(requestsFor(ids))
	reqs := requestsFor(ids)
	for i := range reqs {
		reqs[i].tracestate = "dd=s:1"
	}
	backend := krakendBatch(reqs)
	backend.ResourceSpans().MoveAndAppendTo(gateway.ResourceSpans())
	first := newTestTracesProcessor(t, newConfig(50, ModeSDKParity, nil))
	second := newTestTracesProcessor(t, newConfig(20, ModeConsistent, nil))
	td, err := first.processTraces(context.Background(), gateway)
	require.NoError(t, err)
	td, err = second.processTraces(context.Background(), td)
	require.NoError(t, err)
	perTrace := map[pcommon.TraceID]int{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				perTrace[s.TraceID()]++
			}
		}
	}
	require.NotEmpty(t, perTrace)
	for id, n := range perTrace {
		assert.Equal(t, 10, n, "trace %s: its 5 gateway and 5 backend spans, all or none", id)
	}
}

// Two sdk_parity stages, 50 % then 25 %: the second keeps the first's rv
// and raises its th, so the adjusted count of a kept span is 4, not 2; a
// th already higher than ours (an earlier stage kept less) stays.
func TestSDKParityRaisesAnEarlierStagesThreshold(t *testing.T) {
	pol := newPolicy(25)
	var ids []pcommon.TraceID
	for _, id := range randomTraceIDs(200, 79) {
		if pol.keepSDK(id) {
			ids = append(ids, id)
		}
	}
	require.NotEmpty(t, ids)
	first := newTestTracesProcessor(t, newConfig(50, ModeSDKParity, nil))
	second := newTestTracesProcessor(t, newConfig(25, ModeSDKParity, nil))
	td, err := first.processTraces(context.Background(), krakendBatch(requestsFor(ids)))
	require.NoError(t, err)
	td, err = second.processTraces(context.Background(), td)
	require.NoError(t, err)
	kept := spanByID(td)
	require.Len(t, kept, 5*len(ids), "the second stage keeps every trace its rule keeps")
	for _, span := range kept {
		w3c, err := sampling.NewW3CTraceState(span.TraceState().AsRaw())
		require.NoError(t, err)
		th, _ := w3c.OTelValue().TValueThreshold()
		rv, _ := w3c.OTelValue().RValueRandomness()
		assert.InEpsilon(t, 4, th.AdjustedCount(), 1e-9, span.TraceState().AsRaw())
		assert.True(t, th.ShouldSample(rv), "rv still meets th")
	}

	reqs := requestsFor(ids[:1])
	reqs[0].tracestate = "ot=th:f"
	td, err = second.processTraces(context.Background(), krakendBatch(reqs))
	require.NoError(t, err)
	for _, span := range spanByID(td) {
		assert.Equal(t, "ot=th:f", span.TraceState().AsRaw(), "a higher arriving th stays")
	}
}

// An earlier consistent stage's th without rv (its randomness is the trace
// ID's) stays as it came: raising it would claim a threshold the trace ID
// need not meet.
func TestSDKParityLeavesAThresholdWithoutRandomness(t *testing.T) {
	pol := newPolicy(25)
	var id pcommon.TraceID
	for _, c := range randomTraceIDs(400, 80) {
		if pol.keepSDK(c) && !pol.threshold.ShouldSample(sampling.TraceIDToRandomness(c)) {
			id = c
			break
		}
	}
	require.False(t, id.IsEmpty(), "a trace the SDK rule keeps whose ID's randomness is below th:c")
	reqs := requestsFor([]pcommon.TraceID{id})
	reqs[0].tracestate = "ot=th:8"
	td, err := newTestTracesProcessor(t, newConfig(25, ModeSDKParity, nil)).processTraces(context.Background(), krakendBatch(reqs))
	require.NoError(t, err)
	for _, span := range spanByID(td) {
		assert.Equal(t, "ot=th:8", span.TraceState().AsRaw())
	}
}
