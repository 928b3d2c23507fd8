package gatewayreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/otelcol-gateway/otelcol-gateway/internal/gatewaydata"
	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/receiver/gatewayreceiver/internal/metadata"
)

func confmapFromMap(m map[string]any) *confmap.Conf { return confmap.NewFromStringMap(m) }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// harness is a started receiver on free loopback ports with sinks behind it.
type harness struct {
	grpcAddr, httpAddr string
	traces             *consumertest.TracesSink
	metrics            *consumertest.MetricsSink
	logs               *consumertest.LogsSink
	tel                *componenttest.Telemetry
}

type harnessOption func(*Config)

func startReceiver(t *testing.T, next consumer.Traces, opts ...harnessOption) *harness {
	t.Helper()
	// A port found free can be taken by another test package before the
	// receiver binds it: try other ports then.
	for attempt := 1; ; attempt++ {
		h, err := tryStartReceiver(t, next, opts...)
		if err == nil {
			return h
		}
		if attempt == 5 || !errors.Is(err, syscall.EADDRINUSE) {
			require.NoError(t, err)
		}
	}
}

func tryStartReceiver(t *testing.T, next consumer.Traces, opts ...harnessOption) (*harness, error) {
	t.Helper()
	h := &harness{
		grpcAddr: freeAddr(t), httpAddr: freeAddr(t),
		traces: new(consumertest.TracesSink), metrics: new(consumertest.MetricsSink), logs: new(consumertest.LogsSink),
		tel: componenttest.NewTelemetry(),
	}
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = h.grpcAddr
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = h.httpAddr
	cfg.Protocols.HTTP.Get().ServerConfig.MaxRequestBodySize = 64 << 10
	cfg.ResourceDefaults = map[string]string{"service.name": "default-gateway", "deployment.environment": "test"}
	for _, o := range opts {
		o(cfg)
	}
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	if next == nil {
		next = h.traces
	}
	ctx := context.Background()
	tr, err := f.CreateTraces(ctx, set, cfg, next)
	require.NoError(t, err)
	mr, err := f.CreateMetrics(ctx, set, cfg, h.metrics)
	require.NoError(t, err)
	lr, err := f.CreateLogs(ctx, set, cfg, h.logs)
	require.NoError(t, err)
	assert.Same(t, tr, mr, "one receiver serves every signal of a configuration")
	components := []component.Component{tr, mr, lr}
	for _, c := range components {
		if err := c.Start(ctx, componenttest.NewNopHost()); err != nil {
			for _, c := range components {
				assert.NoError(t, c.Shutdown(ctx))
			}
			assert.NoError(t, h.tel.Shutdown(ctx))
			return nil, err
		}
	}
	t.Cleanup(func() {
		for _, c := range components {
			assert.NoError(t, c.Shutdown(context.Background()))
		}
		assert.NoError(t, h.tel.Shutdown(context.Background()))
	})
	return h, nil
}

func postOTLP(t *testing.T, url, contentType, encoding string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, out
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func traceRequestProto(t *testing.T, first uint64, service string) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces(service, first, gatewaydata.DefaultRequest)).MarshalProto()
	require.NoError(t, err)
	return b
}

