package gatewaydata

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestMergeByNameKeepsOneMetricPerNameWithEveryPoint(t *testing.T) {
	dst := pmetric.NewMetricSlice()
	ok, failed := DefaultRequest, DefaultRequest
	failed.Status = 500
	MergeByName(dst, NewMetrics("gw", Metrics, ok).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics())
	MergeByName(dst, NewMetrics("gw", Metrics, failed).ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics())
	require.Equal(t, len(Metrics), dst.Len())
	for i := 0; i < dst.Len(); i++ {
		m := dst.At(i)
		assert.Equal(t, Metrics[i].Name, m.Name())
		var points int
		switch m.Type() {
		case pmetric.MetricTypeHistogram:
			points = m.Histogram().DataPoints().Len()
		case pmetric.MetricTypeSum:
			points = m.Sum().DataPoints().Len()
		}
		assert.Equal(t, 2, points, m.Name())
	}
}
