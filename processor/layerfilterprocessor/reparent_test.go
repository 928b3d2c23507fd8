package layerfilterprocessor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

// --- harness ----------------------------------------------------------------

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness runs the traces processor as the collector does (processorhelper,
// Start, Shutdown) into a sink, on a clock the test moves.
type harness struct {
	proc   processor.Traces
	sink   *consumertest.TracesSink
	refuse *refusingConsumer // in front of sink
	tel    *componenttest.Telemetry
	clock  *fakeClock
}

func newHarness(t *testing.T, yaml string) *harness {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := processortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	h := &harness{sink: new(consumertest.TracesSink), tel: tel, clock: &fakeClock{t: time.Unix(1_700_000_000, 0)}}
	h.refuse = &refusingConsumer{next: h.sink}
	var err error
	h.proc, err = newTracesProcessor(context.Background(), set, loadConfig(t, yaml), h.refuse, h.clock.Now)
	require.NoError(t, err)
	require.NoError(t, h.proc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, h.proc.Shutdown(context.Background())) })
	return h
}

var errRefused = errors.New("refused by the next consumer")

// refusingConsumer refuses the next n batches (what it was given is
// discarded, as an exporter whose queue is full does), then hands on to
// next.
type refusingConsumer struct {
	mu       sync.Mutex
	n        int
	refused  int
	readOnly bool // marks a refused batch read-only, as a fanout to several consumers does
	next     consumer.Traces
}

func (c *refusingConsumer) refuseNext(n int) {
	c.mu.Lock()
	c.n = n
	c.mu.Unlock()
}

func (c *refusingConsumer) refusals() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused
}

func (c *refusingConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *refusingConsumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	c.mu.Lock()
	refuse := c.n > 0
	if refuse {
		c.n--
		c.refused++
		if c.readOnly {
			td.MarkReadOnly()
		}
	}
	c.mu.Unlock()
	if refuse {
		return errRefused
	}
	return c.next.ConsumeTraces(ctx, td)
}

func (h *harness) consume(t *testing.T, td ptrace.Traces) {
	t.Helper()
	require.NoError(t, h.proc.ConsumeTraces(context.Background(), td))
}

// metric sums an own-telemetry instrument's points (with the given
// attributes, or all); 0 when nothing was recorded.
func (h *harness) metric(t *testing.T, name string, attrs ...attribute.KeyValue) int64 {
	t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is a sum", name)
	want := attribute.NewSet(attrs...)
	var total int64
	for _, dp := range sum.DataPoints {
		if len(attrs) == 0 || dp.Attributes.Equals(&want) {
			total += dp.Value
		}
	}
	return total
}

const (
	metricReparented = "otelcol_processor_layerfilter_reparented_spans"
	metricUnresolved = "otelcol_processor_layerfilter_released_unresolved_spans"
	metricHeld       = "otelcol_processor_layerfilter_held_spans"
)

func reason(r string) attribute.KeyValue { return attribute.String("reason", r) }

// sinkSpans returns every span the sink received.
func sinkSpans(sink *consumertest.TracesSink) []ptrace.Span {
	var out []ptrace.Span
	for _, td := range sink.AllTraces() {
		out = append(out, allSpans(td)...)
	}
	return out
}

func allSpans(td ptrace.Traces) []ptrace.Span {
	var out []ptrace.Span
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out = append(out, s)
			}
		}
	}
	return out
}

// batches cuts a source batch (one resource, one scope) into batches of the
// spans at the given indices, each with a copy of the resource and scope.
func batches(src ptrace.Traces, plan [][]int) []ptrace.Traces {
	srs := src.ResourceSpans().At(0)
	sss := srs.ScopeSpans().At(0)
	out := make([]ptrace.Traces, 0, len(plan))
	for _, idxs := range plan {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl(srs.SchemaUrl())
		srs.Resource().CopyTo(rs.Resource())
		ss := rs.ScopeSpans().AppendEmpty()
		ss.SetSchemaUrl(sss.SchemaUrl())
		sss.Scope().CopyTo(ss.Scope())
		for _, i := range idxs {
			sss.Spans().At(i).CopyTo(ss.Spans().AppendEmpty())
		}
		out = append(out, td)
	}
	return out
}

// --- the integrity check ------------------------------------------------------

// checkIntegrity compares what reached the sink with the source: exactly
// the spans expected to be kept, none twice, no orphan (a span whose parent
// is not in the trace), and each kept span's parent its nearest kept
// ancestor in the source tree, as the gateway would produce in-process. It
// returns how many spans had their parent changed.
func checkIntegrity(t *testing.T, src ptrace.Traces, got []ptrace.Span, kept func(ptrace.Span) bool, msg string) int {
	t.Helper()
	parentOf := map[spanKey]pcommon.SpanID{}
	wantKept := map[spanKey]bool{}
	for _, s := range allSpans(src) {
		k := spanKey{s.TraceID(), s.SpanID()}
		parentOf[k] = s.ParentSpanID()
		if kept(s) {
			wantKept[k] = true
		}
	}
	gotKept := map[spanKey]ptrace.Span{}
	for _, s := range got {
		k := spanKey{s.TraceID(), s.SpanID()}
		_, dup := gotKept[k]
		require.False(t, dup, "%s: span %s handed on twice", msg, s.Name())
		gotKept[k] = s
	}
	require.Len(t, gotKept, len(wantKept), "%s: kept spans", msg)
	changed := 0
	for k, s := range gotKept {
		require.True(t, wantKept[k], "%s: span %s (%s) should have been removed", msg, s.Name(), layer.ClassifySpan(s))
		want := parentOf[k]
		for !want.IsEmpty() {
			if _, ok := gotKept[spanKey{k.trace, want}]; ok {
				break
			}
			want = parentOf[spanKey{k.trace, want}]
		}
		p := s.ParentSpanID()
		if !p.IsEmpty() {
			_, ok := gotKept[spanKey{k.trace, p}]
			require.True(t, ok, "%s: %s is an orphan (parent %s)", msg, layer.ClassifySpan(s), p)
		}
		require.Equal(t, want, p, "%s: parent of %s", msg, layer.ClassifySpan(s))
		if p != parentOf[k] {
			changed++
		}
	}
	return changed
}

