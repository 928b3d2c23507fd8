package prometheuscompatprocessor

import (
	"bytes"
	"context"
	"math"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/prometheuscompatprocessor/internal/metadata"
)

// oddMetrics holds every metric type, with and without data points, under
// names and units that look like what the processor handles: in the gateway
// scope twice, in another scope, in a scope without metrics, and under
// resources without service.name or with service_name already set.
func oddMetrics() pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "gw")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(layer.ScopeName)
	ms := sm.Metrics()
	for i, unit := range []string{"b", "By", "{request}", "", "s", "b"} {
		name := []string{"", "size_b", "requests_total", "otel_scope_info_", "duration_seconds", "read.size"}[i]
		for _, withPoint := range []bool{false, true} {
			g := ms.AppendEmpty()
			g.SetName(name)
			g.SetUnit(unit)
			switch i {
			case 0:
				g.SetEmptyGauge()
				if withPoint {
					g.Gauge().DataPoints().AppendEmpty().SetDoubleValue(math.NaN())
				}
			case 1:
				g.SetEmptySum().SetIsMonotonic(true)
				if withPoint {
					g.Sum().DataPoints().AppendEmpty().SetIntValue(-1)
				}
			case 2:
				g.SetEmptyHistogram()
				if withPoint {
					dp := g.Histogram().DataPoints().AppendEmpty()
					dp.SetCount(2)
					dp.BucketCounts().FromRaw([]uint64{1, 1})
					dp.ExplicitBounds().FromRaw([]float64{1})
				}
			case 3:
				g.SetEmptyExponentialHistogram()
				if withPoint {
					dp := g.ExponentialHistogram().DataPoints().AppendEmpty()
					dp.SetScale(-3)
					dp.Positive().BucketCounts().FromRaw([]uint64{1})
					dp.SetCount(1)
				}
			case 4:
				g.SetEmptySummary()
				if withPoint {
					dp := g.Summary().DataPoints().AppendEmpty()
					dp.QuantileValues().AppendEmpty().SetValue(0.5)
				}
			} // 5: a metric without data (MetricTypeEmpty)
		}
	}
	sm.CopyTo(rm.ScopeMetrics().AppendEmpty())                       // the gateway scope twice
	other := rm.ScopeMetrics().AppendEmpty()                         // another scope
	sm.Metrics().CopyTo(other.Metrics())                             // with the same units
	rm.ScopeMetrics().AppendEmpty().Scope().SetName(layer.ScopeName) // without metrics

	noName := md.ResourceMetrics().AppendEmpty()
	sm.CopyTo(noName.ScopeMetrics().AppendEmpty())
	taken := md.ResourceMetrics().AppendEmpty()
	taken.Resource().Attributes().PutInt("service.name", 7)
	taken.Resource().Attributes().PutStr("service_name", "kept")
	sm.CopyTo(taken.ScopeMetrics().AppendEmpty())
	return md
}

// FuzzMetrics runs arbitrary decodable batches through the processor with the
// configuration the translator writes (the defaults) and checks that it
// changed only what its README says: the service_name resource attribute,
// the units in drop_units on gateway metrics, one otel_scope_info gauge per
// gateway scope.
func FuzzMetrics(f *testing.F) {
	for _, md := range []pmetric.Metrics{
		gatewaydata.NewMetrics("gw", gatewaydata.Metrics, gatewaydata.DefaultRequest),
		gatewaydata.NewMetrics("gw", gatewaydata.Metrics127, gatewaydata.DefaultRequest),
		oddMetrics(),
	} {
		b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cfg := createDefaultConfig().(*Config)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		in := pmetric.NewMetrics()
		req.Metrics().CopyTo(in)

		ctx := context.Background()
		sink := new(consumertest.MetricsSink)
		p, err := NewFactory().CreateMetrics(ctx, processortest.NewNopSettings(metadata.Type), cfg, sink)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(ctx, componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
		if err := p.ConsumeMetrics(ctx, req.Metrics()); err != nil {
			t.Fatalf("a decodable batch was refused: %v", err)
		}
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if len(sink.AllMetrics()) != 1 {
			t.Fatalf("%d batches handed on, want 1", len(sink.AllMetrics()))
		}
		out := sink.AllMetrics()[0]
		if _, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(out); err != nil {
			t.Fatalf("the output does not marshal: %v", err)
		}
		checkOnlyDocumentedChanges(t, cfg, in, out)
	})
}

