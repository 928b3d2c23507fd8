package layerfilterprocessor

import (
	"context"
	"encoding/binary"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-gateway/otelcol-gateway/internal/layer"
	"github.com/otelcol-gateway/otelcol-gateway/processor/layerfilterprocessor/internal/metadata"
)

// Re-parenting keeps a trace whole when the filter removes a span that has
// kept children: each child gets its nearest kept ancestor as parent, which
// is what the gateway produces with that layer off in-process.
//
// The gateway's exporter sends children before their parents (children end
// first) and may split a request across batches. So:
//   - within a batch, an index of the batch maps each removed span to its
//     parent, and a kept span's parent is followed up that chain;
//   - a kept span whose parent is in none of the batches seen, and whose
//     class and attributes say that parent may have been removed, is held
//     until the parent arrives; max_wait, max_spans and shutdown release it
//     as it is;
//   - removed spans' parent IDs are remembered for max_wait, so a child
//     that comes after its removed parent (a read tracker ends after its
//     backend-request) is re-parented at once, without waiting;
//   - held spans handed on with a batch that the next consumer refuses are
//     taken back (the batch's sender retries its own spans only), and the
//     spans that batch put in the hold are let go (its sender sends them
//     again). Until the next consumer has taken or refused a batch, the
//     spans it put in the hold are pending: nothing hands them on, since
//     its sender may still send them again;
//   - but a span that a layerfilter before this one in the pipeline
//     released from its hold with the batch is nobody's to send again:
//     held here, it is this instance's at once, never pending nor let go.
//
// A policy that can remove no parent of a kept span (policy.reparent false)
// skips all of this.

// spanKey identifies a span, or with an awaited parent's ID, what a held
// span waits for.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// The index and the record of removed spans are keyed by span ID alone,
// which takes Go's fast path for 64-bit keys, and check the trace ID on a
// hit: span IDs are random, so two spans sharing one is next to impossible,
// and would only cost a re-parenting, never a wrong one.
func idKey(id pcommon.SpanID) uint64 { return binary.LittleEndian.Uint64(id[:]) }

type spanNode struct {
	trace  pcommon.TraceID
	parent pcommon.SpanID
	// mayGo: whether the span's parent may be removed too, so that the
	// chain may go on beyond what is known.
	mayGo bool
	// remoteBits: what the span's flags say of its parent, which a child
	// re-parented past it takes with that parent.
	remoteBits uint32
}

// batchIndex holds what one batch's re-parenting resources need: the
// removed spans, and the kept spans whose parent may be removed
// (candidates). Other kept spans are not indexed: most of a batch costs
// nothing more than a look-up of its parent.
type batchIndex struct {
	nodes      map[uint64]spanNode // removed spans
	candidates map[uint64]spanNode // kept spans whose parent may be removed
	kept       map[uint64]pcommon.TraceID
	remember   []uint64  // removed spans whose children may come later
	awaited    []spanKey // scratch for wake
}

var batchIndexPool = sync.Pool{New: func() any {
	return &batchIndex{
		nodes:      make(map[uint64]spanNode, 256),
		candidates: make(map[uint64]spanNode, 256),
		kept:       map[uint64]pcommon.TraceID{},
	}
}}

func getBatchIndex() *batchIndex { return batchIndexPool.Get().(*batchIndex) }

func putBatchIndex(b *batchIndex) {
	clear(b.nodes) // keeps the buckets for the next batch
	clear(b.candidates)
	clear(b.kept)
	b.remember = b.remember[:0]
	b.awaited = b.awaited[:0]
	batchIndexPool.Put(b)
}

// add records a span as the filter judged it; called before a removed span
// is gone.
// removed looks a removed span of the batch up.
func (b *batchIndex) removed(tid pcommon.TraceID, id pcommon.SpanID) (spanNode, bool) {
	n, ok := b.nodes[idKey(id)]
	return n, ok && n.trace == tid
}

func (b *batchIndex) candidate(tid pcommon.TraceID, id pcommon.SpanID) bool {
	n, ok := b.candidates[idKey(id)]
	return ok && n.trace == tid
}

func (b *batchIndex) isKept(tid pcommon.TraceID, id pcommon.SpanID) bool {
	t, ok := b.kept[idKey(id)]
	return ok && t == tid
}

