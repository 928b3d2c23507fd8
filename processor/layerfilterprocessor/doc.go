// Package layerfilterprocessor applies KrakenD's `layers` settings in the
// collector: it drops the spans, metrics and log records of disabled layers
// and backend switches, drops the data of skipped paths, strips and redacts
// header attributes, and adds the configured static attributes, per service,
// per endpoint and per backend.
//
// It reads the layer marks of the gateway receiver through internal/layer
// and decides everything that depends only on its configuration once, when
// the processor is created, so that the per-span work is a few look-ups.
package layerfilterprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor"
