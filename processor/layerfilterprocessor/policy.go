package layerfilterprocessor

import (
	"math/bits"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/internal/sharedvalue"
)

// The compiled form of a Policy: everything that depends only on the
// configuration, decided once, so that a span costs a few look-ups.

const (
	requestHeaderPrefix  = "http.request.header."
	responseHeaderPrefix = "http.response.header."
	redactedValue        = "[REDACTED]"
	firstByteEvent       = "first-byte-time"
)

// redacted is redactedValue's wrapper, which every redacted header shares.
var redacted = sharedvalue.New(redactedValue)

// Span attributes that only detailed_connection puts on backend-request spans.
var detailedConnectionAttrs = [...]string{"get-conn-duration", "dns-duration", "tls-duration"}

// attr is an attribute the filter adds. shared, when it shares, is the
// value's pdata wrapper, which every span and point it is written on
// shares instead of allocating its own (internal/sharedvalue).
type attr struct {
	key, value string
	shared     sharedvalue.Str
}

// constAttr is an attribute whose value is known before any span comes.
func constAttr(k, v string) attr { return attr{key: k, value: v, shared: sharedvalue.New(v)} }

// put writes a on attrs, which lacks it.
func (a *attr) put(attrs pcommon.Map) { a.shared.Set(attrs.PutEmpty(a.key), a.value) }

// headerFilter is a layer's report_headers and skip_headers for one signal.
type headerFilter struct {
	dropAll bool      // report_headers: false
	skip    headerSet // the skipped headers, both directions
}

func (h *headerFilter) removes() bool { return h.dropAll || !h.skip.empty() }

// headerSet holds header names as KrakenD writes them in attribute keys
// (lower case), for both directions: a key is looked up by its name after
// the prefix, among a few names by comparison rather than hashing.
type headerSet struct {
	names  []string            // when there are few
	byName map[string]struct{} // when there are many
}

// maxLinearHeaders is the most names a headerSet compares one by one.
const maxLinearHeaders = 8

func newHeaderSet(names []string) headerSet {
	var s headerSet
	seen := map[string]struct{}{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if _, dup := seen[n]; n == "" || dup {
			continue
		}
		seen[n] = struct{}{}
		s.names = append(s.names, n)
	}
	if len(s.names) > maxLinearHeaders {
		s.byName, s.names = seen, nil
	}
	return s
}

// withUnderscoreSpellings adds, for each header name with a -, its
// spelling with _: semantic conventions before 1.21 wrote header attribute
// keys that way (http.request.header.x_api_key), and other instrumentation
// passing through the collector still does. A credential is redacted
// whichever way it is spelled.
func withUnderscoreSpellings(names []string) []string {
	out := names
	for _, n := range names {
		if strings.Contains(n, "-") {
			if len(out) == len(names) {
				out = append([]string(nil), names...)
			}
			out = append(out, strings.ReplaceAll(n, "-", "_"))
		}
	}
	return out
}

func (s *headerSet) empty() bool { return len(s.names) == 0 && len(s.byName) == 0 }

// contains tells whether the header attribute key k, whose prefix is
// prefixLen bytes long, names a header of the set. KrakenD lower-cases
// header names, other senders may not.
func (s *headerSet) contains(k string, prefixLen int) bool {
	if s.empty() {
		return false
	}
	name := k[prefixLen:]
	if s.hasName(name) {
		return true
	}
	if !hasUpper(name) || len(k) > routeBufSize {
		return false
	}
	var buf [routeBufSize]byte
	b := buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	if s.byName != nil {
		_, ok := s.byName[string(b)]
		return ok
	}
	for _, n := range s.names {
		if n == string(b) {
			return true
		}
	}
	return false
}

func (s *headerSet) hasName(name string) bool {
	if s.byName != nil {
		_, ok := s.byName[name]
		return ok
	}
	for _, n := range s.names {
		if n == name {
			return true
		}
	}
	return false
}

// signalPolicy is one layer's settings for one signal (global, proxy).
type signalPolicy struct {
	off     bool
	static  []attr
	headers headerFilter // traces only
}

type layerPolicy struct{ traces, metrics signalPolicy }

// backendSignal is the backend layer's settings for one signal.
type backendSignal struct {
	stage, roundTrip, readPayload, detailed bool
	static                                  []attr
	headers                                 headerFilter // traces only
}

