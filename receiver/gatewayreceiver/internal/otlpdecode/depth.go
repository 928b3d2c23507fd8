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

// child gives the kind of a message's length-delimited field (by number),
// as the OTLP protos define it; fields not listed are skipped.
func child(k msgKind, field uint64) msgKind {
	switch k {
	case kindTraceRequest:
		return pick(field, 1, kindResourceSpans)
	case kindMetricRequest:
		return pick(field, 1, kindResourceMetrics)
	case kindLogRequest:
		return pick(field, 1, kindResourceLogs)
	case kindResourceSpans:
		return pick2(field, 1, kindResource, 2, kindScopeSpans)
	case kindResourceMetrics:
		return pick2(field, 1, kindResource, 2, kindScopeMetrics)
	case kindResourceLogs:
		return pick2(field, 1, kindResource, 2, kindScopeLogs)
	case kindResource:
		return pick(field, 1, kindKeyValue)
	case kindScope:
		return pick(field, 3, kindKeyValue)
	case kindScopeSpans:
		return pick2(field, 1, kindScope, 2, kindSpan)
	case kindScopeMetrics:
		return pick2(field, 1, kindScope, 2, kindMetric)
	case kindScopeLogs:
		return pick2(field, 1, kindScope, 2, kindLogRecord)
	case kindSpan:
		switch field {
		case 9:
			return kindKeyValue
		case 11:
			return kindEvent
		case 13:
			return kindLink
		}
	case kindEvent:
		return pick(field, 3, kindKeyValue)
	case kindLink:
		return pick(field, 4, kindKeyValue)
	case kindMetric:
		switch field {
		case 5, 7:
			return kindNumberPoints
		case 9:
			return kindHistogramPoints
		case 10:
			return kindExpPoints
		case 11:
			return kindSummaryPoints
		case 12:
			return kindKeyValue
		}
	case kindNumberPoints:
		return pick(field, 1, kindNumberPoint)
	case kindHistogramPoints:
		return pick(field, 1, kindHistogramPoint)
	case kindExpPoints:
		return pick(field, 1, kindExpPoint)
	case kindSummaryPoints:
		return pick(field, 1, kindSummaryPoint)
	case kindNumberPoint:
		return pick2(field, 7, kindKeyValue, 5, kindExemplar)
	case kindHistogramPoint:
		return pick2(field, 9, kindKeyValue, 8, kindExemplar)
	case kindExpPoint:
		return pick2(field, 1, kindKeyValue, 11, kindExemplar)
	case kindSummaryPoint:
		return pick(field, 7, kindKeyValue)
	case kindExemplar:
		return pick(field, 7, kindKeyValue)
	case kindLogRecord:
		return pick2(field, 5, kindAnyValue, 6, kindKeyValue)
	case kindKeyValue:
		return pick(field, 2, kindAnyValue)
	case kindAnyValue:
		return pick2(field, 5, kindArrayValue, 6, kindKeyValueList)
	case kindArrayValue:
		return pick(field, 1, kindAnyValue)
	case kindKeyValueList:
		return pick(field, 1, kindKeyValue)
	}
	return kindOther
}

func pick(field, f uint64, k msgKind) msgKind {
	if field == f {
		return k
	}
	return kindOther
}

func pick2(field, f1 uint64, k1 msgKind, f2 uint64, k2 msgKind) msgKind {
	if field == f1 {
		return k1
	}
	return pick(field, f2, k2)
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
