package krakend

import "strings"

func (d *decoder) openCensus(n *node, path, namespace string) *OpenCensus {
	oc := &OpenCensus{Namespace: namespace, EnabledLayers: defaultOCLayers()}
	var exportersNode *node
	ok := d.object(n, path, fields{
		"sample_rate": func(v *node, p string) {
			var r int
			if !d.integer(v, p, &r) {
				return
			}
			if r < 0 || r > 100 {
				d.fail(v, p, KindRange, "%d is out of range 0..100", r)
				return
			}
			oc.SampleRate, oc.SampleRateSet = r, true
		},
		"reporting_period": func(v *node, p string) { d.integer(v, p, &oc.ReportingPeriod) },
		"enabled_layers": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			oc.EnabledLayers = OCEnabledLayers{}
			d.object(v, p, fields{
				"router":  func(v *node, p string) { d.boolean(v, p, &oc.EnabledLayers.Router) },
				"pipe":    func(v *node, p string) { d.boolean(v, p, &oc.EnabledLayers.Pipe) },
				"backend": func(v *node, p string) { d.boolean(v, p, &oc.EnabledLayers.Backend) },
			}, map[string]string{
				"proxy":  "in OpenCensus the proxy layer is called `pipe`",
				"global": "in OpenCensus the global layer is called `router`",
			})
		},
		"exporters": func(v *node, p string) {
			exportersNode = v
			d.ocExporters(v, p, &oc.Exporters)
		},
	}, map[string]string{
		"trace_sample_rate":       "`trace_sample_rate` is OpenTelemetry's; OpenCensus uses `sample_rate`, a percentage 0..100",
		"metric_reporting_period": "`metric_reporting_period` is OpenTelemetry's; OpenCensus uses `reporting_period`",
		"layers":                  "`layers` is OpenTelemetry's; OpenCensus uses `enabled_layers` {router, pipe, backend}",
	})
	if !ok {
		return nil
	}
	if oc.Exporters.Count() == 0 {
		at := exportersNode
		if at == nil {
			at = n
		}
		d.fail(at, child(path, "exporters"), KindRequired, "no exporter is declared: the gateway would send nothing (the schema requires at least one)")
	}
	return oc
}

