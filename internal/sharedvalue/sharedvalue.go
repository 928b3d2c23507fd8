// Package sharedvalue lets many pdata attribute values hold one string (or
// integer) without an allocation each.
//
// pdata (v1.58.0) keeps a string attribute value in a 16-byte wrapper of
// its own (AnyValue_StringValue), and likewise an integer, a float and a
// boolean: every Map.PutStr, Value.SetStr, SetInt and CopyTo allocates
// one. pdata never writes into a wrapper that holds such a value: setting a
// value replaces the wrapper. The one exception is the alpha feature gate
// pdata.useProtoPooling, which returns wrappers to a pool when their value
// is removed and writes new values into them. So, with that gate off, any
// number of values holding the same string can point to one wrapper, as if
// each had been set with SetStr: what pdata reads, copies and marshals is
// the same.
//
// pdata has no public way to do this, so this package writes the value's
// one field itself (and, for CopyMap, a map's list). It checks, once, that
// pdata's types have the shape it writes to (found by reflection, then
// tried on a value), and at every write that the pooling gate is off;
// otherwise every write is pdata's own SetStr, SetInt or CopyTo. Feature
// gates are set when the collector starts, before any data flows. A test
// fails when the shape check fails for the pdata in go.mod.
//
// A ListSlab, likewise, cuts the lists of maps that grow from larger
// arrays: pdata's EnsureCapacity allocates one list per map.
package sharedvalue // import "github.com/otelcol-gateway/otelcol-gateway/internal/sharedvalue"

