// Package prometheuscompatprocessor makes what the stock prometheus exporter
// shows of a gateway's metrics read like KrakenD's own /metrics endpoint
// (DESIGN.md section 3), which Datadog's KrakenD integration and existing
// dashboards read by name. Put it in the pipeline that ends in the prometheus
// exporter only: it changes units, adds a metric and a resource attribute,
// which other destinations need not see.
package prometheuscompatprocessor
