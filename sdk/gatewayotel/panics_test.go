package gatewayotel_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel"
)

// panicValue is what the panicking code of these tests panics with: not an
// error, so that the exception's type is the value's own.
type panicValue struct{ what string }

// assertPanicRecorded checks that span ended as the SDK's span.End records
// a panic it sees (an "exception" event with the value's type and message),
// with status Error.
func assertPanicRecorded(t *testing.T, s sdktrace.ReadOnlySpan, message string) {
	t.Helper()
	assert.Equal(t, codes.Error, s.Status().Code, "span %q", s.Name())
	assert.Equal(t, "panic: "+message, s.Status().Description)
	var found bool
	for _, ev := range s.Events() {
		if ev.Name != "exception" {
			continue
		}
		found = true
		a := attrMap(ev.Attributes)
		assert.Equal(t, message, a["exception.message"])
		assert.Equal(t, "github.com/otelcol-gateway/otelcol-gateway/sdk/gatewayotel_test.panicValue", a["exception.type"])
	}
	assert.True(t, found, "span %q has no exception event", s.Name())
}

// A panic in an endpoint's merging of its backends goes on to the caller,
// unchanged, once the proxy span has ended with the panic recorded and
// krakend.proxy.duration has counted an error: a panic recovered further
// up (net/http, a recovery middleware) must not leave an unended span.
func TestAPanickingProxyEndsItsSpanAndCountsAnError(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	boom := panicValue{"boom"}
	assert.PanicsWithValue(t, boom, func() {
		_, _ = r.tel.Proxy(context.Background(), "/users/{id}", "GET", func(context.Context) (int, error) { panic(boom) })
	}, "the panic goes on with its own value")

	s := spansByClass(t, r.spans.Ended())[layer.ProxyStage]
	require.NotNil(t, s, "the proxy span is ended")
	assertPanicRecorded(t, s, "{boom}")
	a := attrMap(s.Attributes())
	assert.Equal(t, "panic: {boom}", a["error"])
	assert.Equal(t, int64(500), a["http.response.status_code"])
	assert.Equal(t, false, a["complete"])
	assert.NotContains(t, a, "canceled")
	m := onlyPointAttrs(t, r, "krakend.proxy.duration")
	assert.Equal(t, true, m["error"])
	assert.Equal(t, false, m["canceled"])
	assert.Equal(t, false, m["complete"])
}

// runtime.Goexit (t.FailNow in a test's handler) is no panic: the proxy
// span still ends, as an error, and nothing panics.
func TestAProxyLeftByGoexitEndsItsSpanWithoutPanicking(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		_, _ = r.tel.Proxy(context.Background(), "/users/{id}", "GET", func(context.Context) (int, error) {
			runtime.Goexit()
			return 0, nil
		})
	}()
	require.Nil(t, <-recovered, "Goexit must not become a panic")

	s := spansByClass(t, r.spans.Ended())[layer.ProxyStage]
	require.NotNil(t, s, "the proxy span is ended")
	assert.Equal(t, "runtime.Goexit", attrMap(s.Attributes())["error"])
	assert.Empty(t, s.Events())
	assert.Equal(t, true, onlyPointAttrs(t, r, "krakend.proxy.duration")["error"])
}

// A panic in the base transport goes on to the caller once the backend
// stage and backend-request spans have ended with the panic recorded and
// the round trip has counted as started and failed, with status code 0 as
// a transport error does.
func TestAPanickingBaseTransportEndsItsSpansAndCountsAFailure(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	boom := panicValue{"boom"}
	rt := r.tel.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) { panic(boom) }),
		gatewayotel.BackendInfo{EndpointRoute: "/users/{id}", URLPattern: "/v1/users/{id}"})
	req, err := http.NewRequest(http.MethodGet, "http://backend.invalid/v1/users/1", nil)
	require.NoError(t, err)
	assert.PanicsWithValue(t, boom, func() { _, _ = rt.RoundTrip(req) }, "the panic goes on with its own value")

	got := spansByClass(t, r.spans.Ended())
	require.Contains(t, got, layer.BackendRoundTrip, "the backend-request span is ended")
	require.Contains(t, got, layer.BackendStage, "the backend stage span is ended")
	assertPanicRecorded(t, got[layer.BackendRoundTrip], "{boom}")
	assertPanicRecorded(t, got[layer.BackendStage], "{boom}")
	st := attrMap(got[layer.BackendStage].Attributes())
	assert.Equal(t, "panic: {boom}", st["error"])
	assert.Equal(t, int64(500), st["http.response.status_code"])
	assert.Equal(t, false, st["complete"])

	c := roundTripCounts(t, r)
	assert.Equal(t, int64(1), c["http.client.request.started.count"])
	assert.Equal(t, int64(1), c["http.client.request.failed.count"])
	assert.Equal(t, int64(0), onlyPointAttrs(t, r, "http.client.duration")["http.response.status_code"])
	m := onlyPointAttrs(t, r, "krakend.backend.duration")
	assert.Equal(t, true, m["error"])
	assert.Equal(t, false, m["complete"])
}

