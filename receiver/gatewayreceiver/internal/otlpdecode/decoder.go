// Package otlpdecode decodes OTLP trace and metric export requests into
// ptrace.Traces and pmetric.Metrics with fewer allocations than pdata's own
// decoders, for the requests a gateway sends, and leaves every other request
// to pdata.
//
// Decoding is most of what receiving costs (half of the collector's CPU under
// load). pdata's decoder copies every attribute key and string value into a
// string of its own and grows each attribute list one append at a time. A
// gateway repeats the same keys, span and metric names and most values
// (stages, routes, methods, hosts) in every request, so this decoder shares
// one copy of each short string it has met recently, sizes every list
// before filling it, and fills an attribute list whose keys it has met
// before from a copy of those keys (no look-up, no duplicate search). A
// data point's attribute list whose bytes it has met before, keys and
// values, as an SDK sends every series again at each interval, is a copy
// of the list it read then (pointruns.go).
//
// The result is the same data pdata would give. Anything the decoder does not
// know exactly as pdata reads it makes it give up (DecodeTraces or
// DecodeMetrics returns false) and the caller decodes with pdata: a field it
// does not know (deprecated or newer than this decoder), a singular field
// given twice (proto merges those), a duplicate attribute key (pdata keeps
// both, a map put would not), an identifier of the wrong length, a malformed
// or truncated field. So nothing is lost or changed; the cost of giving up is
// a second decode of a request that no gateway sends.
package otlpdecode // import "github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/otlpdecode"

import (
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-gateway/otelcol-gateway/internal/sharedvalue"
)

// Protobuf wire types.
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

const (
	// Strings longer than this are copied, never shared: long values (full
	// URLs, messages) rarely repeat.
	maxSharedLen = 64
	// A decoder holds 1<<sharedBits shared strings. A string takes the
	// slot its hash picks, in place of the one there.
	sharedBits  = 12
	sharedSlots = 1 << sharedBits
	// A decoder holds the wrappers of 1<<sharedIntBits integer values, each
	// in the slot its low bits pick: status codes and ports repeat in
	// every request, sizes rarely.
	sharedIntBits = 8
	// Deeper nesting of attribute values is left to pdata.
	maxDepth = 32
	// Longer attribute lists are left to pdata: a map put looks for the
	// key first, so filling one costs the square of its length (a gateway
	// span has about 20).
	maxEntries = 128
	// Room left in a data point's attribute list for the static attributes
	// the layer filter adds to every point it keeps (metrics are never
	// sampled): without it, the first put copies the whole list into a new
	// one. Spans get none: a sampled pipeline exports a fraction of them,
	// and only those get static attributes, so the room would mostly go
	// unused (measured: more bytes per span, not fewer).
	pointSpare = 2
)

// Decoder decodes requests. It is not safe for concurrent use: take one per
// request and give it back after, so that its shared strings serve the next.
type Decoder struct {
	seed   uint64 // so that two strings that collide do so in one decoder only
	shared *[sharedSlots]sharedStr
	ints   *[1 << sharedIntBits]sharedInt
	// Scratch space for a histogram's buckets, copied into each point.
	counts []uint64
	bounds []float64
	// The attribute lists met, by the hash of their keys (attributeRun),
	// the last hash that missed at each place of a record indexed by other
	// bits of the hash, and scratch space for the list being read.
	templates *[1 << templateBits]attrTemplate
	missed    *[1 << missedBits]uint64
	pairs     []pair
	// Data points' attribute lists kept whole (pointruns.go); made at the
	// first data point.
	runs *pointRuns
}

// NewDecoder returns a decoder with no shared strings yet.
func NewDecoder() *Decoder {
	return &Decoder{
		seed:      rand.Uint64(),
		shared:    new([sharedSlots]sharedStr),
		ints:      new([1 << sharedIntBits]sharedInt),
		templates: new([1 << templateBits]attrTemplate),
		missed:    new([1 << missedBits]uint64),
	}
}

// sharedStr is a short string met recently and, once it has been an
// attribute value, that value's wrapper, which later values equal to it
// share instead of allocating their own (internal/sharedvalue).
type sharedStr struct {
	s     string
	value sharedvalue.Str
}

// sharedInt is an integer value met recently and its wrapper.
type sharedInt struct {
	i     int64
	value sharedvalue.Int
}

// setInt makes v the integer i, sharing the wrapper of the last value
// equal to it when that is still in i's slot.
func (d *Decoder) setInt(v pcommon.Value, i int64) {
	slot := &d.ints[uint64(i)&(1<<sharedIntBits-1)]
	if slot.i == i && slot.value.Shares() {
		slot.value.Set(v, i)
		return
	}
	v.SetInt(i)
	*slot = sharedInt{i: i, value: sharedvalue.OfInt(v)}
}