// indexKept fills the set of the batch's spans (the removed ones are gone),
// needed only when a candidate's parent or an awaited one may be among
// them.
func (b *batchIndex) indexKept(td ptrace.Traces) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				b.kept[idKey(s.SpanID())] = s.TraceID()
			}
		}
	}
}

func (b *batchIndex) add(p *policy, s ptrace.Span, c layer.Class, r dropReason, m *lookupMemo) {
	// A parent the exporter marks remote is another process's span, not
	// one of the gateway's that this policy removed (a gateway that leaves
	// its global span out itself): nothing waits for it.
	remote := parentIsRemote(s)
	if r == keep {
		// Decided now, while the attributes are at hand.
		if !remote && p.parentMayBeRemovedMemo(c, s.Attributes(), m) {
			b.candidates[idKey(s.SpanID())] = spanNode{trace: s.TraceID(), parent: s.ParentSpanID(), mayGo: true}
		}
		return
	}
	k := idKey(s.SpanID())
	b.nodes[k] = spanNode{trace: s.TraceID(), parent: s.ParentSpanID(), mayGo: !remote && p.parentMayBeRemovedMemo(c, s.Attributes(), m), remoteBits: s.Flags() & remoteMask}
	// A read tracker has no children; a skip path removes the children of
	// what it removes, except under a global span skipped by its raw path.
	if c != layer.BackendReadPayload && (r != reasonSkipPath || c == layer.GlobalStage) {
		b.remember = append(b.remember, k)
	}
}

// OTLP span flags that say whether a span's parent is remote (proto
// SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK, SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK).
const (
	flagHasIsRemote uint32 = 0x100
	flagIsRemote    uint32 = 0x200
	remoteMask             = flagHasIsRemote | flagIsRemote
)

// parentIsRemote tells whether the span's exporter said its parent is
// remote; exporters that say nothing leave both bits clear.
func parentIsRemote(s ptrace.Span) bool {
	return s.Flags()&remoteMask == remoteMask
}

// setParent gives a span a new parent with what is known of it: the flags
// of the removed span whose parent it was say whether it is remote.
func setParent(s ptrace.Span, id pcommon.SpanID, remoteBits uint32) {
	s.SetParentSpanID(id)
	s.SetFlags(s.Flags()&^remoteMask | remoteBits)
}

// heldScope is the resource and scope held spans came with, copied once per
// scope and batch; the held spans live in its slice until released.
type heldScope struct {
	resource    pcommon.Resource
	resourceURL string
	scope       pcommon.InstrumentationScope
	scopeURL    string
	spans       ptrace.SpanSlice
	batch       *heldBatch // nil when no delivery awaits the next consumer's answer
}

// heldBatch is a batch that put spans in the hold, as long as the next
// consumer may refuse it. Its spans are pending until then: a refusal
// gives them back to the batch's sender, who sends them again, so that a
// span handed on meanwhile would be handed on twice. Guarded by the
// reparenter's lock.
type heldBatch struct {
	pending bool
	spans   []*heldSpan
}

func newHeldScope(rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, batch *heldBatch) *heldScope {
	h := &heldScope{
		resource:    pcommon.NewResource(),
		resourceURL: rs.SchemaUrl(),
		scope:       pcommon.NewInstrumentationScope(),
		scopeURL:    ss.SchemaUrl(),
		spans:       ptrace.NewSpanSlice(),
		batch:       batch,
	}
	rs.Resource().CopyTo(h.resource)
	ss.Scope().CopyTo(h.scope)
	return h
}

type heldSpan struct {
	span      ptrace.Span
	id        pcommon.SpanID // to find the span in a refused batch
	from      *heldScope
	awaiting  spanKey // trace and awaited parent
	since     int64   // unix nanoseconds
	rewritten bool    // parent already moved up the chain
	done      bool    // released; left in the queue until popped
	// While pending: resolved when its parent came (it no longer waits),
	// expired when max_wait ran out (it left the expiry queue). Either way
	// it is handed on when its batch is taken.
	resolved, expired bool
}

// pending tells whether the span's batch may still be refused: then
// nothing but that batch's answer takes it out of the hold.
func (h *heldSpan) pending() bool { return h.from.batch != nil && h.from.batch.pending }

type removedEntry struct {
	trace      pcommon.TraceID
	parent     pcommon.SpanID
	mayGo      bool
	remoteBits uint32
	at         int64
}

type removedAt struct {
	key uint64
	at  int64
}

