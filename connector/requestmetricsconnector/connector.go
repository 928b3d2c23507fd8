package requestmetricsconnector // import "github.com/otelcol-gateway/otelcol-gateway/connector/requestmetricsconnector"

import (
	"context"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatautil"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-gateway/otelcol-gateway/internal/requestpair"
	"github.com/otelcol-gateway/otelcol-gateway/internal/samplingrule"
)

// scopeName is the instrumentation scope of the emitted metrics. It is
// spanmetrics' (connector.go buildMetrics), so that dashboards and queries
// on otel_scope_name keep working when this connector replaces it.
const scopeName = "spanmetricsconnector"

// resourceLimit is spanmetrics' default resource_metrics_cache_size: past it
// the least recently seen resource is emitted once more, then forgotten.
const resourceLimit = 1000

type dimension struct {
	name string
	def  *pcommon.Value
}

// connectorImp aggregates spans into series under one lock and emits them
// on a ticker.
type connectorImp struct {
	logger *zap.Logger
	clock  clockwork.Clock
	next   consumer.Metrics
	// pair links the requestmetrics processors of the same ID, which count
	// for this connector (internal/requestpair); paired is set when one
	// starts, and then the spans received here are not counted.
	pair   *requestpair.Pair
	paired atomic.Bool

	// Everything below up to mu depends only on the configuration.
	interval     time.Duration
	dims         []dimension
	byLen        [][]uint8 // dimension indices by the length of their name
	bounds       []float64
	unitDivider  float64
	unit         string
	callsName    string
	durationName string
	limit        int
	includeScope []string
	instanceID   string
	withService  bool
	withSpanName bool
	withKind     bool
	withStatus   bool
	withInstance bool
	// upstream is the sender's sampling rule; upstreamWeight what a span
	// of a trace it keeps stands for (0: no upstream sampling).
	upstream       samplingrule.SDKRatio
	upstreamWeight float64

	mu        sync.Mutex
	resources map[[16]byte]*resourceState
	live      int    // resources not evicted
	useSeq    uint64 // orders resources by last use
	// lru links the resources not evicted, least recently used first, so
	// that an eviction takes the oldest without looking at the others.
	lruHead, lruTail *resourceState
	seed             maphash.Seed
	rng              xorshift64star

	ticker       clockwork.Ticker
	done         chan struct{}
	cancelTick   context.CancelFunc // abandons a tick's emission at Shutdown
	wg           sync.WaitGroup
	started      bool
	shutdownOnce sync.Once
}

// resourceState is the series of one resource (all its attributes, hashed
// as spanmetrics hashes them).
type resourceState struct {
	attrs    pcommon.Map
	series   map[uint64]*series // by hash, colliding series chained
	count    int
	order    []*series // creation order, for a stable output
	overflow *series
	lastUsed uint64
	evicted  bool
	// the neighbours in the connector's lru list (not evicted only)
	prev, next *resourceState
	// unsampledSender: the resource sent a root span whose trace ID the
	// upstream sampling rule drops, so it does not sample by that rule and
	// its spans count 1 each.
	unsampledSender bool
}

// storedValue is a dimension value a series was created with, kept to
// confirm that a span whose hash matches really belongs to the series:
// its type, its number (ints, doubles' bits, booleans) and its string form.
type storedValue struct {
	present bool
	typ     pcommon.ValueType
	s       string
	n       int64
}

type series struct {
	// what identifies the series within its resource
	kind     ptrace.SpanKind
	status   ptrace.StatusCode
	scopeIdx uint32
	version  string
	spanName string
	vals     []storedValue
	next     *series // the next series with the same hash

	attrs   pcommon.Map
	start   pcommon.Timestamp
	count   uint64
	sum     float64
	buckets []uint64
	// reported: spanmetrics' Sum.isFirst inverted. A cumulative calls
	// point is 0 the first time it is emitted.
	reported bool
}

