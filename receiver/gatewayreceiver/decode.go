package gatewayreceiver

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/otlpdecode"
)

// Trace and metric export requests, over gRPC and OTLP/HTTP protobuf, are
// decoded by otlpdecode, which allocates about 60 % less than pdata's
// decoders on a gateway's requests, and leaves to pdata's whatever it does
// not read exactly as pdata would. Logs and JSON are pdata's.

// decoders keeps a few decoders, each with its table of shared strings,
// across requests (a sync.Pool would drop the tables at every collection).
var decoders = make(chan *otlpdecode.Decoder, 16)

func takeDecoder() *otlpdecode.Decoder {
	select {
	case d := <-decoders:
		return d
	default:
		return otlpdecode.NewDecoder()
	}
}

func releaseDecoder(d *otlpdecode.Decoder) {
	select {
	case decoders <- d:
	default:
	}
}

// errTooDeep refuses a request pdata's decoder would overflow its stack on
// (otlpdecode.TooDeep), which would end the process.
var errTooDeep = fmt.Errorf("messages nested more than %d deep (attribute values within attribute values): refused, as no decoder can take it safely", otlpdecode.MaxNesting)

func decodeTraces(body []byte) (ptrace.Traces, error) {
	d := takeDecoder()
	td, ok := d.DecodeTraces(body)
	releaseDecoder(d)
	if ok {
		return td, nil
	}
	if otlpdecode.TooDeep(body, otlpdecode.Traces, otlpdecode.MaxNesting) {
		return ptrace.Traces{}, errTooDeep
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return ptrace.Traces{}, err
	}
	return req.Traces(), nil
}

func decodeMetrics(body []byte) (pmetric.Metrics, error) {
	d := takeDecoder()
	md, ok := d.DecodeMetrics(body)
	releaseDecoder(d)
	if ok {
		return md, nil
	}
	if otlpdecode.TooDeep(body, otlpdecode.Metrics, otlpdecode.MaxNesting) {
		return pmetric.Metrics{}, errTooDeep
	}
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return pmetric.Metrics{}, err
	}
	return req.Metrics(), nil
}

// tracesRequest is a trace export request as the receiver decodes it, over
// either transport.
type tracesRequest struct {
	td ptrace.Traces
}

// UnmarshalProto, SizeProto and MarshalProto are what pdata's gRPC codec
// (registered as "proto") looks for; only UnmarshalProto is ever called on
// a request the server receives.
func (r *tracesRequest) UnmarshalProto(b []byte) error {
	td, err := decodeTraces(b)
	r.td = td
	return err
}

func (r *tracesRequest) SizeProto() int {
	return (&ptrace.ProtoMarshaler{}).TracesSize(r.traces())
}

func (r *tracesRequest) MarshalProto(buf []byte) int {
	b, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(r.traces())
	if err != nil {
		return 0
	}
	return copy(buf, b)
}

// UnmarshalJSON reads OTLP/HTTP JSON, with pdata's decoder.
func (r *tracesRequest) UnmarshalJSON(b []byte) error {
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalJSON(b); err != nil {
		return err
	}
	r.td = req.Traces()
	return nil
}

func (r *tracesRequest) traces() ptrace.Traces {
	if r.td == (ptrace.Traces{}) {
		r.td = ptrace.NewTraces()
	}
	return r.td
}

// metricsRequest is tracesRequest's counterpart for metrics.
type metricsRequest struct {
	md pmetric.Metrics
}

func (r *metricsRequest) UnmarshalProto(b []byte) error {
	md, err := decodeMetrics(b)
	r.md = md
	return err
}

func (r *metricsRequest) SizeProto() int {
	return (&pmetric.ProtoMarshaler{}).MetricsSize(r.metrics())
}

func (r *metricsRequest) MarshalProto(buf []byte) int {
	b, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(r.metrics())
	if err != nil {
		return 0
	}
	return copy(buf, b)
}

func (r *metricsRequest) UnmarshalJSON(b []byte) error {
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON(b); err != nil {
		return err
	}
	r.md = req.Metrics()
	return nil
}

func (r *metricsRequest) metrics() pmetric.Metrics {
	if r.md == (pmetric.Metrics{}) {
		r.md = pmetric.NewMetrics()
	}
	return r.md
}

// logsRequest is a log export request, over either transport, decoded by
// pdata's decoder once TooDeep has passed it; over gRPC it goes through
// exportHandler so that a malformed one is refused as traces and metrics are.
type logsRequest struct {
	ld plog.Logs
}

