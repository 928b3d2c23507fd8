package layerfilterprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// emptyAttrs stands in for a data point's attributes when the verdict does
// not depend on them.
var emptyAttrs = pcommon.NewMap()

func (f *layerFilter) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	var counts dropCounts
	var memo lookupMemo
	rms := md.ResourceMetrics()
	hadData := rms.Len() > 0
	rms.RemoveIf(func(rm pmetric.ResourceMetrics) bool {
		p := f.policyFor(rm.Resource())
		sms := rm.ScopeMetrics()
		if sms.Len() == 0 {
			return false
		}
		sms.RemoveIf(func(sm pmetric.ScopeMetrics) bool {
			ms := sm.Metrics()
			if ms.Len() == 0 {
				return false
			}
			scope := sm.Scope().Name()
			ms.RemoveIf(func(m pmetric.Metric) bool {
				return filterMetric(p, scope, m, &counts, &memo)
			})
			return ms.Len() == 0
		})
		return sms.Len() == 0
	})
	f.record(ctx, &counts)
	if hadData && rms.Len() == 0 {
		return md, processorhelper.ErrSkipProcessingData
	}
	return md, nil
}

// filterMetric reports whether a metric must go: dropped whole, or left
// without data points. A kept metric keeps its name, type, unit and
// temporality; only its data points are removed or given static attributes.
func filterMetric(p *policy, scope string, m pmetric.Metric, counts *dropCounts, memo *lookupMemo) bool {
	c := layer.ClassifyMetric(scope, m)
	if c.Layer == layer.None {
		return false
	}
	n := layer.DataPointCount(m)
	if n == 0 {
		// No data point to judge: the metric follows its layer's switch
		// in the policy itself (there is no route to look up), so that a
		// layer turned off hands on nothing of its own, empty or not.
		reason, _ := p.decideMetric(c, emptyAttrs, nil)
		return reason == reasonLayerDisabled || reason == reasonSwitchOff
	}
	if p.uniform() {
		// No skip paths and no overrides: every data point gets one verdict.
		reason, static := p.decideMetric(c, emptyAttrs, nil)
		if reason != keep {
			counts.add(c.Layer, reason, n)
			return true
		}
		if len(static) > 0 {
			removeDataPoints(m, func(attrs pcommon.Map) bool {
				putStatic(attrs, static, 0, nil)
				return false
			})
		}
		return false
	}
	removeDataPoints(m, func(attrs pcommon.Map) bool {
		reason, static := p.decideMetric(c, attrs, memo)
		if reason != keep {
			counts.add(c.Layer, reason, 1)
			return true
		}
		putStatic(attrs, static, 0, nil)
		return false
	})
	return layer.DataPointCount(m) == 0
}

func removeDataPoints(m pmetric.Metric, drop func(pcommon.Map) bool) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		m.Gauge().DataPoints().RemoveIf(func(dp pmetric.NumberDataPoint) bool { return drop(dp.Attributes()) })
	case pmetric.MetricTypeSum:
		m.Sum().DataPoints().RemoveIf(func(dp pmetric.NumberDataPoint) bool { return drop(dp.Attributes()) })
	case pmetric.MetricTypeHistogram:
		m.Histogram().DataPoints().RemoveIf(func(dp pmetric.HistogramDataPoint) bool { return drop(dp.Attributes()) })
	case pmetric.MetricTypeExponentialHistogram:
		m.ExponentialHistogram().DataPoints().RemoveIf(func(dp pmetric.ExponentialHistogramDataPoint) bool { return drop(dp.Attributes()) })
	case pmetric.MetricTypeSummary:
		m.Summary().DataPoints().RemoveIf(func(dp pmetric.SummaryDataPoint) bool { return drop(dp.Attributes()) })
	}
}
