package otlpdecode

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
)

// gatewayMetricsRequest is an export request as a gateway's periodic reader
// sends one: every metric of every layer, a data point per endpoint and
// status, the histograms' latest points with an exemplar of the trace that
// recorded them.
func gatewayMetricsRequest(tb testing.TB, endpoints int) []byte {
	tb.Helper()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.SetSchemaUrl("https://opentelemetry.io/schemas/1.21.0")
	rm.Resource().Attributes().PutStr("service.name", "krakend-gw")
	rm.Resource().Attributes().PutStr("service.version", "2.13.0")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("krakend")
	for e := range endpoints {
		for _, status := range []int{200, 404, 500} {
			r := gatewaydata.DefaultRequest
			r.EndpointRoute = fmt.Sprintf("/api/v1/resource-%d/{id}", e)
			r.Status = status
			one := gatewaydata.NewMetrics("krakend-gw", gatewaydata.Metrics, r)
			ms := one.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
			for i := 0; i < ms.Len(); i++ {
				if m := ms.At(i); m.Type() == pmetric.MetricTypeHistogram {
					ex := m.Histogram().DataPoints().At(0).Exemplars().AppendEmpty()
					ex.SetTimestamp(1_700_000_060_000_000_000)
					ex.SetDoubleValue(0.087)
					ex.SetTraceID(gatewaydata.TraceID(uint64(e*1000 + status)))
					ex.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(e)})
				}
			}
			gatewaydata.MergeByName(sm.Metrics(), ms)
		}
	}
	return mustMarshalMetrics(tb, md)
}

// everyMetricField is a request that uses every field this decoder reads.
func everyMetricField() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.SetSchemaUrl("https://opentelemetry.io/schemas/1.27.0")
	rm.Resource().Attributes().PutStr("service.name", "gw")
	rm.Resource().SetDroppedAttributesCount(2)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.SetSchemaUrl("https://scope")
	sm.Scope().SetName("krakend")
	sm.Scope().SetVersion("2.13")
	sm.Scope().Attributes().PutBool("b", true)
	sm.Scope().SetDroppedAttributesCount(1)

	g := sm.Metrics().AppendEmpty()
	g.SetName("gauge")
	g.SetDescription("a gauge")
	g.SetUnit("1")
	g.Metadata().PutStr("meta", "data")
	gp := g.SetEmptyGauge().DataPoints().AppendEmpty()
	gp.SetDoubleValue(-2.5)
	gp.SetTimestamp(1_700_000_000_000_000_000)
	gp.Attributes().PutStr("k", "v")
	gp.Attributes().PutEmptySlice("list").AppendEmpty().SetInt(3)
	gp.SetFlags(pmetric.DefaultDataPointFlags.WithNoRecordedValue(true))
	gp.Exemplars().AppendEmpty().SetIntValue(4) // all else default
	g.Gauge().DataPoints().AppendEmpty()        // all defaults, no value

	s := sm.Metrics().AppendEmpty()
	s.SetName("sum")
	sum := s.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	sp := sum.DataPoints().AppendEmpty()
	sp.SetIntValue(-7)
	sp.SetStartTimestamp(1_700_000_000_000_000_000)
	sp.SetTimestamp(1_700_000_060_000_000_000)
	ex := sp.Exemplars().AppendEmpty()
	ex.SetDoubleValue(1.5)
	ex.SetTimestamp(1_700_000_030_000_000_000)
	ex.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	ex.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	ex.FilteredAttributes().PutStr("user", "u1")
	sum.DataPoints().AppendEmpty().SetIntValue(0) // a zero set, not absent

	h := sm.Metrics().AppendEmpty()
	h.SetName("histogram")
	hist := h.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	hp := hist.DataPoints().AppendEmpty()
	hp.SetStartTimestamp(1_700_000_000_000_000_000)
	hp.SetTimestamp(1_700_000_060_000_000_000)
	hp.SetCount(6)
	hp.SetSum(1.25)
	hp.SetMin(0.01)
	hp.SetMax(0.9)
	hp.ExplicitBounds().FromRaw([]float64{0.1, 0.5, 1})
	hp.BucketCounts().FromRaw([]uint64{1, 2, 3, 0})
	hp.SetFlags(1)
	hp.Attributes().PutInt("http.response.status_code", 200)
	hp.Exemplars().AppendEmpty().SetDoubleValue(0.3)
	hp2 := hist.DataPoints().AppendEmpty() // no sum, min or max; zero ones
	hp2.SetSum(0)
	hp2.ExplicitBounds().FromRaw([]float64{})

	sm.Metrics().AppendEmpty().SetName("no data")
	sm.Metrics().AppendEmpty().SetEmptyGauge()
	sm.Metrics().AppendEmpty().SetEmptySum()
	sm.Metrics().AppendEmpty().SetEmptyHistogram()
	rm.ScopeMetrics().AppendEmpty()
	md.ResourceMetrics().AppendEmpty()
	return md
}

