package sharedvalue

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/featuregate"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// wrapperOf reads v's wrapper whatever the gate says, to tell shared
// wrappers from fresh ones.
func wrapperOf(v pcommon.Value) any { return *(*valueLayout)(unsafe.Pointer(&v)).orig }

func TestThePdataInGoModHasTheShapeThisPackageWritesTo(t *testing.T) {
	// When a pdata upgrade changes its value types, this fails rather than
	// every string value quietly costing an allocation again.
	require.True(t, layoutOK, "pcommon.Value or pdata's AnyValue changed shape")
	require.NotNil(t, poolingGate, "pdata no longer registers %s", poolingGateID)
	assert.True(t, Usable())
}

func TestValuesSetFromOneStrShareItsWrapperAndReadAsSetStrWould(t *testing.T) {
	sv := New("eu-west-1")
	require.True(t, sv.Shares())

	shared, own := ptrace.NewTraces(), ptrace.NewTraces()
	for range 3 {
		a := shared.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
		a.PutInt("region", 7) // replaced, as PutStr would
		sv.Put(a, "region", "eu-west-1")
		sv.Put(a, "zone", "eu-west-1")
		b := own.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
		b.PutInt("region", 7)
		b.PutStr("region", "eu-west-1")
		b.PutStr("zone", "eu-west-1")
	}
	spans := func(td ptrace.Traces, i int) pcommon.Map {
		return td.ResourceSpans().At(i).ScopeSpans().At(0).Spans().At(0).Attributes()
	}
	first, _ := spans(shared, 0).Get("region")
	second, _ := spans(shared, 2).Get("zone")
	assert.Same(t, wrapperOf(first), wrapperOf(second), "not shared")
	assert.Equal(t, own, shared)

	m := ptrace.ProtoMarshaler{}
	want, err := m.MarshalTraces(own)
	require.NoError(t, err)
	got, err := m.MarshalTraces(shared)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

func TestChangingOneSharingValueLeavesTheOthers(t *testing.T) {
	sv := New("GET")
	a, b := pcommon.NewMap(), pcommon.NewMap()
	sv.Put(a, "method", "GET")
	sv.Put(b, "method", "GET")

	v, _ := a.Get("method")
	v.SetStr("POST")
	a.PutInt("method", 3)
	a.Remove("method")

	w, _ := b.Get("method")
	assert.Equal(t, "GET", w.Str())
	c := pcommon.NewMap()
	sv.Put(c, "method", "GET")
	w, _ = c.Get("method")
	assert.Equal(t, "GET", w.Str())
}

func TestSettingASharedStrDoesNotAllocate(t *testing.T) {
	sv := New("krakend")
	m := pcommon.NewMap()
	m.PutStr("service", "x")
	v, _ := m.Get("service")
	assert.Zero(t, testing.AllocsPerRun(100, func() { sv.Set(v, "krakend") }))
	assert.Equal(t, "krakend", v.Str())
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { v.SetStr("krakend") }), "pdata's own SetStr, for contrast")
}

func TestWithPdataPoolingOnValuesGetWrappersOfTheirOwn(t *testing.T) {
	sv := New("backend.local")
	require.True(t, sv.Shares())
	require.NoError(t, featuregate.GlobalRegistry().Set(poolingGateID, true))
	t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(poolingGateID, false)) })

	assert.False(t, Usable())
	assert.False(t, New("x").Shares())
	m := pcommon.NewMap()
	sv.Put(m, "host", "backend.local")
	v, _ := m.Get("host")
	assert.Equal(t, "backend.local", v.Str())
	// A pooled pdata recycles the wrapper of a removed value: a shared one
	// would then change under every value holding it.
	assert.NotSame(t, sv.wrapper, wrapperOf(v))
}

func TestWithAnUnknownShapeValuesGetWrappersOfTheirOwn(t *testing.T) {
	sv := New("v")
	layoutOK = false
	t.Cleanup(func() { layoutOK = true })

	assert.False(t, Of(pcommon.NewValueStr("v")).Shares())
	v := pcommon.NewValueEmpty()
	sv.Set(v, "v")
	assert.Equal(t, "v", v.Str())
	assert.NotSame(t, sv.wrapper, wrapperOf(v))
}

func TestOfANonStringValueSharesNothing(t *testing.T) {
	assert.False(t, Of(pcommon.NewValueInt(1)).Shares())
	assert.False(t, Of(pcommon.NewValueEmpty()).Shares())
	var zero Str
	v := pcommon.NewValueBool(true)
	zero.Set(v, "s")
	assert.Equal(t, "s", v.Str())
}

