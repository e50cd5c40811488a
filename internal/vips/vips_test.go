package vips

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var eng *Engine

func TestMain(m *testing.M) {
	var err error
	eng, err = Startup(DefaultConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// convert is ImageMagick's, by absolute path.
const convert = "/usr/bin/convert"

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	im, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return im
}

func rgba(c color.Color) [4]int {
	r, g, b, a := c.RGBA()
	return [4]int{int(r >> 8), int(g >> 8), int(b >> 8), int(a >> 8)}
}

func near(got [4]int, want [3]int, tol int) bool {
	for i := 0; i < 3; i++ {
		d := got[i] - want[i]
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

// probeBytes writes b to a file and probes it (for WebP, TIFF, JP2 outputs
// Go cannot decode).
func probeBytes(t *testing.T, b []byte, ext string) Info {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out."+ext)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := eng.Probe(p)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// getpoint reads one pixel with the vips CLI.
func getpoint(t *testing.T, b []byte, ext string, x, y int) []int {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pt."+ext)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("vips", "getpoint", p, strconv.Itoa(x), strconv.Itoa(y)).CombinedOutput()
	if err != nil {
		t.Fatalf("getpoint: %v %s", err, out)
	}
	var v []int
	for _, f := range strings.Fields(string(out)) {
		n, _ := strconv.ParseFloat(f, 64)
		v = append(v, int(n+0.5))
	}
	return v
}

func TestOrientation(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "o6.jpg")
	// Stored 200x100: left half red, right half blue. Orientation 6 means
	// "rotate 90° clockwise to display": displayed 100x200, red on top.
	run(t, convert, "-size", "200x100", "xc:blue", "-fill", "red", "-draw", "rectangle 0,0 99,99", p)
	run(t, "exiftool", "-q", "-overwrite_original", "-Orientation=6", "-n", p)
	in, err := eng.Probe(p)
	if err != nil {
		t.Fatal(err)
	}
	if in.Orientation != 6 || in.Width != 200 || in.Format != "jpeg" {
		t.Fatalf("probe %+v", in)
	}
	b, info, err := eng.Thumbnail(p, ThumbOpts{Size: 100, Format: JPEG})
	if err != nil {
		t.Fatal(err)
	}
	im := decode(t, b)
	if im.Bounds().Dx() != 50 || im.Bounds().Dy() != 100 || info.Width != 50 || info.Height != 100 {
		t.Fatalf("thumbnail %v, info %+v", im.Bounds(), info)
	}
	if c := rgba(im.At(25, 20)); !near(c, [3]int{255, 0, 0}, 40) {
		t.Fatalf("top is %v, want red", c)
	}
	if c := rgba(im.At(25, 80)); !near(c, [3]int{0, 0, 255}, 40) {
		t.Fatalf("bottom is %v, want blue", c)
	}
	// At a shrink of 10 the JPEG is loaded at 1/8 (DCT scaling), still
	// upright.
	b, info, err = eng.Thumbnail(p, ThumbOpts{Size: 20, Format: JPEG})
	if err != nil {
		t.Fatal(err)
	}
	im = decode(t, b)
	if im.Bounds().Dx() != 10 || im.Bounds().Dy() != 20 || info.Width != 10 || info.Height != 20 {
		t.Fatalf("small thumbnail %v, info %+v", im.Bounds(), info)
	}
	if c, d := rgba(im.At(5, 3)), rgba(im.At(5, 17)); !near(c, [3]int{255, 0, 0}, 60) || !near(d, [3]int{0, 0, 255}, 60) {
		t.Fatalf("small thumbnail top %v bottom %v, want red over blue", c, d)
	}
	// AccessJPEG applies it too.
	dst := filepath.Join(dir, "access.jpg")
	if err := eng.AccessJPEG(p, dst, 0); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(dst)
	if am := decode(t, a); am.Bounds().Dx() != 100 || am.Bounds().Dy() != 200 {
		t.Fatalf("access %v", am.Bounds())
	}
	// And Render works in displayed coordinates: the top half is red.
	r, err := eng.Render(p, Request{Region: image.Rect(0, 0, 100, 100), Width: 10, Height: 10, Format: PNG})
	if err != nil {
		t.Fatal(err)
	}
	if c := rgba(decode(t, r).At(5, 5)); !near(c, [3]int{255, 0, 0}, 40) {
		t.Fatalf("render top is %v", c)
	}
}

func TestCMYK(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{"jpg", "tif"} {
		p := filepath.Join(dir, "cmyk."+ext)
		run(t, convert, "-size", "64x64", "xc:red", "-colorspace", "CMYK", p)
		in, err := eng.Probe(p)
		if err != nil {
			t.Fatal(err)
		}
		if in.Interpretation != "cmyk" || in.Bands != 4 {
			t.Fatalf("%s probe %+v", ext, in)
		}
		b, info, err := eng.Thumbnail(p, ThumbOpts{Size: 32, Format: JPEG})
		if err != nil {
			t.Fatal(err)
		}
		if info.Bands != 3 || info.Interpretation != "srgb" {
			t.Fatalf("%s out %+v", ext, info)
		}
		// Without an embedded profile libvips converts through its built-in
		// CMYK profile, so pure CMYK red lands near, not at, sRGB red.
		c := rgba(decode(t, b).At(16, 16))
		if c[0] < 200 || c[1] > 80 || c[2] > 80 {
			t.Fatalf("%s: CMYK red became %v", ext, c)
		}
	}
}

func TestSixteenBit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "rgb16.tif")
	run(t, convert, "-size", "64x64", "xc:rgb(50%,25%,100%)", "-depth", "16", p)
	in, err := eng.Probe(p)
	if err != nil {
		t.Fatal(err)
	}
	if in.BandFormat != "ushort" || in.Interpretation != "rgb16" {
		t.Fatalf("probe %+v", in)
	}
	b, _, err := eng.Thumbnail(p, ThumbOpts{Size: 32, Format: JPEG, Quality: 95})
	if err != nil {
		t.Fatal(err)
	}
	if c := rgba(decode(t, b).At(16, 16)); !near(c, [3]int{128, 64, 255}, 4) {
		t.Fatalf("16-bit became %v, want ~128,64,255", c)
	}
	r, err := eng.Render(p, Request{Region: image.Rect(0, 0, 64, 64), Width: 64, Height: 64, Format: PNG})
	if err != nil {
		t.Fatal(err)
	}
	if c := rgba(decode(t, r).At(3, 3)); !near(c, [3]int{128, 64, 255}, 2) {
		t.Fatalf("16-bit render %v", c)
	}
}

func TestAlpha(t *testing.T) {
	p := filepath.Join(t.TempDir(), "alpha.png")
	// Left half transparent, right half opaque blue.
	run(t, convert, "-size", "64x64", "xc:none", "-fill", "blue", "-draw", "rectangle 32,0 63,63", p)
	in, err := eng.Probe(p)
	if err != nil {
		t.Fatal(err)
	}
	if !in.HasAlpha {
		t.Fatalf("probe %+v", in)
	}
	w, info, err := eng.Thumbnail(p, ThumbOpts{Size: 64, Format: WebP})
	if err != nil {
		t.Fatal(err)
	}
	if !info.HasAlpha {
		t.Fatalf("webp thumbnail lost alpha: %+v", info)
	}
	if pi := probeBytes(t, w, "webp"); !pi.HasAlpha || pi.Bands != 4 {
		t.Fatalf("webp %+v", pi)
	}
	if v := getpoint(t, w, "webp", 5, 5); len(v) != 4 || v[3] != 0 {
		t.Fatalf("webp left pixel %v, want transparent", v)
	}
	j, _, err := eng.Thumbnail(p, ThumbOpts{Size: 64, Format: JPEG})
	if err != nil {
		t.Fatal(err)
	}
	im := decode(t, j)
	if c := rgba(im.At(5, 5)); !near(c, [3]int{255, 255, 255}, 8) {
		t.Fatalf("jpeg transparent part is %v, want white", c)
	}
	if c := rgba(im.At(50, 5)); !near(c, [3]int{0, 0, 255}, 30) {
		t.Fatalf("jpeg opaque part is %v, want blue", c)
	}
}

// TestFormats thumbnails one file of each format and checks size and colour.
func TestFormats(t *testing.T) {
	dir := t.TempDir()
	f := func(n string) string { return filepath.Join(dir, n) }
	run(t, convert, "-size", "120x80", "xc:rgb(0,160,0)", f("green.png"))
	run(t, convert, "-size", "120x80", "xc:rgb(0,160,0)", "xc:blue", f("multi.tif"))
	run(t, convert, "-delay", "10", "-size", "120x80", "xc:rgb(0,160,0)", "xc:blue", f("anim.gif"))
	run(t, convert, "-size", "120x80", "xc:rgb(0,160,0)", f("green.psd"))
	run(t, convert, "-size", "120x80", "xc:rgb(0,160,0)", f("green.bmp"))
	run(t, "vips", "copy", f("green.png"), f("green.jp2"))
	run(t, "vips", "copy", f("green.png"), f("green.avif"))
	run(t, "vips", "heifsave", f("green.png"), f("green.heic"), "--compression", "hevc")
	run(t, "vips", "copy", f("green.png"), f("green.webp"))
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"><rect width="120" height="80" fill="rgb(0,160,0)"/></svg>`
	if err := os.WriteFile(f("green.svg"), []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file, format string
		pages        int
	}{
		{"green.png", "png", 1}, {"multi.tif", "tiff", 2}, {"anim.gif", "gif", 2},
		{"green.psd", "magick", 1}, {"green.bmp", "magick", 1}, {"green.jp2", "jp2k", 1},
		{"green.avif", "heif", 1}, {"green.heic", "heif", 1}, {"green.webp", "webp", 1},
		{"green.svg", "svg", 1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			in, err := eng.Probe(f(c.file))
			if err != nil {
				t.Fatal(err)
			}
			// ImageMagick's PSD reader counts the composite as an extra page.
			if in.Width != 120 || in.Height != 80 || in.Format != c.format || in.Pages != c.pages && c.format != "magick" {
				t.Fatalf("probe %+v", in)
			}
			b, _, err := eng.Thumbnail(f(c.file), ThumbOpts{Size: 60, Format: JPEG})
			if err != nil {
				t.Fatal(err)
			}
			im := decode(t, b)
			if im.Bounds().Dx() != 60 || im.Bounds().Dy() != 40 {
				t.Fatalf("thumbnail %v", im.Bounds())
			}
			// First page/frame is green, not blue.
			if px := rgba(im.At(30, 20)); !near(px, [3]int{0, 160, 0}, 30) {
				t.Fatalf("pixel %v, want green", px)
			}
			if _, _, err := eng.Thumbnail(f(c.file), ThumbOpts{Size: 60, Format: WebP}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSVGExternalRefs(t *testing.T) {
	dir := t.TempDir()
	red := filepath.Join(dir, "red.png")
	run(t, convert, "-size", "100x100", "xc:red", red)
	var hits atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := os.ReadFile(red)
		w.Header().Set("Content-Type", "image/png")
		w.Write(b)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="100" height="100">
<rect width="100" height="100" fill="white"/>
<image x="0" y="0" width="50" height="50" href="http://%s/x.png"/>
<image x="50" y="0" width="50" height="50" xlink:href="file://%s"/>
<image x="0" y="50" width="50" height="50" href="red.png"/>
<image x="50" y="50" width="50" height="50" href="file:///etc/passwd"/>
</svg>`, ln.Addr(), red)
	p := filepath.Join(dir, "evil.svg")
	if err := os.WriteFile(p, []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	b, _, err := eng.Thumbnail(p, ThumbOpts{Size: 100, Format: PNG})
	if err != nil {
		t.Fatal(err)
	}
	im := decode(t, b)
	for _, pt := range []image.Point{{25, 25}, {75, 25}, {25, 75}, {75, 75}} {
		if c := rgba(im.At(pt.X, pt.Y)); !near(c, [3]int{255, 255, 255}, 2) {
			t.Fatalf("pixel %v is %v: an external reference was loaded", pt, c)
		}
	}
	r, err := eng.Render(p, Request{Region: image.Rect(0, 0, 100, 100), Width: 100, Height: 100, Format: PNG})
	if err != nil {
		t.Fatal(err)
	}
	if c := rgba(decode(t, r).At(75, 25)); !near(c, [3]int{255, 255, 255}, 2) {
		t.Fatalf("render loaded a file reference: %v", c)
	}
	time.Sleep(100 * time.Millisecond)
	if n := hits.Load(); n != 0 {
		t.Fatalf("SVG rasteriser fetched http %d times", n)
	}
}

// writeBombPNG writes a valid PNG header declaring w×h with a tiny IDAT.
func writeBombPNG(t *testing.T, path string, w, h uint32) {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		buf.Write(c)
		binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1+3*int(w))) // one row of zeros
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func peakRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n * 1024
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

func TestPixelBomb(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bomb.png")
	writeBombPNG(t, p, 100000, 100000)
	before := peakRSS(t)
	in, err := eng.Probe(p)
	if err != nil {
		t.Fatal(err)
	}
	if in.Pixels() != 1e10 {
		t.Fatalf("probe %+v", in)
	}
	_, _, err = eng.Thumbnail(p, ThumbOpts{Size: 400, Format: JPEG})
	var pe *PixelLimitError
	if !errors.Is(err, ErrTooManyPixels) || !errors.As(err, &pe) || pe.Width != 100000 {
		t.Fatalf("thumbnail: %v", err)
	}
	if err := eng.Pyramid(p, filepath.Join(dir, "p.tif"), PyramidOpts{}); !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("pyramid: %v", err)
	}
	if err := eng.AccessJPEG(p, filepath.Join(dir, "a.jpg"), 0); !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("access: %v", err)
	}
	if _, err := eng.Render(p, Request{Region: image.Rect(0, 0, 100, 100), Width: 10, Height: 10}); !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("render: %v", err)
	}
	if grow := peakRSS(t) - before; grow > 64<<20 {
		t.Fatalf("peak RSS grew by %d MiB", grow>>20)
	}
	// A tighter engine limit applies per engine.
	small, err := Startup(Config{MaxPixels: 100})
	if err != nil {
		t.Fatal(err)
	}
	g := filepath.Join(dir, "g.png")
	run(t, convert, "-size", "20x20", "xc:gray", g)
	if _, _, err := small.Thumbnail(g, ThumbOpts{Size: 10}); !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("small engine: %v", err)
	}
	if _, _, err := eng.Thumbnail(g, ThumbOpts{Size: 10}); err != nil {
		t.Fatalf("default engine: %v", err)
	}
}

func TestUnsupported(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.bin")
	os.WriteFile(p, []byte("this is not an image at all, just text"), 0o644)
	if _, err := eng.Probe(p); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("probe: %v", err)
	}
	if _, _, err := eng.Thumbnail(p, ThumbOpts{Size: 10}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("thumb: %v", err)
	}
	if _, err := eng.Probe(filepath.Join(t.TempDir(), "missing.jpg")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if err := (Config{}).Validate(); err == nil {
		t.Fatal("zero MaxPixels accepted")
	}
}

// gradient writes a w×h smooth RGB gradient JPEG.
func gradient(t testing.TB, dir string, w, h int) string {
	v := func(n string) string { return filepath.Join(dir, n) }
	run(t, "vips", "xyz", v("xy.v"), strconv.Itoa(w), strconv.Itoa(h))
	run(t, "vips", "linear", v("xy.v"), v("t.v"), fmt.Sprintf("%g %g", 255.0/float64(w), 255.0/float64(h)), "0 0", "--uchar")
	run(t, "vips", "bandjoin_const", v("t.v"), v("rgb.v"), "128")
	out := v(fmt.Sprintf("grad%dx%d.jpg", w, h))
	run(t, "vips", "copy", v("rgb.v"), out+"[Q=92]")
	for _, n := range []string{"xy.v", "t.v", "rgb.v"} {
		os.Remove(v(n))
	}
	return out
}

// TestThumbnailJPEGShrink: a JPEG thumbnail loaded with 1/8 DCT scaling
// (shrink 15, where libvips' own thumbnail would decode at 1/4) has the
// right size and matches libvips' thumbnail closely.
func TestThumbnailJPEGShrink(t *testing.T) {
	dir := t.TempDir()
	p := gradient(t, dir, 3000, 2000)
	b, info, err := eng.Thumbnail(p, ThumbOpts{Size: 200, Format: PNG})
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 200 || info.Height != 133 {
		t.Fatalf("thumbnail %dx%d", info.Width, info.Height)
	}
	ref := filepath.Join(dir, "ref.png")
	run(t, "vips", "thumbnail", p, ref, "200", "--height", "200")
	rb, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, want := decode(t, b), decode(t, rb)
	if got.Bounds() != want.Bounds() {
		t.Fatalf("size %v, libvips %v", got.Bounds(), want.Bounds())
	}
	var sum, n float64
	for y := 0; y < got.Bounds().Dy(); y++ {
		for x := 0; x < got.Bounds().Dx(); x++ {
			a, c := rgba(got.At(x, y)), rgba(want.At(x, y))
			for i := range 3 {
				sum += math.Abs(float64(a[i] - c[i]))
				n++
			}
		}
	}
	if d := sum / n; d > 2 {
		t.Errorf("differs from vips thumbnail by %.2f on average", d)
	}
}
