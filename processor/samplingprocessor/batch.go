package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// keptBatcher gathers the kept spans of many requests and hands them on in
// fewer, larger batches. It takes only batches no one else holds: the
// copies copy_kept_spans makes, or the input of the processor in place,
// which the collector gives it alone. Gathering them moves them, and the
// collector copies nothing more (a batching sending_queue would make it
// copy every batch before the sampler). Like the batch processor, it answers for a
// request before the spans are handed on: a refusal by the next consumer
// is logged, and the spans are lost.
type keptBatcher struct {
	next    consumer.Traces
	logger  *zap.Logger
	size    int
	timeout time.Duration
	// afterFunc is time.AfterFunc; tests fire the timers themselves.
	afterFunc func(time.Duration, func()) *time.Timer

	mu      sync.Mutex
	pending ptrace.Traces
	spans   int
	batch   uint64 // counts the batches taken, so that a late timer takes none
	timer   *time.Timer
	stopped bool
	sending sync.WaitGroup // the timers' hand-ons, which shutdown waits for
}

func newKeptBatcher(cfg *BatchConfig, next consumer.Traces, logger *zap.Logger) *keptBatcher {
	return &keptBatcher{next: next, logger: logger, size: cfg.SendBatchSize, timeout: cfg.Timeout, afterFunc: time.AfterFunc, pending: ptrace.NewTraces()}
}

// add moves td's spans into the pending batch, and hands the batch on when
// it has reached the size. The first spans of a batch start its timer.
func (b *keptBatcher) add(td ptrace.Traces) {
	n := td.SpanCount()
	b.mu.Lock()
	if b.stopped {
		// After shutdown nothing would hand a batch on: at once.
		b.mu.Unlock()
		b.send(td, n)
		return
	}
	td.ResourceSpans().MoveAndAppendTo(b.pending.ResourceSpans())
	b.spans += n
	if b.spans >= b.size {
		out, count := b.takeLocked()
		b.mu.Unlock()
		b.send(out, count)
		return
	}
	if b.spans == n {
		batch := b.batch
		b.timer = b.afterFunc(b.timeout, func() { b.expire(batch) })
	}
	b.mu.Unlock()
}

// takeLocked takes the pending batch and stops its timer.
func (b *keptBatcher) takeLocked() (ptrace.Traces, int) {
	out, n := b.pending, b.spans
	b.pending, b.spans = ptrace.NewTraces(), 0
	b.batch++
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	return out, n
}

// expire hands on the batch whose timer this was, unless it is gone.
func (b *keptBatcher) expire(batch uint64) {
	b.mu.Lock()
	if batch != b.batch || b.spans == 0 || b.stopped {
		b.mu.Unlock()
		return
	}
	out, n := b.takeLocked()
	b.sending.Add(1)
	b.mu.Unlock()
	defer b.sending.Done()
	b.send(out, n)
}

// shutdown hands on what is pending, once the hand-ons of timers already
// running are done; later spans go on at once.
func (b *keptBatcher) shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.stopped = true
	out, n := b.takeLocked()
	b.mu.Unlock()
	b.sending.Wait()
	if n == 0 {
		return nil
	}
	return b.next.ConsumeTraces(ctx, out)
}

func (b *keptBatcher) send(td ptrace.Traces, n int) {
	if err := b.next.ConsumeTraces(context.Background(), td); err != nil {
		b.logger.Warn("Kept spans lost: the next consumer refused a gathered batch", zap.Int("spans", n), zap.Error(err))
	}
}
