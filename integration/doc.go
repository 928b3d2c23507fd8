// Package integration holds end-to-end tests that drive the built
// otelcol-gateway binary as a child process on loopback ports. They need the
// binary: run them with `make integration` (or set OTELCOL_GATEWAY_BIN).
package integration
