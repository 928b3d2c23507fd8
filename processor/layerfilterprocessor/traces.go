package layerfilterprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

func (f *layerFilter) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	var counts dropCounts
	rss := td.ResourceSpans()
	hadData := rss.Len() > 0
	rss.RemoveIf(func(rs ptrace.ResourceSpans) bool {
		p := f.policyFor(rs.Resource())
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
				return filterSpan(p, s, &counts)
			})
			// Never hand on a scope (nor, below, a resource) we emptied.
			return spans.Len() == 0
		})
		return sss.Len() == 0
	})
	f.record(ctx, &counts)
	if hadData && rss.Len() == 0 {
		return td, processorhelper.ErrSkipProcessingData
	}
	return td, nil
}

// filterSpan reports whether a span must go, and otherwise applies the
// header, static attribute and detailed-connection settings of its layer.
func filterSpan(p *policy, s ptrace.Span, counts *dropCounts) bool {
	c := layer.ClassifySpan(s)
	if c.Layer == layer.None {
		return false
	}
	attrs := s.Attributes()
	v := p.decideTrace(c, attrs)
	if v.drop != keep {
		counts.add(c.Layer, v.drop, 1)
		return true
	}
	filterHeaders(attrs, v.headers, p.redact)
	putStatic(attrs, v.static)
	if v.stripDetailed {
		stripDetailedAttrs(attrs)
		s.Events().RemoveIf(func(e ptrace.SpanEvent) bool { return e.Name() == firstByteEvent })
	}
	return false
}
