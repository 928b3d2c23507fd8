package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

// NewFactory returns the factory of the `sampling` processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

// createDefaultConfig keeps everything: sampling is something a user asks for.
func createDefaultConfig() component.Config {
	return &Config{
		SamplingPercentage: 100,
		Mode:               ModeConsistent,
	}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	s, err := newSampler(set.TelemetrySettings, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	c := cfg.(*Config)
	tp := &tracesProcessor{sampler: s}
	process := tp.processTraces
	if c.CopyKeptSpans {
		process = tp.copyKeptTraces
	}
	opts := []processorhelper.Option{processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: !c.CopyKeptSpans})}
	if c.Batch != nil {
		tp.batcher = newKeptBatcher(c.Batch, next, set.Logger)
		opts = append(opts, processorhelper.WithShutdown(tp.batcher.shutdown))
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, process, opts...)
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	s, err := newSampler(set.TelemetrySettings, cfg.(*Config))
	if err != nil {
		return nil, err
	}
	lp := &logsProcessor{sampler: s}
	return processorhelper.NewLogs(ctx, set, cfg, next, lp.processLogs,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	return processorhelper.NewMetrics(ctx, set, cfg, next, processMetrics,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}))
}