func TestCopyMapSharesScalarWrappersAndReadsAsCopyTo(t *testing.T) {
	require.True(t, mapLayoutOK, "pcommon.Map or pdata's KeyValue changed shape")
	src := pcommon.NewMap()
	src.PutStr("http.route", "/users/:id")
	src.PutInt("http.response.status_code", 200)
	src.PutDouble("ratio", 0.5)
	src.PutBool("error", false)
	src.PutEmpty("nothing")

	dst := pcommon.NewMap()
	dst.PutStr("a", "1")
	dst.PutStr("b", "2")
	dst.PutStr("c", "3")
	dst.PutStr("d", "4")
	dst.PutStr("e", "5")
	dst.PutStr("f", "6") // one more than src: cleared, not kept
	CopyMap(src, dst)

	want := pcommon.NewMap()
	src.CopyTo(want)
	assert.Equal(t, want.AsRaw(), dst.AsRaw())
	assert.Equal(t, 5, dst.Len())
	to := (*mapLayout)(unsafe.Pointer(&dst)).orig
	assert.Zero(t, (*to)[:6][5], "the entry beyond the copy still holds its value")
	for k, v := range src.All() {
		got, _ := dst.Get(k)
		if v.Type() != pcommon.ValueTypeEmpty {
			assert.Same(t, wrapperOf(v), wrapperOf(got), k)
		}
	}

	// The copy's list is its own: changing it leaves src as it was.
	dst.PutStr("http.route", "/other")
	dst.PutStr("added", "x")
	r, _ := src.Get("http.route")
	assert.Equal(t, "/users/:id", r.Str())
	assert.Equal(t, 5, src.Len())
}

func TestCopyMapIntoRoomAllocatesNothing(t *testing.T) {
	src := pcommon.NewMap()
	src.PutStr("k1", "v1")
	src.PutStr("k2", "v2")
	src.PutInt("k3", 3)
	dst := pcommon.NewMap()
	dst.EnsureCapacity(8)
	assert.Zero(t, testing.AllocsPerRun(100, func() { CopyMap(src, dst) }))
	assert.Equal(t, 3.0, testing.AllocsPerRun(100, func() { src.CopyTo(dst) }), "pdata's own CopyTo: one per value")
}

func TestCopyMapGivesSlicesMapsAndBytesCopiesOfTheirOwn(t *testing.T) {
	for name, put := range map[string]func(pcommon.Map){
		"slice": func(m pcommon.Map) { m.PutEmptySlice("x").AppendEmpty().SetStr("a") },
		"map":   func(m pcommon.Map) { m.PutEmptyMap("x").PutStr("a", "a") },
		"bytes": func(m pcommon.Map) { m.PutEmptyBytes("x").FromRaw([]byte("a")) },
	} {
		t.Run(name, func(t *testing.T) {
			src := pcommon.NewMap()
			src.PutStr("s", "v")
			put(src)
			dst := pcommon.NewMap()
			CopyMap(src, dst)
			assert.Equal(t, src.AsRaw(), dst.AsRaw())
			x, _ := src.Get("x")
			y, _ := dst.Get("x")
			assert.NotSame(t, wrapperOf(x), wrapperOf(y))
		})
	}
}

func TestCopyMapOntoItselfChangesNothing(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("k", "v")
	CopyMap(m, m)
	assert.Equal(t, map[string]any{"k": "v"}, m.AsRaw())
}

func TestCopyMapWithPdataPoolingOnCopiesEveryValue(t *testing.T) {
	require.NoError(t, featuregate.GlobalRegistry().Set(poolingGateID, true))
	t.Cleanup(func() { require.NoError(t, featuregate.GlobalRegistry().Set(poolingGateID, false)) })
	src := pcommon.NewMap()
	src.PutStr("k", "v")
	dst := pcommon.NewMap()
	CopyMap(src, dst)
	a, _ := src.Get("k")
	b, _ := dst.Get("k")
	assert.Equal(t, "v", b.Str())
	assert.NotSame(t, wrapperOf(a), wrapperOf(b))
}

func TestValuesSetFromOneIntShareItsWrapper(t *testing.T) {
	src := pcommon.NewValueInt(200)
	iv := OfInt(src)
	require.True(t, iv.Shares())
	assert.False(t, OfInt(pcommon.NewValueStr("200")).Shares())

	m := pcommon.NewMap()
	m.PutStr("http.response.status_code", "x")
	v, _ := m.Get("http.response.status_code")
	assert.Zero(t, testing.AllocsPerRun(100, func() { iv.Set(v, 200) }))
	assert.Equal(t, int64(200), v.Int())
	assert.Same(t, wrapperOf(src), wrapperOf(v))

	v.SetInt(500) // a value of its own again; the shared one is unchanged
	assert.Equal(t, int64(200), src.Int())

	var zero Int
	zero.Set(v, 7)
	assert.Equal(t, int64(7), v.Int())
	assert.NotSame(t, wrapperOf(src), wrapperOf(v))
}