// str returns b as a string, shared with an earlier equal string when short.
func (d *Decoder) str(b []byte) string {
	if slot := d.slot(b); slot != nil {
		return slot.s
	}
	return string(b)
}

// setStr makes v the string b, sharing the string and its wrapper with
// the last value equal to it when short.
func (d *Decoder) setStr(v pcommon.Value, b []byte) {
	slot := d.slot(b)
	switch {
	case slot == nil:
		v.SetStr(string(b))
	case slot.value.Shares():
		slot.value.Set(v, slot.s)
	default:
		v.SetStr(slot.s)
		slot.value = sharedvalue.Of(v)
	}
}

// slot returns the shared string equal to b, which it puts in place of
// the one its hash picks if that one differs; nil when b is empty or long.
//
// Its slot is a hash of b's length and bytes, read a word at a time and
// mixed by multiplications: maphash's call and setup cost more than the rest
// of str did. A collision only costs a copy.
func (d *Decoder) slot(b []byte) *sharedStr {
	n := uint64(len(b))
	var h uint64
	switch {
	case n == 0, n > maxSharedLen:
		return nil
	case n >= 8: // each word, the last overlapping the one before
		h = d.seed ^ n
		for i := uint64(0); i+8 < n; i += 8 {
			h = bits.RotateLeft64(h, 29) ^ binary.LittleEndian.Uint64(b[i:])*0xc2b2ae3d27d4eb4f
		}
		h = (bits.RotateLeft64(h, 29) ^ binary.LittleEndian.Uint64(b[n-8:])*0xc2b2ae3d27d4eb4f) * 0x9e3779b97f4a7c15
	case n >= 4: // two halves, which overlap when n < 8
		x := uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32
		h = (x ^ d.seed ^ n) * 0x9e3779b97f4a7c15
	default:
		x := uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16
		h = (x ^ d.seed ^ n<<24) * 0x9e3779b97f4a7c15
	}
	// One more round before the high bits are taken: the seed enters by a
	// XOR before a single multiplication, and some seeds left strings that
	// differ only in their last word crowding a few slots (732 slots for
	// 1000 URLs, against about 886 for a random pick).
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	slot := &d.shared[h>>(64-sharedBits)]
	if slot.s != string(b) { // no allocation for the comparison
		*slot = sharedStr{s: string(b)}
	}
	return slot
}

// list is a pdata slice of messages, which a repeated message field fills.
type list[T any] interface {
	AppendEmpty() T
	EnsureCapacity(int)
	Len() int
}

// The three levels every signal shares: the request's resources (field 1),
// a resource's scopes, a scope's items (spans, metrics). item decodes one
// message of the level below.

func decodeRequest[R any, L list[R]](buf []byte, resources L, item func([]byte, R) bool) bool {
	resources.EnsureCapacity(countField(buf, 1))
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		if f != 1 || w != wireLen {
			return false
		}
		b := r.bytes()
		if r.bad || !item(b, resources.AppendEmpty()) {
			return false
		}
	}
	return !r.bad
}

// decodeLevel reads a ResourceSpans or ResourceMetrics, a ScopeSpans or
// ScopeMetrics: the resource or scope (1), read by header, the messages of
// the level below (2), schema_url (3). Any other field (among them the
// deprecated instrumentation library, 1000) is left to pdata.
func decodeLevel[I any, L list[I]](d *Decoder, buf []byte, header func([]byte) bool, items L, setSchemaURL func(string), item func([]byte, I) bool) bool {
	var seen fieldSet
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireLen && seen.first(f):
			if b := r.bytes(); r.bad || !header(b) {
				return false
			}
		case f == 2 && w == wireLen:
			b := r.bytes()
			if items.Len() == 0 {
				items.EnsureCapacity(countField(buf, 2))
			}
			if r.bad || !item(b, items.AppendEmpty()) {
				return false
			}
		case f == 3 && w == wireLen && seen.first(f):
			setSchemaURL(d.str(r.bytes()))
		default:
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) resource(buf []byte, res pcommon.Resource) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := res.Attributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireLen:
			if !d.attributeField(&r, attrs, 1, 0) {
				return false
			}
		case f == 2 && w == wireVarint && seen.first(f):
			res.SetDroppedAttributesCount(uint32(r.varint()))
		default: // 3, entity_refs, among others
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) scope(buf []byte, sc pcommon.InstrumentationScope) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := sc.Attributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireLen && seen.first(f):
			sc.SetName(d.str(r.bytes()))
		case f == 2 && w == wireLen && seen.first(f):
			sc.SetVersion(d.str(r.bytes()))
		case f == 3 && w == wireLen:
			if !d.attributeField(&r, attrs, 3, 0) {
				return false
			}
		case f == 4 && w == wireVarint && seen.first(f):
			sc.SetDroppedAttributesCount(uint32(r.varint()))
		default:
			return false
		}
	}
	return !r.bad
}

