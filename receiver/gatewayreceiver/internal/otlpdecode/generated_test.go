package otlpdecode

import (
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"
)

// The fuzz targets mutate bytes, and most of their mutations break a
// length or a tag the decoder then gives up on at once. The requests here
// are built from the OTLP schema instead, field by field, with what pdata
// reads in its own way mixed in: fields repeated, out of order, unknown or
// of the wrong wire type; varints past their field's width or not minimal;
// empty strings and messages; identifiers of every length; packed and
// unpacked lists. About half of them the decoder reads, and each of those
// must be what pdata reads.

// requestGen writes random serialized messages.
type requestGen struct {
	r     *rand.Rand
	depth int
}

// A fieldGen writes one field of a message.
type fieldGen func(g *requestGen) []byte

func (g *requestGen) varint(v uint64) []byte {
	out := binary.AppendUvarint(nil, v)
	switch {
	case len(out) == 10 && g.r.Intn(10) == 0:
		out[9] |= 0x7e // bits past 64, which pdata drops
	case len(out) < 10 && g.r.Intn(20) == 0: // not minimal
		out[len(out)-1] |= 0x80
		out = append(out, 0)
	}
	return out
}

// number is a value for any scalar field, edges of every width first.
func (g *requestGen) number() uint64 {
	edges := []uint64{0, 1, 2, 127, 128, 1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1 << 63, ^uint64(0)}
	if i := g.r.Intn(len(edges) + 2); i < len(edges) {
		return edges[i]
	}
	return g.r.Uint64()
}

func (g *requestGen) tag(f, w uint64) []byte { return g.varint(f<<3 | w) }

func (g *requestGen) lenField(f uint64, b []byte) []byte {
	return append(append(g.tag(f, wireLen), g.varint(uint64(len(b)))...), b...)
}

// msg writes a message of up to maxN fields, mostly distinct ones.
func (g *requestGen) msg(maxN int, fields ...fieldGen) []byte {
	if g.depth > 8 {
		return nil
	}
	g.depth++
	defer func() { g.depth-- }()
	n := g.r.Intn(maxN + 1)
	if n == 0 && g.depth < 6 && g.r.Intn(4) > 0 {
		n = 1
	}
	order := g.r.Perm(len(fields))
	var out []byte
	for i := range n {
		switch k := g.r.Intn(300); {
		case k == 0: // unknown
			out = append(out, append(g.tag(uint64(20+g.r.Intn(5)), wireVarint), g.varint(g.number())...)...)
		case k == 1: // of the wrong wire type, most likely
			out = append(out, append(g.tag(uint64(1+g.r.Intn(12)), wireVarint), g.varint(g.number())...)...)
		case i < len(order) && k%25 != 0:
			out = append(out, fields[order[i]](g)...)
		default: // repeated
			out = append(out, fields[g.r.Intn(len(fields))](g)...)
		}
	}
	return out
}

func varintF(f uint64) fieldGen {
	return func(g *requestGen) []byte { return append(g.tag(f, wireVarint), g.varint(g.number())...) }
}

func fixed64F(f uint64) fieldGen {
	return func(g *requestGen) []byte { return binary.LittleEndian.AppendUint64(g.tag(f, wireI64), g.number()) }
}

func fixed32F(f uint64) fieldGen {
	return func(g *requestGen) []byte {
		return binary.LittleEndian.AppendUint32(g.tag(f, wireI32), uint32(g.number()))
	}
}

func stringF(f uint64) fieldGen {
	strs := []string{"", "a", "b", "k", "service.name", strings.Repeat("s", maxSharedLen),
		strings.Repeat("l", maxSharedLen+1), "\xff\xfe"}
	return func(g *requestGen) []byte { return g.lenField(f, []byte(strs[g.r.Intn(len(strs))])) }
}

func idF(f uint64) fieldGen {
	return func(g *requestGen) []byte {
		b := make([]byte, []int{0, 3, 8, 8, 16, 16}[g.r.Intn(6)])
		g.r.Read(b)
		return g.lenField(f, b)
	}
}

func packedF(f uint64) fieldGen {
	return func(g *requestGen) []byte {
		var b []byte
		for range g.r.Intn(4) {
			b = binary.LittleEndian.AppendUint64(b, g.number())
		}
		if g.r.Intn(30) == 0 {
			b = append(b, 1) // not a multiple of 8
		}
		return g.lenField(f, b)
	}
}

func msgF(f uint64, m func(g *requestGen) []byte) fieldGen {
	return func(g *requestGen) []byte { return g.lenField(f, m(g)) }
}

func (g *requestGen) anyValue() []byte {
	return g.msg(2, stringF(1), varintF(2), varintF(3), fixed64F(4),
		msgF(5, func(g *requestGen) []byte { return g.msg(3, msgF(1, (*requestGen).anyValue)) }),
		msgF(6, func(g *requestGen) []byte { return g.msg(3, msgF(1, (*requestGen).keyValue)) }),
		idF(7))
}

