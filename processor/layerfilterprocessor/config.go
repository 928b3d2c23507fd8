package layerfilterprocessor

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// Config is the layerfilter processor's configuration (docs/contracts.md).
// The top level is the default policy; Services hold per-service policies
// that replace it whole for the resources whose service.name they name.
type Config struct {
	Policy `mapstructure:",squash"`

	Services []ServicePolicy `mapstructure:"services"`

	// Reparent keeps traces whole when a removed span has kept children.
	// It is processor-wide: services do not set it.
	Reparent ReparentConfig `mapstructure:"reparent"`

	// DestinationNames adds, per layer, the span attributes (and the error
	// status) that X-Ray, Datadog and Azure Monitor read to name a span
	// (DESIGN.md section 8). Processor-wide: services do not set it.
	DestinationNames DestinationNamesConfig `mapstructure:"destination_names"`

	// UnsampledTraces names the sampler that follows the request counters,
	// so that the spans of the traces it will drop (three in four at 25 %)
	// are spared the work only exported spans need. Processor-wide, traces
	// only.
	UnsampledTraces UnsampledTracesConfig `mapstructure:"unsampled_traces"`
}

// UnsampledTracesConfig describes the sampler after the layer filter. The
// spans of a trace it drops are still classified, filtered, re-parented,
// redacted and named, and counted by whatever reads them before the
// sampler; they get no static attributes and keep their detailed-connection
// attributes, which no destination then sees.
type UnsampledTracesConfig struct {
	// SDKParityPercentage is the sampling processor's sampling_percentage
	// in sdk_parity mode with no per-route percentages; it must be that
	// sampler's, or kept spans would lack their static attributes (the
	// translator writes both from one trace_sample_rate). Omitted: every
	// kept span gets its static attributes.
	SDKParityPercentage *float64 `mapstructure:"sdk_parity_percentage"`
}

// ReparentConfig bounds the re-parenting of the children of removed spans.
type ReparentConfig struct {
	// Enabled re-parents every kept child of a removed span to its nearest
	// kept ancestor, as the gateway does when the layer is off in-process.
	Enabled bool `mapstructure:"enabled"`
	// MaxWait is how long a kept span whose possibly removed parent is in
	// none of the batches seen so far waits for it, and how long the parent
	// IDs of removed spans are remembered for children that come later.
	// Zero resolves within each batch only: nothing is held or remembered.
	MaxWait time.Duration `mapstructure:"max_wait"`
	// MaxSpans is how many spans may wait at once; beyond it the oldest is
	// released as it is.
	MaxSpans int `mapstructure:"max_spans"`
	// MaxRemoved is how many removed spans' parent IDs are remembered at
	// once; beyond it the oldest is forgotten.
	MaxRemoved int `mapstructure:"max_removed"`
}

// Defaults of ReparentConfig. MaxWait covers the gateway SDK's default
// batch timeout (5 s): a parent is exported at the latest one batch later.
const (
	defaultReparentMaxWait    = 5 * time.Second
	defaultReparentMaxSpans   = 10_000
	defaultReparentMaxRemoved = 100_000
)

// ServicePolicy is a complete policy for the gateway whose resource carries
// service.name = ServiceName. Nothing is inherited from the top level.
type ServicePolicy struct {
	ServiceName string `mapstructure:"service_name"`
	Policy      `mapstructure:",squash"`
}

// Policy is KrakenD's `layers` plus `skip_paths` and the overrides of its
// endpoints and backends, for one gateway service.
type Policy struct {
	// SkipPaths are the paths whose data is dropped in every layer. Both
	// `/foo/{bar}` and `/foo/:bar` are accepted; a final `*name` segment
	// matches the rest of a path. Empty entries are ignored (KrakenD's `[""]`).
	SkipPaths []string `mapstructure:"skip_paths"`

	Global  LayerConfig   `mapstructure:"global"`
	Proxy   LayerConfig   `mapstructure:"proxy"`
	Backend BackendConfig `mapstructure:"backend"`

	Endpoints []EndpointOverride `mapstructure:"endpoints"`
	Backends  []BackendOverride  `mapstructure:"backends"`

	// RedactHeaders are the header names whose attribute values are replaced
	// by [REDACTED] in every layer. Omitted (null): DefaultRedactHeaders,
	// written into the configuration at load; an empty list turns redaction
	// off.
	RedactHeaders []string `mapstructure:"redact_headers"`
}

