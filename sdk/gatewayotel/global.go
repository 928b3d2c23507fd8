package gatewayotel

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// GlobalHandler instruments the gateway's HTTP server (the global layer):
// one Server span per request named by the raw request path, and the
// http.server.* metrics. routeOf names the endpoint pattern a request matched
// (colon form, "" when none); it is called after next has served the request,
// with the request next received. A nil routeOf reads net/http's
// ServeMux pattern (RouteFromPattern).
//
// A panic in next ends the span as an error with the panic recorded, counts
// in the metrics with status 500, and goes on to net/http.
//
// Requests whose raw path is in skip_paths pass through untouched: no span,
// no metrics, no header extraction. A parametrised skip path (written in
// either {id} or :id form) skips the metrics of the requests it matches.
func (t *Telemetry) GlobalHandler(next http.Handler, routeOf func(*http.Request) string) http.Handler {
	if routeOf == nil {
		routeOf = RouteFromPattern
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t.skipped(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ctx := r.Context()
		if !t.global.DisablePropagation {
			ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
		}
		var span trace.Span
		if !t.global.DisableTraces {
			ctx, span = t.tracer.Start(ctx, r.URL.Path,
				trace.WithSpanKind(trace.SpanKindServer),
				trace.WithTimestamp(start),
				trace.WithAttributes(t.globalStartAttributes(r)...))
		}
		rw := &responseWriter{ResponseWriter: w}
		r = r.WithContext(ctx)
		// A panicking handler still ends its span and counts in the
		// metrics, and the panic goes on to net/http, raised from here so
		// that its trace keeps the handler's frames. KrakenD's global
		// layer wraps gin, whose Recovery answers a panic with 500.
		returned := false
		defer func() {
			var recovered any
			if !returned {
				recovered = recover() // nil when the handler called runtime.Goexit
				if rw.status == 0 {
					rw.status = http.StatusInternalServerError
				}
			}
			route := routeOf(r)
			status := rw.status
			if status == 0 {
				status = http.StatusOK
			}
			// Only a configured endpoint adds attributes here; looking up any
			// other would cache one Endpoint per method a client sends.
			var ep *Endpoint
			if route != "" && t.configured[endpointKey(ColonRoute(route), r.Method)] != nil {
				ep = t.Endpoint(route, r.Method)
			}
			if span != nil {
				attrs := make([]attribute.KeyValue, 0, 8)
				if route != "" {
					attrs = append(attrs, attribute.String("http.route", route))
				}
				attrs = append(attrs,
					attribute.Int("http.response.status_code", status),
					attribute.Int64("http.response.body.size", rw.written))
				if rw.hijacked {
					attrs = append(attrs, attribute.Bool("http.connection.hijacked", true))
				}
				if rw.hijackErr != nil {
					attrs = append(attrs, attribute.String("http.connection.error", rw.hijackErr.Error()))
				}
				if t.global.ReportHeaders {
					attrs = append(attrs, headerAttributes("http.response.header.", rw.Header(), t.globalSkipHdr)...)
				}
				if ep != nil {
					attrs = append(attrs, ep.globalTraceAttrs...)
				}
				span.SetAttributes(attrs...)
				// Only a failed write is an error of the global layer: a 5xx
				// the gateway wrote successfully stays Ok. KrakenD also records
				// the first write error as an exception event
				// (http/server/traces.go end). A handler that did not return
				// failed to write: net/http aborts its response.
				switch {
				case recovered != nil:
					recordPanic(span, recovered)
				case !returned:
					span.SetStatus(codes.Error, errGoexit.Error())
				case rw.writeErr != nil:
					span.RecordError(rw.writeErr)
					span.SetStatus(codes.Error, rw.writeErr.Error())
				default:
					span.SetStatus(codes.Ok, "")
				}
				span.End()
			}
			if recovered != nil {
				defer panic(recovered) // once the metrics are recorded
			}
			if t.global.DisableMetrics || (route != "" && t.skipped(route)) {
				return
			}
			// The matched route first, as KrakenD's EndpointPattern
			// (http/server/tracking.go:39-47): only an upgrade outside any
			// endpoint is "Upgraded Connection".
			metricRoute := route
			switch {
			case route != "":
			case rw.hijacked:
				metricRoute = "Upgraded Connection"
			default:
				metricRoute = strconv.Itoa(status) + " " + http.StatusText(status)
			}
			scheme := "http"
			if r.TLS != nil {
				scheme = "https"
			}
			// The service's static attributes, then the endpoint's, then
			// the fixed ones: the later wins (http/server/metrics.go:79-88).
			attrs := make([]attribute.KeyValue, 0, 4+len(t.globalMetricAtt)+2)
			attrs = append(attrs, t.globalMetricAtt...)
			if ep != nil {
				attrs = append(attrs, ep.globalMetricAttrs...)
			}
			attrs = append(attrs,
				attribute.String("http.request.method", metricMethod(r.Method)),
				attribute.String("url.scheme", scheme),
				attribute.String("http.route", metricRoute),
				attribute.Int("http.response.status_code", status))
			set := metric.WithAttributeSet(attribute.NewSet(attrs...))
			ctx = r.Context()
			t.inst.serverDuration.Record(ctx, time.Since(start).Seconds(), set)
			t.inst.serverRespSize.Record(ctx, rw.written, set)
		}()
		next.ServeHTTP(rw, r)
		returned = true
	})
}

func (t *Telemetry) globalStartAttributes(r *http.Request) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 8+len(t.globalTraceAttr))
	attrs = append(attrs,
		attribute.String(StageKey, StageGlobal),
		attribute.String("url.full", r.URL.RequestURI()), // path and query only
		attribute.String("server.address", r.Host),
		attribute.String("http.request.method", r.Method))
	if r.ContentLength >= 0 { // a server request's 0 means no body; -1 unknown
		attrs = append(attrs, attribute.Int64("http.request.body.size", r.ContentLength))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, attribute.String("user_agent.original", ua))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, attribute.String("client.address", host))
	} else if r.RemoteAddr != "" {
		attrs = append(attrs, attribute.String("client.address", r.RemoteAddr))
	}
	attrs = append(attrs, t.globalTraceAttr...)
	if t.global.ReportHeaders {
		attrs = append(attrs, headerAttributes("http.request.header.", r.Header, t.globalSkipHdr)...)
	}
	return attrs
}

// responseWriter records what the gateway wrote.
type responseWriter struct {
	http.ResponseWriter
	status    int
	written   int64
	writeErr  error
	hijacked  bool
	hijackErr error
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are informational
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	if err != nil && w.writeErr == nil {
		w.writeErr = err
	}
	return n, err
}

func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack lets WebSocket upgrades through and records them.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		w.hijackErr = http.ErrNotSupported
		return nil, nil, http.ErrNotSupported
	}
	c, rw, err := h.Hijack()
	if err != nil {
		w.hijackErr = err
	} else {
		w.hijacked = true
		if w.status == 0 {
			w.status = http.StatusSwitchingProtocols
		}
	}
	return c, rw, err
}

// Unwrap serves http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
