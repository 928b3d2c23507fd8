package pipeline

import (
	"context"
	"sort"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"
	"github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"
)

// countAndSample is the part of a translated traces path after the layer
// filter: the request metrics counted from every span, the sampler, and the
// sink for what is kept, each as the collector's graph wires it.
type countAndSample struct {
	in        consumer.Traces
	connector connector.Traces
	kept      *consumertest.TracesSink
	counts    *consumertest.MetricsSink
	shutdown  []component.Component // in the collector's order
}

// newCountAndSample builds the path in one of two shapes:
//   - "split", the translation before the requestmetrics processor:
//     traces/in fans out to the connector and, through forward, to a
//     sampler that copies what it keeps (copy_kept_spans), the batch
//     shared read-only between them;
//   - "inline", the translation now: one pipeline, the requestmetrics
//     processor, then the sampler in place, then a fan-out to the
//     exporter and the connector, which counts nothing it receives.
//
// Both gather the kept spans (sampling.batch) as translated.
func newCountAndSample(tb testing.TB, shape string) *countAndSample {
	tb.Helper()
	m := translated(tb).ToStringMap()
	sampling := m["processors"].(map[string]any)["sampling"].(map[string]any)
	sampling["copy_kept_spans"] = shape == "split"
	conf := confmap.NewFromStringMap(m)
	ctx := context.Background()
	c := &countAndSample{kept: new(consumertest.TracesSink), counts: new(consumertest.MetricsSink)}

	// one ID per pipeline built, so that no processor of another pairs
	id := component.MustNewIDWithName("requestmetrics", shape+"-"+tb.Name())
	cf := requestmetricsconnector.NewFactory()
	ccfg := cf.CreateDefaultConfig()
	sub, err := conf.Sub("connectors::requestmetrics")
	if err != nil {
		tb.Fatal(err)
	}
	if err := sub.Unmarshal(ccfg); err != nil {
		tb.Fatal(err)
	}
	cset := connectortest.NewNopSettings(cf.Type())
	cset.ID = id
	c.connector, err = cf.CreateTracesToMetrics(ctx, cset, ccfg, c.counts)
	if err != nil {
		tb.Fatal(err)
	}

	var sampler consumer.Traces
	switch shape {
	case "split":
		sampler = processorOf(tb, conf, samplingprocessor.NewFactory(), c.kept)
		c.in = consumer.Traces(fanOut{c.connector, sampler})
	case "inline":
		sampler = processorOf(tb, conf, samplingprocessor.NewFactory(), fanOut{c.kept, c.connector})
		pf := requestmetricsprocessor.NewFactory()
		pset := processortest.NewNopSettings(pf.Type())
		pset.ID = id
		p, err := pf.CreateTraces(ctx, pset, pf.CreateDefaultConfig(), sampler)
		if err != nil {
			tb.Fatal(err)
		}
		c.shutdown = append(c.shutdown, p)
		c.in = p
	default:
		tb.Fatalf("unknown shape %q", shape)
	}
	// the collector starts downstream first and shuts down upstream first
	if err := c.connector.Start(ctx, componenttest.NewNopHost()); err != nil {
		tb.Fatal(err)
	}
	for _, comp := range c.shutdown {
		if err := comp.Start(ctx, componenttest.NewNopHost()); err != nil {
			tb.Fatal(err)
		}
	}
	c.shutdown = append(c.shutdown, sampler.(component.Component), c.connector)
	return c
}

