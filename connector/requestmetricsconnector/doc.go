// Package requestmetricsconnector is the gateway's request-rate, error and
// latency (RED) counter: a traces → metrics connector that emits the same
// metrics as the contrib spanmetrics connector configured the way the
// translator configures it (calls and a duration histogram per resource,
// span kind, status and a few span attributes), at a fraction of its cost
// per span: the configured attributes are picked up in one pass over a span's
// attributes, a series is found by a comparable key of interned values
// instead of a string built per span, and nothing is allocated per span once
// the series exist.
package requestmetricsconnector // import "github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"
