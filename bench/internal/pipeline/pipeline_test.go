// Package pipeline benchmarks otelcol-gateway's own components in process,
// on the harness's batches and the translated configuration of
// bench/testdata/krakend.json: the gateway receiver (real OTLP/gRPC on
// loopback) → layerfilter → sampling, and the processors alone. Run with
// -cpuprofile to see where a span's cost goes (docs/benchmarks.md).
package pipeline

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/load"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver"
)

func translated(tb testing.TB) *confmap.Conf {
	tb.Helper()
	b, err := os.ReadFile("../../testdata/krakend.translated.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return confmap.NewFromStringMap(m)
}

func processorOf(tb testing.TB, conf *confmap.Conf, f processor.Factory, next consumer.Traces) processor.Traces {
	tb.Helper()
	cfg := f.CreateDefaultConfig()
	sub, err := conf.Sub("processors::" + f.Type().String())
	if err != nil {
		tb.Fatal(err)
	}
	if err := sub.Unmarshal(cfg); err != nil {
		tb.Fatal(err)
	}
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// chain builds layerfilter → sampling → sink with the translated settings.
func chain(tb testing.TB, sink consumer.Traces) consumer.Traces {
	conf := translated(tb)
	s := processorOf(tb, conf, samplingprocessor.NewFactory(), sink)
	return processorOf(tb, conf, layerfilterprocessor.NewFactory(), s)
}

func decoded(tb testing.TB) []ptrace.Traces {
	tb.Helper()
	bs, err := load.TraceBatches(8, 100)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]ptrace.Traces, len(bs))
	for i, b := range bs {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b.Body); err != nil {
			tb.Fatal(err)
		}
		out[i] = req.Traces()
	}
	return out
}