func TestReceivesAKrakenDTraceOnEveryTransportAndEncoding(t *testing.T) {
	h := startReceiver(t, nil)

	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(),
		ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("", 1, gatewaydata.DefaultRequest)))
	require.NoError(t, err)

	jsonBody, err := ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("", 3, gatewaydata.DefaultRequest)).MarshalJSON()
	require.NoError(t, err)
	sends := []struct {
		name, contentType, encoding string
		body                        []byte
	}{
		{"protobuf", "application/x-protobuf", "", traceRequestProto(t, 2, "")},
		{"json", "application/json", "", jsonBody},
		{"gzip protobuf", "application/x-protobuf", "gzip", gzipped(t, traceRequestProto(t, 4, ""))},
		{"zstd protobuf", "application/x-protobuf", "zstd", zstded(t, traceRequestProto(t, 5, ""))},
	}
	for _, s := range sends {
		resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", s.contentType, s.encoding, s.body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", s.name, body)
		assert.Equal(t, s.contentType, resp.Header.Get("Content-Type"), s.name)
	}

	require.Equal(t, 5*5, h.traces.SpanCount())
	for _, td := range h.traces.AllTraces() {
		res := td.ResourceSpans().At(0).Resource().Attributes()
		assertStr(t, res, "service.name", "default-gateway")
		assertStr(t, res, "deployment.environment", "test")
		assertStr(t, res, "service.instance.id", "127.0.0.1")
		spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
		for i := 0; i < spans.Len(); i++ {
			assert.NotEqual(t, layer.Unclassified, layer.ClassifySpan(spans.At(i)), spans.At(i).Name())
		}
	}
	assertItems(t, h.tel, "traces", map[string]int64{
		"global": 5, "proxy": 5, "backend.stage": 5, "backend.round_trip": 5, "backend.read_payload": 5,
	})
}

func assertStr(t *testing.T, m pcommon.Map, key, want string) {
	t.Helper()
	v, ok := m.Get(key)
	if assert.True(t, ok, "missing %s", key) {
		assert.Equal(t, want, v.Str(), key)
	}
}

func assertItems(t *testing.T, tel *componenttest.Telemetry, signal string, want map[string]int64) {
	t.Helper()
	got, err := tel.GetMetric("otelcol_receiver_gateway_items")
	require.NoError(t, err)
	counts := map[string]int64{}
	for _, dp := range got.Data.(metricdata.Sum[int64]).DataPoints {
		if s, _ := dp.Attributes.Value("signal"); s.AsString() == signal {
			l, _ := dp.Attributes.Value("layer")
			counts[l.AsString()] += dp.Value
		}
	}
	assert.Equal(t, want, counts)
}

func TestWhatTheGatewaySentWinsOverResourceDefaults(t *testing.T) {
	h := startReceiver(t, nil)
	td := gatewaydata.NewTraces("orders-gateway", 1, gatewaydata.DefaultRequest)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.instance.id", "pod-a")
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("deployment.environment", "")
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	res := h.traces.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes()
	assertStr(t, res, "service.name", "orders-gateway")
	assertStr(t, res, "service.instance.id", "pod-a")
	assertStr(t, res, "deployment.environment", "test") // empty counts as missing
}