// keyValue adds one serialized KeyValue to m.
func (d *Decoder) keyValue(buf []byte, m pcommon.Map, depth int) bool {
	key, value, hasValue, ok := splitKeyValue(buf)
	return ok && d.put(m, key, value, hasValue, depth)
}

// put adds key to m, with its serialized value when given.
func (d *Decoder) put(m pcommon.Map, key, value []byte, hasValue bool, depth int) bool {
	n := m.Len()
	v := m.PutEmpty(d.str(key))
	if m.Len() == n {
		return false // a duplicate key: pdata keeps both
	}
	return !hasValue || d.value(value, v, depth)
}

// value sets v from a serialized AnyValue.
func (d *Decoder) value(buf []byte, v pcommon.Value, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	r := reader{b: buf}
	if !r.more() {
		return true // an empty value
	}
	f, w := r.tag()
	switch {
	case f == 1 && w == wireLen:
		d.setStr(v, r.bytes())
	case f == 2 && w == wireVarint:
		v.SetBool(r.varint() != 0)
	case f == 3 && w == wireVarint:
		d.setInt(v, int64(r.varint()))
	case f == 4 && w == wireI64:
		v.SetDouble(math.Float64frombits(r.fixed64()))
	case f == 5 && w == wireLen:
		b := r.bytes()
		if r.bad || !d.array(b, v.SetEmptySlice(), depth+1) {
			return false
		}
	case f == 6 && w == wireLen:
		b := r.bytes()
		if r.bad || !d.kvList(b, v.SetEmptyMap(), depth+1) {
			return false
		}
	case f == 7 && w == wireLen:
		b := r.bytes()
		if !r.bad {
			v.SetEmptyBytes().FromRaw(b) // FromRaw copies
		}
	default: // 8, string_value_strindex, among others
		return false
	}
	// One field only: a oneof given twice is left to pdata.
	return !r.bad && !r.more()
}

func (d *Decoder) array(buf []byte, s pcommon.Slice, depth int) bool {
	s.EnsureCapacity(countField(buf, 1))
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		if f != 1 || w != wireLen {
			return false
		}
		b := r.bytes()
		if r.bad || !d.value(b, s.AppendEmpty(), depth) {
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) kvList(buf []byte, m pcommon.Map, depth int) bool {
	if !sizeMap(m, countField(buf, 1)) {
		return false
	}
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		if f != 1 || w != wireLen {
			return false
		}
		b := r.bytes()
		if r.bad || !d.keyValue(b, m, depth) {
			return false
		}
	}
	return !r.bad
}

// sizeMap makes room for n entries, or tells that n is past maxEntries.
func sizeMap(m pcommon.Map, n int) bool {
	if n > maxEntries {
		return false
	}
	m.EnsureCapacity(n)
	return true
}

// attributeField reads the attribute field whose tag r has just read into
// attrs, and, when it is the first, the attribute fields right after it.
func (d *Decoder) attributeField(r *reader, attrs pcommon.Map, field uint64, spare int) bool {
	kv := r.bytes()
	if r.bad {
		return false
	}
	read, ok := d.attribute(attrs, kv, r.b[r.pos:], field, spare)
	r.pos += read
	return ok
}

// attribute adds the serialized KeyValue kv to attrs, the attributes of a
// message that holds them in field; rest is what follows kv in the message.
// The first one also reads the attribute fields right after it (encoders
// write them together) and returns how many bytes of rest it read; the
// caller goes on after them. Any later ones grow the map one by one.
func (d *Decoder) attribute(attrs pcommon.Map, kv, rest []byte, field uint64, spare int) (int, bool) {
	switch n := attrs.Len(); {
	case n == 0:
		return d.attributeRun(attrs, kv, rest, field, spare)
	case n >= maxEntries:
		return 0, false
	}
	return 0, d.keyValue(kv, attrs, 0)
}