func checkOnlyDocumentedChanges(t *testing.T, cfg *Config, in, out pmetric.Metrics) {
	t.Helper()
	if in.ResourceMetrics().Len() != out.ResourceMetrics().Len() {
		t.Fatalf("%d resources, the input had %d", out.ResourceMetrics().Len(), in.ResourceMetrics().Len())
	}
	for i := 0; i < in.ResourceMetrics().Len(); i++ {
		irm, orm := in.ResourceMetrics().At(i), out.ResourceMetrics().At(i)
		// service.name is copied into service_name when that is free
		want := pcommon.NewResource()
		irm.Resource().CopyTo(want)
		if v, ok := want.Attributes().Get(serviceNameKey); ok && cfg.ServiceNameOnTargetInfo {
			if _, taken := want.Attributes().Get(serviceNameLabelKey); !taken {
				want.Attributes().PutStr(serviceNameLabelKey, v.AsString())
			}
		}
		if !bytes.Equal(resourceBytes(t, want, irm.SchemaUrl()), resourceBytes(t, orm.Resource(), orm.SchemaUrl())) {
			t.Fatalf("resource %d: %v, want %v", i, orm.Resource().Attributes().AsRaw(), want.Attributes().AsRaw())
		}
		if irm.ScopeMetrics().Len() != orm.ScopeMetrics().Len() {
			t.Fatalf("resource %d: %d scopes, the input had %d", i, orm.ScopeMetrics().Len(), irm.ScopeMetrics().Len())
		}
		for j := 0; j < irm.ScopeMetrics().Len(); j++ {
			checkScope(t, cfg, irm.ScopeMetrics().At(j), orm.ScopeMetrics().At(j))
		}
	}
}

func checkScope(t *testing.T, cfg *Config, in, out pmetric.ScopeMetrics) {
	t.Helper()
	if in.SchemaUrl() != out.SchemaUrl() || !bytes.Equal(scopeBytes(t, in.Scope()), scopeBytes(t, out.Scope())) {
		t.Fatalf("scope %q changed", in.Scope().Name())
	}
	gateway := slices.Contains(cfg.GatewayScopes, in.Scope().Name())
	im, om := in.Metrics(), out.Metrics()
	if om.Len() < im.Len() {
		t.Fatalf("scope %q: %d metrics, the input had %d", in.Scope().Name(), om.Len(), im.Len())
	}
	var before, after pointCounts
	for k := 0; k < im.Len(); k++ {
		before[im.At(k).Type()] += layer.DataPointCount(im.At(k))
		after[om.At(k).Type()] += layer.DataPointCount(om.At(k))
	}
	if before != after {
		t.Fatalf("scope %q: data points by metric type %v, the input had %v", in.Scope().Name(), after, before)
	}
	hadInfo := false
	for k := 0; k < im.Len(); k++ {
		a, b := im.At(k), om.At(k)
		hadInfo = hadInfo || a.Name() == scopeInfoMetric
		unit := a.Unit()
		if gateway && slices.Contains(cfg.DropUnits, unit) {
			unit = ""
		}
		if b.Unit() != unit {
			t.Fatalf("scope %q, metric %q: unit %q, want %q (from %q)", in.Scope().Name(), a.Name(), b.Unit(), unit, a.Unit())
		}
		// everything but the unit, data points included, byte for byte
		if !bytes.Equal(metricBytes(t, a), metricBytes(t, b)) {
			t.Fatalf("scope %q, metric %q (%v, %d points) changed beyond its unit", in.Scope().Name(), a.Name(), a.Type(), layer.DataPointCount(a))
		}
	}
	added := om.Len() - im.Len()
	wantInfo := gateway && cfg.ScopeInfo && !hadInfo && im.Len() > 0
	switch {
	case wantInfo && added != 1, !wantInfo && added != 0:
		t.Fatalf("scope %q (gateway %v, %d metrics, otel_scope_info before: %v): %d metrics added", in.Scope().Name(), gateway, im.Len(), hadInfo, added)
	case added == 1:
		info := om.At(om.Len() - 1)
		if info.Name() != scopeInfoMetric || info.Type() != pmetric.MetricTypeGauge || info.Unit() != "" ||
			info.Gauge().DataPoints().Len() != 1 {
			t.Fatalf("scope %q: added %q (%v, %d points), want one otel_scope_info gauge point", in.Scope().Name(), info.Name(), info.Type(), layer.DataPointCount(info))
		}
		dp := info.Gauge().DataPoints().At(0)
		if dp.ValueType() != pmetric.NumberDataPointValueTypeInt || dp.IntValue() != 1 || dp.Attributes().Len() != 0 {
			t.Fatalf("scope %q: otel_scope_info is %v %d with %d attributes, want int 1 without attributes", in.Scope().Name(), dp.ValueType(), dp.IntValue(), dp.Attributes().Len())
		}
	}
}

// pointCounts are the data points of a batch by metric type, in the order of
// pmetric.MetricType (Empty, Gauge, Sum, Histogram, ExponentialHistogram,
// Summary).
type pointCounts [6]int

// metricBytes is a metric's wire form without its unit: bytes compare NaN
// values and the order of attributes as they are.
func metricBytes(t *testing.T, m pmetric.Metric) []byte {
	md := pmetric.NewMetrics()
	c := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.CopyTo(c)
	c.SetUnit("")
	return marshal(t, md)
}

func resourceBytes(t *testing.T, r pcommon.Resource, schemaURL string) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	r.CopyTo(rm.Resource())
	rm.SetSchemaUrl(schemaURL)
	return marshal(t, md)
}

func scopeBytes(t *testing.T, s pcommon.InstrumentationScope) []byte {
	md := pmetric.NewMetrics()
	s.CopyTo(md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Scope())
	return marshal(t, md)
}

func marshal(t *testing.T, md pmetric.Metrics) []byte {
	t.Helper()
	b, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}
