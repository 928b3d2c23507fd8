package translate

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// QueueStorage is the extension that holds the sending queues on disk when
// Options.QueueDirectory is set.
const QueueStorage = "file_storage/queue"

// Options tune what the translation produces around the krakend.json content.
type Options struct {
	// CollectorHosts are extra host names that denote the collector itself
	// (for example its service name in docker compose), besides localhost,
	// 127.0.0.1, ::1, 0.0.0.0 and :: (IP addresses however written).
	CollectorHosts []string
	// DisableHealthCheck leaves out the health_check extension.
	DisableHealthCheck bool
	// HealthCheckEndpoint defaults to 0.0.0.0:13133.
	HealthCheckEndpoint string
	// SelfMetricsPort is where the collector serves its own metrics;
	// default 8888.
	SelfMetricsPort int
	// QueueDirectory, when set, puts every exporter's sending_queue on disk
	// there (the file_storage extension): what the collector acknowledged
	// survives a crash or a restart.
	QueueDirectory string
	// Destinations are destinations krakend.json cannot name, translated
	// into the pipelines (KnownDestinations): "datadog" takes traces and
	// metrics, with Datadog's APM stats counted before the sampler in the
	// same pass of the layer filter, which an overlay cannot reach.
	Destinations []string
	// Sampling says where the krakend.json sample rate is applied:
	// SamplingCollector (the default) or SamplingGateway.
	Sampling string
}

// Sampling values.
const (
	// SamplingCollector re-applies the file's rate in the collector, by
	// the gateway's own rule: what a gateway at that rate started and kept
	// is all kept, a sender that sent everything is sampled, and traces a
	// gateway continued from a caller's sampled traceparent (its sampler
	// is parent-based) are sampled again.
	SamplingCollector = "collector"
	// SamplingGateway leaves sampling to the gateway that runs the file:
	// the collector keeps every trace it receives, so the traces the
	// gateway kept because a caller had sampled them stay whole.
	SamplingGateway = "gateway"
)

// CheckSampling tells whether name is an Options.Sampling value.
func CheckSampling(name string) error {
	switch name {
	case "", SamplingCollector, SamplingGateway:
		return nil
	}
	return fmt.Errorf("unknown sampling %q: %s (the default: the collector re-applies the rate) or %s (the gateway samples, the collector keeps what arrives)", name, SamplingCollector, SamplingGateway)
}

// DestinationDatadog is the Options.Destinations value for Datadog.
const DestinationDatadog = "datadog"

// KnownDestinations lists the values Options.Destinations accepts. The
// other destinations are overlays (config/overlays): they only add an
// exporter after the sampler, which merging does as well.
func KnownDestinations() []string { return []string{DestinationDatadog} }

// CheckDestination tells whether name is a destination the translation
// adds, and if not, what to use instead.
func CheckDestination(name string) error {
	if slices.Contains(KnownDestinations(), name) {
		return nil
	}
	return fmt.Errorf("unknown destination %q: the translation adds %s; for Tempo, X-Ray and Azure Monitor merge an overlay (config/overlays) with another --config", name, strings.Join(KnownDestinations(), ", "))
}

// Warning is something the collector cannot reproduce, or a choice the
// translator made that the user should know about.
type Warning struct {
	Path    string // JSON path in krakend.json; empty when it concerns the whole file
	Message string
}

func (w Warning) String() string {
	if w.Path == "" {
		return w.Message
	}
	return w.Path + ": " + w.Message
}

// EnvVar is an environment variable the collector reads, to be set by the user.
type EnvVar struct {
	Name    string
	Purpose string
}

// Result is the translated collector configuration.
type Result struct {
	YAML     []byte
	Warnings []Warning
	EnvVars  []EnvVar
}

// ErrNoTelemetry is returned (wrapped in a *krakend.Error) when krakend.json
// has none of the telemetry namespaces.
var ErrNoTelemetry = errors.New("no telemetry namespace")

const (
	defaultGRPC             = "0.0.0.0:4317"
	defaultHTTP             = "0.0.0.0:4318"
	defaultHealthCheck      = "0.0.0.0:13133"
	defaultSelfMetrics      = 8888
	gatewayScope            = "io.krakend.krakend-otel"
	receiverType            = "gateway"
	processorMemLimiter     = "memory_limiter"
	processorLayer          = "layerfilter"
	processorSampling       = "sampling"
	processorBatch          = "batch"
	processorPromCompat     = "prometheus_compat"
	processorRequestMetrics = "requestmetrics"
	connectorForward        = "forward"
	connectorRequestMetrics = "requestmetrics"
	connectorDatadog        = "datadog/stats"
	// extensionQueueStorage holds the persistent sending queues.
	extensionQueueStorage = QueueStorage
	// The sampler's batch: 1024 kept spans, or what a second gathered. At
	// 25 % of a 100k spans/s gateway a batch fills about every 40 ms, at
	// 20k every 0.2 s. Each batch wakes the collector for its export and
	// the answer: at 100 ms these wake-ups cost about 4 % of the CPU per
	// span at 20k spans/s (docs/benchmarks.md, run 43). 2048 spans would
	// hold 2 MiB more at 20k spans/s for no CPU the benchmark can tell
	// (run 45). KrakenD's own SDK holds spans for up to 5 s before it
	// sends them.
	samplerBatchTimeout = "1s"
	samplerBatchSize    = 1024
	// extensionStartupPages releases the executable's start-up pages.
	extensionStartupPages = "startup_pages"
)

// DefaultRedactHeaders is the layerfilter's list of credential headers whose
// values never leave the collector.
var DefaultRedactHeaders = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}

