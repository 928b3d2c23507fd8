package requestmetricsconnector

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/samplingrule"
)

// TestUpstreamWeightsCountTheRequestsOnAverage simulates a KrakenD that
// samples at a percentage by the Go SDK's rule, parent-based: a request
// without a caller's trace is kept when the rule keeps its (random, seeded)
// trace ID; one a caller sampled is always kept. Each kept request sends 3
// spans. The weighted calls must be the requests on average:
//   - root requests only: the total is within 5 standard deviations of the
//     binomial sample of the requests (3·N);
//   - given the trace IDs, the total is within 6 standard deviations of the
//     stochastic rounding of its expectation, 3·(K·w + C_kept·w + C_dropped)
//     (K roots kept; callers' traces count w when the rule also keeps them,
//     as the README says, else 1).
//
// A weight off by its fraction (3 for 3⅓), applied to the root only, to
// traces the rule drops, or to none breaks both bounds.
func TestUpstreamWeightsCountTheRequestsOnAverage(t *testing.T) {
	const spansPerRequest = 3
	for _, tt := range []struct {
		percentage float64
		requests   int
		callers    int // requests a caller sampled
	}{
		{percentage: 30, requests: 60_000},
		{percentage: 25, requests: 60_000},
		{percentage: 10, requests: 100_000},
		{percentage: 7.3, requests: 100_000},
		{percentage: 1, requests: 200_000},
		{percentage: 66.6, requests: 30_000},
		{percentage: 99.9, requests: 30_000},
		{percentage: 30, requests: 60_000, callers: 5_000},
	} {
		t.Run(fmt.Sprintf("%v%% of %d requests, %d of a caller", tt.percentage, tt.requests, tt.callers), func(t *testing.T) {
			cfg := translatedConfig()
			cfg.UpstreamSampling.Percentage = tt.percentage
			require.NoError(t, cfg.Validate())
			c := newConnector(componenttest.NewNopTelemetrySettings(), cfg, clockwork.NewFakeClockAt(epoch), "i", consumertest.NewNop())
			rule := samplingrule.NewSDKRatio(tt.percentage)
			w := 1 / samplingrule.Fraction(tt.percentage)
			rng := rand.New(rand.NewPCG(uint64(tt.percentage*1000), uint64(tt.requests+tt.callers)))

			var kept, callerKept, callerDropped int
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", "krakend")
			spans := rs.ScopeSpans().AppendEmpty().Spans()
			send := func(id pcommon.TraceID, caller bool) {
				for i := range spansPerRequest {
					s := spans.AppendEmpty()
					s.SetName(fmt.Sprint("span-", i))
					s.SetTraceID(id)
					s.SetSpanID(pcommon.SpanID{byte(i + 1)})
					if i > 0 || caller {
						s.SetParentSpanID(pcommon.SpanID{0xff, byte(i)}) // a caller's span for the first
					}
					s.SetStartTimestamp(pcommon.NewTimestampFromTime(epoch))
					s.SetEndTimestamp(pcommon.NewTimestampFromTime(epoch.Add(time.Millisecond)))
				}
				if spans.Len() >= 3000 {
					c.aggregate(td)
					spans.RemoveIf(func(ptrace.Span) bool { return true })
				}
			}
			for i := range tt.requests + tt.callers {
				var id pcommon.TraceID
				binary.BigEndian.PutUint64(id[:8], rng.Uint64())
				binary.BigEndian.PutUint64(id[8:], rng.Uint64())
				caller := i >= tt.requests
				switch {
				case !caller && rule.Keeps(id):
					kept++
				case !caller:
					continue // the gateway drops it
				case rule.Keeps(id):
					callerKept++
				default:
					callerDropped++
				}
				send(id, caller)
			}
			c.aggregate(td)

			var total float64
			for _, r := range c.resources {
				require.False(t, r.unsampledSender, "a sampling gateway is not taken for one that sends everything")
				for _, s := range r.order {
					total += float64(s.count)
				}
			}

			p := samplingrule.Fraction(tt.percentage)
			if tt.callers == 0 {
				want := float64(spansPerRequest * tt.requests)
				sd := spansPerRequest * w * math.Sqrt(float64(tt.requests)*p*(1-p))
				require.InDelta(t, want, total, 5*sd, "weighted calls against the requests (%d kept)", kept)
			}
			want := spansPerRequest * (float64(kept+callerKept)*w + float64(callerDropped))
			f := w - math.Floor(w)
			sd := math.Sqrt(float64(spansPerRequest*(kept+callerKept)) * f * (1 - f))
			require.InDelta(t, want, total, 6*sd+1e-9, "weighted calls against their expectation given the trace IDs")
		})
	}
}
