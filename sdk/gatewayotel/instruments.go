package gatewayotel

import (
	"errors"

	"go.opentelemetry.io/otel/metric"
)

// instruments are every metric of DESIGN.md section 2, in the naming chosen
// by semantic_convention.
type instruments struct {
	serverDuration metric.Float64Histogram
	serverRespSize metric.Int64Histogram

	proxyDuration   metric.Float64Histogram
	backendDuration metric.Float64Histogram

	clientDuration    metric.Float64Histogram
	clientRespSize    metric.Int64Histogram
	clientReqSize     metric.Int64Counter   // default naming
	clientReqBodySize metric.Int64Histogram // 1.27 naming
	started           metric.Int64Counter
	failed            metric.Int64Counter
	canceled          metric.Int64Counter
	timedOut          metric.Int64Counter
	noContentLength   metric.Int64Counter

	getConn metric.Float64Histogram
	dns     metric.Float64Histogram
	tls     metric.Float64Histogram

	readSize     metric.Int64Counter
	readSizeHist metric.Int64Histogram
	readTime     metric.Float64Counter
	readTimeHist metric.Float64Histogram

	// sem127 moves the round-trip counters under detailed_connection.
	sem127 bool
}

func newInstruments(m metric.Meter, sem127 bool) (*instruments, error) {
	var errs []error
	timeHist := func(name, unit string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit(unit), metric.WithExplicitBucketBoundaries(TimeBuckets...))
		errs = append(errs, err)
		return h
	}
	sizeHist := func(name, unit string) metric.Int64Histogram {
		h, err := m.Int64Histogram(name, metric.WithUnit(unit), metric.WithExplicitBucketBoundaries(SizeBuckets...))
		errs = append(errs, err)
		return h
	}
	counter := func(name, unit string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	i := &instruments{sem127: sem127}
	// Only the read.* instruments carry units in the default naming.
	sec, by := "", ""
	if sem127 {
		sec, by = "s", "By"
		i.serverDuration = timeHist("http.server.request.duration", sec)
		i.serverRespSize = sizeHist("http.server.response.body.size", by)
		i.clientDuration = timeHist("http.client.request.duration", sec)
		i.clientRespSize = sizeHist("http.client.response.body.size", by)
		i.clientReqBodySize = sizeHist("http.client.request.body.size", by)
	} else {
		i.serverDuration = timeHist("http.server.duration", "")
		i.serverRespSize = sizeHist("http.server.response.size", "")
		i.clientDuration = timeHist("http.client.duration", "")
		i.clientRespSize = sizeHist("http.client.response.size", "")
		i.clientReqSize = counter("http.client.request.size", "")
	}
	i.proxyDuration = timeHist("krakend.proxy.duration", "")
	i.backendDuration = timeHist("krakend.backend.duration", "")
	i.started = counter("http.client.request.started.count", "")
	i.failed = counter("http.client.request.failed.count", "")
	i.canceled = counter("http.client.request.canceled.count", "")
	i.timedOut = counter("http.client.request.timedout.count", "")
	i.noContentLength = counter("http.client.response.no-content-length", by)
	i.getConn = timeHist("http.client.request.get-conn.duration", sec)
	i.dns = timeHist("http.client.request.dns.duration", sec)
	i.tls = timeHist("http.client.request.tls.duration", sec)

	i.readSize = counter("http.client.response.read.size", "b")
	i.readSizeHist = sizeHist("http.client.response.read.size-hist", "b")
	rt, err := m.Float64Counter("http.client.response.read.time", metric.WithUnit("s"))
	errs = append(errs, err)
	i.readTime = rt
	i.readTimeHist = timeHist("http.client.response.read.time-hist", "s")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return i, nil
}
