// Package translate turns the telemetry parts of a krakend.json (as decoded by
// package krakend) into a complete otelcol-gateway collector configuration:
// the `gateway` receiver, the `memory_limiter`, `layerfilter` and `sampling`
// processors (`batch` only before `awsxray`, which has no sending queue), the
// exporters, the `health_check` extension and the service pipelines, in the shapes docs/contracts.md defines. Every part of the
// YAML carries a comment saying which krakend.json value it came from.
//
// Translation is a pure function. What the collector cannot do (a switch that
// only the gateway honours, such as disable_propagation) becomes a Warning and
// a comment, never silence; what cannot be mapped honestly is an error (a
// static attribute key containing `::`, for one: the collector reads `::` in
// a configuration key as a path separator, so the key cannot be written).
//
// # Where the gateway sent, and where the collector sends
//
// An `exporters.otlp[]` entry whose host is the collector itself (localhost,
// 127.0.0.1, ::1, 0.0.0.0 or ::, IPv6 with or without brackets, or a name in
// Options.CollectorHosts) is where the
// gateway already delivers to the collector: it becomes a listen endpoint of
// the `gateway` receiver, gRPC or HTTP after `use_http`, on the entry's port
// (4317 by default even with use_http, as the gateway does). The first gRPC
// and the first HTTP such entry share the receiver `gateway`; entries on other
// ports get `gateway/<name>`. Every other entry is a destination the gateway
// used to reach directly: it becomes an `otlp_grpc/<name>` (gRPC, plaintext like
// the gateway's, https:// included, with a warning then) or `otlp_http/<name>` exporter toward the same host and port, so
// that the collector forwards where the gateway used to send (an IPv6 address
// as [addr]:port; one written without brackets is warned about, since the
// gateway appends :port to it). When no entry
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
// datadog (api key ${env:DD_API_KEY}, site ${env:DD_SITE}, hostname
// ${env:DD_HOSTNAME}, as the overlay has them; tags as host tags); jaeger → otlp toward
// the same host on 4317, because every Jaeger since 1.35 serves OTLP there
// (a warning says the port is assumed); ocagent → the receiver's gRPC
// endpoint; logger → debug; zipkin → zipkin (traces: endpoint from
// collector_url, JSON; credentials in the URL become an Authorization header
// from ${env:ZIPKIN_BASIC_AUTH}; ip/port have no equivalent, a warning);
// influxdb → influxdb (metrics only: endpoint from address, /write appended
// to an address with a path as the OpenCensus client did; v1_compatibility
// with db, username and the password as ${env:INFLUXDB_PASSWORD}; timeout;
// ping and buffer_size have no equivalent, a warning); stackdriver →
// googlecloud (traces and metrics: project from project_id; metric.prefix
// from metric_prefix, under custom.googleapis.com/opencensus/ unless it names
// a domain, as OpenCensus did; default_labels become resource defaults that
// metric.resource_filters copies onto every time series; credentials the
// Google way, GOOGLE_APPLICATION_CREDENTIALS or the platform's identity).
// Service names (jaeger, zipkin, ocagent, datadog, influxdb, in that order,
// else the root name) become the receiver's service.name default. zipkin and
// influxdb get sending_queue and retry_on_failure; googlecloud has no
// retry_on_failure and keeps its default queue. The sample rate becomes
// the `sampling` percentage (0 = no traces, KrakenD's default), in
// `sdk_parity` mode, as OpenTelemetry's trace_sample_rate does: OpenCensus
// sends no OTLP, so the gateway feeding the collector will run
// telemetry/opentelemetry, whose SDK rule this is (a warning says to carry
// the rate over as trace_sample_rate). A gateway that already sampled at the
// same rate then loses nothing more of the traces it started (DESIGN.md
// section 5); OTEP 235 at r after it would keep r². The gateway's sampler is
// parent-based, so it also keeps every trace a caller sampled, which the
// collector samples again (a warning says so, unless disable_propagation is
// set); Options.Sampling = SamplingGateway leaves sampling to the gateway:
// the sampler keeps 100 % and no request metrics are counted from spans.
// Otherwise the request metrics weigh the gateway's own sample back
// (requestmetrics upstream_sampling at the file's rate: its SDK writes no
// threshold), except where endpoints sample at rates of their own (a
// warning).
//
// When both namespaces are present, OpenTelemetry wins, with a warning.
package translate