// panickingBody is a response body whose Read or Close panics.
type panickingBody struct {
	io.Reader
	onRead, onClose any
}

func (b *panickingBody) Read(p []byte) (int, error) {
	if b.onRead != nil {
		panic(b.onRead)
	}
	return b.Reader.Read(p)
}

func (b *panickingBody) Close() error {
	if b.onClose != nil {
		panic(b.onClose)
	}
	return nil
}

func bodyTransport(t *testing.T, r *rig, body *panickingBody) http.RoundTripper {
	t.Helper()
	return r.tel.Transport(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: body, ContentLength: -1, Request: req}, nil
	}), gatewayotel.BackendInfo{EndpointRoute: "/users/{id}", URLPattern: "/v1/users/{id}"})
}

func spanOfClass(t *testing.T, spans []sdktrace.ReadOnlySpan, c layer.Class) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if classifySpan(s) == c {
			return s
		}
	}
	return nil
}

// A panic while the response body is read ends the read tracker with the
// panic recorded and counts a read error; the stage, which the body's
// Close ends, is an error.
func TestAPanicReadingTheBodyEndsTheReadTrackerAsAnError(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	boom := panicValue{"boom"}
	rt := bodyTransport(t, r, &panickingBody{Reader: strings.NewReader("{}"), onRead: boom})
	req, err := http.NewRequest(http.MethodGet, "http://backend.invalid/v1/users/1", nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	assert.PanicsWithValue(t, boom, func() { _, _ = io.ReadAll(resp.Body) }, "the panic goes on with its own value")

	read := spanOfClass(t, r.spans.Ended(), layer.BackendReadPayload)
	require.NotNil(t, read, "the read tracker ends at the panic")
	assertPanicRecorded(t, read, "{boom}")
	assert.Equal(t, "true", onlyPointAttrs(t, r, "http.client.response.read.size")["error"])

	require.NoError(t, resp.Body.Close())
	st := spanOfClass(t, r.spans.Ended(), layer.BackendStage)
	require.NotNil(t, st)
	assertPanicRecorded(t, st, "{boom}")
	assert.Equal(t, "panic: {boom}", attrMap(st.Attributes())["error"])
	assert.Equal(t, true, onlyPointAttrs(t, r, "krakend.backend.duration")["error"])
}

// A panic closing the response body still ends the backend stage, which
// Close ends, as an error.
func TestAPanicClosingTheBodyEndsTheStageAsAnError(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	boom := panicValue{"boom"}
	rt := bodyTransport(t, r, &panickingBody{Reader: strings.NewReader("{}"), onClose: boom})
	req, err := http.NewRequest(http.MethodGet, "http://backend.invalid/v1/users/1", nil)
	require.NoError(t, err)
	resp, err := rt.RoundTrip(req)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.PanicsWithValue(t, boom, func() { _ = resp.Body.Close() }, "the panic goes on with its own value")

	st := spanOfClass(t, r.spans.Ended(), layer.BackendStage)
	require.NotNil(t, st, "the stage ends")
	assertPanicRecorded(t, st, "{boom}")
	assert.Equal(t, true, onlyPointAttrs(t, r, "krakend.backend.duration")["error"])
	read := spanOfClass(t, r.spans.Ended(), layer.BackendReadPayload)
	require.NotNil(t, read)
	assert.Equal(t, codes.Ok, read.Status().Code, "the body was read whole before Close")
}

// The global span of a request whose handler panicked records the panic
// and is an error: net/http aborts the response, so writing it failed.
// (Its end and its metrics, with status 500, were already there.)
func TestAPanickingHandlerRecordsThePanicOnTheGlobalSpan(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	boom := panicValue{"boom"}
	h := r.tel.GlobalHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(boom) }),
		func(*http.Request) string { return "/x" })
	assert.PanicsWithValue(t, boom, func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	}, "the panic goes on to net/http with its own value")

	s := r.spans.Ended()
	require.Len(t, s, 1)
	assertPanicRecorded(t, s[0], "{boom}")
	assert.Equal(t, int64(500), attrMap(s[0].Attributes())["http.response.status_code"])
	assert.Equal(t, int64(500), onlyPointAttrs(t, r, "http.server.duration")["http.response.status_code"])
}

// runtime.Goexit in a handler is no panic: the global span ends as an
// error, and nothing panics.
func TestAHandlerLeftByGoexitEndsTheGlobalSpanWithoutPanicking(t *testing.T) {
	r := newRig(t, krakendJSON("", ""))
	h := r.tel.GlobalHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { runtime.Goexit() }),
		func(*http.Request) string { return "/x" })
	recovered := make(chan any, 1)
	go func() {
		defer func() { recovered <- recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	}()
	require.Nil(t, <-recovered, "Goexit must not become a panic")

	s := r.spans.Ended()
	require.Len(t, s, 1)
	assert.Equal(t, codes.Error, s[0].Status().Code)
	assert.Equal(t, "runtime.Goexit", s[0].Status().Description)
	assert.Empty(t, s[0].Events())
}
