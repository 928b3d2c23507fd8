package requestmetricsconnector

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector/internal/metadata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

// fuzzLimit is a cardinality limit small enough for a fuzzed batch to pass it.
const fuzzLimit = 4

// fuzzSeeds are gateway batches and the odd shapes a client can send: values
// of unexpected types, kinds and codes outside the enums, broken timestamps,
// more routes than the limit, scopes the configuration does not name.
func fuzzSeeds() []ptrace.Traces {
	gw := func() ptrace.Traces {
		return gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest, gatewaydata.Request{
			Path: "/orders", EndpointRoute: "/orders", Method: "POST",
			BackendPattern: "/v2/orders", BackendHost: "orders.internal:8080", Status: 503,
		})
	}
	// each changes every span of a gateway batch
	edit := func(f func(i int, s ptrace.Span)) ptrace.Traces {
		td := gw()
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			f(i, spans.At(i))
		}
		return td
	}
	seeds := []ptrace.Traces{
		gw(),
		edit(func(_ int, s ptrace.Span) { s.Attributes().PutInt("http.route", 42) }),
		edit(func(i int, s ptrace.Span) {
			a := s.Attributes()
			switch i % 4 {
			case 0:
				a.PutStr("http.response.status_code", "200")
			case 1:
				a.PutBool("http.response.status_code", true)
			case 2:
				a.PutInt("http.response.status_code", math.MaxInt64)
			case 3:
				a.PutDouble("http.response.status_code", math.NaN())
			}
		}),
		edit(func(i int, s ptrace.Span) { // one value in three types, and one only alike
			a := s.Attributes()
			switch i % 4 {
			case 0:
				a.PutInt("http.response.status_code", 200)
			case 1:
				a.PutStr("http.response.status_code", "200")
			case 2:
				a.PutDouble("http.response.status_code", 200)
			case 3:
				a.PutStr("http.response.status_code", "0200")
			}
		}),
		edit(func(i int, s ptrace.Span) {
			s.SetKind(ptrace.SpanKind(6 + i))
			s.Status().SetCode(ptrace.StatusCode(3 + i))
		}),
		edit(func(i int, s ptrace.Span) {
			switch i % 3 {
			case 0: // ends before it starts
				s.SetEndTimestamp(s.StartTimestamp() - 1)
			case 1:
				s.SetStartTimestamp(0)
				s.SetEndTimestamp(0)
			case 2: // as long as a timestamp allows
				s.SetStartTimestamp(0)
				s.SetEndTimestamp(math.MaxUint64)
			}
		}),
		edit(func(i int, s ptrace.Span) {
			// th:8 keeps half the spans: each stands for 2; th:ffffffffffffff
			// stands for 2^56.
			s.TraceState().FromRaw([]string{"ot=th:8", "ot=th:c;rv:123", "ot=th:ffffffffffffff", "ot=th:zz", "vendor=x"}[i%5])
		}),
	}

	// more routes than the limit, in one resource
	reqs := make([]gatewaydata.Request, 2*fuzzLimit)
	for i := range reqs {
		reqs[i] = gatewaydata.DefaultRequest
		reqs[i].EndpointRoute = fmt.Sprintf("/r%d/:id", i)
		reqs[i].Path = fmt.Sprintf("/r%d/1", i)
	}
	seeds = append(seeds, gatewaydata.NewTraces("gw", 1, reqs...))

	// scopes: empty, the gateway's with a version, another; a resource without
	// service.name and one whose service.name is not a string
	td := gw()
	rss := td.ResourceSpans()
	rss.At(0).ScopeSpans().At(0).Scope().SetVersion("2.13.0")
	rss.At(0).ScopeSpans().At(0).CopyTo(rss.At(0).ScopeSpans().AppendEmpty())
	rss.At(0).ScopeSpans().At(1).Scope().SetName("")
	rss.At(0).ScopeSpans().At(0).CopyTo(rss.At(0).ScopeSpans().AppendEmpty())
	rss.At(0).ScopeSpans().At(2).Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	rss.At(0).CopyTo(rss.AppendEmpty())
	rss.At(1).Resource().Attributes().Remove("service.name")
	rss.At(0).CopyTo(rss.AppendEmpty())
	rss.At(2).Resource().Attributes().PutInt("service.name", 7)
	seeds = append(seeds, td)
	return seeds
}

