package startuppagesextension // import "github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension/internal/metadata"
)

// NewFactory returns the factory of the `startup_pages` extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, create, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config { return &Config{} }

func create(_ context.Context, set extension.Settings, _ component.Config) (extension.Extension, error) {
	return &startupPages{logger: set.Logger, release: releaseExecutablePages}, nil
}
