package gatewayreceiver

import (
	"context"
	"net"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/metadata"
)

const (
	serviceInstanceIDKey = "service.instance.id"
	serviceNameKey       = "service.name"
	// unknownServicePrefix starts the service.name the OpenTelemetry SDKs
	// make up when none was configured (Go: "unknown_service:<process>"):
	// a placeholder for "unset", so a configured default replaces it.
	unknownServicePrefix = "unknown_service"
)

type signalIndex int

const (
	signalTraces signalIndex = iota
	signalMetrics
	signalLogs
	numSignals
)

var signalNames = [numSignals]string{"traces", "metrics", "logs"}

// classCounts counts items per class, indexed by layer and part, so that one
// request costs one counter update per class present, not one per item.
type classCounts [layer.Backend + 1][layer.PartDetailedConnection + 1]int64

// enricher holds what the configuration decides once: the resource
// defaults, the gateway scopes, and the pre-built counter attribute sets.
type enricher struct {
	defaults         []resourceDefault
	instanceFromPeer bool
	scopes           []string
	semConv          string

	items    metric.Int64Counter
	inferred metric.Int64Counter
	refused  metric.Int64Counter
	itemOpts [numSignals][layer.Backend + 1][layer.PartDetailedConnection + 1]metric.AddOption
}

type resourceDefault struct{ key, value string }

// unset tells whether the gateway left the attribute out, empty, or, for
// service.name, as the SDK's placeholder.
func (d resourceDefault) unset(attrs pcommon.Map) bool {
	v, ok := attrs.Get(d.key)
	if !ok || namesNothing(v) {
		return true
	}
	return d.key == serviceNameKey && v.Type() == pcommon.ValueTypeStr && strings.HasPrefix(v.Str(), unknownServicePrefix)
}

// namesNothing: an empty string, or no value at all (OTLP's AnyValue left
// unset), which replicas sending it would share.
func namesNothing(v pcommon.Value) bool {
	return v.Type() == pcommon.ValueTypeEmpty || (v.Type() == pcommon.ValueTypeStr && v.Str() == "")
}

func newEnricher(cfg *Config, set component.TelemetrySettings) (*enricher, error) {
	e := &enricher{instanceFromPeer: cfg.InstanceIDFromPeer, scopes: cfg.GatewayScopes, semConv: cfg.SemanticConvention}
	for k, v := range cfg.ResourceDefaults {
		if v != "" {
			e.defaults = append(e.defaults, resourceDefault{k, v})
		}
	}
	sort.Slice(e.defaults, func(i, j int) bool { return e.defaults[i].key < e.defaults[j].key })

	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var err error
	if e.items, err = meter.Int64Counter("otelcol_receiver_gateway_items",
		metric.WithDescription("Spans, metric data points and log records received, per gateway layer."),
		metric.WithUnit("{item}")); err != nil {
		return nil, err
	}
	if e.inferred, err = meter.Int64Counter("otelcol_receiver_gateway_stage_inferred",
		metric.WithDescription("Spans from a gateway scope that lacked krakend.stage and had it inferred."),
		metric.WithUnit("{span}")); err != nil {
		return nil, err
	}
	if e.refused, err = meter.Int64Counter("otelcol_receiver_gateway_requests_refused",
		metric.WithDescription("OTLP requests refused before they reach the pipeline, per reason."),
		metric.WithUnit("{request}")); err != nil {
		return nil, err
	}
	for s := range numSignals {
		for l := layer.None; l <= layer.Backend; l++ {
			for p := layer.PartNone; p <= layer.PartDetailedConnection; p++ {
				e.itemOpts[s][l][p] = metric.WithAttributeSet(attribute.NewSet(
					attribute.String("signal", signalNames[s]),
					attribute.String("layer", layer.Class{Layer: l, Part: p}.String())))
			}
		}
	}
	return e, nil
}

func (e *enricher) isGatewayScope(name string) bool {
	for _, s := range e.scopes {
		if s == name {
			return true
		}
	}
	return false
}

// peerHost is the sending gateway's address without the port, which changes
// with every connection. A Unix socket's peer is unnamed, the same for every
// sender: it names no instance.
func peerHost(ctx context.Context) string {
	addr := client.FromContext(ctx).Addr
	if addr == nil || strings.HasPrefix(addr.Network(), "unix") {
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

func (e *enricher) fillResource(res pcommon.Resource, peer string) {
	attrs := res.Attributes()
	for _, d := range e.defaults {
		if d.unset(attrs) {
			attrs.PutStr(d.key, d.value)
		}
	}
	if peer != "" {
		// an empty id, like an empty default, names no instance: replicas
		// sending it would collide
		if v, ok := attrs.Get(serviceInstanceIDKey); !ok || namesNothing(v) {
			attrs.PutStr(serviceInstanceIDKey, peer)
		}
	}
}

func (e *enricher) peer(ctx context.Context) string {
	if !e.instanceFromPeer {
		return ""
	}
	return peerHost(ctx)
}

func (e *enricher) enrichTraces(ctx context.Context, td ptrace.Traces) {
	var counts classCounts
	var inferred int64
	peer := e.peer(ctx)
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		e.fillResource(rs.Resource(), peer)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			gateway := e.isGatewayScope(ss.Scope().Name())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				c := layer.ClassifySpan(span)
				if c == layer.Unclassified && gateway {
					if stage := layer.InferSpanStage(span); stage != "" {
						span.Attributes().PutStr(layer.StageKey, stage)
						c = layer.ClassifySpan(span)
						inferred++
					}
				}
				counts[c.Layer][c.Part]++
			}
		}
	}
	e.record(ctx, signalTraces, &counts)
	if inferred > 0 {
		e.inferred.Add(ctx, inferred)
	}
}

func (e *enricher) enrichMetrics(ctx context.Context, md pmetric.Metrics) {
	var counts classCounts
	peer := e.peer(ctx)
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		e.fillResource(rm.Resource(), peer)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			gateway := e.isGatewayScope(sm.Scope().Name())
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				c := layer.Unclassified
				if gateway {
					c = layer.ClassifyMetricNameFor(e.semConv, m.Name())
				}
				if c != layer.Unclassified {
					layer.MarkMetric(m, c)
				} else {
					// the mark is the receiver's word: one that came with the
					// data would have the processors filter a metric that
					// is no gateway layer's
					m.Metadata().Remove(layer.MetadataKey)
				}
				counts[c.Layer][c.Part] += int64(layer.DataPointCount(m))
			}
		}
	}
	e.record(ctx, signalMetrics, &counts)
}

func (e *enricher) enrichLogs(ctx context.Context, ld plog.Logs) {
	var counts classCounts
	peer := e.peer(ctx)
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		e.fillResource(rl.Resource(), peer)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				c := layer.ClassifyLogRecord(lrs.At(k))
				counts[c.Layer][c.Part]++
			}
		}
	}
	e.record(ctx, signalLogs, &counts)
}

func (e *enricher) record(ctx context.Context, s signalIndex, counts *classCounts) {
	for l := range counts {
		for p, n := range counts[l] {
			if n > 0 {
				e.items.Add(ctx, n, e.itemOpts[s][l][p])
			}
		}
	}
}

func (e *enricher) countRefused(signal, reason string) {
	e.refused.Add(context.Background(), 1, metric.WithAttributes(
		attribute.String("signal", signal), attribute.String("reason", reason)))
}
