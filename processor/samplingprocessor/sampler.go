package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"

import (
	"encoding/binary"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-gateway/otelcol-gateway/internal/samplingrule"
)

// thresholdPrecision is the number of significant hex digits of the `th`
// written into tracestate (the contrib probabilistic sampler's default): a
// short header, and a probability error below 16^-4 relative to 1-p.
const thresholdPrecision = 4

// policy is everything one percentage needs on the hot path, computed once
// at start-up.
type policy struct {
	percentage float64
	keepAll    bool
	dropAll    bool

	// consistent mode
	threshold sampling.Threshold
	// tracestate written on a kept span that arrived with none: "ot=th:…".
	otTraceState string

	// sdk_parity mode: the Go SDK's rule, shared with the layer filter.
	sdk samplingrule.SDKRatio
	// sdkTail is ";th:…" after the rv written on a kept span: the
	// threshold every kept trace's rv meets (see sdkRandomness), which is
	// sdkThreshold.
	sdkTail      string
	sdkThreshold sampling.Threshold
}

func newPolicy(percentage float64) policy {
	p := policy{percentage: percentage, sdk: samplingrule.NewSDKRatio(percentage)}
	fraction := samplingrule.Fraction(percentage)
	switch {
	case fraction >= 1:
		p.keepAll = true
		p.threshold = sampling.AlwaysSampleThreshold
	case fraction <= 0:
		p.dropAll = true
		p.threshold = sampling.NeverSampleThreshold
	default:
		th, err := sampling.ProbabilityToThresholdWithPrecision(fraction, thresholdPrecision)
		if err != nil {
			// Below 2^-56: not representable, so nothing is kept.
			th = sampling.NeverSampleThreshold
			p.dropAll = true
		}
		p.threshold = th
		p.otTraceState = "ot=th:" + th.TValue()
		if bound := p.sdk.Bound; bound > 0 {
			// every kept x < bound has sdkRandomness ≥ this threshold
			if sth, err := sampling.UnsignedToThreshold(maxRandomness - (bound-1)>>7); err == nil {
				p.sdkTail, p.sdkThreshold = ";th:"+sth.TValue(), sth
			}
		}
	}
	return p
}

// maxRandomness is the largest 56-bit randomness value.
const maxRandomness = 1<<56 - 1

// sdkRandomness maps the SDK rule's decision variable onto OTEP 235's
// randomness, reversed: the SDK keeps small values of x =
// BigEndian(traceID[8:16])>>1, OTEP 235 keeps large randomness. With
// rv = 2^56-1 - x>>7 written beside th = 2^56-1 - (bound-1)>>7, every span
// the SDK rule kept satisfies rv ≥ th, and a later consistent sampler at a
// lower probability keeps a subset of these traces: the chain stays
// consistent, and th gives the adjusted count 1/p.
func sdkRandomness(id pcommon.TraceID) uint64 {
	return maxRandomness - (binary.BigEndian.Uint64(id[8:16])>>1)>>7
}

// sdkTraceState is "ot=rv:<14 hex digits>;th:<threshold>" for a kept trace.
func (p *policy) sdkTraceState(id pcommon.TraceID) string {
	const hexDigits = "0123456789abcdef"
	buf := make([]byte, 0, len("ot=rv:")+14+len(p.sdkTail))
	buf = append(buf, "ot=rv:"...)
	rv := sdkRandomness(id)
	for shift := 52; shift >= 0; shift -= 4 {
		buf = append(buf, hexDigits[(rv>>uint(shift))&0xf])
	}
	buf = append(buf, p.sdkTail...)
	return string(buf)
}

// keepSDK is the OpenTelemetry Go SDK's TraceIDRatioBased decision.
func (p *policy) keepSDK(id pcommon.TraceID) bool {
	return p.sdk.Keeps(id)
}

// keepConsistentID is the OTEP 235 decision for an item with no tracestate:
// randomness from the trace ID's low 56 bits.
func (p *policy) keepConsistentID(id pcommon.TraceID) bool {
	if p.keepAll {
		return true
	}
	if p.dropAll {
		return false
	}
	return p.threshold.ShouldSample(sampling.TraceIDToRandomness(id))
}

// keepConsistent is the OTEP 235 decision for a span with a non-empty
// tracestate. It returns the tracestate the kept span must carry (rewrite
// false: leave it as it is).
//
// An arriving `rv` replaces the trace ID's randomness. An arriving `th`
// higher than ours (an earlier stage kept less) is the effective threshold
// and stays; never raising a probability an earlier stage lowered. A
// malformed tracestate is left untouched and the trace ID decides.
func (p *policy) keepConsistent(id pcommon.TraceID, raw string) (keep bool, out string, rewrite bool) {
	if p.keepAll {
		return true, "", false
	}
	if p.dropAll {
		return false, "", false
	}
	w3c, err := sampling.NewW3CTraceState(raw)
	if err != nil {
		return p.threshold.ShouldSample(sampling.TraceIDToRandomness(id)), "", false
	}
	ot := w3c.OTelValue()
	rnd, hasRV := ot.RValueRandomness()
	if !hasRV {
		rnd = sampling.TraceIDToRandomness(id)
	}
	if arriving, hasTH := ot.TValueThreshold(); hasTH && !sampling.ThresholdLessThan(arriving, p.threshold) {
		return arriving.ShouldSample(rnd), "", false
	}
	if !p.threshold.ShouldSample(rnd) {
		return false, "", false
	}
	if err := ot.UpdateTValueWithSampling(p.threshold); err != nil {
		return true, "", false // unreachable: ours is the higher threshold
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	if err := w3c.Serialize(&b); err != nil || !wellFormed(b.String()) {
		// Kept, its tracestate as it came: written, the th would make
		// it one no reader reads (31 members and no ot entry, or too long).
		return true, "", false
	}
	return true, b.String(), true
}

// sdkOverOT returns the tracestate of a span the SDK rule kept that arrived
// with an ot entry: an earlier stage's. Its th is raised to ours when ours
// is higher (this stage kept less) and its rv meets ours, so that the
// adjusted count stays true; rewrite is false when it stays as it came (a
// malformed one included).
func (p *policy) sdkOverOT(raw string) (out string, rewrite bool) {
	w3c, err := sampling.NewW3CTraceState(raw)
	if err != nil {
		return "", false
	}
	ot := w3c.OTelValue()
	if arriving, hasTH := ot.TValueThreshold(); hasTH && !sampling.ThresholdLessThan(arriving, p.sdkThreshold) {
		return "", false
	}
	// Only an rv that meets our th (an earlier sdk_parity stage's, made
	// from the same variable) makes the raised th true of the span.
	if rv, hasRV := ot.RValueRandomness(); !hasRV || !p.sdkThreshold.ShouldSample(rv) {
		return "", false
	}
	if err := ot.UpdateTValueWithSampling(p.sdkThreshold); err != nil {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(raw) + 16)
	if err := w3c.Serialize(&b); err != nil {
		return "", false
	}
	return b.String(), true
}
