package layerfilterprocessor

import (
	"context"
	"slices"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

// The processor edits attributes and removes items in place.
var processorCapabilities = consumer.Capabilities{MutatesData: true}

// NewFactory returns the layerfilter processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
	)
}

// createDefaultConfig passes everything through: all layers and switches on
// (nil switches mean on), no skip paths, no static attributes; only the
// credential headers are redacted, listed, so that the configuration the
// collector prints reads back the same.
// Re-parenting is on; it costs nothing while no span is removed.
// Destination names are on: gateway spans get the naming attributes of
// their layer and HTTP failures the status Error.
func createDefaultConfig() component.Config {
	return &Config{
		Policy: Policy{RedactHeaders: slices.Clone(DefaultRedactHeaders)},
		Reparent: ReparentConfig{
			Enabled:    true,
			MaxWait:    defaultReparentMaxWait,
			MaxSpans:   defaultReparentMaxSpans,
			MaxRemoved: defaultReparentMaxRemoved,
		},
		DestinationNames: DestinationNamesConfig{
			Enabled:     true,
			URLScheme:   defaultURLScheme,
			ErrorStatus: true,
		},
	}
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return newTracesProcessor(ctx, set, cfg.(*Config), next, time.Now)
}

// newTracesProcessor takes the clock of the re-parenting bounds, so that
// tests can move time.
func newTracesProcessor(ctx context.Context, set processor.Settings, cfg *Config, next consumer.Traces, now func() time.Time) (processor.Traces, error) {
	f, err := newLayerFilter(set, cfg, "traces")
	if err != nil {
		return nil, err
	}
	var opts []processorhelper.Option
	if r := f.reparent; r != nil {
		r.next, r.now = next, now
		opts = append(opts, processorhelper.WithStart(r.start), processorhelper.WithShutdown(r.shutdown))
	}
	opts = append(opts, processorhelper.WithCapabilities(processorCapabilities))
	p, err := processorhelper.NewTraces(ctx, set, cfg, next, f.processTraces, opts...)
	if err != nil || f.reparent == nil || f.reparent.maxWait == 0 {
		return p, err
	}
	return &holdingTraces{Traces: p, hold: f.reparent}, nil
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	f, err := newLayerFilter(set, cfg.(*Config), "metrics")
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, f.processMetrics,
		processorhelper.WithCapabilities(processorCapabilities))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	f, err := newLayerFilter(set, cfg.(*Config), "logs")
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, f.processLogs,
		processorhelper.WithCapabilities(processorCapabilities))
}
