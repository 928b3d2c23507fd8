package pipeline

import (
	"bytes"
	"os"
	"testing"

	"github.com/otelcol-gateway/otelcol-gateway/config/krakend"
	"github.com/otelcol-gateway/otelcol-gateway/config/translate"
)

// translatedHeader replaces the translator's first line in the committed
// copy, which is there for reading.
const translatedHeader = "# otelcol-gateway configuration translated from bench/testdata/krakend.json (for reading: the harness runs --config krakend:bench/testdata/krakend.json itself)\n"

// TestTranslatedIsCurrent: the committed translation the in-process
// benchmarks run is what the translator makes of the harness's
// krakend.json today (BENCH_UPDATE=1 rewrites it).
func TestTranslatedIsCurrent(t *testing.T) {
	data, err := os.ReadFile("../../testdata/krakend.json")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := krakend.Parse(data, "bench/testdata/krakend.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := translate.Translate(cfg, translate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first, rest, ok := bytes.Cut(res.YAML, []byte("\n"))
	if !ok || !bytes.HasPrefix(first, []byte("# otelcol-gateway configuration translated from")) {
		t.Fatalf("the translation no longer starts with its header line: %q", first)
	}
	want := append([]byte(translatedHeader), rest...)
	const path = "../../testdata/krakend.translated.yaml"
	if os.Getenv("BENCH_UPDATE") == "1" {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the current translation of bench/testdata/krakend.json: run BENCH_UPDATE=1 go test ./internal/pipeline/ -run TestTranslatedIsCurrent in bench/", path)
	}
}
