package vips

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

func jpegTile(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			im.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, im, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRenderMosaic places tiles where they belong, crops across tile
// borders, and refuses bad tiles and crops with an error, not a crash.
func TestRenderMosaic(t *testing.T) {
	red, green := color.RGBA{220, 30, 30, 255}, color.RGBA{30, 200, 40, 255}
	blue, white := color.RGBA{30, 40, 210, 255}, color.RGBA{250, 250, 250, 255}
	m := Mosaic{Cols: 2, TileWidth: 32, TileHeight: 32, Tiles: [][]byte{
		jpegTile(t, 32, 32, red), jpegTile(t, 32, 32, green),
		jpegTile(t, 32, 32, blue), jpegTile(t, 32, 32, white),
	}}
	// A crop of 40x40 from (12,12): each quadrant 20x20.
	b, err := eng.RenderMosaic(m, image.Rect(12, 12, 52, 52), Request{Width: 40, Height: 40, Format: PNG})
	if err != nil {
		t.Fatal(err)
	}
	im := decode(t, b)
	if im.Bounds().Dx() != 40 || im.Bounds().Dy() != 40 {
		t.Fatalf("size %v", im.Bounds())
	}
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{{5, 5, red}, {35, 5, green}, {5, 35, blue}, {35, 35, white}} {
		if got := rgba(im.At(c.x, c.y)); !near(got, [3]int{int(c.want.R), int(c.want.G), int(c.want.B)}, 6) {
			t.Errorf("(%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	// Scaled and rotated: the size follows.
	b, err = eng.RenderMosaic(m, image.Rect(0, 0, 64, 48), Request{Width: 32, Height: 24, Rotation: 90, Format: JPEG})
	if err != nil {
		t.Fatal(err)
	}
	if im := decode(t, b); im.Bounds().Dx() != 24 || im.Bounds().Dy() != 32 {
		t.Errorf("rotated size %v", im.Bounds())
	}
	bad := []struct {
		name string
		m    Mosaic
		crop image.Rectangle
	}{
		{"crop outside", m, image.Rect(0, 0, 65, 10)},
		{"no tiles", Mosaic{Cols: 1, TileWidth: 32, TileHeight: 32}, image.Rect(0, 0, 8, 8)},
		{"garbage tile", Mosaic{Cols: 1, TileWidth: 32, TileHeight: 32, Tiles: [][]byte{[]byte("not a jpeg at all")}}, image.Rect(0, 0, 8, 8)},
		{"truncated tile", Mosaic{Cols: 1, TileWidth: 32, TileHeight: 32, Tiles: [][]byte{m.Tiles[0][:40]}}, image.Rect(0, 0, 8, 8)},
		{"wrong tile size", Mosaic{Cols: 1, TileWidth: 16, TileHeight: 16, Tiles: [][]byte{m.Tiles[0]}}, image.Rect(0, 0, 8, 8)},
	}
	for _, c := range bad {
		if _, err := eng.RenderMosaic(c.m, c.crop, Request{Width: 8, Height: 8}); err == nil {
			t.Errorf("%s: no error", c.name)
		} else if c.name == "crop outside" || c.name == "no tiles" {
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("%s: %v, want ErrBadRequest", c.name, err)
			}
		}
	}
}
