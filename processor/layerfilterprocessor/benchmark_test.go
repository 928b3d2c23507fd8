package layerfilterprocessor

import (
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

// 100 requests = 500 spans per batch.
func BenchmarkTraces(b *testing.B) {
	for _, bc := range []struct{ name, yaml string }{
		{"pass-through", "redact_headers: []"},
		{"default-redaction", ""},
		{"typical", typicalConfig},
	} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFilter(b, bc.yaml, "traces")
			src := gatewayTraces("gw", benchRequests(100)...)
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
			batch := pmetric.NewMetrics()
			var allocs allocCounter
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				src.CopyTo(batch)
				allocs.start()
				b.StartTimer()
				_, _ = f.processMetrics(b.Context(), batch)
				b.StopTimer()
				allocs.stop()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*points), "ns/point")
			allocs.report(b, points, "allocs/point")
		})
	}
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
