package gatewayreceiver

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// Config is the gateway receiver's configuration. The protocols block is the
// stock OTLP receiver's, so every server setting of configgrpc and confighttp
// (endpoint, TLS, auth, max request size, include_metadata) reads the same.
type Config struct {
	Protocols otlpreceiver.Protocols `mapstructure:"protocols"`

	// ResourceDefaults are resource attributes set on every resource that
	// lacks them or has them empty (service.name, service.version,
	// deployment.environment, ...). What the gateway sent always wins,
	// except a service.name starting with unknown_service: the SDK's
	// placeholder for a service nobody named.
	ResourceDefaults map[string]string `mapstructure:"resource_defaults"`

	// InstanceIDFromPeer sets service.instance.id to the sending peer's IP
	// address when the gateway sent none, so that replicas of one gateway
	// never collide in Prometheus (KrakenD sends no instance id by default).
	InstanceIDFromPeer bool `mapstructure:"instance_id_from_peer"`

	// GatewayScopes are the instrumentation scopes whose metrics are gateway
	// metrics, and whose spans may have their stage inferred.
	GatewayScopes []string `mapstructure:"gateway_scopes"`

	// SemanticConvention is the gateway's layers.global.semantic_convention
	// ("" or "1.27"). The metric names alone do not tell it, and under
	// "1.27" KrakenD emits the started/failed/canceled/timedout counters and
	// no-content-length only with detailed_connection: they are marked
	// backend.detailed_connection then, so that the layer filter's
	// detailed_connection governs them as the gateway's does.
	SemanticConvention string `mapstructure:"semantic_convention"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if !cfg.Protocols.GRPC.HasValue() && !cfg.Protocols.HTTP.HasValue() {
		errs = append(errs, errors.New("protocols: at least one of grpc or http must be set"))
	}
	for k := range cfg.ResourceDefaults {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, errors.New("resource_defaults: an attribute key must not be empty"))
		}
	}
	if cfg.Protocols.HTTP.HasValue() {
		errs = append(errs, validateURLPaths(cfg.Protocols.HTTP.Get())...)
	}
	if cfg.SemanticConvention != "" && cfg.SemanticConvention != layer.SemanticConvention127 {
		errs = append(errs, fmt.Errorf("semantic_convention: %q is not supported: the gateway knows only %q (or \"\" for its default names)",
			cfg.SemanticConvention, layer.SemanticConvention127))
	}
	for i, s := range cfg.GatewayScopes {
		if strings.TrimSpace(s) == "" {
			errs = append(errs, fmt.Errorf("gateway_scopes[%d]: a scope name must not be empty", i))
		}
	}
	return errors.Join(errs...)
}

// validateURLPaths refuses what would make the HTTP server's mux panic at
// start: two signals on one path, or a path read as a Go ServeMux pattern
// ({name} wildcards, a method before a space).
func validateURLPaths(h *otlpreceiver.HTTPConfig) []error {
	var errs []error
	first := map[string]string{}
	for _, p := range []struct{ field, path string }{
		{"traces_url_path", string(h.TracesURLPath)},
		{"metrics_url_path", string(h.MetricsURLPath)},
		{"logs_url_path", string(h.LogsURLPath)},
	} {
		switch {
		case !strings.HasPrefix(p.path, "/"):
			errs = append(errs, fmt.Errorf("protocols.http.%s: %q must start with /", p.field, p.path))
		case strings.ContainsAny(p.path, "{} \t"):
			errs = append(errs, fmt.Errorf("protocols.http.%s: %q is a URL path: braces and spaces are not allowed", p.field, p.path))
		case first[p.path] != "":
			errs = append(errs, fmt.Errorf("protocols.http.%s: %q is already %s: each signal needs its own path", p.field, p.path, first[p.path]))
		default:
			first[p.path] = p.field
		}
	}
	return errs
}