func (g *requestGen) keyValue() []byte {
	return g.msg(3, stringF(1), msgF(2, (*requestGen).anyValue))
}

func attrsF(f uint64) fieldGen { return msgF(f, (*requestGen).keyValue) }

func (g *requestGen) resource() []byte { return g.msg(3, attrsF(1), varintF(2)) }

func (g *requestGen) scope() []byte {
	return g.msg(3, stringF(1), stringF(2), attrsF(3), varintF(4))
}

func (g *requestGen) exemplar() []byte {
	return g.msg(5, attrsF(7), fixed64F(2), fixed64F(3), fixed64F(6), idF(4), idF(5))
}

func (g *requestGen) numberPoint() []byte {
	return g.msg(6, attrsF(7), fixed64F(2), fixed64F(3), fixed64F(4), fixed64F(6),
		msgF(5, (*requestGen).exemplar), varintF(8))
}

func (g *requestGen) histogramPoint() []byte {
	return g.msg(8, attrsF(9), fixed64F(2), fixed64F(3), fixed64F(4), fixed64F(5),
		packedF(6), packedF(7), fixed64F(6), fixed64F(7),
		msgF(8, (*requestGen).exemplar), varintF(10), fixed64F(11), fixed64F(12))
}

func (g *requestGen) metric() []byte {
	gauge := func(g *requestGen) []byte { return g.msg(3, msgF(1, (*requestGen).numberPoint)) }
	sum := func(g *requestGen) []byte {
		return g.msg(4, msgF(1, (*requestGen).numberPoint), varintF(2), varintF(3))
	}
	histogram := func(g *requestGen) []byte {
		return g.msg(4, msgF(1, (*requestGen).histogramPoint), varintF(2))
	}
	return g.msg(5, stringF(1), stringF(2), stringF(3),
		msgF(fieldGauge, gauge), msgF(fieldSum, sum), msgF(fieldHistogram, histogram), attrsF(12))
}

func (g *requestGen) metricsRequest() []byte {
	scopeMetrics := func(g *requestGen) []byte {
		return g.msg(4, msgF(1, (*requestGen).scope), msgF(2, (*requestGen).metric), stringF(3))
	}
	resourceMetrics := func(g *requestGen) []byte {
		return g.msg(3, msgF(1, (*requestGen).resource), msgF(2, scopeMetrics), stringF(3))
	}
	return g.msg(2, msgF(1, resourceMetrics))
}

func (g *requestGen) span() []byte {
	event := func(g *requestGen) []byte { return g.msg(4, fixed64F(1), stringF(2), attrsF(3), varintF(4)) }
	link := func(g *requestGen) []byte {
		return g.msg(5, idF(1), idF(2), stringF(3), attrsF(4), varintF(5), fixed32F(6))
	}
	status := func(g *requestGen) []byte { return g.msg(2, stringF(2), varintF(3)) }
	return g.msg(8, idF(1), idF(2), stringF(3), idF(4), stringF(5), varintF(6), fixed64F(7), fixed64F(8),
		attrsF(9), varintF(10), msgF(11, event), varintF(12), msgF(13, link), varintF(14), msgF(15, status),
		fixed32F(16))
}

func (g *requestGen) tracesRequest() []byte {
	scopeSpans := func(g *requestGen) []byte {
		return g.msg(4, msgF(1, (*requestGen).scope), msgF(2, (*requestGen).span), stringF(3))
	}
	resourceSpans := func(g *requestGen) []byte {
		return g.msg(3, msgF(1, (*requestGen).resource), msgF(2, scopeSpans), stringF(3))
	}
	return g.msg(2, msgF(1, resourceSpans))
}

// generatedRequests is how many requests of each signal a run checks.
func generatedRequests() int {
	if testing.Short() {
		return 2_000
	}
	return 20_000
}

func TestDecodesGeneratedMetricRequestsLikePdata(t *testing.T) {
	g := &requestGen{r: rand.New(rand.NewSource(1))}
	d := NewDecoder()
	decoded, n := 0, generatedRequests()
	var body []byte
	defer func() {
		if t.Failed() {
			t.Logf("request %x", body)
		}
	}()
	for range n {
		body = g.metricsRequest()
		if sameMetricsAsPdata(t, d, body) {
			decoded++
		}
	}
	// Not so odd that it gives up on all of them.
	if decoded < n/4 {
		t.Errorf("decoded %d of %d", decoded, n)
	}
}

func TestDecodesGeneratedTraceRequestsLikePdata(t *testing.T) {
	g := &requestGen{r: rand.New(rand.NewSource(1))}
	d := NewDecoder()
	decoded, n := 0, generatedRequests()
	var body []byte
	defer func() {
		if t.Failed() {
			t.Logf("request %x", body)
		}
	}()
	for range n {
		body = g.tracesRequest()
		if sameAsPdata(t, d, body) {
			decoded++
		}
	}
	if decoded < n/4 {
		t.Errorf("decoded %d of %d", decoded, n)
	}
}