func newConnector(set component.TelemetrySettings, cfg *Config, clock clockwork.Clock, instanceID string, next consumer.Metrics) *connectorImp {
	c := &connectorImp{
		logger:       set.Logger,
		clock:        clock,
		next:         next,
		interval:     cfg.MetricsFlushInterval,
		bounds:       cfg.bounds(),
		unitDivider:  float64(cfg.unitDivider()),
		unit:         cfg.Histogram.Unit,
		callsName:    metricName(cfg.Namespace, "calls"),
		durationName: metricName(cfg.Namespace, "duration"),
		limit:        cfg.AggregationCardinalityLimit,
		includeScope: slices.Clone(cfg.IncludeInstrumentationScope),
		instanceID:   instanceID,
		withService:  !cfg.excluded(serviceNameKey),
		withSpanName: !cfg.excluded(spanNameKey),
		withKind:     !cfg.excluded(spanKindKey),
		withStatus:   !cfg.excluded(statusCodeKey),
		withInstance: !cfg.excluded(collectorInstanceIDKey),
		resources:    map[[16]byte]*resourceState{},
		seed:         maphash.MakeSeed(),
		rng:          newXorshift(),
	}
	if p := cfg.UpstreamSampling.Percentage; p > 0 && p < 100 {
		c.upstream = samplingrule.NewSDKRatio(p)
		c.upstreamWeight = 1 / samplingrule.Fraction(p)
	}
	for i, d := range cfg.Dimensions {
		dim := dimension{name: d.Name}
		if d.Default != nil {
			v := pcommon.NewValueStr(*d.Default)
			dim.def = &v
		}
		c.dims = append(c.dims, dim)
		for len(c.byLen) <= len(d.Name) {
			c.byLen = append(c.byLen, nil)
		}
		c.byLen[len(d.Name)] = append(c.byLen[len(d.Name)], uint8(i))
	}
	return c
}

func metricName(namespace, name string) string {
	if namespace != "" {
		return namespace + "." + name
	}
	return name
}

// Capabilities implements consumer.Traces: the spans are only read.
func (*connectorImp) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Start starts the flush ticker.
func (c *connectorImp) Start(context.Context, component.Host) error {
	c.ticker = c.clock.NewTicker(c.interval)
	c.done = make(chan struct{})
	// A tick's emission may block in the next consumer (an exporter
	// retrying a refusing backend): Shutdown cancels it rather than wait.
	ctx, cancel := context.WithCancel(context.Background())
	c.cancelTick = cancel
	c.started = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			select {
			case <-c.done:
				return
			case <-c.ticker.Chan():
				c.flush(ctx, false)
			}
		}
	}()
	return nil
}

// Shutdown stops the ticker and emits the series one last time, so that
// what was counted since the last tick reaches the pipeline (spanmetrics
// drops it). A series not emitted yet shows its count there, not the first
// 0 of a tick: no later point would carry it.
func (c *connectorImp) Shutdown(ctx context.Context) error {
	c.shutdownOnce.Do(func() {
		if c.pair != nil {
			c.pair.ClearCounter(c)
		}
		if !c.started {
			return
		}
		c.ticker.Stop()
		close(c.done)
		c.cancelTick()
		c.wg.Wait()
		c.flush(ctx, true)
	})
	return nil
}

// ConsumeTraces counts the spans into their series, unless a requestmetrics
// processor of the same ID counts for this connector: then what arrives
// here came after it (sampled), counted already.
func (c *connectorImp) ConsumeTraces(_ context.Context, td ptrace.Traces) error {
	if c.paired.Load() {
		return nil
	}
	c.CountTraces(td)
	return nil
}

// CountTraces counts the spans into their series: for requestpair, what a
// paired processor hands on.
func (c *connectorImp) CountTraces(td ptrace.Traces) {
	c.mu.Lock()
	c.aggregate(td)
	c.mu.Unlock()
}

// AttachProcessor is told by a requestmetrics processor of the same ID
// when it starts (requestpair): for the rest of this connector's life the
// processor counts, up to the last batch a sampler between them hands on
// at shutdown, after the processor is gone.
func (c *connectorImp) AttachProcessor() {
	c.paired.Store(true)
}

// adjustedCountCache remembers the last tracestate's adjusted count, as
// spanmetrics does within a batch (consecutive spans of a trace share it).
type adjustedCountCache struct {
	tracestate string
	count      uint64
	// threshold: the tracestate holds an OTEP 235 threshold, which count
	// is from
	threshold bool
}

