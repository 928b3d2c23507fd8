package translate

import (
	"fmt"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

func (t *translator) fromOpenTelemetry(o *krakend.OpenTelemetry) {
	ns := nsPath(krakend.NamespaceOpenTelemetry)

	// resource_defaults
	switch o.ServiceNameFrom {
	case "service_name":
		t.resource.set("service.name", o.ServiceName).note(fmt.Sprintf("from %s.service_name", ns))
	case "name":
		t.resource.set("service.name", o.ServiceName).note("service_name unset: the gateway uses the root `name`")
	default:
		t.resource.set("service.name", o.ServiceName).note("neither service_name nor the root name is set: the gateway's default")
	}
	if o.ServiceVersion != "" {
		t.resource.set("service.version", o.ServiceVersion).note(fmt.Sprintf("from %s.service_version", ns))
	}
	if o.DeployEnv != "" {
		t.resource.set("deployment.environment", o.DeployEnv).note(fmt.Sprintf("from %s.deploy_env", ns))
	}

	// switches only the gateway honours
	if o.MetricReportingPeriodSet {
		extra := ""
		if o.MetricReportingPeriod <= 0 {
			extra = " (<= 0: the SDK's 60 s)"
		}
		t.warn(ns+".metric_reporting_period", "%d s%s is how often the gateway pushes metrics; the collector forwards them as they arrive and cannot change it", o.MetricReportingPeriod, extra)
	}
	if o.HistogramsSet {
		t.warn(ns+".histograms", "not read by the gateway (its buckets are fixed); ignored")
	}
	g := o.Layers.Global
	if g.DisablePropagation {
		t.warn(ns+".layers.global.disable_propagation", "only the gateway can stop reading incoming trace headers; keep it in krakend.json")
	}
	if g.SemanticConvention != "" {
		// The receiver must know: the names alone do not tell which
		// counters the gateway ties to detailed_connection.
		t.semanticConvention = g.SemanticConvention
		t.semanticConventionFrom = ns + ".layers.global.semantic_convention"
		t.warn(t.semanticConventionFrom, "%q renames the gateway's HTTP metrics (http.server.request.duration, http.client.request.duration, ...); the collector passes them on under those names, so dashboards built on the default names (Datadog's KrakenD integration) do not find them", g.SemanticConvention)
	}

	t.metricPushPeriod = o.MetricReportingPeriod
	if t.metricPushPeriod <= 0 {
		t.metricPushPeriod = 60 // the SDK's
	}
	for i, e := range o.Exporters.OTLP {
		t.otlp(fmt.Sprintf("%s.exporters.otlp[%d]", ns, i), e)
	}
	for i, p := range o.Exporters.Prometheus {
		t.prometheus(fmt.Sprintf("%s.exporters.prometheus[%d]", ns, i), p)
	}

	t.otelSampling(ns, o)
	t.otelLayerFilter(ns, o)
}

func (t *translator) otlp(path string, e krakend.OTLPExporter) {
	traces, metrics := !e.DisableTraces, !e.DisableMetrics
	if !traces && !metrics {
		t.warn(path, "exporter %q sets both disable_metrics and disable_traces: it exports nothing; left out", e.Name)
		return
	}
	if e.CustomMetricReportingPeriod > 0 && metrics {
		t.warn(path+".custom_metric_reporting_period", "%d s is the gateway's push period for this exporter; the collector forwards metrics as they arrive", e.CustomMetricReportingPeriod)
	}
	host, scheme := e.HostName()
	// what the notes show of host: no credentials, path or query
	shownHost := host
	if scheme != "" {
		shownHost = scheme + "://" + host
	}
	signals := signalWords(traces, metrics)
	if written, used := e.HostPort(); written != 0 {
		// The port the user wrote beside the address wins: where the
		// gateway sends when it can, and what it meant when it cannot.
		if !used {
			t.warn(path+".host", "a port in host: the gateway appends :%d to it (%s:%d:%d), which is no address, so it sends nothing from this entry; write the port in `port` alone. The collector uses port %d", e.Port, host, written, e.Port, written)
		} else if written != e.Port {
			t.warn(path+".host", "the gateway sends to port %d written in host (its :%d lands in the path), not to `port`; the collector uses %d too", written, e.Port, written)
		}
		e.Port = written
	}
	if e.HostHasPath() {
		t.warn(path+".host", "the path is dropped, and so is the port: the gateway appends :%d after the path, so it really sends to the SDK's default port; the collector uses port %d as written", e.Port, e.Port)
	}
	if e.HostIsBareIPv6() {
		t.warn(path+".host", "an IPv6 address without brackets: the gateway appends :%d to it, which makes no address it can send to; write [%s]. The collector reads it as %s", e.Port, host, hostPort(host, e.Port))
	}
	if t.isCollectorHost(host) {
		// Each entry is an exporter of its own in the gateway: two that send
		// a signal to this collector send it twice.
		for _, sig := range []struct {
			on         bool
			first      *string
			what, flag string
			twice      string
		}{
			{traces, &t.tracesToCollector, "spans", "disable_traces", "every span twice in the trace backends, and request metrics that count each request twice"},
			{metrics, &t.metricsToCollector, "metrics", "disable_metrics", "every data point twice at the metrics destinations"},
		} {
			switch {
			case !sig.on:
			case *sig.first == "":
				*sig.first = path
			default:
				t.warn(path, "sends the gateway's %s to this collector, as %s does: %s; keep one entry, or set %s in one", sig.what, *sig.first, sig.twice, sig.flag)
			}
		}
		t.hasLocal = true
		t.deliversTraces = t.deliversTraces || traces
		t.deliversMetrics = t.deliversMetrics || metrics
		if metrics {
			period := e.CustomMetricReportingPeriod
			if period <= 0 {
				period = t.metricPushPeriod
			}
			t.longestPush = max(t.longestPush, period)
		}
		bind := host
		if a, ok := ipLiteral(host); ok && isLoopback(host) {
			bind = a.String() // one spelling, so that listeners compare
		} else if !isLoopback(bind) {
			bind = "0.0.0.0" // a name of the collector, or a wildcard: reachable over the network
		}
		proto, protoName := "grpc", "gRPC"
		if e.UseHTTP {
			proto, protoName = "http", "HTTP"
		}
		switch {
		case scheme == "https" && e.UseHTTP:
			t.warn(path+".host", "the gateway sends OTLP/%s over TLS here (https://); the receiver listens without TLS until you add a tls block under protocols.%s", protoName, proto)
		case scheme == "https":
			// KrakenD's gRPC exporter is plaintext whatever the scheme
			// (krakend-otel exporter/otelcollector/otelcollector.go:176,
			// Exporter passes WithInsecure).
			t.warn(path+".host", "https:// with gRPC: KrakenD still sends plaintext (its gRPC exporter is always insecure), which the receiver takes as it listens without TLS; a sender that honours https:// (sdk/gatewayotel) needs a tls block under protocols.grpc")
		}
		t.receiverFor(proto, hostPort(bind, e.Port), e.Name, path+".port",
			fmt.Sprintf("%s from %s (%q, host %s, port %d): where the gateway already sends %s", proto, path, e.Name, shownHost, e.Port, signals))
		return
	}

	m := newMap()
	var id string
	from := fmt.Sprintf("from %s (%q, host %s, port %d): the gateway sent %s there directly", path, e.Name, shownHost, e.Port, signals)
	if e.UseHTTP {
		if scheme == "" {
			scheme = "http" // the gateway sends plaintext when host has no scheme
		}
		id = t.componentID("otlp_http", e.Name)
		m.set("endpoint", scheme+"://"+hostPort(host, e.Port))
	} else {
		id = t.componentID("otlp_grpc", e.Name)
		m.set("endpoint", hostPort(host, e.Port))
		// KrakenD's gRPC exporter is plaintext whatever the scheme
		// (krakend-otel exporter/otelcollector/otelcollector.go:176, Exporter
		// passes WithInsecure before https:// is read): the destination took
		// plaintext, so the collector keeps it.
		tls := newMap()
		tls.set("insecure", true)
		if scheme == "https" {
			m.set("tls", tls).note("plaintext, as the gateway sent it despite https:// in host; set insecure: false if the destination serves TLS")
			t.warn(path+".host", "https:// with gRPC: KrakenD sent this plaintext (its gRPC exporter is always insecure); the collector keeps plaintext (tls.insecure: true) until you set insecure: false")
		} else {
			m.set("tls", tls).note("plaintext, as the gateway sent it; set insecure: false if the destination serves TLS")
		}
	}
	m.set("compression", "none").note("as the gateway sent it: krakend-otel's OTLP exporters set no compressor (gzip only with OTEL_EXPORTER_OTLP_COMPRESSION); gzip would cost about a tenth of the collector's CPU, set it for a remote or metered link")
	t.addExporter(&exporterOut{id: id, cfg: m, traces: traces, metrics: metrics, queue: true, from: []string{from}})
}

// isLoopback: localhost, 127.0.0.1 or ::1, however the address is written
// ([::1], 0:0:0:0:0:0:0:1, ::ffff:127.0.0.1).
func isLoopback(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, ok := ipLiteral(h)
	return ok && (a == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || a == netip.IPv6Loopback())
}

// ipLiteral reads an IP address written with or without brackets, IPv4 in
// IPv6 as IPv4.
func ipLiteral(h string) (netip.Addr, bool) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func signalWords(traces, metrics bool) string {
	switch {
	case traces && metrics:
		return "traces and metrics"
	case traces:
		return "traces"
	}
	return "metrics"
}

// defaultMetricExpiration is the prometheus exporter's, in seconds
// (prometheusexporter factory.go).
const defaultMetricExpiration = 300

func (t *translator) prometheus(path string, p krakend.PrometheusExporter) {
	if p.DisableMetrics {
		t.warn(path, "exporter %q sets disable_metrics: it exports nothing; left out", p.Name)
		return
	}
	if p.GoMetrics {
		t.warn(path+".go_metrics", "go_* metrics come from the gateway's own Prometheus registry and are never sent over OTLP: the collector cannot expose them")
	}
	if p.ProcessMetrics {
		t.warn(path+".process_metrics", "process_* metrics come from the gateway's own Prometheus registry and are never sent over OTLP: the collector cannot expose them")
	}
	bind, note := "0.0.0.0", "no listen_ip: all interfaces"
	switch {
	case p.ListenIP != "":
		bind, note = p.ListenIP, "listen_ip (the gateway's code ignores it and binds all interfaces; the collector honours it)"
	case p.Host != "":
		bind, note = p.Host, "host (what the gateway's code reads)"
	}
	m := newMap()
	m.set("endpoint", hostPort(bind, p.Port)).line(note)
	rc := newMap()
	rc.set("enabled", false)
	m.set("resource_to_telemetry_conversion", rc)
	m.set("enable_open_metrics", false)
	// The exporter forgets a series after metric_expiration (5 min by
	// default) without a point; KrakenD's own endpoint never forgets one.
	if p := t.longestPush; p > defaultMetricExpiration/3 {
		exp := max(defaultMetricExpiration, 3*p)
		m.set("metric_expiration", fmt.Sprintf("%ds", exp)).note(fmt.Sprintf("three of the gateway's pushes (every %d s): by default the exporter forgets a series after %d s without a point, and the series would vanish between pushes", p, defaultMetricExpiration))
	}
	id := t.componentID("prometheus", p.Name)
	t.listen(strings.Trim(bind, "[]"), p.Port, path+".port")
	t.addExporter(&exporterOut{id: id, cfg: m, metrics: true,
		from: []string{fmt.Sprintf("from %s (%q, port %d): the gateway served /metrics itself", path, p.Name, p.Port)}})
}

func (t *translator) otelSampling(ns string, o *krakend.OpenTelemetry) {
	r := o.TraceSampleRate
	s := newMap()
	var note string
	pct := 100.0
	switch {
	case r > 0 && r < 1:
		pct = percent(r)
		note = fmt.Sprintf("from %s.trace_sample_rate = %s", ns, fmtFloat(r))
	case !o.TraceSampleRateSet:
		note = "trace_sample_rate absent: the gateway's default 1 keeps every trace"
	default:
		note = fmt.Sprintf("from %s.trace_sample_rate = %s: only 0 < r < 1 samples, so the gateway keeps every trace", ns, fmtFloat(r))
		if r <= 0 {
			t.warn(ns+".trace_sample_rate", "%s keeps every trace in the gateway (only 0 < r < 1 samples), though the schema's wording suggests none; translated as 100%%", fmtFloat(r))
		}
	}
	routes := newMap()
	// The sampler's routes have no method, and it takes `/a/:id` and
	// `/a/:name` for one route: endpoints that share a route (GET and POST
	// /users) must share one entry.
	type routeEntry struct {
		e   entry
		pct float64
	}
	routeAt := map[string]*routeEntry{}
	gatewaySamples := pct < 100
	for i, ep := range t.cfg.Endpoints {
		if ep.Telemetry == nil || ep.Telemetry.ExportersOverride == nil {
			continue
		}
		eo := ep.Telemetry.ExportersOverride
		p := fmt.Sprintf("endpoints[%d].extra_config[%q].exporters_override", i, krakend.NamespaceOpenTelemetry)
		if eo.TraceSampleRateSet {
			rp := 100.0
			if eo.TraceSampleRate > 0 && eo.TraceSampleRate < 1 {
				rp = percent(eo.TraceSampleRate)
			}
			gatewaySamples = gatewaySamples || rp < 100
			route := colonRoute(luraPath(ep.Endpoint))
			from := fmt.Sprintf("from %s.trace_sample_rate = %s (Enterprise)", p, fmtFloat(eo.TraceSampleRate))
			if prev, dup := routeAt[routeKey(route)]; dup {
				if rp != prev.pct {
					// The higher percentage keeps every trace the gateway
					// kept at the lower one (the same rule, nested).
					t.warn(p+".trace_sample_rate", "another endpoint on route %s samples at %s %%: the collector samples by route, not by method, so the route keeps the higher rate", route, fmtFloat(prev.pct))
					if rp > prev.pct {
						prev.pct = rp
						*prev.e.v = *toNode(rp)
					}
				}
				prev.e.note(from)
			} else {
				routeAt[routeKey(route)] = &routeEntry{routes.set(route, rp).note(from), rp}
			}
		}
		if eo.MetricReportingPeriodSet {
			t.warn(p+".metric_reporting_period", "the gateway's push period; the collector forwards metrics as they arrive")
		}
		if len(eo.MetricExporters) > 0 || len(eo.TraceExporters) > 0 {
			t.warn(p, "per-endpoint exporter selection is not reproduced: every exporter of the pipeline receives this endpoint's telemetry")
		}
	}
	if t.opts.Sampling == SamplingGateway {
		t.samplingAtGateway(note, gatewaySamples)
		return
	}
	s.set("sampling_percentage", pct)
	t.samplesTraces = gatewaySamples
	s.set("mode", "sdk_parity").note("the gateway's own rule: every trace a gateway at this rate started and kept is kept; those it continued from a caller's sampled traceparent are sampled again")
	if len(routes.n.Content) > 0 {
		s.set("routes", routes).note("per endpoint, by the root span's http.route (colon form, as the gateway writes it)")
		t.upstreamPerRoute = gatewaySamples
	} else if pct < 100 {
		t.sdkParityPercentage = &pct
		t.upstreamPercentage = &pct
		t.upstreamGateway = "the gateway that runs this file"
	}
	t.sampling = s
	t.samplingNotes = []string{note}
	if gatewaySamples && !o.Layers.Global.DisablePropagation {
		t.warnResampledCallers(ns + ".trace_sample_rate")
	}
}

// warnResampledCallers says what the collector's sampler cannot reproduce
// of a gateway that samples and reads incoming trace headers: KrakenD keeps
// every trace a caller sampled (ParentBased, krakend-otel state/state.go),
// and only the gateway's root span knows it had such a caller, while its
// other spans often reach the collector in an earlier batch.
func (t *translator) warnResampledCallers(path string) {
	t.warn(path, "the gateway also keeps every trace a caller sampled (its sampler is parent-based); the collector samples those again by the trace ID, so most of them lose the gateway's spans: when callers send sampled traceparents, translate with sampling %q (translate --sampling %s, krakend:...?sampling=%s or OTELCOL_GATEWAY_SAMPLING=%s) and the gateway alone samples", SamplingGateway, SamplingGateway, SamplingGateway, SamplingGateway)
}

// samplingAtGateway writes the sampler of Options.Sampling == gateway: the
// gateway that runs the file has applied its rate (parent-based, so with
// every trace a caller sampled), and the collector keeps what arrives.
func (t *translator) samplingAtGateway(rateNote string, gatewaySamples bool) {
	s := newMap()
	s.set("sampling_percentage", 100)
	s.set("mode", "sdk_parity")
	t.sampling = s
	t.samplingNotes = []string{rateNote, "applied by the gateway (sampling: gateway), which also keeps every trace a caller sampled: the collector keeps every trace it receives"}
	t.gatewaySamplesTraces = gatewaySamples
}

// luraPath is an endpoint or url_pattern as the gateway serves and reports
// it: Lura writes a leading / before one that lacks it (config.URI.CleanPath).
func luraPath(p string) string {
	return "/" + strings.TrimPrefix(p, "/")
}

// colonRoute writes /users/{id} as /users/:id, the form of the gateway's http.route.
func colonRoute(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '{' {
			if j := strings.IndexByte(p[i:], '}'); j > 0 {
				b.WriteByte(':')
				b.WriteString(p[i+1 : i+j])
				i += j
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// routeKey erases parameter names: the sampler takes routes that differ
// only in them for one.
func routeKey(colon string) string {
	segs := strings.Split(colon, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = ":"
		}
	}
	return strings.Join(segs, "/")
}

func (t *translator) otelLayerFilter(ns string, o *krakend.OpenTelemetry) {
	lf := newMap()
	var skip []string
	for i, s := range o.SkipPaths {
		if s == "" {
			continue
		}
		// The layer filter refuses such an entry, and the gateway compares
		// it with paths, which start with / and carry no query: it never
		// matched.
		if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, "?#") {
			t.warn(fmt.Sprintf("%s.skip_paths[%d]", ns, i), "%q never matched in the gateway (it compares paths, which start with / and carry no query or fragment); left out", s)
			continue
		}
		if strings.Contains(s, "{") {
			t.warn(fmt.Sprintf("%s.skip_paths[%d]", ns, i), "%q never matched in the gateway (it compares raw paths and colon forms); the layerfilter applies it as intended", s)
		}
		skip = append(skip, s)
	}
	skipNote := fmt.Sprintf("from %s.skip_paths", ns)
	if o.SkipPathsDefault {
		skipNote = "skip_paths missing or empty: the gateway's defaults"
	}
	lf.set("skip_paths", strs(skip)).note(skipNote)

	g := o.Layers.Global
	gp := ns + ".layers.global"
	lf.set("global", t.globalBlock(gp, g)).note(layerNote(gp, g.Defaulted, "everything on, report_headers off (krakend-otel config/config.go:41)"))
	pp := ns + ".layers.proxy"
	lf.set("proxy", t.proxyBlock(pp, o.Layers.Proxy)).note(layerNote(pp, o.Layers.Proxy.Defaulted, "everything on, report_headers off (krakend-otel config/config.go:49)"))
	bp := ns + ".layers.backend"
	lf.set("backend", t.backendBlock(bp, o.Layers.Backend)).note(layerNote(bp, o.Layers.Backend.Defaulted, "stage, round_trip, read_payload and detailed_connection on (krakend-otel config/config.go:59)"))

	var eps, bes []*yaml.Node
	for i, ep := range t.cfg.Endpoints {
		ep := ep
		method := ep.Method
		if method == "" {
			method = "GET"
		}
		ePath := fmt.Sprintf("endpoints[%d].extra_config[%q]", i, krakend.NamespaceOpenTelemetry)
		if ep.Endpoint == "" && ep.Telemetry != nil {
			t.fail(fmt.Sprintf("endpoints[%d].endpoint", i), krakend.KindRequired, "is missing: the collector finds an endpoint's telemetry settings by its path (and the gateway serves no endpoint without one)")
			continue
		}
		if et := ep.Telemetry; et != nil && (et.Proxy != nil || et.GlobalSet || et.Backend != nil) {
			m := newMap()
			m.set("route", luraPath(ep.Endpoint)).note(fmt.Sprintf("from %s", ePath))
			m.set("method", method)
			if et.Proxy != nil {
				m.set("proxy", t.proxyBlock(ePath+".proxy", *et.Proxy)).note("replaces the proxy layer whole for this endpoint")
			}
			if et.GlobalSet {
				gm := newMap()
				gm.set("metrics_static_attributes", t.attrMap(ePath+".global.metrics_static_attributes", et.GlobalMetricsStaticAttributes))
				gm.set("traces_static_attributes", t.attrMap(ePath+".global.traces_static_attributes", et.GlobalTracesStaticAttributes))
				m.set("global", gm).note("added to the service-level global static attributes")
			}
			if et.Backend != nil {
				t.warn(ePath+".backend", "Enterprise only (the community edition ignores it); the collector applies it to every backend of the endpoint")
				m.set("backend", t.backendBlock(ePath+".backend", *et.Backend)).note("Enterprise: replaces the backend layer for every backend of this endpoint")
			}
			eps = append(eps, m.n)
		}
		for j, be := range ep.Backends {
			if be.Telemetry == nil || be.Telemetry.Backend == nil {
				continue
			}
			bPath := fmt.Sprintf("endpoints[%d].backend[%d].extra_config[%q].backend", i, j, krakend.NamespaceOpenTelemetry)
			if be.URLPattern == "" || ep.Endpoint == "" {
				if be.URLPattern == "" {
					t.fail(fmt.Sprintf("endpoints[%d].backend[%d].url_pattern", i, j), krakend.KindRequired, "is missing: the collector finds a backend's telemetry settings by its url_pattern")
				} else {
					t.fail(fmt.Sprintf("endpoints[%d].endpoint", i), krakend.KindRequired, "is missing: the collector finds a backend's telemetry settings by its endpoint's path")
				}
				continue
			}
			m := newMap()
			m.set("endpoint", luraPath(ep.Endpoint)).note("from " + bPath)
			m.set("url_pattern", luraPath(be.URLPattern))
			m.set("backend", t.backendBlock(bPath, *be.Telemetry.Backend)).note("replaces the backend layer whole for this backend")
			bes = append(bes, m.n)
		}
	}
	if len(eps) > 0 {
		lf.set("endpoints", blockSeq(eps...))
	}
	if len(bes) > 0 {
		lf.set("backends", blockSeq(bes...))
	}
	lf.set("redact_headers", DefaultRedactHeaders).note("credential header values are replaced by [REDACTED] before any export")
	t.layerfilter = lf
	t.layerNotes = []string{"from " + ns + ": layers, skip_paths and the endpoint and backend overrides"}
}

func layerNote(path string, defaulted bool, defaults string) string {
	if defaulted {
		return path + " absent: the gateway's defaults, " + defaults
	}
	return "from " + path + " (an omitted boolean is false)"
}

func (t *translator) globalBlock(path string, g krakend.GlobalLayer) *ymap {
	return t.layerBlock(path, krakend.ProxyLayer{
		DisableMetrics: g.DisableMetrics, DisableTraces: g.DisableTraces, ReportHeaders: g.ReportHeaders,
		SkipHeaders: g.SkipHeaders, MetricsStaticAttributes: g.MetricsStaticAttributes, TracesStaticAttributes: g.TracesStaticAttributes,
	})
}

func (t *translator) proxyBlock(path string, p krakend.ProxyLayer) *ymap {
	return t.layerBlock(path, p)
}

// layerBlock is the layerfilter's global or proxy block: the two layers
// have the same switches in the collector.
func (t *translator) layerBlock(path string, p krakend.ProxyLayer) *ymap {
	m := newMap()
	m.set("disable_metrics", p.DisableMetrics)
	m.set("disable_traces", p.DisableTraces)
	m.set("report_headers", p.ReportHeaders)
	m.set("skip_headers", t.headerNames(path+".skip_headers", p.SkipHeaders))
	m.set("metrics_static_attributes", t.attrMap(path+".metrics_static_attributes", p.MetricsStaticAttributes))
	m.set("traces_static_attributes", t.attrMap(path+".traces_static_attributes", p.TracesStaticAttributes))
	return m
}

// headerNames leaves out blank names: the gateway skips no header by them,
// and the layer filter refuses them.
func (t *translator) headerNames(path string, names []string) []string {
	out := []string{}
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			t.warn(fmt.Sprintf("%s[%d]", path, i), "a blank header name matches no header; left out")
			continue
		}
		out = append(out, n)
	}
	return out
}

