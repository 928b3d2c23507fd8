package integration

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func gatewayTraces(service string, n uint64) ptrace.Traces {
	return gatewaydata.NewTraces(service, n, gatewaydata.DefaultRequest)
}

func gatewayMetrics(service string) pmetric.Metrics {
	return gatewaydata.NewMetrics(service, gatewaydata.Metrics, gatewaydata.DefaultRequest)
}
