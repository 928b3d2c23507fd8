package otlpdecode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/sharedvalue"
)

// gatewayRequest is an export request as a gateway's SDK sends one: the
// five spans of each of n requests over three endpoints, raw paths varying.
func gatewayRequest(tb testing.TB, n int) []byte {
	tb.Helper()
	reqs := make([]gatewaydata.Request, n)
	for i := range reqs {
		r := gatewaydata.DefaultRequest
		r.Path = fmt.Sprintf("/users/%d", i%1000)
		switch i % 3 {
		case 1:
			r.EndpointRoute, r.Method, r.BackendPattern, r.Status = "/orders", "POST", "/v2/orders", 201
			r.Path = "/orders"
		case 2:
			r.Status = 500
		}
		reqs[i] = r
	}
	td := gatewaydata.NewTraces("krakend-gw", 1, reqs...)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.version", "2.13.0")
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(tb, err)
	return body
}

// everyField is a request that uses every field this decoder reads, with
// values of every kind, nested.
func everyField() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.27.0")
	rs.Resource().Attributes().PutStr("service.name", "gw")
	rs.Resource().SetDroppedAttributesCount(2)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.SetSchemaUrl("https://scope")
	ss.Scope().SetName("krakend")
	ss.Scope().SetVersion("2.13")
	ss.Scope().Attributes().PutBool("b", true)
	ss.Scope().SetDroppedAttributesCount(1)
	s := ss.Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	s.SetParentSpanID(pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, 1})
	s.TraceState().FromRaw("ot=th:c")
	s.SetName("backend-request")
	s.SetKind(ptrace.SpanKindClient)
	s.SetStartTimestamp(1_700_000_000_000_000_000)
	s.SetEndTimestamp(1_700_000_000_100_000_000)
	s.SetFlags(0x301)
	a := s.Attributes()
	a.PutStr("s", "v")
	a.PutStr("empty", "")
	a.PutInt("i", -42)
	a.PutDouble("d", 3.25)
	a.PutBool("f", false)
	a.PutEmpty("none")
	a.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2})
	sl := a.PutEmptySlice("slice")
	sl.AppendEmpty().SetStr("x")
	sl.AppendEmpty().SetInt(7)
	sl.AppendEmpty()
	m := sl.AppendEmpty().SetEmptyMap()
	m.PutStr("k", "nested")
	m.PutEmptySlice("deeper").AppendEmpty().SetDouble(1)
	s.SetDroppedAttributesCount(3)
	e := s.Events().AppendEmpty()
	e.SetName("exception")
	e.SetTimestamp(1_700_000_000_050_000_000)
	e.Attributes().PutStr("exception.message", "boom")
	e.SetDroppedAttributesCount(1)
	s.Events().AppendEmpty() // all defaults
	s.SetDroppedEventsCount(4)
	l := s.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{9})
	l.SetSpanID(pcommon.SpanID{9})
	l.TraceState().FromRaw("a=b")
	l.Attributes().PutInt("n", 1)
	l.SetDroppedAttributesCount(5)
	l.SetFlags(0x100)
	s.SetDroppedLinksCount(6)
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("failed")
	ss.Spans().AppendEmpty() // all defaults
	rs.ScopeSpans().AppendEmpty()
	td.ResourceSpans().AppendEmpty()
	return td
}

// sameAsPdata decodes body with both decoders and fails unless this one
// either gives up or gives exactly what pdata gives. It returns whether this
// one decoded the request.
func sameAsPdata(t *testing.T, d *Decoder, body []byte) bool {
	t.Helper()
	got, ok := d.DecodeTraces(body)
	want := ptraceotlp.NewExportRequest()
	wantErr := want.UnmarshalProto(body)
	if !ok {
		return false
	}
	require.NoError(t, wantErr, "decoded a request pdata refuses")
	gotBytes, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(got)
	require.NoError(t, err)
	wantBytes, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(want.Traces())
	require.NoError(t, err)
	if !bytes.Equal(gotBytes, wantBytes) {
		t.Fatalf("decoded differently from pdata:\n got %x\nwant %x", gotBytes, wantBytes)
	}
	return true
}