// releaseReason says why held spans were released unresolved.
type releaseReason uint8

const (
	releaseMaxWait releaseReason = iota
	releaseMaxSpans
	releaseShutdown
	numReleaseReasons
)

func (r releaseReason) String() string {
	switch r {
	case releaseMaxWait:
		return "max_wait"
	case releaseMaxSpans:
		return "max_spans"
	}
	return "shutdown"
}

// maxChain bounds a walk up removed spans: KrakenD's chain has five spans;
// a cycle in bad data must not loop.
const maxChain = 16

type reparenter struct {
	maxWait    int64 // nanoseconds; 0: nothing held or remembered
	maxSpans   int
	maxRemoved int
	tick       time.Duration
	now        func() time.Time
	next       consumer.Traces // for releases outside a batch
	logger     *zap.Logger

	reparented  metric.Int64Counter
	unresolved  metric.Int64Counter
	held        metric.Int64UpDownCounter
	releaseOpts [numReleaseReasons][]metric.AddOption

	mu          sync.Mutex
	removed     map[uint64]removedEntry
	removedQ    []removedAt // insertion order, for expiry
	removedHead int
	waiting     map[spanKey][]*heldSpan // by trace and awaited parent
	heldQ       []*heldSpan             // hold order, for expiry
	heldHead    int
	// ready: released spans taken back from a refused batch, handed on
	// with the next batch or by the expiry task; counted in nHeld.
	ready []*heldSpan
	nHeld int
	// nPending: the held spans whose batch may still be refused, which no
	// bound releases.
	nPending int
	// closed is set when shutdown has released the hold: nothing would
	// release a span held after it.
	closed bool

	stop, stopped chan struct{}
}

func newReparenter(set component.TelemetrySettings, cfg ReparentConfig, tb *metadata.TelemetryBuilder) *reparenter {
	r := &reparenter{
		maxWait:    int64(cfg.MaxWait),
		maxSpans:   cfg.MaxSpans,
		maxRemoved: cfg.MaxRemoved,
		tick:       min(max(cfg.MaxWait/4, 10*time.Millisecond), time.Second),
		now:        time.Now,
		logger:     set.Logger,
		reparented: tb.ProcessorLayerfilterReparentedSpans,
		unresolved: tb.ProcessorLayerfilterReleasedUnresolvedSpans,
		held:       tb.ProcessorLayerfilterHeldSpans,
		removed:    map[uint64]removedEntry{},
		waiting:    map[spanKey][]*heldSpan{},
	}
	for reason := releaseMaxWait; reason < numReleaseReasons; reason++ {
		r.releaseOpts[reason] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason.String())))}
	}
	return r
}

// settlement is what one call changed, recorded after the lock is let go.
type settlement struct {
	released   []*heldSpan
	reparented int64
	unresolved [numReleaseReasons]int64
	heldDelta  int64
}