// on tells whether the switch governing a backend part is on. Detailed
// connection data belongs to the round trip: it needs both switches.
func (b *backendSignal) on(p layer.Part) bool {
	switch p {
	case layer.PartStage:
		return b.stage
	case layer.PartRoundTrip:
		return b.roundTrip
	case layer.PartReadPayload:
		return b.readPayload
	case layer.PartDetailedConnection:
		return b.roundTrip && b.detailed
	}
	return true
}

type backendPolicy struct{ traces, metrics backendSignal }

type endpointPolicy struct {
	method  string       // upper case; "" = any
	proxy   *layerPolicy // nil: the policy's proxy layer
	backend *backendPolicy
	// The policy's global static attributes merged with the endpoint's;
	// valid only when has* is set.
	globalTraces, globalMetrics       []attr
	hasGlobalTraces, hasGlobalMetrics bool
}

type backendEntry struct {
	endpoint string // canonical route; "" = any endpoint
	backend  *backendPolicy
}

// policy is a compiled Policy.
type policy struct {
	skip   skipMatcher
	redact map[string]struct{} // attribute keys of the redacted headers
	// redactSet holds the same headers, for look-ups.
	redactSet headerSet
	global    layerPolicy
	proxy     layerPolicy
	backend   backendPolicy
	// Keyed by canonical route / url_pattern; the more specific entries first.
	endpoints map[string][]endpointPolicy
	backends  map[string][]backendEntry

	// orphans tells, per class of a kept span, whether this policy may
	// remove its parent; reparent is set when any may and re-parenting is
	// on. Without it a batch pays no bookkeeping at all.
	orphans  orphanFlags
	reparent bool
}

// orphanFlags follow KrakenD's fixed chain: global → proxy → backend stage
// → backend-request → read tracker. Each flag names the kept child's class.
type orphanFlags struct {
	proxy, stage, roundTrip, readPayload bool
}

func (o orphanFlags) any() bool { return o.proxy || o.stage || o.roundTrip || o.readPayload }

// compileOrphans decides which classes may lose their parent. Skip paths
// remove a whole request in every layer but one: a raw path that matches an
// entry that is not the request's route (a literal `/users/42` for
// `/users/:id`, or a parametrised entry when the global span names no
// endpoint) removes the global span and keeps the rest.
func (p *policy) compileOrphans() orphanFlags {
	o := orphanFlags{
		proxy: p.global.traces.off || len(p.skip) > 0,
		stage: p.proxy.traces.off,
	}
	backend := func(b *backendPolicy) {
		o.roundTrip = o.roundTrip || !b.traces.stage
		o.readPayload = o.readPayload || !b.traces.roundTrip
	}
	backend(&p.backend)
	for _, list := range p.endpoints {
		for i := range list {
			if ep := &list[i]; ep.proxy != nil && ep.proxy.traces.off {
				o.stage = true
			}
			if list[i].backend != nil {
				backend(list[i].backend)
			}
		}
	}
	for _, list := range p.backends {
		for i := range list {
			backend(list[i].backend)
		}
	}
	return o
}

// parentMayBeRemoved tells whether this policy may have removed the parent
// of a span of class c, from the span's own attributes: a backend span
// names its endpoint and backend, which select its parent's settings too.
// Only the global span's raw path is out of a child's sight; a proxy span
// then assumes the worst when a skip path could match an instance of its
// route.
func (p *policy) parentMayBeRemoved(c layer.Class, attrs pcommon.Map) bool {
	return p.parentMayBeRemovedMemo(c, attrs, nil)
}

// parentMayBeRemovedMemo is parentMayBeRemoved with the batch's look-ups.
func (p *policy) parentMayBeRemovedMemo(c layer.Class, attrs pcommon.Map, m *lookupMemo) bool {
	switch c {
	case layer.ProxyStage:
		if !p.orphans.proxy {
			return false
		}
		return p.global.traces.off || p.skip.mayMatchInstance(getStr(attrs, attrRoute))
	case layer.BackendStage:
		if !p.orphans.stage {
			return false
		}
		return m.proxyFor(p, getStr(attrs, attrEndpointRoute), getStr(attrs, attrEndpointMethod)).traces.off
	case layer.BackendRoundTrip, layer.BackendReadPayload:
		if (c == layer.BackendRoundTrip && !p.orphans.roundTrip) || (c == layer.BackendReadPayload && !p.orphans.readPayload) {
			return false
		}
		bs := &p.backend.traces
		if len(p.endpoints) > 0 || len(p.backends) > 0 {
			bs = &m.backendFor(p, getStr(attrs, attrEndpointRoute), getStr(attrs, attrEndpointMethod), getStr(attrs, attrRoute)).traces
		}
		if c == layer.BackendRoundTrip {
			return !bs.stage
		}
		return !bs.roundTrip
	}
	// Global spans have no gateway parent; other instrumentation's spans
	// are not waited for (see README, Limits).
	return false
}

