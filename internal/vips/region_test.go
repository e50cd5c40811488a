package vips

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"math"
	"testing"
)

// photoRGB is w×h packed RGB, smooth gradients with detail at a few
// scales (like a photograph, unlike noise).
func photoRGB(w, h int) []byte {
	pix := make([]byte, w*h*3)
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			v := [3]float64{
				90 + 60*math.Sin(fx/37)*math.Cos(fy/53) + 25*math.Sin((fx+fy)/9),
				120 + 50*math.Cos(fx/23) + 30*math.Sin(fy/7)*math.Cos(fx/11),
				100 + 70*math.Sin((fx-fy)/41) + 20*math.Cos(fy/5),
			}
			for c := range 3 {
				pix[(y*w+x)*3+c] = byte(max(0, min(255, v[c])))
			}
		}
	}
	return pix
}

func crop(pix []byte, w int, r image.Rectangle) []byte {
	out := make([]byte, 0, r.Dx()*r.Dy()*3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		out = append(out, pix[(y*w+r.Min.X)*3:(y*w+r.Max.X)*3]...)
	}
	return out
}

// psnr of a against b (same size), over the three colour channels.
func psnr(a, b image.Image) float64 {
	var se, n float64
	r := a.Bounds()
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			p, q := rgba(a.At(r.Min.X+x, r.Min.Y+y)), rgba(b.At(b.Bounds().Min.X+x, b.Bounds().Min.Y+y))
			for i := range 3 {
				d := float64(p[i] - q[i])
				se += d * d
				n++
			}
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/n))
}

// TestEncodeRegionJPEG checks the short region path against libvips'
// Lanczos 3 resize of the same region (PSNR), at the reductions the IIIF
// server leaves it (below 2) and beyond, and its geometry, colours and
// argument checks.
func TestEncodeRegionJPEG(t *testing.T) {
	w, h := 640, 520
	pix := photoRGB(w, h)
	for _, c := range []struct {
		r      image.Rectangle
		ow, oh int
		min    float64 // dB
	}{
		{image.Rect(37, 20, 537, 420), 320, 256, 36},  // 1.56×
		{image.Rect(0, 0, 640, 520), 400, 325, 36},    // 1.6×, whole buffer
		{image.Rect(100, 60, 380, 340), 256, 256, 36}, // 1.09×
		{image.Rect(3, 9, 603, 489), 150, 120, 30},    // 4×: correct but softer than Lanczos
	} {
		ref, err := eng.RenderRGB(crop(pix, w, c.r), c.r.Dx(), c.r.Dy(), Request{Width: c.ow, Height: c.oh, Format: PNG})
		if err != nil {
			t.Fatal(err)
		}
		b, err := eng.EncodeRegionJPEG(pix, w, h, RegionJPEG{X0: float64(c.r.Min.X), Y0: float64(c.r.Min.Y),
			X1: float64(c.r.Max.X), Y1: float64(c.r.Max.Y), Width: c.ow, Height: c.oh, Q: 95})
		if err != nil {
			t.Fatal(err)
		}
		got, want := decode(t, b), decode(t, ref)
		if got.Bounds().Dx() != c.ow || got.Bounds().Dy() != c.oh {
			t.Fatalf("%v → %dx%d: got %v", c.r, c.ow, c.oh, got.Bounds())
		}
		p := psnr(got, want)
		t.Logf("%v → %dx%d: PSNR %.1f dB against Lanczos 3, mean difference %.2f", c.r, c.ow, c.oh, p, meanDiff(got, want))
		if p < c.min {
			t.Errorf("%v → %dx%d: PSNR %.1f dB against Lanczos 3, want ≥ %.0f", c.r, c.ow, c.oh, p, c.min)
		}
	}

	// Same size, whole buffer: only the JPEG's loss.
	b, err := eng.EncodeRegionJPEG(pix, w, h, RegionJPEG{X1: float64(w), Y1: float64(h), Width: w, Height: h, Q: 95})
	if err != nil {
		t.Fatal(err)
	}
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		src.Pix[i*4], src.Pix[i*4+1], src.Pix[i*4+2], src.Pix[i*4+3] = pix[i*3], pix[i*3+1], pix[i*3+2], 255
	}
	if p := psnr(decode(t, b), src); p < 38 {
		t.Errorf("identity: PSNR %.1f dB", p)
	}

	// Geometry and colour: left half red, right half blue, a fractional
	// region across the border.
	half := make([]byte, 64*32*3)
	for i := 0; i < 64*32; i++ {
		if i%64 < 32 {
			half[i*3], half[i*3+1], half[i*3+2] = 220, 30, 30
		} else {
			half[i*3], half[i*3+1], half[i*3+2] = 30, 40, 210
		}
	}
	b, err = eng.EncodeRegionJPEG(half, 64, 32, RegionJPEG{X0: 8.5, Y0: 0, X1: 56.5, Y1: 32, Width: 24, Height: 16, Q: 90})
	if err != nil {
		t.Fatal(err)
	}
	im := decode(t, b)
	if got := rgba(im.At(2, 8)); !near(got, [3]int{220, 30, 30}, 8) {
		t.Errorf("left = %v, want red", got)
	}
	if got := rgba(im.At(21, 8)); !near(got, [3]int{30, 40, 210}, 8) {
		t.Errorf("right = %v, want blue", got)
	}

	for _, r := range []RegionJPEG{
		{X1: 65, Y1: 32, Width: 10, Height: 10, Q: 85},         // outside the buffer
		{X0: 10, X1: 10, Y1: 32, Width: 10, Height: 10, Q: 85}, // empty
		{X1: 64, Y1: 32, Width: 0, Height: 10, Q: 85},
		{X1: 64, Y1: 32, Width: 10, Height: 10, Q: 0},
	} {
		if _, err := eng.EncodeRegionJPEG(half, 64, 32, r); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v, want ErrBadRequest", r, err)
		}
	}
	if _, err := eng.EncodeRegionJPEG(half[:100], 64, 32, RegionJPEG{X1: 64, Y1: 32, Width: 10, Height: 10, Q: 85}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("short buffer: %v", err)
	}
}

