package vips

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stor/internal/iiif"
	"stor/internal/tiff"
)

func meanDiff(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			c1, c2 := rgba(a.At(r.Min.X+x, r.Min.Y+y)), rgba(b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y))
			for i := 0; i < 3; i++ {
				d := c1[i] - c2[i]
				if d < 0 {
					d = -d
				}
				sum += float64(d)
				n++
			}
		}
	}
	return sum / n
}

// TestPyramidIIIF builds a 10000x10000 pyramid, checks its levels, renders
// IIIF requests of every kind from it, and checks that the fast path's
// stored tile matches what Render produces.
func TestPyramidIIIF(t *testing.T) {
	dir := t.TempDir()
	src := gradient(t, dir, 10000, 10000)
	pyr := filepath.Join(dir, "pyr.tif")
	start := time.Now()
	if err := eng.Pyramid(src, pyr, PyramidOpts{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("pyramid of 10000x10000 JPEG: %v", time.Since(start))
	fh, err := os.Open(pyr)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	tf, err := tiff.Open(fh)
	if err != nil {
		t.Fatal(err)
	}
	var p iiif.Pyramid
	for i, l := range tf.Levels() {
		if l.TileWidth != 256 || l.TileHeight != 256 || l.Compression != tiff.CompressionJPEG {
			t.Fatalf("level %d: %+v", i, l)
		}
		p.TileWidth, p.TileHeight = l.TileWidth, l.TileHeight
		p.Levels = append(p.Levels, iiif.Level{Width: l.Width, Height: l.Height})
	}
	if want := iiif.ScaleFactors(10000, 10000, 256); len(want) != len(p.Levels) {
		t.Fatalf("pyramid has %d levels %v, iiif.ScaleFactors says %v", len(p.Levels), p.Levels, want)
	}

	// IIIF requests: output dimensions.
	cases := []struct {
		path string
		w, h int
		ext  string
	}{
		{"full/max/0/default.jpg", 10000, 10000, "jpg"},
		{"full/!400,400/0/default.jpg", 400, 400, "jpg"},
		{"full/200,/0/default.png", 200, 200, "png"},
		{"0,0,5000,2500/300,/0/default.webp", 300, 150, "webp"},
		{"pct:10,10,20,40/100,200/90/default.png", 200, 100, "png"},
		{"0,0,1000,500/100,50/180/gray.jpg", 100, 50, "jpg"},
		{"0,0,1000,500/100,50/!270/bitonal.png", 50, 100, "png"},
		{"0,0,1000,1000/100,100/45/color.png", 142, 142, "png"},
		{"9900,9900,500,500/^200,/0/default.tif", 200, 200, "tif"},
		{"square/64,/0/default.gif", 64, 64, "gif"},
		{"0,0,256,256/^512,512/0/default.jp2", 512, 512, "jp2"},
	}
	for _, c := range cases {
		req, err := iiif.Parse(iiif.V3, c.path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := req.Resolve(10000, 10000, iiif.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		b, err := eng.Render(pyr, fromIIIF(res))
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		el := time.Since(start)
		in := probeBytes(t, b, c.ext)
		if in.Width < c.w-1 || in.Width > c.w+1 || in.Height < c.h-1 || in.Height > c.h+1 {
			t.Fatalf("%s: got %dx%d, want %dx%d", c.path, in.Width, in.Height, c.w, c.h)
		}
		switch res.Quality {
		case iiif.QualityGray, iiif.QualityBitonal:
			if in.Bands > 2 {
				t.Fatalf("%s: %d bands", c.path, in.Bands)
			}
		}
		t.Logf("render %-45s %4dx%-4d %6d bytes %v", c.path, in.Width, in.Height, len(b), el)
	}
	// Bitonal really is two-valued.
	b, _ := eng.Render(pyr, Request{Region: image.Rect(0, 0, 10000, 10000), Width: 50, Height: 50, Quality: QualityBitonal, Format: PNG})
	bi := decode(t, b)
	for y := 0; y < 50; y += 7 {
		for x := 0; x < 50; x += 7 {
			if v := rgba(bi.At(x, y))[0]; v != 0 && v != 255 {
				t.Fatalf("bitonal pixel %d", v)
			}
		}
	}

	// Fast path: a level-1 interior tile, and a level-0 one.
	for _, path := range []string{"2560,2560,512,512/256,256/0/default.jpg", "512,1024,256,256/256,/0/default.jpg"} {
		req, _ := iiif.Parse(iiif.V3, path)
		res, err := req.Resolve(10000, 10000, iiif.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ref, ok := res.FastTile(p)
		if !ok {
			t.Fatalf("%s: no fast tile", path)
		}
		start := time.Now()
		tile, err := tf.JPEGTile(ref.Level, ref.Col, ref.Row)
		if err != nil {
			t.Fatal(err)
		}
		fast := time.Since(start)
		ti, err := jpeg.Decode(bytes.NewReader(tile))
		if err != nil {
			t.Fatalf("stored tile does not decode: %v", err)
		}
		start = time.Now()
		rb, err := eng.Render(pyr, Request{Region: image.Rect(res.X, res.Y, res.X+res.W, res.Y+res.H), Width: res.Width, Height: res.Height, Format: PNG})
		if err != nil {
			t.Fatal(err)
		}
		slow := time.Since(start)
		ri := decode(t, rb)
		if ti.Bounds().Dx() != 256 || ri.Bounds().Dx() != 256 {
			t.Fatalf("sizes %v %v", ti.Bounds(), ri.Bounds())
		}
		if d := meanDiff(ti, ri); d > 2.0 {
			t.Fatalf("%s: fast tile differs from render by %.2f per channel", path, d)
		} else {
			t.Logf("fast tile %v (level %d): %v vs render %v; mean diff %.2f", path, ref.Level, fast, slow, d)
		}
	}
}

// fromIIIF is what the server's glue does.
func fromIIIF(r iiif.Resolved) Request {
	q := map[iiif.Quality]Quality{iiif.QualityDefault: QualityDefault, iiif.QualityColor: QualityColor, iiif.QualityGray: QualityGray, iiif.QualityBitonal: QualityBitonal}[r.Quality]
	f := map[iiif.Format]Format{iiif.FormatJPG: JPEG, iiif.FormatPNG: PNG, iiif.FormatWebP: WebP, iiif.FormatTIF: TIFF, iiif.FormatGIF: GIF, iiif.FormatJP2: JP2}[r.Format]
	return Request{
		Region: image.Rect(r.X, r.Y, r.X+r.W, r.Y+r.H), Width: r.Width, Height: r.Height,
		Rotation: r.Rotation.Degrees, Mirror: r.Rotation.Mirror, Quality: q, Format: f,
	}
}

// TestTimings measures a thumbnail of a 24 MP JPEG.
func TestTimings(t *testing.T) {
	dir := t.TempDir()
	src := gradient(t, dir, 6000, 4000)
	for i := 0; i < 3; i++ {
		start := time.Now()
		b, info, err := eng.Thumbnail(src, ThumbOpts{Size: 400, Format: WebP})
		if err != nil {
			t.Fatal(err)
		}
		if info.Width != 400 || info.Height != 267 {
			t.Fatalf("thumb %+v", info)
		}
		t.Logf("thumbnail 400px WebP of 6000x4000 JPEG: %v (%d bytes)", time.Since(start), len(b))
	}
	start := time.Now()
	if _, err := eng.Render(src, Request{Region: image.Rect(0, 0, 6000, 4000), Width: 600, Height: 400, Format: JPEG}); err != nil {
		t.Fatal(err)
	}
	t.Logf("render 600x400 from 6000x4000 JPEG original (shrink-on-load): %v", time.Since(start))
}
