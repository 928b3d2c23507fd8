// Package requestmetrics holds the differential test and the benchmark of
// the requestmetrics connector against the contrib spanmetrics connector it
// replaces in the translation (issue #12): same KrakenD-shaped batches, same
// configuration (the translator's), same clock; the emitted metrics must be
// equal.
package requestmetrics
