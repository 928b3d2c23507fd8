package otlpdecode

import (
	"encoding/binary"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// DecodeMetrics reads a serialized ExportMetricsServiceRequest. It reads
// gauges, sums and histograms, what a gateway's SDK sends; exponential
// histograms and summaries are left to pdata. ok is false when the request
// holds anything this decoder leaves to pdata (see the package comment); the
// metrics returned then are incomplete and must be discarded.
func (d *Decoder) DecodeMetrics(buf []byte) (md pmetric.Metrics, ok bool) {
	md = pmetric.NewMetrics()
	return md, decodeRequest(buf, md.ResourceMetrics(), d.resourceMetrics)
}

func (d *Decoder) resourceMetrics(buf []byte, rm pmetric.ResourceMetrics) bool {
	res := rm.Resource()
	return decodeLevel(d, buf, func(b []byte) bool { return d.resource(b, res) }, rm.ScopeMetrics(), rm.SetSchemaUrl, d.scopeMetrics)
}

func (d *Decoder) scopeMetrics(buf []byte, sm pmetric.ScopeMetrics) bool {
	sc := sm.Scope()
	return decodeLevel(d, buf, func(b []byte) bool { return d.scope(b, sc) }, sm.Metrics(), sm.SetSchemaUrl, d.metric)
}

// Metric fields that hold its data, one of them at most.
const (
	fieldGauge     = 5
	fieldSum       = 7
	fieldHistogram = 9
)

func (d *Decoder) metric(buf []byte, m pmetric.Metric) bool {
	var seen fieldSet
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireLen && seen.first(f):
			m.SetName(d.str(r.bytes()))
		case f == 2 && w == wireLen && seen.first(f):
			m.SetDescription(d.str(r.bytes()))
		case f == 3 && w == wireLen && seen.first(f):
			m.SetUnit(d.str(r.bytes()))
		case (f == fieldGauge || f == fieldSum || f == fieldHistogram) && w == wireLen:
			// The data is a oneof: a second one is left to pdata.
			if seen.has(fieldGauge) || seen.has(fieldSum) || seen.has(fieldHistogram) {
				return false
			}
			seen.first(f)
			b := r.bytes()
			if r.bad || !d.metricData(f, b, m) {
				return false
			}
		case f == 12 && w == wireLen:
			if !d.attributeField(&r, m.Metadata(), 12, 0) {
				return false
			}
		default: // 10 (exponential histogram), 11 (summary), among others
			return false
		}
	}
	return !r.bad
}

