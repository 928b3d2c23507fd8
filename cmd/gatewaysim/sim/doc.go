// Package sim plays an API gateway for load and integration tests: N
// endpoints with M backends each, driven at a request rate with error and
// timeout rates, latency and payload distributions, instrumented by
// sdk/gatewayotel and sending OTLP to a collector. It records the ground
// truth (spans per layer and per trace, requests per endpoint and status) so
// a test can compare it with what the collector received.
//
// Requests go through the real instrumented chain: the gateway's
// GlobalHandler is called in-process (no client socket), and every backend
// call is a real HTTP request to an in-process httptest server through
// Telemetry.Transport. This keeps the telemetry exactly what a gateway
// produces (connection timings, body reading, propagation, transport
// errors and timeouts) while halving the sockets a high rate needs.
package sim
