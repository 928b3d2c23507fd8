package krakend

import (
	"fmt"
	"slices"
	"strings"
)

var telemetryNamespaces = []string{NamespaceOpenTelemetry, NamespaceOpenCensus, NamespaceOpenCensusLegacy}

// fragment recognises a valid-JSON piece of a krakend.json (a Flexible
// Configuration partial) and says what it is. It returns true when root is
// such a fragment; a bare extra_config is still checked, to report every
// problem at once.
func (d *decoder) fragment(root *node, cfg *Config) bool {
	at := func(reason string) {
		line, col := position(d.data, root.off)
		d.errs = append(d.errs, &Error{Source: d.src, Line: line, Column: col, Kind: KindFragment, Reason: reason})
	}
	switch root.kind {
	case kindObject:
	case kindArray:
		if len(root.elems) > 0 && root.elems[0].kind == kindObject && root.elems[0].has("endpoint") {
			at("this is a list of endpoints (a fragment for `endpoints`), not a krakend.json: " + fragmentHint)
		} else {
			at("not a krakend.json: the root is an array, KrakenD expects an object with `version`, `endpoints` and `extra_config`")
		}
		return true
	default:
		at(fmt.Sprintf("not a krakend.json: the root is %s, KrakenD expects an object", root.kind))
		return true
	}
	if root.has("version") || root.has("endpoints") {
		return false
	}
	if root.has("endpoint") {
		at("this is a single endpoint (a fragment for `endpoints`), not a krakend.json: " + fragmentHint)
		return true
	}
	for _, k := range root.keys {
		if strings.Contains(k, "/") {
			at("this is a bare `extra_config` object (a Flexible Configuration partial), not a krakend.json: " + fragmentHint)
			d.serviceExtra(root, "extra_config", "", cfg) // report what is wrong inside too
			return true
		}
	}
	for _, k := range []string{"service_name", "exporters", "layers", "trace_sample_rate", "metric_reporting_period", "skip_paths"} {
		if root.has(k) {
			at(fmt.Sprintf("this is the content of extra_config[%q] (a Flexible Configuration partial), not a krakend.json: %s", NamespaceOpenTelemetry, fragmentHint))
			return true
		}
	}
	for _, k := range []string{"sample_rate", "enabled_layers", "reporting_period"} {
		if root.has(k) {
			at(fmt.Sprintf("this is the content of extra_config[%q] (a Flexible Configuration partial), not a krakend.json: %s", NamespaceOpenCensus, fragmentHint))
			return true
		}
	}
	return false
}

func (d *decoder) root(n *node, cfg *Config) {
	if v := n.get("version"); v == nil || v.kind == kindNull {
		d.fail(n, "version", KindRequired, "is missing: KrakenD reads version 3 (or 2 in older files)")
	} else if d.integer(v, "version", &cfg.Version) && cfg.Version != 2 && cfg.Version != 3 {
		d.fail(v, "version", KindUnsupported, "%d is not supported: KrakenD reads version 3 (or 2 in older files)", cfg.Version)
	}
	if v := n.get("name"); v != nil {
		d.str(v, "name", &cfg.Name)
	}
	// The server's tls block is not checked (KrakenD does that), only read
	// for the scheme of the gateway's own URL.
	if v := n.get("tls"); v != nil && v.kind == kindObject {
		dv := v.get("disabled")
		cfg.ServesTLS = dv == nil || dv.kind != kindBool || !dv.b
	}
	// The service namespaces first: endpoint overrides refer to them.
	if v := n.get("extra_config"); v != nil {
		if v.kind == kindObject {
			d.serviceExtra(v, "extra_config", cfg.Name, cfg)
		} else if v.kind != kindNull {
			d.expect(v, "extra_config", "an object", false)
		}
	}
	if v := n.get("endpoints"); v != nil && v.kind != kindNull {
		if v.kind != kindArray {
			d.expect(v, "endpoints", "an array of endpoint objects", false)
		} else {
			for i, e := range v.elems {
				cfg.Endpoints = append(cfg.Endpoints, d.endpoint(e, index("endpoints", i)))
			}
		}
	}
	d.checkOverrideNames()
}

// nearNamespace reports a key that looks like a misspelt telemetry
// namespace: the gateway would ignore it silently.
func nearNamespace(key string) string {
	for _, ns := range telemetryNamespaces {
		if key != ns && levenshtein(strings.ToLower(key), ns) <= 3 {
			return ns
		}
	}
	return ""
}

