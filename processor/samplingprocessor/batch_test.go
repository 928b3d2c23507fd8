package samplingprocessor

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

func batchingConfig(timeout time.Duration, size int) *Config {
	cfg := newConfig(25, ModeSDKParity, nil)
	cfg.CopyKeptSpans = true
	cfg.Batch = &BatchConfig{Timeout: timeout, SendBatchSize: size}
	return cfg
}

func startBatching(t *testing.T, cfg *Config, next consumer.Traces, logger *zap.Logger) processor.Traces {
	t.Helper()
	set := processortest.NewNopSettings(metadata.Type)
	if logger != nil {
		set.Logger = logger
	}
	p, err := NewFactory().CreateTraces(context.Background(), set, cfg, next)
	require.NoError(t, err)
	require.Equal(t, !cfg.CopyKeptSpans, p.Capabilities().MutatesData, "copying changes nothing it is given; in place, the collector gives it its own input")
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	return p
}

// spanIDsOf lists every span ID of the batches, sorted.
func spanIDsOf(batches []ptrace.Traces) []string {
	var ids []string
	for _, td := range batches {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					ids = append(ids, s.TraceID().String()+s.SpanID().String())
				}
			}
		}
	}
	sort.Strings(ids)
	return ids
}

// keptWithoutBatch is what the same processor hands on without batch: the
// reference a gathering processor must match span for span.
func keptWithoutBatch(t *testing.T, batches []ptrace.Traces) (spans []string, requests int) {
	t.Helper()
	cfg := batchingConfig(time.Hour, 1)
	cfg.Batch = nil
	sink := new(consumertest.TracesSink)
	p := startBatching(t, cfg, sink, nil)
	for _, td := range batches {
		require.NoError(t, p.ConsumeTraces(context.Background(), cloneTraces(td)))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	return spanIDsOf(sink.AllTraces()), len(sink.AllTraces())
}

// inPlace is batchingConfig without copy_kept_spans: the processor removes
// the dropped spans from its own input and gathers what is left.
func inPlace(cfg *Config) *Config {
	cfg.CopyKeptSpans = false
	return cfg
}

// input is what the collector gives the processor: in place its own copy;
// copying, a batch it shares with the counters before the sampler.
func input(cfg *Config, td ptrace.Traces) ptrace.Traces {
	td = cloneTraces(td)
	if cfg.CopyKeptSpans {
		td.MarkReadOnly()
	}
	return td
}

// bothWays runs a test of batch on a copying and on an in-place processor.
func bothWays(t *testing.T, cfg func() *Config, test func(t *testing.T, cfg *Config)) {
	t.Run("copy_kept_spans", func(t *testing.T) { test(t, cfg()) })
	t.Run("in_place", func(t *testing.T) { test(t, inPlace(cfg())) })
}

func TestBatchHandsOnTheSameSpansInFewerBatches(t *testing.T) {
	batches := mixedBatches(11)
	want, requests := keptWithoutBatch(t, batches)
	require.Greater(t, requests, 5)

	bothWays(t, func() *Config { return batchingConfig(time.Hour, 40) }, func(t *testing.T, cfg *Config) {
		sink := new(consumertest.TracesSink)
		p := startBatching(t, cfg, sink, nil)
		for _, td := range batches {
			require.NoError(t, p.ConsumeTraces(context.Background(), input(cfg, td)))
		}
		handedOnBeforeShutdown := len(sink.AllTraces())
		require.NoError(t, p.Shutdown(context.Background()))

		assert.Equal(t, want, spanIDsOf(sink.AllTraces()), "every kept span, once")
		assert.Less(t, len(sink.AllTraces()), requests, "fewer, larger batches")
		assert.Positive(t, handedOnBeforeShutdown, "a full batch goes on at once, without its timer")
		for i, td := range sink.AllTraces()[:handedOnBeforeShutdown] {
			assert.GreaterOrEqual(t, td.SpanCount(), 40, "batch %d goes on once it holds send_batch_size spans", i)
		}
	})
}

// In place, a gathered batch holds the input's own spans, moved, and the
// input keeps none of them: nothing is copied.
func TestBatchInPlaceMovesTheInput(t *testing.T) {
	cfg := inPlace(batchingConfig(time.Hour, 1<<20))
	sink := new(consumertest.TracesSink)
	p := startBatching(t, cfg, sink, nil)
	var inputs []ptrace.Traces
	for _, td := range mixedBatches(17) {
		in := input(cfg, td)
		require.NoError(t, p.ConsumeTraces(context.Background(), in))
		inputs = append(inputs, in)
	}
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllTraces(), 1, "one batch, handed on at shutdown")
	assert.Positive(t, sink.SpanCount())
	for i, in := range inputs {
		assert.Zero(t, in.ResourceSpans().Len(), "input %d was moved into the batch", i)
	}
}

// firstKept is the first of the batches whose kept copy has spans, that copy.
func firstKept(t *testing.T, batches []ptrace.Traces) ptrace.Traces {
	t.Helper()
	tp := newTestTracesProcessor(t, batchingConfig(time.Hour, 1))
	for _, td := range batches {
		if out, err := tp.copyKeptTraces(context.Background(), td); err == nil {
			return out
		}
	}
	t.Fatal("no batch keeps a span")
	return ptrace.Traces{}
}

