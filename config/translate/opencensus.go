package translate

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

func (t *translator) fromOpenCensus(oc *krakend.OpenCensus) {
	ns := nsPath(oc.Namespace)
	ex := oc.Exporters
	rate := ""
	if oc.SampleRate > 0 && oc.SampleRate < 100 {
		// the collector's sdk_parity sampler expects the same rate
		rate = fmt.Sprintf(" and trace_sample_rate %s (sample_rate %d %%)", fmtFloat(float64(oc.SampleRate)/100), oc.SampleRate)
	}
	t.warn(ns, "OpenCensus sends no OTLP: switch the gateway to extra_config[%q] with an exporters.otlp[] entry toward this collector%s; this configuration is what the collector should then do", krakend.NamespaceOpenTelemetry, rate)

	// service.name: the first exporter that names the service, else the root name.
	name, from := "", ""
	for _, c := range []struct{ v, p string }{
		{pick(ex.Jaeger != nil, func() string { return ex.Jaeger.ServiceName }), ".exporters.jaeger.service_name"},
		{pick(ex.Zipkin != nil, func() string { return ex.Zipkin.ServiceName }), ".exporters.zipkin.service_name"},
		{pick(ex.OCAgent != nil, func() string { return ex.OCAgent.ServiceName }), ".exporters.ocagent.service_name"},
		{pick(ex.Datadog != nil, func() string { return ex.Datadog.Service }), ".exporters.datadog.service"},
		{pick(ex.InfluxDB != nil, func() string { return ex.InfluxDB.ServiceName }), ".exporters.influxdb.service_name"},
	} {
		switch {
		case c.v == "" || c.v == name:
		case name == "":
			name, from = c.v, "from "+ns+c.p
		default:
			// each OpenCensus exporter named the service on its own
			t.warn(ns+c.p, "%q differs from the service.name %q (%s): the gateway sends one service.name to every destination; this one is not used", c.v, name, from)
		}
	}
	switch {
	case name != "":
	case t.cfg.Name != "":
		name, from = t.cfg.Name, "from the root name"
	default:
		name, from = "KrakenD", "no service name anywhere: the gateway's default"
	}
	t.resource.set("service.name", name).note(from)
	if ex.Xray != nil && ex.Xray.Version != "" {
		t.resource.set("service.version", ex.Xray.Version).note("from " + ns + ".exporters.xray.version")
	}

	if oc.ReportingPeriod != 0 {
		t.warn(ns+".reporting_period", "how often the gateway reported; the collector forwards as data arrives")
	}

	if p := ex.Prometheus; p != nil {
		path := ns + ".exporters.prometheus"
		m := newMap()
		m.set("endpoint", hostPort("0.0.0.0", p.Port)).line("the OpenCensus exporter listened on all interfaces")
		if p.Namespace != "" {
			m.set("namespace", p.Namespace).note("from " + path + ".namespace")
		}
		rc := newMap()
		rc.set("enabled", false)
		m.set("resource_to_telemetry_conversion", rc)
		m.set("enable_open_metrics", false)
		t.listen("0.0.0.0", p.Port, path+".port")
		t.warn(path, "OpenCensus metric names and tags (tag_host, tag_path, tag_method, tag_statuscode) differ from the OpenTelemetry names the gateway sends over OTLP: dashboards must change")
		t.addExporter(&exporterOut{id: t.componentID("prometheus", "opencensus"), cfg: m, metrics: true,
			from: []string{fmt.Sprintf("from %s (port %d)", path, p.Port)}})
	}
	if x := ex.Xray; x != nil {
		path := ns + ".exporters.xray"
		m := newMap()
		m.set("region", x.Region).note("from " + path + ".region")
		// as the X-Ray overlay: without it the exporter writes every
		// attribute into the segment's metadata, which X-Ray cannot filter on
		m.set("indexed_attributes", xrayIndexedAttributes).note("the gateway's layer and routes as searchable X-Ray annotations, as the X-Ray overlay has them; every other attribute stays metadata")
		note := "credentials: the awsxray exporter reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or a role) from the environment"
		if x.AccessKeyID.Set() || x.SecretAccessKey.Set() {
			t.warn(path, "the literal access keys are not copied: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the collector's environment (and rotate keys that were committed in krakend.json)")
		}
		t.env("AWS_ACCESS_KEY_ID", "X-Ray credentials (was "+path+".access_key_id or the gateway's environment)")
		t.env("AWS_SECRET_ACCESS_KEY", "X-Ray credentials (was "+path+".secret_access_key or the gateway's environment)")
		t.addExporter(&exporterOut{id: t.componentID("awsxray", ""), cfg: m, traces: true, batchProcessor: true,
			from: []string{"from " + path, note, "the awsxray exporter has no sending_queue/retry_on_failure settings; it retries on its own"}})
	}
	if d := ex.Datadog; d != nil {
		path := ns + ".exporters.datadog"
		m := t.datadogExporter()
		tags := append([]string(nil), d.Tags...)
		for _, k := range sortedKeys(d.GlobalTags) {
			tags = append(tags, k+":"+d.GlobalTags[k])
		}
		if len(tags) > 0 {
			hm := newMap()
			hm.set("tags", tags)
			m.set("host_metadata", hm).note("from " + path + ".tags and .global_tags")
		}
		if d.DisableCountPerBuckets {
			h := newMap()
			h.set("mode", "distributions")
			mm := newMap()
			mm.set("histograms", h)
			m.set("metrics", mm).note("from " + path + ".disable_count_per_buckets: histograms go as Datadog distributions, with no per-bucket count metrics")
		}
		if d.TraceAddress != "" || d.StatsAddress != "" {
			t.warn(path, "the gateway sent to a Datadog agent (trace_address/stats_address); the datadog exporter sends to Datadog directly with DD_API_KEY (to keep the agent, use an otlp exporter toward the agent's OTLP port instead)")
		}
		if d.Namespace != "" {
			t.warn(path+".namespace", "an OpenCensus metric prefix: the gateway's OpenTelemetry metric names do not use it")
		}
		t.addExporter(&exporterOut{id: t.componentID("datadog", ""), cfg: m, traces: true, metrics: true, queue: true,
			from: []string{"from " + path}})
	}
	if j := ex.Jaeger; j != nil {
		path := ns + ".exporters.jaeger"
		raw := j.Endpoint
		if raw == "" {
			raw = j.AgentEndpoint
		}
		host := hostOf(raw)
		if host == "" {
			t.fail(path, krakend.KindUnsupported, "cannot tell the Jaeger host from endpoint/agent_endpoint; the distribution has no jaeger exporter: declare an OTLP destination instead")
		} else {
			m := newMap()
			m.set("endpoint", hostPort(host, 4317)).line("Jaeger's OTLP gRPC port (assumed)")
			tls := newMap()
			tls.set("insecure", true)
			m.set("tls", tls)
			t.warn(path, "the jaeger exporter is gone from the collector; traces go over OTLP to %s, which every Jaeger since 1.35 serves (enable COLLECTOR_OTLP_ENABLED before 1.48): check the port", hostPort(host, 4317))
			// Jaeger shows an OTLP resource's attributes as the process's tags
			set := 0
			for _, k := range sortedKeys(j.ProcessTags) {
				at := fmt.Sprintf("%s.process_tags[%q]", path, k)
				switch {
				case k == "":
					t.warn(path+".process_tags", "an empty tag key: left out")
				case t.resource.has(k):
					t.warn(at, "the resource already sets this key: left out")
				default:
					t.resource.set(k, j.ProcessTags[k]).note("from " + at)
					set++
				}
			}
			if set > 0 && (ex.Prometheus != nil || ex.Xray != nil || ex.Datadog != nil || ex.Zipkin != nil || ex.InfluxDB != nil || ex.Stackdriver != nil || ex.Logger != nil) {
				t.warn(path+".process_tags", "the tags become resource attributes of the gateway's telemetry, so the other destinations see them too")
			}
			if j.BufferMaxCount != 0 {
				t.warn(path+".buffer_max_count", "the OpenCensus Jaeger client's span buffer; the otlp exporter has no such setting: sending_queue buffers instead")
			}
			t.addExporter(&exporterOut{id: t.componentID("otlp_grpc", "jaeger"), cfg: m, traces: true, queue: true,
				from: []string{"from " + path + " (" + redactURL(raw) + ")"}})
		}
	}
	if z := ex.Zipkin; z != nil {
		path := ns + ".exporters.zipkin"
		if z.CollectorURL == "" {
			t.fail(path+".collector_url", krakend.KindRequired, "the Zipkin collector's URL is required (e.g. http://zipkin:9411/api/v2/spans)")
		} else if u, ok := t.httpURL(path+".collector_url", z.CollectorURL, "http://zipkin:9411/api/v2/spans", "ZIPKIN"); ok {
			m := newMap()
			m.set("endpoint", u.endpoint).note("from " + path + ".collector_url")
			m.set("format", "json").line("what Zipkin's /api/v2/spans takes")
			if u.user != "" || u.hasPassword {
				h := newMap()
				h.set("Authorization", expanded("Basic ${env:ZIPKIN_BASIC_AUTH}")).line("never the literal: set ZIPKIN_BASIC_AUTH")
				m.set("headers", h).note("collector_url carried credentials: they are not copied")
				t.env("ZIPKIN_BASIC_AUTH", "base64 of user:password for the Zipkin collector (was the user info of "+path+".collector_url)")
				t.warn(path+".collector_url", "the user and password in the URL are not copied: set ZIPKIN_BASIC_AUTH to base64(user:password) (and rotate a password that was committed in krakend.json)")
			}
			if z.IP != "" || z.Port != 0 {
				t.warn(path, "ip and port named the gateway's own local endpoint in its Zipkin spans: the zipkin exporter has no such setting (it takes the host from the spans' own attributes)")
			}
			t.addExporter(&exporterOut{id: t.componentID("zipkin", ""), cfg: m, traces: true, queue: true,
				from: []string{"from " + path + " (" + string(u.endpoint) + "); traces only, as the OpenCensus exporter"}})
		}
	}
	if x := ex.InfluxDB; x != nil {
		path := ns + ".exporters.influxdb"
		if x.Address == "" {
			t.fail(path+".address", krakend.KindRequired, "the InfluxDB address is required (e.g. http://influxdb:8086)")
		}
		if x.DB == "" {
			t.fail(path+".db", krakend.KindRequired, "the InfluxDB 1.x database is required: InfluxDB refuses writes without one")
		}
		if x.Address != "" && x.DB != "" {
			if u, ok := t.httpURL(path+".address", x.Address, "http://influxdb:8086", "INFLUXDB"); ok {
				m := newMap()
				endpoint, how := influxWriteEndpoint(string(u.endpoint))
				m.set("endpoint", expanded(endpoint)).note("from "+path+".address", how)
				v1 := newMap()
				v1.set("enabled", true)
				v1.set("db", x.DB).note("from " + path + ".db")
				user, userFrom := x.Username, path+".username"
				if user == "" && u.user != "" {
					user, userFrom = u.user, "the user info of "+path+".address"
				}
				if user != "" {
					v1.set("username", user).note("from " + userFrom)
				}
				if x.Password.Set() || u.hasPassword {
					v1.set("password", expanded("${env:INFLUXDB_PASSWORD}")).line("never the literal: set INFLUXDB_PASSWORD")
					t.env("INFLUXDB_PASSWORD", "the InfluxDB password of "+path+" (basic auth, sent only with a username)")
					t.warn(path, "the password is not copied: set INFLUXDB_PASSWORD in the collector's environment (and rotate a password that was committed in krakend.json)")
					if user == "" {
						t.warn(path+".username", "absent: the influxdb exporter sends the password only with a username, so it authenticates with none")
					}
				}
				m.set("v1_compatibility", v1).note("InfluxDB 1.x (database, user, password), as the OpenCensus exporter wrote")
				if x.Timeout != "" {
					if d, err := time.ParseDuration(x.Timeout); err != nil || d <= 0 {
						t.warn(path+".timeout", "not a positive duration such as \"1s\": left out, the exporter waits 5s")
					} else {
						m.set("timeout", x.Timeout).note("from " + path + ".timeout")
					}
				}
				if x.Ping {
					t.warn(path+".ping", "the OpenCensus client pinged InfluxDB at start-up; the influxdb exporter has no such setting (a failed write is retried instead)")
				}
				if x.BufferSize != 0 {
					t.warn(path+".buffer_size", "the OpenCensus client's point buffer; the influxdb exporter has no such setting: sending_queue and batch buffer instead")
				}
				t.addExporter(&exporterOut{id: t.componentID("influxdb", ""), cfg: m, metrics: true, queue: true,
					from: []string{"from " + path + " (" + string(u.endpoint) + "); metrics only: the OpenCensus exporter sent stats, not spans"}})
			}
		}
	}
	if sd := ex.Stackdriver; sd != nil {
		path := ns + ".exporters.stackdriver"
		m := newMap()
		if sd.ProjectID != "" {
			m.set("project", sd.ProjectID).note("from " + path + ".project_id")
		} else {
			t.warn(path+".project_id", "absent: the googlecloud exporter takes the project of its credentials (GOOGLE_APPLICATION_CREDENTIALS or the platform's identity)")
		}
		met := newMap()
		if sd.MetricPrefix != "" {
			prefix, how := stackdriverMetricPrefix(sd.MetricPrefix)
			met.set("prefix", prefix).note("from "+path+".metric_prefix", how)
			t.warn(path+".metric_prefix", "metric types become %s/<OpenTelemetry metric name>: the gateway's OpenTelemetry names differ from the OpenCensus view names, so dashboards and alerts must change", prefix)
		}
		if keys := sortedKeys(sd.DefaultLabels); len(keys) > 0 {
			// The exporter has no static labels: the labels become resource
			// attributes (where the gateway set none), and resource_filters
			// copies exactly those onto every time series, as OpenCensus did.
			var set []string
			for _, k := range keys {
				if k == "" {
					t.warn(path+".default_labels", "an empty label key: left out")
					continue
				}
				if t.resource.has(k) {
					t.warn(fmt.Sprintf("%s.default_labels[%q]", path, k), "the resource already sets this key: left out")
					continue
				}
				t.resource.set(k, sd.DefaultLabels[k]).note(fmt.Sprintf("from %s.default_labels[%q]", path, k))
				set = append(set, regexp.QuoteMeta(k))
			}
			if len(set) > 0 {
				f := newMap()
				f.set("regex", "^("+strings.Join(set, "|")+")$")
				met.set("resource_filters", blockSeq(f.n)).note("from " + path + ".default_labels: these resource attributes become labels of every time series")
				if ex.Prometheus != nil || ex.Xray != nil || ex.Datadog != nil || ex.Jaeger != nil || ex.Zipkin != nil || ex.InfluxDB != nil || ex.Logger != nil {
					t.warn(path+".default_labels", "the labels become resource attributes of the gateway's telemetry, so the other destinations (and Cloud Trace) see them too")
				}
			}
		}
		if sd.MetricPrefix == "" {
			t.warn(path, "metric types become workload.googleapis.com/<OpenTelemetry metric name> (OpenCensus wrote custom.googleapis.com/opencensus/<view name>): dashboards and alerts must change")
		}
		if len(met.n.Content) > 0 {
			m.set("metric", met)
		}
		t.env("GOOGLE_APPLICATION_CREDENTIALS", "path of the service account key file the googlecloud exporter authenticates with (unset on Google Cloud: the platform's identity is used)")
		q := newMap()
		q.set("batch", exporterBatch())
		m.set("sending_queue", q).note("its default queue, batching as it is read (no batch processor)")
		t.addExporter(&exporterOut{id: t.componentID("googlecloud", ""), cfg: m, traces: true, metrics: true,
			from: []string{"from " + path + " (Google Cloud, once Stackdriver): traces to Cloud Trace, metrics to Cloud Monitoring",
				"credentials: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS or the platform's identity)",
				"the googlecloud exporter has no retry_on_failure (its client retries)"}})
	}
	if a := ex.OCAgent; a != nil {
		path := ns + ".exporters.ocagent"
		host, port := splitAddr(a.Address, 55678)
		bind := "0.0.0.0"
		if isLoopback(host) {
			bind = host
		}
		t.hasLocal = true
		t.deliversTraces, t.deliversMetrics = true, true
		note := "grpc from " + path + ": the gateway's agent address, now the gateway receiver (OTLP, not the OpenCensus protocol)"
		// the gateway's client settings toward the agent, which the receiver meets
		if a.Insecure {
			note += "; plaintext, as " + path + ".insecure dialled it"
		}
		if a.EnableCompression {
			note += "; it takes the gzip of " + path + ".enable_compression as well as uncompressed data"
		}
		t.receiverFor("grpc", hostPort(bind, port), "ocagent", path+".address", note)
		if len(a.Headers) > 0 {
			t.warn(path+".headers", "%d header(s) the gateway sent to the agent are not carried over (the receiver does not check them)", len(a.Headers))
		}
		if a.Reconnection != "" {
			t.warn(path+".reconnection", "the gateway's wait before redialling the agent; the receiver has no such setting (the gateway's OTLP exporter retries on its own)")
		}
	}
	if l := ex.Logger; l != nil {
		path := ns + ".exporters.logger"
		if !l.Stats && !l.Spans {
			t.warn(path, "neither stats nor spans is set: it logs nothing; left out")
		} else {
			t.addExporter(&exporterOut{id: t.componentID("debug", ""), cfg: debugConfig(), traces: l.Spans, metrics: l.Stats,
				from: []string{"from " + path + " (schema only: the community edition never wired it)"}})
		}
	}

	// sampling: OpenCensus's percentage, 0 = none (its default).
	s := newMap()
	note := fmt.Sprintf("from %s.sample_rate = %d", ns, oc.SampleRate)
	if !oc.SampleRateSet {
		note = "sample_rate absent: OpenCensus's default 0 keeps no trace"
		if t.anyExporterTakesTraces() {
			t.warn(ns+".sample_rate", "absent: OpenCensus keeps no trace by default (sample_rate 0); translated as 0%%, set it to keep traces")
		}
	}
	if t.opts.Sampling == SamplingGateway {
		t.samplingAtGateway(note, oc.SampleRate < 100)
	} else {
		s.set("sampling_percentage", oc.SampleRate)
		t.samplesTraces = oc.SampleRate < 100
		// The gateway that will feed the collector runs telemetry/opentelemetry
		// (OpenCensus sends no OTLP): its SDK rule, so that a gateway sampling
		// at the same rate loses nothing more; OTEP 235 after it would keep r².
		s.set("mode", "sdk_parity").note("the rule of telemetry/opentelemetry's SDK, which the gateway will run: every trace a gateway at this rate started and kept is kept; those it continued from a caller's sampled traceparent are sampled again")
		t.sampling = s
		t.samplingNotes = []string{note}
		if oc.SampleRate > 0 && oc.SampleRate < 100 {
			t.warnResampledCallers(ns + ".sample_rate")
			pct := float64(oc.SampleRate)
			t.upstreamPercentage = &pct
			t.upstreamGateway = "the gateway, with the rate carried over as trace_sample_rate,"
		}
	}

	// layerfilter from enabled_layers
	el := oc.EnabledLayers
	lf := newMap()
	lf.set("skip_paths", []string{}).note("OpenCensus has no skip_paths")
	elNote := func(name string, on bool) string {
		if el.Defaulted {
			return fmt.Sprintf("enabled_layers absent: %s on", name)
		}
		return fmt.Sprintf("from %s.enabled_layers.%s = %t", ns, name, on)
	}
	g := newMap()
	g.set("disable_metrics", !el.Router)
	g.set("disable_traces", !el.Router)
	g.set("report_headers", false)
	lf.set("global", g).note(elNote("router", el.Router))
	p := newMap()
	p.set("disable_metrics", !el.Pipe)
	p.set("disable_traces", !el.Pipe)
	p.set("report_headers", false)
	lf.set("proxy", p).note(elNote("pipe", el.Pipe))
	b := newMap()
	for _, sig := range []string{"metrics", "traces"} {
		x := newMap()
		x.set("disable_stage", !el.Backend)
		x.set("round_trip", el.Backend)
		x.set("read_payload", el.Backend)
		x.set("detailed_connection", el.Backend)
		b.set(sig, x)
	}
	lf.set("backend", b).note(elNote("backend", el.Backend))
	lf.set("redact_headers", DefaultRedactHeaders).note("credential header values are replaced by [REDACTED] before any export")
	t.layerfilter = lf
	t.layerNotes = []string{"from " + ns + ".enabled_layers"}

	for i, ep := range t.cfg.Endpoints {
		if ep.PathAggregation != "" {
			t.warn(fmt.Sprintf("endpoints[%d].extra_config[%q].path_aggregation", i, oc.Namespace), "OpenCensus only: http.route already carries the endpoint pattern")
		}
		for j, be := range ep.Backends {
			if be.PathAggregation != "" {
				t.warn(fmt.Sprintf("endpoints[%d].backend[%d].extra_config[%q].path_aggregation", i, j, oc.Namespace), "OpenCensus only: http.route already carries the backend pattern")
			}
		}
	}
}

