// Package startuppagesextension gives back to the kernel, once every
// pipeline has started, the pages of the collector's executable that
// start-up read and the pipelines never run again.
//
// A distribution with five vendors' exporters is a large executable, and
// starting it (the package initialisation of every vendor's libraries, the
// factories of every component) reads more than half of its code and
// read-only data. Those pages stay resident and count in the process's RSS
// and in its container's working set, although they are clean and the
// kernel could drop them. Once the collector is ready the extension asks the
// kernel to page them out (MADV_PAGEOUT) and to stop reading ahead around
// later faults on them (MADV_RANDOM), so that what comes back is the code
// and data the pipelines use, page by page. Linux only; elsewhere it does
// nothing.
package startuppagesextension // import "github.com/otelcol-gateway/otelcol-gateway/extension/startuppagesextension"
