package krakend

import "fmt"

var otelRootHints = map[string]string{
	"sample_rate":      "`sample_rate` is OpenCensus's; in telemetry/opentelemetry the rate is `trace_sample_rate`, a fraction 0..1",
	"reporting_period": "`reporting_period` is OpenCensus's; in telemetry/opentelemetry it is `metric_reporting_period`",
	"enabled_layers":   "`enabled_layers` is OpenCensus's; in telemetry/opentelemetry it is `layers` (global, proxy, backend)",
	"proxy":            "a `proxy` layer belongs under `layers` here (directly under the namespace only in an endpoint's extra_config)",
	"global":           "a `global` layer belongs under `layers` here (directly under the namespace only in an endpoint's extra_config)",
	"backend":          "a `backend` layer belongs under `layers` here (directly under the namespace only in a backend's extra_config)",
}

func (d *decoder) openTelemetry(n *node, path, rootName string) *OpenTelemetry {
	o := &OpenTelemetry{Layers: defaultLayers()}
	var exportersNode *node
	ok := d.object(n, path, fields{
		"service_name":    func(v *node, p string) { d.str(v, p, &o.ServiceName) },
		"service_version": func(v *node, p string) { d.str(v, p, &o.ServiceVersion) },
		"deploy_env":      func(v *node, p string) { d.str(v, p, &o.DeployEnv) },
		"metric_reporting_period": func(v *node, p string) {
			o.MetricReportingPeriodSet = d.integer(v, p, &o.MetricReportingPeriod)
		},
		"trace_sample_rate": func(v *node, p string) { o.TraceSampleRateSet = d.number(v, p, &o.TraceSampleRate) },
		"skip_paths":        func(v *node, p string) { d.strings(v, p, &o.SkipPaths) },
		"exporters": func(v *node, p string) {
			exportersNode = v
			d.otelExporters(v, p, &o.Exporters)
		},
		"layers":     func(v *node, p string) { d.layers(v, p, &o.Layers) },
		"histograms": func(v *node, p string) { o.HistogramsSet = v.kind != kindNull },
	}, otelRootHints)
	if !ok {
		return nil
	}

	switch {
	case o.ServiceName != "":
		o.ServiceNameFrom = "service_name"
	case rootName != "":
		o.ServiceName, o.ServiceNameFrom = rootName, "name" // config/lura.go:34
	default:
		o.ServiceName, o.ServiceNameFrom = defaultServiceName, "default"
	}
	if !o.MetricReportingPeriodSet {
		o.MetricReportingPeriod = defaultMetricReportingPeriod
	}
	if !o.TraceSampleRateSet {
		o.TraceSampleRate = defaultTraceSampleRate
	}
	if len(o.SkipPaths) == 0 {
		o.SkipPaths = append([]string(nil), DefaultSkipPaths...)
		o.SkipPathsDefault = true
	}

	if len(o.Exporters.OTLP)+len(o.Exporters.Prometheus) == 0 {
		at, p := exportersNode, child(path, "exporters")
		if at == nil {
			at = n
		}
		d.fail(at, p, KindRequired, "no exporter is declared: the gateway would send nothing; declare exporters.otlp[] (toward the collector) or exporters.prometheus[]")
	}
	return o
}

// exporterArray calls each for every element of an exporters array (null
// is an absent one), with the element's path.
func (d *decoder) exporterArray(v *node, p string, each func(ev *node, p string)) {
	if v.kind == kindNull {
		return
	}
	if v.kind != kindArray {
		d.expect(v, p, "an array of exporter objects", false)
		return
	}
	for i, ev := range v.elems {
		each(ev, index(p, i))
	}
}

