package layerfilterprocessor

import (
	"errors"
	"fmt"
	"strings"
)

// Routes come in two spellings: KrakenD's configuration writes `/users/{id}`,
// its telemetry (gin's patterns) writes `/users/:id`. Both are reduced to one
// canonical form in which every parameter is `:` and a final catch-all is
// `*`, names erased: `/users/:`. Names are irrelevant to identity (gin refuses
// two routes that differ only in parameter names). Backend url_patterns,
// whose placeholders may sit inside a segment, have their own canonical form
// (canonicalPattern).

// validateRoute checks a route or path pattern from the configuration.
func validateRoute(r string) error {
	if !strings.HasPrefix(r, "/") {
		return fmt.Errorf("%q must start with /", r)
	}
	if strings.ContainsAny(r, "?#") {
		return fmt.Errorf("%q must be a path, without query or fragment", r)
	}
	segs := strings.Split(r[1:], "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "{"):
			// Lura's parameter follows a / and may be followed by more of
			// the segment (`/{id}.json`); gin then serves the segment as one
			// parameter, reported as `:id.json`.
			k := strings.IndexByte(s, '}')
			if k < 2 || strings.ContainsAny(s[k+1:], "{}") || !isName(s[1:k]) {
				return fmt.Errorf("%q: segment %q: a parameter is written {name}", r, s)
			}
		case strings.HasPrefix(s, ":"):
			if len(s) < 2 || strings.ContainsAny(s, "{}") {
				return fmt.Errorf("%q: segment %q: a parameter is written :name", r, s)
			}
		case strings.HasPrefix(s, "*"):
			if i != len(segs)-1 {
				return fmt.Errorf("%q: a catch-all segment %q must be the last one", r, s)
			}
		case strings.ContainsAny(s, "{}"):
			return fmt.Errorf("%q: segment %q: braces must enclose a whole segment", r, s)
		}
	}
	return nil
}

// validateURLPattern checks a backend url_pattern. Lura finds placeholders
// anywhere in it, not only as whole segments (`{([\w\-\.:/]+)}` in its
// config parser): `/v1/users/{id}.json`, `/v1/files/prefix-{id}`,
// `/v1/{a}-{b}`, and in a query value (`/posts?userId={id}`). KrakenD's
// telemetry reports each in place as `:` and its name
// (`/posts?userId=:id`, `/v1/users/:id.json`).
func validateURLPattern(r string) error {
	path, query, hasQuery := strings.Cut(r, "?")
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%q must start with /", r)
	}
	if strings.Contains(r, "#") {
		return fmt.Errorf("%q must not have a fragment", r)
	}
	segs := strings.Split(path[1:], "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "*"):
			if i != len(segs)-1 {
				return fmt.Errorf("%q: a catch-all segment %q must be the last one", r, s)
			}
		case s == ":":
			return fmt.Errorf("%q: segment %q: a parameter is written :name", r, s)
		}
		if err := validatePlaceholders(s); err != nil {
			return fmt.Errorf("%q: segment %q: %w", r, s, err)
		}
	}
	if !hasQuery {
		return nil
	}
	for _, kv := range strings.Split(query, "&") {
		_, v, _ := strings.Cut(kv, "=")
		if err := validatePlaceholders(v); err != nil {
			return fmt.Errorf("%q: query value %q: %w", r, v, err)
		}
	}
	return nil
}

// validatePlaceholders checks the braces of a url_pattern segment or query
// value: each placeholder is {name}, the name made of what Lura accepts in a
// segment (letters, digits, _, -, ., :).
func validatePlaceholders(s string) error {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '}':
			return errPlaceholder
		case '{':
			k := strings.IndexByte(s[i+1:], '}')
			if k <= 0 {
				return errPlaceholder
			}
			for _, c := range []byte(s[i+1 : i+1+k]) {
				if !isNameByte(c) && c != '.' && c != ':' {
					return errPlaceholder
				}
			}
			i += k + 1
		}
	}
	return nil
}

var errPlaceholder = errors.New("a parameter is written {name}")

// isName tells whether s is a parameter name Lura reads in an endpoint.
func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

