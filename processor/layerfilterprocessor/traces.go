package layerfilterprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

func (f *layerFilter) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var counts dropCounts
	var idx *batchIndex // only for resources whose policy may orphan a span
	var last resourceNames
	var memo lookupMemo
	var namer *destinationNamer
	if f.names.on {
		namer = &f.names
	}
	rss := td.ResourceSpans()
	hadData := rss.Len() > 0
	rss.RemoveIf(func(rs ptrace.ResourceSpans) bool {
		p := f.policyFor(rs.Resource())
		if p.reparent && idx == nil {
			idx = getBatchIndex()
		}
		sss := rs.ScopeSpans()
		if sss.Len() == 0 {
			return false
		}
		sss.RemoveIf(func(ss ptrace.ScopeSpans) bool {
			spans := ss.Spans()
			if spans.Len() == 0 {
				return false
			}
			spans.RemoveIf(func(s ptrace.Span) bool {
				c, r := filterSpan(p, s, &counts, &memo, namer, &last)
				if p.reparent {
					idx.add(p, s, c, r, &memo)
				}
				return r != keep
			})
			// Never hand on a scope (nor, below, a resource) we emptied.
			return spans.Len() == 0
		})
		return sss.Len() == 0
	})
	f.record(ctx, &counts)
	if idx != nil {
		f.reparent.settle(ctx, td, idx, f.policyFor)
		putBatchIndex(idx)
	}
	if hadData && rss.Len() == 0 {
		return td, processorhelper.ErrSkipProcessingData
	}
	return td, nil
}

// filterSpan classifies a span and tells why it must go (keep when it
// stays); a kept span gets the header, static attribute and
// detailed-connection settings of its layer, and the destination names
// when n is not nil.
func filterSpan(p *policy, s ptrace.Span, counts *dropCounts, m *lookupMemo, n *destinationNamer, last *resourceNames) (layer.Class, dropReason) {
	c := layer.ClassifySpan(s)
	if c.Layer == layer.None {
		return c, keep
	}
	attrs := s.Attributes()
	v := p.decideTrace(c, attrs, m)
	if v.drop != keep {
		counts.add(c.Layer, v.drop, 1)
		return c, v.drop
	}
	filterHeaders(attrs, v.headers, &p.redactSet)
	if n == nil {
		putStatic(attrs, v.static, 0)
		stripDetailed(s, attrs, v.stripDetailed)
		return c, keep
	}
	// The names read the span as the static attributes leave it: learn
	// those while setting them, so that the attributes are read once and
	// grown once, for the static attributes and the names together.
	facts := readFacts(attrs)
	if facts.dup {
		putStatic(attrs, v.static, 0)
		stripDetailed(s, attrs, v.stripDetailed)
		n.name(c, s, last)
		return c, keep
	}
	absent, nStatic := setStatic(attrs, v.static, &facts)
	var puts namePuts
	n.plan(c, s, &facts, last, &puts)
	putAbsent(attrs, v.static, absent, nStatic, puts.n)
	stripDetailed(s, attrs, v.stripDetailed)
	puts.apply(attrs)
	return c, keep
}

// stripDetailed removes the detailed-connection data of a backend-request
// span whose detailed_connection is off.
func stripDetailed(s ptrace.Span, attrs pcommon.Map, strip bool) {
	if strip {
		stripDetailedAttrs(attrs)
		s.Events().RemoveIf(func(e ptrace.SpanEvent) bool { return e.Name() == firstByteEvent })
	}
}