// switches is one combination of the settings that remove spans.
type switches struct {
	globalOff, proxyOff, stageOff, roundTripOff, readPayloadOff bool
	skipRawPath                                                 bool // skip_paths: [/users/42]: the global span only
}

func (s switches) yaml() string {
	var b strings.Builder
	fmt.Fprintf(&b, "global: {disable_traces: %t}\n", s.globalOff)
	fmt.Fprintf(&b, "proxy: {disable_traces: %t}\n", s.proxyOff)
	fmt.Fprintf(&b, "backend: {traces: {disable_stage: %t, round_trip: %t, read_payload: %t}}\n", s.stageOff, !s.roundTripOff, !s.readPayloadOff)
	if s.skipRawPath {
		b.WriteString("skip_paths: [/users/42]\n")
	}
	return b.String()
}

func (s switches) String() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{s.globalOff, "global_off"}, {s.proxyOff, "proxy_off"}, {s.stageOff, "disable_stage"}, {s.roundTripOff, "round_trip_off"}, {s.readPayloadOff, "read_payload_off"}, {s.skipRawPath, "skip_raw_path"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		return "all_on"
	}
	return strings.Join(parts, "+")
}

func (s switches) kept(span ptrace.Span) bool {
	switch layer.ClassifySpan(span) {
	case layer.GlobalStage:
		return !s.globalOff && !s.skipRawPath
	case layer.ProxyStage:
		return !s.proxyOff
	case layer.BackendStage:
		return !s.stageOff
	case layer.BackendRoundTrip:
		return !s.roundTripOff
	case layer.BackendReadPayload:
		return !s.readPayloadOff
	}
	return true
}

func allSwitchCombinations() []switches {
	var out []switches
	for m := 0; m < 1<<6; m++ {
		out = append(out, switches{m&1 != 0, m&2 != 0, m&4 != 0, m&8 != 0, m&16 != 0, m&32 != 0})
	}
	return out
}

// gatewaydata's span order per request: read tracker, backend-request,
// backend stage, proxy, global (children first).
const (
	iRead, iRoundTrip, iStage, iProxy, iGlobal = 0, 1, 2, 3, 4
)

// orders lists how one request's five spans may reach the processor.
func orders() map[string][][]int {
	o := map[string][][]int{
		"one batch, children first":  {{iRead, iRoundTrip, iStage, iProxy, iGlobal}},
		"one batch, parents first":   {{iGlobal, iProxy, iStage, iRoundTrip, iRead}},
		"a batch per span, children": {{iRead}, {iRoundTrip}, {iStage}, {iProxy}, {iGlobal}},
		"a batch per span, parents":  {{iGlobal}, {iProxy}, {iStage}, {iRoundTrip}, {iRead}},
		// The gateway's end order: the read tracker ends after its backend-request.
		"a batch per span, end order": {{iRoundTrip}, {iRead}, {iStage}, {iProxy}, {iGlobal}},
	}
	endOrder := []int{iRoundTrip, iRead, iStage, iProxy, iGlobal}
	parentsFirst := []int{iGlobal, iProxy, iStage, iRoundTrip, iRead}
	for k := 1; k < 5; k++ {
		o[fmt.Sprintf("end order split after %d", k)] = [][]int{endOrder[:k], endOrder[k:]}
		o[fmt.Sprintf("parents first split after %d", k)] = [][]int{parentsFirst[:k], parentsFirst[k:]}
	}
	return o
}

func TestTraceIntegrityForEveryCombinationOfSwitchesAndBatchings(t *testing.T) {
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	for _, sw := range allSwitchCombinations() {
		t.Run(sw.String(), func(t *testing.T) {
			for name, plan := range orders() {
				h := newHarness(t, sw.yaml())
				for _, td := range batches(src, plan) {
					h.consume(t, td)
				}
				msg := sw.String() + ", " + name
				// Every awaited parent arrived: nothing waits, nothing was given up.
				assert.Zero(t, h.metric(t, metricHeld), "%s: held", msg)
				changed := checkIntegrity(t, src, sinkSpans(h.sink), sw.kept, msg)
				assert.Equal(t, int64(changed), h.metric(t, metricReparented), "%s: re-parented count", msg)
				assert.Zero(t, h.metric(t, metricUnresolved), "%s: unresolved", msg)
				for _, td := range h.sink.AllTraces() {
					requireGatewayResourceAndScope(t, td)
				}
			}
		})
	}
}

func requireGatewayResourceAndScope(t *testing.T, td ptrace.Traces) {
	t.Helper()
	for _, rs := range td.ResourceSpans().All() {
		assert.Equal(t, "https://opentelemetry.io/schemas/1.21.0", rs.SchemaUrl())
		assert.Equal(t, "gw", strAttr(t, rs.Resource().Attributes(), "service.name"))
		for _, ss := range rs.ScopeSpans().All() {
			assert.Equal(t, layer.ScopeName, ss.Scope().Name())
			assert.NotZero(t, ss.Spans().Len(), "no empty scope handed on")
		}
	}
}