func compilePolicy(p *Policy) *policy {
	cp := &policy{
		skip:    compileSkipPaths(p.SkipPaths),
		global:  compileLayer(&p.Global),
		proxy:   compileLayer(&p.Proxy),
		backend: compileBackend(&p.Backend),
	}
	redact := p.RedactHeaders
	if redact == nil {
		redact = DefaultRedactHeaders
	}
	cp.redact = headerKeys(redact)
	cp.redactSet = newHeaderSet(withUnderscoreSpellings(redact))

	if len(p.Endpoints) > 0 {
		cp.endpoints = map[string][]endpointPolicy{}
		for i := range p.Endpoints {
			e := &p.Endpoints[i]
			ep := endpointPolicy{method: strings.ToUpper(e.Method)}
			if e.Proxy != nil {
				lp := compileLayer(e.Proxy)
				ep.proxy = &lp
			}
			if e.Backend != nil {
				bp := compileBackend(e.Backend)
				ep.backend = &bp
			}
			if e.Global != nil {
				if len(nonEmpty(e.Global.TracesStaticAttributes)) > 0 {
					ep.globalTraces = compileStatic(merge(p.Global.TracesStaticAttributes, e.Global.TracesStaticAttributes))
					ep.hasGlobalTraces = true
				}
				if len(nonEmpty(e.Global.MetricsStaticAttributes)) > 0 {
					ep.globalMetrics = compileStatic(merge(p.Global.MetricsStaticAttributes, e.Global.MetricsStaticAttributes))
					ep.hasGlobalMetrics = true
				}
			}
			k := canonicalKey(e.Route)
			cp.endpoints[k] = append(cp.endpoints[k], ep)
		}
		for _, list := range cp.endpoints {
			sort.SliceStable(list, func(i, j int) bool { return list[i].method != "" && list[j].method == "" })
		}
	}

	if len(p.Backends) > 0 {
		cp.backends = map[string][]backendEntry{}
		for i := range p.Backends {
			b := &p.Backends[i]
			bp := compileBackend(&b.Backend)
			k := canonicalPatternKey(b.URLPattern)
			var ek string
			if b.Endpoint != "" {
				ek = canonicalKey(b.Endpoint)
			}
			cp.backends[k] = append(cp.backends[k], backendEntry{endpoint: ek, backend: &bp})
		}
		for _, list := range cp.backends {
			sort.SliceStable(list, func(i, j int) bool { return list[i].endpoint != "" && list[j].endpoint == "" })
		}
	}
	cp.orphans = cp.compileOrphans()
	return cp
}

func compileLayer(l *LayerConfig) layerPolicy {
	return layerPolicy{
		traces: signalPolicy{
			off:     l.DisableTraces,
			static:  compileStatic(l.TracesStaticAttributes),
			headers: compileHeaders(l.ReportHeaders, l.SkipHeaders),
		},
		metrics: signalPolicy{
			off:    l.DisableMetrics,
			static: compileStatic(l.MetricsStaticAttributes),
		},
	}
}

func compileBackend(b *BackendConfig) backendPolicy {
	return backendPolicy{
		traces:  compileSwitches(&b.Traces.BackendSwitches, compileHeaders(b.Traces.ReportHeaders, b.Traces.SkipHeaders)),
		metrics: compileSwitches(&b.Metrics.BackendSwitches, headerFilter{}),
	}
}

func compileSwitches(s *BackendSwitches, h headerFilter) backendSignal {
	return backendSignal{
		stage:       !s.DisableStage,
		roundTrip:   orTrue(s.RoundTrip),
		readPayload: orTrue(s.ReadPayload),
		detailed:    orTrue(s.DetailedConnection),
		static:      compileStatic(s.StaticAttributes),
		headers:     h,
	}
}

func orTrue(b *bool) bool { return b == nil || *b }

