package layerfilterprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/internal/samplingrule"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

const serviceNameKey = "service.name"

// layerFilter is one processor instance (one signal) with its compiled
// policies.
type layerFilter struct {
	def      *policy
	services map[string]*policy // by service.name; nil when none are configured

	dropped metric.Int64Counter
	// addOpts[layer][reason] carries the precomputed attribute set of the
	// dropped-items counter, so that recording allocates nothing.
	addOpts [layer.Backend + 1][numReasons][]metric.AddOption

	// reparent is set for traces when some policy may orphan a kept span.
	reparent *reparenter

	// names adds the destination attributes to kept gateway spans.
	names destinationNamer

	// exported is the rule of the sampler after this filter, when
	// unsampled_traces names it: spans of traces it drops get no static
	// attributes.
	exported *samplingrule.SDKRatio
}

func newLayerFilter(set processor.Settings, cfg *Config, signal string) (*layerFilter, error) {
	f := &layerFilter{def: compilePolicy(&cfg.Policy), names: newDestinationNamer(cfg.DestinationNames)}
	if len(cfg.Services) > 0 {
		f.services = make(map[string]*policy, len(cfg.Services))
		for i := range cfg.Services {
			f.services[cfg.Services[i].ServiceName] = compilePolicy(&cfg.Services[i].Policy)
		}
	}
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	f.dropped = tb.ProcessorLayerfilterDroppedItems
	if p := cfg.UnsampledTraces.SDKParityPercentage; signal == "traces" && p != nil {
		if r := samplingrule.NewSDKRatio(*p); !r.KeepsAll() {
			f.exported = &r
		}
	}
	if signal == "traces" && cfg.Reparent.Enabled && f.markReparenting() {
		f.reparent = newReparenter(set.TelemetrySettings, cfg.Reparent, tb)
	}
	for l := layer.Global; l <= layer.Backend; l++ {
		for r := reasonLayerDisabled; r < numReasons; r++ {
			s := attribute.NewSet(
				attribute.String("signal", signal),
				attribute.String("layer", l.String()),
				attribute.String("reason", r.String()),
			)
			f.addOpts[l][r] = []metric.AddOption{metric.WithAttributeSet(s)}
		}
	}
	return f, nil
}

// markReparenting decides, per policy, whether batches pay for
// re-parenting, and tells whether any does.
func (f *layerFilter) markReparenting() bool {
	f.def.reparent = f.def.orphans.any()
	anyPolicy := f.def.reparent
	for _, p := range f.services {
		p.reparent = p.orphans.any()
		anyPolicy = anyPolicy || p.reparent
	}
	return anyPolicy
}

// policyFor selects the policy of a resource by its service.name.
func (f *layerFilter) policyFor(res pcommon.Resource) *policy {
	if f.services == nil {
		return f.def
	}
	if name := getStr(res.Attributes(), serviceNameKey); name != "" {
		if p, ok := f.services[name]; ok {
			return p
		}
	}
	return f.def
}

// dropCounts accumulates one batch's drops before they are recorded.
type dropCounts [layer.Backend + 1][numReasons]int64

func (c *dropCounts) add(l layer.Layer, r dropReason, n int) {
	if l <= layer.Backend {
		c[l][r] += int64(n)
	}
}

func (f *layerFilter) record(ctx context.Context, c *dropCounts) {
	for l := layer.Global; l <= layer.Backend; l++ {
		for r := reasonLayerDisabled; r < numReasons; r++ {
			if n := c[l][r]; n > 0 {
				f.dropped.Add(ctx, n, f.addOpts[l][r]...)
			}
		}
	}
}
