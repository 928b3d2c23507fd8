// Package samplingrule is the OpenTelemetry Go SDK's TraceIDRatioBased
// decision, the rule KrakenD samples with. The sampling processor decides
// with it; the layer filter reads the same decision to spare the spans of
// traces that sampler will drop the work that only exported spans need.
// One implementation, so that the two can never disagree.
package samplingrule // import "github.com/otelcol-gateway/otelcol-gateway/internal/samplingrule"

import (
	"encoding/binary"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// SDKRatio keeps a trace when BigEndian(traceID[8:16])>>1 < Bound, as
// go.opentelemetry.io/otel/sdk/trace's TraceIDRatioBased does.
type SDKRatio struct {
	// Bound is fraction·2^63, the SDK's own expression (so the float
	// rounding is the same).
	Bound   uint64
	keepAll bool
	dropAll bool
}

// NewSDKRatio is the rule for a percentage, 0..100.
func NewSDKRatio(percentage float64) SDKRatio {
	fraction := Fraction(percentage)
	switch {
	case fraction >= 1:
		return SDKRatio{keepAll: true}
	case fraction <= 0:
		return SDKRatio{dropAll: true}
	}
	return SDKRatio{Bound: uint64(fraction * (1 << 63))}
}

// KeepsAll tells whether the rule keeps every trace.
func (r SDKRatio) KeepsAll() bool { return r.keepAll }

// DropsAll tells whether the rule keeps no trace.
func (r SDKRatio) DropsAll() bool { return r.dropAll }

// Keeps tells whether the trace is sampled.
func (r SDKRatio) Keeps(id pcommon.TraceID) bool {
	if r.keepAll {
		return true
	}
	if r.dropAll {
		return false
	}
	return binary.BigEndian.Uint64(id[8:16])>>1 < r.Bound
}

// Fraction divides a percentage by 100 by moving the decimal point of the
// shortest decimal that reads back as the percentage: `7` gives exactly the
// float64 of `0.07`, which is what KrakenD parsed from trace_sample_rate,
// where 7.0/100 and 33.3/100 may differ from it in the last bit (and the SDK
// rule compares against fraction·2^63, so one bit moves some trace IDs).
func Fraction(percentage float64) float64 {
	s := strconv.FormatFloat(percentage, 'e', -1, 64)
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return percentage / 100
	}
	e, err := strconv.Atoi(exp)
	if err != nil {
		return percentage / 100
	}
	f, err := strconv.ParseFloat(mant+"e"+strconv.Itoa(e-2), 64)
	if err != nil {
		return percentage / 100
	}
	return f
}
