package layerfilterprocessor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

// fuzzConfigs are demanding configurations: skip paths of every kind,
// endpoint and backend overrides that remove parents, static attributes,
// header stripping and redaction, a service policy, and re-parenting that
// holds spans in a hold small enough that max_spans evicts. The first has
// the destination names on, the second off with unsampled_traces, so that
// both ways of writing the static attributes run.
var fuzzConfigs = []string{`
skip_paths: ["/__health", "/__debug/*param", "/users/42", "/items/{id}"]
global: {traces_static_attributes: {env: prod}, metrics_static_attributes: {env: prod}, skip_headers: [accept]}
proxy: {report_headers: false, traces_static_attributes: {tier: edge}}
backend:
  traces: {detailed_connection: false, static_attributes: {team: core}, skip_headers: [x-request-id]}
  metrics: {detailed_connection: false, static_attributes: {team: core}}
endpoints:
  - route: "/users/{id}"
    proxy: {disable_traces: true, disable_metrics: true}
    global: {traces_static_attributes: {owner: users}}
  - route: "/orders"
    method: POST
    backend: {traces: {round_trip: false}}
backends:
  - url_pattern: "/v1/orders/{id}/items"
    backend: {traces: {read_payload: false, disable_stage: true}, metrics: {round_trip: false}}
  - endpoint: "/catalog/search"
    url_pattern: "/search"
    backend: {traces: {round_trip: false, read_payload: false}}
redact_headers: [authorization, cookie, x-api-key, set-cookie]
services:
  - service_name: legacy
    skip_paths: ["/__health"]
    global: {disable_traces: true}
    backend: {traces: {disable_stage: true}}
reparent: {enabled: true, max_wait: 1s, max_spans: 4, max_removed: 8}
destination_names: {enabled: true, url_scheme: https}
`, `
skip_paths: ["/__health", "/users/{id}"]
global: {disable_traces: true, traces_static_attributes: {env: prod}}
proxy: {traces_static_attributes: {tier: edge}}
backend:
  traces: {round_trip: false, static_attributes: {team: core}}
redact_headers: [authorization]
reparent: {enabled: true, max_wait: 1s, max_spans: 3, max_removed: 4}
destination_names: {enabled: false}
unsampled_traces: {sdk_parity_percentage: 25}
`}

// fuzzMaxSpans bounds an input, so that an execution stays well under a
// millisecond or two.
const fuzzMaxSpans = 256