// Many requests of several endpoints, with per-endpoint and per-backend
// overrides, shuffled across batches in any order.
func TestTraceIntegrityWithOverridesAndShuffledBatches(t *testing.T) {
	users := gatewaydata.DefaultRequest // proxy off for this endpoint
	orders := gatewaydata.Request{Path: "/orders", EndpointRoute: "/orders", Method: "GET", BackendPattern: "/v1/orders", BackendHost: "orders:8080", Status: 200}
	items := gatewaydata.Request{Path: "/orders/7/items", EndpointRoute: "/orders/:id/items", Method: "GET", BackendPattern: "/v1/items/:id", BackendHost: "items:8080", Status: 200}
	search := gatewaydata.Request{Path: "/search", EndpointRoute: "/search", Method: "POST", BackendPattern: "/search", BackendHost: "search:8080", Status: 200}
	const yaml = `
skip_paths: ["/__health", "/orders/7/items"]
endpoints:
  - route: "/users/{id}"
    proxy: {disable_traces: true}
  - route: /search
    backend: {traces: {round_trip: false, read_payload: true}}
backends:
  - url_pattern: /v1/orders
    backend: {traces: {disable_stage: true}}
`
	kept := func(s ptrace.Span) bool {
		c := layer.ClassifySpan(s)
		a := s.Attributes()
		switch c {
		case layer.GlobalStage:
			return getStr(a, "url.full") != "/orders/7/items"
		case layer.ProxyStage:
			return getStr(a, "http.route") != "/users/:id"
		case layer.BackendStage:
			return getStr(a, "http.route") != "/v1/orders"
		case layer.BackendRoundTrip:
			return getStr(a, "krakend.endpoint.route") != "/search"
		}
		return true
	}
	for seed := uint64(1); seed <= 40; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		reqs := make([]gatewaydata.Request, 24)
		for i := range reqs {
			reqs[i] = []gatewaydata.Request{users, orders, items, search}[rng.IntN(4)]
		}
		src := gatewaydata.NewTraces("gw", 1, reqs...)
		n := src.SpanCount()
		perm := rng.Perm(n)
		var plan [][]int
		for len(perm) > 0 {
			k := min(1+rng.IntN(12), len(perm))
			plan = append(plan, perm[:k])
			perm = perm[k:]
		}
		h := newHarness(t, yaml)
		for _, td := range batches(src, plan) {
			h.consume(t, td)
		}
		msg := fmt.Sprintf("seed %d", seed)
		assert.Zero(t, h.metric(t, metricHeld), msg)
		assert.Zero(t, h.metric(t, metricUnresolved), msg)
		changed := checkIntegrity(t, src, sinkSpans(h.sink), kept, msg)
		assert.Equal(t, int64(changed), h.metric(t, metricReparented), msg)
	}
}

// Batches processed at once from several goroutines, as receivers do.
func TestTraceIntegrityUnderConcurrentBatches(t *testing.T) {
	reqs := make([]gatewaydata.Request, 200)
	for i := range reqs {
		reqs[i] = gatewaydata.DefaultRequest
	}
	src := gatewaydata.NewTraces("gw", 1, reqs...)
	sw := switches{globalOff: true, proxyOff: true, roundTripOff: true}
	h := newHarness(t, sw.yaml())
	// One batch per span, children first, dealt to four goroutines in turn.
	var plan [][]int
	for i := 0; i < src.SpanCount(); i++ {
		plan = append(plan, []int{i})
	}
	tds := batches(src, plan)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(tds); i += 4 {
				assert.NoError(t, h.proc.ConsumeTraces(context.Background(), tds[i]))
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, h.metric(t, metricHeld))
	checkIntegrity(t, src, sinkSpans(h.sink), sw.kept, "concurrent")
}

// A gateway that already leaves a layer out in-process: its stage span's
// parent is the global span, which this processor removes.
func TestAGatewayThatAlreadyLeftALayerOutIsReparentedWithinABatch(t *testing.T) {
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	spans := src.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	globalID := spans.At(iGlobal).SpanID()
	spans.At(iStage).SetParentSpanID(globalID)
	inProcess := batches(src, [][]int{{iRead, iRoundTrip, iStage, iGlobal}})[0]
	h := newHarness(t, "global: {disable_traces: true}")
	h.consume(t, batches(inProcess, [][]int{{0, 1, 2, 3}})[0])
	assert.Equal(t, []pcommon.SpanID{{}}, stageParents(h.sink.AllTraces()[0]), "the stage span becomes the root")
}

// --- skip paths ----------------------------------------------------------------

func TestSkipPathsRemoveWholeRequestsExceptTheGlobalSpanOfARawPath(t *testing.T) {
	t.Run("a route pattern removes all five spans: nothing to re-parent", func(t *testing.T) {
		h := newHarness(t, `skip_paths: ["/users/{id}"]`)
		h.consume(t, gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest))
		assert.Empty(t, sinkSpans(h.sink))
		assert.Zero(t, h.metric(t, metricReparented))
	})
	t.Run("a raw path removes only the global span: the proxy span becomes the root", func(t *testing.T) {
		h := newHarness(t, `skip_paths: ["/users/42"]`)
		h.consume(t, gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest))
		got := sinkSpans(h.sink)
		require.Len(t, got, 4)
		for _, s := range got {
			if layer.ClassifySpan(s) == layer.ProxyStage {
				assert.True(t, s.ParentSpanID().IsEmpty())
			}
		}
		assert.Equal(t, int64(1), h.metric(t, metricReparented))
	})
}