// newIDs gives every trace of td a fresh ID, as the harness does.
func newIDs(td ptrace.Traces, n *uint64) {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	ids := map[pcommon.TraceID]pcommon.TraceID{}
	for i := 0; i < spans.Len(); i++ {
		s := spans.At(i)
		id, ok := ids[s.TraceID()]
		if !ok {
			*n++
			// random-looking bytes, as the harness's generator makes them:
			// the sampler decides on bytes 8..15, and ASCII hex digits
			// there would keep 62 % at 25 %
			binary.BigEndian.PutUint64(id[:8], splitmix(*n))
			binary.BigEndian.PutUint64(id[8:], splitmix(*n^0x5851f42d4c957f2d))
			ids[s.TraceID()] = id
		}
		s.SetTraceID(id)
	}
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// startGatewayReceiver starts the translated gateway receiver, created by
// create, on a free loopback port for OTLP/gRPC, and returns its endpoint.
func startGatewayReceiver(b *testing.B, conf *confmap.Conf, create func(receiver.Factory, receiver.Settings, component.Config) (component.Component, error)) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	endpoint := l.Addr().String()
	l.Close()
	f := gatewayreceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	sub, err := conf.Sub("receivers::gateway")
	if err != nil {
		b.Fatal(err)
	}
	if err := sub.Unmarshal(cfg); err != nil {
		b.Fatal(err)
	}
	if err := confmap.NewFromStringMap(map[string]any{"protocols": map[string]any{"grpc": map[string]any{"endpoint": endpoint}}}).Unmarshal(cfg); err != nil {
		b.Fatal(err)
	}
	r, err := create(f, receivertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return endpoint
}

// BenchmarkProcessors: layerfilter then sampling on a decoded 480-span batch.
func BenchmarkProcessors(b *testing.B) {
	src := decoded(b)
	sink := new(consumertest.TracesSink)
	c := chain(b, sink)
	ctx := context.Background()
	spans := src[0].SpanCount()
	const chunk = 16
	batches := make([]ptrace.Traces, 0, chunk)
	var n uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		batches = refill(b, batches, src, i, &n, sink.Reset)
		if err := c.ConsumeTraces(ctx, batches[len(batches)-1]); err != nil {
			b.Fatal(err)
		}
		batches = batches[:len(batches)-1]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
}

// refill, when batches is empty, makes up to cap(batches) fresh copies of
// the harness's batches for the rounds from i on, each trace with a new ID,
// and calls reset, outside the timer: for processors that change their
// input. The caller takes batches from the end.
func refill(b *testing.B, batches, src []ptrace.Traces, i int, n *uint64, reset func()) []ptrace.Traces {
	if len(batches) > 0 {
		return batches
	}
	b.StopTimer()
	for j := range min(cap(batches), b.N-i) {
		td := ptrace.NewTraces()
		src[(i+j)%len(src)].CopyTo(td)
		newIDs(td, n)
		batches = append(batches, td)
	}
	reset()
	b.StartTimer()
	return batches
}

// BenchmarkReceiverAndProcessors: the gateway receiver over OTLP/gRPC on
// loopback (the harness's raw-bytes client, so that the client costs little),
// layerfilter, sampling.
func BenchmarkReceiverAndProcessors(b *testing.B) {
	bs, err := load.TraceBatches(8, 100)
	if err != nil {
		b.Fatal(err)
	}
	sink := new(consumertest.TracesSink)
	next := chain(b, sink)
	endpoint := startGatewayReceiver(b, translated(b), func(f receiver.Factory, set receiver.Settings, cfg component.Config) (component.Component, error) {
		return f.CreateTraces(context.Background(), set, cfg, next)
	})
	gen, err := load.Dial(endpoint, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer gen.Close()
	ctx := context.Background()
	own := make([]load.Batch, len(bs))
	for i := range bs {
		own[i] = bs[i].Clone()
	}
	ids := load.NewIDSource(1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bt := &own[i%len(own)]
		bt.Rewrite(ids)
		if _, err := gen.Send(ctx, load.TracesMethod, bt); err != nil {
			b.Fatal(err)
		}
		if i%64 == 0 {
			sink.Reset()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*bs[0].Items), "ns/span")
}

// BenchmarkMetricsReceiverAndLayerFilter is BenchmarkReceiverAndProcessors
// for metrics: the gateway receiver over OTLP/gRPC on loopback, then the
// layer filter (metrics are never sampled), on the harness's metrics batch.
func BenchmarkMetricsReceiverAndLayerFilter(b *testing.B) {
	batch, err := load.MetricBatch()
	if err != nil {
		b.Fatal(err)
	}
	conf := translated(b)
	lf := layerfilterprocessor.NewFactory()
	lfCfg := lf.CreateDefaultConfig()
	lfSub, err := conf.Sub("processors::layerfilter")
	if err != nil {
		b.Fatal(err)
	}
	if err := lfSub.Unmarshal(lfCfg); err != nil {
		b.Fatal(err)
	}
	sink := new(consumertest.MetricsSink)
	filter, err := lf.CreateMetrics(context.Background(), processortest.NewNopSettings(lf.Type()), lfCfg, sink)
	if err != nil {
		b.Fatal(err)
	}
	if err := filter.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = filter.Shutdown(context.Background()) })

	endpoint := startGatewayReceiver(b, conf, func(f receiver.Factory, set receiver.Settings, cfg component.Config) (component.Component, error) {
		return f.CreateMetrics(context.Background(), set, cfg, filter)
	})
	gen, err := load.Dial(endpoint, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer gen.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%64 == 0 {
			sink.Reset()
		}
		if _, err := gen.Send(ctx, load.MetricsMethod, &batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if sink.DataPointCount() == 0 {
		b.Fatal("no data point reached the sink")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.Items), "ns/point")
}

// BenchmarkSampledSplit is the translated traces/in → [spanmetrics,
// forward → sampling] fan-out after the layer filter, as the collector runs
// it. "clone" is what it does when the sampled pipeline says it mutates: a
// copy of the whole batch for the sampler, which then removes three spans
// in four in place. "copy-kept" is copy_kept_spans: the batch is marked
// read-only and shared, and the sampler copies only what it keeps.
func BenchmarkSampledSplit(b *testing.B) {
	conf := translated(b)
	for _, mode := range []string{"clone", "copy-kept"} {
		b.Run(mode, func(b *testing.B) {
			m := conf.ToStringMap()
			sampling := m["processors"].(map[string]any)["sampling"].(map[string]any)
			sampling["copy_kept_spans"] = mode == "copy-kept"
			if mode == "clone" {
				delete(sampling, "batch") // only a copying sampler gathers
			}
			conf := confmap.NewFromStringMap(m)
			sink := new(consumertest.TracesSink)
			sampler := processorOf(b, conf, samplingprocessor.NewFactory(), sink)
			if sampler.Capabilities().MutatesData != (mode == "clone") {
				b.Fatalf("%s: sampler MutatesData = %v", mode, sampler.Capabilities().MutatesData)
			}
			src := decoded(b)
			spans := src[0].SpanCount()
			ctx := context.Background()
			var n uint64
			batches := make([]ptrace.Traces, len(src))
			for i := range src {
				batches[i] = ptrace.NewTraces()
				src[i].CopyTo(batches[i])
				newIDs(batches[i], &n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				td := batches[i%len(batches)]
				if mode == "clone" {
					c := ptrace.NewTraces()
					td.CopyTo(c)
					td = c
				} else if !td.IsReadOnly() {
					td.MarkReadOnly()
				}
				if err := sampler.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
				if i%64 == 0 {
					sink.Reset()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		})
	}
}
