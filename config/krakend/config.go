package krakend

import (
	"net/netip"
	"strconv"
	"strings"
)

// Namespaces of the root extra_config that this package reads.
const (
	NamespaceOpenTelemetry    = "telemetry/opentelemetry"
	NamespaceOpenCensus       = "telemetry/opencensus"
	NamespaceOpenCensusLegacy = "github_com/devopsfaith/krakend-opencensus"
)

// Secret is a credential read from krakend.json. It prints as [redacted] so
// that it cannot leak through an error message or a log line by accident.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing the value either.
func (s Secret) GoString() string { return `krakend.Secret("` + s.String() + `")` }

// Reveal returns the credential itself, for the rare caller that must use it.
func (s Secret) Reveal() string { return string(s) }

// Set reports whether the credential was given.
func (s Secret) Set() bool { return s != "" }

// Config is the part of a krakend.json that telemetry depends on.
type Config struct {
	Source  string // file name used in messages
	Version int    // 2 or 3
	Name    string // root `name`
	// ServesTLS: the root `tls` block is present and not disabled, so the
	// gateway's own URL is https://.
	ServesTLS bool

	// OpenTelemetry is extra_config["telemetry/opentelemetry"], defaults
	// applied; nil when absent.
	OpenTelemetry *OpenTelemetry
	// OpenCensus is extra_config["telemetry/opencensus"] or its older name;
	// nil when absent.
	OpenCensus *OpenCensus

	Endpoints []Endpoint
}

// Endpoint is one entry of the root `endpoints`.
type Endpoint struct {
	Endpoint string // the pattern as written, e.g. /users/{id}
	Method   string // as written; KrakenD's default is GET when empty
	Backends []Backend

	Telemetry *EndpointTelemetry // extra_config["telemetry/opentelemetry"]; nil when absent
	// PathAggregation is the OpenCensus path_aggregation ("pattern", "lastparam", "off").
	PathAggregation string
}

// Backend is one entry of an endpoint's `backend`.
type Backend struct {
	URLPattern string
	Host       []string
	Method     string

	Telemetry       *BackendTelemetry // extra_config["telemetry/opentelemetry"]; nil when absent
	PathAggregation string
}

// OpenTelemetry is the service-level `telemetry/opentelemetry` namespace.
type OpenTelemetry struct {
	ServiceName string
	// ServiceNameFrom says where ServiceName came from: "service_name",
	// "name" (the root name) or "default" ("KrakenD").
	ServiceNameFrom string
	// ServiceVersion is empty when unset: the gateway then reports its own
	// build version, which a translator cannot know.
	ServiceVersion string
	DeployEnv      string

	MetricReportingPeriod    int // seconds; default 30; <= 0 means the SDK's 60 s
	MetricReportingPeriodSet bool
	TraceSampleRate          float64 // default 1; only 0 < r < 1 samples
	TraceSampleRateSet       bool

	// SkipPaths after defaults: KrakenD's four when missing or empty. An
	// entry "" matches nothing, so [""] turns the defaults off.
	SkipPaths        []string
	SkipPathsDefault bool

	Exporters Exporters
	Layers    Layers

	// HistogramsSet is true when the schema-only `histograms` key is present
	// (the gateway does not read it).
	HistogramsSet bool
}

// Exporters of the OpenTelemetry namespace.
type Exporters struct {
	OTLP       []OTLPExporter
	Prometheus []PrometheusExporter
}

// OTLPExporter is one `exporters.otlp[]` entry, defaults applied.
type OTLPExporter struct {
	Name string
	// Host as written, defaulted to localhost; may carry http:// or https://.
	Host    string
	Port    int // default 4317, even with UseHTTP (as the gateway does)
	UseHTTP bool

	DisableMetrics bool
	DisableTraces  bool
	// CustomMetricReportingPeriod in seconds; 0 when unset.
	CustomMetricReportingPeriod int
}

// HostName returns the host without scheme, credentials, port or path, and
// the scheme ("" when none was written). An IPv6 literal keeps its brackets
// when it was written with them ("[::1]"), and is returned whole when it was
// not ("::1").
func (e OTLPExporter) HostName() (host, scheme string) {
	hp, scheme, _ := e.authority()
	return stripPort(hp), scheme
}

// HostHasPath reports a host written with a scheme and a path (a query, or
// just a trailing slash). The gateway formats "%s:%d" before parsing the URL
// (krakend-otel exporter/otelcollector/otelcollector.go:66), so the port
// lands in the path and the SDK's default port is used instead of `port`.
// (With a port of its own before the path, that port is used: HostPort.)
func (e OTLPExporter) HostHasPath() bool {
	hp, scheme, rest := e.authority()
	return scheme != "" && stripPort(hp) == hp && rest != ""
}