// A gateway that runs the same configuration already leaves the global span
// out: the proxy span's parent is then the caller's span, which its exporter
// marks remote (OTLP span flags). No span of the gateway can be that parent:
// nothing waits for it.
func TestASpanWhoseParentIsRemoteDoesNotWait(t *testing.T) {
	const remoteParent = 0x301 // sampled, has-is-remote, is-remote
	callerID := pcommon.SpanID{7, 7, 7}
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	inProcess := batches(src, [][]int{{iRead, iRoundTrip, iStage, iProxy}})[0]
	spans := inProcess.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.At(3).SetParentSpanID(callerID)
	spans.At(3).SetFlags(remoteParent)

	t.Run("a kept proxy span", func(t *testing.T) {
		h := newHarness(t, "global: {disable_traces: true}")
		td := ptrace.NewTraces()
		inProcess.CopyTo(td)
		h.consume(t, td)
		require.Equal(t, 4, h.sink.SpanCount(), "handed on at once")
		assert.Zero(t, h.metric(t, metricHeld))
		assert.Equal(t, callerID, findSpans(h.sink.AllTraces()[0], layer.ProxyStage)[0].ParentSpanID())
	})
	t.Run("a removed proxy span's child", func(t *testing.T) {
		h := newHarness(t, "global: {disable_traces: true}\nproxy: {disable_traces: true}")
		td := ptrace.NewTraces()
		inProcess.CopyTo(td)
		h.consume(t, td)
		require.Equal(t, 3, h.sink.SpanCount(), "handed on at once")
		assert.Zero(t, h.metric(t, metricHeld))
		assert.Equal(t, []pcommon.SpanID{callerID}, stageParents(h.sink.AllTraces()[0]))
	})
}

// A span's OTLP flags say whether its parent is remote (0x100: known,
// 0x200: remote). A span given a new parent takes what the removed span's
// flags say of that parent, the removed span's own parent.
func TestAReparentedSpanTakesTheRemoteFlagsOfItsNewParent(t *testing.T) {
	const (
		localParent   = 0x101 // sampled, has-is-remote
		remoteParent  = 0x301 // sampled, has-is-remote, is-remote
		unknownParent = 0x001 // sampled, nothing said
	)
	callerID := pcommon.SpanID{7, 7, 7}
	all := []int{iRead, iRoundTrip, iStage, iProxy, iGlobal}
	tests := []struct {
		name        string
		yaml        string
		globalFlags uint32 // the global span's parent is the caller's span
		plan        [][]int
		child       layer.Class
		wantParent  func(src ptrace.Traces) pcommon.SpanID
		wantFlags   uint32
	}{
		{
			name: "to a remote parent, in one batch", yaml: "global: {disable_traces: true}",
			globalFlags: remoteParent, plan: [][]int{all}, child: layer.ProxyStage,
			wantParent: func(ptrace.Traces) pcommon.SpanID { return callerID }, wantFlags: remoteParent,
		},
		{
			name: "to a remote parent, the removed span in an earlier batch", yaml: "global: {disable_traces: true}",
			globalFlags: remoteParent, plan: [][]int{{iGlobal}, {iRead, iRoundTrip, iStage, iProxy}}, child: layer.ProxyStage,
			wantParent: func(ptrace.Traces) pcommon.SpanID { return callerID }, wantFlags: remoteParent,
		},
		{
			name: "to a remote parent, the child held until the removed span came", yaml: "global: {disable_traces: true}",
			globalFlags: remoteParent, plan: [][]int{{iRead, iRoundTrip, iStage, iProxy}, {iGlobal}}, child: layer.ProxyStage,
			wantParent: func(ptrace.Traces) pcommon.SpanID { return callerID }, wantFlags: remoteParent,
		},
		{
			name: "to a local parent, in one batch", yaml: "proxy: {disable_traces: true}",
			globalFlags: remoteParent, plan: [][]int{all}, child: layer.BackendStage,
			wantParent: func(src ptrace.Traces) pcommon.SpanID { return gatewaydataSpanID(t, src, iGlobal) }, wantFlags: localParent,
		},
		{
			name: "to a local parent, the child held until the removed span came", yaml: "proxy: {disable_traces: true}",
			globalFlags: remoteParent, plan: [][]int{{iRead, iRoundTrip, iStage}, {iProxy, iGlobal}}, child: layer.BackendStage,
			wantParent: func(src ptrace.Traces) pcommon.SpanID { return gatewaydataSpanID(t, src, iGlobal) }, wantFlags: localParent,
		},
		{
			name: "to a parent the removed span's exporter said nothing of", yaml: "global: {disable_traces: true}",
			globalFlags: unknownParent, plan: [][]int{all}, child: layer.ProxyStage,
			wantParent: func(ptrace.Traces) pcommon.SpanID { return callerID }, wantFlags: unknownParent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
			spans := src.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			for _, s := range spans.All() {
				s.SetFlags(localParent)
			}
			spans.At(iGlobal).SetParentSpanID(callerID)
			spans.At(iGlobal).SetFlags(tt.globalFlags)
			h := newHarness(t, tt.yaml)
			for _, td := range batches(src, tt.plan) {
				h.consume(t, td)
			}
			assert.Zero(t, h.metric(t, metricHeld))
			var got []ptrace.Span
			for _, td := range h.sink.AllTraces() {
				got = append(got, findSpans(td, tt.child)...)
			}
			require.Len(t, got, 1)
			assert.Equal(t, tt.wantParent(src), got[0].ParentSpanID())
			assert.Equal(t, fmt.Sprintf("%#x", tt.wantFlags), fmt.Sprintf("%#x", got[0].Flags()))
		})
	}
}

// --- bounds, shutdown, and a child after its parent ------------------------------

// orphanStage returns request n's backend stage span and its children: with
// the proxy off, the stage waits for a proxy span that never comes.
func orphanStage(n uint64) ptrace.Traces {
	return batches(gatewaydata.NewTraces("gw", n, gatewaydata.DefaultRequest), [][]int{{iRead, iRoundTrip, iStage}})[0]
}

func stageParents(td ptrace.Traces) []pcommon.SpanID {
	var out []pcommon.SpanID
	for _, s := range allSpans(td) {
		if layer.ClassifySpan(s) == layer.BackendStage {
			out = append(out, s.ParentSpanID())
		}
	}
	return out
}

