package layerfilterprocessor

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/internal/sharedvalue"
)

// Destination names (DESIGN.md section 8): per layer, the span attributes
// and the status that the stock trace exporters read to name and flag a
// span, so that X-Ray, Datadog and Azure Monitor show the gateway's layers
// by name without any change to their translators. Nothing the span
// already carries is overwritten; the only change to existing data is the
// status of an HTTP failure (OpenTelemetry's HTTP conventions), which the
// gateway leaves Ok or Unset.

// DestinationNamesConfig switches the destination names on and off.
type DestinationNamesConfig struct {
	// Enabled adds the attributes of each layer (see the README).
	Enabled bool `mapstructure:"enabled"`
	// URLScheme is the scheme of the gateway's own URL on the global span,
	// which KrakenD does not record (its metrics say "http"). Used only to
	// make the span's relative url.full absolute, never over a url.scheme
	// the span carries.
	URLScheme string `mapstructure:"url_scheme"`
	// ErrorStatus sets the status Error on HTTP failures as the HTTP
	// semantic conventions define them: a 5xx on the global (server) span
	// and on the proxy and backend stage spans, a 4xx or 5xx on the
	// backend-request (client) span.
	ErrorStatus bool `mapstructure:"error_status"`
}

const defaultURLScheme = "http"

func (d *DestinationNamesConfig) validate() []error {
	if !d.Enabled {
		return nil
	}
	switch d.URLScheme {
	case "http", "https":
		return nil
	}
	return []error{fmt.Errorf("destination_names.url_scheme: %q must be http or https", d.URLScheme)}
}

// Attribute keys the exporters read.
const (
	attrOperationName = "operation.name" // Datadog: the span's operation name
	attrResourceName  = "resource.name"  // Datadog: the span's resource
	attrPeerService   = "peer.service"   // X-Ray: a subsegment's name; Datadog: the inferred service
	// X-Ray reads http.url and url.full into the same field, the later
	// attribute winning: an absolute http.url added after the gateway's
	// relative url.full gives the segment a whole URL.
	attrHTTPURL       = "http.url"
	attrURLScheme     = "url.scheme" // Azure: RequestData url (with server.address and url.path)
	attrURLPath       = "url.path"
	attrURLQuery      = "url.query"
	attrErrorType     = "error.type"
	attrError         = "error" // the gateway's error message on proxy and backend stage spans
	attrServerAddress = "server.address"
	attrStatusCode    = "http.response.status_code"
)

// Operation names of the gateway's internal layers. The global and
// backend-request spans get none: Datadog's own mapping already names HTTP
// server and client spans http.server.request and http.client.request, and
// two attributes fewer per request keep the hot path cheaper.
const (
	opProxy       = "krakend.proxy"
	opBackend     = "krakend.backend"
	opReadPayload = "krakend.backend.read"
)

// The operation names, written with values every span shares.
var (
	opProxyAttr       = constAttr(attrOperationName, opProxy)
	opBackendAttr     = constAttr(attrOperationName, opBackend)
	opReadPayloadAttr = constAttr(attrOperationName, opReadPayload)
)

// errorTypeAttrs holds the error.type attributes of the error status codes,
// so that setting one allocates nothing.
var errorTypeAttrs = func() (s [600]attr) {
	for c := 400; c < 600; c++ {
		s[c] = constAttr(attrErrorType, strconv.Itoa(c))
	}
	return s
}()

// destinationNamer is the compiled DestinationNamesConfig.
type destinationNamer struct {
	on           bool
	scheme       attr   // default scheme of the global span's URL
	schemePrefix string // scheme + "://"
	errorStatus  bool
	// resources holds the resource names built so far, shared by the
	// batches: a gateway has a bounded set of (method, route).
	resources *nameCache
}

func newDestinationNamer(cfg DestinationNamesConfig) destinationNamer {
	return destinationNamer{
		on:           cfg.Enabled,
		scheme:       constAttr(attrURLScheme, cfg.URLScheme),
		schemePrefix: cfg.URLScheme + "://",
		errorStatus:  cfg.ErrorStatus,
		resources:    &nameCache{},
	}
}

// keySet tells which of the keys the namer reads a span already has.
type keySet uint16

const (
	hasOperationName keySet = 1 << iota
	hasResourceName
	hasPeerService
	hasHTTPURL
	hasURLScheme
	hasURLPath
	hasURLQuery
	hasErrorType
	hasMethod
	hasRoute
	hasURLFull
	hasServerAddress
	hasStatusCode
)

// spanFacts is what the namer needs of a span, read in one pass over its
// attributes rather than one look-up per key.
type spanFacts struct {
	method, route, urlFull, serverAddress, scheme string
	errMsg                                        string // the gateway's `error` attribute
	// serverAddressValue is server.address's value, which peer.service
	// shares when the namer copies it.
	serverAddressValue sharedvalue.Str
	status             int64
	has                keySet
	// dup: some key the namer reads comes twice in the span (which OTLP
	// forbids but pdata does not prevent); observe then cannot stand in
	// for a new pass over the attributes.
	dup bool
}