func (d *decoder) otelExporters(n *node, path string, e *Exporters) {
	type named struct {
		name, path string
		n          *node
	}
	var names []named
	d.object(n, path, fields{
		"otlp": func(v *node, p string) {
			d.exporterArray(v, p, func(ev *node, p string) {
				x, nameNode := d.otlpExporter(ev, p)
				e.OTLP = append(e.OTLP, x)
				names = append(names, named{x.Name, child(p, "name"), nameNode})
			})
		},
		"prometheus": func(v *node, p string) {
			d.exporterArray(v, p, func(ev *node, p string) {
				x, nameNode := d.prometheusExporter(ev, p)
				e.Prometheus = append(e.Prometheus, x)
				names = append(names, named{x.Name, child(p, "name"), nameNode})
			})
		},
	}, map[string]string{
		"jaeger":   "OpenTelemetry has no jaeger exporter: Jaeger accepts OTLP, declare it under exporters.otlp[]",
		"zipkin":   "OpenTelemetry has no zipkin exporter: declare an OTLP destination under exporters.otlp[]",
		"xray":     "X-Ray is only reachable through OpenCensus or a collector: declare exporters.otlp[] toward the collector",
		"datadog":  "OpenTelemetry has no datadog exporter: declare exporters.otlp[] toward the collector or the Datadog agent",
		"influxdb": "OpenTelemetry has no influxdb exporter",
	})
	// Names are unique across all exporters (config/config.go:94, OTLP first).
	seen := make(map[string]string, len(names))
	for _, x := range names {
		if x.name == "" {
			continue
		}
		if first, dup := seen[x.name]; dup {
			d.fail(x.n, x.path, KindDuplicate, "%q is already the name of %s: exporter names are unique across otlp and prometheus", x.name, first)
			continue
		}
		seen[x.name] = x.path
		d.exporterNames = append(d.exporterNames, x.name)
	}
}

func (d *decoder) otlpExporter(n *node, path string) (OTLPExporter, *node) {
	x := OTLPExporter{Host: defaultOTLPHost, Port: defaultOTLPPort}
	nameNode := n
	hints := map[string]string{
		"custom_reporting_period": "`custom_reporting_period` is not read by the gateway; the name is `custom_metric_reporting_period`",
		"endpoint":                "the gateway reads `host` and `port`, not `endpoint`",
		"insecure":                "the gateway has no `insecure`: over HTTP (use_http) write the scheme in host, https:// for TLS (system roots), http:// or none for plaintext; its gRPC is always plaintext",
		"headers":                 "the gateway has no `headers` for OTLP exporters (use OTEL_EXPORTER_OTLP_HEADERS on the gateway)",
	}
	if n.has("custom_metric_reporting_period") {
		hints["custom_reporting_period"] += " (already set here: remove this one)"
	}
	ok := d.object(n, path, fields{
		"name": func(v *node, p string) { nameNode = v; d.str(v, p, &x.Name) },
		"host": func(v *node, p string) {
			if d.str(v, p, &x.Host) && x.Host == "" {
				x.Host = defaultOTLPHost
			}
			if why := x.hostProblem(); why != "" {
				d.fail(v, p, KindRange, "%s", why)
			}
		},
		"port":            func(v *node, p string) { d.port(v, p, &x.Port, defaultOTLPPort) },
		"use_http":        func(v *node, p string) { d.boolean(v, p, &x.UseHTTP) },
		"disable_metrics": func(v *node, p string) { d.boolean(v, p, &x.DisableMetrics) },
		"disable_traces":  func(v *node, p string) { d.boolean(v, p, &x.DisableTraces) },
		"custom_metric_reporting_period": func(v *node, p string) {
			var s int
			if !d.integer(v, p, &s) {
				return
			}
			if s < 1 {
				d.fail(v, p, KindRange, "%d is out of range: at least 1 (seconds); omit it to use metric_reporting_period", s)
				return
			}
			x.CustomMetricReportingPeriod = s
		},
	}, hints)
	if ok && x.Name == "" {
		d.fail(nameNode, child(path, "name"), KindRequired, "is required: exporters are referred to by name")
	}
	return x, nameNode
}

