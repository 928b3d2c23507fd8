package samplingrule

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

func TestFractionIsTheDecimalRate(t *testing.T) {
	// 7/100 is not the float64 of 0.07 in every case: dividing would move
	// the SDK rule's bound by one unit in the last place.
	for i := 1; i < 10000; i++ {
		rate := strconv.FormatFloat(float64(i)/10000, 'f', -1, 64)
		want, err := strconv.ParseFloat(rate, 64)
		require.NoError(t, err)
		pct, err := strconv.ParseFloat(strconv.FormatFloat(want*100, 'g', 12, 64), 64)
		require.NoError(t, err)
		require.Equal(t, want, Fraction(pct), "rate %s", rate)
	}
}

// The rule is the Go SDK's TraceIDRatioBased, right at its bound and on
// both sides of it, and at the ends of the range.
func TestSDKRatioMatchesTheGoSDK(t *testing.T) {
	// trace_sample_rate as KrakenD reads it, and the percentage the
	// translator writes for it
	for rate, pct := range map[string]float64{"0": 0, "0.0007": 0.07, "0.1": 10, "0.25": 25, "0.333": 33.3, "0.5": 50, "1": 100} {
		f, err := strconv.ParseFloat(rate, 64)
		require.NoError(t, err)
		sdk := sdktrace.TraceIDRatioBased(f)
		r := NewSDKRatio(pct)
		bound := uint64(f * (1 << 63))
		xs := []uint64{0, 1, bound - 1, bound, bound + 1, 1<<63 - 1}
		for _, x := range xs {
			for _, low := range []uint64{0, 1} {
				var id pcommon.TraceID
				binary.BigEndian.PutUint64(id[:8], 0x0123456789abcdef)
				binary.BigEndian.PutUint64(id[8:], x<<1|low)
				want := sdk.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: trace.TraceID(id)}).Decision == sdktrace.RecordAndSample
				require.Equal(t, want, r.Keeps(id), "rate %s, x %#x", rate, x)
			}
		}
	}
	require.True(t, NewSDKRatio(100).KeepsAll())
	require.True(t, NewSDKRatio(0).DropsAll())
	require.False(t, NewSDKRatio(25).KeepsAll() || NewSDKRatio(25).DropsAll())
}
