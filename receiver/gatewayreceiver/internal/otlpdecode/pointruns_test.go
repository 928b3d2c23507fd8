package otlpdecode

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

func TestRepeatedPointAttributesAreCopiedAsPdataReadsThem(t *testing.T) {
	body := gatewayMetricsRequest(t, 8)
	d := NewDecoder()
	d.seed = 1 // a seed under which no set of places overflows on these lists
	points := 0
	forEachPoint(mustDecodeMetrics(t, NewDecoder(), body), func(pcommon.Map) { points++ })
	require.True(t, sameMetricsAsPdata(t, d, body))
	for round := range 3 {
		hits := d.runs.hits
		require.True(t, sameMetricsAsPdata(t, d, body), "round %d gave up", round)
		// From the second request on, every point's list was met before.
		assert.Equal(t, points, d.runs.hits-hits, "points whose attributes were copied from a kept list")
	}
}

func TestKeptPointAttributesCannotBeChangedThroughADecodedPoint(t *testing.T) {
	body := gatewayMetricsRequest(t, 2)
	d := NewDecoder()
	for range 3 {
		mustDecodeMetrics(t, d, body)
	}
	// what a processor does to the points it was handed: change a value in
	// place, remove a key, add one
	forEachPoint(mustDecodeMetrics(t, d, body), func(attrs pcommon.Map) {
		for _, v := range attrs.All() {
			if v.Type() == pcommon.ValueTypeStr {
				v.SetStr("changed")
			}
		}
		attrs.RemoveIf(func(k string, _ pcommon.Value) bool { return k == "http.response.status_code" })
		attrs.PutStr("added", "x")
	})
	hits := d.runs.hits
	require.True(t, sameMetricsAsPdata(t, d, body))
	require.Greater(t, d.runs.hits, hits, "the last decode copied no kept list")
}

func TestPointAttributesThatHashAlikeAreToldApart(t *testing.T) {
	body := gatewayMetricsRequest(t, 1)
	d := NewDecoder()
	mustDecodeMetrics(t, d, body)
	// Every kept list keeps its hash, but its bytes are replaced by others
	// of the same length and its map by another one: a list whose hash
	// matches but whose bytes differ must be read, not copied.
	require.Positive(t, d.runs.kept)
	for _, run := range d.runs.slots {
		if run == nil {
			continue
		}
		run.raw = append([]byte(nil), run.raw...)
		run.raw[len(run.raw)-1] ^= 0xff
		run.m = pcommon.NewMap()
		run.m.PutStr("wrong", "map")
	}
	require.True(t, sameMetricsAsPdata(t, d, body))
}

func TestPointAttributesNeverMetAgainStopBeingKept(t *testing.T) {
	d := NewDecoder()
	// Request i holds 100 lists of its own and the 100 of request i-1
	// (an attribute with a value of each request, as a request ID would
	// be): once its places are full, the decoder keeps a list at its
	// second miss, in the next request, and never meets it again.
	request := func(i int) []byte {
		md := pmetric.NewMetrics()
		ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
		for _, r := range []int{i, i - 1} {
			for p := range 100 {
				m := ms.AppendEmpty()
				m.SetName("requests")
				dp := m.SetEmptySum().DataPoints().AppendEmpty()
				dp.SetIntValue(int64(p))
				dp.Attributes().PutStr("http.route", fmt.Sprintf("/r/%d", p))
				dp.Attributes().PutStr("request", fmt.Sprint(r))
				dp.Attributes().PutInt("http.response.status_code", 200)
			}
		}
		return mustMarshalMetrics(t, md)
	}
	for i := range 80 {
		require.True(t, sameMetricsAsPdata(t, d, request(i)))
	}
	require.Zero(t, d.runs.credit, "the credit never ran out")
	kept := d.runs.kept
	for i := 80; i < 90; i++ {
		require.True(t, sameMetricsAsPdata(t, d, request(i)))
	}
	assert.Equal(t, kept, d.runs.kept, "lists kept after the credit ran out")
}

func TestPointAttributesSplitByAnotherFieldAreRead(t *testing.T) {
	// a number point whose attributes (7) come in two runs, around its
	// value: only the first run may be kept and copied
	kv := func(k string, v byte) []byte { return pointKV(0x3a, k, v) }
	var point []byte
	point = append(point, kv("a", 'x')...)
	point = append(point, kv("b", 'y')...)
	point = append(point, 0x31, 1, 0, 0, 0, 0, 0, 0, 0) // as_int (6)
	point = append(point, kv("c", 'z')...)
	sum := append([]byte{0x0a}, protoLen(point)...) // Sum.data_points
	sum = append(append(sum, 0x0a), protoLen(point)...)
	metric := append([]byte{0x0a, 0x01, 'm', 0x3a}, protoLen(sum)...) // name, sum (7)
	body := metricWith(metric)
	d := NewDecoder()
	for range 3 {
		require.True(t, sameMetricsAsPdata(t, d, body))
	}
	md := mustDecodeMetrics(t, d, body)
	forEachPoint(md, func(attrs pcommon.Map) { assert.Equal(t, 3, attrs.Len()) })
}

func mustDecodeMetrics(t *testing.T, d *Decoder, body []byte) pmetric.Metrics {
	t.Helper()
	md, ok := d.DecodeMetrics(body)
	require.True(t, ok)
	return md
}

func TestKeptPointAttributesStayWithinTheirBytes(t *testing.T) {
	d := NewDecoder()
	// 3000 series whose lists are about 600 bytes each, each met in two
	// requests: far more than maxRunBytes holds.
	long := strings.Repeat("v", 250)
	request := func(from int) []byte {
		md := pmetric.NewMetrics()
		ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
		for s := from; s < from+100; s++ {
			m := ms.AppendEmpty()
			m.SetName("requests")
			dp := m.SetEmptySum().DataPoints().AppendEmpty()
			dp.Attributes().PutStr("http.route", fmt.Sprintf("/r/%d", s))
			dp.Attributes().PutStr("a", long)
			dp.Attributes().PutStr("b", long)
		}
		return mustMarshalMetrics(t, md)
	}
	for i := range 30 {
		require.True(t, sameMetricsAsPdata(t, d, request(i*100)))
		require.True(t, sameMetricsAsPdata(t, d, request(i*100)))
	}
	held := 0
	for _, run := range d.runs.slots {
		if run != nil {
			held += run.size()
		}
	}
	assert.Equal(t, held, d.runs.bytes, "the kept lists' sizes, counted")
	assert.LessOrEqual(t, d.runs.bytes, maxRunBytes)
	assert.Greater(t, d.runs.bytes, maxRunBytes*9/10, "the budget was not used")
	assert.Positive(t, d.runs.hits, "lists met again within their budget were not copied")
}
