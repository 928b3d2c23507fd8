package gatewayotel

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// ScopeName is the instrumentation scope of every span and metric, KrakenD's
// own (it carries no version and no schema URL).
const ScopeName = "io.krakend.krakend-otel"

// Stage values of the krakend.stage span attribute, and the read tracker's
// fixed span name.
const (
	StageKey            = "krakend.stage"
	StageGlobal         = "global"
	StageProxy          = "proxy"
	StageBackend        = "backend"
	StageBackendRequest = "backend-request"
	ReadTrackerSpanName = "http.client.response.read.tracker"
)

// SemanticConvention127 is the only semantic_convention value the gateway
// knows besides "" (its default names).
const SemanticConvention127 = "1.27"

// TimeBuckets and SizeBuckets are the gateway's fixed histogram bounds, in
// seconds and bytes.
var (
	TimeBuckets = []float64{0.010, 0.020, 0.050, 0.075, 0.100, 0.125, 0.150, 0.175, 0.200, 0.250, 0.300, 0.350, 0.500, 0.750, 1.000, 1.500, 2.000, 3.500, 5.000, 10.000}
	SizeBuckets = []float64{128, 256, 512, 1024, 4 * 1024, 8 * 1024, 16 * 1024, 32 * 1024, 64 * 1024, 4 * 64 * 1024, 8 * 64 * 1024, 16 * 64 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024}
)

// Telemetry instruments a gateway's three layers with one tracer and one
// meter of scope ScopeName. It is safe for concurrent use.
type Telemetry struct {
	tp     trace.TracerProvider
	mp     metric.MeterProvider
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	inst   *instruments
	sem127 bool

	// skip holds skip_paths as written and in colon form.
	skip map[string]struct{}

	global          krakend.GlobalLayer
	globalTraceAttr []attribute.KeyValue
	globalMetricAtt []attribute.KeyValue
	globalSkipHdr   map[string]struct{}

	// Everything read of the configuration after Setup is a copy made by
	// Setup: a gateway may reload its krakend.json into the same structs
	// while it serves.
	proxy      krakend.ProxyLayer
	backend    krakend.BackendLayer
	configured map[string]*endpointConf // "METHOD route" in colon form
	endpoints  sync.Map                 // "METHOD route" → *Endpoint
}

// endpointConf is what the instrumentation reads of one endpoint given
// WithEndpoints, copied by Setup.
type endpointConf struct {
	proxy             *krakend.ProxyLayer // the endpoint's override of layers.proxy
	globalTraceAttrs  []attribute.KeyValue
	globalMetricAttrs []attribute.KeyValue
	backend           *krakend.BackendLayer // the endpoint's override of layers.backend
	// backends are the backends' own overrides by url_pattern as reported;
	// the first backend of a pattern with one wins.
	backends map[string]krakend.BackendLayer
}

func newEndpointConf(ep *krakend.Endpoint) *endpointConf {
	c := &endpointConf{}
	if et := ep.Telemetry; et != nil {
		if et.Proxy != nil {
			p := cloneProxyLayer(*et.Proxy)
			c.proxy = &p
		}
		if et.Backend != nil {
			b := cloneBackendLayer(*et.Backend)
			c.backend = &b
		}
		c.globalTraceAttrs = traceStaticAttributes(et.GlobalTracesStaticAttributes)
		c.globalMetricAttrs = staticAttributes(et.GlobalMetricsStaticAttributes)
	}
	for _, be := range ep.Backends {
		if be.Telemetry == nil || be.Telemetry.Backend == nil {
			continue
		}
		if c.backends == nil {
			c.backends = make(map[string]krakend.BackendLayer, len(ep.Backends))
		}
		pattern := backendRoute(be.URLPattern)
		if _, seen := c.backends[pattern]; !seen {
			c.backends[pattern] = cloneBackendLayer(*be.Telemetry.Backend)
		}
	}
	return c
}

// cloneProxyLayer and cloneBackendLayer copy a layer with its slices.
func cloneProxyLayer(l krakend.ProxyLayer) krakend.ProxyLayer {
	l.SkipHeaders = slices.Clone(l.SkipHeaders)
	l.MetricsStaticAttributes = slices.Clone(l.MetricsStaticAttributes)
	l.TracesStaticAttributes = slices.Clone(l.TracesStaticAttributes)
	return l
}

func cloneBackendLayer(l krakend.BackendLayer) krakend.BackendLayer {
	l.Metrics.StaticAttributes = slices.Clone(l.Metrics.StaticAttributes)
	l.Traces.SkipHeaders = slices.Clone(l.Traces.SkipHeaders)
	l.Traces.StaticAttributes = slices.Clone(l.Traces.StaticAttributes)
	return l
}