// FuzzTraces runs decoded OTLP through the traces processor as the
// collector does, with a hold (re-parenting with max_wait), in one to
// three batches, possibly refused once each by the next consumer and
// resent, then shuts it down. The plan's bits choose the split (0-1), the
// configuration (2), how far the clock moves between batches (3-4) and
// which batches are refused once (5-7).
//
// Invariants: no panic; every span handed on is an input span, none is
// handed on twice; after shutdown exactly the spans the policy keeps (as
// the same configuration without re-parenting keeps them) have been handed
// on: nothing is lost in the hold; every batch handed on marshals.
func FuzzTraces(f *testing.F) {
	cfgs := make([]*Config, len(fuzzConfigs))
	refs := make([]*Config, len(fuzzConfigs))
	for i, y := range fuzzConfigs {
		cfgs[i] = loadConfig(f, y)
		ref := *cfgs[i]
		ref.Reparent.Enabled = false
		refs[i] = &ref
	}
	for _, td := range fuzzTraceSeeds() {
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			f.Fatal(err)
		}
		// one batch; two; three, the clock moving half max_wait; two,
		// moving past it; the second configuration; refusals.
		for _, plan := range []uint16{0, 1, 2 | 1<<3, 1 | 3<<3, 1 | 4, 2 | 5<<5, 1 | 4 | 2<<5} {
			f.Add(body, plan)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, plan uint16) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		in := req.Traces()
		if in.SpanCount() > fuzzMaxSpans {
			return
		}
		batches := splitTraces(in, 1+int(plan&3)%3)
		cfg, ref := cfgs[(plan>>2)&1], refs[(plan>>2)&1]
		step := time.Duration((plan>>3)&3) * cfg.Reparent.MaxWait / 2
		refuse := plan >> 5

		inputs := map[spanKey]int{}
		for _, b := range batches {
			countSpans(b, inputs)
		}
		want := runReference(t, ref, batches)

		clock := &fuzzClock{}
		clock.t.Store(time.Unix(1_700_000_000, 0).UnixNano())
		sink := &fuzzSink{t: t, got: map[spanKey]int{}}
		p, err := newTracesProcessor(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink, clock.now)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
		for i, b := range batches {
			if refuse&(1<<i) != 0 {
				// The next consumer refuses the first delivery; the sender
				// sends the batch again, as it came.
				sink.refuse.Store(true)
				err := p.ConsumeTraces(context.Background(), cloneTraces(b))
				sink.refuse.Store(false)
				if err == nil {
					// Nothing handed on (all removed or held): nothing to retry.
					clock.advance(step)
					continue
				}
			}
			if err := p.ConsumeTraces(context.Background(), cloneTraces(b)); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
			clock.advance(step)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}

		sink.mu.Lock()
		defer sink.mu.Unlock()
		for k, n := range sink.got {
			if n > inputs[k] {
				t.Fatalf("span %s/%s handed on %d times, %d in the input", k.trace, k.span, n, inputs[k])
			}
		}
		for k, n := range want {
			if got := sink.got[k]; got != n {
				t.Fatalf("span %s/%s: the policy keeps it %d times, handed on %d times (lost in the hold?)", k.trace, k.span, n, got)
			}
		}
		for k, n := range sink.got {
			if want[k] != n {
				t.Fatalf("span %s/%s handed on %d times, the policy keeps it %d times", k.trace, k.span, n, want[k])
			}
		}
	})
}

// runReference hands the batches to the same policy without re-parenting:
// what it keeps is what the policy keeps, span by span.
func runReference(t *testing.T, cfg *Config, batches []ptrace.Traces) map[spanKey]int {
	t.Helper()
	sink := &fuzzSink{t: t, got: map[spanKey]int{}}
	p, err := newTracesProcessor(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := p.ConsumeTraces(context.Background(), cloneTraces(b)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sink.got
}

var errFuzzRefused = errors.New("refused")

// fuzzSink counts the spans handed on, by trace and span ID, and checks
// that every batch marshals.
type fuzzSink struct {
	t      *testing.T
	refuse atomic.Bool
	mu     sync.Mutex
	got    map[spanKey]int
	bad    error
}

func (s *fuzzSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *fuzzSink) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	if s.refuse.Load() {
		return errFuzzRefused
	}
	if _, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td); err != nil {
		s.t.Errorf("a batch handed on does not marshal: %v", err)
	}
	s.mu.Lock()
	countSpans(td, s.got)
	s.mu.Unlock()
	return nil
}

type fuzzClock struct{ t atomic.Int64 }

func (c *fuzzClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fuzzClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func countSpans(td ptrace.Traces, into map[spanKey]int) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				into[spanKey{s.TraceID(), s.SpanID()}]++
			}
		}
	}
}

func cloneTraces(td ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	return out
}

// splitTraces cuts a batch into n consecutive runs of spans, each under a
// copy of its resource and scope, as an exporter splits a request.
func splitTraces(td ptrace.Traces, n int) []ptrace.Traces {
	if n <= 1 {
		return []ptrace.Traces{td}
	}
	total := td.SpanCount()
	out := make([]ptrace.Traces, n)
	for i := range out {
		out[i] = ptrace.NewTraces()
	}
	i := 0
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			var (
				last = -1
				dst  ptrace.SpanSlice
			)
			for _, s := range ss.Spans().All() {
				b := i * n / max(total, 1)
				i++
				if b != last {
					ors := out[b].ResourceSpans().AppendEmpty()
					ors.SetSchemaUrl(rs.SchemaUrl())
					rs.Resource().CopyTo(ors.Resource())
					oss := ors.ScopeSpans().AppendEmpty()
					oss.SetSchemaUrl(ss.SchemaUrl())
					ss.Scope().CopyTo(oss.Scope())
					dst, last = oss.Spans(), b
				}
				s.CopyTo(dst.AppendEmpty())
			}
		}
	}
	return out
}

