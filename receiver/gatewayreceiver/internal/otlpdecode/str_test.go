package otlpdecode

import (
	"bytes"
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// str keeps 12 bits of a hash that reads a string in overlapping words:
// strings that take one slot must still be told apart, by all their bytes.

// confusable are strings of every length up to past maxSharedLen, with
// words that overlap or not; strings that differ in one byte only, at
// either end or inside; strings that differ in length only.
func confusable() [][]byte {
	var out [][]byte
	for n := 1; n <= maxSharedLen+2; n++ {
		base := bytes.Repeat([]byte("a"), n)
		out = append(out, base)
		for _, i := range []int{0, n / 3, n / 2, n - 1} {
			b := bytes.Clone(base)
			b[i] = 'b'
			out = append(out, b)
		}
	}
	for _, s := range []string{
		"/users/1234/posts", "/users/5678/posts",
		"http://users.internal:8080/v1/users/1234/posts/9/comments",
		"http://users.internal:8080/v1/users/5678/posts/9/comments",
		"abcdefgh-abcdefgh", "abcdefgh--abcdefgh", "abcdefgh---abcdefgh",
	} {
		out = append(out, []byte(s))
	}
	return out
}

func TestStrNeverConfusesStrings(t *testing.T) {
	d := NewDecoder()
	all := confusable()
	for round := range 3 {
		for i, b := range all {
			// each string after every other: a slot holding a different
			// string must not be returned for it
			for _, other := range [][]byte{b, all[(i+round+1)%len(all)], b} {
				require.Equal(t, string(other), d.str(other))
			}
		}
	}
}

// Strings that take one slot: of each length, enough random ones that
// some evict others, and each must come back as itself.
func TestStrTellsApartStringsOfOneSlot(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for n := 1; n <= maxSharedLen; n++ {
		d := NewDecoder()
		var all [][]byte
		evicted := 0
		for range 400 {
			b := make([]byte, n)
			r.Read(b)
			all = append(all, b)
			require.Equal(t, string(b), d.str(b))
		}
		for _, b := range all {
			if !slices.Contains(sharedStrings(d), string(b)) {
				evicted++
			}
		}
		for _, b := range slices.Backward(all) {
			require.Equal(t, string(b), d.str(b))
		}
		if n > 1 { // 256 strings of 1 byte in 4096 slots may take one each
			assert.Positive(t, evicted, "no two strings of %d bytes took one slot", n)
		}
	}
}

func sharedStrings(d *Decoder) []string {
	var all []string
	for _, slot := range d.shared {
		all = append(all, slot.s)
	}
	return all
}

func occupied(d *Decoder) int {
	n := 0
	for _, slot := range d.shared {
		if slot.s != "" {
			n++
		}
	}
	return n
}

func TestStrSharesEqualStrings(t *testing.T) {
	d := NewDecoder()
	for _, b := range confusable() {
		first := d.str(b)
		again := d.str(bytes.Clone(b))
		if len(b) > maxSharedLen {
			assert.NotSame(t, unsafeData(first), unsafeData(again))
		} else {
			assert.Same(t, unsafeData(first), unsafeData(again), "%q", b)
		}
	}
}

// The slots of strings as a gateway sends them, many values alike: they
// should spread as a random pick would (1000 strings in 4096 slots take
// about 886 of them), so that popular strings are rarely evicted.
func TestStrSpreadsGatewayStrings(t *testing.T) {
	for _, format := range []string{
		"%d", "/users/%d", "/users/%d/posts", "users-%d.internal:8080", "k%d",
		"http.client.%d.count", "%d.example.com", "http://users.internal:8080/v1/users/%d",
		"http://users.internal:8080/v1/users/%d/posts/comments", // the id in the middle
	} {
		d := NewDecoder()
		for i := range 1000 {
			d.str([]byte(fmt.Sprintf(format, i)))
		}
		assert.GreaterOrEqual(t, occupied(d), 800, "%q", format)
	}
	// Strings that differ in length only: 64 of them take about 63 slots.
	d := NewDecoder()
	for n := 1; n <= maxSharedLen; n++ {
		d.str(bytes.Repeat([]byte("a"), n))
	}
	assert.GreaterOrEqual(t, occupied(d), 56)
}