func pick(ok bool, f func() string) string {
	if !ok {
		return ""
	}
	return f()
}

// hostOf returns the host of a URL or host:port, or "" when that is no
// host name or IP address (user info without a scheme, a space, ...): what
// is returned goes into the YAML and the warnings as is.
func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	var h string
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return ""
		}
		h = u.Hostname()
	} else {
		h, _ = splitAddr(raw, 0)
	}
	if net.ParseIP(h) != nil {
		return h
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return ""
		}
	}
	return h
}

func splitAddr(addr string, def int) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, def
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		port = def
	}
	return h, port
}

// redactURL drops credentials a URL might carry (user info, a query)
// before it goes into a comment.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "an unparsable URL"
	}
	if u.User == nil && u.RawQuery == "" {
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery = nil, "", false
	return u.String()
}

// destURL is an http(s) destination with its user info taken out.
type destURL struct {
	// endpoint is written as the collector reads it: its own $ escaped,
	// a credential of its query an ${env:...} reference.
	endpoint    expanded
	user        string
	hasPassword bool
}

// httpURL checks that raw is an http:// or https:// URL with a host, as the
// HTTP exporters need, and strips the user info, which must not reach the
// YAML. The error never repeats raw: it may carry a password.
func (t *translator) httpURL(path, raw, example, envPrefix string) (destURL, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.fail(path, krakend.KindRange, "not an http:// or https:// URL with a host (e.g. %s)", example)
		return destURL{}, false
	}
	var d destURL
	if u.User != nil {
		d.user = u.User.Username()
		_, d.hasPassword = u.User.Password()
		u.User = nil
	}
	query := t.queryWithoutSecrets(path, u.RawQuery, envPrefix)
	u.RawQuery = ""
	d.endpoint = expanded(literal(u.String()))
	if query != "" {
		d.endpoint += "?" + expanded(query)
	}
	return d, true
}