// fuzzTraceSeeds are KrakenD batches of several shapes: whole requests,
// requests split across resources (children first), health paths, 5xx,
// header attributes, remote parents, attributes of the wrong type, spans of
// other instrumentation, and another service's policy.
func fuzzTraceSeeds() []ptrace.Traces {
	users := gatewaydata.DefaultRequest
	orders := gatewaydata.Request{Path: "/orders", EndpointRoute: "/orders", Method: "POST", BackendPattern: "/v1/orders", BackendHost: "orders.internal", Status: 201}
	items := gatewaydata.Request{Path: "/orders/7/items", EndpointRoute: "/orders/:id/items", Method: "GET", BackendPattern: "/v1/orders/:id/items", BackendHost: "orders.internal", Status: 503}
	search := gatewaydata.Request{Path: "/catalog/search?q=x", EndpointRoute: "/catalog/search", Method: "GET", BackendPattern: "/search", BackendHost: "search.internal", Status: 200}
	health := gatewaydata.Request{Path: "/__health", EndpointRoute: "/__health", Method: "GET", BackendPattern: "/__health", BackendHost: "localhost", Status: 200}
	debug := gatewaydata.Request{Path: "/__debug/a/b", EndpointRoute: "404 Not Found", Method: "GET", BackendPattern: "/x", BackendHost: "localhost", Status: 404}

	var seeds []ptrace.Traces

	// Whole requests of every shape in one batch.
	seeds = append(seeds, gatewaydata.NewTraces("gw", 1, users, orders, items, search, health, debug))

	// One request split: backend spans in one resource, proxy and global
	// in a later one, as an exporter may split it; and another service.
	split := gatewaydata.NewTraces("gw", 10, users, items)
	legacy := gatewaydata.NewTraces("legacy", 20, users, health)
	legacy.ResourceSpans().At(0).CopyTo(split.ResourceSpans().AppendEmpty())
	late := split.ResourceSpans().AppendEmpty()
	split.ResourceSpans().At(0).CopyTo(late)
	keepSpans(split.ResourceSpans().At(0), func(i int) bool { return i%5 < 3 })
	keepSpans(late, func(i int) bool { return i%5 >= 3 })
	seeds = append(seeds, split)

	// Headers, remote parents and other instrumentation.
	odd := gatewaydata.NewTraces("gw", 30, users, search)
	spans := odd.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for _, s := range spans.All() {
		a := s.Attributes()
		a.PutEmptySlice("http.request.header.cookie").AppendEmpty().SetStr("session=abc")
		a.PutEmptySlice("http.request.header.accept").AppendEmpty().SetStr("*/*")
		a.PutEmptySlice("http.response.header.set-cookie").AppendEmpty().SetStr("s=1")
		a.PutStr("http.request.header.x-api-key", "k-123") // a string, not an array
		if s.Kind() == ptrace.SpanKindServer {
			s.SetParentSpanID(pcommon.SpanID{0xca, 0x11, 0xe7})
			s.SetFlags(0x300)
		} else {
			s.SetFlags(0x100)
		}
	}
	child := spans.AppendEmpty() // a traced backend's span under the backend request
	child.SetTraceID(spans.At(1).TraceID())
	child.SetSpanID(pcommon.SpanID{0xbe, 0xef})
	child.SetParentSpanID(spans.At(1).SpanID())
	child.SetName("GET /v1/users/42")
	seeds = append(seeds, odd)

	// Requests whose parents never come: backend spans alone (the stage
	// span waits for the proxy span an override removes), and proxy and
	// backend spans without their global span (a literal skip path may
	// remove it).
	orphans := gatewaydata.NewTraces("gw", 50, users, users, search)
	keepSpans(orphans.ResourceSpans().At(0), func(i int) bool { return i < 3 || (i >= 5 && i < 9) || i >= 10 })
	seeds = append(seeds, orphans)

	// Attributes of the wrong type where strings are expected.
	wrong := gatewaydata.NewTraces("gw", 40, users, orders)
	for j, s := range wrong.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		a := s.Attributes()
		switch j % 5 {
		case 0:
			a.PutInt(layer.StageKey, 3)
		case 1:
			a.PutEmptyBytes("url.full").FromRaw([]byte("/users/42"))
		case 2:
			a.Remove("http.route")
		case 3:
			a.PutInt("krakend.endpoint.route", 1)
		case 4:
			a.PutEmptyMap("http.route")
			a.PutEmptyBytes("url.full").FromRaw([]byte("/__health"))
		}
	}
	seeds = append(seeds, wrong)
	return seeds
}