// metricData reads the data message of field f into m.
func (d *Decoder) metricData(f uint64, buf []byte, m pmetric.Metric) bool {
	var seen fieldSet
	var (
		numbers pmetric.NumberDataPointSlice
		hists   pmetric.HistogramDataPointSlice
	)
	switch f {
	case fieldGauge:
		numbers = m.SetEmptyGauge().DataPoints()
	case fieldSum:
		numbers = m.SetEmptySum().DataPoints()
	default:
		hists = m.SetEmptyHistogram().DataPoints()
	}
	r := reader{b: buf}
	for r.more() {
		f2, w := r.tag()
		switch {
		case f2 == 1 && w == wireLen && f == fieldHistogram:
			b := r.bytes()
			if hists.Len() == 0 {
				hists.EnsureCapacity(countField(buf, 1))
			}
			if r.bad || !d.histogramPoint(b, hists.AppendEmpty()) {
				return false
			}
		case f2 == 1 && w == wireLen:
			b := r.bytes()
			if numbers.Len() == 0 {
				numbers.EnsureCapacity(countField(buf, 1))
			}
			if r.bad || !d.numberPoint(b, numbers.AppendEmpty()) {
				return false
			}
		case f2 == 2 && w == wireVarint && f != fieldGauge && seen.first(f2):
			t := pmetric.AggregationTemporality(int32(r.varint()))
			if f == fieldSum {
				m.Sum().SetAggregationTemporality(t)
			} else {
				m.Histogram().SetAggregationTemporality(t)
			}
		case f2 == 3 && w == wireVarint && f == fieldSum && seen.first(f2):
			m.Sum().SetIsMonotonic(r.varint() != 0)
		default:
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) numberPoint(buf []byte, p pmetric.NumberDataPoint) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := p.Attributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 7 && w == wireLen:
			if !d.pointAttributes(&r, attrs, 7) {
				return false
			}
		case f == 2 && w == wireI64 && seen.first(f):
			p.SetStartTimestamp(pcommon.Timestamp(r.fixed64()))
		case f == 3 && w == wireI64 && seen.first(f):
			p.SetTimestamp(pcommon.Timestamp(r.fixed64()))
		case (f == 4 || f == 6) && w == wireI64:
			if !numberValue(&r, &seen, f, 4, 6, p.SetDoubleValue, p.SetIntValue) {
				return false
			}
		case f == 5 && w == wireLen:
			b := r.bytes()
			exemplars := p.Exemplars()
			if exemplars.Len() == 0 {
				exemplars.EnsureCapacity(countField(buf, 5))
			}
			if r.bad || !d.exemplar(b, exemplars.AppendEmpty()) {
				return false
			}
		case f == 8 && w == wireVarint && seen.first(f):
			p.SetFlags(pmetric.DataPointFlags(uint32(r.varint())))
		default:
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) histogramPoint(buf []byte, p pmetric.HistogramDataPoint) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := p.Attributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 9 && w == wireLen:
			if !d.pointAttributes(&r, attrs, 9) {
				return false
			}
		case f == 2 && w == wireI64 && seen.first(f):
			p.SetStartTimestamp(pcommon.Timestamp(r.fixed64()))
		case f == 3 && w == wireI64 && seen.first(f):
			p.SetTimestamp(pcommon.Timestamp(r.fixed64()))
		case f == 4 && w == wireI64 && seen.first(f):
			p.SetCount(r.fixed64())
		case f == 5 && w == wireI64 && seen.first(f):
			p.SetSum(math.Float64frombits(r.fixed64()))
		case f == 6 && w == wireLen && seen.first(f):
			// Packed, as every encoder writes it; pdata reads a packed field
			// given twice as the last one only, and an unpacked one (wire
			// type 1) element by element: both are left to it.
			if !d.packedCounts(r.bytes(), p.BucketCounts()) {
				return false
			}
		case f == 7 && w == wireLen && seen.first(f):
			if !d.packedBounds(r.bytes(), p.ExplicitBounds()) {
				return false
			}
		case f == 8 && w == wireLen:
			b := r.bytes()
			exemplars := p.Exemplars()
			if exemplars.Len() == 0 {
				exemplars.EnsureCapacity(countField(buf, 8))
			}
			if r.bad || !d.exemplar(b, exemplars.AppendEmpty()) {
				return false
			}
		case f == 10 && w == wireVarint && seen.first(f):
			p.SetFlags(pmetric.DataPointFlags(uint32(r.varint())))
		case f == 11 && w == wireI64 && seen.first(f):
			p.SetMin(math.Float64frombits(r.fixed64()))
		case f == 12 && w == wireI64 && seen.first(f):
			p.SetMax(math.Float64frombits(r.fixed64()))
		default:
			return false
		}
	}
	return !r.bad
}

// packedCounts fills s from packed fixed64 values; a length that is not a
// multiple of 8 is malformed.
func (d *Decoder) packedCounts(b []byte, s pcommon.UInt64Slice) bool {
	if len(b)%8 != 0 {
		return false
	}
	d.counts = d.counts[:0]
	for i := 0; i < len(b); i += 8 {
		d.counts = append(d.counts, binary.LittleEndian.Uint64(b[i:]))
	}
	s.FromRaw(d.counts) // FromRaw copies
	return true
}

// packedBounds fills s from packed doubles, as packedCounts does.
func (d *Decoder) packedBounds(b []byte, s pcommon.Float64Slice) bool {
	if len(b)%8 != 0 {
		return false
	}
	d.bounds = d.bounds[:0]
	for i := 0; i < len(b); i += 8 {
		d.bounds = append(d.bounds, math.Float64frombits(binary.LittleEndian.Uint64(b[i:])))
	}
	s.FromRaw(d.bounds)
	return true
}

// numberValue reads the value of a number data point or an exemplar, field
// f of the oneof of a double (field dbl) and an int (field i64). A second
// value is left to pdata.
func numberValue(r *reader, seen *fieldSet, f, dbl, i64 uint64, setDouble func(float64), setInt func(int64)) bool {
	if seen.has(dbl) || seen.has(i64) {
		return false
	}
	seen.first(f)
	v := r.fixed64()
	if f == dbl {
		setDouble(math.Float64frombits(v))
	} else {
		setInt(int64(v))
	}
	return true
}

func (d *Decoder) exemplar(buf []byte, e pmetric.Exemplar) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := e.FilteredAttributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 7 && w == wireLen:
			if !d.attributeField(&r, attrs, 7, 0) {
				return false
			}
		case f == 2 && w == wireI64 && seen.first(f):
			e.SetTimestamp(pcommon.Timestamp(r.fixed64()))
		case (f == 3 || f == 6) && w == wireI64:
			if !numberValue(&r, &seen, f, 3, 6, e.SetDoubleValue, e.SetIntValue) {
				return false
			}
		case f == 4 && w == wireLen && seen.first(f):
			id, ok := spanID(r.bytes())
			if !ok {
				return false
			}
			e.SetSpanID(id)
		case f == 5 && w == wireLen && seen.first(f):
			id, ok := traceID(r.bytes())
			if !ok {
				return false
			}
			e.SetTraceID(id)
		default:
			return false
		}
	}
	return !r.bad
}
