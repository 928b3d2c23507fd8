package samplingprocessor

import (
	"context"
	"fmt"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

func TestLogsFollowTheirTrace(t *testing.T) {
	ids := randomTraceIDs(200, 31)
	for _, mode := range []Mode{ModeConsistent, ModeSDKParity} {
		t.Run(string(mode), func(t *testing.T) {
			want := expectedKept(mode, 30, ids)
			ld := plog.NewLogs()
			lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			for _, id := range ids {
				lr := lrs.AppendEmpty()
				lr.SetTraceID(id)
				lr.Body().SetStr("backend call")
			}
			for range 10 {
				lrs.AppendEmpty().Body().SetStr("no trace")
			}
			// The same trace IDs as spans: logs and spans agree.
			spansKept := keptSpans(t, newConfig(30, mode, nil), []ptrace.Traces{krakendBatch(requestsFor(ids))})

			sink := new(consumertest.LogsSink)
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), newConfig(30, mode, nil), sink)
			require.NoError(t, err)
			require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, p.ConsumeLogs(context.Background(), ld))
			require.NoError(t, p.Shutdown(context.Background()))

			kept := map[pcommon.TraceID]bool{}
			noTrace := 0
			for _, got := range sink.AllLogs() {
				rec := got.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < rec.Len(); i++ {
					if rec.At(i).TraceID().IsEmpty() {
						noTrace++
						continue
					}
					kept[rec.At(i).TraceID()] = true
				}
			}
			require.Equal(t, 10, noTrace, "records without a trace ID pass")
			for _, id := range ids {
				require.Equal(t, want[id], kept[id], "log of trace %s", id)
				require.Equal(t, want[id], spansKept[id] == 5, "log and spans of trace %s agree", id)
			}
		})
	}
}

// A log record has no tracestate, so in consistent mode it cannot see the
// `rv` an earlier stage wrote on its trace's spans (this processor's
// sdk_parity mode writes one): the trace ID's own randomness decides the
// record, the explicit rv decides the spans, and the two can disagree
// either way. This documents that limit (README, "Limits, honestly").
func TestConsistentLogsDecideByTraceIDWhereTheirSpansCarryAnEarlierStagesRV(t *testing.T) {
	ids := randomTraceIDs(200, 47)
	td := krakendBatch(requestsFor(ids))
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		// the opposite of the trace ID's randomness: at 50 % spans and
		// logs disagree on nearly every trace
		rv := maxRandomness - sampling.TraceIDToRandomness(spans.At(i).TraceID()).Unsigned()
		spans.At(i).TraceState().FromRaw(fmt.Sprintf("ot=rv:%014x", rv))
	}
	spansKept := keptSpans(t, newConfig(50, ModeConsistent, nil), []ptrace.Traces{td})

	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, id := range ids {
		lrs.AppendEmpty().SetTraceID(id)
	}
	s, err := newSampler(componenttest.NewNopTelemetrySettings(), newConfig(50, ModeConsistent, nil))
	require.NoError(t, err)
	out, err := (&logsProcessor{sampler: s}).processLogs(context.Background(), ld)
	require.NoError(t, err)
	logKept := map[pcommon.TraceID]bool{}
	rec := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < rec.Len(); i++ {
		logKept[rec.At(i).TraceID()] = true
	}

	byTraceID := expectedKept(ModeConsistent, 50, ids)
	disagree := 0
	for _, id := range ids {
		require.Equal(t, byTraceID[id], logKept[id], "the record of trace %s is decided by its trace ID", id)
		if logKept[id] != (spansKept[id] == 5) {
			disagree++
		}
	}
	require.Greater(t, disagree, len(ids)*9/10, "records and spans disagree where rv and the trace ID do")
}

func TestLogsRoutes(t *testing.T) {
	id := traceIDWithRandomness(0x10000000000000) // dropped at 10 %
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	withRoute := lrs.AppendEmpty()
	withRoute.SetTraceID(id)
	withRoute.Attributes().PutStr(endpointRouteKey, "/orders/:id")
	withoutRoute := lrs.AppendEmpty()
	withoutRoute.SetTraceID(id)

	s, err := newSampler(componenttest.NewNopTelemetrySettings(), newConfig(10, ModeConsistent, map[string]float64{"/orders/{id}": 100}))
	require.NoError(t, err)
	lp := &logsProcessor{sampler: s}
	out, err := lp.processLogs(context.Background(), ld)
	require.NoError(t, err)
	require.Equal(t, 1, out.LogRecordCount())
	_, ok := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get(endpointRouteKey)
	require.True(t, ok, "the record with the route's 100 %% is the one kept")
}

func TestLogsAllDroppedSkipsTheBatch(t *testing.T) {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetTraceID(pcommon.TraceID{1})
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), newConfig(0, ModeConsistent, nil), sink)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.Zero(t, sink.LogRecordCount())
	require.Empty(t, sink.AllLogs(), "nothing is sent on")
}

func TestMetricsPassUntouched(t *testing.T) {
	md := generateLifecycleTestMetrics()
	want := pmetric.NewMetrics()
	md.CopyTo(want)
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), newConfig(0, ModeConsistent, nil), sink)
	require.NoError(t, err)
	require.False(t, p.Capabilities().MutatesData)
	require.NoError(t, p.ConsumeMetrics(context.Background(), md))
	require.Len(t, sink.AllMetrics(), 1)
	require.Equal(t, want, sink.AllMetrics()[0])
}
