package samplingprocessor

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

// randomTraceIDs returns n trace IDs from a fixed seed, so every run tests
// the same set.
func randomTraceIDs(n int, seed uint64) []pcommon.TraceID {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ids := make([]pcommon.TraceID, n)
	for i := range ids {
		binary.BigEndian.PutUint64(ids[i][0:8], r.Uint64())
		binary.BigEndian.PutUint64(ids[i][8:16], r.Uint64())
	}
	return ids
}

func spanIDOf(trace, n int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint32(id[0:4], uint32(trace)+1)
	binary.BigEndian.PutUint32(id[4:8], uint32(n)+1)
	return id
}

// gatewaySpan is one of the five spans KrakenD records per request
// (DESIGN.md section 2), ready to be appended to any batch.
type gatewaySpan struct {
	trace int // index of its trace
	n     int // 0 global … 4 read tracker
}

// krakendRequest describes one request through the gateway.
type krakendRequest struct {
	traceID    pcommon.TraceID
	route      string // endpoint pattern, colon form
	backend    string // backend url_pattern, colon form
	tracestate string
	// remoteParent gives the global span a parent, as when a client sent a
	// traceparent.
	remoteParent bool
}

// appendKrakenDSpan fills span n (0..4) of request r: global Server span,
// proxy, backend stage, backend-request and read tracker, with their
// attribute sets.
func appendKrakenDSpan(spans ptrace.SpanSlice, trace int, r krakendRequest, n int) ptrace.Span {
	s := spans.AppendEmpty()
	s.SetTraceID(r.traceID)
	s.SetSpanID(spanIDOf(trace, n))
	if n > 0 {
		s.SetParentSpanID(spanIDOf(trace, n-1))
	} else if r.remoteParent {
		s.SetParentSpanID(pcommon.SpanID{0xcc, 1, 2, 3, 4, 5, 6, 7})
	}
	s.TraceState().FromRaw(r.tracestate)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(trace) * time.Millisecond)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(n) * time.Microsecond)))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(50-n) * time.Millisecond)))
	a := s.Attributes()
	backendAttrs := func() {
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", r.backend)
		a.PutStr(endpointRouteKey, r.route)
		a.PutStr("krakend.endpoint.method", "GET")
	}
	switch n {
	case 0:
		s.SetName("/orders/42")
		s.SetKind(ptrace.SpanKindServer)
		a.PutStr(layer.StageKey, layer.StageGlobal)
		a.PutStr("url.full", "/orders/42?expand=items")
		a.PutStr("server.address", "api.example.com")
		a.PutStr("http.request.method", "GET")
		a.PutStr("user_agent.original", "curl/8.5.0")
		a.PutStr("client.address", "10.0.0.7")
		a.PutStr("http.route", r.route)
		a.PutInt("http.response.status_code", 200)
		a.PutInt("http.response.body.size", 1234)
	case 1:
		s.SetName(r.route)
		s.SetKind(ptrace.SpanKindInternal)
		a.PutStr(layer.StageKey, layer.StageProxy)
		a.PutStr("http.request.method", "GET")
		a.PutStr("http.route", r.route)
		a.PutInt("http.response.status_code", 200)
		a.PutBool("complete", true)
	case 2:
		s.SetName(r.backend)
		s.SetKind(ptrace.SpanKindInternal)
		a.PutStr(layer.StageKey, layer.StageBackend)
		backendAttrs()
		a.PutInt("http.response.status_code", 200)
		a.PutBool("complete", true)
	case 3:
		s.SetName(r.backend)
		s.SetKind(ptrace.SpanKindClient)
		a.PutStr(layer.StageKey, layer.StageBackendRequest)
		backendAttrs()
		a.PutStr("url.full", "http://orders.internal:8080/v1/orders/42")
		a.PutStr("server.address", "orders.internal")
		a.PutStr("user_agent.original", "KrakenD Version 2.13.0")
		a.PutInt("http.response.status_code", 200)
		a.PutInt("http.response.body.size", 1234)
		a.PutDouble("response-duration", 0.012)
		a.PutDouble("get-conn-duration", 0.0001)
		a.PutDouble("dns-duration", 0)
		a.PutDouble("tls-duration", 0)
	case 4:
		s.SetName(layer.ReadTrackerSpanName)
		s.SetKind(ptrace.SpanKindInternal)
		a.PutStr(layer.StageKey, layer.StageBackendRequest)
		backendAttrs()
		a.PutStr("url.full", "http://orders.internal:8080/v1/orders/42")
		a.PutStr("server.address", "orders.internal")
		a.PutInt("http.client.response.read.size", 1234)
		a.PutDouble("http.client.response.read.time", 0.0003)
	}
	return s
}

