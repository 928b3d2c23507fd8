package otlpdecode

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// The layer filter adds its layer's static attributes to every data point
// it keeps: up to pointSpare of them fit in the decoded list, so a put
// costs at most its value's allocation (none for the filter, whose values
// are shared), where a full list would be copied into a new one first.

func TestDataPointsHaveRoomForAddedAttributes(t *testing.T) {
	body := gatewayMetricsRequest(t, 3)
	d := NewDecoder()
	decode := func() pmetric.Metrics {
		md, ok := d.DecodeMetrics(body)
		require.True(t, ok)
		return md
	}
	var points int
	forEachPoint(decode(), func(pcommon.Map) { points++ })
	require.Positive(t, points)

	alone := testing.AllocsPerRun(20, func() { decode() })
	withPuts := testing.AllocsPerRun(20, func() {
		forEachPoint(decode(), putSpare)
	})
	// one allocation per value put (pdata's string value), none to grow
	require.Equal(t, float64(pointSpare*points), withPuts-alone)
}

func putSpare(attrs pcommon.Map) {
	for _, k := range spareKeys {
		attrs.PutStr(k, "v")
	}
}

var spareKeys = func() []string {
	keys := make([]string, pointSpare)
	for i := range keys {
		keys[i] = "added." + string(rune('a'+i))
	}
	return keys
}()

// forEachPoint calls f with the attributes of every number and histogram
// data point (the kinds this decoder reads).
func forEachPoint(md pmetric.Metrics, f func(pcommon.Map)) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				var numbers pmetric.NumberDataPointSlice
				switch m := ms.At(k); m.Type() {
				case pmetric.MetricTypeGauge:
					numbers = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					numbers = m.Sum().DataPoints()
				case pmetric.MetricTypeHistogram:
					hs := m.Histogram().DataPoints()
					for p := 0; p < hs.Len(); p++ {
						f(hs.At(p).Attributes())
					}
					continue
				default:
					continue
				}
				for p := 0; p < numbers.Len(); p++ {
					f(numbers.At(p).Attributes())
				}
			}
		}
	}
}
