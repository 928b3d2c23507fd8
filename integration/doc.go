// Package integration holds end-to-end tests that drive the built
// otelcol-gateway binary as a child process on loopback ports. They need the
// binary: run them with `make integration` (or set OTELCOL_GATEWAY_BIN).
//
// The testbed scenarios (testbed_test.go) run the binary through the contrib
// testbed's child-process runner, which records its CPU and RSS against a
// ResourceSpec; their results go to testoutput/testbed/.
package integration
