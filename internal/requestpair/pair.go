// Package requestpair links a requestmetrics processor to the requestmetrics
// connector of the same component ID, so that the spans of one traces
// pipeline are counted before its sampler without a second consumer of
// that pipeline's input.
//
// The connector counts the spans of the pipelines that export to it. Where
// those spans are sampled after the count, the connector has to sit beside
// the sampler: both consume one pipeline's output, and the collector then
// shares that batch between them, read-only, so a sampler has to copy what
// it keeps. Paired, the processor hands every span to the connector's
// counter in the pipeline itself, before the sampler, which then samples its
// own input in place; the connector, at the end of the same pipeline,
// counts nothing it receives and emits what the processor counted. Being
// downstream of the processor, it is shut down after it, so its last
// emission holds every count.
package requestpair // import "github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"

import (
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Counter counts spans into request metrics: the connector.
type Counter interface {
	// CountTraces counts the spans a processor hands it.
	CountTraces(td ptrace.Traces)
	// AttachProcessor tells the counter, when a processor starts, that a
	// processor counts for it: from then on, for the rest of its life, it
	// counts no span it receives itself. Those are the spans after the
	// processor, counted already, up to the last batch a sampler hands on
	// when it is shut down, after the processor before it.
	AttachProcessor()
}

// Pair is what one component ID's processors and connector share.
type Pair struct {
	counter atomic.Pointer[counterRef]
}

// counterRef boxes a Counter so that it can be swapped atomically.
type counterRef struct{ Counter }

var (
	mu    sync.Mutex
	pairs = map[component.ID]*Pair{}
)

// For returns the Pair of a component ID, made on first use. A pair is a
// few words and lives as long as the process: a collector rebuilt on a new
// configuration finds the same pair for the same ID.
func For(id component.ID) *Pair {
	mu.Lock()
	defer mu.Unlock()
	p, ok := pairs[id]
	if !ok {
		p = &Pair{}
		pairs[id] = p
	}
	return p
}

// SetCounter makes c the counter of the pair: the connector, when created.
// The collector creates every component before it starts any, so a
// processor finds its connector's counter when it starts, wherever its
// pipeline is. A connector made by a build that then fails is never shut
// down and stays the counter, but a failed build or rebuild ends the
// collector (otelcol's Run returns the error), so no processor meets it.
func (p *Pair) SetCounter(c Counter) {
	p.counter.Store(&counterRef{c})
}

// ClearCounter removes c, if it is still the pair's counter: the connector,
// when shut down (a newer one may have taken its place).
func (p *Pair) ClearCounter(c Counter) {
	if ref := p.counter.Load(); ref != nil && ref.Counter == c {
		p.counter.CompareAndSwap(ref, nil)
	}
}

// Counter returns the pair's counter, or nil when no connector of the ID
// exists.
func (p *Pair) Counter() Counter {
	if ref := p.counter.Load(); ref != nil {
		return ref.Counter
	}
	return nil
}
