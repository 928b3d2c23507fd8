package load

import (
	"bytes"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

func TestTraceBatchesAreGatewayShapedAndRewritable(t *testing.T) {
	bs, err := TraceBatches(2, 100)
	if err != nil {
		t.Fatal(err)
	}
	b := bs[0].Clone()
	// 95 requests of five spans and 5 health checks of one
	if b.Items != 95*5+5 {
		t.Fatalf("items = %d, want %d", b.Items, 95*5+5)
	}
	before := decode(t, b.Body)
	ids := &idSource{}
	b.Rewrite(ids)
	after := decode(t, b.Body)
	if !bytes.Equal(bs[0].Body, bs[0].Clone().Body) {
		t.Fatal("clone differs")
	}
	seen := map[pcommon.TraceID]pcommon.TraceID{}
	spansA := after.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spansB := before.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spansA.Len(); i++ {
		oldID, newID := spansB.At(i).TraceID(), spansA.At(i).TraceID()
		if oldID == newID {
			t.Fatalf("span %d kept its trace ID", i)
		}
		if prev, ok := seen[oldID]; ok && prev != newID {
			t.Fatalf("the spans of one trace got different IDs")
		}
		seen[oldID] = newID
		if spansA.At(i).Name() != spansB.At(i).Name() {
			t.Fatalf("rewriting touched span %d's name", i)
		}
	}
	if len(seen) != 100 {
		t.Fatalf("%d traces, want 100", len(seen))
	}
}

func decode(t *testing.T, body []byte) ptrace.Traces {
	t.Helper()
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	return req.Traces()
}

func TestMetricBatchHoldsEveryLayersSeries(t *testing.T) {
	b, err := MetricBatch()
	if err != nil {
		t.Fatal(err)
	}
	if b.Items != 3*8*19 {
		t.Fatalf("data points = %d, want %d", b.Items, 3*8*19)
	}
}

func TestPartialRejectedReadsTheCount(t *testing.T) {
	// partial_success { rejected_spans: 300, error_message: "x" }
	resp := []byte{0x0a, 0x06, 0x08, 0xac, 0x02, 0x12, 0x01, 'x'}
	if got := partialRejected(resp); got != 300 {
		t.Fatalf("rejected = %d, want 300", got)
	}
	if got := partialRejected(nil); got != 0 {
		t.Fatalf("empty response: rejected = %d, want 0", got)
	}
}
