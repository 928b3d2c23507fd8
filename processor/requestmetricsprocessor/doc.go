// Package requestmetricsprocessor counts every span of its traces pipeline
// for the requestmetrics connector of the same component ID, where it
// stands: before the sampler. With it, one traces pipeline both counts and
// samples: the sampler is that pipeline's only consumer of the spans and
// samples them in place, where a split pipeline (the connector beside the
// sampler) makes the sampler copy what it keeps. See README.md.
package requestmetricsprocessor // import "github.com/otelcol-gateway/otelcol-gateway/processor/requestmetricsprocessor"
