package layerfilterprocessor

import (
	"bytes"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchRequests makes n requests over a realistic spread of endpoints.
func benchRequests(n int) []gwRequest {
	endpoints := []gwRequest{
		req("/users/42?expand=1", "/users/:id", "/v1/users/:id"),
		req("/orders", "/orders", "/v1/orders"),
		req("/orders/7/items", "/orders/:id/items", "/v1/orders/:id/items"),
		req("/catalog/search?q=x", "/catalog/search", "/search"),
		req("/__health", "/__health", "/__health"),
	}
	out := make([]gwRequest, n)
	for i := range out {
		out[i] = endpoints[i%len(endpoints)]
	}
	return out
}

const typicalConfig = `
skip_paths: ["/__health", "/__debug/*param", "/__echo/*param", "/__stats/"]
global: {traces_static_attributes: {env: prod}, metrics_static_attributes: {env: prod}, skip_headers: [accept]}
proxy: {report_headers: false}
backend:
  traces: {detailed_connection: false, static_attributes: {team: core}}
  metrics: {detailed_connection: false}
endpoints:
  - route: "/users/{id}"
    proxy: {disable_traces: true}
backends:
  - url_pattern: "/v1/orders/{id}/items"
    backend: {traces: {read_payload: false}, metrics: {read_payload: false}}
`

// namesOff turns the destination names off, to measure what they cost.
const namesOff = "\ndestination_names: {enabled: false}"

// 100 requests = 500 spans per batch. Every configuration runs with the
// destination names on (the default) and off; "names-only" is the cost of
// the names alone (no redaction, nothing else configured), on a batch whose
// every fifth request fails with a 503.
func BenchmarkTraces(b *testing.B) {
	failing := benchRequests(100)
	for i := range failing {
		if i%5 == 1 {
			failing[i].status = 503
		}
	}
	for _, bc := range []struct {
		name, yaml string
		reqs       []gwRequest
	}{
		{"pass-through", "redact_headers: []" + namesOff, nil},
		{"default-redaction/names-off", namesOff, nil},
		{"typical/names-off", typicalConfig + namesOff, nil},
		{"names-only", "redact_headers: []", nil},
		{"names-only/with-5xx", "redact_headers: []", failing},
		{"default-redaction/names-on", "", nil},
		{"typical/names-on", typicalConfig, nil},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFilter(b, bc.yaml, "traces")
			reqs := bc.reqs
			if reqs == nil {
				reqs = benchRequests(100)
			}
			src := gatewayTraces("gw", reqs...)
			spans := src.SpanCount()
			batch := ptrace.NewTraces()
			var allocs allocCounter
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				src.CopyTo(batch)
				allocs.start()
				b.StartTimer()
				_, _ = f.processTraces(b.Context(), batch)
				b.StopTimer()
				allocs.stop()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
			allocs.report(b, spans, "allocs/span")
		})
	}
}

// 100 requests × 19 metrics = 1900 data points per batch.
func BenchmarkMetrics(b *testing.B) {
	for _, bc := range []struct{ name, yaml string }{
		{"pass-through", ""},
		{"typical", typicalConfig},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFilter(b, bc.yaml, "metrics")
			src := gatewayMetrics("gw", true, benchRequests(100)...)
			points := src.DataPointCount()
			// Copied in chunks, untimed, and not at all when the filter
			// leaves a batch as it came (pass-through): such a batch takes a
			// few microseconds, and a copy (milliseconds) and two stops of
			// the world for each made one run of this benchmark last minutes.
			const chunk = 64
			batches := make([]pmetric.Metrics, chunk)
			for j := range batches {
				batches[j] = pmetric.NewMetrics()
				src.CopyTo(batches[j])
			}
			_, _ = f.processMetrics(b.Context(), batches[0])
			unchanged := sameMetrics(b, src, batches[0])
			var allocs allocCounter
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += chunk {
				n := min(chunk, b.N-i)
				b.StopTimer()
				for _, batch := range batches[:n] {
					if !unchanged {
						src.CopyTo(batch)
					}
				}
				allocs.start()
				b.StartTimer()
				for _, batch := range batches[:n] {
					_, _ = f.processMetrics(b.Context(), batch)
				}
				b.StopTimer()
				allocs.stop()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*points), "ns/point")
			allocs.report(b, points, "allocs/point")
		})
	}
}

// sameMetrics tells whether two batches encode alike.
func sameMetrics(b *testing.B, x, y pmetric.Metrics) bool {
	var m pmetric.ProtoMarshaler
	bx, err := m.MarshalMetrics(x)
	if err != nil {
		b.Fatal(err)
	}
	by, err := m.MarshalMetrics(y)
	if err != nil {
		b.Fatal(err)
	}
	return bytes.Equal(bx, by)
}

// allocCounter counts heap allocations inside the timed region only (the
// batch copy that feeds each iteration is excluded), per item.
type allocCounter struct {
	before  runtime.MemStats
	mallocs uint64
}

func (c *allocCounter) start() { runtime.ReadMemStats(&c.before) }

func (c *allocCounter) stop() {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	c.mallocs += after.Mallocs - c.before.Mallocs
}

func (c *allocCounter) report(b *testing.B, items int, unit string) {
	b.ReportMetric(float64(c.mallocs)/float64(b.N*items), unit)
}