func TestMaxWaitReleasesHeldSpansAsTheyAre(t *testing.T) {
	h := newHarness(t, "proxy: {disable_traces: true}\nreparent: {max_wait: 1s}")
	src := orphanStage(1)
	wantParent := stageParents(src)[0]
	h.consume(t, src)
	assert.Equal(t, []string{cRP, cRT}, spanClasses(h.sink.AllTraces()[0]), "the stage span waits; its children, whose parent is known kept, do not")
	assert.Equal(t, int64(1), h.metric(t, metricHeld))

	h.clock.Advance(time.Second)
	require.Eventually(t, func() bool { return h.sink.SpanCount() == 3 }, 10*time.Second, 5*time.Millisecond,
		"the expiry goroutine hands on the stage span once max_wait passed")
	last := h.sink.AllTraces()[len(h.sink.AllTraces())-1]
	assert.Equal(t, []pcommon.SpanID{wantParent}, stageParents(last), "released as it is")
	requireGatewayResourceAndScope(t, last)
	assert.Equal(t, int64(1), h.metric(t, metricUnresolved, reason("max_wait")))
	assert.Zero(t, h.metric(t, metricHeld))
	assert.Zero(t, h.metric(t, metricReparented))
}

func TestMaxWaitIsAlsoEnforcedByTheNextBatch(t *testing.T) {
	// No Start: no expiry goroutine; the next batch releases what expired.
	f := newFilter(t, "proxy: {disable_traces: true}\nreparent: {max_wait: 1s}", "traces")
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f.reparent.now = clock.Now
	out, err := f.processTraces(t.Context(), orphanStage(1))
	require.NoError(t, err)
	assert.Empty(t, stageParents(out))
	clock.Advance(time.Second)
	out, err = f.processTraces(t.Context(), orphanStage(2))
	require.NoError(t, err)
	assert.Len(t, stageParents(out), 1, "request 1's stage span, released; request 2's now waits")
}

func TestMaxSpansReleasesTheOldestAsItIs(t *testing.T) {
	h := newHarness(t, "proxy: {disable_traces: true}\nreparent: {max_spans: 2}")
	first := orphanStage(1)
	wantParent := stageParents(first)[0]
	h.consume(t, first)
	h.consume(t, orphanStage(2))
	assert.Equal(t, int64(2), h.metric(t, metricHeld))
	h.consume(t, orphanStage(3))
	last := h.sink.AllTraces()[2]
	assert.Equal(t, []pcommon.SpanID{wantParent}, stageParents(last), "the oldest leaves with the batch that overflowed, as it is")
	assert.Equal(t, int64(1), h.metric(t, metricUnresolved, reason("max_spans")))
	assert.Equal(t, int64(2), h.metric(t, metricHeld))
}

func TestShutdownHandsOnEverythingHeld(t *testing.T) {
	h := newHarness(t, "proxy: {disable_traces: true}")
	for n := uint64(1); n <= 3; n++ {
		h.consume(t, orphanStage(n))
	}
	assert.Equal(t, 6, h.sink.SpanCount())
	assert.Equal(t, int64(3), h.metric(t, metricHeld))
	require.NoError(t, h.proc.Shutdown(context.Background()))
	assert.Equal(t, 9, h.sink.SpanCount(), "nothing lost")
	last := h.sink.AllTraces()[len(h.sink.AllTraces())-1]
	assert.Len(t, stageParents(last), 3)
	requireGatewayResourceAndScope(t, last)
	assert.Equal(t, int64(3), h.metric(t, metricUnresolved, reason("shutdown")))
	assert.Zero(t, h.metric(t, metricHeld))
}

// --- a refusal downstream -------------------------------------------------------

// A held span handed on with a later batch was accepted with an earlier
// one: when the next consumer refuses the later batch, its sender retries
// that batch only, so the held span must stay with this processor.
func TestHeldSpansHandedOnWithARefusedBatchAreNotLost(t *testing.T) {
	sw := switches{proxyOff: true}
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	children := []int{iRead, iRoundTrip, iStage}
	parents := []int{iProxy, iGlobal}

	t.Run("the sender retries the refused batch", func(t *testing.T) {
		h := newHarness(t, sw.yaml())
		h.consume(t, batches(src, [][]int{children})[0])
		require.Equal(t, int64(1), h.metric(t, metricHeld), "the stage span waits for the proxy span")
		h.refuse.refuseNext(1)
		require.ErrorIs(t, h.proc.ConsumeTraces(context.Background(), batches(src, [][]int{parents})[0]), errRefused,
			"the sender learns that its batch was refused")
		h.consume(t, batches(src, [][]int{parents})[0])
		checkIntegrity(t, src, sinkSpans(h.sink), sw.kept, "after the retry")
		assert.Zero(t, h.metric(t, metricHeld))
		assert.Equal(t, int64(1), h.metric(t, metricReparented), "counted once")
	})
	t.Run("the refused batch was read-only: the held span is copied back", func(t *testing.T) {
		h := newHarness(t, sw.yaml())
		h.refuse.readOnly = true
		h.consume(t, batches(src, [][]int{children})[0])
		h.refuse.refuseNext(1)
		require.ErrorIs(t, h.proc.ConsumeTraces(context.Background(), batches(src, [][]int{parents})[0]), errRefused)
		h.consume(t, batches(src, [][]int{parents})[0])
		checkIntegrity(t, src, sinkSpans(h.sink), sw.kept, "after the retry")
		assert.Zero(t, h.metric(t, metricHeld))
	})
	t.Run("the sender gives up: the held span leaves with the next batch", func(t *testing.T) {
		h := newHarness(t, sw.yaml())
		h.consume(t, batches(src, [][]int{children})[0])
		h.refuse.refuseNext(1)
		require.ErrorIs(t, h.proc.ConsumeTraces(context.Background(), batches(src, [][]int{parents})[0]), errRefused)
		assert.Equal(t, int64(1), h.metric(t, metricHeld), "taken back")
		h.consume(t, gatewaydata.NewTraces("gw", 2, gatewaydata.DefaultRequest))
		got := stageParents(h.sink.AllTraces()[len(h.sink.AllTraces())-1])
		assert.Contains(t, got, gatewaydataSpanID(t, src, iGlobal), "request 1's stage span, re-parented to its global span")
		assert.Len(t, got, 2)
		assert.Zero(t, h.metric(t, metricHeld))
	})
	t.Run("the expiry task is refused: it tries again", func(t *testing.T) {
		h := newHarness(t, sw.yaml()+"reparent: {max_wait: 1s}\n")
		h.consume(t, batches(src, [][]int{children})[0])
		h.refuse.refuseNext(1)
		h.clock.Advance(time.Second)
		require.Eventually(t, func() bool { return h.sink.SpanCount() == 3 }, 10*time.Second, 5*time.Millisecond,
			"handed on by a later run of the expiry task")
		assert.Equal(t, 1, h.refuse.refusals())
		assert.Zero(t, h.metric(t, metricHeld))
		assert.Equal(t, int64(1), h.metric(t, metricUnresolved, reason("max_wait")), "counted once")
	})
}