func mapWith(n int) pcommon.Map {
	m := pcommon.NewMap()
	m.EnsureCapacity(n)
	for i := range n {
		m.PutInt(string(rune('a'+i)), int64(i))
	}
	return m
}

func TestListSlabGrowsMapsAsEnsureCapacityDoes(t *testing.T) {
	var slab ListSlab
	grown, want := mapWith(5), mapWith(5)
	slab.EnsureCapacity(grown, 8)
	want.EnsureCapacity(8)
	assert.Equal(t, want.AsRaw(), grown.AsRaw())
	list := (*mapLayout)(unsafe.Pointer(&grown)).orig
	assert.Equal(t, 5, len(*list))
	assert.Equal(t, 8, cap(*list), "capped at the capacity asked for")

	grown.PutStr("x", "y")
	want.PutStr("x", "y")
	assert.Equal(t, want.AsRaw(), grown.AsRaw())
}

// growAll counts the allocations of growing, with grow, five fresh maps of
// 20 entries to 23 (AllocsPerRun runs once more first), after start.
func growAll(t *testing.T, start func(), grow func(m pcommon.Map)) (float64, []pcommon.Map) {
	sets := make([][]pcommon.Map, 2)
	for i := range sets {
		for range 5 {
			sets[i] = append(sets[i], mapWith(20))
		}
	}
	next := 0
	allocs := testing.AllocsPerRun(1, func() {
		start()
		for _, m := range sets[next] {
			grow(m)
		}
		next++
	})
	require.Equal(t, 2, next)
	return allocs, sets[1]
}

func TestListSlabCutsManyListsFromOneArray(t *testing.T) {
	var slab ListSlab
	// 5 × 23 entries: from one array of slabEntries
	allocs, maps := growAll(t, func() { slab = ListSlab{} }, func(m pcommon.Map) { slab.EnsureCapacity(m, 23) })
	assert.Equal(t, float64(1), allocs)
	for _, m := range maps {
		assert.Equal(t, 20, m.Len())
		assert.Equal(t, 23, cap(*(*mapLayout)(unsafe.Pointer(&m)).orig))
		v, ok := m.Get("t")
		require.True(t, ok)
		assert.Equal(t, int64(19), v.Int())
	}
	// With pdata's EnsureCapacity, one allocation per map.
	allocs, _ = growAll(t, func() {}, func(m pcommon.Map) { m.EnsureCapacity(23) })
	assert.Equal(t, float64(5), allocs)
}

func TestAMapFromTheSlabGrowingPastItsCapacityLeavesItsNeighbourAlone(t *testing.T) {
	var slab ListSlab
	a, b := mapWith(2), mapWith(2)
	slab.EnsureCapacity(a, 3)
	slab.EnsureCapacity(b, 3)
	a.PutStr("x", "1")
	a.PutStr("y", "2") // past a's capacity: a list of its own
	a.PutStr("z", "3")
	assert.Equal(t, map[string]any{"a": int64(0), "b": int64(1)}, b.AsRaw())
	b.PutStr("x", "4")
	assert.Equal(t, map[string]any{"a": int64(0), "b": int64(1), "x": "1", "y": "2", "z": "3"}, a.AsRaw())
	assert.Equal(t, map[string]any{"a": int64(0), "b": int64(1), "x": "4"}, b.AsRaw())
}

func TestListSlabLeavesAMapWithRoomAndAReadOnlyMapAsPdataDoes(t *testing.T) {
	var slab ListSlab
	m := mapWith(2)
	m.EnsureCapacity(10)
	before := (*mapLayout)(unsafe.Pointer(&m)).orig
	first := &(*before)[0]
	slab.EnsureCapacity(m, 4)
	assert.Same(t, first, &(*(*mapLayout)(unsafe.Pointer(&m)).orig)[0], "a list with room was replaced")
	assert.Nil(t, slab.free, "an array was allocated for nothing")

	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().Resource().Attributes().PutStr("k", "v")
	td.MarkReadOnly()
	ro := td.ResourceSpans().At(0).Resource().Attributes()
	assert.Panics(t, func() { slab.EnsureCapacity(ro, 4) })
}

func TestANilListSlabAndALargeListArePdatas(t *testing.T) {
	var none *ListSlab
	m := mapWith(3)
	none.EnsureCapacity(m, 5)
	assert.Equal(t, 5, cap(*(*mapLayout)(unsafe.Pointer(&m)).orig))

	var slab ListSlab
	big := mapWith(3)
	slab.EnsureCapacity(big, slabEntries+1)
	assert.Equal(t, slabEntries+1, cap(*(*mapLayout)(unsafe.Pointer(&big)).orig))
	assert.Nil(t, slab.free)
}