func readFacts(attrs pcommon.Map) spanFacts {
	var f spanFacts
	for k, v := range attrs.All() {
		var bit keySet
		switch k {
		case attrMethod:
			bit, f.method = hasMethod, strValue(v)
		case attrRoute:
			bit, f.route = hasRoute, strValue(v)
		case attrURLFull:
			bit, f.urlFull = hasURLFull, strValue(v)
		case attrServerAddress:
			bit, f.serverAddress, f.serverAddressValue = hasServerAddress, strValue(v), sharedvalue.Of(v)
		case attrStatusCode:
			bit = hasStatusCode
			if v.Type() == pcommon.ValueTypeInt {
				f.status = v.Int()
			}
		case attrOperationName:
			bit = hasOperationName
		case attrResourceName:
			bit = hasResourceName
		case attrPeerService:
			bit = hasPeerService
		case attrHTTPURL:
			bit = hasHTTPURL
		case attrURLScheme:
			bit, f.scheme = hasURLScheme, strValue(v)
		case attrURLPath:
			bit = hasURLPath
		case attrURLQuery:
			bit = hasURLQuery
		case attrErrorType:
			bit = hasErrorType
		case attrError:
			f.errMsg = strValue(v)
			continue
		default:
			continue
		}
		if f.has&bit != 0 {
			f.dup = true
		}
		f.has |= bit
	}
	return f
}

// observeStr updates the facts for a string attribute put on the span
// after readFacts: what a new readFacts would find, keys being unique.
func (f *spanFacts) observeStr(k, v string) {
	switch k {
	case attrMethod:
		f.has, f.method = f.has|hasMethod, v
	case attrRoute:
		f.has, f.route = f.has|hasRoute, v
	case attrURLFull:
		f.has, f.urlFull = f.has|hasURLFull, v
	case attrServerAddress:
		f.has, f.serverAddress, f.serverAddressValue = f.has|hasServerAddress, v, sharedvalue.Str{}
	case attrStatusCode:
		f.has, f.status = f.has|hasStatusCode, 0 // a string is no status code
	case attrOperationName:
		f.has |= hasOperationName
	case attrResourceName:
		f.has |= hasResourceName
	case attrPeerService:
		f.has |= hasPeerService
	case attrHTTPURL:
		f.has |= hasHTTPURL
	case attrURLScheme:
		f.has, f.scheme = f.has|hasURLScheme, v
	case attrURLPath:
		f.has |= hasURLPath
	case attrURLQuery:
		f.has |= hasURLQuery
	case attrErrorType:
		f.has |= hasErrorType
	case attrError:
		f.errMsg = v
	}
}

func strValue(v pcommon.Value) string {
	if v.Type() != pcommon.ValueTypeStr {
		return ""
	}
	return v.Str()
}

// resourceNames remembers the last resource name used per layer within a
// batch: the three backend spans of a call share one, and requests to the
// same endpoint follow one another, so most spans skip even the look-up in
// the namer's cache.
type resourceNames struct{ proxy, backend lastName }

type lastName struct {
	method, route string
	name          attr
}

func (l *lastName) get(c *nameCache, method, route string) attr {
	if l.name.value != "" && l.route == route && l.method == method {
		return l.name
	}
	a := c.get(method, route)
	l.method, l.route, l.name = method, route, a
	return a
}

// maxCachedNames bounds the namer's cache; past it (a sender with
// unbounded routes) names are built per span, as without a cache.
const maxCachedNames = 1024

type nameKey struct{ method, route string }

// nameCache maps (method, route) to the resource.name attribute "METHOD
// route", built once, its value shared by every span named after it.
// Readers take no lock: the map is replaced, never changed, when a name is
// added.
type nameCache struct {
	m  atomic.Pointer[map[nameKey]attr]
	mu sync.Mutex
}

func resourceName(method, route string) string {
	if method == "" {
		return route
	}
	return method + " " + route
}

