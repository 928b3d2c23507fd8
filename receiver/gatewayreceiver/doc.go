// Package gatewayreceiver receives OTLP (gRPC and HTTP) from an instrumented
// API gateway and knows the gateway's layers: it classifies every span, metric
// and log record as global, proxy or backend (see internal/layer), marks it so
// that processors need not decide again, fills the resource attributes the
// gateway left empty, and counts what it received per layer.
package gatewayreceiver