func (d *decoder) prometheusExporter(n *node, path string) (PrometheusExporter, *node) {
	x := PrometheusExporter{Port: defaultPrometheusPort}
	nameNode := n
	ok := d.object(n, path, fields{
		"name":            func(v *node, p string) { nameNode = v; d.str(v, p, &x.Name) },
		"port":            func(v *node, p string) { d.port(v, p, &x.Port, defaultPrometheusPort) },
		"listen_ip":       func(v *node, p string) { d.str(v, p, &x.ListenIP) },
		"host":            func(v *node, p string) { d.str(v, p, &x.Host) },
		"process_metrics": func(v *node, p string) { d.boolean(v, p, &x.ProcessMetrics) },
		"go_metrics":      func(v *node, p string) { d.boolean(v, p, &x.GoMetrics) },
		"disable_metrics": func(v *node, p string) { d.boolean(v, p, &x.DisableMetrics) },
	}, map[string]string{
		"listen_address": "the name is `listen_ip` (an IP, without the port)",
		"namespace":      "`namespace` is OpenCensus's; the OpenTelemetry prometheus exporter has none",
		"disable_traces": "a prometheus exporter exports metrics only",
	})
	if ok && x.Name == "" {
		d.fail(nameNode, child(path, "name"), KindRequired, "is required: exporters are referred to by name")
	}
	return x, nameNode
}

func (d *decoder) layers(n *node, path string, l *Layers) {
	d.object(n, path, fields{
		"global": func(v *node, p string) {
			if v.kind != kindNull {
				l.Global = GlobalLayer{}
				d.global(v, p, &l.Global)
			}
		},
		"proxy": func(v *node, p string) {
			if v.kind != kindNull {
				l.Proxy = ProxyLayer{}
				d.proxy(v, p, &l.Proxy)
			}
		},
		"backend": func(v *node, p string) {
			if v.kind != kindNull {
				l.Backend = d.backendLayer(v, p, false)
			}
		},
	}, map[string]string{
		"pipe":   "`pipe` is the OpenCensus name of this layer; in telemetry/opentelemetry it is `proxy` (the gateway ignores `pipe`, so the proxy layer keeps its defaults)",
		"router": "`router` is the OpenCensus name of this layer; in telemetry/opentelemetry it is `global`",
	})
}

var onlyGlobal = "exists only in layers.global"

func (d *decoder) global(n *node, path string, g *GlobalLayer) {
	d.object(n, path, fields{
		"disable_metrics":           func(v *node, p string) { d.boolean(v, p, &g.DisableMetrics) },
		"disable_traces":            func(v *node, p string) { d.boolean(v, p, &g.DisableTraces) },
		"disable_propagation":       func(v *node, p string) { d.boolean(v, p, &g.DisablePropagation) },
		"report_headers":            func(v *node, p string) { d.boolean(v, p, &g.ReportHeaders) },
		"skip_headers":              func(v *node, p string) { d.strings(v, p, &g.SkipHeaders) },
		"metrics_static_attributes": func(v *node, p string) { d.attributes(v, p, &g.MetricsStaticAttributes) },
		"traces_static_attributes":  func(v *node, p string) { d.attributes(v, p, &g.TracesStaticAttributes) },
		"semantic_convention": func(v *node, p string) {
			if d.str(v, p, &g.SemanticConvention) && g.SemanticConvention != "" && g.SemanticConvention != "1.27" {
				d.fail(v, p, KindRange, "%q is not supported: the gateway knows only \"1.27\" (or \"\" for its default names)", g.SemanticConvention)
			}
		},
	}, map[string]string{
		"static_attributes": "layers.global has `metrics_static_attributes` and `traces_static_attributes`",
	})
}

