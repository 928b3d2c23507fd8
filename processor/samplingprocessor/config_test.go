package samplingprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	tests := []struct {
		name     string
		id       component.ID
		expected *Config
	}{
		{
			name:     "an empty entry keeps everything in consistent mode",
			id:       component.NewID(metadata.Type),
			expected: newConfig(100, ModeConsistent, nil),
		},
		{
			name:     "sampling_percentage sets the default percentage",
			id:       component.NewIDWithName(metadata.Type, "25"),
			expected: newConfig(25, ModeConsistent, nil),
		},
		{
			name:     "sampling_percentage takes fractions of a percent",
			id:       component.NewIDWithName(metadata.Type, "fraction"),
			expected: newConfig(0.07, ModeConsistent, nil),
		},
		{
			name:     "sampling_percentage 0 is valid and drops everything",
			id:       component.NewIDWithName(metadata.Type, "zero"),
			expected: newConfig(0, ModeConsistent, nil),
		},
		{
			name:     "mode sdk_parity selects the SDK rule",
			id:       component.NewIDWithName(metadata.Type, "sdk_parity"),
			expected: newConfig(10, ModeSDKParity, nil),
		},
		{
			name: "copy_kept_spans makes the processor copy what it keeps",
			id:   component.NewIDWithName(metadata.Type, "copy"),
			expected: func() *Config {
				c := newConfig(25, ModeSDKParity, nil)
				c.CopyKeptSpans = true
				return c
			}(),
		},
		{
			name: "batch gathers the copies of the kept spans",
			id:   component.NewIDWithName(metadata.Type, "batch"),
			expected: func() *Config {
				c := newConfig(25, ModeSDKParity, nil)
				c.CopyKeptSpans = true
				c.Batch = &BatchConfig{Timeout: 200 * time.Millisecond, SendBatchSize: 8192}
				return c
			}(),
		},
		{
			name: "routes accept both route spellings",
			id:   component.NewIDWithName(metadata.Type, "routes"),
			expected: newConfig(5, ModeConsistent, map[string]float64{
				"/orders/{id}":      100,
				"/health":           0,
				"/users/:id/orders": 12.5,
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			require.NoError(t, xconfmap.Validate(cfg))
			assert.Equal(t, tt.expected, cfg)
		})
	}
}

func TestLoadInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		file string
		// unmarshal is true when decoding fails, before validation.
		unmarshal bool
		errText   string
	}{
		{name: "a negative percentage is refused", file: "invalid_percentage_negative.yaml", errText: "sampling_percentage must be between 0 and 100, got -1"},
		{name: "a percentage above 100 is refused", file: "invalid_percentage_above_100.yaml", errText: "sampling_percentage must be between 0 and 100, got 100.5"},
		{name: "a NaN percentage is refused", file: "invalid_percentage_nan.yaml", errText: "sampling_percentage must be between 0 and 100, got NaN"},
		{name: "a percentage that is no number fails to decode", file: "invalid_percentage_type.yaml", unmarshal: true, errText: "sampling_percentage"},
		{name: "an unknown mode is refused", file: "invalid_mode.yaml", errText: `mode must be "consistent" or "sdk_parity", got "proportional"`},
		{name: "an empty mode is refused", file: "invalid_mode_empty.yaml", errText: `mode must be "consistent" or "sdk_parity", got ""`},
		{name: "a route percentage above 100 is refused", file: "invalid_route_percentage.yaml", errText: `routes["/orders/{id}"]: percentage must be between 0 and 100, got 101`},
		{name: "an empty route is refused", file: "invalid_route_empty.yaml", errText: "routes: a route must not be empty"},
		{name: "a route with spaces around it is refused", file: "invalid_route_spaces.yaml", errText: `routes[" /orders/{id} "]: spaces around the route, which no span's route has: "/orders/{id}"`},
		{name: "one route in two spellings with two percentages is refused", file: "invalid_route_conflict.yaml", errText: `routes["/orders/:id"] and routes["/orders/{id}"] name the same route with different percentages (20, 50)`},
		{name: "a batch timeout of zero is refused", file: "invalid_batch_timeout.yaml", errText: "batch.timeout must be positive, got 0s"},
		{name: "a batch size of zero is refused", file: "invalid_batch_size.yaml", errText: "batch.send_batch_size must be at least 1, got 0"},
		{name: "an unknown batch field fails to decode", file: "invalid_batch_unknown_field.yaml", unmarshal: true, errText: "send_batch_max_size"},
		{name: "an unknown field fails to decode", file: "invalid_unknown_field.yaml", unmarshal: true, errText: "sampling_precision"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cm, err := confmaptest.LoadConf(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			cfg := NewFactory().CreateDefaultConfig()
			err = cm.Unmarshal(cfg)
			if tt.unmarshal {
				require.ErrorContains(t, err, tt.errText)
				return
			}
			require.NoError(t, err)
			require.ErrorContains(t, xconfmap.Validate(cfg), tt.errText)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, 100.0, cfg.SamplingPercentage)
	assert.Equal(t, ModeConsistent, cfg.Mode)
	assert.Empty(t, cfg.Routes)
	require.NoError(t, cfg.Validate())
}

func TestRouteSpellings(t *testing.T) {
	tests := []struct{ in, colon, brace string }{
		{"/orders/{id}", "/orders/:id", "/orders/{id}"},
		{"/orders/:id", "/orders/:id", "/orders/{id}"},
		{"/users/{user}/orders/{order}", "/users/:user/orders/:order", "/users/{user}/orders/{order}"},
		// Lura's parameter may be followed by more of its segment; gin
		// serves and reports it as :id.json
		{"/orders/{id}.json", "/orders/:id.json", "/orders/{id}.json"},
		{"/health", "/health", "/health"},
		{"/", "/", "/"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.colon, colonForm(tt.in), tt.in)
		assert.Equal(t, tt.brace, braceForm(tt.in), tt.in)
	}
}
