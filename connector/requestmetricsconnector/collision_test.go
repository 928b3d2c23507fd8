package requestmetricsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// TestSeriesWithTheSameHashStayApart forces every series of a resource into
// one hash chain: the values, not the hash, decide which series a span is
// counted in.
func TestSeriesWithTheSameHashStayApart(t *testing.T) {
	c := newConnector(componenttest.NewNopTelemetrySettings(), translatedConfig(), clockwork.NewFakeClockAt(epoch), "i", consumertest.NewNop())
	res := map[string]any{"service.name": "gw"}
	spans := []spanSpec{proxySpan("/a", 200, time.Millisecond), proxySpan("/b", 200, time.Millisecond), proxySpan("/a", 500, time.Millisecond)}
	c.aggregate(traces(res, "s", spans...))
	require.Len(t, c.resources, 1)
	var r *resourceState
	for _, v := range c.resources {
		r = v
	}
	require.Len(t, r.order, 3)
	// chain all three under every hash
	for i, s := range r.order {
		if i+1 < len(r.order) {
			s.next = r.order[i+1]
		} else {
			s.next = nil
		}
	}
	for h := range r.series {
		r.series[h] = r.order[0]
	}
	c.aggregate(traces(res, "s", spans[2], spans[1], spans[2]))
	assert.Len(t, r.order, 3, "no new series")
	assert.Equal(t, []uint64{1, 2, 3}, []uint64{r.order[0].count, r.order[1].count, r.order[2].count})
	require.NoError(t, c.Shutdown(context.Background()))
}