// The Go OTel SDK names a service nobody named unknown_service:<process>:
// that placeholder means unset, so the configured default replaces it.
func TestTheSDKsUnknownServicePlaceholderTakesTheDefaultServiceName(t *testing.T) {
	h := startReceiver(t, nil)
	for i, name := range []string{"unknown_service:krakend", "unknown_service", "orders-gateway"} {
		td := gatewaydata.NewTraces(name, uint64(i+1), gatewaydata.DefaultRequest)
		td.ResourceSpans().At(0).Resource().Attributes().PutStr("deployment.environment", "unknown_service:x")
		b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		require.NoError(t, err)
		resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", b)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	}
	got := h.traces.AllTraces()
	require.Len(t, got, 3)
	for i, want := range []string{"default-gateway", "default-gateway", "orders-gateway"} {
		res := got[i].ResourceSpans().At(0).Resource().Attributes()
		assertStr(t, res, "service.name", want)
		assertStr(t, res, "deployment.environment", "unknown_service:x") // the placeholder is service.name's alone
	}
}

// OTEL_RESOURCE_ATTRIBUTES=service.instance.id=$HOSTNAME with the variable
// unset sends an empty id: every replica would share it.
func TestAnEmptyInstanceIDIsTakenFromThePeer(t *testing.T) {
	h := startReceiver(t, nil)
	td := gatewaydata.NewTraces("orders-gateway", 1, gatewaydata.DefaultRequest)
	td.ResourceSpans().At(0).Resource().Attributes().PutStr("service.instance.id", "")
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	res := h.traces.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes()
	assertStr(t, res, "service.instance.id", "127.0.0.1")
}

func TestMetricsAreMarkedWithoutNewLabels(t *testing.T) {
	h := startReceiver(t, nil)
	md := gatewaydata.NewMetrics("", gatewaydata.Metrics, gatewaydata.DefaultRequest)
	other := md.ResourceMetrics().At(0).ScopeMetrics().AppendEmpty()
	other.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	om := other.Metrics().AppendEmpty()
	om.SetName("http.server.duration")
	om.SetEmptyHistogram().DataPoints().AppendEmpty()
	wantAttrs := map[string]int{}
	sms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	for i := 0; i < sms.Len(); i++ {
		wantAttrs[sms.At(i).Name()] = attrCount(sms.At(i))
	}

	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = pmetricotlp.NewGRPCClient(conn).Export(context.Background(), pmetricotlp.NewExportRequestFromMetrics(md))
	require.NoError(t, err)

	got := h.metrics.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics()
	gms := got.At(0).Metrics()
	require.Equal(t, len(gatewaydata.Metrics), gms.Len())
	for i := 0; i < gms.Len(); i++ {
		m := gms.At(i)
		mark, ok := m.Metadata().Get(layer.MetadataKey)
		require.True(t, ok, m.Name())
		assert.Equal(t, layer.ClassifyMetricName(m.Name()).String(), mark.Str())
		assert.Equal(t, wantAttrs[m.Name()], attrCount(m), "%s: the mark is no data-point label", m.Name())
	}
	_, marked := got.At(1).Metrics().At(0).Metadata().Get(layer.MetadataKey)
	assert.False(t, marked, "another scope's http.server.duration is no gateway metric")
	assertItems(t, h.tel, "metrics", map[string]int64{
		"global": 2, "proxy": 1, "backend.stage": 1, "backend.round_trip": 8,
		"backend.detailed_connection": 3, "backend.read_payload": 4, "none": 1,
	})
}

// With semantic_convention "1.27" KrakenD registers the started/failed/
// canceled/timedout counters and no-content-length only with
// detailed_connection (http/client/transport_metrics.go): the receiver marks
// them so, and the layer filter's detailed_connection then governs them.
func TestUnderSemanticConvention127TheRoundTripCountersAreDetailedConnection(t *testing.T) {
	h := startReceiver(t, nil, func(cfg *Config) {
		require.NoError(t, confmapFromMap(map[string]any{"semantic_convention": "1.27"}).Unmarshal(cfg))
	})
	counters := []string{
		"http.client.request.started.count", "http.client.request.failed.count",
		"http.client.request.canceled.count", "http.client.request.timedout.count",
		"http.client.response.no-content-length",
	}
	specs := append([]gatewaydata.MetricSpec{}, gatewaydata.Metrics127...)
	for _, name := range counters {
		specs = append(specs, gatewaydata.MetricSpec{Name: name, Class: layer.BackendDetailedConnection})
	}
	specs = append(specs, gatewaydata.MetricSpec{Name: "http.client.request.dns.duration", Histogram: true, Class: layer.BackendDetailedConnection})
	b, err := pmetricotlp.NewExportRequestFromMetrics(gatewaydata.NewMetrics("", specs, gatewaydata.DefaultRequest)).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/metrics", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	ms := h.metrics.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	require.Equal(t, len(specs), ms.Len())
	for i, spec := range specs {
		assert.Equal(t, spec.Class, layer.ClassifyMetric(layer.ScopeName, ms.At(i)), spec.Name)
	}
	assertItems(t, h.tel, "metrics", map[string]int64{
		"global": 2, "backend.round_trip": 3, "backend.detailed_connection": 6,
	})
}

func attrCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().At(0).Attributes().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().At(0).Attributes().Len()
	}
	return -1
}

