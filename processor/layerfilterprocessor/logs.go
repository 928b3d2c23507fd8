package layerfilterprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// Log records that carry krakend.stage follow their layer's traces settings
// (they describe a span of that stage): dropped with it, skipped with it,
// header attributes stripped and redacted like it. They get no static
// attributes: KrakenD configures those for metrics and traces only.
func (f *layerFilter) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	var counts dropCounts
	var memo lookupMemo
	rls := ld.ResourceLogs()
	hadData := rls.Len() > 0
	rls.RemoveIf(func(rl plog.ResourceLogs) bool {
		p := f.policyFor(rl.Resource())
		sls := rl.ScopeLogs()
		if sls.Len() == 0 {
			return false
		}
		sls.RemoveIf(func(sl plog.ScopeLogs) bool {
			lrs := sl.LogRecords()
			if lrs.Len() == 0 {
				return false
			}
			lrs.RemoveIf(func(lr plog.LogRecord) bool {
				return filterLogRecord(p, lr, &counts, &memo)
			})
			return lrs.Len() == 0
		})
		return sls.Len() == 0
	})
	f.record(ctx, &counts)
	if hadData && rls.Len() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

func filterLogRecord(p *policy, lr plog.LogRecord, counts *dropCounts, m *lookupMemo) bool {
	c := layer.ClassifyLogRecord(lr)
	if c.Layer == layer.None {
		return false
	}
	attrs := lr.Attributes()
	v := p.decideTrace(c, attrs, m)
	if v.drop != keep {
		counts.add(c.Layer, v.drop, 1)
		return true
	}
	filterHeaders(attrs, v.headers, &p.redactSet)
	return false
}
