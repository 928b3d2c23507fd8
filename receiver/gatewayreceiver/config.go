package gatewayreceiver

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
)

// Config is the gateway receiver's configuration. The protocols block is the
// stock OTLP receiver's, so every server setting of configgrpc and confighttp
// (endpoint, TLS, auth, max request size, include_metadata) reads the same.
type Config struct {
	Protocols otlpreceiver.Protocols `mapstructure:"protocols"`

	// ResourceDefaults are resource attributes set on every resource that
	// lacks them or has them empty (service.name, service.version,
	// deployment.environment, ...). What the gateway sent always wins.
	ResourceDefaults map[string]string `mapstructure:"resource_defaults"`

	// InstanceIDFromPeer sets service.instance.id to the sending peer's IP
	// address when the gateway sent none, so that replicas of one gateway
	// never collide in Prometheus (KrakenD sends no instance id by default).
	InstanceIDFromPeer bool `mapstructure:"instance_id_from_peer"`

	// GatewayScopes are the instrumentation scopes whose metrics are gateway
	// metrics, and whose spans may have their stage inferred.
	GatewayScopes []string `mapstructure:"gateway_scopes"`
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
	for i, s := range cfg.GatewayScopes {
		if s == "" {
			errs = append(errs, fmt.Errorf("gateway_scopes[%d]: a scope name must not be empty", i))
		}
	}
	return errors.Join(errs...)
}
