package requestmetricsprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"
	"github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor/internal/metadata"
)

// NewFactory returns the factory of the `requestmetrics` processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability))
}

func createDefaultConfig() component.Config {
	return &Config{}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p := &countingProcessor{id: set.ID, pair: requestpair.For(set.ID)}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		// it only reads: the sampler after it gets the batch to itself
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		processorhelper.WithStart(p.start))
}