func (c *connectorImp) aggregate(td ptrace.Traces) {
	now := pcommon.NewTimestampFromTime(c.clock.Now())
	cache := adjustedCountCache{count: 1}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resAttrs := rs.Resource().Attributes()
		svc, ok := resAttrs.Get(serviceNameKey)
		if !ok {
			continue // spanmetrics counts no span of a resource without service.name
		}
		res := c.resourceFor(resAttrs)
		rc := resourceContext{res: res, service: svc.Str(), now: now}
		if c.upstreamWeight > 0 && !res.unsampledSender {
			c.checkSender(rs, res, svc.Str())
			rc.weighted = !res.unsampledSender
		}
		for d := range c.dims {
			if v, ok := resAttrs.Get(c.dims[d].name); ok {
				rc.vals[d] = v
				rc.mask |= 1 << d
			}
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			c.scopeContext(&rc, ss.Scope())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				c.count(&rc, spans.At(k), &cache)
			}
		}
	}
}

// resourceContext is what the spans of one ResourceSpans and ScopeSpans
// share.
type resourceContext struct {
	res     *resourceState
	service string
	now     pcommon.Timestamp
	vals    [maxDimensions]pcommon.Value // the resource's dimension values
	mask    uint32
	scope   pcommon.InstrumentationScope
	// scopeIdx is the scope's index+1 in include_instrumentation_scope (0:
	// not included); scopeHash mixes it with the scope version.
	scopeIdx  uint32
	version   string
	scopeHash uint64
	// weighted: the spans of traces the upstream sampling rule keeps count
	// upstreamWeight
	weighted bool
}

// checkSender marks the resource as a sender that does not sample by the
// upstream rule when it sent a root span the rule drops: a sender that
// samples by it starts no trace the rule drops (a trace it continued from a
// caller has a parent). Checked before counting, so that the whole batch
// counts 1:1.
func (c *connectorImp) checkSender(rs ptrace.ResourceSpans, res *resourceState, service string) {
	for _, ss := range rs.ScopeSpans().All() {
		for _, s := range ss.Spans().All() {
			if s.ParentSpanID().IsEmpty() && !c.upstream.Keeps(s.TraceID()) {
				res.unsampledSender = true
				c.logger.Info("requestmetrics: a sender started a trace that upstream_sampling's rule drops, so it does not sample by that rule: its spans count 1 each",
					zap.String("service.name", service))
				return
			}
		}
	}
}

func (c *connectorImp) scopeContext(rc *resourceContext, scope pcommon.InstrumentationScope) {
	rc.scope = scope
	rc.scopeIdx, rc.version, rc.scopeHash = 0, "", 0
	name := scope.Name()
	if name == "" {
		return
	}
	for i, s := range c.includeScope {
		if s == name {
			rc.scopeIdx = uint32(i) + 1
			break
		}
	}
	if rc.scopeIdx != 0 {
		rc.version = scope.Version()
		rc.scopeHash = mix(uint64(rc.scopeIdx), maphash.String(c.seed, rc.version))
	}
}