func newTelemetry(cfg *krakend.OpenTelemetry, o *options, prop propagation.TextMapPropagator) (*Telemetry, error) {
	t := &Telemetry{
		tp: o.tp, mp: o.mp, prop: prop,
		tracer:          o.tp.Tracer(ScopeName),
		global:          cfg.Layers.Global,
		proxy:           cloneProxyLayer(cfg.Layers.Proxy),
		backend:         cloneBackendLayer(cfg.Layers.Backend),
		sem127:          cfg.Layers.Global.SemanticConvention == SemanticConvention127,
		skip:            make(map[string]struct{}, 2*len(cfg.SkipPaths)),
		globalTraceAttr: traceStaticAttributes(cfg.Layers.Global.TracesStaticAttributes),
		globalMetricAtt: staticAttributes(cfg.Layers.Global.MetricsStaticAttributes),
		globalSkipHdr:   headerSet(cfg.Layers.Global.SkipHeaders),
		configured:      make(map[string]*endpointConf, len(o.endpoints)),
	}
	for _, p := range cfg.SkipPaths {
		if p == "" { // [""] turns the defaults off and matches nothing
			continue
		}
		t.skip[p] = struct{}{}
		t.skip[ColonRoute(p)] = struct{}{} // the schema advises {placeholders}
	}
	for i := range o.endpoints {
		ep := &o.endpoints[i]
		t.configured[endpointKey(ColonRoute(ep.Endpoint), ep.Method)] = newEndpointConf(ep)
	}
	inst, err := newInstruments(o.mp.Meter(ScopeName), t.sem127)
	if err != nil {
		return nil, err
	}
	t.inst = inst
	return t, nil
}

// TracerProvider returns the provider the spans are made with.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tp }

// MeterProvider returns the provider the metrics are recorded with.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.mp }

// Propagator returns the configured propagators (W3C tracecontext and
// baggage by default).
func (t *Telemetry) Propagator() propagation.TextMapPropagator { return t.prop }

func (t *Telemetry) skipped(path string) bool {
	_, ok := t.skip[path]
	return ok
}

func endpointKey(route, method string) string {
	if method == "" {
		method = http.MethodGet // KrakenD's default endpoint method
	}
	return strings.ToUpper(method) + " " + route
}

// ColonRoute writes an endpoint pattern in KrakenD's colon form:
// /users/{id} becomes /users/:id. A pattern already in colon form is
// returned unchanged. (A backend's url_pattern is reported with its
// placeholder names lower-cased: see Transport.)
func ColonRoute(pattern string) string { return colonRoute(pattern, false) }

// backendRoute writes a backend url_pattern as KrakenD reports it: Lura
// turns {userId} into {{.UserId}} (its config/config.go
// initBackendURLMappings) and krakend-otel writes that as :userid
// (config/path_pattern.go:10-16, NormalizeURLPattern lower-cases the whole
// name). A name written with a colon stays as written.
func backendRoute(pattern string) string { return colonRoute(pattern, true) }

func colonRoute(pattern string, lower bool) string {
	if !strings.Contains(pattern, "{") {
		return pattern
	}
	var b strings.Builder
	b.Grow(len(pattern))
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(pattern[i:], '}')
		if end < 0 {
			b.WriteString(pattern[i:])
			break
		}
		name := strings.TrimSuffix(pattern[i+1:i+end], "...") // net/http's wildcard
		if name == "$" {                                      // net/http's end anchor
			i += end
			continue
		}
		if lower {
			name = strings.ToLower(name)
		}
		b.WriteByte(':')
		b.WriteString(name)
		i += end
	}
	return b.String()
}

// RouteFromPattern turns a net/http ServeMux pattern ("GET /users/{id}") into
// the gateway's route ("/users/:id"). It is GlobalHandler's default way of
// naming a request's route.
func RouteFromPattern(r *http.Request) string {
	p := r.Pattern
	if p == "" {
		return ""
	}
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = strings.TrimLeft(p[i+1:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i > 0 { // a host before the path
		p = p[i:]
	}
	return ColonRoute(p)
}

func staticAttributes(as []krakend.Attribute) []attribute.KeyValue {
	var out []attribute.KeyValue
	for _, a := range as {
		if a.Key == "" || a.Value == "" { // the gateway ignores these
			continue
		}
		out = append(out, attribute.String(a.Key, a.Value))
	}
	return out
}

// traceStaticAttributes are a span's static attributes without krakend.stage:
// the layer marker stays the span's own (the collector's layer filter
// refuses it as a static attribute; KrakenD lets it replace the stage of
// its global and backend-request spans).
func traceStaticAttributes(as []krakend.Attribute) []attribute.KeyValue {
	out := staticAttributes(as)
	return slices.DeleteFunc(out, func(kv attribute.KeyValue) bool { return kv.Key == StageKey })
}

func headerSet(names []string) map[string]struct{} {
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = struct{}{}
	}
	return m
}

// headerAttributes returns prefix.<lower-name> string arrays for every header
// not in skip.
func headerAttributes(prefix string, h http.Header, skip map[string]struct{}) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(h))
	for name, vals := range h {
		lower := strings.ToLower(name)
		if _, ok := skip[lower]; ok {
			continue
		}
		out = append(out, attribute.StringSlice(prefix+lower, vals))
	}
	return out
}

// standardMethods are the methods metrics keep; any other is _OTHER, so a
// client cannot grow the number of series. As in KrakenD, the method is
// upper-cased first (http/server/metrics.go:62): "get" counts as GET.
var standardMethods = map[string]string{
	"CONNECT": "CONNECT", "DELETE": "DELETE", "GET": "GET", "HEAD": "HEAD", "OPTIONS": "OPTIONS",
	"PATCH": "PATCH", "POST": "POST", "PUT": "PUT", "TRACE": "TRACE",
}

func metricMethod(m string) string {
	if s, ok := standardMethods[m]; ok {
		return s
	}
	if s, ok := standardMethods[strings.ToUpper(m)]; ok {
		return s
	}
	return "_OTHER"
}

// concat returns a new slice holding all of the parts.
func concat(parts ...[]attribute.KeyValue) []attribute.KeyValue {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]attribute.KeyValue, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