// keepSpans keeps the spans of the resource's first scope whose index
// keep accepts.
func keepSpans(rs ptrace.ResourceSpans, keep func(i int) bool) {
	i := 0
	rs.ScopeSpans().At(0).Spans().RemoveIf(func(ptrace.Span) bool {
		i++
		return !keep(i - 1)
	})
}

// FuzzMetrics runs decoded OTLP metrics through the metrics processor with
// the demanding configuration. Invariants: no panic; nothing the filter
// empties is handed on (no resource, scope or metric without data points,
// when none came empty); no data point is made up (at most as many as came, of metrics that came); the batch
// marshals.
func FuzzMetrics(f *testing.F) {
	cfg := loadConfig(f, fuzzConfigs[0])
	for _, r := range []gatewaydata.Request{
		gatewaydata.DefaultRequest,
		{Path: "/__health", EndpointRoute: "/__health", Method: "GET", BackendPattern: "/__health", BackendHost: "localhost", Status: 200},
		{Path: "/orders", EndpointRoute: "/orders", Method: "POST", BackendPattern: "/v1/orders", BackendHost: "orders.internal", Status: 503},
	} {
		for _, specs := range [][]gatewaydata.MetricSpec{gatewaydata.Metrics, gatewaydata.Metrics127} {
			body, err := pmetricotlp.NewExportRequestFromMetrics(gatewaydata.NewMetrics("gw", specs, r)).MarshalProto()
			if err != nil {
				f.Fatal(err)
			}
			f.Add(body)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		in := req.Metrics()
		if in.DataPointCount() > 4*fuzzMaxSpans {
			return
		}
		names := map[string]int{}
		// An empty container that came is handed on as it came: the
		// promise is about those the filter empties.
		cameEmpty := false
		for _, rm := range in.ResourceMetrics().All() {
			cameEmpty = cameEmpty || rm.ScopeMetrics().Len() == 0
			for _, sm := range rm.ScopeMetrics().All() {
				cameEmpty = cameEmpty || sm.Metrics().Len() == 0
				for _, m := range sm.Metrics().All() {
					n := layer.DataPointCount(m)
					cameEmpty = cameEmpty || n == 0
					names[m.Name()] += n
				}
			}
		}
		points := in.DataPointCount()
		var out []pmetric.Metrics
		next := consumerFunc(func(md pmetric.Metrics) { out = append(out, md) })
		p, err := createMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ConsumeMetrics(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		for _, md := range out {
			if md.DataPointCount() > points {
				t.Fatalf("%d data points handed on, %d came", md.DataPointCount(), points)
			}
			for _, rm := range md.ResourceMetrics().All() {
				if rm.ScopeMetrics().Len() == 0 && !cameEmpty {
					t.Fatal("a resource handed on empty")
				}
				for _, sm := range rm.ScopeMetrics().All() {
					if sm.Metrics().Len() == 0 && !cameEmpty {
						t.Fatal("a scope handed on empty")
					}
					for _, m := range sm.Metrics().All() {
						n := layer.DataPointCount(m)
						if n == 0 && !cameEmpty {
							t.Fatalf("metric %q handed on without data points", m.Name())
						}
						if n > names[m.Name()] {
							t.Fatalf("metric %q: %d data points handed on, %d came", m.Name(), n, names[m.Name()])
						}
					}
				}
			}
			if _, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md); err != nil {
				t.Fatalf("the batch handed on does not marshal: %v", err)
			}
		}
	})
}

type consumerFunc func(pmetric.Metrics)

func (consumerFunc) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c consumerFunc) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	c(md)
	return nil
}