func (c *connectorImp) count(rc *resourceContext, span ptrace.Span, cache *adjustedCountCache) {
	// One pass over the span's attributes picks up every dimension; the
	// first occurrence of a key wins, as with Map.Get.
	var vals [maxDimensions]pcommon.Value
	var mask uint32
	for k, v := range span.Attributes().All() {
		if len(k) >= len(c.byLen) {
			continue
		}
		for _, d := range c.byLen[len(k)] {
			if c.dims[d].name == k {
				if mask&(1<<d) == 0 {
					vals[d] = v
					mask |= 1 << d
				}
				break
			}
		}
	}
	for d := range c.dims {
		bit := uint32(1) << d
		if mask&bit != 0 {
			continue
		}
		if rc.mask&bit != 0 {
			vals[d] = rc.vals[d]
			mask |= bit
		} else if c.dims[d].def != nil {
			vals[d] = *c.dims[d].def
			mask |= bit
		}
	}

	// One hash of everything that identifies the series, then a check of
	// the candidates' values: no string is built and nothing allocated.
	kind, status := span.Kind(), span.Status().Code()
	// An excluded kind or status is not in spanmetrics' key either
	// (buildKey): spans that differ only there share one series.
	// Every kind or status outside the enums is "" to spanmetrics, in its
	// key and its attributes: one series for all of them.
	if !c.withKind {
		kind = ptrace.SpanKindUnspecified
	} else if spanKindStr(kind) == "" {
		kind = unknownSpanKind
	}
	if !c.withStatus {
		status = ptrace.StatusCodeUnset
	} else if statusCodeStr(status) == "" {
		status = unknownStatusCode
	}
	h := mix(uint64(kind)<<8|uint64(status), rc.scopeHash)
	if c.withSpanName {
		h = mix(h, maphash.String(c.seed, span.Name()))
	}
	for d := range c.dims {
		if mask&(1<<d) == 0 {
			h = mix(h, absentHash)
		} else {
			h = mix(h, c.valueHash(vals[d]))
		}
	}
	s := rc.res.series[h]
	for s != nil && !c.matches(s, rc, span, kind, status, &vals, mask) {
		s = s.next
	}
	if s == nil {
		s = c.newSeries(rc, span, kind, status, h, &vals, mask)
	}

	n := uint64(1)
	threshold := false
	if ts := span.TraceState().AsRaw(); ts != "" {
		if ts != cache.tracestate {
			cache.tracestate = ts
			cache.count, cache.threshold = c.adjustedCount(ts)
		}
		n, threshold = cache.count, cache.threshold
	}
	if !threshold && rc.weighted && c.upstream.Keeps(span.TraceID()) {
		n = c.round(c.upstreamWeight)
	}
	d := float64(0)
	if start, end := span.StartTimestamp(), span.EndTimestamp(); end > start {
		d = float64(end-start) / c.unitDivider
	}
	s.count = addCount(s.count, n)
	s.sum += d * float64(n)
	// the first bound >= d (sort.SearchFloat64s, as spanmetrics)
	lo, hi := 0, len(c.bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.bounds[m] < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	s.buckets[lo] = addCount(s.buckets[lo], n)
}

// maxCount is the most a series counts: its calls point is an int64. An
// adjusted count is up to 2^56 per span (ot=th:ffffffffffffff, in a
// tracestate any client can send through the gateway), so 128 such spans
// would wrap the counter negative, as they do in spanmetrics.
const maxCount = math.MaxInt64

// addCount adds without passing maxCount.
func addCount(a, b uint64) uint64 {
	if b > maxCount || a > maxCount-b {
		return maxCount
	}
	return a + b
}

const absentHash = 0x6a09e667f3bcc908

// unknownSpanKind and unknownStatusCode stand in the series key for every
// value outside the enums.
const (
	unknownSpanKind   = ptrace.SpanKind(-1)
	unknownStatusCode = ptrace.StatusCode(-1)
)

func mix(h, x uint64) uint64 {
	return bits.RotateLeft64((h^x)*0x9e3779b97f4a7c15, 31)
}

// A dimension's value counts by its string form, the form every metric
// destination labels it with (Prometheus labels, Datadog tags, Azure
// dimensions are strings): a status code that one sender sends as the int
// 200 and another as the string "200" is one series, labelled with the
// type seen first, not two series that a Prometheus exporter would show
// with the same labels (and overwrite one with the other). That is how
// spanmetrics keys them (v.AsString()). Maps, slices and bytes keep their
// type. The scalar types hash by number where the string form is an
// integer, so that the usual values cost no formatting.
const (
	hashInt  = uint64(pcommon.ValueTypeInt)
	hashBool = uint64(pcommon.ValueTypeBool)
	hashStr  = uint64(pcommon.ValueTypeStr)
)

func (c *connectorImp) valueHash(v pcommon.Value) uint64 {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		// Its first byte rules out a number or a boolean for most strings
		// (routes, methods, stages), at the cost of one comparison.
		if s := v.Str(); s != "" && mayNameScalar(s[0]) {
			return c.stringFormHash(s)
		}
		return maphash.String(c.seed, v.Str()) ^ hashStr
	case pcommon.ValueTypeInt:
		return mix(uint64(v.Int()), hashInt)
	case pcommon.ValueTypeDouble:
		if n, ok := integralDouble(v.Double()); ok {
			return mix(uint64(n), hashInt)
		}
		var buf [32]byte
		return maphash.Bytes(c.seed, appendDouble(buf[:0], v.Double())) ^ hashStr
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return mix(1, hashBool)
		}
		return mix(0, hashBool)
	default: // maps, slices, bytes: rare as dimensions; their string form
		return maphash.String(c.seed, v.AsString()) ^ uint64(v.Type())
	}
}

// mayNameScalar tells the first bytes of the string forms of numbers and
// booleans.
func mayNameScalar(b byte) bool {
	return ('0' <= b && b <= '9') || b == '-' || b == 't' || b == 'f'
}

