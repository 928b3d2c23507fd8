package samplingprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

// mixedBatches are KrakenD batches over two resources, with arriving
// tracestates of every kind (none, ot with th or rv, other vendors,
// malformed), shuffled so that traces are split between batches.
func mixedBatches(seed uint64) []ptrace.Traces {
	ids := randomTraceIDs(400, seed)
	reqs := requestsFor(ids, "/orders/:id", "/users/:id", "/__health")
	states := []string{"", "", "", "ot=th:8", "ot=rv:ffffffffffffff", "vendor=abc", "Not A=Tracestate!", "ot=th:0;x:y,v=1"}
	for i := range reqs {
		reqs[i].tracestate = states[i%len(states)]
	}
	batches := shuffledBatches(reqs, seed, 60)
	// a second resource in some batches, and an empty scope
	for i, td := range batches {
		if i%3 == 0 {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", "other")
			rs.ScopeSpans().AppendEmpty().Scope().SetName("empty")
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("lib")
			ss.SetSchemaUrl("https://example.com/s")
			td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).CopyTo(ss.Spans().AppendEmpty())
		}
	}
	return batches
}

func cloneTraces(td ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	return out
}

// copy_kept_spans hands on exactly what the in-place path hands on, in
// every mode, and never touches its (read-only) input.
func TestCopyKeptSpansEqualsInPlace(t *testing.T) {
	configs := map[string]*Config{
		"consistent 25":     newConfig(25, ModeConsistent, nil),
		"sdk_parity 25":     newConfig(25, ModeSDKParity, nil),
		"sdk_parity 90":     newConfig(90, ModeSDKParity, nil),
		"consistent routes": newConfig(30, ModeConsistent, map[string]float64{"/users/{id}": 100, "/__health": 0}),
		"sdk_parity routes": newConfig(10, ModeSDKParity, map[string]float64{"/orders/:id": 60}),
		"0 %":               newConfig(0, ModeConsistent, nil),
		"100 %":             newConfig(100, ModeSDKParity, nil),
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			inPlace := newTestTracesProcessor(t, cfg)
			copying := newTestTracesProcessor(t, cfg)
			for i, td := range mixedBatches(uint64(len(name))) {
				input := cloneTraces(td)
				input.MarkReadOnly() // a mutation would panic
				want, wantErr := inPlace.processTraces(context.Background(), td)
				got, gotErr := copying.copyKeptTraces(context.Background(), input)
				require.Equal(t, wantErr, gotErr, "batch %d", i)
				if wantErr != nil {
					continue
				}
				assert.Equal(t, marshalTraces(t, want), marshalTraces(t, got), "batch %d", i)
				if cfg.SamplingPercentage < 100 {
					assert.False(t, got.IsReadOnly(), "batch %d: the copy is the next consumer's to change", i)
				}
			}
		})
	}
}

func marshalTraces(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(t, err)
	return b
}

// The component says it does not mutate only when it copies: then the
// collector may hand it data shared with spanmetrics without a clone.
func TestCopyKeptSpansCapabilities(t *testing.T) {
	for _, copyKept := range []bool{false, true} {
		cfg := newConfig(25, ModeSDKParity, nil)
		cfg.CopyKeptSpans = copyKept
		sink := new(consumertest.TracesSink)
		p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
		require.NoError(t, err)
		assert.Equal(t, !copyKept, p.Capabilities().MutatesData)

		require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
		batches := mixedBatches(3)
		total := 0
		for _, td := range batches {
			if copyKept {
				td.MarkReadOnly()
			}
			total += td.SpanCount()
			require.NoError(t, p.ConsumeTraces(context.Background(), td))
		}
		require.NoError(t, p.Shutdown(context.Background()))
		kept := sink.SpanCount()
		assert.Greater(t, kept, total/8, "copy_kept_spans=%v", copyKept)
		assert.Less(t, kept, total/2, "copy_kept_spans=%v", copyKept)
	}
}

// A batch with nothing kept is not handed on.
func TestCopyKeptSpansDropsEmptyBatches(t *testing.T) {
	tp := newTestTracesProcessor(t, newConfig(0, ModeSDKParity, nil))
	td := krakendBatch(requestsFor(randomTraceIDs(5, 1)))
	td.MarkReadOnly()
	out, err := tp.copyKeptTraces(context.Background(), td)
	require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData)
	assert.Zero(t, out.SpanCount())
	assert.Equal(t, 25, td.SpanCount(), "input untouched")
}
