package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// pki is a throw-away certificate authority with a server certificate for
// 127.0.0.1 and a client certificate, written as PEM files.
type pki struct {
	dir                           string
	caPool                        *x509.CertPool
	serverCert, serverKey, caCert string
	clientCert                    tls.Certificate
	otherClientCert               tls.Certificate // signed by another CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), caPool: x509.NewCertPool()}
	caKey, caTmpl := newKey(t), &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "otelcol-gateway test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	p.caPool.AddCert(ca)
	p.caCert = p.write(t, "ca.pem", "CERTIFICATE", caDER)

	serverKey := newKey(t)
	serverDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &serverKey.PublicKey, caKey)
	require.NoError(t, err)
	p.serverCert = p.write(t, "server.pem", "CERTIFICATE", serverDER)
	keyDER, err := x509.MarshalECPrivateKey(serverKey)
	require.NoError(t, err)
	p.serverKey = p.write(t, "server-key.pem", "EC PRIVATE KEY", keyDER)

	p.clientCert = clientCertificate(t, ca, caKey)
	otherKey := newKey(t)
	otherDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &otherKey.PublicKey, otherKey)
	require.NoError(t, err)
	other, err := x509.ParseCertificate(otherDER)
	require.NoError(t, err)
	p.otherClientCert = clientCertificate(t, other, otherKey)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func clientCertificate(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey) tls.Certificate {
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "krakend"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

const bearerToken = "s3cr3t-gateway-token-7f2a"

// TestTheReceiverRefusesWhatItShouldNotLetIn runs the binary with mTLS on
// gRPC, TLS on HTTP, the bearertokenauth extension on both and request size
// limits, and checks each door.
func TestTheReceiverRefusesWhatItShouldNotLetIn(t *testing.T) {
	p := newPKI(t)
	grpcPort, httpPort, healthPort := freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`
extensions:
  health_check:
    endpoint: 127.0.0.1:%d
  bearertokenauth:
    token: ${env:GATEWAY_TOKEN}
receivers:
  gateway:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
        max_recv_msg_size_mib: 1
        tls:
          cert_file: %s
          key_file: %s
          client_ca_file: %s
        auth:
          authenticator: bearertokenauth
      http:
        endpoint: 127.0.0.1:%d
        max_request_body_size: 65536
        tls:
          cert_file: %s
          key_file: %s
        auth:
          authenticator: bearertokenauth
exporters:
  debug:
    verbosity: basic
service:
  extensions: [health_check, bearertokenauth]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [gateway]
      exporters: [debug]
`, healthPort, grpcPort, p.serverCert, p.serverKey, p.caCert, httpPort, p.serverCert, p.serverKey)
	cfgPath := filepath.Join(t.TempDir(), "secure.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o600))
	t.Setenv("GATEWAY_TOKEN", bearerToken)
	c := startCollector(t, "--config", cfgPath)
	waitHTTP(t, fmt.Sprintf("http://127.0.0.1:%d/", healthPort), http.StatusOK)

	body, err := ptraceotlp.NewExportRequestFromTraces(gatewayTraces("secure", 1)).MarshalProto()
	require.NoError(t, err)
	httpsURL := fmt.Sprintf("https://127.0.0.1:%d/v1/traces", httpPort)
	httpsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.caPool}}}
	post := func(client *http.Client, url, token string, b []byte) (int, error) {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-protobuf")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	t.Run("HTTP: the right token over TLS is accepted", func(t *testing.T) {
		code, err := post(httpsClient, httpsURL, bearerToken, body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, code)
	})
	t.Run("HTTP: no token is refused", func(t *testing.T) {
		code, err := post(httpsClient, httpsURL, "", body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, code)
	})
	t.Run("HTTP: a wrong token is refused", func(t *testing.T) {
		code, err := post(httpsClient, httpsURL, "guess", body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnauthorized, code)
	})
	t.Run("HTTP: plaintext to the TLS port gets no OTLP through", func(t *testing.T) {
		code, err := post(&http.Client{Timeout: 10 * time.Second}, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", httpPort), bearerToken, body)
		if err == nil {
			assert.Equal(t, http.StatusBadRequest, code, "Go's TLS server answers plaintext HTTP with 400")
		}
	})
	t.Run("HTTP: a body over the limit is refused", func(t *testing.T) {
		code, err := post(httpsClient, httpsURL, bearerToken, bytes.Repeat([]byte{0x0a}, 70000))
		require.NoError(t, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	})

	export := func(cert *tls.Certificate, token string, req ptraceotlp.ExportRequest) error {
		tlsCfg := &tls.Config{RootCAs: p.caPool}
		if cert != nil {
			tlsCfg.Certificates = []tls.Certificate{*cert}
		}
		conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort), grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		_, err = ptraceotlp.NewGRPCClient(conn).Export(ctx, req)
		return err
	}
	small := ptraceotlp.NewExportRequestFromTraces(gatewayTraces("secure", 2))
	t.Run("gRPC: a client certificate and the token are accepted", func(t *testing.T) {
		assert.NoError(t, export(&p.clientCert, bearerToken, small))
	})
	t.Run("gRPC: no client certificate is refused", func(t *testing.T) {
		assert.Error(t, export(nil, bearerToken, small))
	})
	t.Run("gRPC: a certificate from another CA is refused", func(t *testing.T) {
		assert.Error(t, export(&p.otherClientCert, bearerToken, small))
	})
	t.Run("gRPC: no token is unauthenticated", func(t *testing.T) {
		assert.Equal(t, codes.Unauthenticated, status.Code(export(&p.clientCert, "", small)))
	})
	t.Run("gRPC: a message over the limit is refused", func(t *testing.T) {
		big := gatewayTraces("secure", 3)
		spans := big.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; spans.Len() < 6000; i++ {
			spans.At(i % 5).CopyTo(spans.AppendEmpty())
		}
		assert.Equal(t, codes.ResourceExhausted, status.Code(export(&p.clientCert, bearerToken, ptraceotlp.NewExportRequestFromTraces(big))))
	})
	assert.NotContains(t, c.logText(), bearerToken, "the token never reaches the log")
}