// The spans a refused batch put into the hold are its sender's: it sends
// them again, and they must not be handed on twice.
func TestSpansHeldFromARefusedBatchAreLetGo(t *testing.T) {
	sw := switches{proxyOff: true}
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	children := []int{iRead, iRoundTrip, iStage}
	h := newHarness(t, sw.yaml())
	h.refuse.refuseNext(1)
	require.ErrorIs(t, h.proc.ConsumeTraces(context.Background(), batches(src, [][]int{children})[0]), errRefused)
	assert.Zero(t, h.metric(t, metricHeld), "the stage span is its sender's again")
	h.consume(t, batches(src, [][]int{children})[0])
	h.consume(t, batches(src, [][]int{{iProxy, iGlobal}})[0])
	checkIntegrity(t, src, sinkSpans(h.sink), sw.kept, "after the retry")
	assert.Zero(t, h.metric(t, metricHeld))
}

// --- a batch still in flight ---------------------------------------------------

// gatedConsumer holds back the first delivery it is given until let is
// closed, then refuses it or hands it on to next; every other delivery goes
// to next at once.
type gatedConsumer struct {
	next    consumer.Traces
	refuse  bool
	arrived chan struct{} // closed when the first delivery arrives
	let     chan struct{}
	mu      sync.Mutex
	used    bool
}

func (c *gatedConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *gatedConsumer) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	c.mu.Lock()
	first := !c.used
	c.used = true
	c.mu.Unlock()
	if !first {
		return c.next.ConsumeTraces(ctx, td)
	}
	close(c.arrived)
	<-c.let
	if c.refuse {
		return errRefused
	}
	return c.next.ConsumeTraces(ctx, td)
}

// A span held by a batch belongs to that batch's sender until the next
// consumer has decided on the batch: if it refuses the batch, the sender
// sends it again, span included. So while the batch is in flight nothing
// may hand the span on: neither a batch that brings its parent, nor the
// expiry task, nor max_spans, nor shutdown. Whatever the outcome, each span
// reaches the sink (which sees accepted deliveries only) exactly once.
func TestASpanHeldByABatchInFlightIsHandedOnOnce(t *testing.T) {
	sw := switches{proxyOff: true}
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	children := func() ptrace.Traces { return batches(src, [][]int{{iRead, iRoundTrip, iStage}})[0] }
	parents := func() ptrace.Traces { return batches(src, [][]int{{iProxy, iGlobal}})[0] }
	for _, tc := range []struct {
		name, yaml string
		// during runs while the children's batch is in flight, its stage
		// span held; it sends the parents, or another batch (extra).
		during      func(t *testing.T, h *harness)
		sentParents bool
		extra       func() ptrace.Traces
	}{
		{
			name:        "a batch brings its parent",
			during:      func(t *testing.T, h *harness) { h.consume(t, parents()) },
			sentParents: true,
		},
		{
			name: "the expiry task runs past max_wait",
			yaml: "reparent: {max_wait: 1s}\n",
			during: func(t *testing.T, h *harness) {
				h.clock.Advance(time.Second)
				require.NoError(t, h.proc.(*holdingTraces).hold.flush(context.Background(), false))
			},
		},
		{
			name:   "another batch overflows max_spans",
			yaml:   "reparent: {max_spans: 1}\n",
			during: func(t *testing.T, h *harness) { h.consume(t, orphanStage(2)) },
			extra:  func() ptrace.Traces { return orphanStage(2) },
		},
		{
			name:   "the processor shuts down",
			during: func(t *testing.T, h *harness) { require.NoError(t, h.proc.Shutdown(context.Background())) },
		},
	} {
		for _, refused := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, the batch refused: %t", tc.name, refused), func(t *testing.T) {
				h := newHarness(t, sw.yaml()+tc.yaml)
				gate := &gatedConsumer{next: h.sink, refuse: refused, arrived: make(chan struct{}), let: make(chan struct{})}
				h.refuse.next = gate // before any batch
				errs := make(chan error, 1)
				go func() { errs <- h.proc.ConsumeTraces(context.Background(), children()) }()
				<-gate.arrived
				tc.during(t, h)
				close(gate.let)
				if err := <-errs; refused {
					require.ErrorIs(t, err, errRefused)
					// Its sender sends the batch again, as it came.
					require.NoError(t, h.proc.ConsumeTraces(context.Background(), children()))
				} else {
					require.NoError(t, err)
				}
				if !tc.sentParents {
					h.consume(t, parents())
				}
				require.NoError(t, h.proc.Shutdown(context.Background()))

				// Every kept span, by class and request, with how many times
				// it was handed on.
				want := map[spanKey]string{}
				for _, s := range allSpans(src) {
					if sw.kept(s) {
						want[spanKey{s.TraceID(), s.SpanID()}] = "request 1 " + layer.ClassifySpan(s).String()
					}
				}
				if tc.extra != nil {
					for _, s := range allSpans(tc.extra()) {
						want[spanKey{s.TraceID(), s.SpanID()}] = "request 2 " + layer.ClassifySpan(s).String()
					}
				}
				got := map[spanKey]int{}
				for _, s := range sinkSpans(h.sink) {
					got[spanKey{s.TraceID(), s.SpanID()}]++
				}
				var wrong []string
				for k, name := range want {
					if got[k] != 1 {
						wrong = append(wrong, fmt.Sprintf("%s handed on %d times", name, got[k]))
					}
				}
				assert.Empty(t, wrong, "each kept span handed on once")
				assert.Len(t, got, len(want), "no other span handed on")
				assert.Zero(t, h.metric(t, metricHeld))
				if tc.sentParents {
					checkIntegrity(t, src, sinkSpans(h.sink), sw.kept, "after the batch in flight")
					assert.Equal(t, int64(1), h.metric(t, metricReparented), "counted once")
				}
			})
		}
	}
}

