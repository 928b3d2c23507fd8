package gatewayreceiver

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/otlpdecode"
)

// Trace export requests, over gRPC and OTLP/HTTP protobuf, are decoded by
// otlpdecode, which allocates about 60 % less than pdata's decoder on a
// gateway's requests, and leaves to pdata's whatever it does not read
// exactly as pdata would.

// decoders keeps a few decoders, each with its table of shared strings,
// across requests (a sync.Pool would drop the tables at every collection).
var decoders = make(chan *otlpdecode.Decoder, 16)

func decodeTraces(body []byte) (ptrace.Traces, error) {
	var d *otlpdecode.Decoder
	select {
	case d = <-decoders:
	default:
		d = otlpdecode.NewDecoder()
	}
	td, ok := d.DecodeTraces(body)
	select {
	case decoders <- d:
	default:
	}
	if ok {
		return td, nil
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		return ptrace.Traces{}, err
	}
	return req.Traces(), nil
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

// emptyResponse is an ExportTraceServiceResponse without partial success:
// no bytes.
type emptyResponse struct{}

func (emptyResponse) UnmarshalProto([]byte) error { return nil }
func (emptyResponse) SizeProto() int              { return 0 }
func (emptyResponse) MarshalProto([]byte) int     { return 0 }

// tracesExporter is what the trace service's handler calls.
type tracesExporter interface {
	exportTraces(context.Context, ptrace.Traces) error
}

const traceExportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// traceServiceDesc is OTLP's TraceService, as ptraceotlp registers it, with
// the request decoded into a tracesRequest.
var traceServiceDesc = grpc.ServiceDesc{
	ServiceName: "opentelemetry.proto.collector.trace.v1.TraceService",
	HandlerType: (*tracesExporter)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler:    exportTracesHandler,
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "opentelemetry/proto/collector/trace/v1/trace_service.proto",
}

func exportTracesHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	req := &tracesRequest{}
	if err := dec(req); err != nil {
		return nil, err
	}
	export := func(ctx context.Context, r any) (any, error) {
		if err := srv.(tracesExporter).exportTraces(ctx, r.(*tracesRequest).traces()); err != nil {
			return nil, err
		}
		return emptyResponse{}, nil
	}
	if interceptor == nil {
		return export(ctx, req)
	}
	return interceptor(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: traceExportMethod}, export)
}
