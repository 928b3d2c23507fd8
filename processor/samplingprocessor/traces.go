package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"bytes"
	"context"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

type tracesProcessor struct {
	*sampler
	batcher *keptBatcher // copy_kept_spans with batch
}

func (tp *tracesProcessor) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	if tp.passThrough() {
		tp.telemetry.ProcessorSamplingSpansKept.Add(ctx, int64(td.SpanCount()), tp.addOpts...)
		return td, nil
	}
	sc := tp.getScratch()
	defer tp.putScratch(sc)
	if len(tp.routes) > 0 {
		tp.findRoots(td, sc)
	}

	var kept, dropped int64
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(span ptrace.Span) bool {
				if tp.keepSpan(span, sc) {
					kept++
					return false
				}
				dropped++
				return true
			})
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})

	if kept > 0 {
		tp.telemetry.ProcessorSamplingSpansKept.Add(ctx, kept, tp.addOpts...)
	}
	if dropped > 0 {
		tp.telemetry.ProcessorSamplingSpansDropped.Add(ctx, dropped, tp.addOpts...)
	}
	if td.ResourceSpans().Len() == 0 {
		return td, processorhelper.ErrSkipProcessingData
	}
	if tp.batcher != nil {
		// td is this processor's alone (it says it mutates): what is
		// left of it moves into the pending batch.
		tp.batcher.add(td)
		return td, processorhelper.ErrSkipProcessingData
	}
	return td, nil
}

// copyKeptTraces is processTraces for copy_kept_spans: td is never
// changed (it may be read-only, shared with another consumer); the kept
// spans, with their resource and scope, are copied into a new batch.
func (tp *tracesProcessor) copyKeptTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	if tp.passThrough() {
		tp.telemetry.ProcessorSamplingSpansKept.Add(ctx, int64(td.SpanCount()), tp.addOpts...)
		return td, nil
	}
	sc := tp.getScratch()
	defer tp.putScratch(sc)
	if len(tp.routes) > 0 {
		tp.findRoots(td, sc)
	}

	var kept, dropped int64
	out := ptrace.NewTraces()
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		var outRS ptrace.ResourceSpans
		haveRS := false
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			var outSpans ptrace.SpanSlice
			haveSS := false
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				keep, state, write := tp.decide(span, sc)
				if !keep {
					dropped++
					continue
				}
				kept++
				if !haveRS {
					outRS = out.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(outRS.Resource())
					outRS.SetSchemaUrl(rs.SchemaUrl())
					haveRS = true
				}
				if !haveSS {
					outSS := outRS.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(outSS.Scope())
					outSS.SetSchemaUrl(ss.SchemaUrl())
					outSpans = outSS.Spans()
					// room for the expected share, so that appending
					// seldom grows the slice
					outSpans.EnsureCapacity(tp.expectedKept(spans.Len()))
					haveSS = true
				}
				dst := outSpans.AppendEmpty()
				span.CopyTo(dst)
				if write {
					dst.TraceState().FromRaw(state)
				}
			}
		}
	}

	if kept > 0 {
		tp.telemetry.ProcessorSamplingSpansKept.Add(ctx, kept, tp.addOpts...)
	}
	if dropped > 0 {
		tp.telemetry.ProcessorSamplingSpansDropped.Add(ctx, dropped, tp.addOpts...)
	}
	if kept == 0 {
		return out, processorhelper.ErrSkipProcessingData
	}
	if tp.batcher != nil {
		tp.batcher.add(out)
		return out, processorhelper.ErrSkipProcessingData
	}
	return out, nil
}

// expectedKept is how many of n spans the default percentage keeps, with
// some slack; routes may keep more, and then the slice grows.
func (tp *tracesProcessor) expectedKept(n int) int {
	return int(float64(n)*tp.def.percentage/100*1.25) + 1
}

// findRoots records, per trace, the configured route of its root span when
// this batch holds it: the KrakenD global span, else a span without parent.
func (tp *tracesProcessor) findRoots(td ptrace.Traces, sc *scratch) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				attrs := span.Attributes()
				global := false
				if v, ok := attrs.Get(layer.StageKey); ok && v.Type() == pcommon.ValueTypeStr && v.Str() == layer.StageGlobal {
					global = true
				} else if !span.ParentSpanID().IsEmpty() {
					continue
				}
				idx := noRoute
				if route, ok := attrs.Get(httpRouteKey); ok && route.Type() == pcommon.ValueTypeStr {
					idx = tp.routePolicy(route.Str())
				}
				// A global span whose route has no percentage of its own is
				// still the root, standing for sampling_percentage: a
				// parentless span of another service, or an inner gateway,
				// must not decide for the spans that follow it.
				if idx == noRoute && !global {
					continue
				}
				if sc.roots == nil {
					sc.roots = make(map[pcommon.TraceID]rootEntry)
				}
				id := span.TraceID()
				e := rootEntry{policy: idx, fromGlobal: global, start: span.StartTimestamp(), spanID: span.SpanID()}
				// The gateway's global span wins over a parentless span of
				// some other service, whatever their order in the batch.
				if prev, seen := sc.roots[id]; seen && !e.before(prev) {
					continue
				}
				sc.roots[id] = e
			}
		}
	}
}

