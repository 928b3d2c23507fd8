package samplingprocessor

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/samplingrule"
)

const statisticalSetSize = 1_000_000

// statisticalSet is shared by the statistical tests: a million trace IDs
// from a fixed seed, built once.
var statisticalSet = sync.OnceValue(func() []pcommon.TraceID {
	return randomTraceIDs(statisticalSetSize, 20250101)
})

func keepFunc(mode Mode, p *policy) func(pcommon.TraceID) bool {
	if mode == ModeSDKParity {
		return p.keepSDK
	}
	return p.keepConsistentID
}

// exactProbability is the probability a rule keeps a uniformly random trace
// ID, from the rule's integer bound, not from the configured percentage.
func exactProbability(mode Mode, p *policy) float64 {
	switch {
	case p.keepAll:
		return 1
	case p.dropAll:
		return 0
	case mode == ModeSDKParity:
		return float64(p.sdk.Bound) / (1 << 63)
	default:
		return p.threshold.Probability()
	}
}

// The kept count K of n independent uniform trace IDs is Binomial(n, q),
// where q is the rule's exact probability. The test allows
// |K − n·p| ≤ 5·sqrt(n·q·(1−q)) + n·|q − p|: five standard deviations
// (a false failure has probability below 6e-7 per check, and the seed is
// fixed anyway) plus the rule's own rounding of p (at most 16^-4 of 1−p for
// the 4-hex-digit th, about 2^-63 for the SDK's bound).
func TestKeptFractionIsThePercentage(t *testing.T) {
	ids := statisticalSet()
	n := float64(len(ids))
	for _, mode := range []Mode{ModeConsistent, ModeSDKParity} {
		for _, pct := range []float64{1, 10, 50, 99} {
			t.Run(fmt.Sprintf("%s at %g%%", mode, pct), func(t *testing.T) {
				pol := newPolicy(pct)
				keep := keepFunc(mode, &pol)
				kept := 0
				for _, id := range ids {
					if keep(id) {
						kept++
					}
				}
				p := pct / 100
				q := exactProbability(mode, &pol)
				require.InDelta(t, p, q, 1.0/65536, "rounding of the rule itself")
				bound := 5*math.Sqrt(n*q*(1-q)) + n*math.Abs(q-p)
				assert.InDelta(t, n*p, float64(kept), bound, "kept %d of %d", kept, len(ids))
			})
		}
	}
}

func TestZeroAndHundredPercent(t *testing.T) {
	ids := randomTraceIDs(10_000, 3)
	ids = append(ids, pcommon.TraceID{}, pcommon.TraceID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	for _, mode := range []Mode{ModeConsistent, ModeSDKParity} {
		all, none := newPolicy(100), newPolicy(0)
		for _, id := range ids {
			require.True(t, keepFunc(mode, &all)(id), "%s 100%% keeps %s", mode, id)
			require.False(t, keepFunc(mode, &none)(id), "%s 0%% drops %s", mode, id)
		}
	}
}

// Subset property: a trace kept at p1 is kept at every p2 > p1, so stages
// and replicas at different rates never disagree about which of them holds
// a trace, and raising a rate only adds traces.
func TestKeptSetsAreNested(t *testing.T) {
	ids := statisticalSet()[:200_000]
	pcts := []float64{0.1, 1, 5, 10, 25, 33.3, 50, 75, 99, 99.9, 100}
	for _, mode := range []Mode{ModeConsistent, ModeSDKParity} {
		t.Run(string(mode), func(t *testing.T) {
			pols := make([]policy, len(pcts))
			for i, pct := range pcts {
				pols[i] = newPolicy(pct)
			}
			for _, id := range ids {
				kept := false
				for i := range pols {
					k := keepFunc(mode, &pols[i])(id)
					if kept && !k {
						t.Fatalf("%s kept at %g%% but dropped at %g%%", id, pcts[i-1], pcts[i])
					}
					kept = k
				}
			}
		})
	}
}

// percentageOf moves the decimal point of a rate two places right, as the
// translator writes trace_sample_rate as a percentage ("0.0007" → "0.07").
func percentageOf(t testing.TB, rate string) float64 {
	t.Helper()
	r, err := strconv.ParseFloat(rate+"e2", 64)
	require.NoError(t, err)
	return r
}

func TestPercentageToFractionIsExactForDecimalRates(t *testing.T) {
	// 0.07/100 is not the float64 of 0.0007: dividing would move the SDK
	// rule's bound by one unit in the last place.
	pct := percentageOf(t, "0.0007")
	require.NotEqual(t, 0.0007, pct/100)
	for i := 1; i < 10000; i++ {
		rate := strconv.FormatFloat(float64(i)/10000, 'f', -1, 64)
		want, err := strconv.ParseFloat(rate, 64)
		require.NoError(t, err)
		require.Equal(t, want, samplingrule.Fraction(percentageOf(t, rate)), "rate %s", rate)
	}
}

// sdk_parity reproduces go.opentelemetry.io/otel/sdk/trace.TraceIDRatioBased
// bit for bit, on every trace ID of the statistical set.
func TestSDKParityMatchesTheGoSDK(t *testing.T) {
	ids := statisticalSet()
	rates := []string{"0", "0.0007", "0.01", "0.07", "0.1", "0.25", "0.333", "0.5", "0.9", "0.99", "0.9999", "1"}
	for _, rate := range rates {
		t.Run(rate, func(t *testing.T) {
			f, err := strconv.ParseFloat(rate, 64)
			require.NoError(t, err)
			sdk := sdktrace.TraceIDRatioBased(f)
			pol := newPolicy(percentageOf(t, rate))
			params := sdktrace.SamplingParameters{ParentContext: context.Background(), Name: "/orders/42", Kind: trace.SpanKindServer}
			mismatches := 0
			for _, id := range ids {
				params.TraceID = trace.TraceID(id)
				want := sdk.ShouldSample(params).Decision == sdktrace.RecordAndSample
				if pol.keepSDK(id) != want {
					mismatches++
				}
			}
			require.Zero(t, mismatches)
		})
	}
}

// Trace IDs right at the SDK's bound: the one place a last-bit difference in
// the fraction would show.
func TestSDKParityAtTheBound(t *testing.T) {
	for _, rate := range []string{"0.0007", "0.0035", "0.1", "0.333", "0.5"} {
		f, _ := strconv.ParseFloat(rate, 64)
		bound := uint64(f * (1 << 63))
		sdk := sdktrace.TraceIDRatioBased(f)
		pol := newPolicy(percentageOf(t, rate))
		for _, x := range []uint64{bound - 1, bound, bound + 1} {
			for _, low := range []uint64{0, 1} {
				var id pcommon.TraceID
				binary.BigEndian.PutUint64(id[8:], x<<1|low)
				want := sdk.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: trace.TraceID(id)}).Decision == sdktrace.RecordAndSample
				require.Equal(t, want, pol.keepSDK(id), "rate %s, x %#x", rate, x)
			}
		}
	}
}

