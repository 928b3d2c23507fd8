package otlpdecode

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An attribute list whose keys a decoder has met twice is read from a
// template of those keys (attributeRun): the result must stay exactly what
// pdata gives, and the template must serve only a list of the same keys in
// the same order.

func str(s string) []byte { return append([]byte{0x0a}, protoLen([]byte(s))...) }

// spanAttrs is a span's attribute fields, one per key, each value the key
// with suffix appended.
func spanAttrs(suffix string, keys ...string) []byte {
	var out []byte
	for _, k := range keys {
		out = append(out, kv(k, str(k+suffix))...)
	}
	return out
}

// templateFor returns the decoder's template of exactly these keys, or nil.
func templateFor(d *Decoder, keys ...string) *attrTemplate {
	for i := range d.templates {
		if t := &d.templates[i]; len(t.keys) == len(keys) && assert.ObjectsAreEqual(t.keys, keys) {
			return t
		}
	}
	return nil
}

func TestTemplateServesRepeatedListsLikePdata(t *testing.T) {
	d := NewDecoder()
	body := gatewayRequest(t, 30)
	for i := range 4 {
		require.True(t, sameAsPdata(t, d, body), "decode %d", i)
	}
	// The gateway's backend spans made one; the first of them has its keys.
	td, ok := d.DecodeTraces(body)
	require.True(t, ok)
	var keys []string
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len() && keys == nil; i++ {
		if attrs := spans.At(i).Attributes(); attrs.Len() >= minTemplateKeys {
			for k := range attrs.All() {
				keys = append(keys, k)
			}
		}
	}
	require.NotNil(t, keys)
	assert.NotNil(t, templateFor(d, keys...), "no template for %v", keys)
}

func TestTemplateValuesAreEachSpansOwn(t *testing.T) {
	keys := []string{"krakend.stage", "http.route", "http.request.method", "server.address"}
	d := NewDecoder()
	for i, suffix := range []string{"-a", "-b", "-c", "-d", "-e"} {
		body := spanWith(t, spanAttrs(suffix, keys...))
		require.True(t, sameAsPdata(t, d, body), "decode %d", i)
		td, ok := d.DecodeTraces(body)
		require.True(t, ok)
		v, _ := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("http.route")
		assert.Equal(t, "http.route"+suffix, v.Str())
	}
	assert.NotNil(t, templateFor(d, keys...))
}

func TestTemplateNeedsTheSameKeysInTheSameOrder(t *testing.T) {
	// a and b hash alike: same lengths, same last eight bytes, in order.
	a := []string{"aaaa.route.pattern", "x.http.method", "3k.status"}
	b := []string{"bbbb.route.pattern", "y.http.method", "4k.status"}
	hash := func(keys []string) uint64 {
		h := uint64(9)
		for _, k := range keys {
			h = keyHash(h, []byte(k))
		}
		return h
	}
	require.Equal(t, hash(a), hash(b), "the test needs colliding lists")
	reordered := []string{a[1], a[0], a[2]}
	longer := append(append([]string{}, a...), "extra.key")

	d := NewDecoder()
	for round := range 3 {
		for _, keys := range [][]string{a, b, reordered, longer, a[:2]} {
			body := spanWith(t, spanAttrs("-v", keys...))
			require.True(t, sameAsPdata(t, d, body), "round %d, keys %v", round, keys)
		}
	}
}

func TestTemplateRunEndsAtTheFirstOtherField(t *testing.T) {
	keys := []string{"k.one", "k.two", "k.three"}
	name := field(0x2a, []byte("span-name")) // Span.name, between attributes
	later := kv("k.four", str("v4"))
	again := kv("k.two", str("again")) // a duplicate of the first run's key
	d := NewDecoder()
	for i := range 4 {
		body := spanWith(t, bytes.Join([][]byte{spanAttrs("-v", keys...), name, later}, nil))
		require.True(t, sameAsPdata(t, d, body), "decode %d", i)
		td, ok := d.DecodeTraces(body)
		require.True(t, ok)
		s := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		assert.Equal(t, "span-name", s.Name())
		assert.Equal(t, 4, s.Attributes().Len())

		// pdata keeps both values of a key given twice, so the decoder
		// gives up, template or not.
		dup := spanWith(t, bytes.Join([][]byte{spanAttrs("-v", keys...), name, again}, nil))
		_, ok = d.DecodeTraces(dup)
		assert.False(t, ok, "decode %d of a duplicate key", i)
	}
	require.NotNil(t, templateFor(d, keys...))
}

func TestTemplateRunStopsAtAFault(t *testing.T) {
	keys := []string{"k.one", "k.two", "k.three"}
	d := NewDecoder()
	good := spanWith(t, spanAttrs("-v", keys...))
	for range 3 {
		require.True(t, sameAsPdata(t, d, good))
	}
	// The run's last field claims more bytes than the span has.
	attrs := spanAttrs("-v", keys...)
	truncated := append(attrs[:len(attrs):len(attrs)], 0x4a, 0x7f, 0x0a)
	_, ok := d.DecodeTraces(spanWith(t, truncated))
	assert.False(t, ok)
	// and a bad tag (field 0) right after the run
	_, ok = d.DecodeTraces(spanWith(t, append(attrs[:len(attrs):len(attrs)], 0x02, 0x00)))
	assert.False(t, ok)
}

func TestTemplateIsMadeOnTheSecondMiss(t *testing.T) {
	keys := []string{"k.one", "k.two", "k.three"}
	body := spanWith(t, spanAttrs("-v", keys...))
	d := NewDecoder()
	_, ok := d.DecodeTraces(body)
	require.True(t, ok)
	assert.Nil(t, templateFor(d, keys...), "a list met once")
	_, ok = d.DecodeTraces(body)
	require.True(t, ok)
	assert.NotNil(t, templateFor(d, keys...), "a list met twice")

	// Fewer keys than minTemplateKeys never make one.
	short := spanWith(t, spanAttrs("-v", keys[:minTemplateKeys-1]...))
	for range 3 {
		_, ok = d.DecodeTraces(short)
		require.True(t, ok)
	}
	assert.Nil(t, templateFor(d, keys[:minTemplateKeys-1]...))
}

// Two lists that keep taking the same place in turn both keep templates:
// each takes the pair's other place.
func TestTemplatesShareAPair(t *testing.T) {
	a := []string{"aaaa.route.pattern", "x.http.method", "3k.status"}
	b := []string{"bbbb.route.pattern", "y.http.method", "4k.status"}
	d := NewDecoder()
	for range 3 {
		for _, keys := range [][]string{a, b} {
			_, ok := d.DecodeTraces(spanWith(t, spanAttrs("-v", keys...)))
			require.True(t, ok)
		}
	}
	assert.NotNil(t, templateFor(d, a...))
	assert.NotNil(t, templateFor(d, b...))
}