// sameMetricsAsPdata decodes body with both decoders and fails unless this
// one either gives up or gives exactly what pdata gives. It returns whether
// this one decoded the request.
func sameMetricsAsPdata(t *testing.T, d *Decoder, body []byte) bool {
	t.Helper()
	got, ok := d.DecodeMetrics(body)
	want := pmetricotlp.NewExportRequest()
	wantErr := want.UnmarshalProto(body)
	if !ok {
		return false
	}
	require.NoError(t, wantErr, "decoded a request pdata refuses")
	gotBytes, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(got)
	require.NoError(t, err)
	wantBytes, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(want.Metrics())
	require.NoError(t, err)
	if !bytes.Equal(gotBytes, wantBytes) {
		t.Fatalf("decoded differently from pdata:\n got %x\nwant %x", gotBytes, wantBytes)
	}
	return true
}

// oddMetricRequests are requests no SDK writes but pdata reads, each of
// which this decoder reads exactly as pdata does: values past their field's
// width, fields split and out of order, empty messages, non-minimal
// encodings. Small, so that the fuzzer's mutations of them keep their
// structure.
func oddMetricRequests() map[string][]byte {
	return map[string][]byte{
		"sum with varints past their width": metricWith(field(0x3a, // sum
			append([]byte{0x10}, max10...), // temporality: -1 as an int32
			[]byte{0x18, 0x02},             // is_monotonic: 2
			field(0x0a, fixed(0x31, 1<<63), append([]byte{0x40}, max10...), pointKV(0x3a, "k", 'v')))),
		"histogram point in pieces": metricWith(bytes.Join([][]byte{
			pointKV(0x62, "m1", 'a'), // metadata before and after the data
			field(0x4a, field(0x0a,
				pointKV(0x4a, "a", '1'),
				fixed(0x21, 3),
				pointKV(0x4a, "b", '2'),
				[]byte{0x32, 0x00},                             // no buckets
				field(0x3a, le64(0), le64(0x3ff0000000000000)), // bounds 0 and 1
				field(0x42, []byte{0x22, 0x00, 0x2a, 0x00}, fixed(0x31, 5), pointKV(0x3a, "f", 'x')), // exemplar, empty IDs
				fixed(0x61, 0x7ff8000000000001), // max: a NaN with a payload
				fixed(0x59, 0),
				append([]byte{0x50}, max10...)), // flags
				[]byte{0x10, 0x80, 0x80, 0x80, 0x80, 0x08}), // temporality: 2^31, a negative int32
			pointKV(0x62, "m2", 'b'),
		}, nil)),
		"non-minimal tags and lengths": metricWith([]byte{0x8a, 0x00, 0x81, 0x00, 'x', 0xaa, 0x80, 0x00, 0x02, 0x0a, 0x00}),
		"empty messages": bytes.Join([][]byte{
			{0x0a, 0x00},
			field(0x0a, []byte{0x0a, 0x00}, []byte{0x12, 0x00}, field(0x12, []byte{0x0a, 0x00}, []byte{0x12, 0x00})),
			metricWith(bytes.Join([][]byte{{0x3a, 0x00}, {0x62, 0x00}}, nil)),
			metricWith(field(0x4a, []byte{0x0a, 0x00})),
		}, nil),
	}
}

