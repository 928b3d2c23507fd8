package layerfilterprocessor

import (
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
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

// statusCodeStrings holds the error.type values of the error status codes,
// so that setting one allocates nothing.
var statusCodeStrings = func() (s [600]string) {
	for c := 400; c < 600; c++ {
		s[c] = strconv.Itoa(c)
	}
	return s
}()

// destinationNamer is the compiled DestinationNamesConfig.
type destinationNamer struct {
	on           bool
	scheme       string // default scheme of the global span's URL
	schemePrefix string // scheme + "://"
	errorStatus  bool
}

func newDestinationNamer(cfg DestinationNamesConfig) destinationNamer {
	return destinationNamer{
		on:           cfg.Enabled,
		scheme:       cfg.URLScheme,
		schemePrefix: cfg.URLScheme + "://",
		errorStatus:  cfg.ErrorStatus,
	}
}

// keySet tells which of the keys the namer may add a span already has.
type keySet uint8

const (
	hasOperationName keySet = 1 << iota
	hasResourceName
	hasPeerService
	hasHTTPURL
	hasURLScheme
	hasURLPath
	hasURLQuery
	hasErrorType
)

// spanFacts is what the namer needs of a span, read in one pass over its
// attributes rather than one look-up per key.
type spanFacts struct {
	method, route, urlFull, serverAddress, scheme string
	status                                        int64
	has                                           keySet
}

func readFacts(attrs pcommon.Map) spanFacts {
	var f spanFacts
	for k, v := range attrs.All() {
		switch k {
		case attrMethod:
			f.method = strValue(v)
		case attrRoute:
			f.route = strValue(v)
		case attrURLFull:
			f.urlFull = strValue(v)
		case attrServerAddress:
			f.serverAddress = strValue(v)
		case attrStatusCode:
			if v.Type() == pcommon.ValueTypeInt {
				f.status = v.Int()
			}
		case attrOperationName:
			f.has |= hasOperationName
		case attrResourceName:
			f.has |= hasResourceName
		case attrPeerService:
			f.has |= hasPeerService
		case attrHTTPURL:
			f.has |= hasHTTPURL
		case attrURLScheme:
			f.has |= hasURLScheme
			f.scheme = strValue(v)
		case attrURLPath:
			f.has |= hasURLPath
		case attrURLQuery:
			f.has |= hasURLQuery
		case attrErrorType:
			f.has |= hasErrorType
		}
	}
	return f
}

func strValue(v pcommon.Value) string {
	if v.Type() != pcommon.ValueTypeStr {
		return ""
	}
	return v.Str()
}

// resourceNames remembers the last resource name built per layer within a
// batch: the three backend spans of a call share one, and requests to the
// same endpoint follow one another, so most spans reuse a string instead of
// building one.
type resourceNames struct{ proxy, backend lastName }

type lastName struct{ method, route, value string }

func (l *lastName) get(method, route string) string {
	if l.value != "" && l.route == route && l.method == method {
		return l.value
	}
	v := route
	if method != "" {
		v = method + " " + route
	}
	l.method, l.route, l.value = method, route, v
	return v
}

// name adds the destination attributes of a kept gateway span's layer.
func (n *destinationNamer) name(c layer.Class, s ptrace.Span, last *resourceNames) {
	attrs := s.Attributes()
	f := readFacts(attrs)
	switch c {
	case layer.GlobalStage:
		n.absoluteURL(attrs, &f)
		n.markError(s, attrs, &f, 500)
	case layer.ProxyStage:
		putIfAbsent(attrs, f.has, hasOperationName, attrOperationName, opProxy)
		if f.route != "" && f.has&hasResourceName == 0 {
			attrs.PutStr(attrResourceName, last.proxy.get(f.method, f.route))
		}
		n.markError(s, attrs, &f, 500)
	case layer.BackendStage:
		putIfAbsent(attrs, f.has, hasOperationName, attrOperationName, opBackend)
		n.backendResource(attrs, &f, last)
		n.markError(s, attrs, &f, 500)
	case layer.BackendRoundTrip:
		n.backendResource(attrs, &f, last)
		if f.serverAddress != "" {
			putIfAbsent(attrs, f.has, hasPeerService, attrPeerService, f.serverAddress)
		}
		n.markError(s, attrs, &f, 400)
	case layer.BackendReadPayload:
		// No peer.service: X-Ray would name this internal subsegment
		// after the backend host, as if it were the call itself.
		putIfAbsent(attrs, f.has, hasOperationName, attrOperationName, opReadPayload)
		n.backendResource(attrs, &f, last)
	}
}

func putIfAbsent(attrs pcommon.Map, has, key keySet, k, v string) {
	if has&key == 0 {
		attrs.PutStr(k, v)
	}
}

// backendResource names a backend span after its method and url_pattern
// (KrakenD's http.route on backend spans).
func (n *destinationNamer) backendResource(attrs pcommon.Map, f *spanFacts, last *resourceNames) {
	if f.route != "" && f.has&hasResourceName == 0 {
		attrs.PutStr(attrResourceName, last.backend.get(f.method, f.route))
	}
}

// absoluteURL completes the global span's url.full, which KrakenD writes
// as the path and query only: url.scheme, url.path and url.query (Azure
// composes its request URL from them and server.address), and http.url,
// the whole URL (X-Ray). A url.full that is already absolute is left as it
// is, and so is everything when the Host header is unknown.
func (n *destinationNamer) absoluteURL(attrs pcommon.Map, f *spanFacts) {
	if f.urlFull == "" || f.urlFull[0] != '/' {
		return
	}
	prefix := n.schemePrefix
	if f.scheme != "" {
		prefix = ""
	} else {
		putIfAbsent(attrs, f.has, hasURLScheme, attrURLScheme, n.scheme)
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
	putIfAbsent(attrs, f.has, hasURLPath, attrURLPath, path)
	if query != "" {
		putIfAbsent(attrs, f.has, hasURLQuery, attrURLQuery, query)
	}
	if f.serverAddress == "" || f.has&hasHTTPURL != 0 {
		return
	}
	if prefix == "" {
		attrs.PutStr(attrHTTPURL, f.scheme+"://"+f.serverAddress+f.urlFull)
	} else {
		attrs.PutStr(attrHTTPURL, prefix+f.serverAddress+f.urlFull)
	}
}

// markError sets the status Error when the span's HTTP status code is at
// least threshold, with error.type the status code, as the HTTP semantic
// conventions ask; the status message stays empty (the code says it all).
// A status that is already Error is kept, message and all.
func (n *destinationNamer) markError(s ptrace.Span, attrs pcommon.Map, f *spanFacts, threshold int64) {
	if !n.errorStatus || f.status < threshold || f.status >= int64(len(statusCodeStrings)) {
		return
	}
	st := s.Status()
	if st.Code() == ptrace.StatusCodeError {
		return
	}
	st.SetCode(ptrace.StatusCodeError)
	putIfAbsent(attrs, f.has, hasErrorType, attrErrorType, statusCodeStrings[f.status])
}
