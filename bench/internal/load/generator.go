package load

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
)

const (
	// TracesMethod and MetricsMethod are the OTLP/gRPC export methods.
	TracesMethod  = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
	MetricsMethod = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
)

// RawCodec passes already marshalled protobuf through gRPC untouched: the
// generator never marshals on the hot path, the sink never decodes.
type RawCodec struct{}

var _ encoding.Codec = RawCodec{}

// Marshal returns the bytes of a *[]byte.
func (RawCodec) Marshal(v any) ([]byte, error) {
	p, ok := v.(*[]byte)
	if !ok {
		return nil, errors.New("RawCodec: want *[]byte")
	}
	return *p, nil
}

// Unmarshal copies the bytes into a *[]byte.
func (RawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return errors.New("RawCodec: want *[]byte")
	}
	*p = append((*p)[:0], data...)
	return nil
}

// Name is "proto", so that peers see an ordinary OTLP/gRPC request.
func (RawCodec) Name() string { return "proto" }

// Result counts what one load window sent.
type Result struct {
	Offered  float64       // items/s asked for (0: unthrottled)
	Sent     int64         // items accepted by the collector
	Refused  int64         // items of requests that failed or were partly rejected
	Behind   int64         // paced requests sent more than 100 ms after they were due (the collector was too slow)
	Requests int64         // requests completed
	Elapsed  time.Duration // the load window
}

// Rate is the accepted items per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Generator sends batches to one collector.
type Generator struct {
	conn        *grpc.ClientConn
	concurrency int
	ids         atomic.Uint64
}

// Dial connects to a collector's OTLP/gRPC endpoint.
func Dial(endpoint string, concurrency int) (*Generator, error) {
	conn, err := grpc.NewClient(endpoint,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(RawCodec{}), grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, err
	}
	return &Generator{conn: conn, concurrency: concurrency}, nil
}

// Close closes the connection.
func (g *Generator) Close() error { return g.conn.Close() }

// Send sends one batch and reports the items the collector refused.
func (g *Generator) Send(ctx context.Context, method string, b *Batch) (refused int64, err error) {
	var resp []byte
	if err := g.conn.Invoke(ctx, method, &b.Body, &resp); err != nil {
		return int64(b.Items), err
	}
	return partialRejected(resp), nil
}

// Run sends batches of one signal for d at rate items/s (0: as fast as the
// collector accepts them, with the generator's concurrency). Each worker has
// its own copies of the batches and rewrites their trace IDs before each send.
func (g *Generator) Run(ctx context.Context, method string, batches []Batch, rate float64, d time.Duration) Result {
	res := Result{Offered: rate}
	var sent, refused, behind, reqs atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	// Paced: request i is due at start + i·per. Each worker takes the next
	// number and waits for its time; one that is already late is sent at
	// once (the backlog catches up), so the accepted rate falls below the
	// offered one only when the collector, not the pacing, is too slow.
	var per time.Duration
	if rate > 0 {
		per = time.Duration(float64(time.Second) * float64(batches[0].Items) / rate)
	}
	var seq atomic.Int64
	deadline, _ := ctx.Deadline()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range g.concurrency {
		own := make([]Batch, len(batches))
		for i := range batches {
			own[i] = batches[i].Clone()
		}
		ids := &idSource{state: g.ids.Add(1) << 40}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				if per > 0 {
					due := start.Add(time.Duration(seq.Add(1)-1) * per)
					if !due.Before(deadline) {
						return
					}
					if w := time.Until(due); w > 0 {
						time.Sleep(w)
					} else if w < -100*time.Millisecond {
						behind.Add(1)
					}
				} else if ctx.Err() != nil {
					return
				}
				b := &own[i%len(own)]
				if len(b.Traces) > 0 {
					b.Rewrite(ids)
				}
				// the request itself is not cut short by the window's end
				r, err := g.Send(context.WithoutCancel(ctx), method, b)
				reqs.Add(1)
				refused.Add(r)
				if err == nil {
					sent.Add(int64(b.Items) - r)
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Sent, res.Refused, res.Behind, res.Requests = sent.Load(), refused.Load(), behind.Load(), reqs.Load()
	return res
}

// partialRejected reads rejected_spans / rejected_data_points (field 1 of
// partial_success, field 1 of the response) from an OTLP export response.
func partialRejected(resp []byte) int64 {
	inner, ok := field(resp, 1)
	if !ok {
		return 0
	}
	v, ok := varintField(inner, 1)
	if !ok {
		return 0
	}
	return int64(v)
}

func field(b []byte, num uint64) ([]byte, bool) {
	for len(b) > 0 {
		key, n := uvarint(b)
		if n <= 0 {
			return nil, false
		}
		b = b[n:]
		switch key & 7 {
		case 0:
			_, n = uvarint(b)
			if n <= 0 {
				return nil, false
			}
			b = b[n:]
		case 2:
			l, n := uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, false
			}
			if key>>3 == num {
				return b[n : n+int(l)], true
			}
			b = b[n+int(l):]
		case 1:
			if len(b) < 8 {
				return nil, false
			}
			b = b[8:]
		case 5:
			if len(b) < 4 {
				return nil, false
			}
			b = b[4:]
		default:
			return nil, false
		}
	}
	return nil, false
}

func varintField(b []byte, num uint64) (uint64, bool) {
	for len(b) > 0 {
		key, n := uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		if key&7 != 0 {
			// only varints are expected before the count
			l, n := uvarint(b)
			if key&7 != 2 || n <= 0 || uint64(len(b)-n) < l {
				return 0, false
			}
			b = b[n+int(l):]
			continue
		}
		v, n := uvarint(b)
		if n <= 0 {
			return 0, false
		}
		if key>>3 == num {
			return v, true
		}
		b = b[n:]
	}
	return 0, false
}

func uvarint(b []byte) (uint64, int) {
	var x uint64
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		x |= uint64(c&0x7f) << (7 * uint(i))
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}
