package layerfilterprocessor

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

// The batch memo answers every look-up as the policy does, across policies
// and with more endpoints and backends than it holds.
func TestLookupMemoMatchesThePolicy(t *testing.T) {
	cfg := loadConfig(t, `
endpoints:
  - {route: "/users/{id}", proxy: {disable_traces: true}}
  - {route: "/users/{id}", method: POST, backend: {traces: {disable_stage: true}}}
  - {route: "/orders", backend: {traces: {round_trip: false}}}
backends:
  - {url_pattern: "/v1/orders/{id}/items", backend: {traces: {read_payload: false}}}
  - {url_pattern: "/v1/users/{id}", endpoint: "/users/{id}", backend: {traces: {detailed_connection: false}}}
services:
  - service_name: other
    endpoints:
      - {route: "/orders", proxy: {disable_traces: true}}
`)
	f, err := newLayerFilter(processortest.NewNopSettings(metadata.Type), cfg, "traces")
	require.NoError(t, err)
	policies := []*policy{f.def, f.services["other"]}
	routes := []string{"", "/users/:id", "/users/{id}", "/orders", "/catalog/search", "/a", "/b", "/c", "/d", "/e", "/f", "/g"}
	methods := []string{"", "GET", "POST"}
	patterns := []string{"", "/v1/users/:id", "/v1/orders/:id/items", "/v1/orders", "/x", "/y"}
	var m lookupMemo
	for round := 0; round < 3; round++ {
		for _, p := range policies {
			for _, r := range routes {
				for _, meth := range methods {
					require.Same(t, p.endpoint(r, meth), m.endpoint(p, r, meth), "%s %s", meth, r)
					require.Same(t, p.proxyFor(r, meth), m.proxyFor(p, r, meth), "%s %s", meth, r)
					for _, pat := range patterns {
						require.Same(t, p.backendFor(r, meth, pat), m.backendFor(p, r, meth, pat), "%s %s %s", meth, r, pat)
					}
				}
			}
		}
	}
	var none *lookupMemo
	require.Same(t, f.def.backendFor("/users/:id", "GET", "/v1/users/:id"), none.backendFor(f.def, "/users/:id", "GET", "/v1/users/:id"))
}
