// Package chart draws the benchmark's line chart (CPU per span against
// offered load) as a PNG with the standard library only.
package chart

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strings"
	"unicode"
)

// Point is one measurement.
type Point struct{ X, Y float64 }

// Series is one pipeline's line.
type Series struct {
	Name   string
	Points []Point // drawn as a line, in X order
	Extra  []Point // drawn as dots only (single rounds)
}

// Chart is a line chart.
type Chart struct {
	Title, XLabel, YLabel string
	Series                []Series
}

var palette = []color.RGBA{
	{0x44, 0x44, 0x44, 0xff}, // floor: grey
	{0x99, 0x99, 0x99, 0xff}, // floor-otlp: light grey
	{0xd6, 0x27, 0x28, 0xff}, // stock: red
	{0x1f, 0x77, 0xb4, 0xff}, // gateway: blue
	{0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff},
}

const (
	width, height = 900, 560
	left, right   = 90, 200
	top, bottom   = 50, 70
	scale         = 2 // font pixel size
)

// WritePNG draws the chart.
func (c Chart) WritePNG(w io.Writer) error {
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill(img, img.Bounds(), color.RGBA{0xff, 0xff, 0xff, 0xff})
	var maxX, maxY float64
	for _, s := range c.Series {
		for _, p := range append(append([]Point(nil), s.Points...), s.Extra...) {
			maxX, maxY = math.Max(maxX, p.X), math.Max(maxY, p.Y)
		}
	}
	if maxX == 0 || maxY == 0 {
		maxX, maxY = 1, 1
	}
	xStep, yStep := niceStep(maxX), niceStep(maxY)
	maxX = math.Ceil(maxX*1.02/xStep) * xStep
	maxY = math.Ceil(maxY*1.05/yStep) * yStep
	pw, ph := width-left-right, height-top-bottom
	px := func(x float64) int { return left + int(x/maxX*float64(pw)) }
	py := func(y float64) int { return top + ph - int(y/maxY*float64(ph)) }

	grid := color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	black := color.RGBA{0, 0, 0, 0xff}
	for x := 0.0; x <= maxX+xStep/2; x += xStep {
		line(img, px(x), top, px(x), top+ph, grid)
		label := fmt.Sprintf("%gk", x/1000)
		text(img, px(x)-textWidth(label)/2, top+ph+8, label, black)
	}
	for y := 0.0; y <= maxY+yStep/2; y += yStep {
		line(img, left, py(y), left+pw, py(y), grid)
		label := fmt.Sprintf("%g", math.Round(y*1000)/1000)
		text(img, left-8-textWidth(label), py(y)-5, label, black)
	}
	line(img, left, top, left, top+ph, black)
	line(img, left, top+ph, left+pw, top+ph, black)
	text(img, left, 8, c.Title, black)
	text(img, left+pw/2-textWidth(c.XLabel)/2, height-30, c.XLabel, black)
	text(img, 8, top-16, c.YLabel, black)

	for i, s := range c.Series {
		col := palette[i%len(palette)]
		for _, p := range s.Extra {
			dot(img, px(p.X), py(p.Y), 2, lighten(col))
		}
		for j, p := range s.Points {
			dot(img, px(p.X), py(p.Y), 4, col)
			if j > 0 {
				q := s.Points[j-1]
				thick(img, px(q.X), py(q.Y), px(p.X), py(p.Y), col)
			}
		}
		ly := top + 10 + i*24
		thick(img, left+pw+16, ly+5, left+pw+40, ly+5, col)
		text(img, left+pw+48, ly, s.Name, black)
	}
	return png.Encode(w, img)
}

func niceStep(max float64) float64 {
	raw := max / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

func lighten(c color.RGBA) color.RGBA {
	return color.RGBA{uint8((int(c.R) + 2*255) / 3), uint8((int(c.G) + 2*255) / 3), uint8((int(c.B) + 2*255) / 3), 0xff}
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func dot(img *image.RGBA, x, y, r int, c color.RGBA) {
	fill(img, image.Rect(x-r, y-r, x+r+1, y+r+1).Intersect(img.Bounds()), c)
}

func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		if (image.Point{x0, y0}).In(img.Bounds()) {
			img.SetRGBA(x0, y0, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func thick(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	for d := -1; d <= 1; d++ {
		line(img, x0, y0+d, x1, y1+d, c)
	}
}

func textWidth(s string) int { return len([]rune(s)) * 4 * scale }

func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range strings.ToLower(s) {
		g, ok := glyphs[unicode.ToLower(r)]
		if !ok {
			g = glyphs[' ']
		}
		for row := range 5 {
			for col := range 3 {
				if g[row]&(4>>col) != 0 {
					fill(img, image.Rect(x+col*scale, y+row*scale, x+(col+1)*scale, y+(row+1)*scale).Intersect(img.Bounds()), c)
				}
			}
		}
		x += 4 * scale
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

func sign(a int) int {
	switch {
	case a < 0:
		return -1
	case a > 0:
		return 1
	}
	return 0
}
