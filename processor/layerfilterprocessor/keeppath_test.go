package layerfilterprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// On the keep path the filter writes static attributes, redacted header
// values and constant names with values every span shares
// (internal/sharedvalue): a kept span whose attribute list has room for
// them costs no allocation. Counted, not timed.
func TestKeptSpansCostNoAllocationWhenTheirListsHaveRoom(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"static attributes and redaction", keepPathConfig + namesOff},
		{"with destination names, on spans without URLs", keepPathConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFilter(t, tc.yaml, "traces")
			src := gatewayTraces("gw", benchRequests(20)...)
			if tc.yaml == keepPathConfig {
				// The global span's url.path, url.query and http.url are
				// new strings per request: those do cost allocations.
				forEachSpan(src, func(s ptrace.Span) { s.Attributes().Remove(attrURLFull) })
			}
			spans := src.SpanCount()
			const runs = 10
			batches := make([]ptrace.Traces, runs+1) // AllocsPerRun runs once more to warm up
			for i := range batches {
				batches[i] = ptrace.NewTraces()
				src.CopyTo(batches[i])
				forEachSpan(batches[i], func(s ptrace.Span) {
					s.Attributes().EnsureCapacity(s.Attributes().Len() + 8)
				})
			}
			next := 0
			allocs := testing.AllocsPerRun(runs, func() {
				out, err := f.processTraces(t.Context(), batches[next])
				require.NoError(t, err)
				require.Equal(t, spans, out.SpanCount(), "a span was dropped: not the keep path")
				next++
			})
			// Every span got its layer's static attribute, so the path ran.
			requireStaticOnEverySpan(t, batches[runs])
			// Per batch of spans, not per span: telemetry and pooled scratch.
			assert.LessOrEqual(t, allocs, 2.0, "allocations per batch of %d kept spans", spans)
		})
	}
}

// A kept span whose list is full grows it once for what the filter adds;
// the batch's grown lists are cut from a few larger arrays
// (sharedvalue.ListSlab), not allocated one per span. Counted, not timed.
func TestKeptSpansWithFullListsGrowThemFromAFewArraysPerBatch(t *testing.T) {
	f := newFilter(t, keepPathConfig+namesOff, "traces")
	src := gatewayTraces("gw", benchRequests(20)...)
	spans := src.SpanCount()
	const runs = 10
	batches := make([]ptrace.Traces, runs+1)
	for i := range batches {
		batches[i] = ptrace.NewTraces()
		src.CopyTo(batches[i]) // sizes every list exactly: no room
	}
	next := 0
	allocs := testing.AllocsPerRun(runs, func() {
		out, err := f.processTraces(t.Context(), batches[next])
		require.NoError(t, err)
		require.Equal(t, spans, out.SpanCount())
		next++
	})
	requireStaticOnEverySpan(t, batches[runs])
	// About 25 entries a span, 256 an array: one per ten spans, and the
	// two of TestKeptSpansCostNoAllocationWhenTheirListsHaveRoom.
	assert.LessOrEqual(t, allocs, float64(spans/8+2), "allocations per batch of %d kept spans with full lists", spans)
}

// requireStaticOnEverySpan fails unless every span has its layer's static
// attribute in keepPathConfig.
func requireStaticOnEverySpan(t *testing.T, td ptrace.Traces) {
	t.Helper()
	forEachSpan(td, func(s ptrace.Span) {
		_, env := s.Attributes().Get("env")
		_, tier := s.Attributes().Get("tier")
		_, team := s.Attributes().Get("team")
		require.True(t, env || tier || team, "a span without its static attribute")
	})
}

func forEachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				f(s)
			}
		}
	}
}