// LayerConfig is KrakenD's `layers.global` or `layers.proxy`.
type LayerConfig struct {
	DisableMetrics bool `mapstructure:"disable_metrics"`
	DisableTraces  bool `mapstructure:"disable_traces"`
	// ReportHeaders false strips the layer's header attributes. Omitted: true.
	ReportHeaders           *bool             `mapstructure:"report_headers"`
	SkipHeaders             []string          `mapstructure:"skip_headers"`
	MetricsStaticAttributes map[string]string `mapstructure:"metrics_static_attributes"`
	TracesStaticAttributes  map[string]string `mapstructure:"traces_static_attributes"`
}

// BackendConfig is KrakenD's `layers.backend`.
type BackendConfig struct {
	Metrics BackendMetrics `mapstructure:"metrics"`
	Traces  BackendTraces  `mapstructure:"traces"`
}

// BackendSwitches are the switches shared by backend metrics and traces.
// The three positive switches default to true when omitted, here and in
// overrides alike (the translator always writes them explicitly).
type BackendSwitches struct {
	DisableStage       bool              `mapstructure:"disable_stage"`
	RoundTrip          *bool             `mapstructure:"round_trip"`
	ReadPayload        *bool             `mapstructure:"read_payload"`
	DetailedConnection *bool             `mapstructure:"detailed_connection"`
	StaticAttributes   map[string]string `mapstructure:"static_attributes"`
}

// BackendMetrics is `layers.backend.metrics`.
type BackendMetrics struct {
	BackendSwitches `mapstructure:",squash"`
}

// BackendTraces is `layers.backend.traces`.
type BackendTraces struct {
	BackendSwitches `mapstructure:",squash"`
	// ReportHeaders false strips the backend spans' header attributes.
	// Omitted: true.
	ReportHeaders *bool    `mapstructure:"report_headers"`
	SkipHeaders   []string `mapstructure:"skip_headers"`
}

// EndpointOverride is an endpoint's own `telemetry/opentelemetry` settings.
type EndpointOverride struct {
	// Route is the endpoint pattern, `/users/{id}` or `/users/:id`.
	Route string `mapstructure:"route"`
	// Method narrows the override to one method; empty means any.
	Method string `mapstructure:"method"`
	// Proxy replaces the policy's proxy layer whole for this endpoint.
	Proxy *LayerConfig `mapstructure:"proxy"`
	// Global adds static attributes to the policy's global ones for the
	// global layer data of this endpoint.
	Global *EndpointGlobal `mapstructure:"global"`
	// Backend replaces the policy's backend layer whole for every backend of
	// this endpoint (KrakenD Enterprise's endpoint-level `backend`).
	Backend *BackendConfig `mapstructure:"backend"`
}

// EndpointGlobal is the part of an endpoint's `global` override KrakenD reads.
type EndpointGlobal struct {
	MetricsStaticAttributes map[string]string `mapstructure:"metrics_static_attributes"`
	TracesStaticAttributes  map[string]string `mapstructure:"traces_static_attributes"`
}

// BackendOverride is a backend's own `telemetry/opentelemetry` settings.
type BackendOverride struct {
	// Endpoint narrows the override to the backends of one endpoint route;
	// empty means the backends with this url_pattern in any endpoint.
	Endpoint   string `mapstructure:"endpoint"`
	URLPattern string `mapstructure:"url_pattern"`
	// Backend replaces the backend layer whole for the matching backends.
	Backend BackendConfig `mapstructure:"backend"`
}

