package gatewayotel_test

import (
	"net/http"
	"testing"
)

// BenchmarkRequest is one gateway request through the three instrumented
// layers, with a real loopback backend call.
func BenchmarkRequest(b *testing.B) {
	r := newRig(b, krakendJSON("", ""))
	g := newGateway(b, r.tel, nil)
	b.ReportAllocs()
	for b.Loop() {
		if g.get(b, "/users/42", nil) != http.StatusOK {
			b.Fatal("request failed")
		}
	}
}