func (c *nameCache) get(method, route string) attr {
	m := c.m.Load()
	if m != nil {
		if v, ok := (*m)[nameKey{method, route}]; ok {
			return v
		}
		if len(*m) >= maxCachedNames {
			return attr{key: attrResourceName, value: resourceName(method, route)}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if v, ok := (*old)[nameKey{method, route}]; ok {
			return v
		}
	}
	// Clone the key: the span's strings may share the memory of the whole
	// decoded request, which the cache must not keep alive.
	k := nameKey{strings.Clone(method), strings.Clone(route)}
	v := constAttr(attrResourceName, resourceName(k.method, k.route))
	next := make(map[nameKey]attr, len(*orEmpty(old))+1)
	for ok, ov := range *orEmpty(old) {
		next[ok] = ov
	}
	next[k] = v
	c.m.Store(&next)
	return v
}

var emptyNames = map[nameKey]attr{}

func orEmpty(m *map[nameKey]attr) *map[nameKey]attr {
	if m == nil {
		return &emptyNames
	}
	return m
}

// maxNamePuts is the most attributes plan adds to one span (global:
// url.scheme, url.path, url.query, http.url, error.type).
const maxNamePuts = 5

// namePuts are the attributes the namer adds to a span, in order.
type namePuts struct {
	kv [maxNamePuts]attr
	n  int
}

func (p *namePuts) add(a attr) {
	p.kv[p.n] = a
	p.n++
}

func (p *namePuts) addIfAbsent(has, bit keySet, a attr) {
	if has&bit == 0 {
		p.add(a)
	}
}

// apply adds the planned attributes, which the span does not have.
func (p *namePuts) apply(attrs pcommon.Map) {
	for i := 0; i < p.n; i++ {
		p.kv[i].put(attrs)
	}
}

// name adds the destination attributes of a kept gateway span's layer.
func (n *destinationNamer) name(c layer.Class, s ptrace.Span, last *resourceNames, lists *sharedvalue.ListSlab) {
	attrs := s.Attributes()
	f := readFacts(attrs)
	var puts namePuts
	n.plan(c, s, &f, last, &puts)
	if puts.n > 0 {
		lists.EnsureCapacity(attrs, attrs.Len()+puts.n)
		puts.apply(attrs)
	}
}

// plan lists the destination attributes of a kept gateway span's layer,
// from its facts, and sets its status; the caller adds the attributes.
func (n *destinationNamer) plan(c layer.Class, s ptrace.Span, f *spanFacts, last *resourceNames, out *namePuts) {
	switch c {
	case layer.GlobalStage:
		n.absoluteURL(f, out)
		n.markError(s, f, 500, out)
	case layer.ProxyStage:
		out.addIfAbsent(f.has, hasOperationName, opProxyAttr)
		if f.route != "" && f.has&hasResourceName == 0 {
			out.add(last.proxy.get(n.resources, f.method, f.route))
		}
		n.markError(s, f, 500, out)
	case layer.BackendStage:
		out.addIfAbsent(f.has, hasOperationName, opBackendAttr)
		n.backendResource(f, last, out)
		n.markError(s, f, 500, out)
	case layer.BackendRoundTrip:
		n.backendResource(f, last, out)
		if f.serverAddress != "" {
			out.addIfAbsent(f.has, hasPeerService, attr{key: attrPeerService, value: f.serverAddress, shared: f.serverAddressValue})
		}
		n.markError(s, f, 400, out)
	case layer.BackendReadPayload:
		// No peer.service: X-Ray would name this internal subsegment
		// after the backend host, as if it were the call itself.
		out.addIfAbsent(f.has, hasOperationName, opReadPayloadAttr)
		n.backendResource(f, last, out)
	}
}

// backendResource names a backend span after its method and url_pattern
// (KrakenD's http.route on backend spans).
func (n *destinationNamer) backendResource(f *spanFacts, last *resourceNames, out *namePuts) {
	if f.route != "" && f.has&hasResourceName == 0 {
		out.add(last.backend.get(n.resources, f.method, f.route))
	}
}

// absoluteURL completes the global span's url.full, which KrakenD writes
// as the path and query only: url.scheme, url.path and url.query (Azure
// composes its request URL from them and server.address), and http.url,
// the whole URL (X-Ray). A url.full that is already absolute is left as it
// is, and so is everything when the Host header is unknown.
func (n *destinationNamer) absoluteURL(f *spanFacts, out *namePuts) {
	if f.urlFull == "" || f.urlFull[0] != '/' {
		return
	}
	prefix := n.schemePrefix
	if f.scheme != "" {
		prefix = ""
	} else {
		out.addIfAbsent(f.has, hasURLScheme, n.scheme)
	}
	path, query := f.urlFull, ""
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		if path[i] == '?' {
			query = path[i+1:]
			if j := strings.IndexByte(query, '#'); j >= 0 {
				query = query[:j]
			}
		}
		path = path[:i]
	}
	out.addIfAbsent(f.has, hasURLPath, attr{key: attrURLPath, value: path})
	if query != "" {
		out.addIfAbsent(f.has, hasURLQuery, attr{key: attrURLQuery, value: query})
	}
	if f.serverAddress == "" || f.has&hasHTTPURL != 0 {
		return
	}
	if prefix == "" {
		out.add(attr{key: attrHTTPURL, value: f.scheme + "://" + f.serverAddress + f.urlFull})
	} else {
		out.add(attr{key: attrHTTPURL, value: prefix + f.serverAddress + f.urlFull})
	}
}

// markError sets the status Error when the span's HTTP status code is at
// least threshold, with error.type the status code, as the HTTP semantic
// conventions ask, and the gateway's error message (its `error` attribute,
// on proxy and backend stage spans) as the status message, which X-Ray,
// Datadog and Azure show as the error's cause. A status that is already
// Error is kept, message and all.
func (n *destinationNamer) markError(s ptrace.Span, f *spanFacts, threshold int64, out *namePuts) {
	if !n.errorStatus || f.status < threshold || f.status >= int64(len(errorTypeAttrs)) {
		return
	}
	st := s.Status()
	if st.Code() == ptrace.StatusCodeError {
		return
	}
	st.SetCode(ptrace.StatusCodeError)
	if f.errMsg != "" {
		st.SetMessage(f.errMsg)
	}
	out.addIfAbsent(f.has, hasErrorType, errorTypeAttrs[f.status])
}