// stop shuts the path down in the collector's order: the connector last,
// after the sampler handed on its pending batch.
func (c *countAndSample) stop(tb testing.TB) {
	tb.Helper()
	for _, comp := range c.shutdown {
		if err := comp.Shutdown(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
	c.shutdown = nil
}

// fanOut is the collector's fan-out to read-only consumers: the batch is
// marked read-only and every consumer gets it.
type fanOut []consumer.Traces

func (f fanOut) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (f fanOut) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	if !td.IsReadOnly() {
		td.MarkReadOnly()
	}
	for _, c := range f {
		if err := c.ConsumeTraces(ctx, td); err != nil {
			return err
		}
	}
	return nil
}

// callsBySeries is the last value of every calls series emitted.
func callsBySeries(all []pmetric.Metrics) map[string]int64 {
	out := map[string]int64{}
	for _, md := range all {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Type() != pmetric.MetricTypeSum {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						key := m.Name()
						dp.Attributes().Range(func(k string, v pcommon.Value) bool {
							if k != "collector.instance.id" { // random per connector
								key += " " + k + "=" + v.AsString()
							}
							return true
						})
						out[key] = dp.IntValue()
					}
				}
			}
		}
	}
	return out
}

func keptSpanIDs(all []ptrace.Traces) []string {
	var ids []string
	for _, td := range all {
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

// TestInlineCountsAndSamplesAsTheSplitDid: on the harness's batches, the
// inline shape emits the same request counts, every span counted once, and
// hands on the same kept spans as the split shape it replaces.
func TestInlineCountsAndSamplesAsTheSplitDid(t *testing.T) {
	src := decoded(t)
	var n uint64
	inputs := make([]ptrace.Traces, 24)
	spans := 0
	for i := range inputs {
		inputs[i] = ptrace.NewTraces()
		src[i%len(src)].CopyTo(inputs[i])
		newIDs(inputs[i], &n)
		spans += inputs[i].SpanCount()
	}
	results := map[string]*countAndSample{}
	for _, shape := range []string{"split", "inline"} {
		c := newCountAndSample(t, shape)
		for _, td := range inputs {
			in := ptrace.NewTraces()
			td.CopyTo(in)
			if err := c.in.ConsumeTraces(context.Background(), in); err != nil {
				t.Fatal(err)
			}
		}
		c.stop(t)
		results[shape] = c
	}
	split, inline := results["split"], results["inline"]
	wantCalls, gotCalls := callsBySeries(split.counts.AllMetrics()), callsBySeries(inline.counts.AllMetrics())
	if len(wantCalls) == 0 {
		t.Fatal("the split shape emitted no calls series")
	}
	var total int64
	for k, v := range wantCalls {
		if gotCalls[k] != v {
			t.Errorf("%s: inline %d, split %d", k, gotCalls[k], v)
		}
		total += v
	}
	if len(gotCalls) != len(wantCalls) {
		t.Errorf("inline emitted %d calls series, split %d", len(gotCalls), len(wantCalls))
	}
	// the harness's krakend.json's gateway samples at 25 %: each span
	// counts 4 requests, the skipped and filtered spans none
	if total == 0 || total > int64(4*spans) {
		t.Errorf("%d calls from %d spans", total, spans)
	}
	want, got := keptSpanIDs(split.kept.AllTraces()), keptSpanIDs(inline.kept.AllTraces())
	if len(want) == 0 || len(want) == spans {
		t.Fatalf("the sampler kept %d of %d spans", len(want), spans)
	}
	if len(got) != len(want) {
		t.Fatalf("inline kept %d spans, split %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("kept span %d: inline %s, split %s", i, got[i], want[i])
		}
	}
}

// BenchmarkCountAndSample: the request metrics and the sampler on the
// harness's 480-span batches, in the translation's two shapes (see
// newCountAndSample). Each batch is a fresh copy, made outside the timer:
// inline, the sampler changes its input.
func BenchmarkCountAndSample(b *testing.B) {
	src := decoded(b)
	spans := src[0].SpanCount()
	for _, shape := range []string{"split", "inline"} {
		b.Run(shape, func(b *testing.B) {
			c := newCountAndSample(b, shape)
			defer c.stop(b)
			ctx := context.Background()
			var n uint64
			const chunk = 64
			batches := make([]ptrace.Traces, 0, chunk)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				batches = refill(b, batches, src, i, &n, c.kept.Reset)
				if err := c.in.ConsumeTraces(ctx, batches[len(batches)-1]); err != nil {
					b.Fatal(err)
				}
				batches = batches[:len(batches)-1]
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
		})
	}
}
