// Package defaultconfig holds otelcol-gateway's embedded default
// configuration and serves it through a confmap provider with the scheme
// `gateway` (`--config gateway:default`), which the binary uses when it is
// started without any --config flag.
package defaultconfig
