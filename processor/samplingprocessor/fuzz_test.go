package samplingprocessor

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

// fuzzRoutes: one route kept whole, one dropped whole, one in between, in
// both spellings.
var fuzzRoutes = map[string]float64{"/users/{id}": 100, "/__health": 0, "/orders/:id/items": 50}

type fuzzCase struct {
	cfg *Config
	p   processor.Traces
	out *consumertest.TracesSink
	// copied is the same configuration with copy_kept_spans, which must
	// hand on exactly what removing in place hands on.
	copied    processor.Traces
	copiedOut *consumertest.TracesSink
}

// FuzzTraces runs decoded OTLP through the processor in one of eight
// configurations: both modes at 0, 25 and 100 % and with routes. Invariants, as the README promises them:
//   - no panic;
//   - the spans handed on are input spans (by trace and span ID, none
//     twice), unchanged but for their tracestate;
//   - one decision per trace: in sdk_parity mode all the spans of a trace
//     that take one percentage are kept or none, whatever their tracestate;
//     in consistent mode the same holds among the spans that also carry the
//     same arriving rv and th (a malformed tracestate, or one without them,
//     counts as none: the trace ID decides);
//   - with routes, a span whose own route is at 100 % is kept, at 0 % not;
//   - at 100 % (no routes) the batch is handed on as it came; at 0 %
//     nothing is;
//   - below 100 % in consistent mode a kept span whose tracestate parses
//     carries a th its randomness meets; a tracestate the processor
//     rewrote parses, and in sdk_parity mode its rv meets its th;
//   - copy_kept_spans hands on what removing in place does.
func FuzzTraces(f *testing.F) {
	var cases []*fuzzCase
	for _, mode := range []Mode{ModeSDKParity, ModeConsistent} {
		for _, c := range []struct {
			pct    float64
			routes map[string]float64
		}{{0, nil}, {25, nil}, {100, nil}, {25, fuzzRoutes}} {
			cfg := newConfig(c.pct, mode, c.routes)
			fc := &fuzzCase{cfg: cfg, out: new(consumertest.TracesSink), copiedOut: new(consumertest.TracesSink)}
			fc.p = newFuzzProcessor(f, cfg, fc.out)
			cc := *cfg
			cc.CopyKeptSpans = true
			fc.copied = newFuzzProcessor(f, &cc, fc.copiedOut)
			cases = append(cases, fc)
		}
	}
	for i, td := range fuzzSamplingSeeds() {
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			f.Fatal(err)
		}
		// Every seed at 25 % in both modes, and in one other
		// configuration that varies by seed.
		f.Add(body, uint8(1))
		f.Add(body, uint8(5))
		f.Add(body, []uint8{0, 2, 3, 4, 6, 7}[i%6])
	}
	// which picks one configuration, so that an execution stays cheap and
	// the fuzzer's minimization quick.
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		in := req.Traces()
		if in.SpanCount() > 256 {
			return
		}
		inputs := indexSpans(in)
		{
			c := cases[int(which)%len(cases)]
			name := fmt.Sprintf("%s at %g%% routes %v", c.cfg.Mode, c.cfg.SamplingPercentage, c.cfg.Routes != nil)
			c.out.Reset()
			c.copiedOut.Reset()
			work := ptrace.NewTraces()
			in.CopyTo(work)
			if err := c.p.ConsumeTraces(context.Background(), work); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			shared := ptrace.NewTraces()
			in.CopyTo(shared)
			shared.MarkReadOnly()
			if err := c.copied.ConsumeTraces(context.Background(), shared); err != nil {
				t.Fatalf("%s, copy_kept_spans: %v", name, err)
			}
			checkSampled(t, name, c, in, inputs)
		}
	})
}

func newFuzzProcessor(f *testing.F, cfg *Config, next *consumertest.TracesSink) processor.Traces {
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
	if err != nil {
		f.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		f.Fatal(err)
	}
	return p
}

type fuzzSpanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// indexSpans lists the spans by trace and span ID.
func indexSpans(td ptrace.Traces) map[fuzzSpanKey][]ptrace.Span {
	out := map[fuzzSpanKey][]ptrace.Span{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				k := fuzzSpanKey{s.TraceID(), s.SpanID()}
				out[k] = append(out[k], s)
			}
		}
	}
	return out
}

// decisionGroup is what the README says a span's decision depends on: its
// trace, the percentage it takes (its own route, or, without one, the
// trace's root in the batch) and, in consistent mode, the rv and th of its
// tracestate.
type decisionGroup struct {
	trace  pcommon.TraceID
	route  string
	rv, th string
}

func groupOf(mode Mode, routes bool, s ptrace.Span) decisionGroup {
	g := decisionGroup{trace: s.TraceID()}
	if routes {
		g.route = fuzzOwnRoute(s.Attributes())
	}
	if mode == ModeConsistent {
		if w3c, err := sampling.NewW3CTraceState(s.TraceState().AsRaw()); err == nil {
			ot := w3c.OTelValue()
			if rv, ok := ot.RValueRandomness(); ok {
				g.rv = fmt.Sprint(rv.Unsigned())
			}
			if th, ok := ot.TValueThreshold(); ok {
				g.th = th.TValue()
			}
		}
	}
	return g
}