func (d *decoder) proxy(n *node, path string, pl *ProxyLayer) {
	d.object(n, path, fields{
		"disable_metrics":           func(v *node, p string) { d.boolean(v, p, &pl.DisableMetrics) },
		"disable_traces":            func(v *node, p string) { d.boolean(v, p, &pl.DisableTraces) },
		"report_headers":            func(v *node, p string) { d.boolean(v, p, &pl.ReportHeaders) },
		"skip_headers":              func(v *node, p string) { d.strings(v, p, &pl.SkipHeaders) },
		"metrics_static_attributes": func(v *node, p string) { d.attributes(v, p, &pl.MetricsStaticAttributes) },
		"traces_static_attributes":  func(v *node, p string) { d.attributes(v, p, &pl.TracesStaticAttributes) },
	}, map[string]string{
		"disable_propagation": "`disable_propagation` " + onlyGlobal,
		"semantic_convention": "`semantic_convention` " + onlyGlobal,
		"static_attributes":   "the proxy layer has `metrics_static_attributes` and `traces_static_attributes`",
	})
}

// backendLayer decodes a `backend` object. override says whether it is a
// per-backend override, which must carry `traces` (the gateway panics
// without it).
func (d *decoder) backendLayer(n *node, path string, override bool) BackendLayer {
	b := BackendLayer{Metrics: defaultBackendMetrics(), Traces: defaultBackendTraces()}
	ok := d.object(n, path, fields{
		"metrics": func(v *node, p string) {
			if v.kind != kindNull {
				b.Metrics = BackendMetrics{}
				d.backendMetrics(v, p, &b.Metrics)
			}
		},
		"traces": func(v *node, p string) {
			if v.kind != kindNull {
				b.Traces = BackendTraces{}
				d.backendTraces(v, p, &b.Traces)
			}
		},
	}, map[string]string{
		"disable_stage": "`disable_stage` goes inside backend.metrics and backend.traces",
		"round_trip":    "`round_trip` goes inside backend.metrics and backend.traces",
		"read_payload":  "`read_payload` goes inside backend.metrics and backend.traces",
	})
	if ok && override && b.Traces.Defaulted {
		d.fail(n, path, KindUnsupported,
			"this backend override has no `traces` object: KrakenD panics at start-up on it (krakend-otel lura/proxy.go:197 reads backend.traces.skip_headers of the override); add a `traces` object, e.g. a copy of layers.backend.traces")
	}
	return b
}

func (d *decoder) backendMetrics(n *node, path string, m *BackendMetrics) {
	d.object(n, path, fields{
		"disable_stage":       func(v *node, p string) { d.boolean(v, p, &m.DisableStage) },
		"round_trip":          func(v *node, p string) { d.boolean(v, p, &m.RoundTrip) },
		"read_payload":        func(v *node, p string) { d.boolean(v, p, &m.ReadPayload) },
		"detailed_connection": func(v *node, p string) { d.boolean(v, p, &m.DetailedConnection) },
		"static_attributes":   func(v *node, p string) { d.attributes(v, p, &m.StaticAttributes) },
	}, map[string]string{
		"report_headers": "`report_headers` exists only in backend.traces: metrics never carry headers",
		"skip_headers":   "`skip_headers` exists only in backend.traces: metrics never carry headers",
	})
}

func (d *decoder) backendTraces(n *node, path string, t *BackendTraces) {
	d.object(n, path, fields{
		"disable_stage":       func(v *node, p string) { d.boolean(v, p, &t.DisableStage) },
		"round_trip":          func(v *node, p string) { d.boolean(v, p, &t.RoundTrip) },
		"read_payload":        func(v *node, p string) { d.boolean(v, p, &t.ReadPayload) },
		"detailed_connection": func(v *node, p string) { d.boolean(v, p, &t.DetailedConnection) },
		"report_headers":      func(v *node, p string) { d.boolean(v, p, &t.ReportHeaders) },
		"skip_headers":        func(v *node, p string) { d.strings(v, p, &t.SkipHeaders) },
		"static_attributes":   func(v *node, p string) { d.attributes(v, p, &t.StaticAttributes) },
	}, nil)
}