// queryWithoutSecrets replaces the value of each query parameter that names
// a credential (api_key, token, password, InfluxDB 1.x's p, ...) with an
// ${env:...} reference, which the collector expands: the value is never
// written into the YAML. The rest is escaped (literal).
func (t *translator) queryWithoutSecrets(path, rawQuery, envPrefix string) string {
	if rawQuery == "" {
		return ""
	}
	parts := strings.Split(rawQuery, "&")
	for i, kv := range parts {
		k, v, hasValue := strings.Cut(kv, "=")
		name, err := url.QueryUnescape(k)
		if err != nil || !hasValue || v == "" || !credentialParam(name) {
			parts[i] = literal(kv)
			continue
		}
		env := envPrefix + "_" + envName(name)
		parts[i] = literal(k) + "=${env:" + env + "}"
		t.env(env, fmt.Sprintf("the %q query parameter of %s", name, path))
		t.warn(path, "the value of the query parameter %q is not copied: set %s (and rotate a credential that was committed in krakend.json)", name, env)
	}
	return strings.Join(parts, "&")
}

// credentialParam tells whether a query parameter's name says it carries a
// credential.
func credentialParam(name string) bool {
	n := strings.ToLower(name)
	if n == "p" { // InfluxDB 1.x's password parameter
		return true
	}
	for _, w := range []string{"key", "token", "secret", "pass", "auth", "sig", "credential"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// envName turns a parameter name into the tail of a variable name:
// api-key → API_KEY.
func envName(name string) string {
	b := []byte(strings.ToUpper(name))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// stackdriverMetricPrefix turns an OpenCensus metric_prefix into the
// googlecloud exporter's metric.prefix. OpenCensus put a prefix without a
// domain under custom.googleapis.com/opencensus/ (census-ecosystem
// opencensus-go-exporter-stackdriver, metricTypeFromProto); the googlecloud
// exporter would use it bare, a metric type Cloud Monitoring refuses.
func stackdriverMetricPrefix(p string) (string, string) {
	trimmed := strings.Trim(p, "/")
	for _, d := range []string{"googleapis.com", "kubernetes.io", "istio.io", "knative.dev"} {
		if strings.Contains(trimmed, d) {
			return trimmed, "it names a domain: used as is"
		}
	}
	return "custom.googleapis.com/opencensus/" + trimmed, "no domain: under custom.googleapis.com/opencensus/, as the OpenCensus exporter put it"
}

// influxWriteEndpoint keeps the OpenCensus client's write URL: it wrote to
// <address>/write, path included, while the influxdb exporter appends
// /write only to an address without a path and otherwise posts to the
// address as is.
func influxWriteEndpoint(endpoint string) (string, string) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Path == "" || u.Path == "/" {
		return endpoint, "the exporter appends /write, as the OpenCensus client did"
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/write"
	u.RawPath = ""
	return u.String(), "the address has a path: /write appended, where the OpenCensus client wrote (the exporter posts to a path as is)"
}

// anyExporterTakesTraces tells whether a translated exporter receives traces,
// whichever OpenCensus exporter it came from.
func (t *translator) anyExporterTakesTraces() bool {
	for _, e := range t.exporters {
		if e.traces {
			return true
		}
	}
	return false
}