// DESIGN.md section 5, sampling twice: a KrakenD that samples at r already
// applied the SDK rule. The SDK rule at r again keeps every trace it kept.
func TestSDKRuleTwiceIsIdempotent(t *testing.T) {
	ids := statisticalSet()
	for _, rate := range []string{"0.01", "0.1", "0.25", "0.333", "0.5"} {
		f, _ := strconv.ParseFloat(rate, 64)
		gateway := sdktrace.TraceIDRatioBased(f)
		pol := newPolicy(percentageOf(t, rate))
		passed, kept := 0, 0
		for _, id := range ids {
			if gateway.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: trace.TraceID(id)}).Decision != sdktrace.RecordAndSample {
				continue
			}
			passed++
			if pol.keepSDK(id) {
				kept++
			}
		}
		require.Positive(t, passed)
		require.Equal(t, passed, kept, "rate %s", rate)
	}
}

// DESIGN.md section 5, sampling twice: OTEP 235 at r after the SDK rule at
// r keeps about r² — the two rules are nearly independent, so the collector
// would sample the gateway's sample again.
//
// Not exactly r²: both read bytes 8..15 of the trace ID. The SDK keeps
// byte 8 = b below B = ⌊256r⌋ whatever the rest, and at b = B only when the
// low 56 bits are below f·2^56 (f = 256r − B), while OTEP 235 keeps low 56
// bits ≥ (1−r)·2^56. So P(both) = r·B/256 + max(0, f − (1−r))/256, which is
// r² when 256r is a whole number and within r/256 of it otherwise. The test
// checks the count against that exact value with the same 5σ binomial bound
// as above, and the value against r².
func TestOTEP235AfterSDKRuleKeepsAboutRSquared(t *testing.T) {
	ids := statisticalSet()
	n := float64(len(ids))
	for _, rate := range []string{"0.1", "0.25", "0.5", "0.7"} {
		t.Run(rate, func(t *testing.T) {
			r, _ := strconv.ParseFloat(rate, 64)
			gateway := sdktrace.TraceIDRatioBased(r)
			pol := newPolicy(percentageOf(t, rate))
			kept := 0
			for _, id := range ids {
				if gateway.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: trace.TraceID(id)}).Decision != sdktrace.RecordAndSample {
					continue
				}
				if pol.keepConsistentID(id) {
					kept++
				}
			}
			q := pol.threshold.Probability() // OTEP 235's exact rate, ≈ r
			big := math.Floor(256 * r)
			frac := 256*r - big
			want := q*big/256 + math.Max(0, frac-(1-q))/256
			require.InDelta(t, r*r, want, r/256)
			bound := 5 * math.Sqrt(n*want*(1-want))
			assert.InDelta(t, n*want, float64(kept), bound, "kept %d, r² would be %.0f", kept, n*r*r)
			// And it is far from r: sampling twice is a real loss.
			assert.Less(t, float64(kept), n*r*(1+r)/2)
		})
	}
}

func TestConsistentThresholds(t *testing.T) {
	tests := []struct {
		pct        float64
		tracestate string
	}{
		{pct: 50, tracestate: "ot=th:8"},
		{pct: 25, tracestate: "ot=th:c"},
		{pct: 10, tracestate: "ot=th:e666"},
		{pct: 1, tracestate: "ot=th:fd70a"},
		{pct: 100, tracestate: ""},
		{pct: 0, tracestate: ""},
	}
	for _, tt := range tests {
		pol := newPolicy(tt.pct)
		assert.Equal(t, tt.tracestate, pol.otTraceState, "%g%%", tt.pct)
	}
	pol := newPolicy(25)
	assert.True(t, sampling.ThresholdGreater(newPolicy(10).threshold, pol.threshold), "10 %% has the higher threshold")
}