type exporterOut struct {
	id              string
	from            []string // comments
	cfg             *ymap
	traces, metrics bool
	queue           bool // supports sending_queue and retry_on_failure
	// batchProcessor: a push exporter with no sending_queue to batch in
	// (awsxray); its pipelines end with the batch processor.
	batchProcessor bool
}

type receiverOut struct {
	id         string
	grpc, http string
	// grpcAt and httpAt are the JSON paths of the ports the endpoints come
	// from, where a port conflict is reported.
	grpcAt, httpAt string
	notes          []string
}

type listener struct {
	host string
	port int
	what string
}

type translator struct {
	cfg  *krakend.Config
	opts Options
	src  string

	res  Result
	errs krakend.Errors

	resource  *ymap
	receivers []*receiverOut
	// semanticConvention is layers.global.semantic_convention ("" or
	// "1.27"), which every receiver is told; semanticConventionFrom is its
	// JSON path.
	semanticConvention, semanticConventionFrom string
	exporters                                  []*exporterOut
	layerfilter                                *ymap
	layerNotes                                 []string
	sampling                                   *ymap
	samplingNotes                              []string
	// sdkParityPercentage is the sampler's percentage when it samples by
	// the gateway's own rule alone (sdk_parity, no per-route rates).
	sdkParityPercentage *float64
	// upstreamPercentage is the rate at which the gateway that runs the
	// file samples the traces it starts, by the SDK rule, when it is one
	// rate: the request metrics weigh its spans back to requests.
	// upstreamPerRoute: the gateway samples some endpoints at rates of
	// their own, which the request metrics cannot weigh back.
	upstreamPercentage *float64
	upstreamPerRoute   bool
	// upstreamGateway names that gateway in the connector's note.
	upstreamGateway string
	// metricPushPeriod is how often, in seconds, the gateway pushes
	// metrics (metric_reporting_period); longestPush the longest period of
	// an exporter that pushes them to this collector.
	metricPushPeriod, longestPush int
	// traceStaticKeys are the keys of every traces static attribute.
	traceStaticKeys map[string]bool
	// samplesTraces: the sampler drops some traces (a percentage or a route
	// under 100), so request metrics must be counted before it.
	samplesTraces bool
	// gatewaySamplesTraces: the gateway samples and the collector keeps
	// what arrives (Options.Sampling gateway), so counts made from spans
	// count the gateway's sample.
	gatewaySamplesTraces bool
	listeners            []listener

	// signals that some exporters.otlp[] entry toward the collector carries
	hasLocal                        bool
	tracesToCollector               string // the first exporters.otlp[] entry that sends spans here
	metricsToCollector              string // and metrics
	deliversTraces, deliversMetrics bool
	ids                             map[string]bool
}

// Translate writes a collector configuration for cfg. The error, when not
// nil, is a *krakend.Error or krakend.Errors naming the file and the path.
func Translate(cfg *krakend.Config, opts Options) (*Result, error) {
	if cfg == nil {
		return nil, errors.New("translate: nil krakend config")
	}
	for _, d := range opts.Destinations {
		if err := CheckDestination(d); err != nil {
			return nil, fmt.Errorf("translate: %w", err)
		}
	}
	if err := CheckSampling(opts.Sampling); err != nil {
		return nil, fmt.Errorf("translate: %w", err)
	}
	t := &translator{cfg: cfg, opts: opts, src: cfg.Source, resource: newMap(), ids: map[string]bool{}}
	if t.src == "" {
		t.src = "krakend.json"
	}
	switch {
	case cfg.OpenTelemetry != nil:
		if cfg.OpenCensus != nil {
			t.warn(nsPath(cfg.OpenCensus.Namespace), "ignored: %s is present too and wins (the gateway runs both, the collector takes the OpenTelemetry one); remove the OpenCensus namespace", nsPath(krakend.NamespaceOpenTelemetry))
		}
		t.fromOpenTelemetry(cfg.OpenTelemetry)
	case cfg.OpenCensus != nil:
		t.fromOpenCensus(cfg.OpenCensus)
	default:
		return nil, fmt.Errorf("%w", &krakend.Error{Source: t.src, Path: "extra_config", Kind: krakend.KindRequired,
			Reason: fmt.Sprintf("%v: none of %q, %q or %q is present, so there is nothing to translate", ErrNoTelemetry,
				krakend.NamespaceOpenTelemetry, krakend.NamespaceOpenCensus, krakend.NamespaceOpenCensusLegacy)})
	}
	if len(t.errs) == 0 {
		t.finish()
	}
	switch len(t.errs) {
	case 0:
	case 1:
		return nil, t.errs[0]
	default:
		return nil, t.errs
	}
	out, err := t.render()
	if err != nil {
		return nil, fmt.Errorf("translate %s: %w", t.src, err)
	}
	t.res.YAML = out
	return &t.res, nil
}

func nsPath(ns string) string { return "extra_config[" + strconv.Quote(ns) + "]" }