func TestDecodesWhatPdataDecodes(t *testing.T) {
	d := NewDecoder()
	for name, body := range map[string][]byte{
		"gateway batch": gatewayRequest(t, 100),
		"every field":   mustMarshal(t, everyField()),
		"empty":         {},
	} {
		t.Run(name, func(t *testing.T) {
			assert.True(t, sameAsPdata(t, d, body), "gave up on a request it reads")
			// Again, with the shared strings in the table.
			assert.True(t, sameAsPdata(t, d, body))
		})
	}
}

// oddTraceRequests are oddMetricRequests' counterparts for traces.
func oddTraceRequests(t *testing.T) map[string][]byte {
	return map[string][]byte{
		"span with varints past their width": spanWith(t, bytes.Join([][]byte{
			append([]byte{0x30}, max10...),                                       // kind: -1 as an int32
			{0x85, 0x01, 0xff, 0xff, 0xff, 0xff},                                 // flags
			append([]byte{0x50}, max10...),                                       // dropped attributes
			field(0x7a, append([]byte{0x18}, max10...), []byte{0x12, 0x01, 'm'}), // status: code -1
			field(0x5a, append([]byte{0x20}, max10...)),                          // event: dropped attributes
		}, nil)),
		"attribute values at their edges": spanWith(t, bytes.Join([][]byte{
			kv("bool 2", []byte{0x10, 0x02}),
			kv("int -1", append([]byte{0x18}, max10...)),
			kv("no value", nil),
			kv("empty bytes", []byte{0x3a, 0x00}),
			kv("empty array", []byte{0x2a, 0x00}),
			kv("empty kvlist", []byte{0x32, 0x00}),
			kv("", field(0x2a, []byte{0x0a, 0x00}, field(0x0a, fixed(0x21, 0x7ff8000000000001)))),
		}, nil)),
		"span in pieces": spanWith(t, bytes.Join([][]byte{
			kv("a", []byte{0x0a, 0x01, '1'}),
			{0x2a, 0x01, 'n'},                    // name
			{0x1a, 0x00},                         // empty trace state
			{0x0a, 0x00, 0x12, 0x00, 0x22, 0x00}, // empty ids
			kv("b", []byte{0x0a, 0x01, '2'}),
			field(0x6a, []byte{0x0a, 0x00, 0x1a, 0x00}, field(0x22), field(0x22, []byte{0x0a, 0x01, 'k'})), // link
			{0x7a, 0x00}, // empty status
			kv("c", []byte{0x0a, 0x01, '3'}),
		}, nil)),
		"non-minimal tags and lengths": spanWith(t, []byte{0xaa, 0x80, 0x00, 0x81, 0x00, 'x', 0xb0, 0x00, 0x82, 0x00}),
	}
}

func TestDecodesOddTraceRequestsLikePdata(t *testing.T) {
	d := NewDecoder()
	for name, body := range oddTraceRequests(t) {
		t.Run(name, func(t *testing.T) {
			assert.True(t, sameAsPdata(t, d, body), "gave up on a request it reads")
		})
	}
}

func TestSharesRepeatedStrings(t *testing.T) {
	d := decoderWithoutCollisions()
	td, ok := d.DecodeTraces(gatewayRequest(t, 10))
	require.True(t, ok)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	var keys []string
	for i := 0; i < spans.Len(); i++ {
		for k := range spans.At(i).Attributes().All() {
			if k == "krakend.stage" {
				keys = append(keys, k)
			}
		}
	}
	require.Greater(t, len(keys), 1)
	for _, k := range keys[1:] {
		assert.Same(t, unsafeData(keys[0]), unsafeData(k), "each span holds its own copy of a key")
	}
}

func TestRepeatedStringValuesShareOneWrapper(t *testing.T) {
	d := decoderWithoutCollisions()
	td, ok := d.DecodeTraces(gatewayRequest(t, 10))
	require.True(t, ok)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	var stages []pcommon.Value
	for i := 0; i < spans.Len(); i++ {
		if v, ok := spans.At(i).Attributes().Get("krakend.stage"); ok && v.Str() == "backend-request" {
			stages = append(stages, v)
		}
	}
	require.Greater(t, len(stages), 1)
	first := sharedvalue.Of(stages[0])
	require.True(t, first.Shares())
	for _, v := range stages[1:] {
		assert.True(t, first == sharedvalue.Of(v), "a value equal to an earlier one has a wrapper of its own")
	}
}

