package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Mode names the sampling rule.
type Mode string

const (
	// ModeConsistent is OpenTelemetry's consistent probability sampling
	// (OTEP 235): randomness from the low 56 bits of the trace ID or an
	// explicit `rv`, threshold written as `ot=th:` into kept spans' tracestate.
	ModeConsistent Mode = "consistent"
	// ModeSDKParity is the OpenTelemetry Go SDK's TraceIDRatioBased rule, the
	// one KrakenD samples with; it writes nothing into the tracestate.
	ModeSDKParity Mode = "sdk_parity"
)

// Config is the `sampling` processor's configuration (docs/contracts.md).
type Config struct {
	// SamplingPercentage is the share of traces kept, 0..100.
	SamplingPercentage float64 `mapstructure:"sampling_percentage"`
	// Mode is the sampling rule: consistent (default) or sdk_parity.
	Mode Mode `mapstructure:"mode"`
	// Routes maps an endpoint route (`/orders/{id}` or `/orders/:id`) to the
	// percentage used for traces of that endpoint instead of SamplingPercentage.
	Routes map[string]float64 `mapstructure:"routes"`
	// CopyKeptSpans makes the processor read-only: it hands on a copy of
	// the kept spans instead of removing the dropped ones from its input.
	// Where the input is shared with another consumer (spanmetrics or the
	// datadog connector before the sampler), the collector then no longer
	// copies every batch for this pipeline: only the kept share is copied.
	CopyKeptSpans bool `mapstructure:"copy_kept_spans"`
	// Batch gathers the kept spans of many requests and hands them on in
	// fewer, larger batches; absent, each request's kept spans go on as
	// they came. It moves what it gathers: the copies copy_kept_spans
	// makes, or, in place, the input the collector gives this processor
	// alone (it says it mutates its input).
	Batch *BatchConfig `mapstructure:"batch"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// BatchConfig sets when gathered kept spans are handed on: when they
// number SendBatchSize, or Timeout after the first of them, whichever comes
// first.
type BatchConfig struct {
	Timeout       time.Duration `mapstructure:"timeout"`
	SendBatchSize int           `mapstructure:"send_batch_size"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

var (
	errPercentageRange = errors.New("must be between 0 and 100")
	errUnknownMode     = errors.New(`mode must be "consistent" or "sdk_parity"`)
	errEmptyRoute      = errors.New("routes: a route must not be empty")
)

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs error
	if err := checkPercentage(cfg.SamplingPercentage); err != nil {
		errs = errors.Join(errs, fmt.Errorf("sampling_percentage %w", err))
	}
	switch cfg.Mode {
	case ModeConsistent, ModeSDKParity:
	default:
		errs = errors.Join(errs, fmt.Errorf("%w, got %q", errUnknownMode, string(cfg.Mode)))
	}
	if b := cfg.Batch; b != nil {
		if b.Timeout <= 0 {
			errs = errors.Join(errs, fmt.Errorf("batch.timeout must be positive, got %s", b.Timeout))
		}
		if b.SendBatchSize < 1 {
			errs = errors.Join(errs, fmt.Errorf("batch.send_batch_size must be at least 1, got %d", b.SendBatchSize))
		}
	}
	// Sorted so that the error text is stable.
	routes := make([]string, 0, len(cfg.Routes))
	for r := range cfg.Routes {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	seen := make(map[string]string, len(routes))
	for _, r := range routes {
		trimmed := strings.TrimSpace(r)
		if trimmed == "" {
			errs = errors.Join(errs, errEmptyRoute)
			continue
		}
		if trimmed != r {
			// it would never match, silently
			errs = errors.Join(errs, fmt.Errorf("routes[%q]: spaces around the route, which no span's route has: %q", r, trimmed))
			continue
		}
		p := cfg.Routes[r]
		if err := checkPercentage(p); err != nil {
			errs = errors.Join(errs, fmt.Errorf("routes[%q]: percentage %w", r, err))
			continue
		}
		// `/a/{id}` and `/a/:id` are one route: two spellings with two
		// percentages would make the choice depend on map order.
		key := colonForm(r)
		if other, dup := seen[key]; dup && cfg.Routes[other] != p {
			errs = errors.Join(errs, fmt.Errorf("routes[%q] and routes[%q] name the same route with different percentages (%g, %g)", other, r, cfg.Routes[other], p))
		}
		seen[key] = r
	}
	return errs
}

func checkPercentage(p float64) error {
	if math.IsNaN(p) || p < 0 || p > 100 {
		return fmt.Errorf("%w, got %g", errPercentageRange, p)
	}
	return nil
}

// colonForm writes a route's `{param}` segments as `:param`, KrakenD's own
// spelling in span attributes. As in Lura, the parameter may be followed by
// more of its segment: `{id}.json` is `:id.json`.
func colonForm(route string) string {
	if !strings.Contains(route, "{") {
		return route
	}
	segs := strings.Split(route, "/")
	for i, s := range segs {
		if k := strings.IndexByte(s, '}'); len(s) > 2 && s[0] == '{' && k > 1 {
			segs[i] = ":" + s[1:k] + s[k+1:]
		}
	}
	return strings.Join(segs, "/")
}

// braceForm writes a route's `:param` segments as `{param}`.
func braceForm(route string) string {
	if !strings.Contains(route, ":") {
		return route
	}
	segs := strings.Split(route, "/")
	for i, s := range segs {
		if len(s) > 1 && s[0] == ':' {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}
