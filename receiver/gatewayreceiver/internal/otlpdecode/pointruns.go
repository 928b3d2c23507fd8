package otlpdecode

import (
	"bytes"
	"encoding/binary"
	"math/bits"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-gateway/otelcol-gateway/internal/sharedvalue"
)

// A gateway's SDK exports every series it holds at each interval
// (cumulative temporality), so a data point's attribute list comes again,
// byte for byte, in every request: the same keys and the same values, in
// the order the SDK sorts them. Such a list is decoded once and kept whole
// (its bytes and its decoded map); the next time the same bytes come, the
// point's attributes are a copy of that map. That spares reading every key
// and value, and the look-ups of the shared strings, which were about a
// third of the decoder's time per point. Only data points' lists are kept:
// a span's attributes (URLs, addresses, sizes) rarely repeat whole.
//
// Equal bytes decode to equal attributes, so a copy is what decoding would
// give. The kept maps are never handed out, only copied, so nothing
// downstream can change them: a copy's list is its own, and the string and
// number values it shares with the kept map are never written into
// (sharedvalue.CopyMap).

const (
	// 1<<pointRunBits kept lists per decoder, in sets of pointRunWays
	// places that a list's hash picks: enough for a gateway's series (a few
	// hundred) with room to spare. Sets of two left 3-6 of the benchmark's
	// 100 lists pushing each other out, and so read and kept again, at
	// every request.
	pointRunBits = 10
	pointRunWays = 4
	// Longer lists are not kept: a gateway's are a few hundred bytes.
	maxPointRunLen = 2048
	// What a decoder's kept lists may hold, their bytes and maps counted
	// (runSize): about 600 of the benchmark's lists. The receiver keeps up
	// to 16 decoders, one per request decoded at the same time.
	maxRunBytes = 512 << 10
	// Keeping a list costs a copy of it. Each kept list a point reuses
	// earns one more keep, up to maxRunCredit; a decoder that keeps lists
	// that are never met again (more series than it can hold, or values
	// that change every time) runs out of credit and stops keeping, and
	// then only pays the hash of each list.
	initialRunCredit = 1 << pointRunBits
	maxRunCredit     = 4 << pointRunBits
)

type pointRun struct {
	hash uint64
	raw  []byte
	m    pcommon.Map
}

type pointRuns struct {
	slots  [1 << pointRunBits]*pointRun
	missed [1 << missedBits]uint64
	credit int
	bytes  int // the sizes of the kept lists
	// counts, for tests
	hits, kept int
}

// size is about what a kept list holds: its bytes, the values' bytes
// (about as many), and per attribute pdata's key-value and value wrapper.
func (run *pointRun) size() int { return runSize(run.raw, run.m.Len()) }

func runSize(raw []byte, attrs int) int { return 2*len(raw) + 48*attrs + 96 }

// pointAttributes reads the attribute fields of a data point (field
// field), starting with the one whose tag r has just read, into attrs,
// from a kept copy when their bytes were met before.
func (d *Decoder) pointAttributes(r *reader, attrs pcommon.Map, field uint64) bool {
	if attrs.Len() != 0 {
		// A second run of attributes, after other fields: not a list
		// kept whole.
		return d.attributeField(r, attrs, field, pointSpare)
	}
	start := r.pos
	end := attributeRunEnd(r.b, start, field)
	if end < 0 || end-start > maxPointRunLen {
		return d.attributeField(r, attrs, field, pointSpare)
	}
	if d.runs == nil {
		d.runs = &pointRuns{credit: initialRunCredit}
	}
	raw := r.b[start:end]
	h := runHash(d.seed, raw)
	set := d.runs.set(h)
	for _, run := range set {
		if run != nil && run.hash == h && bytes.Equal(run.raw, raw) {
			attrs.EnsureCapacity(run.m.Len() + pointSpare)
			sharedvalue.CopyMap(run.m, attrs)
			r.pos = end
			d.runs.hits++
			d.runs.credit = min(d.runs.credit+1, maxRunCredit)
			return true
		}
	}
	if !d.attributeField(r, attrs, field, pointSpare) {
		return false
	}
	if r.pos == end { // always, when the read succeeded: checked, as it is what is kept
		d.runs.keep(h, set, raw, attrs)
	}
	return true
}

// set returns the places a list of hash h may take.
func (p *pointRuns) set(h uint64) *[pointRunWays]*pointRun {
	i := h >> (64 - pointRunBits) &^ (pointRunWays - 1)
	return (*[pointRunWays]*pointRun)(p.slots[i : i+pointRunWays])
}

// keep keeps a list read without a copy, while the decoder has credit and
// the list fits in maxRunBytes: at once when its set has room, else every
// second time its hash misses (as the templates do), so that lists that
// keep taking each other's place cost a copy every other time only.
func (p *pointRuns) keep(h uint64, set *[pointRunWays]*pointRun, raw []byte, attrs pcommon.Map) {
	if p.credit <= 0 {
		return
	}
	size := runSize(raw, attrs.Len())
	freed := 0
	if oldest := set[pointRunWays-1]; oldest != nil {
		freed = oldest.size()
	}
	if p.bytes+size-freed > maxRunBytes {
		return
	}
	if set[pointRunWays-1] != nil {
		missed := &p.missed[h&(1<<missedBits-1)]
		if *missed != h {
			*missed = h
			return
		}
		*missed = 0
	}
	p.credit--
	p.kept++
	p.bytes += size - freed
	run := &pointRun{hash: h, raw: bytes.Clone(raw), m: pcommon.NewMap()}
	sharedvalue.CopyMap(attrs, run.m)
	// The newest takes the first place; the oldest leaves.
	copy(set[1:], set[:pointRunWays-1])
	set[0] = run
}

// attributeRunEnd returns where the run of attribute fields (field) that
// starts at pos, at the length of its first field, ends: after the last of
// the fields of that number that follow each other, as attributeRun reads
// them; -1 when the first is malformed.
func attributeRunEnd(b []byte, pos int, field uint64) int {
	r := reader{b: b, pos: pos}
	r.bytes()
	if r.bad {
		return -1
	}
	end := r.pos
	for r.more() {
		if f, w := r.tag(); r.bad || f != field || w != wireLen {
			break
		}
		r.bytes()
		if r.bad {
			break
		}
		end = r.pos
	}
	return end
}

// runHash hashes a list's bytes a word at a time, as str hashes a string;
// a collision only costs a comparison. str keeps its own copy of the hash
// inline: calling one function from both measured 3-6 % more of the
// decoder's time per span and 1-9 % per point.
func runHash(seed uint64, b []byte) uint64 {
	n := uint64(len(b))
	h := seed ^ n
	i := uint64(0)
	for ; i+8 <= n; i += 8 {
		h = bits.RotateLeft64(h, 29) ^ binary.LittleEndian.Uint64(b[i:])*0xc2b2ae3d27d4eb4f
	}
	if i < n { // the last word, overlapping the one before (n >= 8), or the few bytes of a short list
		var x uint64
		if n >= 8 {
			x = binary.LittleEndian.Uint64(b[n-8:])
		} else {
			for j := i; j < n; j++ {
				x = x<<8 | uint64(b[j])
			}
		}
		h = bits.RotateLeft64(h, 29) ^ x*0xc2b2ae3d27d4eb4f
	}
	h *= 0x9e3779b97f4a7c15
	h ^= h >> 29
	return h * 0xbf58476d1ce4e5b9
}
