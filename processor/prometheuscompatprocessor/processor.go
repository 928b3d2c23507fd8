package prometheuscompatprocessor

import (
	"context"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

const (
	scopeInfoMetric     = "otel_scope_info"
	serviceNameKey      = "service.name"
	serviceNameLabelKey = "service_name"
)

type compat struct {
	cfg *Config
	now func() time.Time
}

func newCompat(cfg *Config) *compat { return &compat{cfg: cfg, now: time.Now} }

func (c *compat) processMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	now := pcommon.NewTimestampFromTime(c.now())
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		if c.cfg.ServiceNameOnTargetInfo {
			attrs := rm.Resource().Attributes()
			if v, ok := attrs.Get(serviceNameKey); ok {
				if _, taken := attrs.Get(serviceNameLabelKey); !taken {
					attrs.PutStr(serviceNameLabelKey, v.AsString())
				}
			}
		}
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			if !slices.Contains(c.cfg.GatewayScopes, sm.Scope().Name()) {
				continue
			}
			ms := sm.Metrics()
			hasInfo := false
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				if m.Name() == scopeInfoMetric {
					hasInfo = true
				}
				if m.Unit() != "" && slices.Contains(c.cfg.DropUnits, m.Unit()) {
					m.SetUnit("")
				}
			}
			if c.cfg.ScopeInfo && !hasInfo && ms.Len() > 0 {
				info := ms.AppendEmpty()
				info.SetName(scopeInfoMetric)
				info.SetDescription("Instrumentation Scope metadata") // KrakenD's HELP text, capital S
				dp := info.SetEmptyGauge().DataPoints().AppendEmpty()
				dp.SetTimestamp(now)
				dp.SetIntValue(1)
			}
		}
	}
	return md, nil
}
