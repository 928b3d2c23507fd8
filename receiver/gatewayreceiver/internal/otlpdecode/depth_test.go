package otlpdecode

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// nestedValue is an AnyValue holding a map holding ... levels times, then a
// string: three messages per level (AnyValue, KeyValueList, KeyValue).
func nestedValue(levels int) []byte {
	v := field(0x0a, []byte("x")) // string_value
	for range levels {
		kv := append(field(0x0a, []byte("k")), field(0x12, v)...) // key, value
		v = field(0x32, field(0x0a, kv))                          // kvlist_value{values}
	}
	return v
}

// wrap puts v at the end of a path of length-delimited fields from the
// request down.
func wrap(v []byte, path []uint64) []byte {
	for i := len(path) - 1; i >= 0; i-- {
		v = field(byte(path[i]<<3|wireLen), v)
	}
	return v
}

// Every place an OTLP request holds an attribute value (or a log body),
// as field numbers from the request to the AnyValue.
var valuePaths = []struct {
	name   string
	signal Signal
	path   []uint64
}{
	{"resource attribute", Traces, []uint64{1, 1, 1, 2}},
	{"scope attribute", Traces, []uint64{1, 2, 1, 3, 2}},
	{"span attribute", Traces, []uint64{1, 2, 2, 9, 2}},
	{"event attribute", Traces, []uint64{1, 2, 2, 11, 3, 2}},
	{"link attribute", Traces, []uint64{1, 2, 2, 13, 4, 2}},
	{"metric metadata", Metrics, []uint64{1, 2, 2, 12, 2}},
	{"gauge point attribute", Metrics, []uint64{1, 2, 2, 5, 1, 7, 2}},
	{"sum point exemplar", Metrics, []uint64{1, 2, 2, 7, 1, 5, 7, 2}},
	{"histogram point attribute", Metrics, []uint64{1, 2, 2, 9, 1, 9, 2}},
	{"histogram point exemplar", Metrics, []uint64{1, 2, 2, 9, 1, 8, 7, 2}},
	{"exponential histogram point attribute", Metrics, []uint64{1, 2, 2, 10, 1, 1, 2}},
	{"exponential histogram point exemplar", Metrics, []uint64{1, 2, 2, 10, 1, 11, 7, 2}},
	{"summary point attribute", Metrics, []uint64{1, 2, 2, 11, 1, 7, 2}},
	{"log body", Logs, []uint64{1, 2, 2, 5}},
	{"log attribute", Logs, []uint64{1, 2, 2, 6, 2}},
	{"log resource attribute", Logs, []uint64{1, 1, 1, 2}},
}

func TestTooDeepCountsEveryLevelToEveryValue(t *testing.T) {
	for _, tt := range valuePaths {
		t.Run(tt.name, func(t *testing.T) {
			const levels = 40
			buf := wrap(nestedValue(levels), tt.path)
			// the request is level 1, each field one more, three per level
			depth := 1 + len(tt.path) + 3*levels
			assert.False(t, TooDeep(buf, tt.signal, depth), "at the limit")
			assert.True(t, TooDeep(buf, tt.signal, depth-1), "one past the limit")
			require.NoError(t, unmarshalWithPdata(tt.signal, buf), "a valid request")
		})
	}
}

func TestTooDeepPassesRealRequests(t *testing.T) {
	assert.False(t, TooDeep(gatewayRequest(t, 50), Traces, 12))
	assert.False(t, TooDeep(gatewayMetricsRequest(t, 3), Metrics, 12))
	body, err := ptraceotlp.NewExportRequestFromTraces(everyField()).MarshalProto()
	require.NoError(t, err)
	assert.False(t, TooDeep(body, Traces, 20))
}

// Past the limit, and far past it, at little cost: the walk keeps its own
// stack, so a request deep enough to overflow pdata's is told apart without
// recursion.
func TestTooDeepTellsARequestPdataCannotDecode(t *testing.T) {
	buf := wrap(nestedValue(MaxNesting/3+1), []uint64{1, 2, 2, 9, 2})
	assert.True(t, TooDeep(buf, Traces, MaxNesting))
	assert.False(t, TooDeep(wrap(nestedValue(MaxNesting/3-4), []uint64{1, 2, 2, 9, 2}), Traces, MaxNesting))
}

func TestTooDeepLeavesMalformedRequestsToTheDecoder(t *testing.T) {
	for _, buf := range [][]byte{{0x0a, 0xff, 0xff, 0xff}, {0x0a, 0x05, 0x12}, {0x00}, {0x0b}} {
		assert.False(t, TooDeep(buf, Traces, 1), "%x", buf)
	}
}

func unmarshalWithPdata(s Signal, buf []byte) error {
	switch s {
	case Traces:
		return ptraceotlp.NewExportRequest().UnmarshalProto(buf)
	case Metrics:
		return pmetricotlp.NewExportRequest().UnmarshalProto(buf)
	case Logs:
		return plogotlp.NewExportRequest().UnmarshalProto(buf)
	}
	return fmt.Errorf("signal %d", s)
}