// stringFormHash is the hash of any scalar value whose string form is s.
func (c *connectorImp) stringFormHash(s string) uint64 {
	if n, ok := canonicalInt(s); ok {
		return mix(uint64(n), hashInt)
	}
	switch s {
	case "true":
		return mix(1, hashBool)
	case "false":
		return mix(0, hashBool)
	}
	return maphash.String(c.seed, s) ^ hashStr
}

// canonicalInt reads s when it is an int64 as strconv.FormatInt writes it:
// no sign but a leading '-', no leading zero, no "-0".
func canonicalInt(s string) (int64, bool) {
	if s == "" || len(s) > len("-9223372036854775808") {
		return 0, false
	}
	digits := s
	if s[0] == '-' {
		digits = s[1:]
	}
	if digits == "" || (digits[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64) // only a value out of range fails here
	return n, err == nil
}

// integralDouble tells a double whose string form is that of an int64.
func integralDouble(f float64) (int64, bool) {
	if f != math.Trunc(f) || math.Abs(f) >= 1e21 || (f == 0 && math.Signbit(f)) {
		return 0, false // a fraction, an exponent form, NaN, ±Inf or "-0"
	}
	if f < -9.223372036854775808e18 || f >= 9.223372036854775808e18 {
		return 0, false
	}
	return int64(f), true
}

// appendDouble appends f's string form as pdata's Value.AsString writes it
// (as by ES6's number to string conversion, "e-9" rather than "e-09").
func appendDouble(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if n := len(b); format == 'e' && n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

func storeValue(v pcommon.Value) storedValue {
	sv := storedValue{present: true, typ: v.Type()}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		sv.s = strings.Clone(v.Str()) // never keep a batch's memory alive
	case pcommon.ValueTypeInt:
		sv.n = v.Int()
	case pcommon.ValueTypeDouble:
		sv.n = int64(math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		if v.Bool() {
			sv.n = 1
		}
	}
	if sv.typ != pcommon.ValueTypeStr {
		sv.s = v.AsString() // once per series, for spans that send another type
	}
	return sv
}

func (sv *storedValue) equals(v pcommon.Value) bool {
	if sv.typ != v.Type() {
		return sv.sameStringForm(v)
	}
	switch sv.typ {
	case pcommon.ValueTypeStr:
		return sv.s == v.Str()
	case pcommon.ValueTypeInt:
		return sv.n == v.Int()
	case pcommon.ValueTypeDouble:
		return sv.n == int64(math.Float64bits(v.Double()))
	case pcommon.ValueTypeBool:
		return (sv.n == 1) == v.Bool()
	default:
		return sv.s == v.AsString()
	}
}

// sameStringForm compares a stored value with one of another type: two
// scalars are the same dimension value when their string forms are.
func (sv *storedValue) sameStringForm(v pcommon.Value) bool {
	if !isScalar(sv.typ) {
		return false
	}
	var buf [32]byte
	var form []byte
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str() == sv.s
	case pcommon.ValueTypeInt:
		form = strconv.AppendInt(buf[:0], v.Int(), 10)
	case pcommon.ValueTypeDouble:
		form = appendDouble(buf[:0], v.Double())
	case pcommon.ValueTypeBool:
		form = strconv.AppendBool(buf[:0], v.Bool())
	default:
		return false
	}
	return string(form) == sv.s
}

func isScalar(t pcommon.ValueType) bool {
	switch t {
	case pcommon.ValueTypeStr, pcommon.ValueTypeInt, pcommon.ValueTypeDouble, pcommon.ValueTypeBool:
		return true
	}
	return false
}

func (c *connectorImp) matches(s *series, rc *resourceContext, span ptrace.Span, kind ptrace.SpanKind, status ptrace.StatusCode, vals *[maxDimensions]pcommon.Value, mask uint32) bool {
	if s.kind != kind || s.status != status || s.scopeIdx != rc.scopeIdx || s.version != rc.version {
		return false
	}
	if c.withSpanName && s.spanName != span.Name() {
		return false
	}
	for d := range s.vals {
		present := mask&(1<<d) != 0
		if s.vals[d].present != present || (present && !s.vals[d].equals(vals[d])) {
			return false
		}
	}
	return true
}

// newSeries creates the span's series, or returns the overflow series once
// the resource holds aggregation_cardinality_limit series.
func (c *connectorImp) newSeries(rc *resourceContext, span ptrace.Span, kind ptrace.SpanKind, status ptrace.StatusCode, h uint64, vals *[maxDimensions]pcommon.Value, mask uint32) *series {
	res := rc.res
	if c.limit > 0 && res.count >= c.limit {
		if res.overflow == nil {
			attrs := pcommon.NewMap()
			attrs.PutBool(overflowKey, true)
			res.overflow = c.makeSeries(attrs, rc.now)
		}
		return res.overflow
	}

	// The attributes in spanmetrics' order (buildAttributes).
	attrs := pcommon.NewMap()
	attrs.EnsureCapacity(7 + len(c.dims))
	if c.withService {
		attrs.PutStr(serviceNameKey, rc.service)
	}
	if c.withSpanName {
		attrs.PutStr(spanNameKey, span.Name())
	}
	if c.withKind {
		attrs.PutStr(spanKindKey, spanKindStr(span.Kind()))
	}
	if c.withStatus {
		attrs.PutStr(statusCodeKey, statusCodeStr(span.Status().Code()))
	}
	if c.withInstance {
		attrs.PutStr(collectorInstanceIDKey, c.instanceID)
	}
	if rc.scopeIdx != 0 {
		attrs.PutStr(scopeNameKey, rc.scope.Name())
		if rc.version != "" {
			attrs.PutStr(scopeVersionKey, rc.version)
		}
	}
	for d := range c.dims {
		if mask&(1<<d) != 0 {
			vals[d].CopyTo(attrs.PutEmpty(c.dims[d].name))
		}
	}
	s := c.makeSeries(attrs, rc.now)
	s.kind, s.status, s.scopeIdx = kind, status, rc.scopeIdx
	s.version = strings.Clone(rc.version)
	if c.withSpanName {
		s.spanName = strings.Clone(span.Name())
	}
	s.vals = make([]storedValue, len(c.dims))
	for d := range c.dims {
		if mask&(1<<d) != 0 {
			s.vals[d] = storeValue(vals[d])
		}
	}
	s.next = res.series[h]
	res.series[h] = s
	res.count++
	res.order = append(res.order, s)
	return s
}

func (c *connectorImp) makeSeries(attrs pcommon.Map, start pcommon.Timestamp) *series {
	return &series{attrs: attrs, start: start, buckets: make([]uint64, len(c.bounds)+1)}
}

// resourceFor returns the resource's state, keyed by the hash spanmetrics
// uses, and keeps at most resourceLimit resources live.
func (c *connectorImp) resourceFor(attrs pcommon.Map) *resourceState {
	h := pdatautil.MapHash(attrs)
	c.useSeq++
	res, ok := c.resources[h]
	switch {
	case !ok:
		res = &resourceState{attrs: pcommon.NewMap(), series: map[uint64]*series{}}
		attrs.CopyTo(res.attrs)
		c.resources[h] = res
		c.live++
	case res.evicted: // seen again before the flush that forgets it
		res.evicted = false
		c.live++
	default:
		c.unlink(res)
	}
	res.lastUsed = c.useSeq
	c.pushNewest(res)
	if c.live > resourceLimit {
		oldest := c.lruHead
		c.unlink(oldest)
		oldest.evicted = true
		c.live--
	}
	return res
}

func (c *connectorImp) unlink(r *resourceState) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		c.lruHead = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		c.lruTail = r.prev
	}
	r.prev, r.next = nil, nil
}

