package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

type tracesProcessor struct {
	*sampler
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
	return td, nil
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
				route, ok := attrs.Get(httpRouteKey)
				if !ok || route.Type() != pcommon.ValueTypeStr {
					continue
				}
				idx := tp.routePolicy(route.Str())
				if idx == noRoute {
					continue
				}
				if sc.roots == nil {
					sc.roots = make(map[pcommon.TraceID]rootEntry)
				}
				id := span.TraceID()
				// The gateway's global span wins over a parentless span of
				// some other service, whatever their order in the batch.
				if prev, seen := sc.roots[id]; seen && (prev.fromGlobal || !global) {
					continue
				}
				sc.roots[id] = rootEntry{policy: idx, fromGlobal: global}
			}
		}
	}
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

func (tp *tracesProcessor) keepSpan(span ptrace.Span, sc *scratch) bool {
	pol := tp.spanPolicy(span, sc)
	id := span.TraceID()
	if tp.mode == ModeSDKParity {
		keep := pol.keepSDK(id)
		if keep && pol.sdkTail != "" {
			// KrakenD writes no tracestate; one that arrived with a span is
			// another sampler's business and stays as it came.
			if ts := span.TraceState(); ts.AsRaw() == "" {
				ts.FromRaw(sc.sdkState(id, pol))
			}
		}
		return keep
	}
	ts := span.TraceState()
	raw := ts.AsRaw()
	if raw == "" {
		// KrakenD's case: no tracestate, so no parsing and a constant
		// "ot=th:…" to write.
		keep := pol.keepConsistentID(id)
		if keep && pol.otTraceState != "" {
			ts.FromRaw(pol.otTraceState)
		}
		return keep
	}
	if e, ok := sc.tracestates[id]; ok && e.policy == pol && e.in == raw {
		if e.keep && e.rewrite {
			ts.FromRaw(e.out)
		}
		return e.keep
	}
	keep, out, rewrite := pol.keepConsistent(id, raw)
	if sc.tracestates == nil {
		sc.tracestates = make(map[pcommon.TraceID]tracestateEntry)
	}
	sc.tracestates[id] = tracestateEntry{policy: pol, in: raw, out: out, keep: keep, rewrite: rewrite}
	if keep && rewrite {
		ts.FromRaw(out)
	}
	return keep
}
