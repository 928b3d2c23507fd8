// Written by hand in the shape mdatagen generates from metadata.yaml.

package metadata

import (
	"errors"

	"go.opentelemetry.io/otel/metric"

	"go.opentelemetry.io/collector/component"
)

// Meter returns the meter of the component's own telemetry.
func Meter(settings component.TelemetrySettings) metric.Meter {
	return settings.MeterProvider.Meter(ScopeName)
}

// TelemetryBuilder holds the instruments declared under telemetry in
// metadata.yaml.
type TelemetryBuilder struct {
	meter                              metric.Meter
	ProcessorSamplingSpansKept         metric.Int64Counter
	ProcessorSamplingSpansDropped      metric.Int64Counter
	ProcessorSamplingLogRecordsKept    metric.Int64Counter
	ProcessorSamplingLogRecordsDropped metric.Int64Counter
}

// NewTelemetryBuilder creates the component's instruments.
func NewTelemetryBuilder(settings component.TelemetrySettings) (*TelemetryBuilder, error) {
	builder := TelemetryBuilder{meter: Meter(settings)}
	var err, errs error
	builder.ProcessorSamplingSpansKept, err = builder.meter.Int64Counter(
		"otelcol_processor_sampling_spans_kept",
		metric.WithDescription("Number of spans the sampling processor kept."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorSamplingSpansDropped, err = builder.meter.Int64Counter(
		"otelcol_processor_sampling_spans_dropped",
		metric.WithDescription("Number of spans the sampling processor dropped."),
		metric.WithUnit("{span}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorSamplingLogRecordsKept, err = builder.meter.Int64Counter(
		"otelcol_processor_sampling_log_records_kept",
		metric.WithDescription("Number of log records the sampling processor kept (records without a trace ID included)."),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	builder.ProcessorSamplingLogRecordsDropped, err = builder.meter.Int64Counter(
		"otelcol_processor_sampling_log_records_dropped",
		metric.WithDescription("Number of log records the sampling processor dropped because their trace was not sampled."),
		metric.WithUnit("{record}"),
	)
	errs = errors.Join(errs, err)
	return &builder, errs
}
