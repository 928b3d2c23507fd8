package requestmetricsprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor"

import "go.opentelemetry.io/collector/component"

// Config is empty: what is counted, and how, is the configuration of the
// requestmetrics connector of the same ID.
type Config struct {
	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration: there is nothing to check. Whether the
// connector of the same ID exists is checked when the processor starts, once
// the collector has made every component.
func (*Config) Validate() error { return nil }
