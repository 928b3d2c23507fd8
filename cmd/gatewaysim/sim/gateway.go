package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

// job is one client request, its fate drawn in advance so the run is
// reproducible from its seed.
type job struct {
	endpoint int
	id       int
	backends []backendCall
	// callerTrace and callerSpan, when set, are the trace and parent span
	// of a caller's sampled traceparent (hex).
	callerTrace, callerSpan string
}

type backendCall struct {
	status  int
	delay   time.Duration
	size    int
	timeout bool
}

type endpoint struct {
	route    string // colon form
	ep       *gatewayotel.Endpoint
	backends []*http.Client
	patterns []string
}

type gateway struct {
	cfg       Config
	backend   string
	endpoints []endpoint
	handler   http.Handler
}

func newGateway(tel *gatewayotel.Telemetry, backendURL string, cfg Config) *gateway {
	g := &gateway{cfg: cfg, backend: backendURL}
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = cfg.Workers * cfg.Backends
	mux := http.NewServeMux()
	for i := 0; i < cfg.Endpoints; i++ {
		route := fmt.Sprintf("/ep%d/{id}", i)
		e := endpoint{route: gatewayotel.ColonRoute(route), ep: tel.Endpoint(route, http.MethodGet)}
		for j := 0; j < cfg.Backends; j++ {
			pattern := fmt.Sprintf("/svc%d/b%d/{id}", i, j)
			e.patterns = append(e.patterns, pattern)
			// No ClientName: KrakenD's clientname is the backend's pattern
			// (krakend-otel lura/backend.go:121).
			e.backends = append(e.backends, &http.Client{Transport: tel.Transport(base, gatewayotel.BackendInfo{
				EndpointRoute: route, EndpointMethod: http.MethodGet, URLPattern: pattern,
			})})
		}
		g.endpoints = append(g.endpoints, e)
		idx := i
		mux.HandleFunc("GET "+route, func(w http.ResponseWriter, r *http.Request) { g.proxy(w, r, idx) })
	}
	g.handler = tel.GlobalHandler(mux, nil)
	return g
}

func (g *gateway) next(rng *rand.Rand) job {
	j := job{endpoint: rng.IntN(len(g.endpoints)), id: rng.IntN(1000)}
	for range g.cfg.Backends {
		c := backendCall{
			status: http.StatusOK,
			delay:  time.Duration(rng.ExpFloat64() * float64(g.cfg.Latency)),
			size:   int(rng.ExpFloat64()*float64(g.cfg.PayloadSize)) + 1,
		}
		switch p := rng.Float64(); {
		case p < g.cfg.TimeoutRate:
			c.timeout = true
			c.delay = 2 * g.cfg.BackendTimeout
		case p < g.cfg.TimeoutRate+g.cfg.ErrorRate:
			c.status = http.StatusInternalServerError
		}
		j.backends = append(j.backends, c)
	}
	if g.cfg.CallerSampled > 0 && rng.Float64() < g.cfg.CallerSampled {
		j.callerTrace = fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())
		j.callerSpan = fmt.Sprintf("%016x", rng.Uint64()|1) // never the invalid all-zero ID
	}
	return j
}

type jobKey struct{}

// serve runs one request through the instrumented gateway and returns its
// status.
func (g *gateway) serve(j job) int {
	path := strings.Replace(g.endpoints[j.endpoint].route, ":id", strconv.Itoa(j.id), 1)
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req = req.WithContext(context.WithValue(req.Context(), jobKey{}, j))
	req.Header.Set("User-Agent", "gatewaysim")
	if j.callerTrace != "" {
		req.Header.Set("Traceparent", "00-"+j.callerTrace+"-"+j.callerSpan+"-01")
	}
	rec := &discardWriter{header: http.Header{}}
	g.handler.ServeHTTP(rec, req)
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}

// proxy merges the endpoint's backends concurrently, as KrakenD does.
func (g *gateway) proxy(w http.ResponseWriter, r *http.Request, idx int) {
	e := g.endpoints[idx]
	j, _ := r.Context().Value(jobKey{}).(job)
	var size int
	status, err := e.ep.Proxy(r.Context(), r.Header, func(ctx context.Context) (int, error) {
		errs := make(chan error, len(e.backends))
		sizes := make(chan int, len(e.backends))
		for b, client := range e.backends {
			call := j.backends[b]
			go func() {
				n, err := g.callBackend(ctx, client, e.patterns[b], r.PathValue("id"), call)
				sizes <- n
				errs <- err
			}()
		}
		var all []error
		for range e.backends {
			size += <-sizes
			if err := <-errs; err != nil {
				all = append(all, err)
			}
		}
		if err := errors.Join(all...); err != nil {
			return http.StatusInternalServerError, err
		}
		return http.StatusOK, nil
	})
	if err != nil {
		http.Error(w, "backend failed", status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(make([]byte, size))
}

func (g *gateway) callBackend(ctx context.Context, c *http.Client, pattern, id string, call backendCall) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, g.cfg.BackendTimeout)
	defer cancel()
	url := g.backend + strings.Replace(gatewayotel.ColonRoute(pattern), ":id", id, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Sim-Status", strconv.Itoa(call.status))
	req.Header.Set("X-Sim-Delay", call.delay.String())
	req.Header.Set("X-Sim-Size", strconv.Itoa(call.size))
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return int(n), err
	}
	if resp.StatusCode >= 400 {
		return int(n), fmt.Errorf("backend %s answered %d", pattern, resp.StatusCode)
	}
	return int(n), nil
}

// serveBackend answers after X-Sim-Delay with X-Sim-Size bytes and status
// X-Sim-Status, or gives up when the gateway does.
func serveBackend(w http.ResponseWriter, r *http.Request) {
	delay, _ := time.ParseDuration(r.Header.Get("X-Sim-Delay"))
	size, _ := strconv.Atoi(r.Header.Get("X-Sim-Size"))
	status, _ := strconv.Atoi(r.Header.Get("X-Sim-Status"))
	if status == 0 {
		status = http.StatusOK
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(status)
	_, _ = w.Write(make([]byte, size))
}

// discardWriter is the client side of an in-process request.
type discardWriter struct {
	header http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.header }
func (d *discardWriter) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
func (d *discardWriter) Write(b []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(b), nil
}

func splitHostPort(s string) (string, int, error) {
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	return h, n, err
}