// TestDecodeJPEGTileScaled decodes one tile at every halving DCT scale:
// the size follows and the pixels match a box reduction of the full
// decode.
func TestDecodeJPEGTileScaled(t *testing.T) {
	const n = 256
	pix := photoRGB(n, n)
	im := image.NewRGBA(image.Rect(0, 0, n, n))
	for i := 0; i < n*n; i++ {
		im.Pix[i*4], im.Pix[i*4+1], im.Pix[i*4+2], im.Pix[i*4+3] = pix[i*3], pix[i*3+1], pix[i*3+2], 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, im, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full := make([]byte, n*n*3)
	if err := eng.DecodeJPEGTile(full, buf.Bytes(), n, n); err != nil {
		t.Fatal(err)
	}
	for _, m := range []int{4, 2, 1} {
		s := n * m / 8
		got := make([]byte, s*s*3)
		if err := eng.DecodeJPEGTileScaled(got, buf.Bytes(), n, n, m); err != nil {
			t.Fatal(m, err)
		}
		f := 8 / m // box-reduce the full decode
		var diff float64
		for y := range s {
			for x := range s {
				for c := range 3 {
					sum := 0
					for dy := range f {
						for dx := range f {
							sum += int(full[((y*f+dy)*n+x*f+dx)*3+c])
						}
					}
					diff += math.Abs(float64(sum)/float64(f*f) - float64(got[(y*s+x)*3+c]))
				}
			}
		}
		if d := diff / float64(s*s*3); d > 3 {
			t.Errorf("scale %d/8: differs from a box reduction by %.2f on average", m, d)
		}
	}
	for _, m := range []int{0, 9} {
		if err := eng.DecodeJPEGTileScaled(make([]byte, n*n*3), buf.Bytes(), n, n, m); !errors.Is(err, ErrBadRequest) {
			t.Errorf("scale %d: %v", m, err)
		}
	}
	if err := eng.DecodeJPEGTileScaled(make([]byte, 10), buf.Bytes(), n, n, 4); !errors.Is(err, ErrBadRequest) {
		t.Errorf("short dst: %v", err)
	}
	if err := eng.DecodeJPEGTileScaled(make([]byte, 64*64*3), buf.Bytes(), 64, 64, 8); err == nil {
		t.Error("a 256² tile decoded as 64²")
	}
}