func (d *decoder) serviceExtra(n *node, path, rootName string, cfg *Config) {
	for i, k := range n.keys {
		v, p := n.vals[i], child(path, k)
		if v.kind == kindNull {
			if slices.Contains(telemetryNamespaces, k) {
				// KrakenD keeps the key and decodes null into an empty
				// config (krakend-otel config/lura.go, krakend-opencensus
				// parseCfg): telemetry on, every default, no exporter.
				d.fail(v, p, KindRequired, "null: the gateway reads it as an empty configuration (telemetry on, no exporter) and would send nothing; write an object with exporters, or remove the key to turn it off")
			}
			continue
		}
		switch k {
		case NamespaceOpenTelemetry:
			cfg.OpenTelemetry = d.openTelemetry(v, p, rootName)
		case NamespaceOpenCensus, NamespaceOpenCensusLegacy:
			oc := d.openCensus(v, p, k)
			if cfg.OpenCensus != nil && cfg.OpenCensus.Namespace != k {
				d.fail(v, p, KindDuplicate, "both %q and %q are present (the same namespace under two names): keep %q", cfg.OpenCensus.Namespace, k, NamespaceOpenCensus)
				continue
			}
			cfg.OpenCensus = oc
		default:
			if ns := nearNamespace(k); ns != "" {
				d.fail(v, p, KindUnknownField, "unknown namespace; did you mean %q?", ns)
			}
		}
	}
}

func (d *decoder) endpoint(n *node, path string) Endpoint {
	var ep Endpoint
	if n.kind != kindObject {
		d.expect(n, path, "an endpoint object", false)
		return ep
	}
	if v := n.get("endpoint"); v != nil {
		d.str(v, child(path, "endpoint"), &ep.Endpoint)
	}
	if v := n.get("method"); v != nil {
		d.str(v, child(path, "method"), &ep.Method)
	}
	if v := n.get("extra_config"); v != nil && v.kind != kindNull {
		p := child(path, "extra_config")
		if v.kind != kindObject {
			d.expect(v, p, "an object", false)
		} else {
			for i, k := range v.keys {
				nv, np := v.vals[i], child(p, k)
				switch {
				case nv.kind == kindNull:
				case k == NamespaceOpenTelemetry:
					ep.Telemetry = d.endpointTelemetry(nv, np)
				case k == NamespaceOpenCensus || k == NamespaceOpenCensusLegacy:
					d.pathAggregation(nv, np, &ep.PathAggregation)
				case nearNamespace(k) != "":
					d.fail(nv, np, KindUnknownField, "unknown namespace; did you mean %q?", nearNamespace(k))
				}
			}
		}
	}
	if v := n.get("backend"); v != nil && v.kind != kindNull {
		p := child(path, "backend")
		if v.kind != kindArray {
			d.expect(v, p, "an array of backend objects", false)
		} else {
			for i, b := range v.elems {
				ep.Backends = append(ep.Backends, d.backendEntry(b, index(p, i)))
			}
		}
	}
	return ep
}

func (d *decoder) backendEntry(n *node, path string) Backend {
	var b Backend
	if n.kind != kindObject {
		d.expect(n, path, "a backend object", false)
		return b
	}
	if v := n.get("url_pattern"); v != nil {
		d.str(v, child(path, "url_pattern"), &b.URLPattern)
	}
	if v := n.get("method"); v != nil {
		d.str(v, child(path, "method"), &b.Method)
	}
	if v := n.get("host"); v != nil {
		d.strings(v, child(path, "host"), &b.Host)
	}
	if v := n.get("extra_config"); v != nil && v.kind != kindNull {
		p := child(path, "extra_config")
		if v.kind != kindObject {
			d.expect(v, p, "an object", false)
			return b
		}
		for i, k := range v.keys {
			nv, np := v.vals[i], child(p, k)
			switch {
			case nv.kind == kindNull:
			case k == NamespaceOpenTelemetry:
				b.Telemetry = d.backendTelemetry(nv, np)
			case k == NamespaceOpenCensus || k == NamespaceOpenCensusLegacy:
				d.pathAggregation(nv, np, &b.PathAggregation)
			case nearNamespace(k) != "":
				d.fail(nv, np, KindUnknownField, "unknown namespace; did you mean %q?", nearNamespace(k))
			}
		}
	}
	return b
}

func (d *decoder) pathAggregation(n *node, path string, dst *string) {
	d.object(n, path, fields{
		"path_aggregation": func(v *node, p string) {
			if d.str(v, p, dst) {
				switch *dst {
				case "pattern", "lastparam", "off":
				default:
					d.fail(v, p, KindRange, "%q is not one of pattern, lastparam, off", *dst)
				}
			}
		},
	}, nil)
}

// checkOverrideNames runs once every exporter is known.
func (d *decoder) checkOverrideNames() {
	known := make(map[string]bool, len(d.exporterNames))
	for _, n := range d.exporterNames {
		known[n] = true
	}
	for _, o := range d.overrides {
		for _, name := range o.names {
			if known[name] {
				continue
			}
			hint := ""
			if s := suggest(name, d.exporterNames); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			}
			d.fail(o.n, o.path, KindRequired, "exporter %q is not declared in extra_config[%q].exporters%s", name, NamespaceOpenTelemetry, hint)
		}
	}
}