// settle re-parents the kept spans of a filtered batch, holds those that
// must wait, and appends to the batch the held spans it releases.
func (r *reparenter) settle(ctx context.Context, td ptrace.Traces, idx *batchIndex, policyFor func(pcommon.Resource) *policy) {
	var st settlement
	now := r.now().UnixNano()
	d := r.deliveryFrom(ctx)
	r.mu.Lock()
	r.takeReady(&st)
	// Forget stale removed spans first, settle the held spans whose parent
	// came before their deadline, then release the ones past it.
	r.expireRemoved(now)
	if len(r.waiting) > 0 {
		r.wake(td, idx, &st)
	}
	r.expireHeld(now, &st)
	if r.maxWait > 0 {
		for _, k := range idx.remember {
			r.remember(k, idx.nodes[k], now)
		}
	}
	if !r.prepare(td, idx) {
		// Nothing removed that a kept span could point at, nothing to wait for.
		r.mu.Unlock()
		r.handOn(ctx, td, d, &st)
		return
	}
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		p := policyFor(rs.Resource())
		if !p.reparent {
			return false
		}
		emptied := false
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			var from, fromBefore *heldScope
			ss.Spans().RemoveIf(func(s ptrace.Span) bool {
				parent := s.ParentSpanID()
				if parent.IsEmpty() {
					return false
				}
				tid := s.TraceID()
				id, remoteBits, unknown, mayGo, changed := r.resolve(idx, tid, parent)
				if unknown && !changed {
					mayGo = idx.candidate(tid, s.SpanID())
				}
				if changed {
					setParent(s, id, remoteBits)
				}
				if unknown && mayGo && r.maxWait > 0 && !idx.isKept(tid, id) {
					if !r.closed {
						if !r.makeRoom(&st) {
							// Every held span is pending: handed on as it
							// is, as the oldest would have been.
							st.unresolved[releaseMaxSpans]++
							return false
						}
						to := from
						if d.releasedBefore(tid, s.SpanID()) {
							// Released by a layerfilter before this one:
							// not its sender's to send again, but that
							// instance's, which takes back only what it
							// finds in a refused batch. Held as this
							// instance's own, not pending.
							if fromBefore == nil {
								fromBefore = newHeldScope(rs, ss, nil)
							}
							to = fromBefore
						} else if from == nil {
							if d != nil && d.held == nil {
								d.held = &heldBatch{pending: true}
							}
							from = newHeldScope(rs, ss, d.heldBatch())
							to = from
						}
						r.hold(s, to, spanKey{tid, id}, now, changed, &st)
						return true
					}
					// After shutdown nothing would release it: handed on as it
					// is, as shutdown hands on what was held. Refusing the
					// batch would lose nothing only if the sender retried, and
					// it would retry into a processor that is going away.
					st.unresolved[releaseShutdown]++
					return false
				}
				if changed {
					st.reparented++
				}
				return false
			})
			// Never hand on a scope (nor a resource) that holding emptied.
			gone := (from != nil || fromBefore != nil) && ss.Spans().Len() == 0
			emptied = emptied || gone
			return gone
		})
		return emptied && rs.ScopeSpans().Len() == 0
	})
	r.mu.Unlock()
	r.handOn(ctx, td, d, &st)
}

// handOn appends the released spans to the batch, and tells the delivery
// which they are.
func (r *reparenter) handOn(ctx context.Context, td ptrace.Traces, d *delivery, st *settlement) {
	appendReleased(td, st.released)
	if d != nil {
		d.released = st.released
	}
	r.record(ctx, st)
}

// resolve follows parent up the removed spans known from the batch and
// from earlier ones. It returns the first ID that is not a removed span,
// with, when the walk passed a removed span, that span's remote flags;
// unknown when the ID is in neither, with mayGo telling, when the walk
// passed a removed span, whether that span's parent may be removed too.
func (r *reparenter) resolve(idx *batchIndex, tid pcommon.TraceID, parent pcommon.SpanID) (id pcommon.SpanID, remoteBits uint32, unknown, mayGo, changed bool) {
	for range maxChain {
		if n, ok := idx.removed(tid, parent); ok {
			parent, remoteBits, mayGo, changed = n.parent, n.remoteBits, n.mayGo, true
		} else if e, ok := r.removed[idKey(parent)]; ok && e.trace == tid {
			parent, remoteBits, mayGo, changed = e.parent, e.remoteBits, e.mayGo, true
		} else {
			return parent, remoteBits, true, mayGo, changed
		}
		if parent.IsEmpty() {
			return parent, remoteBits, false, false, true
		}
	}
	return parent, remoteBits, false, false, changed
}

// prepare tells whether the batch's kept spans need a look: when it
// removed spans, when removed spans are remembered, or when a chain may go
// on beyond what is known. In that last case a span's parent may be a kept
// span of this batch, so the batch's spans are indexed, which most batches
// are spared.
func (r *reparenter) prepare(td ptrace.Traces, idx *batchIndex) bool {
	open := false
	for _, n := range idx.candidates {
		if open = r.chainOpen(idx, n); open {
			break
		}
	}
	if !open {
		for _, n := range idx.nodes {
			if open = n.mayGo && r.chainOpen(idx, n); open {
				break
			}
		}
	}
	if open && len(idx.kept) == 0 {
		idx.indexKept(td)
	}
	return open || len(idx.nodes) > 0 || len(r.removed) > 0
}

// chainOpen tells whether n's parent chain ends at an unknown span that may
// have been removed.
func (r *reparenter) chainOpen(idx *batchIndex, n spanNode) bool {
	_, _, unknown, mayGo, changed := r.resolve(idx, n.trace, n.parent)
	return unknown && (mayGo || (!changed && n.mayGo))
}