func TestRepeatedIntegerValuesShareOneWrapper(t *testing.T) {
	d := NewDecoder()
	td, ok := d.DecodeTraces(gatewayRequest(t, 10))
	require.True(t, ok)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	var codes []pcommon.Value
	for i := 0; i < spans.Len(); i++ {
		if v, ok := spans.At(i).Attributes().Get("http.response.status_code"); ok && v.Int() == 200 {
			codes = append(codes, v)
		}
	}
	require.Greater(t, len(codes), 1)
	first := sharedvalue.OfInt(codes[0])
	require.True(t, first.Shares())
	for _, v := range codes[1:] {
		assert.True(t, first == sharedvalue.OfInt(v), "an integer equal to an earlier one has a wrapper of its own")
	}
}

func TestSharedStringValuesCannotBeChangedThroughADecodedSpan(t *testing.T) {
	body := gatewayRequest(t, 4)
	d := NewDecoder()
	td, ok := d.DecodeTraces(body)
	require.True(t, ok)
	// what a processor does to the spans it was handed
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		for _, v := range spans.At(i).Attributes().All() {
			if v.Type() == pcommon.ValueTypeStr {
				v.SetStr("changed")
			}
		}
	}
	assert.True(t, sameAsPdata(t, d, body))
}

func TestSharesShortStringsOnly(t *testing.T) {
	d := NewDecoder()
	short := []byte("backend-request")
	assert.Same(t, unsafeData(d.str(short)), unsafeData(d.str(short)))
	long := bytes.Repeat([]byte("x"), maxSharedLen+1)
	assert.NotSame(t, unsafeData(d.str(long)), unsafeData(d.str(long)))
	for _, slot := range d.shared {
		assert.LessOrEqual(t, len(slot.s), maxSharedLen)
	}
}

// Every departure from what the decoder knows exactly makes it give up, so
// that pdata decides; pdata's result is what the receiver then uses.
func TestGivesUpOnWhatItLeavesToPdata(t *testing.T) {
	base := everyField()
	for name, tc := range map[string]struct {
		body    []byte
		pdataOK bool
	}{
		"unknown field in a span": {body: appendToFirstSpan(t, base, []byte{0x88, 0x01, 0x01}), pdataOK: true}, // field 17 varint
		"deprecated instrumentation_library_spans": {
			body: append(wrapResourceSpans([]byte{0xc2, 0x3e, 0x00}), mustMarshal(t, base)...), pdataOK: true, // field 1000
		},
		"duplicate attribute key": {body: duplicateKey(t), pdataOK: true},
		"trace id of 3 bytes":     {body: spanWith(t, []byte{0x0a, 0x03, 1, 2, 3}), pdataOK: false},
		"span id of 3 bytes":      {body: spanWith(t, []byte{0x12, 0x03, 1, 2, 3}), pdataOK: false},
		"name given twice":        {body: spanWith(t, []byte{0x2a, 0x01, 'a', 0x2a, 0x01, 'b'}), pdataOK: true},
		"truncated":               {body: mustMarshal(t, base)[:57], pdataOK: false},
		"wrong wire type":         {body: spanWith(t, []byte{0x28, 0x01}), pdataOK: false}, // name as varint
		"oneof given twice":       {body: spanWith(t, kv("k", []byte{0x0a, 0x01, 'a', 0x18, 0x01})), pdataOK: true},
	} {
		t.Run(name, func(t *testing.T) {
			_, ok := NewDecoder().DecodeTraces(tc.body)
			assert.False(t, ok, "decoded what it should leave to pdata")
			err := ptraceotlp.NewExportRequest().UnmarshalProto(tc.body)
			assert.Equal(t, tc.pdataOK, err == nil, "pdata: %v", err)
		})
	}
}

// A map put looks for its key first: a span with thousands of attributes
// would cost the square of that; pdata appends.
func TestGivesUpOnAnAttributeListPastTheLimit(t *testing.T) {
	for n, want := range map[int]bool{maxEntries: true, maxEntries + 1: false} {
		var fields []byte
		for i := range n {
			fields = append(fields, kv(fmt.Sprint("k", i), []byte{0x18, 0x01})...)
		}
		body := spanWith(t, fields)
		ok := sameAsPdata(t, NewDecoder(), body)
		assert.Equal(t, want, ok, "%d attributes", n)
	}
}