func TestTheStageOfAGatewaySpanWithoutOneIsInferred(t *testing.T) {
	h := startReceiver(t, nil)
	td := gatewaydata.NewTraces("", 1, gatewaydata.DefaultRequest)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		spans.At(i).Attributes().Remove(layer.StageKey)
	}
	foreign := td.ResourceSpans().At(0).ScopeSpans().AppendEmpty()
	foreign.Scope().SetName("my.app")
	fs := foreign.Spans().AppendEmpty()
	fs.SetName("GET /other")
	fs.SetKind(ptrace.SpanKindServer)

	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	got := h.traces.AllTraces()[0].ResourceSpans().At(0).ScopeSpans()
	classes := map[layer.Class]int{}
	for i := 0; i < got.At(0).Spans().Len(); i++ {
		classes[layer.ClassifySpan(got.At(0).Spans().At(i))]++
	}
	assert.Equal(t, map[layer.Class]int{layer.GlobalStage: 1, layer.ProxyStage: 1, layer.BackendStage: 1,
		layer.BackendRoundTrip: 1, layer.BackendReadPayload: 1}, classes)
	_, ok := got.At(1).Spans().At(0).Attributes().Get(layer.StageKey)
	assert.False(t, ok, "a span of another scope is left alone")
}

// A traces static attribute named krakend.stage is written over the marker
// of the global and backend-request spans (http/server/server.go,
// lura/backend.go): a value that names no stage is restored from the span.
func TestAStageMarkerOverwrittenByAStaticAttributeIsRestored(t *testing.T) {
	h := startReceiver(t, nil)
	td := gatewaydata.NewTraces("", 1, gatewaydata.DefaultRequest)
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	overwritten := 0
	for i := 0; i < spans.Len(); i++ {
		switch c := layer.ClassifySpan(spans.At(i)); c {
		case layer.GlobalStage, layer.BackendRoundTrip:
			spans.At(i).Attributes().PutStr(layer.StageKey, "production")
			overwritten++
		}
	}
	require.Equal(t, 2, overwritten)

	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	got := h.traces.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	classes := map[layer.Class]int{}
	for i := 0; i < got.Len(); i++ {
		classes[layer.ClassifySpan(got.At(i))]++
	}
	assert.Equal(t, map[layer.Class]int{layer.GlobalStage: 1, layer.ProxyStage: 1, layer.BackendStage: 1,
		layer.BackendRoundTrip: 1, layer.BackendReadPayload: 1}, classes)
}

// A layer mark that arrives with a metric the receiver does not classify
// is removed: the processors would otherwise filter it as a gateway layer.
func TestALayerMarkSentWithAForeignMetricIsRemoved(t *testing.T) {
	h := startReceiver(t, nil)
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("my.app")
	m := sm.Metrics().AppendEmpty()
	m.SetName("orders.count")
	m.Metadata().PutStr(layer.MetadataKey, layer.GlobalStage.String())
	m.SetEmptySum().DataPoints().AppendEmpty().SetIntValue(1)
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/metrics", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	got := h.metrics.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0)
	assert.Equal(t, layer.Unclassified, layer.ClassifyMetric(got.Scope().Name(), got.Metrics().At(0)))
	assertItems(t, h.tel, "metrics", map[string]int64{"none": 1})
}

func TestLogsAreReceivedAndClassified(t *testing.T) {
	h := startReceiver(t, nil)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Attributes().PutStr(layer.StageKey, "proxy")
	lrs.AppendEmpty().Body().SetStr("plain")
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/logs", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, 2, h.logs.LogRecordCount())
	assertItems(t, h.tel, "logs", map[string]int64{"proxy": 1, "none": 1})

	j, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	require.NoError(t, err)
	resp, body = postOTLP(t, "http://"+h.httpAddr+"/v1/logs", "application/json", "", j)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	require.Equal(t, 4, h.logs.LogRecordCount())
	assert.Equal(t, "plain", h.logs.AllLogs()[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Body().Str())
	resp, body = postOTLP(t, "http://"+h.httpAddr+"/v1/logs", "application/json", "", j[:len(j)/2])
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "malformed OTLP json logs request")
}