// newGatewayTraces starts a batch the way KrakenD exports it: one resource,
// the gateway's scope.
func newGatewayTraces() (ptrace.Traces, ptrace.SpanSlice) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
	rs.Resource().Attributes().PutStr("service.name", "krakend-gateway")
	rs.Resource().Attributes().PutStr("service.version", "2.13.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(layer.ScopeName)
	return td, ss.Spans()
}

// krakendBatch puts every span of the given requests into one batch, in
// request order.
func krakendBatch(reqs []krakendRequest) ptrace.Traces {
	td, spans := newGatewayTraces()
	for i, r := range reqs {
		for n := range 5 {
			appendKrakenDSpan(spans, i, r, n)
		}
	}
	return td
}

// shuffledBatches spreads the spans of the requests over batches of random
// sizes in a random order (seeded), as an SDK's batch span processor and a
// collector's batch processor might.
func shuffledBatches(reqs []krakendRequest, seed uint64, maxBatch int) []ptrace.Traces {
	r := rand.New(rand.NewPCG(seed, 7))
	items := make([]gatewaySpan, 0, 5*len(reqs))
	for i := range reqs {
		for n := range 5 {
			items = append(items, gatewaySpan{trace: i, n: n})
		}
	}
	r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	var out []ptrace.Traces
	for len(items) > 0 {
		size := min(1+r.IntN(maxBatch), len(items))
		td, spans := newGatewayTraces()
		for _, it := range items[:size] {
			appendKrakenDSpan(spans, it.trace, reqs[it.trace], it.n)
		}
		out = append(out, td)
		items = items[size:]
	}
	return out
}

func requestsFor(ids []pcommon.TraceID, routes ...string) []krakendRequest {
	if len(routes) == 0 {
		routes = []string{"/orders/:id"}
	}
	reqs := make([]krakendRequest, len(ids))
	for i, id := range ids {
		reqs[i] = krakendRequest{traceID: id, route: routes[i%len(routes)], backend: "/v1/orders/:id", remoteParent: i%3 == 0}
	}
	return reqs
}

// newTestTracesProcessor builds the bare processing function, without the
// processorhelper wrapper, for tests and benchmarks of the hot path.
func newTestTracesProcessor(tb testing.TB, cfg *Config) *tracesProcessor {
	tb.Helper()
	require.NoError(tb, cfg.Validate())
	s, err := newSampler(componenttest.NewNopTelemetrySettings(), cfg)
	require.NoError(tb, err)
	return &tracesProcessor{sampler: s}
}

func newConfig(pct float64, mode Mode, routes map[string]float64) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.SamplingPercentage = pct
	cfg.Mode = mode
	cfg.Routes = routes
	return cfg
}

// keptSpans runs batches through the full component and counts the spans
// kept per trace ID.
func keptSpans(t *testing.T, cfg *Config, batches []ptrace.Traces) map[pcommon.TraceID]int {
	t.Helper()
	sink := new(traceCountingSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	for _, td := range batches {
		require.NoError(t, p.ConsumeTraces(context.Background(), td))
	}
	require.NoError(t, p.Shutdown(context.Background()))
	return sink.countByTrace()
}

type traceCountingSink struct {
	consumertest.TracesSink
}

func (s *traceCountingSink) countByTrace() map[pcommon.TraceID]int {
	out := map[pcommon.TraceID]int{}
	for _, td := range s.AllTraces() {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					out[spans.At(k).TraceID()]++
				}
			}
		}
	}
	return out
}