// FuzzTraces counts arbitrary decodable batches with the translated
// configuration and a small cardinality limit, then checks both emissions
// (the first tick and Shutdown) against what the README promises.
func FuzzTraces(f *testing.F) {
	for _, td := range fuzzSeeds() {
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cfg := translatedConfig()
	cfg.AggregationCardinalityLimit = fuzzLimit
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		td := req.Traces()
		lo, hi, resources := expectedCalls(td)

		ctx := context.Background()
		clock := clockwork.NewFakeClockAt(epoch)
		sink := new(consumertest.MetricsSink)
		c, err := NewFactory().CreateTracesToMetrics(clockwork.AddToContext(ctx, clock), connectortest.NewNopSettings(metadata.Type), cfg, sink)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
		td.MarkReadOnly() // the connector declares it does not mutate
		if err := c.ConsumeTraces(ctx, td); err != nil {
			t.Fatal(err)
		}
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(cfg.MetricsFlushInterval)
		for deadline := time.Now().Add(5 * time.Second); len(sink.AllMetrics()) == 0; runtime.Gosched() {
			if time.Now().After(deadline) {
				t.Fatal("no metrics one flush interval after the batch")
			}
		}
		if err := c.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		emitted := sink.AllMetrics()
		if len(emitted) != 2 {
			t.Fatalf("%d emissions, want the tick's and Shutdown's", len(emitted))
		}

		// The first emission of a series has calls 0, its histogram the
		// spans; the second its calls too. Past resourceLimit resources the
		// evicted ones are only in the first.
		counted, saturated := checkEmission(t, cfg, emitted[0], true)
		if saturated {
			lo = wide{} // a saturated series counts fewer
		}
		if counted.Cmp(lo) < 0 || counted.Cmp(hi) > 0 {
			t.Fatalf("the histograms count %v spans, want %v to %v (adjusted counts of the spans of resources with service.name)", counted, lo, hi)
		}
		counted, _ = checkEmission(t, cfg, emitted[1], false)
		if resources <= resourceLimit && (counted.Cmp(lo) < 0 || counted.Cmp(hi) > 0) {
			t.Fatalf("the calls count %v spans, want %v to %v", counted, lo, hi)
		}
	})
}

// wide is an unsigned 128-bit sum, so that adjusted counts of up to 2^56
// per span never wrap in the expectation.
type wide struct{ hi, lo uint64 }

func (w *wide) add(n uint64) {
	var carry uint64
	w.lo, carry = bits.Add64(w.lo, n, 0)
	w.hi += carry
}

func (w wide) Cmp(o wide) int {
	switch {
	case w.hi != o.hi:
		return cmpU(w.hi, o.hi)
	default:
		return cmpU(w.lo, o.lo)
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (w wide) String() string {
	if w.hi == 0 {
		return fmt.Sprint(w.lo)
	}
	return fmt.Sprintf("%d·2^64+%d", w.hi, w.lo)
}

// expectedCalls is the range of the total calls: every span of a resource
// with service.name counts (whatever its scope), for its adjusted count,
// which is rounded up or down at random. resources is how many resources
// are counted, as an upper bound of the distinct ones.
func expectedCalls(td ptrace.Traces) (lo, hi wide, resources int) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if _, ok := rs.Resource().Attributes().Get("service.name"); !ok {
			continue
		}
		resources++
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				l, h := adjustedRange(spans.At(k).TraceState().AsRaw())
				lo.add(l)
				hi.add(h)
			}
		}
	}
	return lo, hi, resources
}

// adjustedRange is the OTEP 235 adjusted count of a tracestate, 2^56 over
// the rejected range, as its floor and ceiling; 1 without a threshold.
func adjustedRange(tracestate string) (lo, hi uint64) {
	w3c, err := sampling.NewW3CTraceState(tracestate)
	if tracestate == "" || err != nil {
		return 1, 1
	}
	th, ok := w3c.OTelValue().TValueThreshold()
	if !ok || th.Unsigned() == sampling.MaxAdjustedCount {
		return 1, 1
	}
	den := sampling.MaxAdjustedCount - th.Unsigned()
	q := sampling.MaxAdjustedCount / den
	if sampling.MaxAdjustedCount%den != 0 {
		return q, q + 1
	}
	return q, q
}

