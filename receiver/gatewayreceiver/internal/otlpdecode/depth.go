package otlpdecode

// pdata's decoders recurse once per nested message and have no depth limit:
// attribute values nested a million deep (a 20 MB request, far less
// compressed) overflow the goroutine's stack, which is fatal to the whole
// process, not an error of the one request. Before a request goes to pdata,
// TooDeep walks it with a stack of its own and tells whether any message in
// it is nested deeper than a limit no real data comes near.

// MaxNesting is the deepest message nesting a request may have: 10,000
// levels (an attribute value nested about 5,000 deep; a gateway's are a
// dozen levels in all), well below where pdata's recursion runs out of stack.
const MaxNesting = 10_000

// Signal is the kind of export request TooDeep walks.
type Signal int

const (
	Traces Signal = iota
	Metrics
	Logs
)

// msgKind names the messages on the paths to an AnyValue, the only type
// that nests without bound (through ArrayValue and KeyValueList).
type msgKind uint8

const (
	kindOther msgKind = iota // not a message, or none that leads to an AnyValue
	kindTraceRequest
	kindMetricRequest
	kindLogRequest
	kindResourceSpans
	kindResourceMetrics
	kindResourceLogs
	kindResource
	kindScope
	kindScopeSpans
	kindScopeMetrics
	kindScopeLogs
	kindSpan
	kindEvent
	kindLink
	kindMetric
	kindNumberPoints    // Gauge, Sum
	kindHistogramPoints // Histogram
	kindExpPoints       // ExponentialHistogram
	kindSummaryPoints   // Summary
	kindNumberPoint
	kindHistogramPoint
	kindExpPoint
	kindSummaryPoint
	kindExemplar
	kindLogRecord
	kindKeyValue
	kindAnyValue
	kindArrayValue
	kindKeyValueList
)

// edge is a length-delimited field of a message that holds a message on
// the way to an AnyValue.
type edge struct {
	field uint64
	kind  msgKind
}

// children lists, per message kind, its fields that lead to an AnyValue, as
// the OTLP protos number them; any other field is skipped.
var children = [...][]edge{
	kindTraceRequest:    {{1, kindResourceSpans}},
	kindMetricRequest:   {{1, kindResourceMetrics}},
	kindLogRequest:      {{1, kindResourceLogs}},
	kindResourceSpans:   {{1, kindResource}, {2, kindScopeSpans}},
	kindResourceMetrics: {{1, kindResource}, {2, kindScopeMetrics}},
	kindResourceLogs:    {{1, kindResource}, {2, kindScopeLogs}},
	kindResource:        {{1, kindKeyValue}},
	kindScope:           {{3, kindKeyValue}},
	kindScopeSpans:      {{1, kindScope}, {2, kindSpan}},
	kindScopeMetrics:    {{1, kindScope}, {2, kindMetric}},
	kindScopeLogs:       {{1, kindScope}, {2, kindLogRecord}},
	kindSpan:            {{9, kindKeyValue}, {11, kindEvent}, {13, kindLink}},
	kindEvent:           {{3, kindKeyValue}},
	kindLink:            {{4, kindKeyValue}},
	kindMetric: {{5, kindNumberPoints}, {7, kindNumberPoints}, {9, kindHistogramPoints},
		{10, kindExpPoints}, {11, kindSummaryPoints}, {12, kindKeyValue}},
	kindNumberPoints:    {{1, kindNumberPoint}},
	kindHistogramPoints: {{1, kindHistogramPoint}},
	kindExpPoints:       {{1, kindExpPoint}},
	kindSummaryPoints:   {{1, kindSummaryPoint}},
	kindNumberPoint:     {{7, kindKeyValue}, {5, kindExemplar}},
	kindHistogramPoint:  {{9, kindKeyValue}, {8, kindExemplar}},
	kindExpPoint:        {{1, kindKeyValue}, {11, kindExemplar}},
	kindSummaryPoint:    {{7, kindKeyValue}},
	kindExemplar:        {{7, kindKeyValue}},
	kindLogRecord:       {{5, kindAnyValue}, {6, kindKeyValue}},
	kindKeyValue:        {{2, kindAnyValue}},
	kindAnyValue:        {{5, kindArrayValue}, {6, kindKeyValueList}},
	kindArrayValue:      {{1, kindAnyValue}},
	kindKeyValueList:    {{1, kindKeyValue}},
}

// child gives the kind of a message's length-delimited field.
func child(k msgKind, field uint64) msgKind {
	for _, e := range children[k] {
		if e.field == field {
			return e.kind
		}
	}
	return kindOther
}

// TooDeep tells whether a serialized export request of the signal nests a
// message deeper than limit. It reads every byte once. A malformed request
// is not too deep: the decoder that follows refuses it for what it is.
func TooDeep(buf []byte, signal Signal, limit int) bool {
	root := [...]msgKind{Traces: kindTraceRequest, Metrics: kindMetricRequest, Logs: kindLogRequest}[signal]
	type level struct {
		r    reader
		kind msgKind
	}
	stack := []level{{r: reader{b: buf}, kind: root}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if !top.r.more() {
			if top.r.bad {
				return false
			}
			stack = stack[:len(stack)-1]
			continue
		}
		f, w := top.r.tag()
		if w != wireLen {
			top.r.skip(w)
			continue
		}
		b := top.r.bytes()
		if k := child(top.kind, f); k != kindOther && !top.r.bad {
			if len(stack) >= limit {
				return true
			}
			stack = append(stack, level{r: reader{b: b}, kind: k})
		}
	}
	return false
}