// wake settles the held spans whose awaited parent is in this batch, kept
// or removed.
func (r *reparenter) wake(td ptrace.Traces, idx *batchIndex, st *settlement) {
	if len(idx.kept) == 0 {
		idx.indexKept(td)
	}
	awaited := idx.awaited[:0]
	for k := range r.waiting {
		if _, ok := idx.removed(k.trace, k.span); ok || idx.isKept(k.trace, k.span) {
			awaited = append(awaited, k)
		}
	}
	idx.awaited = awaited
	for _, k := range awaited {
		list := r.waiting[k]
		delete(r.waiting, k)
		id, remoteBits, unknown, mayGo, changed := r.resolve(idx, k.trace, k.span)
		if unknown && idx.isKept(k.trace, id) {
			unknown = false
		}
		for _, h := range list {
			if changed {
				setParent(h.span, id, remoteBits)
				h.rewritten = true
			}
			if unknown && mayGo {
				// The parent was removed and its own parent may be too:
				// wait for that one, keeping the original deadline.
				h.awaiting = spanKey{k.trace, id}
				r.waiting[h.awaiting] = append(r.waiting[h.awaiting], h)
				continue
			}
			if h.pending() {
				// Handed on when its batch is taken; let go if refused.
				h.resolved = true
				continue
			}
			r.release(h, st)
			if h.rewritten {
				st.reparented++
			}
		}
	}
}

// makeRoom releases the oldest held spans until one more may be held;
// false when max_spans is reached and every held span is pending.
func (r *reparenter) makeRoom(st *settlement) bool {
	for r.nHeld >= r.maxSpans {
		if r.nHeld == r.nPending || !r.evictOldest(releaseMaxSpans, st) {
			return false
		}
	}
	return true
}

// hold puts s in the hold; the caller has made room.
func (r *reparenter) hold(s ptrace.Span, from *heldScope, k spanKey, now int64, rewritten bool, st *settlement) {
	h := &heldSpan{span: from.spans.AppendEmpty(), id: s.SpanID(), from: from, awaiting: k, since: now, rewritten: rewritten}
	s.MoveTo(h.span)
	r.waiting[k] = append(r.waiting[k], h)
	r.heldQ = append(r.heldQ, h)
	r.nHeld++
	st.heldDelta++
	if from.batch != nil {
		from.batch.spans = append(from.batch.spans, h)
		r.nPending++
	}
	// Spans released out of order stay queued until they reach the head;
	// drop them once they outnumber the held ones, so that the queue follows
	// max_spans rather than the hold rate.
	if len(r.heldQ)-r.heldHead > 2*r.nHeld+64 {
		r.purgeReleased()
	}
}

func (r *reparenter) purgeReleased() {
	q := r.heldQ[:0]
	for _, h := range r.heldQ[r.heldHead:] {
		if !h.done {
			q = append(q, h)
		}
	}
	clear(r.heldQ[len(q):])
	r.heldQ, r.heldHead = q, 0
}

// release takes a held span out of the count and hands it to st; the
// caller has taken it out of waiting.
func (r *reparenter) release(h *heldSpan, st *settlement) {
	h.done = true
	r.nHeld--
	st.heldDelta--
	st.released = append(st.released, h)
}

func (r *reparenter) releaseUnresolved(h *heldSpan, reason releaseReason, st *settlement) {
	r.unwait(h)
	r.release(h, st)
	st.unresolved[reason]++
}