func TestDecodesOddMetricRequestsLikePdata(t *testing.T) {
	d := NewDecoder()
	for name, body := range oddMetricRequests() {
		t.Run(name, func(t *testing.T) {
			assert.True(t, sameMetricsAsPdata(t, d, body), "gave up on a request it reads")
		})
	}
}

func TestDecodesMetricsPdataDecodes(t *testing.T) {
	d := NewDecoder()
	for name, body := range map[string][]byte{
		"gateway batch": gatewayMetricsRequest(t, 8),
		"every field":   mustMarshalMetrics(t, everyMetricField()),
		"empty":         {},
	} {
		t.Run(name, func(t *testing.T) {
			assert.True(t, sameMetricsAsPdata(t, d, body), "gave up on a request it reads")
			// Again, with the shared strings in the table.
			assert.True(t, sameMetricsAsPdata(t, d, body))
		})
	}
}

// The histograms' bucket lists are each a copy of their own, not the
// decoder's scratch space.
func TestHistogramBucketsAreCopies(t *testing.T) {
	d := NewDecoder()
	md, ok := d.DecodeMetrics(gatewayMetricsRequest(t, 2))
	require.True(t, ok)
	var points []pmetric.HistogramDataPoint
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Type() == pmetric.MetricTypeHistogram {
			dps := ms.At(i).Histogram().DataPoints()
			for j := 0; j < dps.Len(); j++ {
				points = append(points, dps.At(j))
			}
		}
	}
	require.Greater(t, len(points), 2)
	want := points[0].BucketCounts().AsRaw()
	// Decoding again reuses the scratch space; the points keep their buckets.
	_, ok = d.DecodeMetrics(mustMarshalMetrics(t, everyMetricField()))
	require.True(t, ok)
	assert.Equal(t, want, points[0].BucketCounts().AsRaw())
	points[1].BucketCounts().SetAt(0, 99)
	assert.NotEqual(t, uint64(99), points[2].BucketCounts().At(0))
}

func TestSharesRepeatedMetricStrings(t *testing.T) {
	d := decoderWithoutCollisions()
	md, ok := d.DecodeMetrics(gatewayMetricsRequest(t, 3))
	require.True(t, ok)
	var routes []string
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < ms.Len(); i++ {
		if ms.At(i).Type() != pmetric.MetricTypeSum {
			continue
		}
		dps := ms.At(i).Sum().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			for k := range dps.At(j).Attributes().All() {
				if k == "http.request.method" {
					routes = append(routes, k)
				}
			}
		}
	}
	require.Greater(t, len(routes), 1)
	for _, k := range routes[1:] {
		assert.Same(t, unsafeData(routes[0]), unsafeData(k), "each point holds its own copy of a key")
	}
}