// Unmarshal writes DefaultRedactHeaders into the service policies that
// omit redact_headers, as the default configuration does at the top level:
// the configuration the collector prints (print-config) would otherwise
// show the omitted list as [], which read back turns redaction off.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	for i := range cfg.Services {
		if cfg.Services[i].RedactHeaders == nil {
			cfg.Services[i].RedactHeaders = slices.Clone(DefaultRedactHeaders)
		}
	}
	return nil
}

// DefaultRedactHeaders are the credential headers whose values are redacted
// unless redact_headers says otherwise.
var DefaultRedactHeaders = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}

var _ component.Config = (*Config)(nil)

// Validate checks what the collector's unmarshalling cannot: the services
// are distinct, routes are well formed, overrides are not ambiguous.
func (cfg *Config) Validate() error {
	errs := cfg.Policy.validate("")
	errs = append(errs, cfg.Reparent.validate()...)
	errs = append(errs, cfg.DestinationNames.validate()...)
	if p := cfg.UnsampledTraces.SDKParityPercentage; p != nil && (math.IsNaN(*p) || *p < 0 || *p > 100) {
		errs = append(errs, fmt.Errorf("unsampled_traces.sdk_parity_percentage: must be between 0 and 100, got %g", *p))
	}
	seen := map[string]int{}
	for i := range cfg.Services {
		s := &cfg.Services[i]
		path := fmt.Sprintf("services[%d]", i)
		if s.ServiceName == "" {
			errs = append(errs, fmt.Errorf("%s.service_name: must not be empty", path))
		} else if j, dup := seen[s.ServiceName]; dup {
			errs = append(errs, fmt.Errorf("%s.service_name: %q is already the service of services[%d]", path, s.ServiceName, j))
		} else {
			seen[s.ServiceName] = i
		}
		errs = append(errs, s.Policy.validate(path+".")...)
	}
	return errors.Join(errs...)
}

func (r *ReparentConfig) validate() []error {
	var errs []error
	if r.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("reparent.max_wait: %s must not be negative (0 resolves within each batch only)", r.MaxWait))
	}
	if r.MaxSpans < 1 {
		errs = append(errs, fmt.Errorf("reparent.max_spans: %d must be at least 1 (set max_wait: 0 to hold nothing)", r.MaxSpans))
	}
	if r.MaxRemoved < 1 {
		errs = append(errs, fmt.Errorf("reparent.max_removed: %d must be at least 1 (set max_wait: 0 to remember nothing)", r.MaxRemoved))
	}
	return errs
}

