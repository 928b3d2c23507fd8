// Written by hand in the shape mdatagen generates from metadata.yaml (mdatagen
// cannot be installed on the build machine). Keep it in step with metadata.yaml.

// Package metadata holds the sampling processor's type, scope name, stability
// levels and own telemetry.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("sampling")
	ScopeName = "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"
)

const (
	TracesStability  = component.StabilityLevelBeta
	LogsStability    = component.StabilityLevelBeta
	MetricsStability = component.StabilityLevelBeta
)
