package requestmetricsconnector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector/internal/metadata"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	none := "none"

	tests := []struct {
		name     string
		id       component.ID
		expected *Config
	}{
		{
			name:     "an empty entry has spanmetrics' defaults",
			id:       component.NewID(metadata.Type),
			expected: createDefaultConfig().(*Config),
		},
		{
			name: "the translator's configuration reads as written",
			id:   component.NewIDWithName(metadata.Type, "translated"),
			expected: &Config{
				Namespace:                   "gateway.spans",
				IncludeInstrumentationScope: []string{"io.krakend.krakend-otel"},
				Dimensions: []Dimension{
					{Name: "krakend.stage"}, {Name: "http.route"}, {Name: "krakend.endpoint.route"},
					{Name: "http.request.method"}, {Name: "http.response.status_code"},
				},
				ExcludeDimensions:           []string{"span.name"},
				AggregationCardinalityLimit: 5000,
				Histogram: HistogramConfig{Unit: UnitSeconds, Explicit: ExplicitHistogramConfig{Buckets: []time.Duration{
					ms(10), ms(20), ms(50), ms(75), ms(100), ms(125), ms(150), ms(175), ms(200), ms(250), ms(300), ms(350),
					ms(500), ms(750), ms(1000), ms(1500), ms(2000), ms(3500), ms(5000), ms(10000),
				}}},
				MetricsFlushInterval: 15 * time.Second,
			},
		},
		{
			name: "an empty namespace, a default value and every built-in but span.name excluded",
			id:   component.NewIDWithName(metadata.Type, "defaults"),
			expected: &Config{
				Dimensions:           []Dimension{{Name: "tenant", Default: &none}},
				ExcludeDimensions:    []string{"service.name", "span.kind", "status.code", "collector.instance.id"},
				Histogram:            HistogramConfig{Unit: UnitMilliseconds},
				MetricsFlushInterval: time.Minute,
			},
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

func TestInvalidConfig(t *testing.T) {
	tests := []struct {
		file string
		err  string
	}{
		{"invalid_empty_dimension.yaml", "dimensions[0].name: must not be empty"},
		{"invalid_duplicate_dimension.yaml", `dimensions[1].name: "a" is already dimensions[0]`},
		{"invalid_builtin_dimension.yaml", `dimensions[0].name: "span.kind" is a built-in dimension of every series`},
		{"invalid_too_many_dimensions.yaml", "dimensions: 17 configured, at most 16 are supported"},
		{"invalid_unknown_exclusion.yaml", `exclude_dimensions[0]: "span.nam" is not one of [service.name span.name span.kind status.code collector.instance.id]`},
		{"invalid_empty_scope.yaml", "include_instrumentation_scope[0]: must not be empty"},
		{"invalid_negative_limit.yaml", "aggregation_cardinality_limit: -1, must be 0 (no limit) or positive"},
		{"invalid_zero_interval.yaml", "metrics_flush_interval: 0s, must be positive"},
		{"invalid_unit.yaml", `histogram.unit: "us", must be "ms" or "s"`},
		{"invalid_unsorted_buckets.yaml", "histogram.explicit.buckets[1]: 5ms, must be greater than buckets[0] (10ms)"},
		{"invalid_zero_bucket.yaml", "histogram.explicit.buckets[0]: 0s, must be positive"},
		{"invalid_unknown_field.yaml", "dimensions_cache_size"},
		{"invalid_upstream_percentage.yaml", "upstream_sampling.percentage: 150, must be between 0 (no upstream sampling) and 100"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cm, err := confmaptest.LoadConf(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(component.NewID(metadata.Type).String())
			require.NoError(t, err)
			if err := sub.Unmarshal(cfg); err != nil {
				assert.ErrorContains(t, err, tt.err)
				return
			}
			assert.ErrorContains(t, xconfmap.Validate(cfg), tt.err)
		})
	}
}

func TestBoundsAreSpanmetricsFloats(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	assert.Equal(t, []float64{2, 4, 6, 8, 10, 50, 100, 200, 400, 800, 1000, 1400, 2000, 5000, 10000, 15000}, cfg.bounds(), "default buckets in ms")
	cfg.Histogram.Unit = UnitSeconds
	assert.Equal(t, 0.002, cfg.bounds()[0], "default buckets in s")
	cfg.Histogram.Explicit.Buckets = []time.Duration{ms(10), 1500 * time.Millisecond}
	assert.Equal(t, []float64{0.01, 1.5}, cfg.bounds())
}
