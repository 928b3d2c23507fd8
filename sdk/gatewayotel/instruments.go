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
	// desc is a description given only with semantic_convention 1.27, as
	// KrakenD does (http/server/metrics.go:98-110,
	// http/client/transport_metrics.go:98-139).
	desc := func(d string) string {
		if sem127 {
			return d
		}
		return ""
	}
	timeHist := func(name, unit, description string) metric.Float64Histogram {
		h, err := m.Float64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc(description)), metric.WithExplicitBucketBoundaries(TimeBuckets...))
		errs = append(errs, err)
		return h
	}
	sizeHist := func(name, unit, description string) metric.Int64Histogram {
		h, err := m.Int64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc(description)), metric.WithExplicitBucketBoundaries(SizeBuckets...))
		errs = append(errs, err)
		return h
	}
	counter := func(name, unit, description string) metric.Int64Counter {
		c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc(description)))
		errs = append(errs, err)
		return c
	}
	i := &instruments{sem127: sem127}
	// Only the read.* instruments carry units in the default naming.
	sec, by := "", ""
	if sem127 {
		// Names, units and descriptions of semconv v1.27.0.
		sec, by = "s", "By"
		i.serverDuration = timeHist("http.server.request.duration", sec, "Duration of HTTP server requests.")
		i.serverRespSize = sizeHist("http.server.response.body.size", by, "Size of HTTP server response bodies.")
		i.clientDuration = timeHist("http.client.request.duration", sec, "Duration of HTTP client requests.")
		i.clientRespSize = sizeHist("http.client.response.body.size", by, "Size of HTTP client response bodies.")
		i.clientReqBodySize = sizeHist("http.client.request.body.size", by, "Size of HTTP client request bodies.")
	} else {
		i.serverDuration = timeHist("http.server.duration", "", "")
		i.serverRespSize = sizeHist("http.server.response.size", "", "")
		i.clientDuration = timeHist("http.client.duration", "", "")
		i.clientRespSize = sizeHist("http.client.response.size", "", "")
		i.clientReqSize = counter("http.client.request.size", "", "")
	}
	i.proxyDuration = timeHist("krakend.proxy.duration", "", "")
	i.backendDuration = timeHist("krakend.backend.duration", "", "")
	i.started = counter("http.client.request.started.count", "", "")
	i.failed = counter("http.client.request.failed.count", "", "")
	i.canceled = counter("http.client.request.canceled.count", "", "")
	i.timedOut = counter("http.client.request.timedout.count", "", "")
	i.noContentLength = counter("http.client.response.no-content-length", by, "Client received responses that do not have 'Content-Length' value set")
	i.getConn = timeHist("http.client.request.get-conn.duration", sec, "Time spent acquiring a client connection")
	i.dns = timeHist("http.client.request.dns.duration", sec, "Time spent resolving the DNS name")
	i.tls = timeHist("http.client.request.tls.duration", sec, "Time spent on TLS negotiation and connection")

	i.readSize = counter("http.client.response.read.size", "b", "")
	i.readSizeHist = sizeHist("http.client.response.read.size-hist", "b", "")
	rt, err := m.Float64Counter("http.client.response.read.time", metric.WithUnit("s"))
	errs = append(errs, err)
	i.readTime = rt
	i.readTimeHist = timeHist("http.client.response.read.time-hist", "s", "")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return i, nil
}
