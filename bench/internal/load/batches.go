// Package load is the benchmark's load generator: KrakenD-shaped OTLP export
// requests built and marshalled once, sent over real OTLP/gRPC on loopback
// with their trace IDs rewritten in place for every request, so that each
// trace is new to the sampler and the generator spends almost nothing per
// span.
package load

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// Service is the service.name of the benchmark's gateway (bench/testdata/krakend.json).
const Service = "krakend_backend_service"

// The endpoints of bench/testdata/krakend.json, in the colon form the gateway
// writes, and their share of the traffic (out of 20 requests).
var endpoints = []struct {
	path     func(i int) string
	req      gatewaydata.Request
	perTwnty int
}{
	{func(i int) string { return fmt.Sprintf("/users/%d", i) }, gatewaydata.Request{EndpointRoute: "/users/:id", Method: "GET", BackendPattern: "/v1/users/:id", BackendHost: "users.internal:8080"}, 8},
	{func(i int) string { return fmt.Sprintf("/back_combination/%d", i) }, gatewaydata.Request{EndpointRoute: "/back_combination/:id", Method: "GET", BackendPattern: "/users/:id/posts", BackendHost: "jsonplaceholder.typicode.com"}, 6},
	{func(int) string { return "/catalog/items" }, gatewaydata.Request{EndpointRoute: "/catalog/items", Method: "GET", BackendPattern: "/v2/items", BackendHost: "catalog.internal:8080"}, 5},
	// a skipped path: KrakenD's health check, a global span only
	{func(int) string { return "/__health" }, gatewaydata.Request{EndpointRoute: "/__health", Method: "GET"}, 1},
}

var statuses = []int{200, 200, 200, 200, 200, 200, 201, 404, 200, 500}

// Batch is one marshalled export request and where its trace IDs sit.
type Batch struct {
	Body  []byte
	Items int // spans or metric data points
	// Traces[i] lists the byte offsets of every copy of trace i's ID in Body.
	Traces [][]int
}

// TraceBatches builds n trace export requests of requests requests each (five
// spans per request, one for the health check), numbered apart.
func TraceBatches(n, requests int) ([]Batch, error) {
	out := make([]Batch, 0, n)
	for b := range n {
		first := uint64(b*requests + 1)
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
		ra := rs.Resource().Attributes()
		ra.PutStr("service.name", Service)
		ra.PutStr("service.version", "2.13.0")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(layer.ScopeName)
		health := map[pcommon.TraceID]bool{}
		for i := range requests {
			n := first + uint64(i)
			e := pick(i)
			r := e.req
			r.Path = e.path(int(n % 1000))
			r.Status = statuses[int(n)%len(statuses)]
			if r.BackendPattern == "" {
				health[gatewaydata.TraceID(n)] = true
				r.BackendPattern, r.BackendHost = "/", "none"
			}
			gatewaydata.AppendRequestSpans(ss.Spans(), n, r)
		}
		ss.Spans().RemoveIf(func(s ptrace.Span) bool {
			if !health[s.TraceID()] {
				return false
			}
			st, _ := s.Attributes().Get(layer.StageKey)
			return st.Str() != layer.StageGlobal
		})
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			return nil, err
		}
		batch := Batch{Body: body, Items: td.SpanCount()}
		for i := range requests {
			id := gatewaydata.TraceID(first + uint64(i))
			offs := findAll(body, id[:])
			if len(offs) == 0 {
				return nil, fmt.Errorf("batch %d: trace %d not found in the marshalled request", b, i)
			}
			batch.Traces = append(batch.Traces, offs)
		}
		out = append(out, batch)
	}
	return out, nil
}

func pick(i int) struct {
	path     func(i int) string
	req      gatewaydata.Request
	perTwnty int
} {
	k := i % 20
	for _, e := range endpoints {
		if k < e.perTwnty {
			return e
		}
		k -= e.perTwnty
	}
	return endpoints[0]
}

func findAll(b, sub []byte) []int {
	var offs []int
	for at := 0; ; {
		i := bytes.Index(b[at:], sub)
		if i < 0 {
			return offs
		}
		offs = append(offs, at+i)
		at += i + len(sub)
	}
}

// MetricBatch builds one metrics export request as a gateway's periodic
// reader sends it: every metric of every layer for each endpoint and status
// seen (a series per combination).
func MetricBatch() (Batch, error) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
	rm.Resource().Attributes().PutStr("service.name", Service)
	rm.Resource().Attributes().PutStr("service.version", "2.13.0")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(layer.ScopeName)
	// one metric per name, a data point per endpoint and status, as the SDK
	// aggregates them
	for _, e := range endpoints[:3] {
		for _, st := range []int{200, 201, 204, 301, 404, 500, 502, 503} {
			r := e.req
			r.Path, r.Status = e.path(1), st
			one := gatewaydata.NewMetrics(Service, gatewaydata.Metrics, r)
			gatewaydata.MergeByName(sm.Metrics(), one.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics())
		}
	}
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		return Batch{}, err
	}
	return Batch{Body: body, Items: md.DataPointCount()}, nil
}

// NewIDSource returns a source of trace IDs; seed sets it apart from others.
func NewIDSource(seed uint64) *idSource { return &idSource{state: seed << 40} } //nolint:revive

// idSource hands out trace IDs that look random (splitmix64 of a counter),
// so that a sampler's decision is a fair coin for every trace.
type idSource struct{ state uint64 }

func (s *idSource) next(dst []byte) {
	binary.BigEndian.PutUint64(dst[0:8], splitmix(&s.state))
	binary.BigEndian.PutUint64(dst[8:16], splitmix(&s.state))
}

func splitmix(x *uint64) uint64 {
	*x += 0x9e3779b97f4a7c15
	z := *x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Rewrite gives every trace of b (a worker's own copy) a new ID in place.
func (b *Batch) Rewrite(ids *idSource) {
	var id [16]byte
	for _, offs := range b.Traces {
		ids.next(id[:])
		for _, o := range offs {
			copy(b.Body[o:o+16], id[:])
		}
	}
}

// Clone copies the body, for a worker of its own.
func (b Batch) Clone() Batch {
	b.Body = append([]byte(nil), b.Body...)
	return b
}
