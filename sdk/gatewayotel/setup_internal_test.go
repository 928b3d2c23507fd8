package gatewayotel

import (
	"errors"
	"fmt"
	"testing"

	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// The exporter's address is the translation's: a port written in host wins
// over `port`, an IPv6 literal keeps its brackets, https:// means TLS.
func TestExporterEndpoint(t *testing.T) {
	for _, tt := range []struct {
		host string
		port int
		want string
		tls  bool
	}{
		{"otel-collector", 4317, "otel-collector:4317", false},
		{"http://tempo:4318/v1", 4317, "tempo:4318", false},
		{"tempo:4318", 4317, "tempo:4318", false},
		{"https://[fd00::1]:4318/", 4317, "[fd00::1]:4318", true},
		{"[::1]", 4317, "[::1]:4317", false},
		// A configuration built in Go, without krakend.Parse's defaults:
		// KrakenD's own (exporter/otelcollector/otelcollector.go:160-165).
		{"", 0, "localhost:4317", false},
		{"collector", 0, "collector:4317", false},
		{"", 4318, "localhost:4318", false},
	} {
		got, tlsCfg := exporterEndpoint(krakend.OTLPExporter{Host: tt.host, Port: tt.port}, nil)
		if got != tt.want || (tlsCfg != nil) != tt.tls {
			t.Errorf("%s port %d: got %s (TLS %v), want %s (TLS %v)", tt.host, tt.port, got, tlsCfg != nil, tt.want, tt.tls)
		}
	}
}

// Only a resource that is partial and nothing else is usable: any other
// error among those resource.New gathers stays fatal.
func TestPartialOnly(t *testing.T) {
	partial := fmt.Errorf("%w: missing value: [oops]", resource.ErrPartialResource)
	other := errors.New("detector failed")
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"no error is not a partial resource", nil, false},
		{"a partial resource as the SDK wraps it", fmt.Errorf("error detecting resource: %w", errors.Join(partial)), true},
		{"two partial detectors", fmt.Errorf("error detecting resource: %w", errors.Join(partial, partial)), true},
		{"a partial detector beside a failed one", fmt.Errorf("error detecting resource: %w", errors.Join(partial, other)), false},
		{"a schema URL conflict", fmt.Errorf("error detecting resource: %w", errors.Join(resource.ErrSchemaURLConflict)), false},
		{"an unrelated error", other, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := partialOnly(tt.err); got != tt.want {
				t.Errorf("partialOnly(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