func (p *Policy) validate(prefix string) []error {
	var errs []error
	for i, sp := range p.SkipPaths {
		if sp == "" {
			continue
		}
		if err := validateRoute(sp); err != nil {
			errs = append(errs, fmt.Errorf("%sskip_paths[%d]: %w", prefix, i, err))
		}
	}
	errs = append(errs, p.Global.validate(prefix+"global.")...)
	errs = append(errs, p.Proxy.validate(prefix+"proxy.")...)
	errs = append(errs, p.Backend.validate(prefix+"backend.")...)
	errs = append(errs, validateHeaderNames(prefix+"redact_headers", p.RedactHeaders)...)

	type endpointKey struct{ route, method string }
	endpoints := map[endpointKey]int{}
	for i := range p.Endpoints {
		e := &p.Endpoints[i]
		path := fmt.Sprintf("%sendpoints[%d]", prefix, i)
		if e.Route == "" {
			errs = append(errs, fmt.Errorf("%s.route: must not be empty", path))
		} else if err := validateRoute(e.Route); err != nil {
			errs = append(errs, fmt.Errorf("%s.route: %w", path, err))
		} else {
			k := endpointKey{canonicalKey(e.Route), strings.ToUpper(e.Method)}
			if j, dup := endpoints[k]; dup {
				errs = append(errs, fmt.Errorf("%s: route %q method %q is already overridden by %sendpoints[%d]", path, e.Route, e.Method, prefix, j))
			} else {
				endpoints[k] = i
			}
		}
		if e.Proxy != nil {
			errs = append(errs, e.Proxy.validate(path+".proxy.")...)
		}
		if e.Global != nil {
			errs = append(errs, validateStatic(path+".global.metrics_static_attributes", e.Global.MetricsStaticAttributes)...)
			errs = append(errs, validateTraceStatic(path+".global.traces_static_attributes", e.Global.TracesStaticAttributes)...)
		}
		if e.Backend != nil {
			errs = append(errs, e.Backend.validate(path+".backend.")...)
		}
	}

	type backendKey struct{ endpoint, pattern string }
	backends := map[backendKey]int{}
	for i := range p.Backends {
		b := &p.Backends[i]
		path := fmt.Sprintf("%sbackends[%d]", prefix, i)
		ok := true
		if b.Endpoint != "" {
			if err := validateRoute(b.Endpoint); err != nil {
				errs = append(errs, fmt.Errorf("%s.endpoint: %w", path, err))
				ok = false
			}
		}
		if b.URLPattern == "" {
			errs = append(errs, fmt.Errorf("%s.url_pattern: must not be empty", path))
			ok = false
		} else if err := validateURLPattern(b.URLPattern); err != nil {
			errs = append(errs, fmt.Errorf("%s.url_pattern: %w", path, err))
			ok = false
		}
		if ok {
			k := backendKey{canonicalKey(b.Endpoint), canonicalPatternKey(b.URLPattern)}
			if j, dup := backends[k]; dup {
				errs = append(errs, fmt.Errorf("%s: endpoint %q url_pattern %q is already overridden by %sbackends[%d]", path, b.Endpoint, b.URLPattern, prefix, j))
			} else {
				backends[k] = i
			}
		}
		errs = append(errs, b.Backend.validate(path+".backend.")...)
	}
	return errs
}

func (l *LayerConfig) validate(prefix string) []error {
	errs := validateHeaderNames(prefix+"skip_headers", l.SkipHeaders)
	errs = append(errs, validateStatic(prefix+"metrics_static_attributes", l.MetricsStaticAttributes)...)
	return append(errs, validateTraceStatic(prefix+"traces_static_attributes", l.TracesStaticAttributes)...)
}

func (b *BackendConfig) validate(prefix string) []error {
	errs := validateStatic(prefix+"metrics.static_attributes", b.Metrics.StaticAttributes)
	errs = append(errs, validateTraceStatic(prefix+"traces.static_attributes", b.Traces.StaticAttributes)...)
	return append(errs, validateHeaderNames(prefix+"traces.skip_headers", b.Traces.SkipHeaders)...)
}

// validateStatic rejects an empty key: it cannot become an attribute, and a
// user who wrote one made a mistake worth hearing about. An empty value is
// ignored, as KrakenD does.
func validateStatic(path string, attrs map[string]string) []error {
	for k := range attrs {
		if strings.TrimSpace(k) == "" {
			return []error{fmt.Errorf("%s: an attribute key must not be empty", path)}
		}
	}
	return nil
}

// validateTraceStatic also refuses krakend.stage: it is the layer marker
// every span is classified by, and a static attribute would replace it on
// the spans the filter keeps, after which the request metrics and the
// destinations would see a stage that is no layer.
func validateTraceStatic(path string, attrs map[string]string) []error {
	if _, ok := attrs[layer.StageKey]; ok {
		return []error{fmt.Errorf("%s: %s is the gateway's layer marker, not a static attribute", path, layer.StageKey)}
	}
	return validateStatic(path, attrs)
}

func validateHeaderNames(path string, names []string) []error {
	var errs []error
	for i, n := range names {
		if strings.TrimSpace(n) == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: a header name must not be empty", path, i))
		}
	}
	return errs
}
