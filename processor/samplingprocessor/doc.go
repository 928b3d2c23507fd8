// Package samplingprocessor is the gateway's head sampler: it keeps or drops
// whole traces by a pure function of the trace ID (and an arriving W3C
// tracestate), so every span of a trace gets the same decision in any batch,
// on any replica, in any order, without coordination.
//
// Two rules are offered: OpenTelemetry's consistent probability sampling
// (OTEP 235, writing `ot=th:` into the tracestate of kept spans) and a
// bit-for-bit copy of the OpenTelemetry Go SDK's TraceIDRatioBased rule, the
// rule KrakenD itself samples with, so that a collector after a sampling
// gateway can enforce the same rate without sampling twice. Log records with
// a trace ID follow their trace; metrics pass untouched.
package samplingprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/samplingprocessor"