// before tells whether e is the better root candidate: a global span over
// any other, then (a gateway behind a gateway) the earlier start, then the
// lower span ID; a total order, so that batch order never decides.
func (e rootEntry) before(other rootEntry) bool {
	if e.fromGlobal != other.fromGlobal {
		return e.fromGlobal
	}
	if e.start != other.start {
		return e.start < other.start
	}
	return bytes.Compare(e.spanID[:], other.spanID[:]) < 0
}

// spanPolicy chooses the percentage for a span: its own endpoint route
// (batch-independent), else its trace's root route in this batch, else the
// default.
func (tp *tracesProcessor) spanPolicy(span ptrace.Span, sc *scratch) *policy {
	if len(tp.routes) == 0 {
		return &tp.def
	}
	if route, ok := ownRoute(span.Attributes()); ok {
		return tp.policyAt(tp.routePolicy(route))
	}
	if root, ok := sc.roots[span.TraceID()]; ok {
		return tp.policyAt(root.policy)
	}
	return &tp.def
}

// sdkState returns the tracestate of a trace kept in sdk_parity mode, made
// once per trace per batch.
func (sc *scratch) sdkState(id pcommon.TraceID, pol *policy) string {
	if sc.lastSDKState.policy == pol && sc.lastSDKID == id {
		return sc.lastSDKState.state
	}
	e, ok := sc.sdkStates[id]
	if !ok || e.policy != pol {
		if sc.sdkStates == nil {
			sc.sdkStates = make(map[pcommon.TraceID]sdkStateEntry)
		}
		e = sdkStateEntry{policy: pol, state: pol.sdkTraceState(id)}
		sc.sdkStates[id] = e
	}
	sc.lastSDKID, sc.lastSDKState = id, e
	return e.state
}

// keepSpan decides a span in place: a kept span gets its new tracestate.
func (tp *tracesProcessor) keepSpan(span ptrace.Span, sc *scratch) bool {
	keep, state, write := tp.decide(span, sc)
	if write {
		span.TraceState().FromRaw(state)
	}
	return keep
}

// decide tells whether span's trace is kept and, for a kept span, the
// tracestate to write (write is false when it stays as it came). It reads
// the span only, so that it serves read-only input too.
func (tp *tracesProcessor) decide(span ptrace.Span, sc *scratch) (keep bool, state string, write bool) {
	pol := tp.spanPolicy(span, sc)
	id := span.TraceID()
	if tp.mode == ModeSDKParity {
		keep := pol.keepSDK(id)
		if !keep || pol.sdkTail == "" {
			return keep, "", false
		}
		raw := span.TraceState().AsRaw()
		if raw == "" {
			return true, sc.sdkState(id, pol), true // KrakenD's case
		}
		// Another vendor's tracestate (a traced backend's) gets our ot
		// entry in front, so that a later OTEP 235 stage reads the same
		// rv on every span of the trace; an earlier stage's ot entry gets
		// our th if ours is higher. A list the readers could not read
		// once written stays as it came: a full one, a malformed one (our
		// entry in front would not make it readable, and would claim a th
		// no reader can find), one our entry would make too long.
		if e, ok := sc.tracestates[id]; ok && e.policy == pol && e.in == raw {
			return true, e.out, e.rewrite
		}
		var out string
		var rewrite bool
		switch {
		case hasOTEntry(raw):
			out, rewrite = pol.sdkOverOT(raw)
		case strings.Count(raw, ",") < maxTraceStateEntries-1:
			out, rewrite = sc.sdkState(id, pol)+","+raw, true
		}
		if rewrite && !wellFormed(out) {
			out, rewrite = "", false
		}
		if sc.tracestates == nil {
			sc.tracestates = make(map[pcommon.TraceID]tracestateEntry)
		}
		sc.tracestates[id] = tracestateEntry{policy: pol, in: raw, out: out, keep: true, rewrite: rewrite}
		return true, out, rewrite
	}
	raw := span.TraceState().AsRaw()
	if raw == "" {
		// KrakenD's case: no tracestate, so no parsing and a constant
		// "ot=th:…" to write.
		keep := pol.keepConsistentID(id)
		return keep, pol.otTraceState, keep && pol.otTraceState != ""
	}
	if e, ok := sc.tracestates[id]; ok && e.policy == pol && e.in == raw {
		return e.keep, e.out, e.keep && e.rewrite
	}
	keep, out, rewrite := pol.keepConsistent(id, raw)
	if sc.tracestates == nil {
		sc.tracestates = make(map[pcommon.TraceID]tracestateEntry)
	}
	sc.tracestates[id] = tracestateEntry{policy: pol, in: raw, out: out, keep: keep, rewrite: rewrite}
	return keep, out, keep && rewrite
}

// maxTraceStateEntries is W3C tracestate's limit on list members.
const maxTraceStateEntries = 32

// wellFormed tells whether a tracestate is a W3C list the OTEP 235 readers
// (this processor, the contrib probabilistic sampler) accept: at most 31
// members, 1024 characters and an ot value of 256, where W3C allows 32
// members. Checked on what would be written, once per trace per batch: the
// outcome is remembered with the trace's tracestate.
func wellFormed(raw string) bool {
	_, err := sampling.NewW3CTraceState(raw)
	return err == nil
}

// hasOTEntry tells whether a tracestate has an OpenTelemetry (ot) member.
func hasOTEntry(raw string) bool {
	for member := range strings.SplitSeq(raw, ",") {
		if key, _, _ := strings.Cut(strings.TrimSpace(member), "="); key == "ot" {
			return true
		}
	}
	return false
}