// Re-parenting, 100 requests (500 spans) per iteration:
//   - nothing-removable: the default config, re-parenting on and off: the
//     same code path, nothing is indexed;
//   - in-batch: proxy traces and round trips off, whole requests in one
//     batch: children resolved in place, against the same filtering with
//     re-parenting off;
//   - hold-back: proxy traces off, each request split in two batches as an
//     exporter may split it: backend stage, backend-request and read tracker
//     first (the 100 stage spans wait), then proxy and global (they are
//     released, re-parented);
//   - typical: typicalConfig, re-parenting on and off.
//
// Destination names are off throughout: BenchmarkTraces measures them.
func BenchmarkTracesReparent(b *testing.B) {
	const (
		inBatch  = "redact_headers: []\nproxy: {disable_traces: true}\nbackend: {traces: {round_trip: false}}" + namesOff
		holdBack = "redact_headers: []\nproxy: {disable_traces: true}" + namesOff
		off      = "\nreparent: {enabled: false}"
	)
	reqs := gatewayTraces("gw", benchRequests(100)...)
	// First batch: the three backend spans of each request; second: proxy
	// and global (appendRequestSpans writes global, proxy, stage,
	// backend-request, read tracker).
	first, second := ptrace.NewTraces(), ptrace.NewTraces()
	for _, part := range []struct {
		td   ptrace.Traces
		keep func(i int) bool
	}{{first, func(i int) bool { return i%5 >= 2 }}, {second, func(i int) bool { return i%5 < 2 }}} {
		reqs.CopyTo(part.td)
		i := 0
		part.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(ptrace.Span) bool {
			drop := !part.keep(i)
			i++
			return drop
		})
	}
	for _, bc := range []struct {
		name, yaml string
		batches    []ptrace.Traces
	}{
		{"nothing-removable/reparent-on", "redact_headers: []" + namesOff, []ptrace.Traces{reqs}},
		{"nothing-removable/reparent-off", "redact_headers: []" + namesOff + off, []ptrace.Traces{reqs}},
		{"in-batch/reparent-on", inBatch, []ptrace.Traces{reqs}},
		{"in-batch/reparent-off", inBatch + off, []ptrace.Traces{reqs}},
		{"hold-back/reparent-on", holdBack, []ptrace.Traces{first, second}},
		{"hold-back/reparent-off", holdBack + off, []ptrace.Traces{first, second}},
		{"typical/reparent-on", typicalConfig + namesOff, []ptrace.Traces{reqs}},
		{"typical/reparent-off", typicalConfig + namesOff + off, []ptrace.Traces{reqs}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFilter(b, bc.yaml, "traces")
			work := make([]ptrace.Traces, len(bc.batches))
			spans := 0
			for i, src := range bc.batches {
				work[i] = ptrace.NewTraces()
				spans += src.SpanCount()
			}
			var allocs allocCounter
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for j, src := range bc.batches {
					src.CopyTo(work[j])
				}
				// Every iteration replays the same trace IDs: forget the
				// last one's removed spans, or nothing would wait.
				if f.reparent != nil {
					f.reparent.forgetRemoved()
				}
				allocs.start()
				b.StartTimer()
				for _, td := range work {
					_, _ = f.processTraces(b.Context(), td)
				}
				b.StopTimer()
				allocs.stop()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
			allocs.report(b, spans, "allocs/span")
		})
	}
}

func (r *reparenter) forgetRemoved() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.removed)
	clear(r.removedQ)
	r.removedQ, r.removedHead = r.removedQ[:0], 0
}

// keepPathConfig keeps every span of benchRequests (no skip path, no layer
// or switch off) and gives each layer static attributes; the destination
// names and the default redaction are on.
const keepPathConfig = `
global: {traces_static_attributes: {env: prod}}
proxy: {traces_static_attributes: {tier: edge}}
backend: {traces: {static_attributes: {team: core}}}
`

// BenchmarkTracesKeepPath isolates the keep path: every span is kept and
// gets its static attributes, redaction and destination names. Each
// iteration decodes a fresh batch from OTLP protobuf, as the OTLP receiver
// hands it on, so that the attribute slices have the capacity of decoded
// data rather than the capacity a previous iteration grew them to.
func BenchmarkTracesKeepPath(b *testing.B) {
	for _, bc := range []struct{ name, yaml string }{
		{"static+names", keepPathConfig},
		{"static/names-off", keepPathConfig + namesOff},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFilter(b, bc.yaml, "traces")
			src := gatewayTraces("gw", benchRequests(100)...)
			spans := src.SpanCount()
			wire, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(src)
			if err != nil {
				b.Fatal(err)
			}
			var (
				allocs allocCounter
				bytes  uint64
			)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				batch, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(wire)
				if err != nil {
					b.Fatal(err)
				}
				allocs.start()
				b.StartTimer()
				out, _ := f.processTraces(b.Context(), batch)
				b.StopTimer()
				bytes += allocs.stopBytes()
				if out.SpanCount() != spans {
					b.Fatalf("kept %d spans of %d", out.SpanCount(), spans)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
			allocs.report(b, spans, "allocs/span")
			b.ReportMetric(float64(bytes)/float64(b.N*spans), "B/span")
		})
	}
}

// stopBytes is stop that also returns the bytes allocated since start.
func (c *allocCounter) stopBytes() uint64 {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	c.mallocs += after.Mallocs - c.before.Mallocs
	return after.TotalAlloc - c.before.TotalAlloc
}