func (r *logsRequest) UnmarshalProto(b []byte) error {
	if otlpdecode.TooDeep(b, otlpdecode.Logs, otlpdecode.MaxNesting) {
		return errTooDeep
	}
	req := plogotlp.NewExportRequest()
	err := req.UnmarshalProto(b)
	r.ld = req.Logs()
	return err
}

// UnmarshalJSON reads OTLP/HTTP JSON, with pdata's decoder (its parser
// refuses nesting deeper than 10,000 levels itself).
func (r *logsRequest) UnmarshalJSON(b []byte) error {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalJSON(b); err != nil {
		return err
	}
	r.ld = req.Logs()
	return nil
}

func (r *logsRequest) SizeProto() int {
	return (&plog.ProtoMarshaler{}).LogsSize(r.logs())
}

func (r *logsRequest) MarshalProto(buf []byte) int {
	b, err := (&plog.ProtoMarshaler{}).MarshalLogs(r.logs())
	if err != nil {
		return 0
	}
	return copy(buf, b)
}

func (r *logsRequest) logs() plog.Logs {
	if r.ld == (plog.Logs{}) {
		r.ld = plog.NewLogs()
	}
	return r.ld
}

// emptyResponse is an export response without partial success: no bytes.
type emptyResponse struct{}

func (emptyResponse) UnmarshalProto([]byte) error { return nil }
func (emptyResponse) SizeProto() int              { return 0 }
func (emptyResponse) MarshalProto([]byte) int     { return 0 }

// tracesExporter and metricsExporter are what the services' handlers call.
type tracesExporter interface {
	exportTraces(context.Context, ptrace.Traces) error
}

type metricsExporter interface {
	exportMetrics(context.Context, pmetric.Metrics) error
}

type logsExporter interface {
	exportLogs(context.Context, plog.Logs) error
}

const (
	traceExportMethod  = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	metricExportMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
	logExportMethod    = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
)

// traceServiceDesc, metricsServiceDesc and logsServiceDesc are OTLP's
// services, as ptraceotlp, pmetricotlp and plogotlp register them, with the
// requests decoded by the receiver.
var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*tracesExporter)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: exportHandler(traceExportMethod, "traces", func(srv any, ctx context.Context, r *tracesRequest) error {
			return srv.(tracesExporter).exportTraces(ctx, r.traces())
		}),
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

var metricsServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.metrics.v1.MetricsService",
	HandlerType: (*metricsExporter)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: exportHandler(metricExportMethod, "metrics", func(srv any, ctx context.Context, r *metricsRequest) error {
			return srv.(metricsExporter).exportMetrics(ctx, r.metrics())
		}),
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "opentelemetry/proto/collector/metrics/v1/metrics_service.proto",
}

var logsServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.logs.v1.LogsService",
	HandlerType: (*logsExporter)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: exportHandler(logExportMethod, "logs", func(srv any, ctx context.Context, r *logsRequest) error {
			return srv.(logsExporter).exportLogs(ctx, r.logs())
		}),
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "opentelemetry/proto/collector/logs/v1/logs_service.proto",
}

// refusalCounter is what the services count a malformed request with.
type refusalCounter interface {
	countRefused(signal, reason string)
}

// exportHandler is a unary handler that decodes a request into a new Req and
// hands it to export, through the server's interceptors. A request that does
// not decode is refused as OTLP/HTTP refuses it: InvalidArgument (grpc-go
// would answer Internal), counted as malformed. The message has arrived
// whole by then: only decoding can fail here.
func exportHandler[Req any, PReq interface{ *Req }](method, signal string, export func(srv any, ctx context.Context, req PReq) error) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		req := PReq(new(Req))
		if err := dec(req); err != nil {
			if c, ok := srv.(refusalCounter); ok {
				c.countRefused(signal, "malformed")
			}
			return nil, status.Errorf(codes.InvalidArgument, "malformed OTLP protobuf %s request: %s", signal, status.Convert(err).Message())
		}
		handle := func(ctx context.Context, r any) (any, error) {
			if err := export(srv, ctx, r.(PReq)); err != nil {
				return nil, err
			}
			return emptyResponse{}, nil
		}
		if interceptor == nil {
			return handle(ctx, req)
		}
		return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: method}, handle)
	}
}
