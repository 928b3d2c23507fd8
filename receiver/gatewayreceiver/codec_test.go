package gatewayreceiver

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

func requestsFor(n int, path string) []gatewaydata.Request {
	reqs := make([]gatewaydata.Request, n)
	for i := range reqs {
		reqs[i] = gatewaydata.DefaultRequest
		reqs[i].Path = fmt.Sprintf("%s/%d", path, i)
	}
	return reqs
}

// spanView is what a test compares of a span: the receiver adds resource
// attributes, never span ones, to a gateway's spans.
func spanViews(td ptrace.Traces) []map[string]any {
	var out []map[string]any
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out = append(out, map[string]any{
					"name": s.Name(), "trace": s.TraceID(), "span": s.SpanID(), "parent": s.ParentSpanID(),
					"start": s.StartTimestamp(), "end": s.EndTimestamp(), "attrs": s.Attributes().AsRaw(),
				})
			}
		}
	}
	return out
}

// Requests of many HTTP/2 frames (copied into one buffer) and of one frame
// (decoded in place), one after the other in buffers handed out uncleared:
// each is received exactly as sent, with nothing of the one before.
func TestRequestsOfManyFramesAndOfOneAreReceivedExactlyAfterOneAnother(t *testing.T) {
	h := startReceiver(t, nil)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	sent := []ptrace.Traces{
		gatewaydata.NewTraces("big", 1, requestsFor(300, "/users/a-long-path-segment-that-fills-frames")...),
		gatewaydata.NewTraces("small", 1000, requestsFor(1, "/u")...),
		gatewaydata.NewTraces("big", 2000, requestsFor(150, "/catalog")...),
		gatewaydata.NewTraces("small", 3000, requestsFor(2, "/x")...),
	}
	sizes := make([]int, len(sent))
	for i, td := range sent {
		req := ptraceotlp.NewExportRequestFromTraces(td)
		b, err := req.MarshalProto()
		require.NoError(t, err)
		sizes[i] = len(b)
		_, err = client.Export(context.Background(), req)
		require.NoError(t, err)
	}
	require.Greater(t, sizes[0], 4*16<<10, "the first request spans several 16 KB frames")
	require.Less(t, sizes[1], 16<<10, "the second fits in one frame")

	received := h.traces.AllTraces()
	require.Len(t, received, len(sent))
	for i := range sent {
		assert.Equal(t, spanViews(sent[i]), spanViews(received[i]), "request %d", i)
	}
}

func TestTheUnclearedPoolHandsOutPowerOfTwoBuffersAsTheyWereLeft(t *testing.T) {
	p := &unclearedPool{}
	b := p.Get(5000)
	assert.Len(t, *b, 5000)
	assert.Equal(t, 8192, cap(*b))
	copy(*b, "left over")
	p.Put(b)
	again := p.Get(6000)
	assert.Len(t, *again, 6000)
	// sync.Pool may drop what it holds (a collection); when it does not,
	// the buffer comes back uncleared: what the frame read or copy then
	// overwrites.
	if &(*again)[0] == &(*b)[0] {
		assert.Equal(t, "left over", string((*again)[:9]))
	}

	small := p.Get(10)
	assert.Equal(t, 4096, cap(*small))
	huge := p.Get(1<<maxPooledShift + 1)
	assert.Equal(t, 1<<maxPooledShift+1, cap(*huge), "beyond the largest tier: allocated as asked")
	p.Put(huge) // dropped, not pooled in a tier it does not fit
	foreign := make([]byte, 100, 5000)
	p.Put(&foreign)
	got := p.Get(4097)
	assert.Equal(t, 8192, cap(*got), "a buffer of a capacity no tier has is not pooled")
}

func TestTierIsTheSmallestPowerOfTwoThatHolds(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 0}, {4096, 0}, {4097, 1}, {8192, 1}, {8193, 2},
		{1 << maxPooledShift, numPooledShifts - 1}, {1<<maxPooledShift + 1, -1},
	} {
		assert.Equal(t, tc.want, tier(tc.n), "tier(%d)", tc.n)
	}
}

func TestTheCodecDecodesOneBufferOrManyAlikeAndLeavesTheRestToProto(t *testing.T) {
	c := requestCodec{delegate: encoding.GetCodecV2("proto")}
	td := gatewaydata.NewTraces("gw", 1, requestsFor(3, "/p")...)
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)

	one := new(tracesRequest)
	require.NoError(t, c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, one))
	var parts mem.BufferSlice
	for i := 0; i < len(b); i += 100 {
		parts = append(parts, mem.SliceBuffer(b[i:min(i+100, len(b))]))
	}
	many := new(tracesRequest)
	require.NoError(t, c.Unmarshal(parts, many))
	assert.Equal(t, spanViews(td), spanViews(one.traces()))
	assert.Equal(t, spanViews(td), spanViews(many.traces()))

	// Not one of the receiver's requests: the registered proto codec's.
	out, err := c.Marshal(emptyResponse{})
	require.NoError(t, err)
	assert.Equal(t, 0, out.Len())
	assert.Equal(t, "proto", c.Name())
}

// goroutineID reads the running goroutine's number from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	return strings.Fields(string(buf))[1]
}

// Requests run on the server's long-lived workers, whose stacks stay
// grown, not on a new goroutine each (gRPC's default).
func TestGRPCRequestsRunOnAFewLongLivedGoroutines(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	next, err := consumer.NewTraces(func(context.Context, ptrace.Traces) error {
		mu.Lock()
		seen[goroutineID()]++
		mu.Unlock()
		return nil
	})
	require.NoError(t, err)
	h := startReceiver(t, next)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	client := ptraceotlp.NewGRPCClient(conn)
	const requests = 40
	for i := range requests {
		_, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("gw", uint64(i), gatewaydata.DefaultRequest)))
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.LessOrEqual(t, len(seen), max(minStreamWorkers, runtime.GOMAXPROCS(0)), "%d requests ran on %d goroutines", requests, len(seen))
}