func TestBadInputIsRefusedClearlyAndTheReceiverKeepsServing(t *testing.T) {
	h := startReceiver(t, nil)
	valid := traceRequestProto(t, 1, "")
	big := gatewaydata.NewTraces("", 1)
	for i := 0; i < 400; i++ {
		gatewaydata.AppendRequestSpans(big.ResourceSpans().At(0).ScopeSpans().At(0).Spans(), uint64(i), gatewaydata.DefaultRequest)
	}
	bigBody, err := ptraceotlp.NewExportRequestFromTraces(big).MarshalProto()
	require.NoError(t, err)
	require.Greater(t, len(bigBody), 64<<10)
	gz := gzipped(t, valid)
	// random bytes just under the limit grow past it when compressed
	random := make([]byte, 64<<10-2)
	_, err = rand.Read(random)
	require.NoError(t, err)
	incompressibleSnappy := snappy.Encode(nil, random)
	require.Greater(t, len(incompressibleSnappy), 64<<10)

	tests := []struct {
		name, method, contentType, encoding string
		body                                []byte
		wantStatus                          int
		wantMessage                         string
	}{
		{"malformed protobuf", http.MethodPost, "application/x-protobuf", "", []byte{0x0a, 0xff, 0xff, 0xff}, 400, "malformed OTLP protobuf traces request"},
		{"malformed json", http.MethodPost, "application/json", "", []byte(`{"resourceSpans": [`), 400, "malformed OTLP json traces request"},
		{"unknown content type", http.MethodPost, "text/plain", "", valid, 415, "unsupported content type"},
		{"a GET", http.MethodGet, "application/x-protobuf", "", nil, 405, "method GET not allowed"},
		{"an oversized body", http.MethodPost, "application/x-protobuf", "", bigBody, 413, "max_request_body_size"},
		{"a truncated gzip stream", http.MethodPost, "application/x-protobuf", "gzip", gz[:len(gz)/2], 400, ""},
		{"an unknown content encoding", http.MethodPost, "application/x-protobuf", "br2", valid, 400, "unsupported Content-Encoding"},
		{"a gzip header on a plain body", http.MethodPost, "application/x-protobuf", "gzip", valid, 400, "gzip"},
		{"a snappy body over the limit", http.MethodPost, "application/x-protobuf", "snappy", snappy.Encode(nil, make([]byte, 1<<20)), 413, "max request body size"},
		{"a snappy body over the limit before decoding", http.MethodPost, "application/x-protobuf", "snappy", incompressibleSnappy, 413, "too large"},
		{"a PUT in JSON", http.MethodPut, "application/json", "", valid, 405, "method PUT not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://"+h.httpAddr+"/v1/traces", bytes.NewReader(tt.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", tt.contentType)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode, string(body))
			assert.Contains(t, string(body), tt.wantMessage)
			// every refusal is a google.rpc.Status in the request's encoding
			st := &spb.Status{}
			if tt.contentType == "application/x-protobuf" {
				assert.Equal(t, "application/x-protobuf", resp.Header.Get("Content-Type"))
				require.NoError(t, proto.Unmarshal(body, st))
			} else {
				assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
				require.NoError(t, protojson.Unmarshal(body, st))
			}
			assert.Contains(t, st.GetMessage(), tt.wantMessage)

			ok, okBody := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", valid)
			assert.Equal(t, http.StatusOK, ok.StatusCode, "still serving after %s: %s", tt.name, okBody)
		})
	}
	assert.Equal(t, 0, h.traces.SpanCount()-5*len(tests), "only the valid requests went through")

	reasons := refusedCounts(t, h, "reason")
	// confighttp refuses an unusable Content-Encoding before the receiver
	// reads the body: counted all the same
	assert.Equal(t, map[string]int64{"malformed": 2, "content_type": 1, "method": 2, "too_large": 3, "unreadable": 3}, reasons)
}