// HostPort returns a port written into host ("tempo:4318",
// "http://[fd00::1]:4318/v1"), 0 when there is none, and whether the gateway
// sends to it. The gateway appends its own ":port": after a scheme and a
// path, that lands in the path and the host's port is used; anywhere else it
// makes no address ("tempo:4318:4317").
func (e OTLPExporter) HostPort() (port int, used bool) {
	hp, scheme, rest := e.authority()
	p := hp[len(stripPort(hp)):]
	if len(p) < 2 || p[0] != ':' || !isPort(p[1:]) {
		return 0, false
	}
	port, _ = strconv.Atoi(p[1:])
	return port, scheme != "" && rest != ""
}

// HostIsBareIPv6 reports an IPv6 literal written without brackets ("::1",
// "http://fd00::1"): the gateway appends ":port" to it, which makes no
// address.
func (e OTLPExporter) HostIsBareIPv6() bool {
	h, _ := e.HostName()
	return strings.Count(h, ":") > 1 && h[0] != '['
}

// authority splits Host into what names the server (host, maybe with a
// port), the scheme, and what follows (path, query or fragment). Credentials
// before an @ after a scheme are dropped, as url.Parse does in the gateway.
func (e OTLPExporter) authority() (hostport, scheme, rest string) {
	h := e.Host
	for _, s := range []string{"http://", "https://"} {
		if len(h) >= len(s) && equalFold(h[:len(s)], s) {
			scheme = s[:len(s)-3]
			h = h[len(s):]
			break
		}
	}
	if i := strings.IndexAny(h, "/?#"); i >= 0 {
		h, rest = h[:i], h[i:]
	}
	if i := strings.LastIndexByte(h, '@'); i >= 0 && scheme != "" {
		h = h[i+1:]
	}
	return h, scheme, rest
}

// stripPort drops a port written into a host: the gateway appends its own
// `:port` (otelcollector.go builds "%s:%d"). A bare IPv6 literal has more
// than one colon and no port to drop.
func stripPort(hp string) string {
	if strings.HasPrefix(hp, "[") {
		if i := strings.IndexByte(hp, ']'); i >= 0 {
			return hp[:i+1]
		}
		return hp
	}
	if strings.Count(hp, ":") == 1 {
		return hp[:strings.IndexByte(hp, ':')]
	}
	return hp
}

// hostProblem says why Host names no server, or "" when it does. The value
// itself is left out of the reason: a URL may carry credentials.
func (e OTLPExporter) hostProblem() string {
	hp, _, _ := e.authority()
	const brackets = "an IPv6 address is written in brackets, [fd00::1], optionally followed by :port"
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "the IPv6 address has no closing `]`: " + brackets
		}
		if a, err := netip.ParseAddr(hp[1:end]); err != nil || !a.Is6() {
			return "brackets hold an IPv6 address, and this is none: " + brackets + "; a name or IPv4 address is written without them"
		}
		if after := hp[end+1:]; after != "" && (after[0] != ':' || !isPort(after[1:])) {
			return "only `:port` may follow the closing `]` of an IPv6 address"
		}
		return ""
	}
	switch strings.Count(hp, ":") {
	case 0:
	case 1:
		if !isPort(hp[strings.IndexByte(hp, ':')+1:]) {
			return "the port written after `:` must be a number 1..65535 (the gateway appends `port` itself; write it there)"
		}
	default:
		if _, err := netip.ParseAddr(hp); err != nil {
			return "neither a host:port nor an IPv6 address: " + brackets
		}
	}
	if strings.ContainsAny(hp, "[]") {
		return "brackets hold an IPv6 address: " + brackets
	}
	return ""
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && s[0] != '+' && s[0] != '-' && n >= 1 && n <= 65535
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// PrometheusExporter is one `exporters.prometheus[]` entry, defaults applied.
type PrometheusExporter struct {
	Name string
	Port int // default 9090
	// ListenIP is what docs and schema describe; Host is what the gateway's
	// code reads (it ignores listen_ip).
	ListenIP       string
	Host           string
	ProcessMetrics bool
	GoMetrics      bool
	DisableMetrics bool
}

// Attribute is one static attribute. The gateway ignores an entry whose key
// or value is empty; it is kept here so that a translator can say so.
type Attribute struct {
	Key   string
	Value string
}

// Layers is `layers` with every object defaulted on its own.
type Layers struct {
	Global  GlobalLayer
	Proxy   ProxyLayer
	Backend BackendLayer
}

// GlobalLayer is `layers.global` (KrakenD's HTTP server).
type GlobalLayer struct {
	DisableMetrics          bool
	DisableTraces           bool
	DisablePropagation      bool
	ReportHeaders           bool
	SkipHeaders             []string
	MetricsStaticAttributes []Attribute
	TracesStaticAttributes  []Attribute
	SemanticConvention      string // "" or "1.27"
	Defaulted               bool   // the object was absent or null
}

// ProxyLayer is `layers.proxy` ("pipe" in OpenCensus), or an endpoint's
// `proxy` override.
type ProxyLayer struct {
	DisableMetrics          bool
	DisableTraces           bool
	ReportHeaders           bool
	SkipHeaders             []string
	MetricsStaticAttributes []Attribute
	TracesStaticAttributes  []Attribute
	Defaulted               bool
}