func TestGivesUpBelowTheNestingLimit(t *testing.T) {
	v := []byte{0x0a, 0x01, 'x'} // a string value
	for range maxDepth + 1 {
		// an array holding v
		arr := append([]byte{0x0a}, protoLen(v)...)
		v = append([]byte{0x2a}, protoLen(arr)...)
	}
	_, ok := NewDecoder().DecodeTraces(spanWith(t, kv("deep", v)))
	assert.False(t, ok)
}

func FuzzDecodesLikePdata(f *testing.F) {
	f.Add(gatewayRequest(f, 3))
	f.Add(mustMarshal(f, everyField()))
	for _, body := range oddTraceRequests(nil) {
		f.Add(body)
	}
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsPdata(t, d, body)
	})
}

func BenchmarkDecodeTraces(b *testing.B) {
	body := gatewayRequest(b, 100)
	spans := ptrace.NewTraces().SpanCount()
	{
		td, ok := NewDecoder().DecodeTraces(body)
		require.True(b, ok)
		spans = td.SpanCount()
	}
	b.Run("pdata", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(body); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	})
	b.Run("gateway", func(b *testing.B) {
		b.ReportAllocs()
		d := NewDecoder()
		for b.Loop() {
			if _, ok := d.DecodeTraces(body); !ok {
				b.Fatal("gave up")
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*spans), "ns/span")
	})
}

// Helpers that build the odd requests.

func mustMarshal(tb testing.TB, td ptrace.Traces) []byte {
	tb.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(tb, err)
	return b
}

// max10 is 2^64-1 as a varint: ten bytes, that pdata truncates to the
// field's width.
var max10 = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}

// field is a length-delimited field of the given tag holding fields.
func field(tag byte, fields ...[]byte) []byte {
	return append([]byte{tag}, protoLen(bytes.Join(fields, nil))...)
}

// fixed is a fixed64 field of the given tag; le64 is the value alone.
func fixed(tag byte, v uint64) []byte { return append([]byte{tag}, le64(v)...) }

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func protoLen(b []byte) []byte {
	var out []byte
	n := uint64(len(b))
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(append(out, byte(n)), b...)
}

// kv is a serialized span attribute field (9) holding key k and the
// serialized AnyValue v.
func kv(k string, v []byte) []byte {
	inner := append(append([]byte{0x0a}, protoLen([]byte(k))...), append([]byte{0x12}, protoLen(v)...)...)
	return append([]byte{0x4a}, protoLen(inner)...)
}

// spanWith is a request of one span holding the given serialized fields.
func spanWith(_ *testing.T, fields []byte) []byte {
	scope := append([]byte{0x12}, protoLen(fields)...) // ScopeSpans.spans
	return wrapResourceSpans(append([]byte{0x12}, protoLen(scope)...))
}

// wrapResourceSpans is a request of one ResourceSpans holding fields.
func wrapResourceSpans(fields []byte) []byte {
	return append([]byte{0x0a}, protoLen(fields)...)
}

func appendToFirstSpan(t *testing.T, td ptrace.Traces, extra []byte) []byte {
	only := ptrace.NewTraces()
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).CopyTo(
		only.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty())
	// request{1: resource spans{2: scope spans{2: span}}}: three wrappers.
	span := strip(strip(strip(mustMarshal(t, only))))
	return spanWith(t, append(span, extra...))
}

// strip removes a one-field wrapper (tag and length) from a message.
func strip(b []byte) []byte {
	r := reader{b: b}
	r.tag()
	return r.bytes()
}

func duplicateKey(t *testing.T) []byte {
	return spanWith(t, append(kv("k", []byte{0x0a, 0x01, 'a'}), kv("k", []byte{0x0a, 0x01, 'b'})...))
}

func unsafeData(s string) *byte { return unsafe.StringData(s) }

// decoderWithoutCollisions is a decoder with a fixed seed. Under a random
// seed, two of a test request's strings now and then take one shared slot
// (about 1 decoder in 170 for the gateway requests), and the later copy of
// a key is then a string of its own: a collision costs a copy, by design.
// The tests of the sharing itself need a seed that spreads their strings.
func decoderWithoutCollisions() *Decoder {
	d := NewDecoder()
	d.seed = 1
	return d
}
