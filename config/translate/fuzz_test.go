package translate

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
)

// FuzzTranslate checks that whatever the decoder accepts translates or is
// refused with *krakend.Error values, never a panic.
func FuzzTranslate(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*.krakend.json")
	for _, p := range inputs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := krakend.Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		res, err := Translate(cfg, Options{})
		if err != nil {
			if len(krakend.AsErrors(err)) == 0 {
				t.Fatalf("refusal is not a *krakend.Error: %v", err)
			}
			return
		}
		if len(res.YAML) == 0 {
			t.Fatal("empty YAML without an error")
		}
	})
}
