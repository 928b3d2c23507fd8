package chart

import (
	"bytes"
	"image/png"
	"testing"
)

func TestWritePNGDrawsADecodableImage(t *testing.T) {
	c := Chart{Title: "cpu per span", XLabel: "spans/s", YLabel: "cpu s per 1m spans", Series: []Series{
		{Name: "floor", Points: []Point{{20000, 1.2}, {100000, 1.0}}, Extra: []Point{{21000, 1.3}}},
		{Name: "gateway", Points: []Point{{20000, 1.4}, {90000, 1.3}}},
	}}
	var buf bytes.Buffer
	if err := c.WritePNG(&buf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() != height {
		t.Fatalf("size %v", b)
	}
}

func TestEveryLetterHasAGlyph(t *testing.T) {
	for _, r := range "abcdefghijklmnopqrstuvwxyz0123456789-./():%,=+ " {
		if _, ok := glyphs[r]; !ok {
			t.Errorf("no glyph for %q", r)
		}
	}
}
