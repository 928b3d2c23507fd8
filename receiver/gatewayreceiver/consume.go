package gatewayreceiver

import (
	"context"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The steps shared by both transports: enrich, hand on, count.

func (r *gatewayReceiver) consumeTraces(ctx context.Context, obs *receiverhelper.ObsReport, format string, td ptrace.Traces) error {
	n := td.SpanCount()
	if n == 0 {
		return nil
	}
	r.enricher.enrichTraces(ctx, td)
	ctx = obs.StartTracesOp(ctx)
	err := r.nextTraces.ConsumeTraces(ctx, td)
	obs.EndTracesOp(ctx, format, n, err)
	return err
}

func (r *gatewayReceiver) consumeMetrics(ctx context.Context, obs *receiverhelper.ObsReport, format string, md pmetric.Metrics) error {
	n := md.DataPointCount()
	if n == 0 {
		return nil
	}
	r.enricher.enrichMetrics(ctx, md)
	ctx = obs.StartMetricsOp(ctx)
	err := r.nextMetrics.ConsumeMetrics(ctx, md)
	obs.EndMetricsOp(ctx, format, n, err)
	return err
}

func (r *gatewayReceiver) consumeLogs(ctx context.Context, obs *receiverhelper.ObsReport, format string, ld plog.Logs) error {
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	r.enricher.enrichLogs(ctx, ld)
	ctx = obs.StartLogsOp(ctx)
	err := r.nextLogs.ConsumeLogs(ctx, ld)
	obs.EndLogsOp(ctx, format, n, err)
	return err
}

// statusFromError maps a pipeline error to the gRPC status the OTLP
// specification asks for: a status already attached is kept, a permanent
// error is not retryable, anything else (a full queue, the memory limiter)
// is Unavailable so that the gateway retries.
func statusFromError(err error) *status.Status {
	if s, ok := status.FromError(err); ok {
		return s
	}
	if consumererror.IsPermanent(err) {
		return status.New(codes.Internal, err.Error())
	}
	return status.New(codes.Unavailable, err.Error())
}

// gRPC services.

type tracesService struct {
	r   *gatewayReceiver
	obs *receiverhelper.ObsReport
}

func (s *tracesService) countRefused(signal, reason string) {
	s.r.enricher.countRefused(signal, reason)
}

func (s *tracesService) exportTraces(ctx context.Context, td ptrace.Traces) error {
	if err := s.r.consumeTraces(ctx, s.obs, formatProtobuf, td); err != nil {
		return statusFromError(err).Err()
	}
	return nil
}

type metricsService struct {
	r   *gatewayReceiver
	obs *receiverhelper.ObsReport
}

func (s *metricsService) countRefused(signal, reason string) {
	s.r.enricher.countRefused(signal, reason)
}

func (s *metricsService) exportMetrics(ctx context.Context, md pmetric.Metrics) error {
	if err := s.r.consumeMetrics(ctx, s.obs, formatProtobuf, md); err != nil {
		return statusFromError(err).Err()
	}
	return nil
}

type logsService struct {
	r   *gatewayReceiver
	obs *receiverhelper.ObsReport
}

func (s *logsService) countRefused(signal, reason string) {
	s.r.enricher.countRefused(signal, reason)
}

func (s *logsService) exportLogs(ctx context.Context, ld plog.Logs) error {
	if err := s.r.consumeLogs(ctx, s.obs, formatProtobuf, ld); err != nil {
		return statusFromError(err).Err()
	}
	return nil
}