// attributeRun fills the empty attrs from kv and the attribute fields that
// follow it in rest, sized for them plus spare, and returns the bytes of
// rest it read.
//
// A list whose keys, in order, are those of a list met before is a copy of
// that list's template (its keys with empty values) with the values filled
// in: that spares the shared-string look-up of every key and the search for
// the key that a map put makes first, a comparison with every key already
// put. A gateway sends the same few key lists in every request: one per
// kind of span and per metric.
func (d *Decoder) attributeRun(attrs pcommon.Map, kv, rest []byte, field uint64, spare int) (int, bool) {
	pairs := d.pairs[:0]
	// The pairs point into the request: none is kept past this list.
	defer func() { clear(pairs); d.pairs = pairs[:0] }()
	h := uint64(field)
	r := reader{b: rest}
	read := 0
	for {
		key, value, hasValue, ok := splitKeyValue(kv)
		if !ok || len(pairs) == maxEntries {
			return 0, false
		}
		pairs = append(pairs, pair{key: key, value: value, hasValue: hasValue})
		h = keyHash(h, key)
		if !r.more() {
			break
		}
		if f, w := r.tag(); r.bad || f != field || w != wireLen {
			break // not an attribute: the caller reads it (and any fault) again
		}
		kv = r.bytes()
		if r.bad {
			break
		}
		read = r.pos
	}

	if t := d.template(h, pairs); t != nil {
		if spare > 0 {
			attrs.EnsureCapacity(len(pairs) + spare)
		}
		t.CopyTo(attrs)
		i := 0
		for _, v := range attrs.All() {
			if p := &pairs[i]; p.hasValue && !d.value(p.value, v, 0) {
				return 0, false
			}
			i++
		}
		return read, true
	}

	attrs.EnsureCapacity(len(pairs) + spare)
	for i := range pairs {
		if p := &pairs[i]; !d.put(attrs, p.key, p.value, p.hasValue, 0) {
			return 0, false
		}
	}
	d.remember(h, attrs)
	return read, true
}

// splitKeyValue reads a serialized KeyValue: its key and, when given, its
// value. Any other field, or one given twice, is left to pdata.
func splitKeyValue(buf []byte) (key, value []byte, hasValue, ok bool) {
	var seen fieldSet
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireLen && seen.first(f):
			key = r.bytes()
		case f == 2 && w == wireLen && seen.first(f):
			value = r.bytes()
		default: // 3, key_strindex, among others
			return nil, nil, false, false
		}
	}
	return key, value, seen.has(2), !r.bad
}

// An attribute list of fewer keys than this gains nothing from a template.
const minTemplateKeys = 3

// Templates: 1<<templateBits of them, in pairs (a key list may take
// either of its pair's two), so that two lists a gateway sends all the
// time do not keep taking each other's place.
const templateBits = 8

// missedBits sizes the record of the hashes that missed, by other bits of
// the hash than the templates' place.
const missedBits = 10

// attrTemplate is the keys of an attribute list in order, and a map of
// those keys with empty values to copy.
type attrTemplate struct {
	hash uint64
	keys []string
	m    pcommon.Map
}

// pair is one serialized attribute of the list being read.
type pair struct {
	key, value []byte
	hasValue   bool
}

// keyHash mixes a key into the hash of a key list: its length and last
// (or only) word, enough to tell a gateway's lists apart; a collision only
// costs the comparison of the keys.
func keyHash(h uint64, key []byte) uint64 {
	n := uint64(len(key))
	var x uint64
	switch {
	case n >= 8:
		x = binary.LittleEndian.Uint64(key[n-8:])
	case n > 0:
		x = uint64(key[0]) | uint64(key[n-1])<<8 | uint64(key[n/2])<<16
	}
	return (h ^ n ^ x) * 0x9e3779b97f4a7c15
}

// template returns the map of the template whose keys are those of pairs,
// in order, or nil.
func (d *Decoder) template(h uint64, pairs []pair) *pcommon.Map {
	if len(pairs) < minTemplateKeys {
		return nil
	}
	i := h >> (64 - templateBits)
	for _, t := range [2]*attrTemplate{&d.templates[i], &d.templates[i^1]} {
		if t.hash != h || len(t.keys) != len(pairs) {
			continue
		}
		same := true
		for j, k := range t.keys {
			if string(pairs[j].key) != k {
				same = false
				break
			}
		}
		if same {
			return &t.m
		}
	}
	return nil
}