// unwait takes a held span out of waiting.
func (r *reparenter) unwait(h *heldSpan) {
	list := r.waiting[h.awaiting]
	for i, x := range list {
		if x == h {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(r.waiting, h.awaiting)
	} else {
		r.waiting[h.awaiting] = list
	}
}

// takeReady releases the spans taken back from a refused batch: they wait
// for nothing but a batch to leave with. Their release was counted when
// they were first handed on.
func (r *reparenter) takeReady(st *settlement) {
	for _, h := range r.ready {
		r.release(h, st)
	}
	clear(r.ready)
	r.ready = r.ready[:0]
}

// evictOldest releases the oldest held span that is not pending, as it
// is; false when none is. Pending spans keep their place in the queue.
func (r *reparenter) evictOldest(reason releaseReason, st *settlement) bool {
	for i := r.heldHead; i < len(r.heldQ); i++ {
		h := r.heldQ[i]
		if !h.done && h.pending() {
			continue
		}
		if i == r.heldHead {
			r.heldQ[i] = nil
			r.heldHead++
		}
		if !h.done {
			r.releaseUnresolved(h, reason, st)
			return true
		}
	}
	return false
}

// expire releases the held spans and forgets the removed spans older than
// max_wait.
func (r *reparenter) expire(now int64, st *settlement) {
	r.expireHeld(now, st)
	r.expireRemoved(now)
}

func (r *reparenter) expireHeld(now int64, st *settlement) {
	for r.heldHead < len(r.heldQ) {
		h := r.heldQ[r.heldHead]
		if !h.done {
			if now-h.since < r.maxWait {
				break
			}
			if h.pending() {
				h.expired = true // handed on when its batch is taken
			} else {
				r.releaseUnresolved(h, releaseMaxWait, st)
			}
		}
		r.heldQ[r.heldHead] = nil
		r.heldHead++
	}
	r.heldQ, r.heldHead = compact(r.heldQ, r.heldHead)
}

func (r *reparenter) expireRemoved(now int64) {
	for r.removedHead < len(r.removedQ) && now-r.removedQ[r.removedHead].at >= r.maxWait {
		r.forgetOldest()
	}
	r.removedQ, r.removedHead = compact(r.removedQ, r.removedHead)
}

func (r *reparenter) remember(k uint64, n spanNode, now int64) {
	// The queue bounds the map too: it has an entry per map entry, and
	// more when a span came twice.
	for len(r.removedQ)-r.removedHead >= r.maxRemoved {
		r.forgetOldest()
	}
	r.removed[k] = removedEntry{trace: n.trace, parent: n.parent, mayGo: n.mayGo, remoteBits: n.remoteBits, at: now}
	r.removedQ = append(r.removedQ, removedAt{k, now})
}

func (r *reparenter) forgetOldest() {
	old := r.removedQ[r.removedHead]
	r.removedHead++
	// The same span may have come twice; only its last entry counts.
	if e, ok := r.removed[old.key]; ok && e.at == old.at {
		delete(r.removed, old.key)
	}
}

// compact drops a queue's popped head once it is half the queue, so that
// the queue's memory follows what it holds.
func compact[T any](q []T, head int) ([]T, int) {
	if head == 0 || head*2 < len(q) {
		return q, head
	}
	n := copy(q, q[head:])
	clear(q[n:])
	return q[:n], 0
}

// releaseAll releases every held span as it is, but the pending ones:
// their batch's answer hands them on or lets them go.
func (r *reparenter) releaseAll(reason releaseReason, st *settlement) {
	r.takeReady(st)
	q := r.heldQ[:0]
	for _, h := range r.heldQ[r.heldHead:] {
		switch {
		case h.done:
		case h.pending():
			q = append(q, h)
		default:
			r.releaseUnresolved(h, reason, st)
		}
	}
	clear(r.heldQ[len(q):])
	r.heldQ, r.heldHead = q, 0
}

// appendReleased moves released spans into td, under a copy of the
// resource and scope each came with.
func appendReleased(td ptrace.Traces, released []*heldSpan) {
	if len(released) == 0 {
		return
	}
	var (
		last *heldScope
		dst  ptrace.SpanSlice
		dsts map[*heldScope]ptrace.SpanSlice
	)
	for _, h := range released {
		if h.from != last {
			var ok bool
			if dst, ok = dsts[h.from]; !ok {
				rs := td.ResourceSpans().AppendEmpty()
				rs.SetSchemaUrl(h.from.resourceURL)
				h.from.resource.CopyTo(rs.Resource())
				ss := rs.ScopeSpans().AppendEmpty()
				ss.SetSchemaUrl(h.from.scopeURL)
				h.from.scope.CopyTo(ss.Scope())
				dst = ss.Spans()
				if dsts == nil {
					dsts = map[*heldScope]ptrace.SpanSlice{}
				}
				dsts[h.from] = dst
			}
			last = h.from
		}
		h.span.MoveTo(dst.AppendEmpty())
	}
}

func (r *reparenter) record(ctx context.Context, st *settlement) {
	if st.reparented > 0 {
		r.reparented.Add(ctx, st.reparented)
	}
	for reason := releaseMaxWait; reason < numReleaseReasons; reason++ {
		if n := st.unresolved[reason]; n > 0 {
			r.unresolved.Add(ctx, n, r.releaseOpts[reason]...)
		}
	}
	if st.heldDelta != 0 {
		r.held.Add(ctx, st.heldDelta)
	}
}

// start runs the expiry of held spans; nothing waits when max_wait is 0.
func (r *reparenter) start(context.Context, component.Host) error {
	if r.maxWait == 0 || r.stop != nil {
		return nil
	}
	r.mu.Lock()
	r.closed = false
	r.mu.Unlock()
	r.stop, r.stopped = make(chan struct{}), make(chan struct{})
	go r.run(r.stop, r.stopped)
	return nil
}

func (r *reparenter) run(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(r.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.flush(context.Background(), false)
		}
	}
}