// isNameByte tells whether c may be part of a parameter name a gateway route
// reduces to ":" (KrakenD's endpoint parameters: letters, digits, _ and -).
func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// canonicalRoute appends the canonical form of route to dst. It validates
// nothing: data routes are taken as they come. With a stack buffer as dst,
// a map look-up through string(canonicalRoute(buf[:0], r)) allocates nothing.
// A query (a backend url_pattern's) keeps its keys; each value that is a
// parameter, `{id}` or `:id`, becomes `:`.
func canonicalRoute(dst []byte, route string) []byte {
	if strings.IndexAny(route, ":{*") < 0 {
		return append(dst, route...)
	}
	if q := strings.IndexByte(route, '?'); q >= 0 {
		dst = canonicalRoute(dst, route[:q])
		return canonicalQuery(append(dst, '?'), route[q+1:])
	}
	for i := 0; i < len(route); {
		c := route[i]
		if c == '/' {
			dst = append(dst, c)
			i++
			continue
		}
		// At the start of a segment (or the route): read the whole segment.
		j := strings.IndexByte(route[i:], '/')
		if j < 0 {
			j = len(route)
		} else {
			j += i
		}
		seg := route[i:j]
		switch {
		case seg[0] == ':' || seg[0] == '{':
			// one parameter however the segment goes on (`:id.json`, as
			// gin serves Lura's `{id}.json`)
			dst = append(dst, ':')
		case seg[0] == '*':
			dst = append(dst, '*')
		default:
			dst = append(dst, seg...)
		}
		i = j
	}
	return dst
}

// canonicalQuery appends query with every parameter value reduced to ":".
func canonicalQuery(dst []byte, query string) []byte {
	for i := 0; ; i++ {
		kv, rest, more := strings.Cut(query, "&")
		if i > 0 {
			dst = append(dst, '&')
		}
		k, v, hasValue := strings.Cut(kv, "=")
		dst = append(dst, k...)
		if hasValue {
			dst = append(dst, '=')
			if (len(v) > 1 && v[0] == ':') || (len(v) > 2 && v[0] == '{' && v[len(v)-1] == '}') {
				dst = append(dst, ':')
			} else {
				dst = append(dst, v...)
			}
		}
		if !more {
			return dst
		}
		query = rest
	}
}

// canonicalPattern appends the canonical form of a backend url_pattern (from
// the configuration, or a backend item's http.route) to dst, allocating
// nothing with a stack buffer as dst. Lura takes a placeholder anywhere in
// a url_pattern and KrakenD's telemetry reports it in place, as ":" and its
// name lower-cased (krakend-otel config/path_pattern.go NormalizeURLPattern
// of Lura's `{{.Id}}`): `/v1/users/{id}.json` is reported as
// `/v1/users/:id.json`. A segment or query value that is one parameter with
// a plain name (`{id}`, `:id`) becomes ":" as in canonicalRoute. Any other
// placeholder keeps its name, in place: written `{id}`, it becomes ":id"
// (lower case, as KrakenD reports it); written with a colon, it stays as
// written, since nothing tells where its name ends (`:id.json`). So
// `/v1/users/{id}.json` and `/v1/users/:id.json` are one pattern, and
// `/v1/users/:id`, whose key is `/v1/users/:`, another.
func canonicalPattern(dst []byte, pattern string) []byte {
	if strings.IndexAny(pattern, ":{*") < 0 {
		return append(dst, pattern...)
	}
	path, query, hasQuery := strings.Cut(pattern, "?")
	for i := 0; i < len(path); {
		if path[i] == '/' {
			dst = append(dst, '/')
			i++
			continue
		}
		j := strings.IndexByte(path[i:], '/')
		if j < 0 {
			j = len(path)
		} else {
			j += i
		}
		if seg := path[i:j]; seg[0] == '*' {
			dst = append(dst, '*')
		} else {
			dst = canonicalPatternPart(dst, seg)
		}
		i = j
	}
	if !hasQuery {
		return dst
	}
	dst = append(dst, '?')
	for i := 0; ; i++ {
		kv, rest, more := strings.Cut(query, "&")
		if i > 0 {
			dst = append(dst, '&')
		}
		k, v, hasValue := strings.Cut(kv, "=")
		dst = append(dst, k...)
		if hasValue {
			dst = canonicalPatternPart(append(dst, '='), v)
		}
		if !more {
			return dst
		}
		query = rest
	}
}