// BackendLayer is `layers.backend`, or a `backend` override.
type BackendLayer struct {
	Metrics   BackendMetrics
	Traces    BackendTraces
	Defaulted bool // the whole `backend` object was absent or null
}

// BackendMetrics is `backend.metrics`.
type BackendMetrics struct {
	DisableStage       bool
	RoundTrip          bool
	ReadPayload        bool
	DetailedConnection bool
	StaticAttributes   []Attribute
	Defaulted          bool
}

// BackendTraces is `backend.traces`.
type BackendTraces struct {
	DisableStage       bool
	RoundTrip          bool
	ReadPayload        bool
	DetailedConnection bool
	ReportHeaders      bool
	SkipHeaders        []string
	StaticAttributes   []Attribute
	Defaulted          bool
}

// EndpointTelemetry is an endpoint's extra_config["telemetry/opentelemetry"].
// Overrides get no defaults of their own: an omitted boolean is false.
type EndpointTelemetry struct {
	// Proxy replaces layers.proxy whole for this endpoint.
	Proxy *ProxyLayer
	// GlobalMetricsStaticAttributes and GlobalTracesStaticAttributes come
	// from `global`; they are added to the service-level ones.
	GlobalMetricsStaticAttributes []Attribute
	GlobalTracesStaticAttributes  []Attribute
	GlobalSet                     bool
	// Backend (Enterprise only) replaces layers.backend for every backend of
	// the endpoint; an omitted metrics or traces object gets the all-on
	// defaults.
	Backend *BackendLayer
	// ExportersOverride (Enterprise only).
	ExportersOverride *ExportersOverride
}

// ExportersOverride is the Enterprise `exporters_override` of an endpoint.
type ExportersOverride struct {
	MetricReportingPeriod    int
	MetricReportingPeriodSet bool
	TraceSampleRate          float64
	TraceSampleRateSet       bool
	MetricExporters          []string
	TraceExporters           []string
}

// BackendTelemetry is a backend's extra_config["telemetry/opentelemetry"].
type BackendTelemetry struct {
	// Backend replaces layers.backend whole for this backend. Traces is
	// always present (an override without it is refused: the gateway
	// panics); an omitted metrics object gets the all-on defaults.
	Backend *BackendLayer
}

// OpenCensus is `telemetry/opencensus` or `github_com/devopsfaith/krakend-opencensus`.
type OpenCensus struct {
	Namespace string // the key it was read from

	SampleRate      int // 0..100; default 0 = no traces
	SampleRateSet   bool
	ReportingPeriod int // seconds; <= 0 means each exporter's default

	EnabledLayers OCEnabledLayers
	Exporters     OCExporters
}

// OCEnabledLayers is `enabled_layers`: absent = all on; present = omitted ones off.
type OCEnabledLayers struct {
	Router    bool
	Pipe      bool
	Backend   bool
	Defaulted bool
}

// OCExporters holds each declared OpenCensus exporter; declaring one enables it.
type OCExporters struct {
	Prometheus  *OCPrometheus
	Xray        *OCXray
	Datadog     *OCDatadog
	Jaeger      *OCJaeger
	Zipkin      *OCZipkin
	InfluxDB    *OCInfluxDB
	Stackdriver *OCStackdriver
	OCAgent     *OCAgent
	Logger      *OCLogger
}

// Count returns how many exporters are declared.
func (e OCExporters) Count() int {
	n := 0
	for _, set := range []bool{e.Prometheus != nil, e.Xray != nil, e.Datadog != nil, e.Jaeger != nil,
		e.Zipkin != nil, e.InfluxDB != nil, e.Stackdriver != nil, e.OCAgent != nil, e.Logger != nil} {
		if set {
			n++
		}
	}
	return n
}

type OCPrometheus struct {
	Port          int
	Namespace     string
	TagHost       bool
	TagPath       bool
	TagMethod     bool
	TagStatusCode bool
}

type OCXray struct {
	Region          string
	Version         string // default KrakenD-opencensus
	UseEnv          bool
	AccessKeyID     Secret
	SecretAccessKey Secret
}

type OCDatadog struct {
	Namespace              string
	Service                string
	TraceAddress           string
	StatsAddress           string
	Tags                   []string
	GlobalTags             map[string]string // values rendered as text
	DisableCountPerBuckets bool
}

type OCJaeger struct {
	Endpoint       string
	AgentEndpoint  string
	ServiceName    string
	BufferMaxCount int
	ProcessTags    map[string]string
}

type OCZipkin struct {
	CollectorURL string
	ServiceName  string
	IP           string
	Port         int
}

type OCInfluxDB struct {
	Address     string
	DB          string
	Username    string
	Password    Secret
	Timeout     string
	Ping        bool
	ServiceName string
	BufferSize  int
}

type OCStackdriver struct {
	ProjectID     string
	MetricPrefix  string
	DefaultLabels map[string]string
}

type OCAgent struct {
	Address           string
	ServiceName       string
	Headers           map[string]Secret
	Insecure          bool
	Reconnection      string
	EnableCompression bool
}

type OCLogger struct {
	Stats bool
	Spans bool
}