func (c *connectorImp) pushNewest(r *resourceState) {
	r.prev = c.lruTail
	if c.lruTail != nil {
		c.lruTail.next = r
	} else {
		c.lruHead = r
	}
	c.lruTail = r
}

// flush emits every series and forgets the evicted resources. final: the
// last emission (Shutdown).
func (c *connectorImp) flush(ctx context.Context, final bool) {
	c.mu.Lock()
	md := c.build(final)
	c.mu.Unlock()
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		c.logger.Error("Failed ConsumeMetrics", zap.Error(err))
	}
}

// build makes the metrics of every resource, least recently used first and
// evicted ones last (spanmetrics' cache order). Called with mu held.
// final: no emission follows, so a series' first point is its count.
func (c *connectorImp) build(final bool) pmetric.Metrics {
	md := pmetric.NewMetrics()
	now := pcommon.NewTimestampFromTime(c.clock.Now())
	order := make([]*resourceState, 0, len(c.resources))
	for _, r := range c.resources {
		order = append(order, r)
	}
	slices.SortFunc(order, func(a, b *resourceState) int {
		if a.evicted != b.evicted {
			if a.evicted {
				return 1
			}
			return -1
		}
		switch {
		case a.lastUsed < b.lastUsed:
			return -1
		case a.lastUsed > b.lastUsed:
			return 1
		}
		return 0
	})
	md.ResourceMetrics().EnsureCapacity(len(order))
	for _, res := range order {
		rm := md.ResourceMetrics().AppendEmpty()
		res.attrs.CopyTo(rm.Resource().Attributes())
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(scopeName)
		all := res.order
		if res.overflow != nil {
			all = append(all[:len(all):len(all)], res.overflow)
		}

		calls := sm.Metrics().AppendEmpty()
		calls.SetName(c.callsName)
		sum := calls.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sdps := sum.DataPoints()
		sdps.EnsureCapacity(len(all))
		for _, s := range all {
			dp := sdps.AppendEmpty()
			dp.SetStartTimestamp(s.start)
			dp.SetTimestamp(now)
			if s.reported || final {
				dp.SetIntValue(int64(s.count))
			} else {
				// spanmetrics starts every cumulative series at 0 so
				// that Prometheus sees the first increase.
				dp.SetIntValue(0)
			}
			s.reported = true
			s.attrs.CopyTo(dp.Attributes())
		}

		dur := sm.Metrics().AppendEmpty()
		dur.SetName(c.durationName)
		dur.SetUnit(c.unit)
		hist := dur.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		hdps := hist.DataPoints()
		hdps.EnsureCapacity(len(all))
		for _, s := range all {
			dp := hdps.AppendEmpty()
			dp.SetStartTimestamp(s.start)
			dp.SetTimestamp(now)
			dp.ExplicitBounds().FromRaw(c.bounds)
			dp.BucketCounts().FromRaw(s.buckets)
			dp.SetCount(s.count)
			dp.SetSum(s.sum)
			s.attrs.CopyTo(dp.Attributes())
		}
	}
	for h, r := range c.resources {
		if r.evicted {
			delete(c.resources, h)
		}
	}
	return md
}

