package layerfilterprocessor

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// headerSet answers as a look-up of the whole attribute key in headerKeys'
// map did, KrakenD's lower-case keys first, then the key lower-cased (up to
// routeBufSize bytes), whatever the number of names.
func TestHeaderSetMatchesHeaderKeys(t *testing.T) {
	reference := func(set map[string]struct{}, k string) bool {
		if _, ok := set[k]; ok {
			return true
		}
		if !hasUpper(k) || len(k) > routeBufSize {
			return false
		}
		_, ok := set[strings.ToLower(k)]
		return ok
	}
	long := strings.Repeat("x", routeBufSize)
	few := []string{"Authorization", " cookie ", "x-api-key", "", "cookie"}
	many := append(append([]string{}, few...), "a", "b", "c", "d", "e", "f", "g", "h", "set-cookie", long)
	for _, names := range [][]string{nil, few, many} {
		set, keys := newHeaderSet(names), headerKeys(names)
		for _, name := range []string{"authorization", "Authorization", "AUTHORIZATION", "cookie", "Cookie", "x-api-key", "X-Api-Key",
			"set-cookie", "Set-Cookie", "h", "H", "accept", "", "cookies", long, strings.ToUpper(long), long[:routeBufSize-25] + "X"} {
			for _, prefix := range []string{requestHeaderPrefix, responseHeaderPrefix} {
				k := prefix + name
				n := headerPrefixLen(k)
				if name == "" && prefix == requestHeaderPrefix {
					assert.Zero(t, n, "the bare request prefix is no header key")
					continue
				}
				if !assert.Equal(t, len(prefix), n, k) {
					continue
				}
				assert.Equal(t, reference(keys, k), set.contains(k, n), fmt.Sprintf("%d names, key %q", len(names), k))
			}
		}
	}
	for _, k := range []string{"http.route", "http.request.method", "http.request.headers.x", "http.response.header", "Http.request.header.cookie"} {
		assert.Zero(t, headerPrefixLen(k), k)
	}
}