var noLayersWrapper = "overrides sit directly under the namespace, with no `layers` wrapper"

func serviceOnly(field string) string {
	return fmt.Sprintf("`%s` is read only in the root extra_config[%q]", field, NamespaceOpenTelemetry)
}

func (d *decoder) endpointTelemetry(n *node, path string) *EndpointTelemetry {
	t := &EndpointTelemetry{}
	hints := map[string]string{"layers": noLayersWrapper + ": write `proxy`, `global` or `backend` here"}
	for _, f := range []string{"service_name", "service_version", "deploy_env", "exporters", "skip_paths", "metric_reporting_period", "trace_sample_rate"} {
		hints[f] = serviceOnly(f) + " (per endpoint, Enterprise has exporters_override)"
	}
	ok := d.object(n, path, fields{
		"proxy": func(v *node, p string) {
			if v.kind != kindNull {
				t.Proxy = &ProxyLayer{}
				d.proxy(v, p, t.Proxy)
			}
		},
		"global": func(v *node, p string) {
			gh := map[string]string{}
			for _, f := range []string{"disable_metrics", "disable_traces", "disable_propagation", "report_headers", "skip_headers", "semantic_convention"} {
				gh[f] = "at endpoint level only `metrics_static_attributes` and `traces_static_attributes` are read from `global`; `" + f + "` belongs to the root layers.global"
			}
			t.GlobalSet = d.object(v, p, fields{
				"metrics_static_attributes": func(v *node, p string) { d.attributes(v, p, &t.GlobalMetricsStaticAttributes) },
				"traces_static_attributes":  func(v *node, p string) { d.attributes(v, p, &t.GlobalTracesStaticAttributes) },
			}, gh)
		},
		"backend": func(v *node, p string) {
			// Enterprise only; an omitted metrics or traces gets the defaults.
			if v.kind != kindNull {
				b := d.backendLayer(v, p, false)
				t.Backend = &b
			}
		},
		"exporters_override": func(v *node, p string) {
			if v.kind != kindNull {
				t.ExportersOverride = d.exportersOverride(v, p)
			}
		},
	}, hints)
	if !ok {
		return nil
	}
	return t
}

func (d *decoder) exportersOverride(n *node, path string) *ExportersOverride {
	o := &ExportersOverride{}
	d.object(n, path, fields{
		"metric_reporting_period": func(v *node, p string) {
			o.MetricReportingPeriodSet = d.integer(v, p, &o.MetricReportingPeriod)
		},
		"trace_sample_rate": func(v *node, p string) { o.TraceSampleRateSet = d.number(v, p, &o.TraceSampleRate) },
		"metric_exporters": func(v *node, p string) {
			if d.strings(v, p, &o.MetricExporters) {
				d.overrides = append(d.overrides, pendingOverride{v, p, o.MetricExporters})
			}
		},
		"trace_exporters": func(v *node, p string) {
			if d.strings(v, p, &o.TraceExporters) {
				d.overrides = append(d.overrides, pendingOverride{v, p, o.TraceExporters})
			}
		},
	}, nil)
	return o
}

func (d *decoder) backendTelemetry(n *node, path string) *BackendTelemetry {
	t := &BackendTelemetry{}
	hints := map[string]string{
		"layers": noLayersWrapper + ": write `backend` here",
		"proxy":  "`proxy` is read only in an endpoint's extra_config, not a backend's",
		"global": "`global` is read only in an endpoint's extra_config, not a backend's",
	}
	for _, f := range []string{"service_name", "exporters", "skip_paths", "metric_reporting_period", "trace_sample_rate"} {
		hints[f] = serviceOnly(f)
	}
	ok := d.object(n, path, fields{
		"backend": func(v *node, p string) {
			if v.kind != kindNull {
				b := d.backendLayer(v, p, true)
				t.Backend = &b
			}
		},
	}, hints)
	if !ok {
		return nil
	}
	return t
}