// shutdown stops the expiry and hands on everything still held: held data
// is never lost. Spans of a batch that comes later are not held.
func (r *reparenter) shutdown(ctx context.Context) error {
	if r.stop != nil {
		close(r.stop)
		<-r.stopped
		r.stop = nil
	}
	return r.flush(ctx, true)
}

// flush hands on, outside any batch, the held spans past max_wait, or all
// of them.
func (r *reparenter) flush(ctx context.Context, all bool) error {
	var st settlement
	r.mu.Lock()
	if all {
		r.closed = true
		r.releaseAll(releaseShutdown, &st)
	} else {
		r.takeReady(&st)
		r.expire(r.now().UnixNano(), &st)
	}
	r.mu.Unlock()
	return r.deliver(ctx, &st)
}

// deliver hands released spans on, outside any batch; refused, they are
// taken back.
func (r *reparenter) deliver(ctx context.Context, st *settlement) error {
	r.record(ctx, st)
	if len(st.released) == 0 || r.next == nil {
		return nil
	}
	td := ptrace.NewTraces()
	appendReleased(td, st.released)
	// A layerfilter after this one keeps what it holds of these spans
	// when the delivery is refused: nobody else sends them again.
	d := &delivery{owner: r, up: deliveryIn(ctx), released: st.released}
	err := r.next.ConsumeTraces(context.WithValue(ctx, deliveryKey{}, d), td)
	d.released, d.up = nil, nil // a queue downstream may keep the context
	if err != nil {
		r.holdAgain(ctx, td, st.released, nil)
		return err
	}
	return nil
}

// delivery is what settle did to the hold for one batch, for the next
// consumer's answer: accepted or holdAgain.
type delivery struct {
	// the instance whose holdingTraces made it: the context of a
	// layerfilter's batch may carry another instance's, one before it in
	// the pipeline, which only that instance may fill in
	owner    *reparenter
	held     *heldBatch  // the spans the batch put in the hold; nil: none
	released []*heldSpan // held spans handed on with the batch
	// up is the delivery of the nearest layerfilter before this one in
	// the pipeline that holds spans, nil for none.
	up *delivery
}

// releasedBefore tells whether a layerfilter before this one in the
// pipeline released the span from its hold and handed it on with this
// batch. A refusal of the batch makes that instance take back what it
// finds in it, and nobody send the span again: if this instance holds it,
// it must keep it. Asked only of spans about to be held.
func (d *delivery) releasedBefore(tid pcommon.TraceID, id pcommon.SpanID) bool {
	if d == nil {
		return false
	}
	for u := d.up; u != nil; u = u.up {
		for _, h := range u.released {
			if h.id == id && h.awaiting.trace == tid {
				return true
			}
		}
	}
	return false
}

// heldBatch returns d.held, nil when d is.
func (d *delivery) heldBatch() *heldBatch {
	if d == nil {
		return nil
	}
	return d.held
}

type deliveryKey struct{}

// holdingTraces is the traces processor when spans may be held: it tells
// the hold when the next consumer refuses a batch. processorhelper hands
// the batch on after processTraces returns, so the context carries what
// settle did; that costs two allocations a batch, none a span.
type holdingTraces struct {
	processor.Traces
	hold *reparenter
}

func (p *holdingTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	d := &delivery{owner: p.hold, up: deliveryIn(ctx)}
	err := p.Traces.ConsumeTraces(context.WithValue(ctx, deliveryKey{}, d), td)
	switch {
	case err != nil && (d.held != nil || len(d.released) > 0):
		p.hold.holdAgain(ctx, td, d.released, d.held)
	case err == nil && d.held != nil:
		// The batch was taken: a refusal of the spans handed on now is
		// theirs (they are taken back), not the batch's.
		_ = p.hold.accepted(ctx, d.held)
	}
	d.held, d.released, d.up = nil, nil, nil // a queue downstream may keep the context
	return err
}

