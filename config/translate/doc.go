// Package translate turns the telemetry parts of a krakend.json (as decoded by
// package krakend) into a complete otelcol-gateway collector configuration:
// the `gateway` receiver, the `memory_limiter`, `layerfilter`, `sampling` and
// `batch` processors, the exporters, the `health_check` extension and the
// service pipelines, in the shapes docs/contracts.md defines. Every part of the
// YAML carries a comment saying which krakend.json value it came from.
//
// Translation is a pure function. What the collector cannot do (a switch that
// only the gateway honours, such as disable_propagation) becomes a Warning and
// a comment, never silence; what cannot be mapped honestly is an error.
//
// # Where the gateway sent, and where the collector sends
//
// An `exporters.otlp[]` entry whose host is the collector itself (localhost,
// 127.0.0.1, ::1, 0.0.0.0, or a name in Options.CollectorHosts) is where the
// gateway already delivers to the collector: it becomes a listen endpoint of
// the `gateway` receiver, gRPC or HTTP after `use_http`, on the entry's port
// (4317 by default even with use_http, as the gateway does). The first gRPC
// and the first HTTP such entry share the receiver `gateway`; entries on other
// ports get `gateway/<name>`. Every other entry is a destination the gateway
// used to reach directly: it becomes an `otlp_grpc/<name>` (gRPC, plaintext like
// the gateway) or `otlp_http/<name>` exporter toward the same host and port, so
// that the collector forwards where the gateway used to send. When no entry
// points at the collector, the receiver listens on 0.0.0.0:4317 (gRPC) and
// 0.0.0.0:4318 (HTTP) and a warning says how to point the gateway at it.
//
// Prometheus exporters become `prometheus/<name>` exporters on
// `<listen_ip or host or 0.0.0.0>:<port>`.
//
// # OpenCensus
//
// `telemetry/opencensus` (or github_com/devopsfaith/krakend-opencensus) maps
// as follows: prometheus → prometheus (with its namespace); xray → awsxray
// (region; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, since
// the awsxray exporter takes them only from the environment); datadog →
// datadog (api key ${env:DD_API_KEY}; tags as host tags); jaeger → otlp toward
// the same host on 4317, because every Jaeger since 1.35 serves OTLP there
// (a warning says the port is assumed); ocagent → the receiver's gRPC
// endpoint; logger → debug; zipkin → zipkin (collector_url, JSON); influxdb →
// influxdb (metrics, InfluxDB 1.x compatibility, the password as
// ${env:INFLUXDB_PASSWORD}); stackdriver → googlecloud (project, metric prefix;
// credentials the Google way, GOOGLE_APPLICATION_CREDENTIALS). The sample rate becomes `sampling` in `consistent` mode
// (0 = no traces, KrakenD's default); OpenTelemetry's trace_sample_rate
// becomes `sdk_parity` mode, so that a gateway that already sampled at the
// same rate loses nothing more (DESIGN.md section 5).
//
// When both namespaces are present, OpenTelemetry wins, with a warning.
package translate
