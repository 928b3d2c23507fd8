package layerfilterprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/internal/samplingrule"
)

// Trace IDs either side of the SDK rule's bound at 25 %: bytes 8..15 below
// 2^61 (0x20… once shifted) keep the trace, above drop it.
var (
	sampledID   = pcommon.TraceID{1, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 1}
	unsampledID = pcommon.TraceID{2, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0, 0, 0, 0, 0, 0, 2}
)

// twoTraces is one request in a trace the 25 % sampler keeps and one in a
// trace it drops.
func twoTraces(t *testing.T) ptrace.Traces {
	rule := samplingrule.NewSDKRatio(25)
	require.True(t, rule.Keeps(sampledID))
	require.False(t, rule.Keeps(unsampledID))
	td := gatewayTraces("gw", reqUser, reqUser)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	first := spans.At(0).TraceID()
	for _, s := range spans.All() {
		if s.TraceID() == first {
			s.SetTraceID(sampledID)
		} else {
			s.SetTraceID(unsampledID)
		}
	}
	return td
}

// spansOf returns the spans of one trace.
func spansOf(td ptrace.Traces, id pcommon.TraceID) []ptrace.Span {
	return spansWhere(td, func(s ptrace.Span) bool { return s.TraceID() == id })
}

// unsampledYAML is the translation's shape: names off (no X-Ray or Datadog
// exporter), a 25 % sdk_parity sampler after the filter.
const unsampledYAML = `
global: {traces_static_attributes: {team: edge}}
backend: {traces: {detailed_connection: false, static_attributes: {team: edge}}}
unsampled_traces: {sdk_parity_percentage: 25}
`

func TestUnsampledTracesGetNoStaticAttributes(t *testing.T) {
	out := runTraces(t, unsampledYAML+namesOff+"\nproxy: {traces_static_attributes: {team: edge}}\n", twoTraces(t))
	kept, dropped := spansOf(out, sampledID), spansOf(out, unsampledID)
	require.Len(t, kept, 5)
	require.Len(t, dropped, 5, "the filter still hands every span on: the counters read them")
	for _, s := range kept {
		assert.Equal(t, "edge", strAttr(t, s.Attributes(), "team"), s.Name())
	}
	for _, s := range dropped {
		_, ok := s.Attributes().Get("team")
		assert.False(t, ok, "%s: never exported, so no static attributes", s.Name())
	}
	roundTrip := func(id pcommon.TraceID) ptrace.Span {
		rt := spansWhere(out, func(s ptrace.Span) bool {
			return s.TraceID() == id && layer.ClassifySpan(s) == layer.BackendRoundTrip
		})
		require.Len(t, rt, 1)
		return rt[0]
	}
	keptRT, droppedRT := roundTrip(sampledID), roundTrip(unsampledID)
	_, ok := keptRT.Attributes().Get(detailedConnectionAttrs[0])
	assert.False(t, ok, "a sampled backend request loses its detailed-connection attributes")
	_, ok = droppedRT.Attributes().Get(detailedConnectionAttrs[0])
	assert.True(t, ok, "an unsampled one is left as it came")
}

// Redaction never depends on sampling: whatever reads the spans before the
// sampler, or an exporter added beside it, sees no credential.
func TestUnsampledTracesAreStillRedactedAndFiltered(t *testing.T) {
	out := runTraces(t, unsampledYAML+namesOff+"\nproxy: {report_headers: false, traces_static_attributes: {team: edge}}\n", twoTraces(t))
	for _, s := range spansOf(out, unsampledID) {
		if v, ok := s.Attributes().Get("http.request.header.authorization"); ok {
			assert.Equal(t, `["[REDACTED]"]`, v.AsString(), s.Name())
		}
		if layer.ClassifySpan(s) == layer.ProxyStage {
			_, ok := s.Attributes().Get("http.request.header.x-request-id")
			assert.False(t, ok, "report_headers false strips the proxy span's headers, sampled or not")
		}
	}
	g := findSpans(out, layer.GlobalStage)
	require.Len(t, g, 2)
	for _, s := range g {
		assert.Equal(t, `["[REDACTED]"]`, strAttr(t, s.Attributes(), "http.request.header.authorization"))
	}
}

// With destination names on, the names (which the request counters and
// Datadog's stats read on every span) see the static attributes: every
// span gets them, sampled or not.
func TestNamedSpansGetStaticAttributesSampledOrNot(t *testing.T) {
	out := runTraces(t, unsampledYAML+"proxy: {traces_static_attributes: {team: edge}}\ndestination_names: {enabled: true}\n", twoTraces(t))
	for _, s := range spansOf(out, unsampledID) {
		assert.Equal(t, "edge", strAttr(t, s.Attributes(), "team"), s.Name())
	}
}

// 100 % keeps every trace: the option is then a no-op.
func TestUnsampledTracesAtFullRateChangeNothing(t *testing.T) {
	out := runTraces(t, `
global: {traces_static_attributes: {team: edge}}
unsampled_traces: {sdk_parity_percentage: 100}
`+namesOff+"\n", twoTraces(t))
	for _, s := range findSpans(out, layer.GlobalStage) {
		assert.Equal(t, "edge", strAttr(t, s.Attributes(), "team"))
	}
}