func (t *translator) warn(path, format string, args ...any) {
	t.res.Warnings = append(t.res.Warnings, Warning{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (t *translator) fail(path string, kind krakend.Kind, format string, args ...any) {
	t.errs = append(t.errs, &krakend.Error{Source: t.src, Path: path, Kind: kind, Reason: fmt.Sprintf(format, args...)})
}

func (t *translator) env(name, purpose string) {
	for _, e := range t.res.EnvVars {
		if e.Name == name {
			return
		}
	}
	t.res.EnvVars = append(t.res.EnvVars, EnvVar{Name: name, Purpose: purpose})
}

// componentID makes a collector component ID `typ/name` from an exporter
// name: only letters, digits, `_`, `-` and `.` are kept, and IDs are unique.
func (t *translator) componentID(typ, name string) string {
	var b strings.Builder
	for _, c := range name {
		switch {
		case c == '_' || c == '-' || c == '.' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9'):
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	id := typ
	if b.Len() > 0 {
		id = typ + "/" + b.String()
	}
	for i := 2; t.ids[id]; i++ {
		id = fmt.Sprintf("%s/%s_%d", typ, b.String(), i)
	}
	t.ids[id] = true
	return id
}

func (t *translator) isCollectorHost(h string) bool {
	if h == "" || strings.EqualFold(h, "localhost") || isLoopback(h) {
		return true
	}
	if a, ok := ipLiteral(h); ok && a.IsUnspecified() {
		return true
	}
	for _, c := range t.opts.CollectorHosts {
		if strings.EqualFold(c, h) {
			return true
		}
	}
	return false
}

func hostPort(host string, port int) string {
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
}

func (t *translator) listen(host string, port int, what string) {
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	for _, l := range t.listeners {
		if l.port == port && (l.host == host || wild(l.host) || wild(host)) {
			at, other := what, l.what
			if !strings.HasPrefix(at, "extra_config") && strings.HasPrefix(other, "extra_config") {
				at, other = other, at // report at the JSON path the user can change
			}
			t.fail(at, krakend.KindDuplicate, "port %d is also used by %s: the collector cannot listen on it twice", port, other)
			return
		}
	}
	t.listeners = append(t.listeners, listener{host, port, what})
}

// datadogExporter is the datadog exporter's configuration, as the Datadog
// overlay has it: the key, the site and the host name from the
// environment.
func (t *translator) datadogExporter() *ymap {
	m := newMap()
	api := newMap()
	api.set("key", expanded("${env:DD_API_KEY}"))
	api.set("site", expanded("${env:DD_SITE:-datadoghq.com}"))
	m.set("api", api).note("the exporter sends to Datadog's intake: DD_SITE names your site outside US1 (datadoghq.eu, us5.datadoghq.com, ...)")
	t.env("DD_API_KEY", "Datadog API key for the datadog exporter")
	t.env("DD_SITE", "Datadog site outside US1, e.g. datadoghq.eu (default datadoghq.com)")
	// Without a hostname the exporter asks the cloud metadata services for
	// one, which holds the start-up for long where there are none.
	m.set("hostname", expanded("${env:DD_HOSTNAME:-otelcol-gateway}")).note("the host Datadog shows for this collector; set DD_HOSTNAME (detecting one blocks start-up outside a cloud)")
	t.env("DD_HOSTNAME", "the host name Datadog shows for this collector (default otelcol-gateway)")
	return m
}

// addDatadogDestination adds Datadog (Options.Destinations), unless
// krakend.json names it already.
func (t *translator) addDatadogDestination() {
	for _, e := range t.exporters {
		if strings.HasPrefix(e.id, "datadog") {
			t.warn("", "destination datadog: krakend.json names Datadog already (%s); not added twice", e.id)
			return
		}
	}
	t.addExporter(&exporterOut{id: t.componentID("datadog", ""), cfg: t.datadogExporter(), traces: true, metrics: true, queue: true,
		from: []string{"from the datadog destination (translate --destination datadog, krakend:...?destination=datadog)"}})
}

func (t *translator) addExporter(e *exporterOut) {
	t.exporters = append(t.exporters, e)
}

// receiverFor places a listen endpoint: the first gRPC and the first HTTP
// endpoint share the `gateway` receiver, others get their own instance.
func (t *translator) receiverFor(proto, endpoint, name, at, note string) {
	for _, r := range t.receivers {
		cur := &r.grpc
		if proto == "http" {
			cur = &r.http
		}
		if merged, ok := sharedEndpoint(*cur, endpoint); ok {
			*cur = merged
			r.notes = append(r.notes, note)
			return
		}
	}
	var r *receiverOut
	if len(t.receivers) > 0 {
		first := t.receivers[0]
		if (proto == "grpc" && first.grpc == "") || (proto == "http" && first.http == "") {
			r = first
		}
	}
	if r == nil {
		id := receiverType
		if len(t.receivers) > 0 {
			id = t.componentID(receiverType, name)
		} else {
			t.ids[id] = true
		}
		r = &receiverOut{id: id}
		t.receivers = append(t.receivers, r)
	}
	if proto == "grpc" {
		r.grpc, r.grpcAt = endpoint, at
	} else {
		r.http, r.httpAt = endpoint, at
	}
	r.notes = append(r.notes, note)
}

// sharedEndpoint tells whether a listener on endpoint a already takes what
// the gateway sends to endpoint b (the same port, and hosts one listener
// serves: the same, a wildcard, or localhost and 127.0.0.1, which Go's
// listener binds for localhost), and the endpoint that serves both: two
// listeners there would fail at start-up (address in use).
func sharedEndpoint(a, b string) (string, bool) {
	if a == b {
		return a, a != ""
	}
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || ap != bp {
		return "", false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	switch {
	case wild(ah):
		return a, true
	case wild(bh):
		return b, true
	case ah == "localhost" && bh == "127.0.0.1", ah == "127.0.0.1" && bh == "localhost":
		return a, true
	}
	return "", false
}

// finish adds what every configuration needs once the namespace is read:
// the default receiver, placeholders for signals with no destination, and
// the listen-port check.
func (t *translator) finish() {
	if len(t.receivers) == 0 {
		t.receivers = []*receiverOut{{id: receiverType, grpc: defaultGRPC, http: defaultHTTP,
			notes: []string{"no exporters.otlp[] entry points at the collector: it listens on the OTLP defaults"}}}
		t.ids[receiverType] = true
	}
	for _, r := range t.receivers {
		for _, ep := range [][2]string{{r.grpc, r.grpcAt}, {r.http, r.httpAt}} {
			if ep[0] == "" {
				continue
			}
			what := ep[1] // the krakend.json value, which the user can change
			if what == "" {
				what = "receiver " + r.id
			}
			h, p, err := net.SplitHostPort(ep[0])
			if err == nil {
				port, _ := strconv.Atoi(p)
				t.listen(h, port, what)
			}
		}
	}
	if !t.opts.DisableHealthCheck {
		h, p, err := net.SplitHostPort(t.healthEndpoint())
		if err == nil {
			port, _ := strconv.Atoi(p)
			t.listen(h, port, "the health_check extension")
		}
	}
	t.listen("0.0.0.0", t.selfMetricsPort(), "the collector's own metrics (service.telemetry)")

	if slices.Contains(t.opts.Destinations, DestinationDatadog) {
		t.addDatadogDestination()
	}
	var traces, metrics bool
	for _, e := range t.exporters {
		traces = traces || e.traces
		metrics = metrics || e.metrics
	}
	if t.hasLocal {
		if t.deliversTraces && !traces {
			t.warn("", "traces reach the collector but no exporter takes them: they go to the debug exporter; add a trace destination")
			t.addExporter(&exporterOut{id: t.componentID("debug", "traces"), traces: true,
				from: []string{"placeholder: the gateway sends traces here, and krakend.json names no other trace destination"},
				cfg:  placeholderDebugConfig()})
			traces = true
		}
		if t.deliversMetrics && !metrics {
			t.warn("", "metrics reach the collector but no exporter takes them: they go to the debug exporter; add a metrics destination")
			t.addExporter(&exporterOut{id: t.componentID("debug", "metrics"), metrics: true,
				from: []string{"placeholder: the gateway sends metrics here, and krakend.json names no other metrics destination"},
				cfg:  placeholderDebugConfig()})
			metrics = true
		}
		if traces && !t.deliversTraces {
			t.warn("", "no exporters.otlp[] entry toward the collector carries traces (each sets disable_traces): the gateway sends the collector no traces; enable traces on one of them")
		}
		if metrics && !t.deliversMetrics {
			t.warn("", "no exporters.otlp[] entry toward the collector carries metrics (each sets disable_metrics): the gateway sends the collector no metrics; enable metrics on one of them")
		}
	} else if traces || metrics {
		if h := t.likelyCollectorHost(); h != "" {
			// KrakenD's examples name the collector otel-collector: the
			// entry is most likely this collector under a name it was not told
			t.warn("", "the gateway does not send to the collector yet, unless %q is this collector: then translate with --collector-host %s (krakend:...?collector_host=%s, OTELCOL_GATEWAY_COLLECTOR_HOSTS=%s), and that entry becomes the receiver", h, h, h, h)
		} else {
			t.warn("", "the gateway does not send to the collector yet: replace the exporters this file declares with one exporters.otlp[] entry toward the collector's gateway receiver (%s), e.g. {\"name\": \"collector\", \"host\": \"<collector host>\", \"port\": 4317}", t.receivers[0].grpc)
		}
	}
	if !traces && !metrics {
		t.fail("extra_config", krakend.KindUnsupported, "nothing to export: every exporter is disabled or points back at the collector")
	}
}

func (t *translator) healthEndpoint() string {
	if t.opts.HealthCheckEndpoint != "" {
		return t.opts.HealthCheckEndpoint
	}
	return defaultHealthCheck
}

func (t *translator) selfMetricsPort() int {
	if t.opts.SelfMetricsPort > 0 {
		return t.opts.SelfMetricsPort
	}
	return defaultSelfMetrics
}

// placeholderDebugConfig logs a line a second at most: overlays that add
// the real destinations append to the pipeline and leave the placeholder in
// it, which would otherwise log every batch in production.
func placeholderDebugConfig() *ymap {
	m := debugConfig()
	m.set("sampling_initial", 1)
	m.set("sampling_thereafter", 1000).note("one line a second, then one batch in 1000: overlays that add destinations leave this placeholder in the pipeline")
	return m
}

func debugConfig() *ymap {
	m := newMap()
	m.set("verbosity", "basic")
	return m
}

func queueAndRetry(m *ymap, batch bool) {
	q := newMap()
	q.set("enabled", true)
	q.set("num_consumers", 4)
	qs := q.set("queue_size", 5000)
	if batch {
		q.set("batch", exporterBatch()).note("batches are made as the queue is read, so what the queue holds (on disk with storage) is all that was acknowledged")
	} else {
		qs.note("no batch here: the sampled spans are shared with a connector (the requestmetrics one at the pipeline's end, or the counters before a copying sampler), and a batching queue would make the collector copy every batch for this exporter; the sampler gathers the kept spans itself (sampling.batch), except with queues on disk, whose spans it would hold unacknowledged")
	}
	m.set("sending_queue", q).note("production defaults: buffer bursts and outages of the destination")
	r := newMap()
	r.set("enabled", true)
	r.set("initial_interval", "5s")
	r.set("max_interval", "30s")
	r.set("max_elapsed_time", "300s")
	m.set("retry_on_failure", r)
}

// sampledPipelineCanBeReadOnly tells whether the sampled traces pipeline
// can declare that it does not change its input, once the sampler copies
// the spans it keeps and the trace exporters do not batch: no batch
// processor (awsxray's), and one trace exporter at least that does not say
// it mutates (the collector's fan-out copies for those that do).
func (t *translator) sampledPipelineCanBeReadOnly() bool {
	readOnly := false
	for _, e := range t.exporters {
		if !e.traces {
			continue
		}
		if e.batchProcessor {
			return false
		}
		if !e.mutatesTraces() {
			readOnly = true
		}
	}
	return readOnly
}

// mutatesTraces: exporters that declare they change the traces they are
// given, whatever their queue (googlecloud rewrites spans in place).
func (e *exporterOut) mutatesTraces() bool {
	return e.id == "googlecloud" || strings.HasPrefix(e.id, "googlecloud/")
}

// exporterBatch is the batching the exporters do in their sending_queue,
// instead of a batch processor: that one acknowledges data it holds only in
// memory, so a crash loses up to a batch even with a persistent queue
// (docs/reliability.md). 4096 spans stay well under the 4 MiB default gRPC
// message limit of OTLP receivers such as Tempo's.
func exporterBatch() *ymap {
	b := newMap()
	b.set("flush_timeout", "200ms")
	b.set("sizer", "items")
	b.set("min_size", 4096)
	b.set("max_size", 4096)
	return b
}

func (t *translator) render() ([]byte, error) {
	root := newMap()

	// receivers
	recv := newMap()
	var recvIDs []string
	for _, r := range t.receivers {
		m := newMap()
		protos := newMap()
		if r.grpc != "" {
			g := newMap()
			g.set("endpoint", r.grpc)
			protos.set("grpc", g)
		}
		if r.http != "" {
			h := newMap()
			h.set("endpoint", r.http)
			protos.set("http", h)
		}
		m.set("protocols", protos)
		m.set("resource_defaults", t.resource).note("set only where the gateway left the key empty (service.name also over the SDK's unknown_service placeholder)")
		m.set("instance_id_from_peer", true).note("keeps replicas apart (service.instance.id) when the gateway sets none")
		m.set("gateway_scopes", []string{gatewayScope})
		if t.semanticConvention != "" {
			m.set("semantic_convention", t.semanticConvention).note(fmt.Sprintf(
				"from %s: the gateway then emits the started/failed/canceled/timedout counters and no-content-length only with detailed_connection, and the layerfilter's detailed_connection governs them", t.semanticConventionFrom))
		}
		recv.set(r.id, m).note(r.notes...)
		recvIDs = append(recvIDs, r.id)
	}
	root.set("receivers", recv)

	// Prometheus exporters get a pipeline of their own, with prometheus_compat,
	// so that what they expose reads like KrakenD's /metrics without the
	// other destinations seeing the changes that takes.
	var traceExp, metricExp, promExp, datadogExp []string
	for _, e := range t.exporters {
		if e.traces {
			traceExp = append(traceExp, e.id)
		}
		if e.traces && (e.id == "datadog" || strings.HasPrefix(e.id, "datadog/")) {
			datadogExp = append(datadogExp, e.id)
		}
		switch {
		case e.metrics && strings.HasPrefix(e.id, "prometheus"):
			promExp = append(promExp, e.id)
		case e.metrics:
			metricExp = append(metricExp, e.id)
		}
	}

	// Request rate, errors and latency from every span, before the sampler
	// drops any: exact at any sampling percentage. Datadog's APM stats (hits,
	// errors, latency) likewise: the datadog exporter computes none itself,
	// so without the connector Datadog would show no hit counts at all, and
	// computed after sampling they would be the sampled fraction.
	// A Datadog exporter that gets the APM stats has its request counts
	// there: the request metrics would be custom metrics Datadog bills for,
	// counting the same requests again.
	var countedExp, uncountedExp []string
	for _, id := range metricExp {
		if slices.Contains(datadogExp, id) {
			uncountedExp = append(uncountedExp, id)
		} else {
			countedExp = append(countedExp, id)
		}
	}
	red := t.samplesTraces && len(traceExp) > 0 && (len(countedExp) > 0 || len(promExp) > 0)
	datadogStats := len(datadogExp) > 0
	if red && t.upstreamPerRoute {
		t.warn("", "endpoints sample traces at rates of their own (exporters_override.trace_sample_rate): the gateway sends only those it keeps, and the request metrics counted from spans are not weighted back for them (KrakenD's own metrics count every request)")
	}
	if datadogStats && t.gatewaySamplesTraces {
		t.warn("", "Datadog's APM stats count the spans that reach the collector: with sampling %q, the traces the gateway kept, not every request (the gateway's request metrics stay exact)", SamplingGateway)
	}
	// Datadog's APM stats need every span before the sampler, and the
	// datadog connector can only be an exporter: the traces are split into
	// traces/in (counted) and traces (sampled). The request metrics alone
	// need no split: their processor counts in the one traces pipeline,
	// before the sampler, and their connector ends it (inline).
	split := t.samplesTraces && len(traceExp) > 0 && datadogStats
	inline := red && !split
	sharedInput := split && t.sampledPipelineCanBeReadOnly()
	// The traces exporters get batches they share with a connector: after
	// the split's copying sampler, or beside the inline requestmetrics.
	sharedExport := sharedInput || inline
	traceBatchProcessor := false
	for _, e := range t.exporters {
		if e.traces && e.batchProcessor {
			traceBatchProcessor = true
		}
	}

	// processors
	procs := newMap()
	ml := newMap()
	ml.set("check_interval", "1s")
	ml.set("limit_percentage", 80)
	ml.set("spike_limit_percentage", 25)
	procs.set(processorMemLimiter, ml).note("first in every pipeline: refuse data before the collector runs out of memory")
	// Naming each layer for X-Ray's and Datadog's views costs a few hundred
	// ns a span: only when such a destination is in the translation (their
	// overlays turn it on too).
	named := false
	for _, e := range t.exporters {
		if e.traces && (strings.HasPrefix(e.id, "awsxray") || strings.HasPrefix(e.id, "datadog")) {
			named = true
		}
	}
	dn := newMap()
	dn.set("enabled", named)
	if t.cfg.ServesTLS {
		// The global span's url.full is the path alone: the scheme comes
		// from here when the names make it absolute.
		dn.set("url_scheme", "https").note("from tls: the gateway serves HTTPS")
	}
	if named {
		t.layerfilter.set("destination_names", dn).note("per-layer names for X-Ray and Datadog (krakend.proxy, GET /route, peer.service, full URL), status Error on 5xx")
	} else {
		t.layerfilter.set("destination_names", dn).note("off: no destination here needs per-layer names (the X-Ray, Datadog and Azure overlays turn them on)")
	}
	if p := t.sdkParityPercentage; p != nil && len(traceExp) > 0 && !named && !(red && t.staticKeyIsCounted()) {
		u := newMap()
		u.set("sdk_parity_percentage", *p)
		t.layerfilter.set("unsampled_traces", u).note(fmt.Sprintf("the sampler keeps %s %% of traces by this same rule: the spans of the others are never exported (only counted), so they get no static attributes", fmtFloat(*p)))
	}
	procs.set(processorLayer, t.layerfilter).note(t.layerNotes...)
	if inline {
		procs.set(processorRequestMetrics, newMap()).note("counts every span the layer filter keeps for the requestmetrics connector, before the sampler: one traces pipeline counts and samples, and the sampler samples its input in place")
	}
	if len(traceExp) > 0 {
		if sharedInput {
			t.sampling.set("copy_kept_spans", true).note("the counters before it read the same spans: copying the kept share spares the collector a copy of every batch")
		}
		if sharedExport && t.opts.QueueDirectory == "" && !traceBatchProcessor {
			b := newMap()
			b.set("timeout", samplerBatchTimeout)
			b.set("send_batch_size", samplerBatchSize)
			what := "the kept spans of many gateway batches"
			if sharedInput {
				what = "the kept copies of many gateway batches"
			}
			t.sampling.set("batch", b).note("gathers " + what + " into fewer export requests (1024 spans, or what a second gathered: fewer wake-ups of the collector than a shorter timeout), with no other copy; as with the batch processor, a full exporter queue then loses spans (a warning counts them) instead of refusing the gateway")
		}
		procs.set(processorSampling, t.sampling).note(t.samplingNotes...)
	}
	if len(promExp) > 0 {
		procs.set(processorPromCompat, newMap()).note("Prometheus names as KrakenD shows them: no _b unit suffix, otel_scope_info, service_name on target_info")
	}
	batchFor := map[string]bool{}
	for _, e := range t.exporters {
		if e.batchProcessor {
			batchFor[e.id] = true
		}
	}
	if len(batchFor) > 0 {
		b := newMap()
		b.set("send_batch_size", 4096)
		b.set("send_batch_max_size", 4096)
		b.set("timeout", "200ms")
		procs.set(processorBatch, b).note("only before exporters with no sending_queue to batch in; it answers the gateway for them, so their errors do not make the gateway resend to the others")
	}
	root.set("processors", procs)

	// exporters
	exps := newMap()
	for _, e := range t.exporters {
		if e.queue {
			// Where a connector shares the sampled batches (the inline
			// requestmetrics, or the counters before a copying sampler), a
			// batching queue would make the collector copy every batch for
			// the exporter (a batching exporter says it mutates its input):
			// the sampler gathers them instead.
			queueAndRetry(e.cfg, !(sharedExport && e.traces))
		}
		if t.opts.QueueDirectory != "" {
			if q := e.cfg.get("sending_queue"); q != nil {
				q.set("storage", extensionQueueStorage).note("on disk: survives a crash and a restart")
			}
		}
		exps.set(e.id, e.cfg).note(e.from...)
	}
	root.set("exporters", exps)

	if split || red || datadogStats {
		conns := newMap()
		if split {
			conns.set(connectorForward, newMap()).note("hands every span on from traces/in to the sampled traces pipeline")
		}
		if red {
			note := "request rate, errors and latency per endpoint, backend and status, from every span before sampling"
			if inline {
				note += " (counted by the requestmetrics processor of the traces pipeline; the sampled spans that reach this connector are not counted again)"
			}
			conns.set(connectorRequestMetrics, t.requestMetricsConfig()).note(note)
		}
		if datadogStats {
			conns.set(connectorDatadog, datadogConnectorConfig()).note("Datadog's APM stats from every span before sampling: true hit counts at any sampling percentage")
		}
		root.set("connectors", conns)
	}

	// extensions
	var extIDs []string
	ext := newMap()
	if !t.opts.DisableHealthCheck {
		hc := newMap()
		hc.set("endpoint", t.healthEndpoint())
		ext.set("health_check", hc)
		extIDs = append(extIDs, "health_check")
	}
	ext.set(extensionStartupPages, newMap()).note("once every pipeline runs, gives back the executable's pages that only start-up read (about 40 MiB of resident memory)")
	extIDs = append(extIDs, extensionStartupPages)
	if t.opts.QueueDirectory != "" {
		fs := newMap()
		fs.set("directory", t.opts.QueueDirectory)
		fs.set("create_directory", true)
		ext.set(extensionQueueStorage, fs).note("the exporters' persistent queues")
		extIDs = append(extIDs, extensionQueueStorage)
	}
	if len(extIDs) > 0 {
		root.set("extensions", ext)
	}

	// service
	svc := newMap()
	if len(extIDs) > 0 {
		svc.set("extensions", extIDs)
	}
	tel := newMap()
	met := newMap()
	met.set("level", "normal")
	prom := newMap()
	prom.set("host", "0.0.0.0")
	prom.set("port", t.selfMetricsPort())
	exp := newMap()
	exp.set("prometheus", prom)
	pull := newMap()
	pull.set("exporter", exp)
	reader := newMap()
	reader.set("pull", pull)
	met.set("readers", blockSeq(reader.n))
	tel.set("metrics", met).note("the collector's own metrics (queue sizes, refused and sent items)")
	svc.set("telemetry", tel)
	pipes := newMap()
	metricRecvIDs := recvIDs
	// withBatch ends a processor list with batch when an exporter of the
	// pipeline needs it.
	withBatch := func(procs []string, exporters []string) []string {
		for _, e := range exporters {
			if batchFor[e] {
				return append(procs, processorBatch)
			}
		}
		return procs
	}
	switch {
	case split:
		var counters []string
		var what []string
		if red {
			counters = append(counters, connectorRequestMetrics)
			what = append(what, "requestmetrics")
		}
		if datadogStats {
			counters = append(counters, connectorDatadog)
			what = append(what, "Datadog's APM stats")
		}
		in := newMap()
		in.set("receivers", recvIDs)
		in.set("processors", []string{processorMemLimiter, processorLayer})
		in.set("exporters", append(counters, connectorForward))
		pipes.set("traces/in", in).note("every span the layer filter keeps: counted by " + strings.Join(what, " and ") + ", then sampled")
		p := newMap()
		p.set("receivers", []string{connectorForward})
		p.set("processors", withBatch([]string{processorSampling}, traceExp))
		p.set("exporters", traceExp)
		pipes.set("traces", p)
		if red {
			metricRecvIDs = append(append([]string(nil), recvIDs...), connectorRequestMetrics)
		}
	case inline:
		p := newMap()
		p.set("receivers", recvIDs)
		p.set("processors", withBatch([]string{processorMemLimiter, processorLayer, processorRequestMetrics, processorSampling}, traceExp))
		p.set("exporters", append(append([]string(nil), traceExp...), connectorRequestMetrics))
		pipes.set("traces", p).note("every span the layer filter keeps is counted by the requestmetrics processor, then sampled in place; the requestmetrics connector emits the counts")
		metricRecvIDs = append(append([]string(nil), recvIDs...), connectorRequestMetrics)
	case len(traceExp) > 0:
		exps := traceExp
		if datadogStats {
			// nothing is sampled: the stats see what the exporters see
			exps = append(append([]string(nil), traceExp...), connectorDatadog)
		}
		p := newMap()
		p.set("receivers", recvIDs)
		p.set("processors", withBatch([]string{processorMemLimiter, processorLayer, processorSampling}, exps))
		p.set("exporters", exps)
		pipes.set("traces", p)
	}
	metricsPipeline := func(name string, receivers, exporters []string, note string) {
		p := newMap()
		p.set("receivers", receivers)
		p.set("processors", withBatch([]string{processorMemLimiter, processorLayer}, exporters))
		p.set("exporters", exporters)
		pipes.set(name, p).note(note)
	}
	const exact = "metrics are never sampled: counts stay exact"
	switch {
	case red && len(countedExp) > 0:
		metricsPipeline("metrics", metricRecvIDs, countedExp, exact)
		if len(uncountedExp) > 0 {
			metricsPipeline("metrics/datadog", recvIDs, uncountedExp, "the gateway's metrics without the request metrics: Datadog counts requests in its APM stats")
		}
	case len(metricExp) > 0:
		note := exact
		if red && len(uncountedExp) > 0 {
			note += "; no request metrics here: Datadog counts requests in its APM stats"
		}
		metricsPipeline("metrics", recvIDs, metricExp, note)
	}
	if len(promExp) > 0 {
		p := newMap()
		p.set("receivers", metricRecvIDs)
		p.set("processors", []string{processorMemLimiter, processorLayer, processorPromCompat})
		p.set("exporters", promExp)
		pipes.set("metrics/prometheus", p).note("the Prometheus exporters' own pipeline: prometheus_compat changes only what they show")
	}
	if datadogStats {
		p := newMap()
		p.set("receivers", []string{connectorDatadog})
		p.set("exporters", datadogExp)
		pipes.set("metrics/datadog_stats", p).note("the APM stats go to Datadog's stats intake, not as metric series")
	}
	svc.set("pipelines", pipes)
	root.set("service", svc)

	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root.n}}
	doc.HeadComment = "otelcol-gateway configuration translated from " + t.src + "\nregenerate it rather than editing it by hand"
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// attrMap turns static attributes into the layerfilter's map, dropping (with
// a warning) what the gateway ignores.
func (t *translator) attrMap(path string, attrs []krakend.Attribute) *yaml.Node {
	m := newMap()
	seen := map[string]*yaml.Node{}
	for i, a := range attrs {
		p := fmt.Sprintf("%s[%d]", path, i)
		if a.Key == "" || a.Value == "" {
			t.warn(p, "empty key or value: the gateway ignores this attribute, so does the collector")
			continue
		}
		if a.Key == stageKey && strings.Contains(path, "traces") {
			t.warn(p, "%s is the gateway's layer marker: as a static attribute the gateway writes it over the stage of some spans (global, backend-request): the collector's receiver restores a value that names no stage, a stage name puts those spans in the wrong layer, and the collector's layer filter refuses the key; left out", stageKey)
			continue
		}
		if strings.Contains(a.Key, "::") {
			// confmap.KeyDelimiter: the key would become nested maps, and
			// the layer filter would refuse to start on them.
			t.fail(p+".key", krakend.KindUnsupported, "contains `::`, which the collector's configuration reads as a path separator: the key would become nested maps and the collector would not start; use a key without `::` (for example with . or _)")
			continue
		}
		if v, dup := seen[a.Key]; dup {
			t.warn(p, "key %q appears twice: the last value wins", a.Key)
			v.Value = a.Value
			continue
		}
		seen[a.Key] = m.set(a.Key, a.Value).v
		if strings.Contains(path, "traces") {
			if t.traceStaticKeys == nil {
				t.traceStaticKeys = map[string]bool{}
			}
			t.traceStaticKeys[a.Key] = true
		}
	}
	if len(m.n.Content) == 0 {
		return emptyMap()
	}
	return m.n
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// percent renders a 0..1 rate as a percentage without float noise.
// percent turns a rate into a percentage by moving the decimal point in the
// rate's shortest decimal form, not by multiplying: 0.0007*100 is
// 0.06999999999999999, and the sampler, which moves the point back, must
// arrive at exactly the gateway's float64 rate (sdk_parity is bit for bit).
func percent(r float64) float64 {
	mantissa, exp, _ := strings.Cut(strconv.FormatFloat(r, 'e', -1, 64), "e")
	e, _ := strconv.Atoi(exp)
	p, err := strconv.ParseFloat(mantissa+"e"+strconv.Itoa(e+2), 64)
	if err != nil {
		return r * 100
	}
	return p
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// datadogConnectorConfig computes stats for server and client spans (the
// gateway's request and its backend calls), not only top-level spans, and
// aggregates by peer tags so each backend host is a dimension.
func datadogConnectorConfig() *ymap {
	tr := newMap()
	tr.set("compute_stats_by_span_kind", true)
	tr.set("peer_tags_aggregation", true)
	m := newMap()
	m.set("traces", tr)
	return m
}

// stageKey is the span attribute that names a span's layer (DESIGN.md
// section 2).
const stageKey = "krakend.stage"

// xrayIndexedAttributes are the span attributes the awsxray exporter makes
// X-Ray annotations (searchable in filter expressions), as the X-Ray overlay
// (config/overlays/xray.yaml) names them: each span's layer, its route or
// url_pattern, and a backend span's endpoint.
var xrayIndexedAttributes = []string{stageKey, "http.route", "krakend.endpoint.route"}

// requestMetricsDimensions are the span attributes the request metrics
// count by.
var requestMetricsDimensions = []string{stageKey, "http.route", "krakend.endpoint.route", "http.request.method", "http.response.status_code"}

// staticKeyIsCounted tells whether a traces static attribute would change
// a request metrics dimension: then every span needs it, sampled or not.
func (t *translator) staticKeyIsCounted() bool {
	for _, d := range requestMetricsDimensions {
		if t.traceStaticKeys[d] {
			return true
		}
	}
	return false
}

// requestMetricsConfig counts gateway spans by what identifies a request at each
// layer: the endpoint or backend route, method, status and stage. Never by
// span name: the global span is named by the raw request path.
func (t *translator) requestMetricsConfig() *ymap {
	m := newMap()
	m.set("namespace", "gateway.spans")
	m.set("include_instrumentation_scope", []string{gatewayScope})
	var dims []*yaml.Node
	for _, d := range requestMetricsDimensions {
		dm := newMap()
		dm.set("name", d)
		dims = append(dims, dm.n)
	}
	m.set("dimensions", blockSeq(dims...))
	m.set("exclude_dimensions", []string{"span.name"})
	m.set("aggregation_cardinality_limit", 5000).note("series beyond this share one overflow series instead of growing without bound")
	h := newMap()
	h.set("unit", "s")
	ex := newMap()
	ex.set("buckets", []string{"10ms", "20ms", "50ms", "75ms", "100ms", "125ms", "150ms", "175ms", "200ms", "250ms", "300ms", "350ms", "500ms", "750ms", "1s", "1500ms", "2s", "3500ms", "5s", "10s"})
	h.set("explicit", ex).note("the gateway's own time buckets (krakend-otel config/histogram_buckets.go)")
	m.set("histogram", h)
	m.set("metrics_flush_interval", "15s")
	if p := t.upstreamPercentage; p != nil {
		u := newMap()
		u.set("percentage", *p)
		m.set("upstream_sampling", u).note(fmt.Sprintf("%s sends %s %% of the traces it starts: each span of those counts %.4g requests; a sender seen to start other traces (it does not sample) counts 1:1", t.upstreamGateway, fmtFloat(*p), 100 / *p))
	}
	return m
}

// likelyCollectorHost is the host of an exporters.otlp[] entry whose name
// says collector (otel-collector, otelcol), which the translation took for
// a destination.
func (t *translator) likelyCollectorHost() string {
	if t.cfg.OpenTelemetry == nil {
		return ""
	}
	for _, e := range t.cfg.OpenTelemetry.Exporters.OTLP {
		h, _ := e.HostName()
		if l := strings.ToLower(h); strings.Contains(l, "collector") || strings.Contains(l, "otelcol") {
			return h
		}
	}
	return ""
}
