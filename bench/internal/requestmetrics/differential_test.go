package requestmetrics

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-gateway/otelcol-gateway/bench/internal/load"
	"github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"
	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
)

// translatorConf is the connector section the translator writes (its
// golden file), under either name: the keys are the same, but for
// upstream_sampling, which spanmetrics lacks and which is left out (it
// weighs spans of a sending gateway that sampled; the spans here come
// from no such gateway).
func translatorConf(tb testing.TB) *confmap.Conf {
	tb.Helper()
	b, err := os.ReadFile("../../../config/translate/testdata/otel-full.golden.yaml")
	require.NoError(tb, err)
	var m map[string]any
	require.NoError(tb, yaml.Unmarshal(b, &m))
	conf := confmap.NewFromStringMap(m)
	for _, name := range []string{"requestmetrics", "spanmetrics"} {
		if conf.IsSet("connectors::" + name) {
			sub, err := conf.Sub("connectors::" + name)
			require.NoError(tb, err)
			raw := sub.ToStringMap()
			delete(raw, "upstream_sampling")
			return confmap.NewFromStringMap(raw)
		}
	}
	tb.Fatal("the golden translation has no request metrics connector")
	return nil
}

func configOf(tb testing.TB, f connector.Factory, conf *confmap.Conf, limit int) component.Config {
	tb.Helper()
	cfg := f.CreateDefaultConfig()
	require.NoError(tb, conf.Unmarshal(cfg))
	if limit > 0 {
		require.NoError(tb, confmap.NewFromStringMap(map[string]any{"aggregation_cardinality_limit": limit}).Unmarshal(cfg))
	}
	return cfg
}

type pair struct {
	clock  *clockwork.FakeClock
	conns  [2]connector.Traces
	sinks  [2]*consumertest.MetricsSink
	flushN int
}

var names = [2]string{"spanmetrics", "requestmetrics"}

func newPair(t *testing.T, limit int) *pair {
	t.Helper()
	conf := translatorConf(t)
	return startPair(t, func(f connector.Factory) component.Config { return configOf(t, f, conf, limit) })
}

// startPair builds spanmetrics and requestmetrics, each from cfgOf, on one
// fake clock starting at epoch.
func startPair(t *testing.T, cfgOf func(connector.Factory) component.Config) *pair {
	t.Helper()
	p := &pair{clock: clockwork.NewFakeClockAt(epoch)}
	ctx := clockwork.AddToContext(context.Background(), p.clock)
	for i, f := range []connector.Factory{spanmetricsconnector.NewFactory(), requestmetricsconnector.NewFactory()} {
		set := connectortest.NewNopSettings(f.Type())
		// both connectors name the collector instance the same way
		set.Resource.Attributes().PutStr(collectorInstanceIDKey, "differential")
		p.sinks[i] = new(consumertest.MetricsSink)
		c, err := f.CreateTracesToMetrics(ctx, set, cfgOf(f), p.sinks[i])
		require.NoError(t, err, names[i])
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		p.conns[i] = c
	}
	t.Cleanup(func() {
		for _, c := range p.conns {
			require.NoError(t, c.Shutdown(context.Background()))
		}
	})
	return p
}

func (p *pair) consume(t *testing.T, td ptrace.Traces) {
	t.Helper()
	td.MarkReadOnly()
	for _, c := range p.conns {
		require.NoError(t, c.ConsumeTraces(context.Background(), td))
	}
}

// flush ticks both connectors' clock once and compares what they emitted.
func (p *pair) flush(t *testing.T, interval time.Duration) pmetric.Metrics {
	t.Helper()
	require.NoError(t, p.clock.BlockUntilContext(context.Background(), 2))
	p.clock.Advance(interval)
	p.flushN++
	require.Eventually(t, func() bool {
		return len(p.sinks[0].AllMetrics()) >= p.flushN && len(p.sinks[1].AllMetrics()) >= p.flushN
	}, 10*time.Second, time.Millisecond)
	want, got := p.sinks[0].AllMetrics()[p.flushN-1], p.sinks[1].AllMetrics()[p.flushN-1]
	require.Equal(t, canonical(t, want), canonical(t, got), "flush %d: %s and %s differ", p.flushN, names[0], names[1])
	require.Equal(t, canonicalMetrics(want), canonicalMetrics(got), "flush %d: %s (want) and %s (got) differ", p.flushN, names[0], names[1])
	return got
}