func (t *translator) backendBlock(path string, b krakend.BackendLayer) *ymap {
	mm := newMap()
	mm.set("disable_stage", b.Metrics.DisableStage)
	mm.set("round_trip", b.Metrics.RoundTrip)
	mm.set("read_payload", b.Metrics.ReadPayload)
	mm.set("detailed_connection", b.Metrics.DetailedConnection)
	mm.set("static_attributes", t.attrMap(path+".metrics.static_attributes", b.Metrics.StaticAttributes))
	tm := newMap()
	tm.set("disable_stage", b.Traces.DisableStage)
	tm.set("round_trip", b.Traces.RoundTrip)
	tm.set("read_payload", b.Traces.ReadPayload)
	tm.set("detailed_connection", b.Traces.DetailedConnection)
	tm.set("report_headers", b.Traces.ReportHeaders)
	tm.set("skip_headers", t.headerNames(path+".traces.skip_headers", b.Traces.SkipHeaders))
	tm.set("static_attributes", t.attrMap(path+".traces.static_attributes", b.Traces.StaticAttributes))
	m := newMap()
	e := m.set("metrics", mm)
	if b.Metrics.Defaulted && !b.Defaulted {
		e.note("metrics absent: the gateway's defaults (all on)")
	}
	e = m.set("traces", tm)
	if b.Traces.Defaulted && !b.Defaulted {
		e.note("traces absent: the gateway's defaults (all on, report_headers off)")
	}
	return m
}