func (d *decoder) ocExporters(n *node, path string, e *OCExporters) {
	d.object(n, path, fields{
		"prometheus": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCPrometheus{}
			if !d.object(v, p, fields{
				"port":           func(v *node, p string) { d.port(v, p, &x.Port, 0) },
				"namespace":      func(v *node, p string) { d.str(v, p, &x.Namespace) },
				"tag_host":       func(v *node, p string) { d.boolean(v, p, &x.TagHost) },
				"tag_path":       func(v *node, p string) { d.boolean(v, p, &x.TagPath) },
				"tag_method":     func(v *node, p string) { d.boolean(v, p, &x.TagMethod) },
				"tag_statuscode": func(v *node, p string) { d.boolean(v, p, &x.TagStatusCode) },
			}, map[string]string{"listen_ip": "the OpenCensus prometheus exporter always listens on all interfaces; it reads only `port`"}) {
				return
			}
			if !v.has("port") {
				// krakend-opencensus exporter/prometheus/prometheus.go:46 listens on ":%d".
				d.fail(v, p, KindRequired, "`port` is required: the OpenCensus prometheus exporter has no default and would listen on a random port")
			}
			e.Prometheus = x
		},
		"xray": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCXray{}
			if !d.object(v, p, fields{
				"region":            func(v *node, p string) { d.str(v, p, &x.Region) },
				"version":           func(v *node, p string) { d.str(v, p, &x.Version) },
				"use_env":           func(v *node, p string) { d.boolean(v, p, &x.UseEnv) },
				"access_key_id":     func(v *node, p string) { d.secret(v, p, &x.AccessKeyID) },
				"secret_access_key": func(v *node, p string) { d.secret(v, p, &x.SecretAccessKey) },
			}, nil) {
				return
			}
			var missing []string
			if x.Region == "" {
				missing = append(missing, "region")
			}
			if x.Version == "" {
				// krakend-opencensus's X-Ray exporter defaults it; only
				// its JSON schema asks for it
				x.Version = defaultXrayVersion
			}
			if !x.UseEnv {
				if !x.AccessKeyID.Set() {
					missing = append(missing, "access_key_id")
				}
				if !x.SecretAccessKey.Set() {
					missing = append(missing, "secret_access_key")
				}
			}
			if len(missing) > 0 {
				d.fail(v, p, KindRequired, "needs region and either access_key_id+secret_access_key or use_env (missing: %s)", strings.Join(missing, ", "))
			}
			e.Xray = x
		},
		"datadog": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCDatadog{}
			if d.object(v, p, fields{
				"namespace":                 func(v *node, p string) { d.str(v, p, &x.Namespace) },
				"service":                   func(v *node, p string) { d.str(v, p, &x.Service) },
				"trace_address":             func(v *node, p string) { d.str(v, p, &x.TraceAddress) },
				"stats_address":             func(v *node, p string) { d.str(v, p, &x.StatsAddress) },
				"tags":                      func(v *node, p string) { d.strings(v, p, &x.Tags) },
				"global_tags":               func(v *node, p string) { d.stringMap(v, p, &x.GlobalTags) },
				"disable_count_per_buckets": func(v *node, p string) { d.boolean(v, p, &x.DisableCountPerBuckets) },
			}, map[string]string{
				"api_key": "the OpenCensus datadog exporter sends to a Datadog agent and takes no API key (the translated collector reads DD_API_KEY from the environment)",
				"app_key": "the OpenCensus datadog exporter takes no application key",
			}) {
				e.Datadog = x
			}
		},
		"jaeger": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCJaeger{}
			if d.object(v, p, fields{
				"endpoint":         func(v *node, p string) { d.str(v, p, &x.Endpoint) },
				"agent_endpoint":   func(v *node, p string) { d.str(v, p, &x.AgentEndpoint) },
				"service_name":     func(v *node, p string) { d.str(v, p, &x.ServiceName) },
				"buffer_max_count": func(v *node, p string) { d.integer(v, p, &x.BufferMaxCount) },
				// krakend-opencensus v2 JaegerConfig; a null value makes the
				// gateway drop the exporter, and stringMap refuses it
				"process_tags": func(v *node, p string) { d.stringMap(v, p, &x.ProcessTags) },
			}, nil) {
				if x.Endpoint == "" && x.AgentEndpoint == "" {
					d.fail(v, p, KindRequired, "needs `endpoint` (the collector URL) or `agent_endpoint`")
				}
				e.Jaeger = x
			}
		},
		"zipkin": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCZipkin{}
			if d.object(v, p, fields{
				"collector_url": func(v *node, p string) { d.str(v, p, &x.CollectorURL) },
				"service_name":  func(v *node, p string) { d.str(v, p, &x.ServiceName) },
				"ip":            func(v *node, p string) { d.str(v, p, &x.IP) },
				"port":          func(v *node, p string) { d.port(v, p, &x.Port, 0) },
			}, nil) {
				e.Zipkin = x
			}
		},
		"influxdb": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCInfluxDB{}
			if d.object(v, p, fields{
				"address":      func(v *node, p string) { d.str(v, p, &x.Address) },
				"db":           func(v *node, p string) { d.str(v, p, &x.DB) },
				"username":     func(v *node, p string) { d.str(v, p, &x.Username) },
				"password":     func(v *node, p string) { d.secret(v, p, &x.Password) },
				"timeout":      func(v *node, p string) { d.str(v, p, &x.Timeout) },
				"ping":         func(v *node, p string) { d.boolean(v, p, &x.Ping) },
				"service_name": func(v *node, p string) { d.str(v, p, &x.ServiceName) },
				"buffer_size":  func(v *node, p string) { d.integer(v, p, &x.BufferSize) },
			}, map[string]string{"database": "did you mean `db`?"}) {
				e.InfluxDB = x
			}
		},
		"stackdriver": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCStackdriver{}
			if d.object(v, p, fields{
				"project_id":     func(v *node, p string) { d.str(v, p, &x.ProjectID) },
				"metric_prefix":  func(v *node, p string) { d.str(v, p, &x.MetricPrefix) },
				"default_labels": func(v *node, p string) { d.stringMap(v, p, &x.DefaultLabels) },
			}, nil) {
				e.Stackdriver = x
			}
		},
		"ocagent": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCAgent{}
			if d.object(v, p, fields{
				"address":            func(v *node, p string) { d.str(v, p, &x.Address) },
				"service_name":       func(v *node, p string) { d.str(v, p, &x.ServiceName) },
				"headers":            func(v *node, p string) { d.secretMap(v, p, &x.Headers) },
				"insecure":           func(v *node, p string) { d.boolean(v, p, &x.Insecure) },
				"reconnection":       func(v *node, p string) { d.str(v, p, &x.Reconnection) },
				"enable_compression": func(v *node, p string) { d.boolean(v, p, &x.EnableCompression) },
			}, nil) {
				e.OCAgent = x
			}
		},
		"logger": func(v *node, p string) {
			if v.kind == kindNull {
				return
			}
			x := &OCLogger{}
			if d.object(v, p, fields{
				"stats": func(v *node, p string) { d.boolean(v, p, &x.Stats) },
				"spans": func(v *node, p string) { d.boolean(v, p, &x.Spans) },
			}, nil) {
				e.Logger = x
			}
		},
		// krakend-opencensus reads an `extra_config` here (opencensus.go:167)
		// that no exporter uses.
		"extra_config": func(v *node, p string) {},
	}, map[string]string{
		"otlp":     "OpenCensus has no OTLP exporter: use extra_config[\"telemetry/opentelemetry\"].exporters.otlp",
		"aws":      "did you mean `xray`?",
		"newrelic": "OpenCensus has no newrelic exporter",
	})
}
