package prometheuscompatprocessor

import (
	"errors"
	"fmt"
	"slices"
)

// Config says which of the gateway's Prometheus habits to reproduce.
type Config struct {
	// GatewayScopes are the instrumentation scopes whose metrics are the
	// gateway's; metrics of other scopes pass untouched.
	GatewayScopes []string `mapstructure:"gateway_scopes"`

	// DropUnits lists units to clear on gateway metrics. KrakenD's Prometheus
	// exporter (the Go SDK's) ignores units it does not know, such as the
	// `b` of the read.size instruments, while the collector's appends them
	// (`..._read_size_b_total`): clearing them gives KrakenD's names.
	DropUnits []string `mapstructure:"drop_units"`

	// ScopeInfo adds an `otel_scope_info` gauge (value 1) per resource and
	// gateway scope, as KrakenD's exporter shows and the collector's does not.
	ScopeInfo bool `mapstructure:"scope_info"`

	// ServiceNameOnTargetInfo copies service.name into a resource attribute
	// that the exporter keeps on `target_info` (`service_name`): the stock
	// exporter moves service.name into `job` and drops it from target_info.
	// (service.version needs no copy: it is on target_info already, as
	// `service_version`.)
	ServiceNameOnTargetInfo bool `mapstructure:"service_name_on_target_info"`
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	for i, s := range cfg.GatewayScopes {
		if s == "" {
			errs = append(errs, fmt.Errorf("gateway_scopes[%d]: a scope name must not be empty", i))
		}
	}
	for i, u := range cfg.DropUnits {
		if u == "" {
			errs = append(errs, fmt.Errorf("drop_units[%d]: a unit must not be empty", i))
		}
		if slices.Contains([]string{"s", "By", "ms"}, u) {
			errs = append(errs, fmt.Errorf("drop_units[%d]: %q is a unit KrakenD's exporter shows too (as a name suffix): dropping it would change the name", i, u))
		}
	}
	if len(cfg.GatewayScopes) == 0 && (len(cfg.DropUnits) > 0 || cfg.ScopeInfo) {
		errs = append(errs, errors.New("gateway_scopes: name at least one scope for drop_units or scope_info to apply to"))
	}
	return errors.Join(errs...)
}
