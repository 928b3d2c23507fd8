package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

const (
	// endpointRouteKey is on every backend-layer span: the endpoint pattern.
	endpointRouteKey = "krakend.endpoint.route"
	// httpRouteKey is the endpoint pattern on global and proxy spans.
	httpRouteKey = "http.route"
)

// noRoute marks "use the default percentage".
const noRoute int32 = -1

// sampler holds what every signal's processor shares: the mode, the
// policies and the component's own counters.
type sampler struct {
	mode Mode
	def  policy
	// routes maps both spellings of a configured route to its policy.
	routes   map[string]int32
	policies []policy

	telemetry *metadata.TelemetryBuilder
	addOpts   []metric.AddOption

	scratch sync.Pool
}

// scratch is per-batch working memory, pooled so that a batch allocates
// nothing once the maps have grown.
type scratch struct {
	// roots: trace ID → policy chosen by the http.route of the trace's root
	// span in this batch.
	roots map[pcommon.TraceID]rootEntry
	// tracestates: per trace ID, the last non-empty tracestate decided and
	// its outcome, so that a rewrite costs one string per trace, not per span.
	tracestates map[pcommon.TraceID]tracestateEntry
	// sdkStates: per kept trace, the "ot=rv:…;th:…" written in sdk_parity
	// mode, so it costs one string per trace in a batch, not one per span.
	sdkStates map[pcommon.TraceID]sdkStateEntry
	// the last sdk_parity trace state made: spans of a trace often follow
	// each other in a batch, and this spares the map look-up.
	lastSDKID    pcommon.TraceID
	lastSDKState sdkStateEntry
}

type sdkStateEntry struct {
	policy *policy
	state  string
}

type rootEntry struct {
	policy     int32
	fromGlobal bool
	// start and spanID order two candidates of one kind (two gateways in
	// one trace), so that the choice does not depend on batch order.
	start  pcommon.Timestamp
	spanID pcommon.SpanID
}

type tracestateEntry struct {
	policy  *policy
	in, out string
	keep    bool
	rewrite bool
}

// maxPooledEntries bounds the maps kept in the pool after an unusually
// large batch.
const maxPooledEntries = 1 << 14

func newSampler(set component.TelemetrySettings, cfg *Config) (*sampler, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	s := &sampler{
		mode:      cfg.Mode,
		def:       newPolicy(cfg.SamplingPercentage),
		telemetry: tb,
		addOpts: []metric.AddOption{metric.WithAttributeSet(
			attribute.NewSet(attribute.String("mode", string(cfg.Mode))))},
	}
	if len(cfg.Routes) > 0 {
		s.routes = make(map[string]int32, 2*len(cfg.Routes))
		for route, pct := range cfg.Routes {
			idx := int32(len(s.policies))
			s.policies = append(s.policies, newPolicy(pct))
			s.routes[route] = idx
			s.routes[colonForm(route)] = idx
			s.routes[braceForm(route)] = idx
		}
	}
	s.scratch.New = func() any { return &scratch{} }
	return s, nil
}

// passThrough is true when the configuration keeps everything untouched.
func (s *sampler) passThrough() bool {
	return s.def.keepAll && len(s.routes) == 0
}

func (s *sampler) policyAt(idx int32) *policy {
	if idx == noRoute {
		return &s.def
	}
	return &s.policies[idx]
}

func (s *sampler) routePolicy(route string) int32 {
	if idx, ok := s.routes[route]; ok {
		return idx
	}
	return noRoute
}

// ownRoute is the endpoint route an item carries itself: every backend-layer
// span has krakend.endpoint.route, global and proxy spans have http.route.
// It is the same for all of a KrakenD trace's spans, so deciding by it does
// not depend on how spans were batched.
func ownRoute(attrs pcommon.Map) (string, bool) {
	if v, ok := attrs.Get(endpointRouteKey); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str(), true
	}
	stage, ok := attrs.Get(layer.StageKey)
	if !ok || stage.Type() != pcommon.ValueTypeStr {
		return "", false
	}
	if st := stage.Str(); st != layer.StageGlobal && st != layer.StageProxy {
		return "", false
	}
	if v, ok := attrs.Get(httpRouteKey); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str(), true
	}
	return "", false
}

func (s *sampler) getScratch() *scratch {
	return s.scratch.Get().(*scratch)
}

func (s *sampler) putScratch(sc *scratch) {
	if len(sc.roots) > maxPooledEntries {
		sc.roots = nil
	}
	if len(sc.tracestates) > maxPooledEntries {
		sc.tracestates = nil
	}
	if len(sc.sdkStates) > maxPooledEntries {
		sc.sdkStates = nil
	}
	clear(sc.sdkStates)
	sc.lastSDKState = sdkStateEntry{}
	clear(sc.roots)
	clear(sc.tracestates)
	s.scratch.Put(sc)
}
