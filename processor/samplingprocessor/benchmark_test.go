package samplingprocessor

import (
	"bytes"
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

const benchTraces = 100 // × 5 spans = 500 spans per batch

// benchIDs returns trace IDs that the given policy keeps (keep true) or
// drops, or random ones (mixed).
func benchIDs(mode Mode, pct float64, which string) []pcommon.TraceID {
	pol := newPolicy(pct)
	keep := keepFunc(mode, &pol)
	var out []pcommon.TraceID
	for _, id := range randomTraceIDs(100*benchTraces, 99) {
		if len(out) == benchTraces {
			break
		}
		switch which {
		case "keep":
			if !keep(id) {
				continue
			}
		case "drop":
			if keep(id) {
				continue
			}
		}
		out = append(out, id)
	}
	return out
}

func benchmarkTraces(b *testing.B, cfg *Config, ids []pcommon.TraceID, tracestate string) {
	reqs := requestsFor(ids, "/orders/:id", "/users/:id", "/catalog")
	for i := range reqs {
		reqs[i].tracestate = tracestate
	}
	src := krakendBatch(reqs)
	spans := src.SpanCount()
	tp := newTestTracesProcessor(b, cfg)
	ctx := context.Background()
	// Fresh copies each time (processing removes spans and rewrites
	// tracestate), made in chunks with the timer stopped so that neither the
	// copies nor the timer's own bookkeeping are measured per batch. A batch
	// the sampler leaves as it came (100 %) is not copied: it takes
	// nanoseconds, the copy a millisecond, and copying made one run last
	// many minutes.
	probe := ptrace.NewTraces()
	src.CopyTo(probe)
	_, _ = tp.processTraces(ctx, probe)
	if sameTraces(b, src, probe) {
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			_, _ = tp.processTraces(ctx, probe)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		return
	}
	const chunk = 16
	batches := make([]ptrace.Traces, 0, chunk)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(batches) == 0 {
			b.StopTimer()
			for range min(chunk, b.N-i) {
				td := ptrace.NewTraces()
				src.CopyTo(td)
				batches = append(batches, td)
			}
			b.StartTimer()
		}
		_, _ = tp.processTraces(ctx, batches[len(batches)-1])
		batches = batches[:len(batches)-1]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// sameTraces tells whether two batches encode alike.
func sameTraces(b *testing.B, x, y ptrace.Traces) bool {
	var m ptrace.ProtoMarshaler
	bx, err := m.MarshalTraces(x)
	if err != nil {
		b.Fatal(err)
	}
	by, err := m.MarshalTraces(y)
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Equal(bx, by)
}

func BenchmarkProcessTraces(b *testing.B) {
	routes := map[string]float64{"/orders/{id}": 50, "/health": 0}
	for _, mode := range []Mode{ModeSDKParity, ModeConsistent} {
		for _, which := range []string{"keep", "drop", "mixed"} {
			b.Run(string(mode)+"/"+which, func(b *testing.B) {
				benchmarkTraces(b, newConfig(50, mode, nil), benchIDs(mode, 50, which), "")
			})
		}
		b.Run(string(mode)+"/mixed_with_routes", func(b *testing.B) {
			benchmarkTraces(b, newConfig(50, mode, routes), benchIDs(mode, 50, "mixed"), "")
		})
	}
	// An arriving tracestate has to be parsed and rewritten: once per trace
	// (five spans) thanks to the per-batch cache.
	b.Run("consistent/keep_with_tracestate", func(b *testing.B) {
		benchmarkTraces(b, newConfig(50, ModeConsistent, nil), benchIDs(ModeConsistent, 50, "keep"), "vendor=abc")
	})
	b.Run("consistent/keep_with_tracestate_th", func(b *testing.B) {
		benchmarkTraces(b, newConfig(50, ModeConsistent, nil), benchIDs(ModeConsistent, 50, "keep"), "ot=th:0;rv:ffffffffffffff")
	})
	b.Run("pass_through_100", func(b *testing.B) {
		benchmarkTraces(b, newConfig(100, ModeConsistent, nil), benchIDs(ModeConsistent, 50, "mixed"), "")
	})
}

// BenchmarkDecision is the bare decision per trace ID.
func BenchmarkDecision(b *testing.B) {
	ids := randomTraceIDs(1024, 5)
	for _, mode := range []Mode{ModeSDKParity, ModeConsistent} {
		pol := newPolicy(25)
		keep := keepFunc(mode, &pol)
		b.Run(string(mode), func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			i := 0
			for b.Loop() {
				if keep(ids[i&1023]) {
					n++
				}
				i++
			}
			_ = n
		})
	}
}