// fuzzOwnRoute is the README's rule, written again: krakend.endpoint.route,
// else http.route on a global or proxy span; "" without one (such spans
// all take their trace's root route in the batch, or the default).
func fuzzOwnRoute(a pcommon.Map) string {
	if v, ok := a.Get("krakend.endpoint.route"); ok && v.Type() == pcommon.ValueTypeStr {
		return "own:" + v.Str()
	}
	st, ok := a.Get(layer.StageKey)
	if !ok || st.Type() != pcommon.ValueTypeStr || (st.Str() != layer.StageGlobal && st.Str() != layer.StageProxy) {
		return ""
	}
	if v, ok := a.Get("http.route"); ok && v.Type() == pcommon.ValueTypeStr {
		return "own:" + v.Str()
	}
	return ""
}

func checkSampled(t *testing.T, name string, c *fuzzCase, in ptrace.Traces, inputs map[fuzzSpanKey][]ptrace.Span) {
	t.Helper()
	got := c.out.AllTraces()
	if len(got) > 1 {
		t.Fatalf("%s: %d batches handed on for one", name, len(got))
	}
	out := ptrace.NewTraces()
	if len(got) == 1 {
		out = got[0]
	}
	routes := c.cfg.Routes != nil
	mode := c.cfg.Mode

	// copy_kept_spans hands on the same spans.
	copied := ptrace.NewTraces()
	if all := c.copiedOut.AllTraces(); len(all) == 1 {
		copied = all[0]
	}
	a, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(out)
	b, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(copied)
	if !bytes.Equal(a, b) {
		t.Fatalf("%s: copy_kept_spans hands on %d spans, in place %d, or other tracestates", name, copied.SpanCount(), out.SpanCount())
	}

	if !routes && c.cfg.SamplingPercentage == 100 {
		want, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(in)
		if !bytes.Equal(a, want) {
			t.Fatalf("%s: the batch was changed (%d of %d spans handed on)", name, out.SpanCount(), in.SpanCount())
		}
	}
	if !routes && c.cfg.SamplingPercentage == 0 && out.SpanCount() > 0 {
		t.Fatalf("%s: %d spans kept", name, out.SpanCount())
	}

	// Kept spans are input spans, unchanged but for the tracestate.
	kept := map[fuzzSpanKey]int{}
	keptGroups := map[decisionGroup]bool{}
	for _, rs := range out.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				k := fuzzSpanKey{s.TraceID(), s.SpanID()}
				kept[k]++
				from := inputs[k]
				if kept[k] > len(from) {
					t.Fatalf("%s: span %s/%s handed on %d times, %d in the input", name, k.trace, k.span, kept[k], len(from))
				}
				orig := from[kept[k]-1]
				checkUnchanged(t, name, orig, s)
				keptGroups[groupOf(mode, routes, orig)] = true
				checkTraceState(t, name, c.cfg, orig, s)
			}
		}
	}

	// One decision per trace (and percentage, and rv/th in consistent mode).
	for _, rs := range in.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				k := fuzzSpanKey{s.TraceID(), s.SpanID()}
				g := groupOf(mode, routes, s)
				if keptGroups[g] && kept[k] == 0 {
					t.Fatalf("%s: trace %s split: span %s (tracestate %q, route %q) dropped, another span of its group kept",
						name, k.trace, k.span, s.TraceState().AsRaw(), g.route)
				}
				if routes {
					switch strings.TrimPrefix(g.route, "own:") {
					case "/users/{id}", "/users/:id":
						if kept[k] == 0 {
							t.Fatalf("%s: span %s of a route at 100%% dropped", name, k.span)
						}
					case "/__health":
						if kept[k] != 0 {
							t.Fatalf("%s: span %s of a route at 0%% kept", name, k.span)
						}
					}
				}
			}
		}
	}
}

// checkUnchanged compares a kept span with the input span it came from,
// tracestate aside.
func checkUnchanged(t *testing.T, name string, orig, kept ptrace.Span) {
	t.Helper()
	x := ptrace.NewTraces()
	orig.CopyTo(x.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty())
	y := ptrace.NewTraces()
	s := y.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	kept.CopyTo(s)
	s.TraceState().FromRaw(orig.TraceState().AsRaw())
	a, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(x)
	b, _ := (&ptrace.ProtoMarshaler{}).MarshalTraces(y)
	if !bytes.Equal(a, b) {
		t.Fatalf("%s: span %s changed beyond its tracestate", name, orig.SpanID())
	}
}

