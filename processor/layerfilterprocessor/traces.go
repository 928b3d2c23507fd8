package layerfilterprocessor

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/internal/sharedvalue"
)

func (f *layerFilter) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var counts dropCounts
	var idx *batchIndex // only for resources whose policy may orphan a span
	scratch := batchScratch{lists: listSlabs.Get().(*sharedvalue.ListSlab)}
	defer listSlabs.Put(scratch.lists)
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
				exported := f.exported == nil || f.exported.Keeps(s.TraceID())
				c, r := filterSpan(p, s, &counts, &scratch, namer, exported)
				if p.reparent {
					idx.add(p, s, c, r, &scratch.memo)
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

// batchScratch is what filterSpan keeps from one span to the next of a
// batch.
type batchScratch struct {
	memo lookupMemo
	last resourceNames
	puts namePuts
	// lists: where the kept spans' attribute lists grow, so that a batch
	// allocates a few arrays for them, not one list per span.
	lists *sharedvalue.ListSlab
}

// listSlabs carry the unused end of a slab's array from one batch to the
// next.
var listSlabs = sync.Pool{New: func() any { return new(sharedvalue.ListSlab) }}

// filterSpan classifies a span and tells why it must go (keep when it
// stays); a kept span gets the header, static attribute and
// detailed-connection settings of its layer, and the destination names
// when n is not nil. A span that will not be exported (its trace is not
// sampled) gets the header settings only, unless it is named: names read
// the static attributes, and every span's names are counted.
func filterSpan(p *policy, s ptrace.Span, counts *dropCounts, b *batchScratch, n *destinationNamer, exported bool) (layer.Class, dropReason) {
	c := layer.ClassifySpan(s)
	if c.Layer == layer.None {
		return c, keep
	}
	attrs := s.Attributes()
	v := p.decideTrace(c, attrs, &b.memo)
	if v.drop != keep {
		counts.add(c.Layer, v.drop, 1)
		return c, v.drop
	}
	filterHeaders(attrs, v.headers, &p.redactSet)
	if n == nil {
		if !exported {
			return c, keep
		}
		if len(v.static) > 0 {
			putStatic(attrs, v.static, 0, b.lists)
		}
		if v.stripDetailed {
			stripDetailed(s, attrs)
		}
		return c, keep
	}
	// The names read the span as the static attributes leave it: learn
	// those while setting them, so that the attributes are read once and
	// grown once, for the static attributes and the names together.
	facts := readFacts(attrs)
	if facts.dup {
		putStatic(attrs, v.static, 0, b.lists)
		if v.stripDetailed {
			stripDetailed(s, attrs)
		}
		n.name(c, s, &b.last, b.lists)
		return c, keep
	}
	var absent uint64
	var nStatic int
	if len(v.static) > 0 {
		absent, nStatic = setStatic(attrs, v.static, &facts)
	}
	puts := &b.puts
	puts.n = 0
	n.plan(c, s, &facts, &b.last, puts)
	if nStatic+puts.n > 0 {
		putAbsent(attrs, v.static, absent, nStatic, puts.n, b.lists)
	}
	if v.stripDetailed {
		stripDetailed(s, attrs)
	}
	puts.apply(attrs)
	return c, keep
}

// stripDetailed removes the detailed-connection data of a backend-request
// span whose detailed_connection is off.
func stripDetailed(s ptrace.Span, attrs pcommon.Map) {
	stripDetailedAttrs(attrs)
	s.Events().RemoveIf(func(e ptrace.SpanEvent) bool { return e.Name() == firstByteEvent })
}