func spanKindStr(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindUnspecified:
		return "SPAN_KIND_UNSPECIFIED"
	case ptrace.SpanKindInternal:
		return "SPAN_KIND_INTERNAL"
	case ptrace.SpanKindServer:
		return "SPAN_KIND_SERVER"
	case ptrace.SpanKindClient:
		return "SPAN_KIND_CLIENT"
	case ptrace.SpanKindProducer:
		return "SPAN_KIND_PRODUCER"
	case ptrace.SpanKindConsumer:
		return "SPAN_KIND_CONSUMER"
	}
	return ""
}

func statusCodeStr(s ptrace.StatusCode) string {
	switch s {
	case ptrace.StatusCodeUnset:
		return "STATUS_CODE_UNSET"
	case ptrace.StatusCodeOk:
		return "STATUS_CODE_OK"
	case ptrace.StatusCodeError:
		return "STATUS_CODE_ERROR"
	}
	return ""
}

// adjustedCount is the span's weight from an OTEP 235 threshold in its
// tracestate (ot=th:…), stochastically rounded, as spanmetrics computes it
// (internal/metrics/adjusted_count.go); 1 and false without one.
func (c *connectorImp) adjustedCount(tracestate string) (uint64, bool) {
	if !strings.Contains(tracestate, "ot=") {
		return 1, false
	}
	w3c, err := sampling.NewW3CTraceState(tracestate)
	if err != nil {
		return 1, false
	}
	th, ok := w3c.OTelValue().TValueThreshold()
	if !ok {
		return 1, false
	}
	den := sampling.MaxAdjustedCount - th.Unsigned()
	if den == 0 {
		return 1, true
	}
	q, r := sampling.MaxAdjustedCount/den, sampling.MaxAdjustedCount%den
	if r != 0 && c.rng.next()%den < r {
		q++
	}
	return q, true
}

// round rounds a weight to a count, up with the probability of its
// fraction, so that the counts add up to the weights on average.
func (c *connectorImp) round(w float64) uint64 {
	q := math.Floor(w)
	n := uint64(q)
	if f := w - q; f > 0 && float64(c.rng.next()>>11)/(1<<53) < f {
		n++
	}
	return n
}
