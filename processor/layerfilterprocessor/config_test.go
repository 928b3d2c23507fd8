package layerfilterprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

func ptr(b bool) *bool { return &b }

var defaultDestinationNames = DestinationNamesConfig{Enabled: true, URLScheme: "http", ErrorStatus: true}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		name string
		id   component.ID
		want *Config
	}{
		{"the bare processor is the pass-through default", component.NewID(metadata.Type), createDefaultConfig().(*Config)},
		{"every option is read as written", component.NewIDWithName(metadata.Type, "full"), &Config{
			Policy: Policy{
				SkipPaths: []string{"/__health", "/__debug/*param", "/users/{id}/avatar"},
				Global: LayerConfig{
					DisableTraces:           true,
					ReportHeaders:           ptr(true),
					SkipHeaders:             []string{"X-Request-Id"},
					MetricsStaticAttributes: map[string]string{"env": "prod"},
					TracesStaticAttributes:  map[string]string{"env": "prod", "tier": "gold"},
				},
				Proxy: LayerConfig{
					DisableMetrics:          true,
					ReportHeaders:           ptr(false),
					SkipHeaders:             []string{},
					MetricsStaticAttributes: map[string]string{},
					TracesStaticAttributes:  map[string]string{"layer": "proxy"},
				},
				Backend: BackendConfig{
					Metrics: BackendMetrics{BackendSwitches{
						RoundTrip: ptr(true), ReadPayload: ptr(false), DetailedConnection: ptr(false),
						StaticAttributes: map[string]string{"team": "payments"},
					}},
					Traces: BackendTraces{
						BackendSwitches: BackendSwitches{
							DisableStage: true, RoundTrip: ptr(true), ReadPayload: ptr(true), DetailedConnection: ptr(false),
							StaticAttributes: map[string]string{},
						},
						ReportHeaders: ptr(true),
						SkipHeaders:   []string{"accept"},
					},
				},
				Endpoints: []EndpointOverride{
					{
						Route:  "/users/{id}",
						Method: "GET",
						Proxy:  &LayerConfig{DisableTraces: true},
						Global: &EndpointGlobal{
							MetricsStaticAttributes: map[string]string{"owner": "users"},
							TracesStaticAttributes:  map[string]string{"owner": "users"},
						},
						Backend: &BackendConfig{
							Metrics: BackendMetrics{BackendSwitches{RoundTrip: ptr(false)}},
							Traces:  BackendTraces{BackendSwitches: BackendSwitches{RoundTrip: ptr(false), ReadPayload: ptr(false)}},
						},
					},
					{Route: "/orders/:id"},
				},
				Backends: []BackendOverride{
					{Endpoint: "/users/{id}", URLPattern: "/v1/users/{id}", Backend: BackendConfig{
						Traces: BackendTraces{BackendSwitches: BackendSwitches{DisableStage: true}},
					}},
					{URLPattern: "/v1/orders"},
				},
				RedactHeaders: []string{"authorization", "x-secret"},
			},
			Reparent:         ReparentConfig{Enabled: true, MaxWait: 2 * time.Second, MaxSpans: 500, MaxRemoved: 20000},
			DestinationNames: DestinationNamesConfig{Enabled: true, URLScheme: "https", ErrorStatus: false},
			Services: []ServicePolicy{{
				ServiceName: "other-gateway",
				Policy: Policy{
					SkipPaths:     []string{"/__health"},
					RedactHeaders: []string{},
					Global:        LayerConfig{DisableMetrics: true},
				},
			}},
		}},
		{"max_wait 0 re-parents within each batch only, the other bounds at their defaults", component.NewIDWithName(metadata.Type, "within_batch"), &Config{
			Policy:           Policy{RedactHeaders: DefaultRedactHeaders},
			Reparent:         ReparentConfig{Enabled: true, MaxWait: 0, MaxSpans: defaultReparentMaxSpans, MaxRemoved: defaultReparentMaxRemoved},
			DestinationNames: defaultDestinationNames,
		}},
		{"re-parenting can be turned off", component.NewIDWithName(metadata.Type, "no_reparent"), &Config{
			Policy:           Policy{Proxy: LayerConfig{DisableTraces: true}, RedactHeaders: DefaultRedactHeaders},
			Reparent:         ReparentConfig{Enabled: false, MaxWait: defaultReparentMaxWait, MaxSpans: defaultReparentMaxSpans, MaxRemoved: defaultReparentMaxRemoved},
			DestinationNames: defaultDestinationNames,
		}},
		{"destination names can be turned off, the other fields keeping their defaults", component.NewIDWithName(metadata.Type, "no_destination_names"), &Config{
			Policy:           Policy{RedactHeaders: DefaultRedactHeaders},
			Reparent:         ReparentConfig{Enabled: true, MaxWait: defaultReparentMaxWait, MaxSpans: defaultReparentMaxSpans, MaxRemoved: defaultReparentMaxRemoved},
			DestinationNames: DestinationNamesConfig{Enabled: false, URLScheme: "http", ErrorStatus: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, xconfmap.Validate(cfg))
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		file    string
		wantErr string
	}{
		{"invalid_duplicate_service.yaml", `services[1].service_name: "a" is already the service of services[0]`},
		{"invalid_empty_service_name.yaml", "services[0].service_name: must not be empty"},
		{"invalid_duplicate_endpoint.yaml", `endpoints[1]: route "/users/:user" method "" is already overridden by endpoints[0]`},
		{"invalid_empty_route.yaml", "endpoints[0].route: must not be empty"},
		{"invalid_malformed_route.yaml", `endpoints[0].route: "/users/{id": segment "{id": a parameter is written {name}`},
		{"invalid_empty_url_pattern.yaml", "backends[0].url_pattern: must not be empty"},
		{"invalid_duplicate_backend.yaml", "backends[1]: endpoint \"/users\" url_pattern \"/v1/users/:id\" is already overridden by backends[0]"},
		{"invalid_skip_path.yaml", `skip_paths[0]: "__health" must start with /`},
		{"invalid_empty_static_key.yaml", "backend.traces.static_attributes: an attribute key must not be empty"},
		{"invalid_stage_static_key.yaml", "global.traces_static_attributes: krakend.stage is the gateway's layer marker, not a static attribute"},
		{"invalid_empty_header_name.yaml", "redact_headers[1]: a header name must not be empty"},
		{"invalid_unknown_key.yaml", "semantic_convention"},
		{"invalid_reparent_negative_max_wait.yaml", "reparent.max_wait: -1s must not be negative"},
		{"invalid_reparent_zero_max_spans.yaml", "reparent.max_spans: 0 must be at least 1"},
		{"invalid_reparent_zero_max_removed.yaml", "reparent.max_removed: 0 must be at least 1"},
		{"invalid_destination_names_scheme.yaml", `destination_names.url_scheme: "ftp" must be http or https`},
		{"invalid_destination_names_empty_scheme.yaml", `destination_names.url_scheme: "" must be http or https`},
		{"invalid_unsampled_percentage.yaml", "unsampled_traces.sdk_parity_percentage: must be between 0 and 100, got 120"},
	}
	for _, tt := range tests {
		t.Run(tt.file+" is refused with a clear error", func(t *testing.T) {
			cm, err := confmaptest.LoadConf(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			sub, err := cm.Sub(metadata.Type.String())
			require.NoError(t, err)
			cfg := createDefaultConfig()
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = xconfmap.Validate(cfg)
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestDefaultConfigCompilesToPassThroughWithRedaction(t *testing.T) {
	p := compilePolicy(&createDefaultConfig().(*Config).Policy)
	assert.Empty(t, p.skip)
	assert.Len(t, p.redact, 2*len(DefaultRedactHeaders))
	assert.True(t, p.uniform())
	for _, b := range []backendSignal{p.backend.traces, p.backend.metrics} {
		assert.True(t, b.stage && b.roundTrip && b.readPayload && b.detailed)
	}
	assert.False(t, p.global.traces.headers.removes())
	assert.False(t, p.orphans.any(), "nothing removed, nothing to re-parent")
}

// Lura takes a url_pattern placeholder inside a segment ({id}.json,
// prefix-{id}, several in one segment): such overrides are valid, told apart
// from the whole-segment parameter, and one backend given in both spellings
// is a duplicate.
func TestBackendURLPatternWithPlaceholdersInsideASegment(t *testing.T) {
	validate := func(patterns ...string) error {
		cfg := createDefaultConfig().(*Config)
		for _, p := range patterns {
			cfg.Backends = append(cfg.Backends, BackendOverride{URLPattern: p})
		}
		return xconfmap.Validate(cfg)
	}
	require.NoError(t, validate("/v1/users/{id}.json", "/v1/users/{id}", "/v1/files/prefix-{id}", "/v1/{a}-{b}.{ext}", "/v1/users/:id.json?format={fmt}.gz"))
	err := validate("/v1/users/{id}.json", "/v1/users/:id.json")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `backends[1]: endpoint "" url_pattern "/v1/users/:id.json" is already overridden by backends[0]`)
	err = validate("/v1/users/{id}x}")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `backends[0].url_pattern: "/v1/users/{id}x}": segment "{id}x}": a parameter is written {name}`)
}

// The configuration the collector prints (print-config) must read back the
// same: an omitted redact_headers printed as [] would turn the redaction of
// credential headers off.
func TestPrintedConfigurationReadsBackWithTheSameRedaction(t *testing.T) {
	cm := confmap.NewFromStringMap(map[string]any{
		"services": []any{map[string]any{"service_name": "other-gateway"}},
	})
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, cm.Unmarshal(cfg))

	marshalled := confmap.New()
	require.NoError(t, marshalled.Marshal(cfg))
	text, err := yaml.Marshal(marshalled.ToStringMap())
	require.NoError(t, err)
	var read map[string]any
	require.NoError(t, yaml.Unmarshal(text, &read))
	again := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(read).Unmarshal(again))
	require.NoError(t, xconfmap.Validate(again))
	assert.Equal(t, DefaultRedactHeaders, again.RedactHeaders)
	require.Len(t, again.Services, 1)
	assert.Equal(t, DefaultRedactHeaders, again.Services[0].RedactHeaders)

	off := confmap.NewFromStringMap(map[string]any{"redact_headers": []any{}})
	cfg = createDefaultConfig().(*Config)
	require.NoError(t, off.Unmarshal(cfg))
	assert.Empty(t, cfg.RedactHeaders, "an empty list still turns redaction off")
}
