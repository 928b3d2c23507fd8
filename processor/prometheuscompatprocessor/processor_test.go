package prometheuscompatprocessor

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.uber.org/goleak"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/processor/prometheuscompatprocessor/internal/metadata"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, xconfmap.Validate(cfg)
}

func TestConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, &Config{GatewayScopes: []string{"io.krakend.krakend-otel"}, DropUnits: []string{"b"}, ScopeInfo: true, ServiceNameOnTargetInfo: true}, cfg)
	cfg, err = loadConfig(t, "custom")
	require.NoError(t, err)
	assert.Equal(t, &Config{GatewayScopes: []string{"io.krakend.krakend-otel", "my.gateway"}, DropUnits: []string{"b", "bit"}}, cfg)
	for name, want := range map[string]string{
		"invalid_empty_scope": "gateway_scopes[0]: a scope name must not be empty",
		"invalid_known_unit":  `drop_units[0]: "s" is a unit KrakenD's exporter shows too`,
		"invalid_no_scope":    "gateway_scopes: name at least one scope",
	} {
		_, err := loadConfig(t, name)
		assert.ErrorContains(t, err, want, name)
	}
}

func process(t *testing.T, cfg *Config, md pmetric.Metrics) pmetric.Metrics {
	t.Helper()
	c := newCompat(cfg)
	c.now = func() time.Time { return time.Unix(1_700_000_100, 0) }
	out, err := c.processMetrics(context.Background(), md)
	require.NoError(t, err)
	return out
}

func TestGatewayMetricsReadLikeKrakenDs(t *testing.T) {
	md := gatewaydata.NewMetrics("orders-gateway", gatewaydata.Metrics, gatewaydata.DefaultRequest)
	out := process(t, createDefaultConfig().(*Config), md)

	rm := out.ResourceMetrics().At(0)
	name, ok := rm.Resource().Attributes().Get("service_name")
	require.True(t, ok, "service.name is kept for target_info")
	assert.Equal(t, "orders-gateway", name.Str())

	units := map[string]string{}
	ms := rm.ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		units[ms.At(i).Name()] = ms.At(i).Unit()
	}
	assert.Empty(t, units["http.client.response.read.size"], "the unknown unit b is cleared")
	assert.Empty(t, units["http.client.response.read.size-hist"])
	assert.Equal(t, "s", units["http.client.response.read.time"], "a unit KrakenD's exporter also shows stays")
	assert.Equal(t, "s", units["http.client.response.read.time-hist"])

	info := ms.At(ms.Len() - 1)
	require.Equal(t, "otel_scope_info", info.Name())
	require.Equal(t, pmetric.MetricTypeGauge, info.Type())
	assert.Equal(t, "Instrumentation Scope metadata", info.Description(), "KrakenD's HELP line (fixtures/datadog/metrics.txt)")
	assert.Equal(t, int64(1), info.Gauge().DataPoints().At(0).IntValue())
	assert.Equal(t, 0, info.Gauge().DataPoints().At(0).Attributes().Len(), "the exporter adds the scope labels itself")

	again := process(t, createDefaultConfig().(*Config), out)
	assert.Equal(t, ms.Len(), again.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().Len(), "running twice adds no second otel_scope_info")
}

func TestOtherScopesAndSwitchedOffHabitsAreLeftAlone(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "app")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("my.app")
	m := sm.Metrics().AppendEmpty()
	m.SetName("bits.sent")
	m.SetUnit("b")
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(1)

	out := process(t, createDefaultConfig().(*Config), md)
	assert.Equal(t, "b", out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Unit())
	assert.Equal(t, 1, out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().Len(), "no scope info for another scope")

	fresh := pmetric.NewMetrics()
	md.CopyTo(fresh)
	fresh.ResourceMetrics().At(0).Resource().Attributes().Remove("service_name")
	off := &Config{GatewayScopes: []string{"my.app"}}
	out = process(t, off, fresh)
	_, ok := out.ResourceMetrics().At(0).Resource().Attributes().Get("service_name")
	assert.False(t, ok)
	assert.Equal(t, "b", out.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Unit())
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	sink := new(consumertest.MetricsSink)
	p, err := f.CreateMetrics(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeMetrics(context.Background(), gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest)))
	require.NoError(t, p.Shutdown(context.Background()))
	assert.Equal(t, len(gatewaydata.Metrics)+1, sink.AllMetrics()[0].MetricCount())
	assert.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
}