import (
	"reflect"
	"unsafe"

	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// poolingGateID is pdata's feature gate that recycles value wrappers.
const poolingGateID = "pdata.useProtoPooling"

// valueLayout mirrors pcommon.Value: a pointer to pdata's AnyValue (a
// struct of one field, an interface holding the wrapper) and its state.
type valueLayout struct {
	orig  *any
	state unsafe.Pointer
}

// mapLayout mirrors pcommon.Map: a pointer to pdata's []KeyValue and its
// state.
type mapLayout struct {
	orig  *[]keyValue
	state unsafe.Pointer
}

// keyValue mirrors pdata's KeyValue.
type keyValue struct {
	value       any // pdata's AnyValue
	key         string
	keyStrindex int32
}

var (
	// layoutOK says that pcommon.Value and pdata's AnyValue have the shape
	// valueLayout assumes, and that writing through it gives the value.
	layoutOK = checkLayout()
	// mapLayoutOK says the same of pcommon.Map and pdata's KeyValue.
	mapLayoutOK = layoutOK && checkMapLayout()
	// poolingGate is nil when pdata has no such gate: then sharing is off,
	// since what pdata does with its wrappers is unknown.
	poolingGate = findGate(poolingGateID)
)

// Usable reports whether values share wrappers now; when it is false, Set,
// Put and CopyMap are pdata's SetStr (SetInt), PutStr and CopyTo.
func Usable() bool {
	return layoutOK && poolingGate != nil && !poolingGate.IsEnabled()
}

// A Str is the wrapper that holds one string value, taken from a value so
// that other values can share it. The zero Str shares nothing.
type Str struct{ wrapper any }

// New returns a Str holding s.
func New(s string) Str {
	return Of(pcommon.NewValueStr(s))
}

// Of returns the wrapper of v when v holds a string and values can share
// wrappers, or the zero Str.
func Of(v pcommon.Value) Str {
	if !Usable() || v.Type() != pcommon.ValueTypeStr {
		return Str{}
	}
	return Str{wrapper: *(*valueLayout)(unsafe.Pointer(&v)).orig}
}

// Shares reports whether sv holds a wrapper to share.
func (sv Str) Shares() bool { return sv.wrapper != nil }

// Set makes v the string s, which must be the string sv holds: with the
// wrapper sv holds when values can share them, with pdata's SetStr
// otherwise. Like SetStr it replaces whatever v held. The caller owns v:
// unlike SetStr, Set does not check that v is writable.
func (sv Str) Set(v pcommon.Value, s string) {
	if sv.wrapper == nil || !Usable() {
		v.SetStr(s)
		return
	}
	*(*valueLayout)(unsafe.Pointer(&v)).orig = sv.wrapper
}

// Put is Map.PutStr(key, s) with sv's wrapper, under Set's conditions.
func (sv Str) Put(m pcommon.Map, key, s string) {
	if v, ok := m.Get(key); ok {
		sv.Set(v, s)
		return
	}
	sv.Set(m.PutEmpty(key), s)
}

// An Int is the wrapper that holds one integer value, as Str is for a
// string: pdata never writes into those either.
type Int struct{ wrapper any }

// OfInt returns the wrapper of v when v holds an integer and values can
// share wrappers, or the zero Int.
func OfInt(v pcommon.Value) Int {
	if !Usable() || v.Type() != pcommon.ValueTypeInt {
		return Int{}
	}
	return Int{wrapper: *(*valueLayout)(unsafe.Pointer(&v)).orig}
}

// Shares reports whether iv holds a wrapper to share.
func (iv Int) Shares() bool { return iv.wrapper != nil }

// Set makes v the integer i, which must be the integer iv holds, as
// Str.Set does for strings.
func (iv Int) Set(v pcommon.Value, i int64) {
	if iv.wrapper == nil || !Usable() {
		v.SetInt(i)
		return
	}
	*(*valueLayout)(unsafe.Pointer(&v)).orig = iv.wrapper
}

// CopyMap makes dst a copy of src, as src.CopyTo(dst) does, but with its
// string, integer, float and boolean values sharing src's wrappers (which
// pdata never writes into either) under Set's conditions: one allocation
// at most, for the list, where CopyTo makes one per value. A map holding
// any other value (slices, maps and bytes can be changed in place) is
// copied by CopyTo. Like Set, it does not check that dst is writable.
func CopyMap(src, dst pcommon.Map) {
	if !mapLayoutOK || !Usable() || !scalarsOnly(src) {
		src.CopyTo(dst)
		return
	}
	from := (*mapLayout)(unsafe.Pointer(&src)).orig
	to := (*mapLayout)(unsafe.Pointer(&dst)).orig
	if from == to {
		return
	}
	old := len(*to)
	*to = append((*to)[:0], *from...)
	if old > len(*to) { // let go of what the entries beyond held
		clear((*to)[len(*to):old])
	}
}

// A ListSlab gives maps that must grow their new lists from arrays of
// slabEntries entries it allocates as they fill, so that growing many maps
// (the kept spans of a batch, each getting its static attributes) costs
// one allocation per array instead of one per map. Each list is capped at
// the capacity asked for: a map that grows past it again gets a list of
// its own from pdata, and never writes into its neighbour's. An array
// lives as long as any list cut from it, so a slab serves data that lives
// about as long (the spans of the batches one processor handles). The zero
// ListSlab is ready; a nil one is pdata's EnsureCapacity. Not safe for
// concurrent use.
type ListSlab struct{ free []keyValue }

// slabEntries is the size of a slab's arrays: 10 KB, the lists of about
// ten gateway spans. Larger, an array outlives more of its lists.
const slabEntries = 256

// EnsureCapacity is m.EnsureCapacity(capacity), with the new list, when
// one is needed, cut from the slab's array.
func (s *ListSlab) EnsureCapacity(m pcommon.Map, capacity int) {
	if s == nil || !mapLayoutOK || capacity > slabEntries {
		m.EnsureCapacity(capacity)
		return
	}
	m.EnsureCapacity(0) // pdata's check that m may be changed; allocates nothing
	orig := (*mapLayout)(unsafe.Pointer(&m)).orig
	if capacity <= cap(*orig) {
		return
	}
	if len(s.free) < capacity {
		s.free = make([]keyValue, slabEntries)
	}
	list := s.free[:len(*orig):capacity]
	copy(list, *orig)
	s.free = s.free[capacity:]
	*orig = list
}

func scalarsOnly(m pcommon.Map) bool {
	for _, v := range m.All() {
		switch v.Type() {
		case pcommon.ValueTypeStr, pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool, pcommon.ValueTypeEmpty:
		default:
			return false
		}
	}
	return true
}

// checkLayout reports whether pcommon.Value is two pointers, the first to
// a struct whose only field is an empty interface, and whether a string
// value's interface copied into another value makes it that string.
func checkLayout() bool {
	t := reflect.TypeFor[pcommon.Value]()
	if t.Kind() != reflect.Struct || t.NumField() != 2 || t.Size() != unsafe.Sizeof(valueLayout{}) {
		return false
	}
	orig, state := t.Field(0), t.Field(1)
	if orig.Offset != 0 || orig.Type.Kind() != reflect.Pointer || state.Type.Kind() != reflect.Pointer {
		return false
	}
	anyValue := orig.Type.Elem()
	if anyValue.Kind() != reflect.Struct || anyValue.NumField() != 1 {
		return false
	}
	if f := anyValue.Field(0); f.Offset != 0 || f.Type != reflect.TypeFor[any]() {
		return false
	}
	probe := pcommon.NewValueStr("sharedvalue probe")
	w := *(*valueLayout)(unsafe.Pointer(&probe)).orig
	wt := reflect.TypeOf(w)
	if wt == nil || wt.Kind() != reflect.Pointer || wt.Elem().Kind() != reflect.Struct ||
		wt.Elem().NumField() != 1 || wt.Elem().Field(0).Type.Kind() != reflect.String {
		return false
	}
	dst := pcommon.NewValueInt(1)
	*(*valueLayout)(unsafe.Pointer(&dst)).orig = w
	return dst.Type() == pcommon.ValueTypeStr && dst.Str() == "sharedvalue probe"
}

// checkMapLayout reports whether pcommon.Map is two pointers, the first to
// a slice of structs shaped as keyValue whose value is pdata's AnyValue,
// and whether a map copied through them reads as its source.
func checkMapLayout() bool {
	t := reflect.TypeFor[pcommon.Map]()
	if t.Kind() != reflect.Struct || t.NumField() != 2 || t.Size() != unsafe.Sizeof(mapLayout{}) {
		return false
	}
	orig, state := t.Field(0), t.Field(1)
	if orig.Offset != 0 || orig.Type.Kind() != reflect.Pointer || state.Type.Kind() != reflect.Pointer ||
		orig.Type.Elem().Kind() != reflect.Slice {
		return false
	}
	kv := orig.Type.Elem().Elem()
	var mirror keyValue
	if kv.Kind() != reflect.Struct || kv.NumField() != 3 || kv.Size() != unsafe.Sizeof(mirror) {
		return false
	}
	anyValue := reflect.TypeFor[pcommon.Value]().Field(0).Type.Elem()
	for i, want := range []struct {
		name   string
		typ    reflect.Type
		offset uintptr
	}{
		{"Value", anyValue, unsafe.Offsetof(mirror.value)},
		{"Key", reflect.TypeFor[string](), unsafe.Offsetof(mirror.key)},
		{"KeyStrindex", reflect.TypeFor[int32](), unsafe.Offsetof(mirror.keyStrindex)},
	} {
		if f := kv.Field(i); f.Name != want.name || f.Type != want.typ || f.Offset != want.offset {
			return false
		}
	}
	src, dst := pcommon.NewMap(), pcommon.NewMap()
	src.PutStr("s", "probe")
	src.PutInt("i", 7)
	dst.PutBool("old", true)
	from := (*mapLayout)(unsafe.Pointer(&src)).orig
	to := (*mapLayout)(unsafe.Pointer(&dst)).orig
	*to = append((*to)[:0], *from...)
	s, _ := dst.Get("s")
	i, _ := dst.Get("i")
	return dst.Len() == 2 && s.Str() == "probe" && i.Int() == 7
}

func findGate(id string) *featuregate.Gate {
	var found *featuregate.Gate
	featuregate.GlobalRegistry().VisitAll(func(g *featuregate.Gate) {
		if g.ID() == id {
			found = g
		}
	})
	return found
}