func compileHeaders(report *bool, skip []string) headerFilter {
	return headerFilter{dropAll: !orTrue(report), skip: newHeaderSet(skip)}
}

// headerKeys turns header names into the attribute keys KrakenD writes for
// them, lower-cased, in both directions.
func headerKeys(names []string) map[string]struct{} {
	if len(names) == 0 {
		return nil
	}
	m := make(map[string]struct{}, 2*len(names))
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		m[requestHeaderPrefix+n] = struct{}{}
		m[responseHeaderPrefix+n] = struct{}{}
	}
	return m
}

// compileStatic returns the attributes in key order, without the empty
// values KrakenD ignores.
func compileStatic(m map[string]string) []attr {
	m = nonEmpty(m)
	if len(m) == 0 {
		return nil
	}
	out := make([]attr, 0, len(m))
	for k, v := range m {
		out = append(out, constAttr(k, v))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func nonEmpty(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != "" && v != "" {
			out[k] = v
		}
	}
	return out
}

// merge adds the endpoint's attributes to the service's; the endpoint wins a
// shared key.
func merge(service, endpoint map[string]string) map[string]string {
	out := nonEmpty(service)
	for k, v := range nonEmpty(endpoint) {
		out[k] = v
	}
	return out
}

// routeBufSize fits the routes of real gateways; longer ones still work, at
// the cost of an allocation.
const routeBufSize = 192

// endpoint returns the override of an endpoint, or nil.
func (p *policy) endpoint(route, method string) *endpointPolicy {
	if len(p.endpoints) == 0 || route == "" {
		return nil
	}
	var buf [routeBufSize]byte
	list := p.endpoints[string(canonicalRoute(buf[:0], route))]
	for i := range list {
		if list[i].method == "" || list[i].method == method {
			return &list[i]
		}
	}
	return nil
}

// backendFor resolves the backend layer of one backend call: its own
// override (for its endpoint, then for any endpoint), then its endpoint's,
// then the policy's.
func (p *policy) backendFor(endpointRoute, endpointMethod, pattern string) *backendPolicy {
	if len(p.backends) > 0 && pattern != "" {
		var buf [routeBufSize]byte
		if list := p.backends[string(canonicalPattern(buf[:0], pattern))]; len(list) > 0 {
			var ebuf [routeBufSize]byte
			ek := canonicalRoute(ebuf[:0], endpointRoute)
			for i := range list {
				if list[i].endpoint == "" || list[i].endpoint == string(ek) {
					return list[i].backend
				}
			}
		}
	}
	if ep := p.endpoint(endpointRoute, endpointMethod); ep != nil && ep.backend != nil {
		return ep.backend
	}
	return &p.backend
}

// proxyFor resolves the proxy layer of an endpoint.
func (p *policy) proxyFor(route, method string) *layerPolicy {
	if ep := p.endpoint(route, method); ep != nil && ep.proxy != nil {
		return ep.proxy
	}
	return &p.proxy
}

// lookupMemo remembers one batch's latest endpoint and backend look-ups:
// a batch repeats a few endpoints and backends, whose look-up otherwise
// costs a canonical route and a map access per item. The zero value is
// empty; a nil memo looks everything up.
type lookupMemo struct {
	eps    [memoSize]endpointMemo
	bes    [memoSize]backendMemo
	epNext int
	beNext int
}

const memoSize = 8

type endpointMemo struct {
	p             *policy
	route, method string
	ep            *endpointPolicy
}

type backendMemo struct {
	p                      *policy
	route, method, pattern string
	be                     *backendPolicy
}

func (m *lookupMemo) endpoint(p *policy, route, method string) *endpointPolicy {
	if m == nil || len(p.endpoints) == 0 || route == "" {
		return p.endpoint(route, method)
	}
	for i := range m.eps {
		if e := &m.eps[i]; e.p == p && e.route == route && e.method == method {
			return e.ep
		}
	}
	ep := p.endpoint(route, method)
	m.eps[m.epNext] = endpointMemo{p, route, method, ep}
	m.epNext = (m.epNext + 1) % memoSize
	return ep
}

func (m *lookupMemo) proxyFor(p *policy, route, method string) *layerPolicy {
	if ep := m.endpoint(p, route, method); ep != nil && ep.proxy != nil {
		return ep.proxy
	}
	return &p.proxy
}

func (m *lookupMemo) backendFor(p *policy, endpointRoute, endpointMethod, pattern string) *backendPolicy {
	if m == nil {
		return p.backendFor(endpointRoute, endpointMethod, pattern)
	}
	if len(p.backends) == 0 || pattern == "" {
		// What backendFor does then, through the memo.
		if ep := m.endpoint(p, endpointRoute, endpointMethod); ep != nil && ep.backend != nil {
			return ep.backend
		}
		return &p.backend
	}
	for i := range m.bes {
		if e := &m.bes[i]; e.p == p && e.pattern == pattern && e.route == endpointRoute && e.method == endpointMethod {
			return e.be
		}
	}
	be := p.backendFor(endpointRoute, endpointMethod, pattern)
	m.bes[m.beNext] = backendMemo{p, endpointRoute, endpointMethod, pattern, be}
	m.beNext = (m.beNext + 1) % memoSize
	return be
}

// uniform tells whether every item of a class gets the same verdict, so
// that a metric can be judged whole without reading its data points.
func (p *policy) uniform() bool {
	return len(p.skip) == 0 && len(p.endpoints) == 0 && len(p.backends) == 0
}

// dropReason says why an item was dropped; keep is zero.
type dropReason uint8

const (
	keep dropReason = iota
	reasonLayerDisabled
	reasonSwitchOff
	reasonSkipPath
	numReasons
)

func (r dropReason) String() string {
	switch r {
	case reasonLayerDisabled:
		return "layer_disabled"
	case reasonSwitchOff:
		return "switch_off"
	case reasonSkipPath:
		return "skip_path"
	}
	return "keep"
}

// Attribute keys that identify an item's endpoint and backend.
const (
	attrRoute          = "http.route"
	attrMethod         = "http.request.method"
	attrURLFull        = "url.full"
	attrEndpointRoute  = "krakend.endpoint.route"
	attrEndpointMethod = "krakend.endpoint.method"
)

func getStr(m pcommon.Map, k string) string {
	v, ok := m.Get(k)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return ""
	}
	return v.Str()
}

