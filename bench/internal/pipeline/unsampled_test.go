package pipeline

import (
	"context"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"
)

// TestUnsampledTracesChangeNoExportedSpan: the layer filter's
// unsampled_traces (no static attributes on the spans the sampler will
// drop) leaves what the sampler hands on byte for byte as it is without
// it, on the harness's batches and the translation of its krakend.json.
func TestUnsampledTracesChangeNoExportedSpan(t *testing.T) {
	with := translated(t)
	if !with.IsSet("processors::layerfilter::unsampled_traces::sdk_parity_percentage") {
		t.Fatal("the translation no longer sets unsampled_traces: this test would compare a configuration with itself")
	}
	if got, want := with.Get("processors::layerfilter::unsampled_traces::sdk_parity_percentage"), with.Get("processors::sampling::sampling_percentage"); got != want {
		t.Fatalf("unsampled_traces at %v, sampler at %v", got, want)
	}
	// Batch by batch: the sampler hands each batch on as it came, not
	// gathered on a timer, which would make the two runs' batches differ.
	m := with.ToStringMap()
	if _, ok := m["processors"].(map[string]any)["sampling"].(map[string]any)["batch"]; !ok {
		t.Fatal("the translation no longer sets the sampler's batch: drop this step")
	}
	delete(m["processors"].(map[string]any)["sampling"].(map[string]any), "batch")
	// The sampler copies what it keeps, leaving its input as the layer
	// filter made it: the dropped spans show below what it spared them.
	m["processors"].(map[string]any)["sampling"].(map[string]any)["copy_kept_spans"] = true
	with = confmap.NewFromStringMap(m)
	m = with.ToStringMap()
	lf := m["processors"].(map[string]any)["layerfilter"].(map[string]any)
	delete(lf, "unsampled_traces")
	without := confmap.NewFromStringMap(m)

	run := func(conf *confmap.Conf) (*consumertest.TracesSink, []ptrace.Traces) {
		sink := new(consumertest.TracesSink)
		s := processorOf(t, conf, samplingprocessor.NewFactory(), sink)
		c := processorOf(t, conf, layerfilterprocessor.NewFactory(), s)
		var n uint64
		var in []ptrace.Traces
		for _, src := range decoded(t) {
			td := ptrace.NewTraces()
			src.CopyTo(td)
			newIDs(td, &n)
			in = append(in, td)
			if err := c.ConsumeTraces(context.Background(), td); err != nil {
				t.Fatal(err)
			}
		}
		return sink, in
	}
	a, inA := run(with)
	b, inB := run(without)
	if a.SpanCount() == 0 || a.SpanCount() != b.SpanCount() {
		t.Fatalf("sampled spans: %d with unsampled_traces, %d without", a.SpanCount(), b.SpanCount())
	}
	var m1, m2 ptrace.ProtoMarshaler
	for i := range a.AllTraces() {
		x, err := m1.MarshalTraces(a.AllTraces()[i])
		if err != nil {
			t.Fatal(err)
		}
		y, err := m2.MarshalTraces(b.AllTraces()[i])
		if err != nil {
			t.Fatal(err)
		}
		if string(x) != string(y) {
			t.Fatalf("batch %d: the sampled spans differ with unsampled_traces", i)
		}
	}
	// and the option spared work: the spans the sampler dropped kept their
	// attributes as they came, where without it every span got its layer's
	if n := bare(inA); n == 0 {
		t.Fatal("every span got its static attributes: unsampled_traces did nothing")
	}
	if n := bare(inB); n != 0 {
		t.Fatalf("without unsampled_traces %d spans have no static attribute", n)
	}
}

// bare counts the spans with none of the benchmark's traces static
// attributes (every layer has some, my_trace_*).
func bare(in []ptrace.Traces) int {
	n := 0
	for _, td := range in {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					static := false
					for k := range s.Attributes().All() {
						if strings.HasPrefix(k, "my_trace_") {
							static = true
						}
					}
					if !static {
						n++
					}
				}
			}
		}
	}
	return n
}
