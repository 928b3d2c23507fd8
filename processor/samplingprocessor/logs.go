package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"
)

type logsProcessor struct {
	*sampler
}

// processLogs keeps a record with a trace ID when its trace is kept, and
// every record without one. A log record has no tracestate, so in
// consistent mode the trace ID alone decides: an arriving `th` or `rv` on
// the trace's spans is not visible here, and with an `rv` spans and
// records can be decided differently (README, "Limits, honestly").
func (lp *logsProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	if lp.passThrough() {
		lp.telemetry.ProcessorSamplingLogRecordsKept.Add(ctx, int64(ld.LogRecordCount()), lp.addOpts...)
		return ld, nil
	}
	var kept, dropped int64
	ld.ResourceLogs().RemoveIf(func(rl plog.ResourceLogs) bool {
		rl.ScopeLogs().RemoveIf(func(sl plog.ScopeLogs) bool {
			sl.LogRecords().RemoveIf(func(lr plog.LogRecord) bool {
				if lp.keepLogRecord(lr) {
					kept++
					return false
				}
				dropped++
				return true
			})
			return sl.LogRecords().Len() == 0
		})
		return rl.ScopeLogs().Len() == 0
	})
	if kept > 0 {
		lp.telemetry.ProcessorSamplingLogRecordsKept.Add(ctx, kept, lp.addOpts...)
	}
	if dropped > 0 {
		lp.telemetry.ProcessorSamplingLogRecordsDropped.Add(ctx, dropped, lp.addOpts...)
	}
	if ld.ResourceLogs().Len() == 0 {
		return ld, processorhelper.ErrSkipProcessingData
	}
	return ld, nil
}

func (lp *logsProcessor) keepLogRecord(lr plog.LogRecord) bool {
	id := lr.TraceID()
	if id.IsEmpty() {
		return true
	}
	pol := &lp.def
	if len(lp.routes) > 0 {
		if route, ok := ownRoute(lr.Attributes()); ok {
			pol = lp.policyAt(lp.routePolicy(route))
		}
	}
	if lp.mode == ModeSDKParity {
		return pol.keepSDK(id)
	}
	return pol.keepConsistentID(id)
}