func TestMalformedGRPCIsRefusedAndTheReceiverKeepsServing(t *testing.T) {
	h := startReceiver(t, nil)
	conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	// As over OTLP/HTTP (400): InvalidArgument, which the OTLP
	// specification makes permanent, and counted as a malformed request.
	for _, method := range []string{traceExportMethod, metricExportMethod, logExportMethod} {
		err = conn.Invoke(context.Background(), method,
			&rawMessage{0x0a, 0xff, 0xff, 0xff}, new(rawMessage), grpc.ForceCodec(rawCodec{}))
		require.Error(t, err)
		assert.Equal(t, codes.InvalidArgument, status.Code(err), "%s: %v", method, err)
		assert.Contains(t, status.Convert(err).Message(), "malformed OTLP protobuf")
	}

	_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(),
		ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("", 1, gatewaydata.DefaultRequest)))
	require.NoError(t, err)
	assert.Equal(t, 5, h.traces.SpanCount())
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("backend call")
	_, err = plogotlp.NewGRPCClient(conn).Export(context.Background(), plogotlp.NewExportRequestFromLogs(ld))
	require.NoError(t, err)
	assert.Equal(t, 1, h.logs.LogRecordCount())

	assert.Equal(t, map[string]int64{"traces malformed": 1, "metrics malformed": 1, "logs malformed": 1}, refusedCounts(t, h, "signal", "reason"))
}

// refusedCounts sums otelcol_receiver_gateway_requests_refused by the
// values of the given attributes, joined by spaces.
func refusedCounts(t *testing.T, h *harness, by ...string) map[string]int64 {
	t.Helper()
	refused, err := h.tel.GetMetric("otelcol_receiver_gateway_requests_refused")
	require.NoError(t, err)
	counts := map[string]int64{}
	for _, dp := range refused.Data.(metricdata.Sum[int64]).DataPoints {
		key := make([]string, len(by))
		for i, name := range by {
			v, _ := dp.Attributes.Value(attribute.Key(name))
			key[i] = v.AsString()
		}
		counts[strings.Join(key, " ")] += dp.Value
	}
	return counts
}

func TestPipelineErrorsMapToTheOTLPStatuses(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantHTTP   int
		wantCode   codes.Code
		retryAfter bool
	}{
		{"a refusal by the memory limiter is retryable", errors.New("data refused due to high memory usage"), 503, codes.Unavailable, true},
		{"a permanent error is not", consumererror.NewPermanent(errors.New("bad data")), 500, codes.Internal, false},
		{"a status already set is kept", status.Error(codes.ResourceExhausted, "slow down"), 429, codes.ResourceExhausted, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startReceiver(t, consumertest.NewErr(tt.err))
			resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", traceRequestProto(t, 1, ""))
			assert.Equal(t, tt.wantHTTP, resp.StatusCode, string(body))
			if tt.retryAfter {
				assert.Equal(t, "1", resp.Header.Get("Retry-After"))
			} else {
				assert.Empty(t, resp.Header.Get("Retry-After"))
			}

			conn, err := grpc.NewClient(h.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			require.NoError(t, err)
			defer conn.Close()
			_, err = ptraceotlp.NewGRPCClient(conn).Export(context.Background(),
				ptraceotlp.NewExportRequestFromTraces(gatewaydata.NewTraces("", 1, gatewaydata.DefaultRequest)))
			assert.Equal(t, tt.wantCode, status.Code(err))
		})
	}
}

func TestShutdownWithoutStartAndTwice(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = freeAddr(t)
	r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestAPortInUseFailsStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = freeAddr(t)
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = ln.Addr().String()
	r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.EADDRINUSE, "what startReceiver retries on")
	assert.NoError(t, r.Shutdown(context.Background()))
}

// rawMessage and rawCodec send bytes that are not a valid OTLP message.
type rawMessage []byte

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*rawMessage)), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*rawMessage)) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// An attribute sent with no value at all (OTLP's AnyValue left unset) names
// nothing, as an empty string does.
func TestAnAttributeWithNoValueTakesTheDefaultAndThePeer(t *testing.T) {
	h := startReceiver(t, nil)
	td := gatewaydata.NewTraces("orders-gateway", 1, gatewaydata.DefaultRequest)
	attrs := td.ResourceSpans().At(0).Resource().Attributes()
	attrs.PutEmpty("service.name")
	attrs.PutEmpty("service.instance.id")
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, body := postOTLP(t, "http://"+h.httpAddr+"/v1/traces", "application/x-protobuf", "", b)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	res := h.traces.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes()
	assertStr(t, res, "service.name", "default-gateway")
	assertStr(t, res, "service.instance.id", "127.0.0.1")
}