// Nothing releases a span held after shutdown (the expiry task has
// stopped): a batch that comes then is handed on whole, as if its spans'
// wait had run out.
func TestABatchAfterShutdownIsHandedOnWithoutWaiting(t *testing.T) {
	h := newHarness(t, "proxy: {disable_traces: true}")
	require.NoError(t, h.proc.Shutdown(context.Background()))
	src := orphanStage(1)
	wantParent := stageParents(src)[0]
	h.consume(t, src)
	require.Equal(t, 3, h.sink.SpanCount(), "the stage span is handed on at once")
	assert.Equal(t, []pcommon.SpanID{wantParent}, stageParents(h.sink.AllTraces()[0]), "as it is")
	assert.Zero(t, h.metric(t, metricHeld))
	assert.Equal(t, int64(1), h.metric(t, metricUnresolved, reason("shutdown")))
}

func TestAChildAfterItsRemovedParentIsReparentedWithoutWaiting(t *testing.T) {
	// The read tracker ends after its backend-request: with round_trip off,
	// the removed parent may come first, in an earlier batch.
	h := newHarness(t, "backend: {traces: {round_trip: false, read_payload: true}}")
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	bs := batches(src, [][]int{{iRoundTrip, iStage, iProxy, iGlobal}, {iRead}})
	h.consume(t, bs[0])
	h.consume(t, bs[1])
	require.Len(t, h.sink.AllTraces(), 2)
	rt := findSpans(h.sink.AllTraces()[1], layer.BackendReadPayload)
	require.Len(t, rt, 1, "handed on with its own batch")
	stage := findSpans(h.sink.AllTraces()[0], layer.BackendStage)[0]
	assert.Equal(t, stage.SpanID(), rt[0].ParentSpanID())
	assert.Zero(t, h.metric(t, metricHeld))
	assert.Equal(t, int64(1), h.metric(t, metricReparented))
}

func TestRemovedParentsAreForgottenAfterMaxWait(t *testing.T) {
	f := newFilter(t, "backend: {traces: {round_trip: false}}\nreparent: {max_wait: 1s}", "traces")
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	f.reparent.now = clock.Now
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	bs := batches(src, [][]int{{iRoundTrip}, {iRead}})
	_, _ = f.processTraces(t.Context(), bs[0])
	assert.Len(t, f.reparent.removed, 1)
	clock.Advance(time.Second)
	out, err := f.processTraces(t.Context(), bs[1])
	require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData, "nothing left to hand on")
	assert.Empty(t, f.reparent.removed)
	assert.Equal(t, 0, out.SpanCount(), "the read tracker now waits for a parent it no longer knows")
}

func TestMaxRemovedBoundsTheRecordOfRemovedSpans(t *testing.T) {
	f := newFilter(t, "backend: {traces: {round_trip: false}}\nreparent: {max_removed: 3}", "traces")
	for n := uint64(1); n <= 10; n++ {
		_, _ = f.processTraces(t.Context(), gatewaydata.NewTraces("gw", n, gatewaydata.DefaultRequest))
	}
	assert.Len(t, f.reparent.removed, 3)
}

func TestWithinBatchOnlyHoldsNothing(t *testing.T) {
	h := newHarness(t, "proxy: {disable_traces: true}\nreparent: {max_wait: 0s}")
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	for _, td := range batches(src, [][]int{{iRead, iRoundTrip, iStage}, {iProxy, iGlobal}}) {
		h.consume(t, td)
	}
	assert.Equal(t, 4, h.sink.SpanCount(), "nothing held")
	assert.Zero(t, h.metric(t, metricHeld))
	// The stage span kept the removed proxy's ID: across batches it is an orphan.
	assert.Equal(t, []pcommon.SpanID{gatewaydataSpanID(t, src, iProxy)}, stageParents(h.sink.AllTraces()[0]))

	h2 := newHarness(t, "proxy: {disable_traces: true}\nreparent: {max_wait: 0s}")
	h2.consume(t, batches(src, [][]int{{iRead, iRoundTrip, iStage, iProxy, iGlobal}})[0])
	checkIntegrity(t, src, sinkSpans(h2.sink), switches{proxyOff: true}.kept, "one batch")
}