// traceVerdict is what to do with a span or log record that is kept.
type traceVerdict struct {
	drop          dropReason
	headers       *headerFilter
	static        []attr
	stripDetailed bool
}

// decideTrace judges a span (or a log record, which follows its layer's
// traces settings) of a gateway class.
func (p *policy) decideTrace(c layer.Class, attrs pcommon.Map, m *lookupMemo) traceVerdict {
	switch c.Layer {
	case layer.Global:
		var route string
		if len(p.skip) > 0 || len(p.endpoints) > 0 {
			route = getStr(attrs, attrRoute)
		}
		if len(p.skip) > 0 && (p.skip.matchRoute(route) || p.skip.matchRawPath(route, pathOfURL(getStr(attrs, attrURLFull)))) {
			return traceVerdict{drop: reasonSkipPath}
		}
		sp := &p.global.traces
		if sp.off {
			return traceVerdict{drop: reasonLayerDisabled}
		}
		v := traceVerdict{headers: &sp.headers, static: sp.static}
		if len(p.endpoints) > 0 {
			if ep := m.endpoint(p, route, getStr(attrs, attrMethod)); ep != nil && ep.hasGlobalTraces {
				v.static = ep.globalTraces
			}
		}
		return v
	case layer.Proxy:
		var route, method string
		if len(p.skip) > 0 || len(p.endpoints) > 0 {
			route = getStr(attrs, attrRoute)
		}
		if len(p.skip) > 0 && p.skip.matchRoute(route) {
			return traceVerdict{drop: reasonSkipPath}
		}
		if len(p.endpoints) > 0 {
			method = getStr(attrs, attrMethod)
		}
		sp := &m.proxyFor(p, route, method).traces
		if sp.off {
			return traceVerdict{drop: reasonLayerDisabled}
		}
		return traceVerdict{headers: &sp.headers, static: sp.static}
	case layer.Backend:
		bs := &p.backend.traces
		if len(p.skip) > 0 || len(p.endpoints) > 0 || len(p.backends) > 0 {
			route := getStr(attrs, attrEndpointRoute)
			if len(p.skip) > 0 && p.skip.matchRoute(route) {
				return traceVerdict{drop: reasonSkipPath}
			}
			if len(p.endpoints) > 0 || len(p.backends) > 0 {
				bs = &m.backendFor(p, route, getStr(attrs, attrEndpointMethod), getStr(attrs, attrRoute)).traces
			}
		}
		if !bs.on(c.Part) {
			return traceVerdict{drop: reasonSwitchOff}
		}
		return traceVerdict{
			headers:       &bs.headers,
			static:        bs.static,
			stripDetailed: c.Part == layer.PartRoundTrip && !bs.detailed,
		}
	}
	return traceVerdict{}
}