// deliveryIn returns the delivery of the nearest layerfilter that holds
// spans before the context's holder in the pipeline, nil for none.
func deliveryIn(ctx context.Context) *delivery {
	d, _ := ctx.Value(deliveryKey{}).(*delivery)
	return d
}

// deliveryFrom returns this instance's delivery of the batch, nil when the
// context carries none or another instance's: an instance that holds
// nothing (max_wait 0) after one that holds would otherwise overwrite what
// that one handed on with the batch, and lose it on a refusal.
func (r *reparenter) deliveryFrom(ctx context.Context) *delivery {
	d := deliveryIn(ctx)
	if d == nil || d.owner != r {
		return nil
	}
	return d
}

// holdAgain undoes, when the next consumer refuses td, what handing it on
// did to the hold. Whoever sent td retries its own spans, not the held
// spans of earlier batches that left with it: those are taken back into
// the hold, to leave with the next batch or by the expiry task, their
// release already counted. The spans td's batch (own, nil for none) put in
// the hold are let go: its sender sends them again, and they must not be
// handed on twice. After shutdown nothing would hand them on again.
func (r *reparenter) holdAgain(ctx context.Context, td ptrace.Traces, released []*heldSpan, own *heldBatch) {
	back := takeBack(td, released)
	var st settlement
	r.mu.Lock()
	if own != nil {
		r.letGo(own, &st)
	}
	closed := r.closed
	if !closed {
		for _, h := range back {
			r.ready = append(r.ready, h)
			r.nHeld++
			st.heldDelta++
		}
	}
	r.mu.Unlock()
	r.record(ctx, &st)
	switch {
	case closed && len(back) > 0:
		r.logger.Warn("Held spans in a batch refused after shutdown are dropped", zap.Int("spans", len(back)))
	case len(back) > 0:
		r.logger.Debug("Held spans refused; they are handed on again with the next batch", zap.Int("spans", len(back)))
	}
}

// letGo takes out of the hold, without handing them on, the spans a
// refused batch put in it. They were pending: nothing handed them on.
func (r *reparenter) letGo(b *heldBatch, st *settlement) {
	b.pending = false
	for _, h := range b.spans {
		if !h.resolved {
			r.unwait(h)
		}
		h.done = true
		r.nHeld--
		r.nPending--
		st.heldDelta--
	}
	b.spans = nil
}

// accepted makes the spans a batch put in the hold ordinary held spans,
// once the next consumer took the batch, and hands on at once those that
// would have been released while it was in flight: their parent came,
// max_wait ran out, or the processor shut down.
func (r *reparenter) accepted(ctx context.Context, b *heldBatch) error {
	var st settlement
	r.mu.Lock()
	b.pending = false
	for _, h := range b.spans {
		r.nPending--
		switch {
		case h.resolved:
			r.release(h, &st)
			if h.rewritten {
				st.reparented++
			}
		case h.expired:
			r.releaseUnresolved(h, releaseMaxWait, &st)
		case r.closed:
			r.releaseUnresolved(h, releaseShutdown, &st)
		}
	}
	b.spans = nil
	r.mu.Unlock()
	return r.deliver(ctx, &st)
}

// takeBack moves the released spans found in td back into their held
// slots, and returns them. A span that a consumer after this one removed
// from td before refusing it stays removed, as it would on a retry. Data
// marked read-only (handed to several consumers) is copied.
func takeBack(td ptrace.Traces, released []*heldSpan) []*heldSpan {
	want := make(map[spanKey]*heldSpan, len(released))
	for _, h := range released {
		want[spanKey{h.awaiting.trace, h.id}] = h
	}
	if len(want) == 0 {
		return nil
	}
	back := make([]*heldSpan, 0, len(want))
	take := func(s ptrace.Span) *heldSpan {
		k := spanKey{s.TraceID(), s.SpanID()}
		h, ok := want[k]
		if ok {
			delete(want, k)
			back = append(back, h)
		}
		return h
	}
	readOnly := td.IsReadOnly()
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			if readOnly {
				for _, s := range ss.Spans().All() {
					if h := take(s); h != nil {
						s.CopyTo(h.span)
					}
				}
				continue
			}
			ss.Spans().RemoveIf(func(s ptrace.Span) bool {
				h := take(s)
				if h != nil {
					s.MoveTo(h.span)
				}
				return h != nil
			})
		}
	}
	return back
}
