// Package gatewayotel instruments a Go API gateway the way KrakenD does, so
// that its telemetry reads exactly like KrakenD's (DESIGN.md section 2) and
// the otelcol-gateway collector classifies it by layer.
//
// Setup reads the typed `telemetry/opentelemetry` namespace of a krakend.json
// (package config/krakend) and builds the tracer and meter providers with
// their OTLP exporters, the resource, the sampler and the propagators. The
// returned Telemetry instruments the gateway's three layers:
//
//   - GlobalHandler wraps the HTTP server (the global layer, a Server span
//     named by the raw path, http.server.* metrics);
//   - Endpoint(...).Proxy, or Telemetry.Proxy, wraps an endpoint's merging of
//     its backends (the proxy layer, krakend.proxy.duration);
//   - Transport wraps an http.RoundTripper for one backend (the backend
//     stage, its HTTP round trip with connection details, and the reading of
//     the response body).
//
// Where KrakenD's code departs from its documented intent, this package
// follows the intent: server.port on round-trip metrics is the backend's real
// port, skip_paths entries match in {id} as well as :id form, and a
// parametrised one also drops the global metrics of the requests it matches
// (their span has already started), upgraded connections record the global metrics once,
// url.scheme is the real scheme, gRPC OTLP can use TLS, and every replica gets
// its own service.instance.id. It also follows OpenTelemetry's semantic
// conventions where KrakenD's values do not: client.address has no port, a
// transport timeout (net.Error) counts as timed out like an expired
// deadline, and the span of a request that matched no route has no
// http.route (its metrics get KrakenD's "404 Not Found").
// A proxy or backend span tells cancellation and failure as its metrics
// do: an error gathering several (Lura's multi-error or errors.Join) is
// canceled when one member is and an error when another is not, where
// KrakenD's span looks at errors.Is alone (lura/proxy_tracer.go end).
// A panic in the code a layer wraps (the handler, Proxy's function, the
// base transport, the backend's response body) ends that layer's spans
// with the panic recorded as the SDK's span.End records one (an exception
// event with its type and message) and status Error, counts an error in
// its metrics (the global ones with status 500), and then goes on with
// the same value; in KrakenD a panic crashes the gateway, or gin's
// recovery answers it with 500.
// Smaller differences: url.full masks a password in the backend URL
// (URL.Redacted); a request body of unknown length records no size, where
// KrakenD records 0; an upgraded connection reports 101 and its global span
// and duration cover the session, where KrakenD ends them at the hijack; a
// HEAD request served by a GET pattern gets no endpoint's global static
// attributes.
//
// The package imports the OpenTelemetry Go SDK and config/krakend only; it
// never imports collector packages, so a gateway can embed it cheaply.
package gatewayotel
