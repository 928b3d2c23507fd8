// Written by hand in the shape of mdatagen's generated component test.

package layerfilterprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

var typ = component.MustNewType("layerfilter")

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, typ, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	tests := []struct {
		name     string
		createFn func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error)
	}{
		{"logs", func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error) {
			return factory.CreateLogs(ctx, set, cfg, consumertest.NewNop())
		}},
		{"metrics", func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error) {
			return factory.CreateMetrics(ctx, set, cfg, consumertest.NewNop())
		}},
		{"traces", func(ctx context.Context, set processor.Settings, cfg component.Config) (component.Component, error) {
			return factory.CreateTraces(ctx, set, cfg, consumertest.NewNop())
		}},
	}
	cfg := factory.CreateDefaultConfig()
	for _, tt := range tests {
		t.Run(tt.name+"-shutdown", func(t *testing.T) {
			c, err := tt.createFn(context.Background(), processortest.NewNopSettings(typ), cfg)
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
		t.Run(tt.name+"-lifecycle", func(t *testing.T) {
			c, err := tt.createFn(context.Background(), processortest.NewNopSettings(typ), cfg)
			require.NoError(t, err)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			require.NotPanics(t, func() {
				switch tt.name {
				case "logs":
					err = c.(processor.Logs).ConsumeLogs(context.Background(), generateLifecycleTestLogs())
				case "metrics":
					err = c.(processor.Metrics).ConsumeMetrics(context.Background(), generateLifecycleTestMetrics())
				case "traces":
					err = c.(processor.Traces).ConsumeTraces(context.Background(), generateLifecycleTestTraces())
				}
			})
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
	}
}

func generateLifecycleTestLogs() plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("resource", "R1")
	l := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	l.Body().SetStr("test log message")
	l.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return logs
}

func generateLifecycleTestMetrics() pmetric.Metrics {
	metrics := pmetric.NewMetrics()
	rm := metrics.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("resource", "R1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("test_metric")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("test_attr", "value_1")
	dp.SetIntValue(123)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return metrics
}

func generateLifecycleTestTraces() ptrace.Traces {
	traces := ptrace.NewTraces()
	rs := traces.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("resource", "R1")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.Attributes().PutStr("test_attr", "value_1")
	span.SetName("test_span")
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-1 * time.Second)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return traces
}