func gatewaydataSpanID(t *testing.T, td ptrace.Traces, i int) pcommon.SpanID {
	t.Helper()
	return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(i).SpanID()
}

func TestReparentingOffLeavesChildrenPointingAtRemovedSpans(t *testing.T) {
	h := newHarness(t, "proxy: {disable_traces: true}\nreparent: {enabled: false}")
	src := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	proxyID := gatewaydataSpanID(t, src, iProxy)
	h.consume(t, src)
	assert.Equal(t, []pcommon.SpanID{proxyID}, stageParents(h.sink.AllTraces()[0]))
}

// --- the common path pays nothing ------------------------------------------------

func TestOnlyPoliciesThatMayOrphanASpanPayForReparenting(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want bool
	}{
		{"the default config", "", false},
		{"detailed_connection off (a span's attributes, not a span)", "backend: {traces: {detailed_connection: false}}", false},
		{"metrics switches", "global: {disable_metrics: true}\nbackend: {metrics: {disable_stage: true, round_trip: false}}", false},
		{"read_payload off (the read tracker is a leaf)", "backend: {traces: {read_payload: false}}", false},
		{"header and static attribute settings", "proxy: {report_headers: false, traces_static_attributes: {a: b}}", false},
		{"re-parenting off", "proxy: {disable_traces: true}\nreparent: {enabled: false}", false},
		{"global traces off", "global: {disable_traces: true}", true},
		{"proxy traces off", "proxy: {disable_traces: true}", true},
		{"disable_stage", "backend: {traces: {disable_stage: true}}", true},
		{"round_trip off", "backend: {traces: {round_trip: false}}", true},
		{"proxy off for one endpoint", "endpoints: [{route: /a, proxy: {disable_traces: true}}]", true},
		{"round trip off for one backend", "backends: [{url_pattern: /a, backend: {traces: {round_trip: false}}}]", true},
		{"skip paths (a raw path may remove only the global span)", "skip_paths: [/__health]", true},
		{"one service policy that may orphan", "services: [{service_name: a, proxy: {disable_traces: true}}]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFilter(t, tt.yaml, "traces")
			assert.Equal(t, tt.want, f.reparent != nil)
			assert.Nil(t, newFilter(t, tt.yaml, "metrics").reparent, "metrics never re-parent")
		})
	}
}

func TestAKeptSpanWaitsOnlyWhenItsParentMayBeRemoved(t *testing.T) {
	orders := gatewaydata.Request{Path: "/orders", EndpointRoute: "/orders", Method: "GET", BackendPattern: "/v1/orders", BackendHost: "o:1", Status: 200}
	tests := []struct {
		name string
		yaml string
		req  gatewaydata.Request
		span int
		want bool
	}{
		{"a proxy span, global on, no skip paths", "backend: {traces: {disable_stage: true}}", gatewaydata.DefaultRequest, iProxy, false},
		{"a proxy span, global off", "global: {disable_traces: true}", gatewaydata.DefaultRequest, iProxy, true},
		{"a proxy span of a parametrised route a raw skip path could match", "skip_paths: [/users/42]", gatewaydata.DefaultRequest, iProxy, true},
		{"a proxy span of a route no skip path can match", "skip_paths: [/__health, /__debug/*p]", gatewaydata.DefaultRequest, iProxy, false},
		{"a proxy span of a literal route", "skip_paths: [/users/42]", orders, iProxy, false},
		{"a stage span, its endpoint's proxy off", "endpoints: [{route: /users/:id, proxy: {disable_traces: true}}]", gatewaydata.DefaultRequest, iStage, true},
		{"a stage span, another endpoint's proxy off", "endpoints: [{route: /users/:id, proxy: {disable_traces: true}}]", orders, iStage, false},
		{"a backend-request span, its backend's stage off", "backends: [{url_pattern: /v1/orders, backend: {traces: {disable_stage: true}}}]", orders, iRoundTrip, true},
		{"a backend-request span, another backend's stage off", "backends: [{url_pattern: /v1/orders, backend: {traces: {disable_stage: true}}}]", gatewaydata.DefaultRequest, iRoundTrip, false},
		{"a read tracker, round trip off", "backend: {traces: {round_trip: false}}", gatewaydata.DefaultRequest, iRead, true},
		{"a read tracker, stage off", "backend: {traces: {disable_stage: true}}", gatewaydata.DefaultRequest, iRead, false},
		{"a global span never waits", "global: {disable_traces: true}\nproxy: {disable_traces: true}", gatewaydata.DefaultRequest, iGlobal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFilter(t, tt.yaml, "traces")
			s := gatewaydata.NewTraces("gw", 1, tt.req).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(tt.span)
			assert.Equal(t, tt.want, f.def.parentMayBeRemoved(layer.ClassifySpan(s), s.Attributes()))
		})
	}
}

func TestSkipPatternMayMatchAnInstanceOfARoute(t *testing.T) {
	tests := []struct {
		pattern, route string
		want           bool
	}{
		{"/users/42", "/users/:id", true},
		{"/users/42", "/users/{id}", true},
		{"/users/42", "/orders/:id", false},
		{"/users/42", "/users/:id/items", false},
		{"/__health", "/users/:id", false},
		{"/__health", "/:tenant", true},
		{"/__debug/*p", "/users/:id", false},
		{"/__debug/*p", "/:a/:b", true},
		{"/users/{id}", "/users/me", true},
		{"/users/{id}", "/users/*rest", true},
		{"/a/b", "/a/*rest", true},
		{"/a", "/a/", false},
		{"/users", "/users", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" against "+tt.route, func(t *testing.T) {
			assert.Equal(t, tt.want, compileSkipPaths([]string{tt.pattern}).mayMatchInstance(tt.route))
		})
	}
}
