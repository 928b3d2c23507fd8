package load

import (
	"net"
	"sync/atomic"

	"google.golang.org/grpc"
)

// Sink is the collectors' OTLP/gRPC destination in fixed-rate runs: it
// accepts every export request of any signal without decoding it.
type Sink struct {
	srv      *grpc.Server
	Requests atomic.Int64
	Bytes    atomic.Int64
}

// NewSink starts a sink on l.
func NewSink(l net.Listener) *Sink {
	s := &Sink{}
	s.srv = grpc.NewServer(
		grpc.ForceServerCodec(RawCodec{}),
		grpc.MaxRecvMsgSize(64<<20),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			var req []byte
			if err := stream.RecvMsg(&req); err != nil {
				return err
			}
			s.Requests.Add(1)
			s.Bytes.Add(int64(len(req)))
			empty := []byte{}
			return stream.SendMsg(&empty)
		}))
	go func() { _ = s.srv.Serve(l) }()
	return s
}

// Stop stops the sink.
func (s *Sink) Stop() { s.srv.Stop() }