// decideMetric judges one metric data point of a gateway class and returns
// the static attributes it gets when kept.
func (p *policy) decideMetric(c layer.Class, attrs pcommon.Map, m *lookupMemo) (dropReason, []attr) {
	switch c.Layer {
	case layer.Global:
		var route string
		if len(p.skip) > 0 || len(p.endpoints) > 0 {
			route = getStr(attrs, attrRoute)
		}
		if len(p.skip) > 0 && p.skip.matchRoute(route) {
			return reasonSkipPath, nil
		}
		sp := &p.global.metrics
		if sp.off {
			return reasonLayerDisabled, nil
		}
		if len(p.endpoints) > 0 {
			if ep := m.endpoint(p, route, getStr(attrs, attrMethod)); ep != nil && ep.hasGlobalMetrics {
				return keep, ep.globalMetrics
			}
		}
		return keep, sp.static
	case layer.Proxy:
		var route, method string
		if len(p.skip) > 0 || len(p.endpoints) > 0 {
			route = getStr(attrs, attrRoute)
		}
		if len(p.skip) > 0 && p.skip.matchRoute(route) {
			return reasonSkipPath, nil
		}
		if len(p.endpoints) > 0 {
			method = getStr(attrs, attrMethod)
		}
		sp := &m.proxyFor(p, route, method).metrics
		if sp.off {
			return reasonLayerDisabled, nil
		}
		return keep, sp.static
	case layer.Backend:
		bs := &p.backend.metrics
		if len(p.skip) > 0 || len(p.endpoints) > 0 || len(p.backends) > 0 {
			route := getStr(attrs, attrEndpointRoute)
			if len(p.skip) > 0 && p.skip.matchRoute(route) {
				return reasonSkipPath, nil
			}
			if len(p.endpoints) > 0 || len(p.backends) > 0 {
				bs = &m.backendFor(p, route, getStr(attrs, attrEndpointMethod), getStr(attrs, attrRoute)).metrics
			}
		}
		if !bs.on(c.Part) {
			return reasonSwitchOff, nil
		}
		return keep, bs.static
	}
	return keep, nil
}

// filterHeaders strips and redacts the header attributes of a kept span.
func filterHeaders(attrs pcommon.Map, h *headerFilter, redact *headerSet) {
	if h == nil {
		return
	}
	if h.removes() {
		attrs.RemoveIf(func(k string, v pcommon.Value) bool {
			n := headerPrefixLen(k)
			if n == 0 {
				if isURLKey(k) && !redact.empty() {
					redactURLUserinfo(v)
				}
				return false
			}
			if h.dropAll || h.skip.contains(k, n) {
				return true
			}
			if redact.contains(k, n) {
				redactValue(v)
			}
			return false
		})
		return
	}
	if redact.empty() {
		return
	}
	for k, v := range attrs.All() {
		if n := headerPrefixLen(k); n > 0 {
			if redact.contains(k, n) {
				redactValue(v)
			}
		} else if isURLKey(k) {
			redactURLUserinfo(v)
		}
	}
}

// isURLKey tells the attributes that hold a whole URL: url.full, and
// http.url of the conventions before 1.21.
func isURLKey(k string) bool {
	return len(k) == len(attrURLFull) && (k == attrURLFull || k == attrHTTPURL)
}

// redactedUserinfo replaces the user info of a URL, as the semantic
// conventions ask of url.full.
const redactedUserinfo = "REDACTED:REDACTED"

