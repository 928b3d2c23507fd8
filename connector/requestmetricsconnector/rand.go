package requestmetricsconnector // import "github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"

import "time"

// xorshift64star is the generator spanmetrics rounds adjusted counts with
// (internal/metrics/adjusted_count.go); one per connector, used under its
// lock.
type xorshift64star uint64

func newXorshift() xorshift64star {
	s := uint64(time.Now().UnixNano())
	if s == 0 {
		s = 1
	}
	return xorshift64star(s)
}

func (r *xorshift64star) next() uint64 {
	x := *r
	x ^= x << 12
	x ^= x >> 25
	x ^= x << 27
	*r = x
	return uint64(x) * 0x2545F4914F6CDD1D
}
