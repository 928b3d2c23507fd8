// Written by hand in the shape mdatagen generates from metadata.yaml (mdatagen
// cannot be installed on the build machine). Keep it in step with metadata.yaml.

// Package metadata holds the requestmetrics connector's type, scope name and
// stability levels.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("requestmetrics")
	ScopeName = "github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"
)

const (
	TracesToMetricsStability = component.StabilityLevelAlpha
)