// remember makes a template of attrs, a list read without one, every
// second time its hash misses: a list met once is not worth the copy of its
// keys, and lists that keep taking each other's place cost a copy every
// other time only.
func (d *Decoder) remember(h uint64, attrs pcommon.Map) {
	if attrs.Len() < minTemplateKeys {
		return
	}
	missed := &d.missed[h&(1<<missedBits-1)]
	if *missed != h {
		*missed = h
		return
	}
	*missed = 0
	i := h >> (64 - templateBits)
	t := attrTemplate{hash: h, keys: make([]string, 0, attrs.Len()), m: pcommon.NewMap()}
	t.m.EnsureCapacity(attrs.Len())
	for k := range attrs.All() {
		t.keys = append(t.keys, k)
		t.m.PutEmpty(k)
	}
	// The newest takes the first place, the one there the second.
	d.templates[i^1] = d.templates[i]
	d.templates[i] = t
}

// traceID and spanID read an identifier: its size, or empty (pdata's zero
// ID); any other length is left to pdata, which refuses it.
func traceID(b []byte) (pcommon.TraceID, bool) {
	switch len(b) {
	case 16:
		return pcommon.TraceID(b), true
	case 0:
		return pcommon.TraceID{}, true
	}
	return pcommon.TraceID{}, false
}

func spanID(b []byte) (pcommon.SpanID, bool) {
	switch len(b) {
	case 8:
		return pcommon.SpanID(b), true
	case 0:
		return pcommon.SpanID{}, true
	}
	return pcommon.SpanID{}, false
}

// fieldSet records which singular fields (numbers below 64) a message gave.
type fieldSet uint64

// first records f and tells whether it was not given before.
func (s *fieldSet) first(f uint64) bool {
	bit := fieldSet(1) << f
	if *s&bit != 0 {
		return false
	}
	*s |= bit
	return true
}

func (s fieldSet) has(f uint64) bool { return s&(fieldSet(1)<<f) != 0 }

// countField counts the occurrences of a field in a message, to size the
// list it fills; a malformed message counts what precedes the fault (the
// decoder then gives up anyway).
func countField(buf []byte, field uint64) int {
	n := 0
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		if f == field {
			n++
		}
		r.skip(w)
	}
	return n
}

// reader walks the fields of one message. Any fault sets bad and makes
// every later read return zero values.
type reader struct {
	b   []byte
	pos int
	bad bool
}

func (r *reader) more() bool { return !r.bad && r.pos < len(r.b) }

func (r *reader) varint() uint64 {
	if r.pos < len(r.b) {
		if c := r.b[r.pos]; c < 0x80 { // most of them: one byte
			r.pos++
			return uint64(c)
		}
	}
	return r.longVarint()
}

// longVarint reads a varint of any length. It is kept out of line, where
// the one-byte paths that call it are hot.
//
//go:noinline
func (r *reader) longVarint() uint64 {
	var x uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if r.pos >= len(r.b) {
			r.bad = true
			return 0
		}
		c := r.b[r.pos]
		r.pos++
		if c < 0x80 {
			if shift == 63 && c > 1 {
				break // more than 64 bits
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
	}
	r.bad = true
	return 0
}

// tag reads a field's number and wire type; number 0 is not a field.
// tag and bytes read a one-byte varint themselves: varint does not inline,
// and an inlined helper returning the value and whether it was one byte
// measured 2-3 % slower per request than these few repeated lines.
func (r *reader) tag() (field, wire uint64) {
	var k uint64
	if p := r.pos; p < len(r.b) && r.b[p] < 0x80 {
		k = uint64(r.b[p])
		r.pos = p + 1
	} else {
		k = r.longVarint()
	}
	if k < 8 || k > math.MaxUint32 {
		r.bad = true
	}
	return k >> 3, k & 7
}

func (r *reader) bytes() []byte {
	var n uint64
	if p := r.pos; p < len(r.b) && r.b[p] < 0x80 {
		n = uint64(r.b[p])
		r.pos = p + 1
	} else {
		n = r.longVarint()
	}
	if r.bad || n > uint64(len(r.b)-r.pos) {
		r.bad = true
		return nil
	}
	b := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b
}

func (r *reader) fixed64() uint64 {
	if len(r.b)-r.pos < 8 {
		r.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.pos:])
	r.pos += 8
	return v
}

func (r *reader) fixed32() uint32 {
	if len(r.b)-r.pos < 4 {
		r.bad = true
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.pos:])
	r.pos += 4
	return v
}

// skip passes over a field of wire type w.
func (r *reader) skip(w uint64) {
	switch w {
	case wireVarint:
		r.varint()
	case wireI64:
		r.fixed64()
	case wireLen:
		r.bytes()
	case wireI32:
		r.fixed32()
	default: // groups, which OTLP never uses
		r.bad = true
	}
}