// checkEmission checks one emission's shape and returns the spans it counts:
// the histograms' counts on the first, the calls' values on later ones; and
// whether a series stopped at maxCount.
func checkEmission(t *testing.T, cfg *Config, md pmetric.Metrics, first bool) (total wide, saturated bool) {
	t.Helper()
	if _, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md); err != nil {
		t.Fatalf("the emitted metrics do not marshal: %v", err)
	}
	bounds := cfg.bounds()
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		rm := md.ResourceMetrics().At(i)
		if _, ok := rm.Resource().Attributes().Get("service.name"); !ok {
			t.Fatal("metrics of a resource without service.name")
		}
		if rm.ScopeMetrics().Len() != 1 || rm.ScopeMetrics().At(0).Scope().Name() != scopeName {
			t.Fatalf("resource %d: want one scope %q", i, scopeName)
		}
		ms := rm.ScopeMetrics().At(0).Metrics()
		if ms.Len() != 2 || ms.At(0).Type() != pmetric.MetricTypeSum || ms.At(1).Type() != pmetric.MetricTypeHistogram {
			t.Fatalf("resource %d: want a calls Sum and a duration Histogram", i)
		}
		calls, durs := ms.At(0).Sum().DataPoints(), ms.At(1).Histogram().DataPoints()
		if calls.Len() != durs.Len() {
			t.Fatalf("resource %d: %d calls points, %d duration points", i, calls.Len(), durs.Len())
		}
		if calls.Len() > cfg.AggregationCardinalityLimit+1 {
			t.Fatalf("resource %d: %d series, past the limit %d and its overflow series", i, calls.Len(), cfg.AggregationCardinalityLimit)
		}
		keys := map[string]bool{}
		overflows := 0
		for k := 0; k < calls.Len(); k++ {
			cp, hp := calls.At(k), durs.At(k)
			// compared by string form: Map.Equal finds a NaN unequal to itself
			key := seriesKey(cp.Attributes())
			if key != seriesKey(hp.Attributes()) {
				t.Fatalf("resource %d, series %d: the calls and duration points differ in attributes", i, k)
			}
			if keys[key] {
				t.Fatalf("resource %d: two series with the attributes %s", i, key)
			}
			keys[key] = true
			if _, ok := cp.Attributes().Get(overflowKey); ok {
				overflows++
			}

			if !slices.Equal(hp.ExplicitBounds().AsRaw(), bounds) || hp.BucketCounts().Len() != len(bounds)+1 {
				t.Fatalf("resource %d, series %d: bounds %v and %d buckets, want %v and one more bucket", i, k, hp.ExplicitBounds().AsRaw(), hp.BucketCounts().Len(), bounds)
			}
			var inBuckets wide
			for _, n := range hp.BucketCounts().All() {
				inBuckets.add(n)
			}
			// a saturated count (maxCount) no longer tells how many spans
			// the buckets hold
			if inBuckets != (wide{lo: hp.Count()}) && (hp.Count() != maxCount || inBuckets.Cmp(wide{lo: maxCount}) < 0) {
				t.Fatalf("resource %d, series %d: the buckets hold %v, the count is %d", i, k, inBuckets, hp.Count())
			}
			if s := hp.Sum(); math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
				t.Fatalf("resource %d, series %d: duration sum %v", i, k, s)
			}
			if hp.HasMin() || hp.HasMax() {
				t.Fatalf("resource %d, series %d: min or max set, spanmetrics sets neither", i, k)
			}

			if cp.ValueType() != pmetric.NumberDataPointValueTypeInt {
				t.Fatalf("resource %d, series %d: calls is %v, want an int", i, k, cp.ValueType())
			}
			switch n := cp.IntValue(); {
			case n < 0:
				t.Fatalf("resource %d, series %d: calls %d (the histogram counts %d)", i, k, n, hp.Count())
			case first && n != 0:
				t.Fatalf("resource %d, series %d: a first emission has calls %d, want 0", i, k, n)
			case !first && uint64(n) != hp.Count():
				t.Fatalf("resource %d, series %d: calls %d, the histogram counts %d", i, k, n, hp.Count())
			}
			saturated = saturated || hp.Count() == maxCount
			if first {
				total.add(hp.Count())
			} else {
				total.add(uint64(cp.IntValue()))
			}
		}
		if overflows > 1 {
			t.Fatalf("resource %d: %d overflow series", i, overflows)
		}
	}
	return total, saturated
}

// seriesKey is what a series shows the Prometheus exporter, by attribute:
// its type and its string form.
func seriesKey(m pcommon.Map) string {
	parts := make([]string, 0, m.Len())
	for k, v := range m.All() {
		switch v.Type() {
		case pcommon.ValueTypeStr, pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
			// a scalar counts by its string form: 200 and "200" are one series
			parts = append(parts, fmt.Sprintf("%q=%q", k, v.AsString()))
		default:
			parts = append(parts, fmt.Sprintf("%q=%s:%q", k, v.Type(), v.AsString()))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