// redactURLUserinfo replaces the credentials of a URL value
// (scheme://user:password@host/...) with REDACTED:REDACTED: a backend
// host written with credentials, which Go's HTTP client sends as the
// Authorization header that redaction covers, would otherwise reach every
// destination in the span's URL. A URL without user info, or already
// redacted, is left as it is.
func redactURLUserinfo(v pcommon.Value) {
	if v.Type() != pcommon.ValueTypeStr {
		return
	}
	u := v.Str()
	if strings.IndexByte(u, '@') < 0 {
		return // most URLs: no user info to look for
	}
	i := strings.Index(u, "://")
	if i < 0 || strings.ContainsAny(u[:i], "/?#") {
		return // no scheme: a path, whose query may hold a URL of its own
	}
	authority := u[i+3:]
	if end := strings.IndexAny(authority, "/?#"); end >= 0 {
		authority = authority[:end]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 || authority[:at] == redactedUserinfo {
		return
	}
	v.SetStr(u[:i+3] + redactedUserinfo + u[i+3+at:])
}

// headerPrefixLen is the length of a header attribute key's prefix, 0 for
// any other key.
func headerPrefixLen(k string) int {
	// Both prefixes start with "http.re"; one comparison rejects most keys.
	if len(k) <= len(requestHeaderPrefix) || k[:7] != "http.re" {
		return 0
	}
	if strings.HasPrefix(k, requestHeaderPrefix) {
		return len(requestHeaderPrefix)
	}
	if strings.HasPrefix(k, responseHeaderPrefix) {
		return len(responseHeaderPrefix)
	}
	return 0
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// redactValue replaces a header value, keeping its type: KrakenD writes
// header values as string arrays. Already redacted values are left alone so
// that a second pass writes nothing.
func redactValue(v pcommon.Value) {
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		if s.Len() == 1 && s.At(0).Type() == pcommon.ValueTypeStr && s.At(0).Str() == redactedValue {
			return
		}
		// Reuse the slice: one string write instead of a new array.
		if s.Len() == 0 {
			s.AppendEmpty()
		}
		n := 0
		s.RemoveIf(func(pcommon.Value) bool { n++; return n > 1 })
		redacted.Set(s.At(0), redactedValue)
	case pcommon.ValueTypeStr:
		if v.Str() != redactedValue {
			redacted.Set(v, redactedValue)
		}
	default:
		redacted.Set(v, redactedValue)
	}
}

// putStatic writes static attributes, skipping those already in place (the
// gateway writes the same ones when it runs the same configuration), with
// room for extra more attributes that the caller adds next. A list that
// must grow is cut from lists (nil: allocated by pdata).
func putStatic(attrs pcommon.Map, static []attr, extra int, lists *sharedvalue.ListSlab) {
	absent, n := setStatic(attrs, static, nil)
	putAbsent(attrs, static, absent, n, extra, lists)
}

// maxPlannedStatic bounds the static attributes setStatic tracks in its
// mask; more (a configuration nobody writes) are put one by one.
const maxPlannedStatic = 64

// setStatic is the first half of putStatic: it overwrites the static
// attributes the item has with another value, in place, and returns those
// it lacks (a mask over static) and their number. facts, when not nil,
// learns every static attribute the item ends up with.
func setStatic(attrs pcommon.Map, static []attr, facts *spanFacts) (absent uint64, n int) {
	if len(static) > maxPlannedStatic {
		for i := range static {
			a := &static[i]
			if v, ok := attrs.Get(a.key); !ok || v.Type() != pcommon.ValueTypeStr || v.Str() != a.value {
				a.shared.Put(attrs, a.key, a.value)
			}
			if facts != nil {
				facts.observeStr(a.key, a.value)
			}
		}
		return 0, 0
	}
	for i := range static {
		a := &static[i]
		if facts != nil {
			facts.observeStr(a.key, a.value)
		}
		v, ok := attrs.Get(a.key)
		if !ok {
			absent |= 1 << i
			n++
			continue
		}
		if v.Type() != pcommon.ValueTypeStr || v.Str() != a.value {
			a.shared.Set(v, a.value)
		}
	}
	return absent, n
}

// putAbsent is the second half of putStatic: it grows the attributes once,
// for the n absent static attributes and extra more, and adds the absent
// ones in order.
func putAbsent(attrs pcommon.Map, static []attr, absent uint64, n, extra int, lists *sharedvalue.ListSlab) {
	if n+extra > 0 {
		lists.EnsureCapacity(attrs, attrs.Len()+n+extra)
	}
	for ; absent != 0; absent &= absent - 1 {
		static[bits.TrailingZeros64(absent)].put(attrs)
	}
}

func stripDetailedAttrs(attrs pcommon.Map) {
	attrs.RemoveIf(func(k string, _ pcommon.Value) bool {
		for _, d := range detailedConnectionAttrs {
			if k == d {
				return true
			}
		}
		return false
	})
}
