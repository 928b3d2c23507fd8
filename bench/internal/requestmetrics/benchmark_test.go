package requestmetrics

import (
	"context"
	"runtime"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"
)

// BenchmarkRequestMetrics is each connector's cost per span on the
// harness's KrakenD batches (8 batches of 100 requests, decoded once, read
// only) with the translator's configuration, in steady state: every series
// exists. The two run one after the other within each -count round, a fair comparison
// runs the test binary once per connector in turn (docs in the package).
func BenchmarkRequestMetrics(b *testing.B) {
	conf := translatorConf(b)
	batches := harnessBatches(b, 8, 100)
	for _, td := range batches {
		td.MarkReadOnly()
	}
	spans := 0
	for _, td := range batches {
		spans += td.SpanCount()
	}
	for i, f := range []connector.Factory{spanmetricsconnector.NewFactory(), requestmetricsconnector.NewFactory()} {
		b.Run(names[i], func(b *testing.B) {
			c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), configOf(b, f, conf, 0), consumertest.NewNop())
			require.NoError(b, err)
			require.NoError(b, c.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, c.Shutdown(context.Background())) }()
			ctx := context.Background()
			for _, td := range batches {
				require.NoError(b, c.ConsumeTraces(ctx, td))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, td := range batches {
					_ = c.ConsumeTraces(ctx, td)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			n := float64(b.N * spans)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/span")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/span")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/span")
		})
	}
}