// canonicalPatternPart appends a url_pattern's path segment or query value.
func canonicalPatternPart(dst []byte, s string) []byte {
	if isWholeParam(s) {
		return append(dst, ':')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '{' {
			if k := strings.IndexByte(s[i+1:], '}'); k > 0 && strings.IndexByte(s[i+1:i+1+k], '{') < 0 {
				dst = append(dst, ':')
				for _, n := range []byte(s[i+1 : i+1+k]) {
					if 'A' <= n && n <= 'Z' {
						n += 'a' - 'A'
					}
					dst = append(dst, n)
				}
				i += k + 1
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}

// isWholeParam tells whether s is one parameter with a plain name.
func isWholeParam(s string) bool {
	var name string
	switch {
	case len(s) > 1 && s[0] == ':':
		name = s[1:]
	case len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}':
		name = s[1 : len(s)-1]
	default:
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return false
		}
	}
	return true
}

// canonicalPatternKey is canonicalPattern for building look-up tables.
func canonicalPatternKey(pattern string) string {
	return string(canonicalPattern(nil, pattern))
}

// canonicalKey is canonicalRoute for building look-up tables.
func canonicalKey(route string) string {
	return string(canonicalRoute(nil, route))
}

type segmentKind uint8

const (
	segLiteral segmentKind = iota
	segParam
	segCatchAll
)

type segment struct {
	kind segmentKind
	lit  string
}

// pathPattern is a compiled skip_paths entry. Against an item's route it is
// compared whole, in canonical form (skipMatcher.matchRoute); match judges a
// raw request path, segment by segment (a parameter matches any non-empty
// segment).
type pathPattern struct {
	raw     string // canonical form
	literal bool   // no parameters: plain string comparison
	segs    []segment
}

func compilePattern(p string) pathPattern {
	c := canonicalKey(p)
	pp := pathPattern{raw: c, literal: strings.IndexAny(c, ":*") < 0}
	if pp.literal {
		return pp
	}
	for _, s := range strings.Split(c[1:], "/") {
		switch s {
		case ":":
			pp.segs = append(pp.segs, segment{kind: segParam})
		case "*":
			pp.segs = append(pp.segs, segment{kind: segCatchAll})
		default:
			pp.segs = append(pp.segs, segment{kind: segLiteral, lit: s})
		}
	}
	return pp
}

func (p *pathPattern) match(path string) bool {
	if p.literal {
		return path == p.raw
	}
	if path == "" || path[0] != '/' {
		return false
	}
	rest := path[1:]
	for i, s := range p.segs {
		if s.kind == segCatchAll {
			return true
		}
		var seg string
		last := false
		if j := strings.IndexByte(rest, '/'); j < 0 {
			seg, rest, last = rest, "", true
		} else {
			seg, rest = rest[:j], rest[j+1:]
		}
		switch s.kind {
		case segLiteral:
			if seg != s.lit {
				return false
			}
		case segParam:
			if seg == "" {
				return false
			}
		}
		if last {
			return i == len(p.segs)-1
		}
	}
	return false
}

// skipMatcher is a policy's compiled skip_paths. KrakenD compares an entry
// with the endpoint pattern as a plain string at the proxy and backend
// layers (krakend-otel state/config.go:104-111 SkipEndpoint, called by
// lura/proxy.go:107 and :154 and lura/backend.go:51) and with the raw
// request path at the global layer (http/server/server.go:28). The router
// (router/gin/endpoint.go:22) then records no endpoint pattern for a
// skipped endpoint: its global data carry a status text as http.route.
type skipMatcher []pathPattern

func compileSkipPaths(paths []string) skipMatcher {
	var m skipMatcher
	for _, p := range paths {
		if p != "" {
			m = append(m, compilePattern(p))
		}
	}
	return m
}

func (m skipMatcher) match(path string) bool {
	for i := range m {
		if m[i].match(path) {
			return true
		}
	}
	return false
}

// matchRoute tells whether route, the endpoint pattern an item carries
// (either spelling), is a skipped endpoint: the same route as an entry, in
// canonical form, as KrakenD's string comparison (`/users/{id}` is
// `/users/:id`). A parametrised entry never matches another endpoint of
// its shape: `/users/:id` does not skip the endpoint `/users/me`.
func (m skipMatcher) matchRoute(route string) bool {
	if len(m) == 0 || route == "" {
		return false
	}
	for i := range m {
		if equalsCanonical(route, m[i].raw) {
			return true
		}
	}
	return false
}

// equalsCanonical tells whether canonicalRoute would turn route into c, a
// canonical skip entry (which has no query), segment by segment without
// writing it: most entries differ from a route in its first bytes.
func equalsCanonical(route, c string) bool {
	j := 0
	for i := 0; i < len(route); {
		r := route[i]
		if r == '/' {
			if j >= len(c) || c[j] != '/' {
				return false
			}
			i++
			j++
			continue
		}
		if r != ':' && r != '{' && r != '*' && (j >= len(c) || c[j] != r) {
			return false // a literal segment that differs at once
		}
		e := strings.IndexByte(route[i:], '/')
		if e < 0 {
			e = len(route)
		} else {
			e += i
		}
		seg := route[i:e]
		switch {
		case r == ':' || r == '{': // as canonicalRoute
			seg = ":"
		case r == '*':
			seg = "*"
		}
		if !strings.HasPrefix(c[j:], seg) || strings.IndexByte(route[i:e], '?') >= 0 {
			// A query makes canonicalRoute's result differ from every entry.
			return false
		}
		j += len(seg)
		i = e
	}
	return j == len(c)
}

// matchRawPath judges the raw request path of a global span whose route
// matchRoute did not skip. A literal entry compares the path exactly, as
// KrakenD's global layer does. A parametrised entry matches it segment by
// segment (where KrakenD matches nothing) only when the span names no
// endpoint: with a route (`/...`), the request went to that endpoint, and
// an entry that is not that route skips none of its data. KrakenD writes a
// status text (`404 Not Found`) as the route of a request no endpoint took.
func (m skipMatcher) matchRawPath(route, path string) bool {
	hasRoute := route != "" && route[0] == '/'
	for i := range m {
		if (m[i].literal || !hasRoute) && m[i].match(path) {
			return true
		}
	}
	return false
}

// mayMatchInstance tells whether some pattern could match a raw path that
// route (a data route, either spelling) stands for: a literal segment of a
// pattern may equal the value of a parameter of the route. An empty or
// malformed route could stand for anything.
func (m skipMatcher) mayMatchInstance(route string) bool {
	if len(m) == 0 {
		return false
	}
	if route == "" || route[0] != '/' {
		return true
	}
	for i := range m {
		if m[i].mayMatchInstance(route) {
			return true
		}
	}
	return false
}

func (p *pathPattern) mayMatchInstance(route string) bool {
	pat, rt := p.raw[1:], route[1:]
	for {
		ps, prest, plast := cutSegment(pat)
		rs, rrest, rlast := cutSegment(rt)
		pk, rk := patternSegmentKind(ps), routeSegmentKind(rs)
		if pk == segCatchAll || rk == segCatchAll {
			return true
		}
		switch {
		case pk == segLiteral && rk == segLiteral:
			if ps != rs {
				return false
			}
		case pk == segLiteral: // against a route parameter: any non-empty value
			if ps == "" {
				return false
			}
		case rs == "": // a pattern parameter needs a non-empty segment
			return false
		}
		if plast || rlast {
			return plast && rlast
		}
		pat, rt = prest, rrest
	}
}

func cutSegment(s string) (seg, rest string, last bool) {
	if j := strings.IndexByte(s, '/'); j >= 0 {
		return s[:j], s[j+1:], false
	}
	return s, "", true
}

// patternSegmentKind reads a segment of a canonical pattern.
func patternSegmentKind(s string) segmentKind {
	switch s {
	case ":":
		return segParam
	case "*":
		return segCatchAll
	}
	return segLiteral
}

// routeSegmentKind reads a segment of a route as the gateway writes it.
func routeSegmentKind(s string) segmentKind {
	switch {
	case s == "":
		return segLiteral
	case s[0] == ':' || s[0] == '{': // as canonicalRoute
		return segParam
	case s[0] == '*':
		return segCatchAll
	}
	return segLiteral
}

// pathOfURL returns the path of a url.full value: KrakenD's global span
// writes path and query only; other gateways may write an absolute URL.
// A URL in the query (`?next=https://app/home`) or path of a relative one
// is not the request's scheme and host.
func pathOfURL(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if u == "" || u[0] == '/' {
		return u
	}
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "/"
		}
		u = rest[j:]
	}
	return u
}
