// Written by hand in the shape mdatagen generates from metadata.yaml (mdatagen
// cannot be installed on the build machine). Keep it in step with metadata.yaml.

// Package metadata holds the requestmetrics processor's type, scope name and
// stability level.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("requestmetrics")
	ScopeName = "github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor"
)

const (
	TracesStability = component.StabilityLevelAlpha
)
