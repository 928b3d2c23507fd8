// Package krakend reads the telemetry parts of a KrakenD configuration
// (krakend.json): the service-level namespaces `telemetry/opentelemetry`,
// `telemetry/opencensus` and its older name
// `github_com/devopsfaith/krakend-opencensus`, and the per-endpoint and
// per-backend overrides that sit in endpoint and backend `extra_config`.
//
// Parse decodes into typed structs, applies KrakenD's defaults object by object
// exactly as the gateway does (krakend-otel config/config.go, see defaults.go),
// and validates what the gateway would refuse or misbehave on. Every problem is
// an *Error naming the file, the JSON path (or line and column for syntax) and
// the reason on one line; several are returned together as Errors.
//
// A service-level namespace written `null` is not an absent one: KrakenD keeps
// the key and decodes null into an empty configuration (telemetry on, every
// default, no exporter), so it is refused like `{}`, with a reason that says
// so. A null override in an endpoint's or backend's extra_config overrides
// nothing, as in the gateway.
//
// Only the telemetry namespaces are checked strictly: unknown keys there are
// errors (with a did-you-mean), while other KrakenD features are ignored. Keys
// starting with `@`, `$`, `_` or `#` are comments and accepted everywhere.
// Secret values (X-Ray keys, InfluxDB password, OC agent headers) are held as
// Secret and never written into an error message.
//
// The package imports only the standard library, so the translator, the
// `krakend:` config source and the Go SDK can all share it.
package krakend
