//go:build !linux

package startuppagesextension // import "github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension"

func releaseExecutablePages() (released, error) { return released{}, errUnsupported }
