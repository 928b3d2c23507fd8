// Written by hand in the shape mdatagen generates from metadata.yaml (mdatagen
// cannot be installed on the build machine). Keep it in step with metadata.yaml.

// Package metadata holds the startup_pages extension's type, scope name and
// stability level.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	Type      = component.MustNewType("startup_pages")
	ScopeName = "github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension"
)

const (
	ExtensionStability = component.StabilityLevelAlpha
)
