package layerfilterprocessor

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/users/{id}":               "/users/:",
		"/users/:id":                "/users/:",
		"/users/:id/orders/{order}": "/users/:/orders/:",
		"/__debug/*param":           "/__debug/*",
		"/plain/path":               "/plain/path",
		"/a:b/c":                    "/a:b/c",
		"/":                         "/",
		// a backend url_pattern's query: parameter values reduced, keys kept
		"/posts?userId={id}":           "/posts?userId=:",
		"/posts?userId=:id":            "/posts?userId=:",
		"/u/{id}/posts?sort=asc&p={p}": "/u/:/posts?sort=asc&p=:",
		"/posts?flag":                  "/posts?flag",
	} {
		assert.Equal(t, want, canonicalKey(in), in)
	}
}

// Lura takes a url_pattern placeholder anywhere, and KrakenD's telemetry
// reports it in place as ":" and its lower-cased name
// (NormalizeURLPattern): "/v1/users/{id}.json" is "/v1/users/:id.json".
func TestCanonicalPattern(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/users/{id}":                 "/v1/users/:",
		"/v1/users/:id":                  "/v1/users/:",
		"/v1/users/{id}.json":            "/v1/users/:id.json",
		"/v1/users/:id.json":             "/v1/users/:id.json",
		"/v1/users/{ID}.json":            "/v1/users/:id.json",
		"/v1/files/prefix-{id}":          "/v1/files/prefix-:id",
		"/v1/files/prefix-:id":           "/v1/files/prefix-:id",
		"/v1/{a}-{b}.{ext}/x":            "/v1/:a-:b.:ext/x",
		"/v1/{id}/items/{item}":          "/v1/:/items/:",
		"/v1/{user.id}":                  "/v1/:user.id",
		"/plain/path":                    "/plain/path",
		"/a:b/c":                         "/a:b/c",
		"/posts?userId={id}":             "/posts?userId=:",
		"/posts?userId=:id":              "/posts?userId=:",
		"/posts?file={id}.json&p={p}":    "/posts?file=:id.json&p=:",
		"/u/{id}/posts?sort=asc&p={p}":   "/u/:/posts?sort=asc&p=:",
		"/posts?flag":                    "/posts?flag",
		"/__debug/*param":                "/__debug/*",
		"/v1/{unclosed":                  "/v1/{unclosed",
		"/v1/{id}.json?format={fmt}-{v}": "/v1/:id.json?format=:fmt-:v",
	} {
		assert.Equal(t, want, canonicalPatternKey(in), in)
	}
	assert.NotEqual(t, canonicalPatternKey("/v1/users/{id}.json"), canonicalPatternKey("/v1/users/{id}"))
}

func TestCanonicalPatternAllocatesNothing(t *testing.T) {
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		var buf [routeBufSize]byte
		sink += len(canonicalPattern(buf[:0], "/v1/users/{ID}.json?format={fmt}"))
	})
	assert.Zero(t, allocs)
	assert.NotZero(t, sink)
}

func TestEqualsCanonicalIsCanonicalRoute(t *testing.T) {
	routes := []string{"/users/:id", "/users/{id}", "/users/me", "/users/:id/orders", "/users", "/users/", "/", "//", "/__debug/*param",
		"/__debug/*", "/a:b/c", "/users/:", "/users/{id}x", "users/:id", "/users/:id/", "/x/{a}/{b}",
		"/users/:id?x=1", "/users?x=:id", "/users/42?x"}
	for _, r := range routes {
		for _, e := range routes {
			c := canonicalKey(e)
			if strings.ContainsRune(c, '?') {
				continue // skip entries have no query
			}
			assert.Equal(t, canonicalKey(r) == c, equalsCanonical(r, c), "%s vs %s", r, c)
		}
	}
}

func TestPathPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/users/{id}", "/users/42", true},
		{"/users/{id}", "/users/:id", true},
		{"/users/:id", "/users/{id}", true},
		{"/users/:id", "/users/42/orders", false},
		{"/users/:id", "/users/", false},
		{"/users/:id", "/users", false},
		{"/users/:id/orders", "/users/42/orders", true},
		{"/users/:id/orders", "/users/42/items", false},
		{"/__health", "/__health", true},
		{"/__health", "/__health/", false},
		{"/__debug/", "/__debug/", true},
		{"/__debug/", "/__debug/x", false},
		{"/__debug/*rest", "/__debug/x/y", true},
		{"/__debug/*rest", "/__debug/*param", true},
		{"/__debug/*rest", "/__debug", false},
		{"/users/{id}", "users/42", false},
		{"/users/{id}", "", false},
	}
	for _, tt := range tests {
		p := compilePattern(tt.pattern)
		assert.Equal(t, tt.want, p.match(tt.path), "%s ~ %s", tt.pattern, tt.path)
	}
}

func TestPathOfURL(t *testing.T) {
	for in, want := range map[string]string{
		"/users/42?expand=1":                "/users/42",
		"/users/42#x":                       "/users/42",
		"/users/42":                         "/users/42",
		"http://api.example.com/users/42?a": "/users/42",
		"https://api.example.com":           "/",
		// A URL in the query is no scheme and host of the request's own.
		"/login?next=https://app.example.com/__health": "/login",
		"/users/42?u=http://x":                         "/users/42",
		"/fetch/https://x/y":                           "/fetch/https://x/y",
		"https://api.example.com?u=http://x/y":         "/",
	} {
		assert.Equal(t, want, pathOfURL(in), in)
	}
}

func TestValidateURLPattern(t *testing.T) {
	for _, ok := range []string{"/v1/users/{id}", "/posts?userId={id}", "/posts?a=1&b={b}", "/posts?flag",
		// a placeholder inside a segment or value, as Lura allows
		"/v1/users/{id}.json", "/v1/users/:id.json", "/v1/files/prefix-{id}", "/v1/{a}-{b}.{ext}", "/v1/{user.id}", "/posts?x=a{id}",
	} {
		assert.NoError(t, validateURLPattern(ok), ok)
	}
	for _, bad := range []string{"posts?x=1", "/posts?x={id", "/posts?x=1#frag", "/users/{id", "/users/{}", "/users/{id}}", "/users/id}", "/users/{a b}", "/users/:", "/a/*x/b", "/users/{id#x}"} {
		assert.Error(t, validateURLPattern(bad), bad)
	}
}

func TestValidateRoute(t *testing.T) {
	for _, ok := range []string{"/", "/users/{id}", "/users/:id", "/__debug/*param", "/a:b"} {
		assert.NoError(t, validateRoute(ok), ok)
	}
	for _, bad := range []string{"users", "/users/{id", "/users/{}", "/users/x{id}", "/users/:", "/a/*x/b", "/a?b=1", "/a/{b}{c}"} {
		assert.Error(t, validateRoute(bad), bad)
	}
}

// Lura's strict REST parameter follows a / and may be followed by more of
// the segment: `/orders/{id}.json` is served by gin as `/orders/:id.json`,
// one parameter for the whole segment, and reported so.
func TestARouteParameterFollowedByMoreOfItsSegment(t *testing.T) {
	require.NoError(t, validateRoute("/orders/{id}.json"))
	assert.Equal(t, canonicalKey("/orders/:id.json"), canonicalKey("/orders/{id}.json"))
	assert.Equal(t, canonicalKey("/orders/:id"), canonicalKey("/orders/{id}.json"), "gin: the segment is one parameter")
	for _, bad := range []string{"/orders/{id", "/orders/{}.json", "/orders/{id}.{ext}", "/orders/{i d}.json"} {
		assert.Error(t, validateRoute(bad), bad)
	}
}