// The timer, fired by the test: a batch goes on when its own timer fires,
// and a timer whose batch has gone on (full) hands nothing on.
func TestBatchGoesOnWhenItsTimerFires(t *testing.T) {
	type armed struct {
		d    time.Duration
		fire func()
	}
	var timers []armed
	sink := new(consumertest.TracesSink)
	b := newKeptBatcher(&BatchConfig{Timeout: 50 * time.Millisecond, SendBatchSize: 1 << 20}, sink, zap.NewNop())
	b.afterFunc = func(d time.Duration, f func()) *time.Timer {
		timers = append(timers, armed{d, f})
		return time.NewTimer(time.Hour) // stopped when the batch is taken
	}
	kept := firstKept(t, mixedBatches(12))
	n := kept.SpanCount()

	b.add(kept)
	require.Len(t, timers, 1, "the first spans of a batch start its timer")
	assert.Equal(t, 50*time.Millisecond, timers[0].d)
	assert.Zero(t, sink.SpanCount(), "held until the timer fires")
	timers[0].fire()
	assert.Equal(t, n, sink.SpanCount())
	assert.Len(t, sink.AllTraces(), 1)

	// the next batch fills up before its timer: the stale timer hands nothing on
	b.size = n
	b.add(firstKept(t, mixedBatches(12)))
	require.Len(t, timers, 1, "a batch full with its first spans goes on without a timer")
	b.size = 2 * n
	b.add(firstKept(t, mixedBatches(12)))
	require.Len(t, timers, 2)
	b.add(firstKept(t, mixedBatches(12)))
	assert.Equal(t, 4*n, sink.SpanCount(), "the full batch went on at once")
	b.add(firstKept(t, mixedBatches(12)))
	require.Len(t, timers, 3, "a new batch, a new timer")
	timers[1].fire()
	assert.Equal(t, 4*n, sink.SpanCount(), "the full batch's timer does not take the batch after it")
	timers[2].fire()
	assert.Equal(t, 5*n, sink.SpanCount())
	require.NoError(t, b.shutdown(context.Background()))
}

// With the real timer, a batch that never fills goes on all the same.
func TestBatchGoesOnAfterItsTimeout(t *testing.T) {
	sink := new(consumertest.TracesSink)
	p := startBatching(t, batchingConfig(50*time.Millisecond, 1<<20), sink, nil)
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()
	var input ptrace.Traces
	var want []string
	for _, td := range mixedBatches(12) { // the first batch that keeps something
		if want, _ = keptWithoutBatch(t, []ptrace.Traces{td}); len(want) > 0 {
			input = td
			break
		}
	}
	require.NotEmpty(t, want)
	require.NoError(t, p.ConsumeTraces(context.Background(), input))
	require.Eventually(t, func() bool { return sink.SpanCount() > 0 }, 5*time.Second, 5*time.Millisecond)
	assert.Equal(t, want, spanIDsOf(sink.AllTraces()))
}

func TestBatchShutdownHandsOnWhatIsPending(t *testing.T) {
	batches := mixedBatches(13)
	want, _ := keptWithoutBatch(t, batches)
	bothWays(t, func() *Config { return batchingConfig(time.Hour, 1<<20) }, func(t *testing.T, cfg *Config) {
		sink := new(consumertest.TracesSink)
		p := startBatching(t, cfg, sink, nil)
		for _, td := range batches {
			require.NoError(t, p.ConsumeTraces(context.Background(), input(cfg, td)))
		}
		assert.Zero(t, sink.SpanCount())
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, want, spanIDsOf(sink.AllTraces()))

		// after shutdown nothing would hand a batch on: spans go on at once
		before := sink.SpanCount()
		require.NoError(t, p.ConsumeTraces(context.Background(), input(cfg, batches[0])))
		if w, _ := keptWithoutBatch(t, batches[:1]); len(w) > 0 {
			assert.Equal(t, before+len(w), sink.SpanCount())
		}
	})
}

func TestBatchRefusedIsLoggedNotReturned(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	refusing := consumertest.NewErr(errors.New("queue is full"))
	p := startBatching(t, batchingConfig(time.Hour, 1), refusing, zap.New(core))
	batches := mixedBatches(14)
	for _, td := range batches {
		require.NoError(t, p.ConsumeTraces(context.Background(), td), "the request was answered before the batch went on")
	}
	require.NoError(t, p.Shutdown(context.Background()))
	want, _ := keptWithoutBatch(t, batches)
	lost := 0
	for _, e := range logs.All() {
		require.Equal(t, "Kept spans lost: the next consumer refused a gathered batch", e.Message)
		require.Equal(t, "queue is full", e.ContextMap()["error"])
		lost += int(e.ContextMap()["spans"].(int64))
	}
	assert.Equal(t, len(want), lost, "every lost span is in a log line")
}

func TestBatchConcurrentRequests(t *testing.T) {
	batches := mixedBatches(15)
	want, _ := keptWithoutBatch(t, batches)
	bothWays(t, func() *Config { return batchingConfig(time.Millisecond, 25) }, func(t *testing.T, cfg *Config) {
		sink := new(consumertest.TracesSink)
		p := startBatching(t, cfg, sink, nil)
		var wg sync.WaitGroup
		for _, td := range batches {
			in := input(cfg, td)
			wg.Go(func() { assert.NoError(t, p.ConsumeTraces(context.Background(), in)) })
		}
		wg.Wait()
		require.NoError(t, p.Shutdown(context.Background()))
		assert.Equal(t, want, spanIDsOf(sink.AllTraces()))
	})
}

// At 100 % nothing is copied: the input goes on as it came, not gathered.
func TestBatchPassThroughIsNotGathered(t *testing.T) {
	cfg := batchingConfig(time.Hour, 1<<20)
	cfg.SamplingPercentage = 100
	sink := new(consumertest.TracesSink)
	p := startBatching(t, cfg, sink, nil)
	td := mixedBatches(16)[0]
	td.MarkReadOnly()
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	assert.Equal(t, td.SpanCount(), sink.SpanCount())
	require.NoError(t, p.Shutdown(context.Background()))
}
