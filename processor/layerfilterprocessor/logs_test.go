package layerfilterprocessor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// gatewayLogs makes one log record per stage, as a gateway that logs with
// krakend.stage would, plus one record without a stage.
func gatewayLogs(route string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "gw")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, stage := range []string{"global", "proxy", "backend", "backend-request"} {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(stage)
		a := lr.Attributes()
		a.PutStr("krakend.stage", stage)
		if stage == "global" || stage == "proxy" {
			a.PutStr("http.route", route)
		} else {
			a.PutStr("krakend.endpoint.route", route)
			a.PutStr("http.route", "/v1"+route)
		}
		a.PutEmptySlice("http.request.header.authorization").AppendEmpty().SetStr("Bearer s3cr3t")
	}
	lrs.AppendEmpty().Body().SetStr("unclassified")
	return ld
}

func logBodies(ld plog.Logs) []string {
	var out []string
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				out = append(out, lr.Body().Str())
			}
		}
	}
	return out
}

func TestLogsFollowTheirLayersTracesSwitches(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"the default config passes every record", "", []string{"global", "proxy", "backend", "backend-request", "unclassified"}},
		{"a layer's disabled traces drop its log records", "proxy: {disable_traces: true}", []string{"global", "backend", "backend-request", "unclassified"}},
		{"a layer's disabled metrics keep its log records", "proxy: {disable_metrics: true}", []string{"global", "proxy", "backend", "backend-request", "unclassified"}},
		{"backend traces switches drop the matching records", "backend: {traces: {disable_stage: true, round_trip: false}}", []string{"global", "proxy", "unclassified"}},
		{"skip_paths drop the records of skipped endpoints", `skip_paths: ["/users/{id}"]`, []string{"unclassified"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFilter(t, tt.yaml, "logs")
			out, err := f.processLogs(t.Context(), gatewayLogs("/users/:id"))
			require.NoError(t, err)
			assert.Equal(t, tt.want, logBodies(out))
		})
	}
}

func TestLogHeadersAreRedactedAndStripped(t *testing.T) {
	f := newFilter(t, "proxy: {report_headers: false}", "logs")
	out, err := f.processLogs(t.Context(), gatewayLogs("/orders"))
	require.NoError(t, err)
	lrs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	v, _ := lrs.At(0).Attributes().Get("http.request.header.authorization")
	assert.Equal(t, `["[REDACTED]"]`, v.AsString())
	_, ok := lrs.At(1).Attributes().Get("http.request.header.authorization")
	assert.False(t, ok)
	// No static attributes on logs.
	f = newFilter(t, "global: {traces_static_attributes: {a: b}}", "logs")
	out, err = f.processLogs(t.Context(), gatewayLogs("/orders"))
	require.NoError(t, err)
	_, ok = out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Get("a")
	assert.False(t, ok)
}

func TestAllLogsDroppedSkipsTheRestOfThePipeline(t *testing.T) {
	f := newFilter(t, `skip_paths: ["/x"]`, "logs")
	ld := gatewayLogs("/x")
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	lrs.RemoveIf(func(lr plog.LogRecord) bool { return lr.Body().Str() == "unclassified" })
	out, err := f.processLogs(t.Context(), ld)
	require.Error(t, err)
	assert.Equal(t, 0, out.ResourceLogs().Len())
}
