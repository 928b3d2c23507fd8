package otlpdecode

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// DecodeTraces reads a serialized ExportTraceServiceRequest. ok is false when the
// request holds anything this decoder leaves to pdata (see the package
// comment); the traces returned then are incomplete and must be discarded.
func (d *Decoder) DecodeTraces(buf []byte) (td ptrace.Traces, ok bool) {
	td = ptrace.NewTraces()
	return td, decodeRequest(buf, td.ResourceSpans(), d.resourceSpans)
}

func (d *Decoder) resourceSpans(buf []byte, rs ptrace.ResourceSpans) bool {
	res := rs.Resource()
	return decodeLevel(d, buf, func(b []byte) bool { return d.resource(b, res) }, rs.ScopeSpans(), rs.SetSchemaUrl, d.scopeSpans)
}

func (d *Decoder) scopeSpans(buf []byte, ss ptrace.ScopeSpans) bool {
	sc := ss.Scope()
	return decodeLevel(d, buf, func(b []byte) bool { return d.scope(b, sc) }, ss.Spans(), ss.SetSchemaUrl, d.span)
}

func (d *Decoder) span(buf []byte, s ptrace.Span) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := s.Attributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireLen && seen.first(f):
			id, ok := traceID(r.bytes())
			if !ok {
				return false
			}
			s.SetTraceID(id)
		case f == 2 && w == wireLen && seen.first(f):
			id, ok := spanID(r.bytes())
			if !ok {
				return false
			}
			s.SetSpanID(id)
		case f == 3 && w == wireLen && seen.first(f):
			if b := r.bytes(); len(b) > 0 {
				s.TraceState().FromRaw(string(b))
			}
		case f == 4 && w == wireLen && seen.first(f):
			id, ok := spanID(r.bytes())
			if !ok {
				return false
			}
			s.SetParentSpanID(id)
		case f == 5 && w == wireLen && seen.first(f):
			s.SetName(d.str(r.bytes()))
		case f == 6 && w == wireVarint && seen.first(f):
			s.SetKind(ptrace.SpanKind(int32(r.varint())))
		case f == 7 && w == wireI64 && seen.first(f):
			s.SetStartTimestamp(pcommon.Timestamp(r.fixed64()))
		case f == 8 && w == wireI64 && seen.first(f):
			s.SetEndTimestamp(pcommon.Timestamp(r.fixed64()))
		case f == 9 && w == wireLen:
			if !d.attributeField(&r, attrs, 9, 0) {
				return false
			}
		case f == 10 && w == wireVarint && seen.first(f):
			s.SetDroppedAttributesCount(uint32(r.varint()))
		case f == 11 && w == wireLen:
			b := r.bytes()
			events := s.Events()
			if events.Len() == 0 {
				events.EnsureCapacity(countField(buf, 11))
			}
			if r.bad || !d.event(b, events.AppendEmpty()) {
				return false
			}
		case f == 12 && w == wireVarint && seen.first(f):
			s.SetDroppedEventsCount(uint32(r.varint()))
		case f == 13 && w == wireLen:
			b := r.bytes()
			links := s.Links()
			if links.Len() == 0 {
				links.EnsureCapacity(countField(buf, 13))
			}
			if r.bad || !d.link(b, links.AppendEmpty()) {
				return false
			}
		case f == 14 && w == wireVarint && seen.first(f):
			s.SetDroppedLinksCount(uint32(r.varint()))
		case f == 15 && w == wireLen && seen.first(f):
			if b := r.bytes(); r.bad || !d.status(b, s.Status()) {
				return false
			}
		case f == 16 && w == wireI32 && seen.first(f):
			s.SetFlags(r.fixed32())
		default:
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) event(buf []byte, e ptrace.SpanEvent) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := e.Attributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireI64 && seen.first(f):
			e.SetTimestamp(pcommon.Timestamp(r.fixed64()))
		case f == 2 && w == wireLen && seen.first(f):
			e.SetName(d.str(r.bytes()))
		case f == 3 && w == wireLen:
			if !d.attributeField(&r, attrs, 3, 0) {
				return false
			}
		case f == 4 && w == wireVarint && seen.first(f):
			e.SetDroppedAttributesCount(uint32(r.varint()))
		default:
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) link(buf []byte, l ptrace.SpanLink) bool {
	var seen fieldSet
	r := reader{b: buf}
	attrs := l.Attributes()
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 1 && w == wireLen && seen.first(f):
			id, ok := traceID(r.bytes())
			if !ok {
				return false
			}
			l.SetTraceID(id)
		case f == 2 && w == wireLen && seen.first(f):
			id, ok := spanID(r.bytes())
			if !ok {
				return false
			}
			l.SetSpanID(id)
		case f == 3 && w == wireLen && seen.first(f):
			if b := r.bytes(); len(b) > 0 {
				l.TraceState().FromRaw(string(b))
			}
		case f == 4 && w == wireLen:
			if !d.attributeField(&r, attrs, 4, 0) {
				return false
			}
		case f == 5 && w == wireVarint && seen.first(f):
			l.SetDroppedAttributesCount(uint32(r.varint()))
		case f == 6 && w == wireI32 && seen.first(f):
			l.SetFlags(r.fixed32())
		default:
			return false
		}
	}
	return !r.bad
}

func (d *Decoder) status(buf []byte, st ptrace.Status) bool {
	var seen fieldSet
	r := reader{b: buf}
	for r.more() {
		f, w := r.tag()
		switch {
		case f == 2 && w == wireLen && seen.first(f):
			st.SetMessage(string(r.bytes()))
		case f == 3 && w == wireVarint && seen.first(f):
			st.SetCode(ptrace.StatusCode(int32(r.varint())))
		default: // 1, the deprecated code, among others
			return false
		}
	}
	return !r.bad
}