// canonical is the metrics as JSON with resources and data points in a
// fixed order: spanmetrics emits them in map order.
func canonical(t *testing.T, md pmetric.Metrics) string {
	t.Helper()
	c := pmetric.NewMetrics()
	md.CopyTo(c)
	rms := c.ResourceMetrics()
	rms.Sort(func(a, b pmetric.ResourceMetrics) bool {
		return attrString(a.Resource().Attributes()) < attrString(b.Resource().Attributes())
	})
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeSum:
					m.Sum().DataPoints().Sort(func(a, b pmetric.NumberDataPoint) bool {
						return attrString(a.Attributes()) < attrString(b.Attributes())
					})
				case pmetric.MetricTypeHistogram:
					m.Histogram().DataPoints().Sort(func(a, b pmetric.HistogramDataPoint) bool {
						return attrString(a.Attributes()) < attrString(b.Attributes())
					})
				default:
					t.Fatalf("unexpected metric type %s", m.Type())
				}
			}
		}
	}
	b, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(c)
	require.NoError(t, err)
	// one line per data point, for a readable diff
	return strings.ReplaceAll(string(b), `{"attributes"`, "\n"+`{"attributes"`)
}

func attrString(m pcommon.Map) string {
	parts := make([]string, 0, m.Len())
	for k, v := range m.All() {
		parts = append(parts, fmt.Sprintf("%s=%s:%s", k, v.Type(), v.AsString()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// harnessBatches are the benchmark harness's KrakenD batches (bench/internal/load), decoded.
func harnessBatches(tb testing.TB, n, requests int) []ptrace.Traces {
	tb.Helper()
	bs, err := load.TraceBatches(n, requests)
	require.NoError(tb, err)
	out := make([]ptrace.Traces, len(bs))
	for i, b := range bs {
		req := ptraceotlp.NewExportRequest()
		require.NoError(tb, req.UnmarshalProto(b.Body))
		out[i] = req.Traces()
	}
	return out
}

// oddBatch is what a gateway fleet also sends: several replicas and
// services, error statuses, spans of another scope, a resource without
// service.name, OTEP 235 weights, a clock step backwards, a status code
// written as a string, dimensions only on the resource.
func oddBatch(first uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	for i, svc := range []string{"orders-gateway", "orders-gateway", "billing-gateway", ""} {
		r := gatewaydata.DefaultRequest
		r.Status = []int{200, 503, 404, 200}[i]
		r.EndpointRoute = fmt.Sprintf("/v%d/orders/:id", i)
		one := gatewaydata.NewTraces(svc, first+uint64(i)*10, r, gatewaydata.DefaultRequest)
		rs := one.ResourceSpans().At(0)
		rs.Resource().Attributes().PutStr("service.instance.id", fmt.Sprint("replica-", i%2))
		if i == 2 {
			rs.Resource().Attributes().PutStr("http.request.method", "PATCH") // a dimension only on the resource
		}
		spans := rs.ScopeSpans().At(0).Spans()
		for k := 0; k < spans.Len(); k++ {
			s := spans.At(k)
			switch k % 5 {
			case 1:
				s.TraceState().FromRaw("ot=th:8") // kept at 50 %: counts for 2
			case 2:
				s.Status().SetCode(ptrace.StatusCodeError)
				s.SetEndTimestamp(s.StartTimestamp() - 5) // a clock step: 0
			case 3:
				s.TraceState().FromRaw("ot=th:c;rv:abcdefabcdefab") // 25 %: counts for 4
				s.Attributes().Remove("http.request.method")
			}
			if i == 2 {
				s.Attributes().Remove("http.request.method")
			}
		}
		other := rs.ScopeSpans().AppendEmpty()
		other.Scope().SetName("net/http")
		other.Scope().SetVersion("0.1")
		o := other.Spans().AppendEmpty()
		o.SetName("GET")
		o.SetKind(ptrace.SpanKindClient)
		o.SetStartTimestamp(1_700_000_000_000_000_000)
		o.SetEndTimestamp(1_700_000_000_350_000_000) // exactly on the 350ms bound
		o.Attributes().PutStr("http.request.method", "GET")
		o.Attributes().PutStr("http.response.status_code", "204")
		// the gateway scope with a version, on routes of its own (the same
		// series with and without a version is a documented difference)
		versioned := rs.ScopeSpans().AppendEmpty()
		versioned.Scope().SetName(layer.ScopeName)
		versioned.Scope().SetVersion("2.13.0")
		r.EndpointRoute = fmt.Sprintf("/v%d/versioned/:id", i)
		r.BackendPattern = "/versioned"
		gatewaydata.AppendRequestSpans(versioned.Spans(), first+uint64(i)*10+5, r)
		rs.MoveTo(td.ResourceSpans().AppendEmpty())
	}
	return td
}

// TestRequestmetricsEmitsWhatSpanmetricsEmits feeds both connectors the
// same batches over four flush intervals (series appearing in each, one
// interval with nothing new) with the translator's configuration, and
// compares every flush.
func TestRequestmetricsEmitsWhatSpanmetricsEmits(t *testing.T) {
	p := newPair(t, 0)
	interval := 15 * time.Second
	batches := harnessBatches(t, 8, 100)
	for _, td := range batches[:4] {
		p.consume(t, td)
	}
	md := p.flush(t, interval)
	require.Positive(t, md.DataPointCount())
	p.clock.Advance(time.Second)
	for _, td := range batches[4:] {
		p.consume(t, td)
	}
	p.consume(t, oddBatch(100_000))
	p.flush(t, interval-time.Second)
	p.consume(t, oddBatch(200_000))
	p.consume(t, harnessBatches(t, 3, 250)[2])
	p.flush(t, interval)
	md = p.flush(t, interval)
	t.Logf("last flush: %d resources, %d data points", md.ResourceMetrics().Len(), md.DataPointCount())
}

// TestPastTheCardinalityLimitBothOverflowAlike lowers the limit so that
// both connectors send new series to the overflow series.
func TestPastTheCardinalityLimitBothOverflowAlike(t *testing.T) {
	p := newPair(t, 7)
	batches := harnessBatches(t, 4, 100)
	p.consume(t, batches[0])
	p.flush(t, 15*time.Second)
	p.clock.Advance(2 * time.Second)
	for _, td := range batches[1:] {
		p.consume(t, td)
	}
	p.consume(t, oddBatch(7))
	p.flush(t, 13*time.Second)
	md := p.flush(t, 15*time.Second)
	found := false
	for i := 0; i < md.ResourceMetrics().Len(); i++ {
		dps := md.ResourceMetrics().At(i).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
		for j := 0; j < dps.Len(); j++ {
			if _, ok := dps.At(j).Attributes().Get("otel.metric.overflow"); ok {
				found = true
			}
		}
	}
	require.True(t, found, "the limit was reached")
}

// TestWhereRequestmetricsKeepsApartWhatSpanmetricsMerges pins the documented
// differences: both key a value by its string form, so spans that differ
// only in a value's type (200 and "200") are counted in one series labelled
// like the first of them; spanmetrics leaves the scope out of its key, so
// spans that differ only in the scope version share a series there too,
// while requestmetrics keeps them apart. The totals are the same.
func TestWhereRequestmetricsKeepsApartWhatSpanmetricsMerges(t *testing.T) {
	p := newPair(t, 0)
	td := gatewaydata.NewTraces("gw", 1, gatewaydata.DefaultRequest)
	ss := td.ResourceSpans().At(0).ScopeSpans().At(0)
	proxy := ptrace.NewSpanSlice()
	for k := 0; k < ss.Spans().Len(); k++ {
		if st, _ := ss.Spans().At(k).Attributes().Get(layer.StageKey); st.Str() == layer.StageProxy {
			ss.Spans().At(k).CopyTo(proxy.AppendEmpty())
		}
	}
	ss.Spans().RemoveIf(func(ptrace.Span) bool { return true })
	proxy.At(0).CopyTo(ss.Spans().AppendEmpty())
	asString := ss.Spans().AppendEmpty()
	proxy.At(0).CopyTo(asString)
	asString.Attributes().PutStr("http.response.status_code", "200")
	versioned := td.ResourceSpans().At(0).ScopeSpans().AppendEmpty()
	versioned.Scope().SetName(layer.ScopeName)
	versioned.Scope().SetVersion("2.13.0")
	proxy.At(0).CopyTo(versioned.Spans().AppendEmpty())
	td.MarkReadOnly()
	for _, c := range p.conns {
		require.NoError(t, c.ConsumeTraces(context.Background(), td))
	}
	require.NoError(t, p.clock.BlockUntilContext(context.Background(), 2))
	p.clock.Advance(15 * time.Second)
	require.Eventually(t, func() bool {
		return len(p.sinks[0].AllMetrics()) == 1 && len(p.sinks[1].AllMetrics()) == 1
	}, 10*time.Second, time.Millisecond)
	for i, want := range []int{1, 2} {
		h := p.sinks[i].AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(1).Histogram().DataPoints()
		require.Equal(t, want, h.Len(), names[i])
		var n uint64
		for j := 0; j < h.Len(); j++ {
			n += h.At(j).Count()
		}
		require.Equal(t, uint64(3), n, "%s counts every span", names[i])
	}
}
