// Package layer is the one place that knows KrakenD's telemetry layers.
//
// A gateway's spans, metrics and logs belong to the global layer (the HTTP
// server, "router" in OpenCensus), the proxy layer ("pipe": the endpoint's
// merging of backends) or the backend layer (one per backend call, with its
// round trip, connection details and payload reading as parts). The receiver
// classifies every item once and marks it; processors read the mark through
// the functions here instead of deciding again.
package layer