func checkTraceState(t *testing.T, name string, cfg *Config, orig, kept ptrace.Span) {
	t.Helper()
	before, after := orig.TraceState().AsRaw(), kept.TraceState().AsRaw()
	w3c, err := sampling.NewW3CTraceState(after)
	if after != before && err != nil {
		t.Fatalf("%s: span %s: tracestate %q written from %q does not parse: %v", name, orig.SpanID(), after, before, err)
	}
	if err != nil {
		return // malformed as it came: left alone, the trace ID decided
	}
	ot := w3c.OTelValue()
	rnd, hasRV := ot.RValueRandomness()
	if !hasRV {
		rnd = sampling.TraceIDToRandomness(kept.TraceID())
	}
	th, hasTH := ot.TValueThreshold()
	switch {
	case cfg.Mode == ModeConsistent && cfg.Routes == nil && cfg.SamplingPercentage > 0 && cfg.SamplingPercentage < 100:
		if !hasTH && (after != before || thFits(before)) {
			t.Fatalf("%s: kept span %s carries no th: %q (from %q)", name, orig.SpanID(), after, before)
		}
		if !hasTH {
			return // left as it came: with a th, no reader would read it
		}
		if !th.ShouldSample(rnd) {
			t.Fatalf("%s: kept span %s: its randomness does not meet its th: %q (from %q)", name, orig.SpanID(), after, before)
		}
	case cfg.Mode == ModeSDKParity && after != before:
		if !hasRV || !hasTH || !th.ShouldSample(rnd) {
			t.Fatalf("%s: kept span %s: written rv does not meet th: %q (from %q)", name, orig.SpanID(), after, before)
		}
	}
}

// thFits tells whether a th (of four digits, the most written) can be
// added to a tracestate that a reader still reads: 31 members at most, 1024
// characters, an ot value of 256 (the contrib reader's limits).
func thFits(raw string) bool {
	members := strings.Split(raw, ",")
	ot := false
	for i, m := range members {
		if k, _, _ := strings.Cut(strings.TrimSpace(m), "="); k == "ot" {
			members[i], ot = m+";th:ffff", true
		}
	}
	if !ot {
		members = append([]string{"ot=th:ffff"}, members...)
	}
	_, err := sampling.NewW3CTraceState(strings.Join(members, ","))
	return err == nil
}

// fuzzSamplingSeeds are KrakenD batches (several trace IDs, so that 25 %
// keeps some and drops others) with assorted tracestates: none, valid ot
// entries with th and rv, another vendor's, malformed ones, 32 members, a
// very long one, and spans of one trace that carry different tracestates.
func fuzzSamplingSeeds() []ptrace.Traces {
	users := gatewaydata.DefaultRequest
	health := gatewaydata.Request{Path: "/__health", EndpointRoute: "/__health", Method: "GET", BackendPattern: "/__health", BackendHost: "localhost", Status: 200}
	items := gatewaydata.Request{Path: "/orders/7/items", EndpointRoute: "/orders/:id/items", Method: "GET", BackendPattern: "/v1/orders/:id/items", BackendHost: "orders.internal", Status: 503}
	reqs := []gatewaydata.Request{users, items, health, items, users, items, items, items}

	var members []string
	for i := range 32 {
		members = append(members, fmt.Sprintf("k%d=v%d", i, i))
	}
	states := []string{
		"",
		"ot=th:c",
		"ot=rv:ffffffffffffff",
		"ot=th:8;rv:c0000000000000",
		"ot=th:fffc;rv:00000000000001",
		"ot=th:0",
		"dd=s:1;o:rum,ot=rv:80000000000000",
		"dd=s:1;o:rum",
		"ot=th:zz",
		"ot=rv:123",
		"=,=",
		strings.Join(members, ","),
		strings.Join(members[:31], ","),
		strings.Join(members[:31], ",") + ",ot=th:4",
		"vendor=" + strings.Repeat("x", 250) + ",ot=th:8",
	}

	var seeds []ptrace.Traces
	// Every span of a batch with one tracestate, per state.
	for i, st := range states {
		td := gatewaydata.NewTraces("gw", uint64(1+8*i), reqs...)
		for _, s := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			s.TraceState().FromRaw(st)
		}
		seeds = append(seeds, td)
	}
	// Spans of one trace with different tracestates.
	mixed := gatewaydata.NewTraces("gw", 200, reqs...)
	for j, s := range mixed.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		s.TraceState().FromRaw(states[j%len(states)])
	}
	seeds = append(seeds, mixed)
	// Routes: a foreign span under a gateway trace, whose root is in the
	// batch, and one whose root is not; wrong attribute types.
	foreign := gatewaydata.NewTraces("gw", 300, users, health, items)
	spans := foreign.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for j := range 3 {
		c := spans.AppendEmpty()
		c.SetTraceID(spans.At(5 * j).TraceID())
		c.SetSpanID(pcommon.SpanID{0xf0, byte(j)})
		c.SetParentSpanID(spans.At(5*j + 1).SpanID())
		c.SetName("backend work")
	}
	spans.At(0).Attributes().PutInt("krakend.endpoint.route", 7)
	spans.At(9).Attributes().PutInt(layer.StageKey, 1)
	seeds = append(seeds, foreign)
	return seeds
}
