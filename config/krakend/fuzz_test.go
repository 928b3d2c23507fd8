package krakend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes the decoder panic, and that every
// refusal is made of one-line *Error values naming the source.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		otel(okExporters),
		otel(`"exporters": {"otlp": [{"name": "a", "port": 0}], "prometheus": [{"name": "a"}]}, "layers": {"backend": {"metrics": {}}}`),
		oc(`"sample_rate": 150, "exporters": {"xray": {"region": "r"}}`),
		withEndpoint(`{"endpoint": "/a", "extra_config": {"telemetry/opentelemetry": {"backend": {}}}}`),
		`{"endpoint": "/a"}, {"endpoint": "/b"}`,
		`{"port": {{ .port }}}`,
	} {
		f.Add([]byte(s))
	}
	if files, err := filepath.Glob("../../../shared/fixtures/krakend-real/*.json"); err == nil {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.json")
		if err == nil {
			if cfg == nil {
				t.Fatal("nil config without an error")
			}
			return
		}
		es := AsErrors(err)
		if len(es) == 0 {
			t.Fatalf("refusal is not a *krakend.Error: %v", err)
		}
		for _, e := range es {
			msg := e.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "fuzz.json") || e.Reason == "" {
				t.Fatalf("malformed error %q", msg)
			}
		}
	})
}
