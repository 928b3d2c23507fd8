package requestmetricsconnector // import "github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"

import (
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/component"
)

// The attributes every series carries unless excluded, named as spanmetrics
// names them.
const (
	serviceNameKey         = "service.name"
	spanNameKey            = "span.name"
	spanKindKey            = "span.kind"
	statusCodeKey          = "status.code"
	collectorInstanceIDKey = "collector.instance.id"
	scopeNameKey           = "span.instrumentation.scope.name"
	scopeVersionKey        = "span.instrumentation.scope.version"
	overflowKey            = "otel.metric.overflow"
)

// builtInDimensions are the attributes exclude_dimensions may remove.
var builtInDimensions = []string{serviceNameKey, spanNameKey, spanKindKey, statusCodeKey, collectorInstanceIDKey}

// maxDimensions bounds the configured dimensions: a series key holds them in
// a fixed-size array so that it stays comparable and is never allocated.
const maxDimensions = 16

// Histogram units.
const (
	UnitMilliseconds = "ms"
	UnitSeconds      = "s"
)

// Config is the `requestmetrics` connector's configuration. Its keys are
// spanmetrics' keys, so a spanmetrics configuration that uses only these
// reads the same here.
type Config struct {
	// Namespace prefixes the metric names: <namespace>.calls and
	// <namespace>.duration.
	Namespace string `mapstructure:"namespace"`
	// IncludeInstrumentationScope lists the scope names whose spans' series
	// carry span.instrumentation.scope.name and .version. Spans of other
	// scopes are counted too, without those attributes.
	IncludeInstrumentationScope []string `mapstructure:"include_instrumentation_scope"`
	// Dimensions are the span attributes (or, failing that, resource
	// attributes, then Default) that split the series.
	Dimensions []Dimension `mapstructure:"dimensions"`
	// ExcludeDimensions removes built-in attributes from every series:
	// service.name, span.name, span.kind, status.code, collector.instance.id.
	ExcludeDimensions []string `mapstructure:"exclude_dimensions"`
	// AggregationCardinalityLimit is the number of series per resource past
	// which new series are counted in one overflow series
	// (otel.metric.overflow=true). 0 means no limit.
	AggregationCardinalityLimit int `mapstructure:"aggregation_cardinality_limit"`
	// Histogram configures the duration histogram.
	Histogram HistogramConfig `mapstructure:"histogram"`
	// MetricsFlushInterval is how often the metrics are emitted.
	MetricsFlushInterval time.Duration `mapstructure:"metrics_flush_interval"`
	// UpstreamSampling weights the spans of a sender that sampled them
	// without saying so in the tracestate: KrakenD at a trace_sample_rate.
	// Not in spanmetrics.
	UpstreamSampling UpstreamSamplingConfig `mapstructure:"upstream_sampling"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// UpstreamSamplingConfig is the sampling a sender applied before the
// collector, by the OpenTelemetry Go SDK's TraceIDRatioBased rule (KrakenD's
// trace_sample_rate), which writes no OTEP 235 threshold that would give a
// span's adjusted count.
type UpstreamSamplingConfig struct {
	// Percentage is the sender's sampling percentage, 0 < p <= 100. A span
	// whose trace ID the rule keeps at p, and that carries no threshold of
	// its own, counts 100/p requests (stochastically rounded); a span whose
	// trace ID the rule drops counts 1: the sender kept that trace for
	// another reason (a caller had sampled it). A sender whose spans show
	// it did not sample (a root span whose trace ID the rule drops) is
	// counted 1:1 from then on. 0, the default, weights nothing.
	Percentage float64 `mapstructure:"percentage"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Dimension is a span attribute that splits the series, with an optional
// value for spans (and resources) that lack it.
type Dimension struct {
	Name    string  `mapstructure:"name"`
	Default *string `mapstructure:"default"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// HistogramConfig is the duration histogram's unit and buckets.
type HistogramConfig struct {
	// Unit is "ms" or "s".
	Unit     string                  `mapstructure:"unit"`
	Explicit ExplicitHistogramConfig `mapstructure:"explicit"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// ExplicitHistogramConfig holds the bucket upper bounds as durations.
type ExplicitHistogramConfig struct {
	// Buckets are the upper bounds, strictly increasing. Empty means
	// spanmetrics' default buckets.
	Buckets []time.Duration `mapstructure:"buckets"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if len(cfg.Dimensions) > maxDimensions {
		errs = append(errs, fmt.Errorf("dimensions: %d configured, at most %d are supported", len(cfg.Dimensions), maxDimensions))
	}
	seen := map[string]int{}
	for _, b := range builtInDimensions {
		seen[b] = -1
	}
	for i, d := range cfg.Dimensions {
		switch prev, dup := seen[d.Name]; {
		case d.Name == "":
			errs = append(errs, fmt.Errorf("dimensions[%d].name: must not be empty", i))
		case dup && prev < 0:
			errs = append(errs, fmt.Errorf("dimensions[%d].name: %q is a built-in dimension of every series", i, d.Name))
		case dup:
			errs = append(errs, fmt.Errorf("dimensions[%d].name: %q is already dimensions[%d]", i, d.Name, prev))
		default:
			seen[d.Name] = i
		}
	}
	for i, e := range cfg.ExcludeDimensions {
		if !isBuiltIn(e) {
			errs = append(errs, fmt.Errorf("exclude_dimensions[%d]: %q is not one of %v", i, e, builtInDimensions))
		}
	}
	for i, s := range cfg.IncludeInstrumentationScope {
		if s == "" {
			errs = append(errs, fmt.Errorf("include_instrumentation_scope[%d]: must not be empty", i))
		}
	}
	if cfg.AggregationCardinalityLimit < 0 {
		errs = append(errs, fmt.Errorf("aggregation_cardinality_limit: %d, must be 0 (no limit) or positive", cfg.AggregationCardinalityLimit))
	}
	if cfg.MetricsFlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("metrics_flush_interval: %v, must be positive", cfg.MetricsFlushInterval))
	}
	if p := cfg.UpstreamSampling.Percentage; p < 0 || p > 100 || math.IsNaN(p) {
		errs = append(errs, fmt.Errorf("upstream_sampling.percentage: %v, must be between 0 (no upstream sampling) and 100", p))
	}
	switch cfg.Histogram.Unit {
	case UnitMilliseconds, UnitSeconds:
	default:
		errs = append(errs, fmt.Errorf("histogram.unit: %q, must be %q or %q", cfg.Histogram.Unit, UnitMilliseconds, UnitSeconds))
	}
	for i, b := range cfg.Histogram.Explicit.Buckets {
		if b <= 0 {
			errs = append(errs, fmt.Errorf("histogram.explicit.buckets[%d]: %v, must be positive", i, b))
		} else if i > 0 && b <= cfg.Histogram.Explicit.Buckets[i-1] {
			errs = append(errs, fmt.Errorf("histogram.explicit.buckets[%d]: %v, must be greater than buckets[%d] (%v)", i, b, i-1, cfg.Histogram.Explicit.Buckets[i-1]))
		}
	}
	return errors.Join(errs...)
}

func isBuiltIn(name string) bool {
	for _, b := range builtInDimensions {
		if b == name {
			return true
		}
	}
	return false
}

func (cfg *Config) excluded(name string) bool {
	for _, e := range cfg.ExcludeDimensions {
		if e == name {
			return true
		}
	}
	return false
}

// defaultBucketsMs are spanmetrics' default buckets, in milliseconds.
var defaultBucketsMs = []float64{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10_000, 15_000}

// unitDivider is how many nanoseconds make one unit.
func (cfg *Config) unitDivider() int64 {
	if cfg.Histogram.Unit == UnitSeconds {
		return time.Second.Nanoseconds()
	}
	return time.Millisecond.Nanoseconds()
}

// bounds returns the histogram's upper bounds in the configured unit,
// computed as spanmetrics computes them so that the floats are identical.
func (cfg *Config) bounds() []float64 {
	div := cfg.unitDivider()
	if len(cfg.Histogram.Explicit.Buckets) == 0 {
		out := make([]float64, len(defaultBucketsMs))
		for i, v := range defaultBucketsMs {
			if cfg.Histogram.Unit == UnitSeconds {
				v /= float64(time.Second.Milliseconds())
			}
			out[i] = v
		}
		return out
	}
	out := make([]float64, len(cfg.Histogram.Explicit.Buckets))
	for i, b := range cfg.Histogram.Explicit.Buckets {
		out[i] = float64(b.Nanoseconds()) / float64(div)
	}
	return out
}