// Every departure from what the decoder knows exactly makes it give up, so
// that pdata decides; pdata's result is what the receiver then uses.
func TestMetricsGivesUpOnWhatItLeavesToPdata(t *testing.T) {
	exp := pmetric.NewMetrics()
	exp.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().
		SetEmptyExponentialHistogram().DataPoints().AppendEmpty().SetCount(1)
	summary := pmetric.NewMetrics()
	summary.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().
		SetEmptySummary().DataPoints().AppendEmpty().SetCount(1)
	gauge := []byte{0x2a, 0x00} // Metric.gauge, empty
	sum := []byte{0x3a, 0x00}   // Metric.sum, empty
	histPoint := func(fields ...byte) []byte {
		return metricWith(append([]byte{0x4a}, protoLen(append([]byte{0x0a}, protoLen(fields)...))...))
	}
	numberPoint := func(fields ...byte) []byte {
		return metricWith(append([]byte{0x2a}, protoLen(append([]byte{0x0a}, protoLen(fields)...))...))
	}
	i64 := func(tag byte) []byte { return []byte{tag, 1, 0, 0, 0, 0, 0, 0, 0} }
	for name, tc := range map[string]struct {
		body    []byte
		pdataOK bool
	}{
		"exponential histogram":    {body: mustMarshalMetrics(t, exp), pdataOK: true},
		"summary":                  {body: mustMarshalMetrics(t, summary), pdataOK: true},
		"two data fields":          {body: metricWith(append(gauge, sum...)), pdataOK: true},
		"unknown metric field":     {body: metricWith([]byte{0x68, 0x01}), pdataOK: true}, // field 13 varint
		"name given twice":         {body: metricWith([]byte{0x0a, 0x01, 'a', 0x0a, 0x01, 'b'}), pdataOK: true},
		"int and double":           {body: numberPoint(append(i64(0x21), i64(0x31)...)...), pdataOK: true},
		"packed buckets twice":     {body: histPoint(append(append([]byte{0x32, 8}, i64(0)[1:]...), append([]byte{0x32, 8}, i64(0)[1:]...)...)...), pdataOK: true},
		"unpacked bucket":          {body: histPoint(i64(0x31)...), pdataOK: true},
		"buckets of 7 bytes":       {body: histPoint(0x32, 7, 1, 2, 3, 4, 5, 6, 7), pdataOK: false},
		"exemplar span id 3 bytes": {body: numberPoint(0x2a, 5, 0x22, 3, 1, 2, 3), pdataOK: false},
		"duplicate point attribute": {body: numberPoint(append(pointKV(0x3a, "k", 'a'), pointKV(0x3a, "k", 'b')...)...),
			pdataOK: true},
		"deprecated instrumentation_library_metrics": {
			body: append(wrapResourceSpans([]byte{0xc2, 0x3e, 0x00}), mustMarshalMetrics(t, everyMetricField())...), pdataOK: true, // field 1000
		},
		"truncated": {body: mustMarshalMetrics(t, everyMetricField())[:60], pdataOK: false},
	} {
		t.Run(name, func(t *testing.T) {
			_, ok := NewDecoder().DecodeMetrics(tc.body)
			assert.False(t, ok, "decoded what it should leave to pdata")
			err := pmetricotlp.NewExportRequest().UnmarshalProto(tc.body)
			assert.Equal(t, tc.pdataOK, err == nil, "pdata: %v", err)
		})
	}
}

func FuzzDecodesMetricsLikePdata(f *testing.F) {
	f.Add(gatewayMetricsRequest(f, 1))
	f.Add(mustMarshalMetrics(f, everyMetricField()))
	for _, body := range oddMetricRequests() {
		f.Add(body)
	}
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, body []byte) {
		sameMetricsAsPdata(t, d, body)
	})
}

func BenchmarkDecodeMetrics(b *testing.B) {
	body := gatewayMetricsRequest(b, 8)
	var points int
	{
		md, ok := NewDecoder().DecodeMetrics(body)
		require.True(b, ok)
		points = md.DataPointCount()
	}
	b.Run("pdata", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := pmetricotlp.NewExportRequest()
			if err := req.UnmarshalProto(body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*points), "ns/point")
	})
	b.Run("gateway", func(b *testing.B) {
		b.ReportAllocs()
		d := NewDecoder()
		for b.Loop() {
			if _, ok := d.DecodeMetrics(body); !ok {
				b.Fatal("gave up")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*points), "ns/point")
	})
}

func mustMarshalMetrics(tb testing.TB, md pmetric.Metrics) []byte {
	tb.Helper()
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(tb, err)
	return b
}

// metricWith is a request of one metric holding the given serialized fields.
func metricWith(fields []byte) []byte {
	scope := append([]byte{0x12}, protoLen(fields)...) // ScopeMetrics.metrics
	return wrapResourceSpans(append([]byte{0x12}, protoLen(scope)...))
}

// pointKV is a serialized attribute field (tag) of key k and a one-byte
// string value.
func pointKV(tag byte, k string, v byte) []byte {
	value := []byte{0x0a, 0x01, v}
	inner := append(append([]byte{0x0a}, protoLen([]byte(k))...), append([]byte{0x12}, protoLen(value)...)...)
	return append([]byte{tag}, protoLen(inner)...)
}
