package tiff

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// makePyramid writes a 1000x700 smooth RGB gradient and its libvips pyramid.
func makePyramid(t *testing.T, extra ...string) (dir, pyr string) {
	dir = t.TempDir()
	v := func(n string) string { return filepath.Join(dir, n) }
	run(t, "vips", "xyz", v("xy.v"), "1000", "700")
	run(t, "vips", "linear", v("xy.v"), v("t.v"), "0.25 0.36", "0 0", "--uchar")
	run(t, "vips", "bandjoin_const", v("t.v"), v("rgb.v"), "128")
	pyr = v("pyr.tif")
	args := append([]string{"tiffsave", v("rgb.v"), pyr, "--tile", "--pyramid", "--compression", "jpeg",
		"--tile-width", "256", "--tile-height", "256", "--Q", "90"}, extra...)
	run(t, "vips", args...)
	return dir, pyr
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// meanDiff is the mean absolute difference per channel (0..255) over r.
func meanDiff(a, b image.Image, r image.Rectangle) float64 {
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x-r.Min.X+b.Bounds().Min.X, y-r.Min.Y+b.Bounds().Min.Y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
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

func testLayout(t *testing.T, extra ...string) {
	dir, pyr := makePyramid(t, extra...)
	fh, err := os.Open(pyr)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := Open(fh)
	if err != nil {
		t.Fatal(err)
	}
	lv := f.Levels()
	want := [][2]int{{1000, 700}, {500, 350}, {250, 175}}
	if len(lv) != len(want) {
		t.Fatalf("levels %d, want %d", len(lv), len(want))
	}
	for i, l := range lv {
		if l.Width != want[i][0] || l.Height != want[i][1] || l.TileWidth != 256 || l.TileHeight != 256 || l.Compression != CompressionJPEG {
			t.Fatalf("level %d = %+v", i, *l)
		}
	}
	// Compare every tile of levels 0 and 1 with libvips' own decode.
	for level := 0; level < 2; level++ {
		l := lv[level]
		page := filepath.Join(dir, "page"+strconv.Itoa(level)+".png")
		src := pyr + "[page=" + strconv.Itoa(level) + "]"
		if len(extra) > 0 && extra[0] == "--subifd" && level > 0 {
			src = pyr + "[subifd=" + strconv.Itoa(level-1) + "]"
		}
		run(t, "vips", "copy", src, page)
		ref := decodePNG(t, page)
		for row := 0; row < l.Rows; row++ {
			for col := 0; col < l.Cols; col++ {
				b, err := f.JPEGTile(level, col, row)
				if err != nil {
					t.Fatal(err)
				}
				im, err := jpeg.Decode(bytes.NewReader(b))
				if err != nil {
					t.Fatalf("level %d tile %d,%d does not decode: %v", level, col, row, err)
				}
				// Appending to a reused buffer gives the same bytes after
				// what was there.
				buf := append(make([]byte, 0, 16), "prefix"...)
				if ab, err := f.AppendJPEGTile(buf, level, col, row); err != nil || string(ab[:6]) != "prefix" || !bytes.Equal(ab[6:], b) {
					t.Fatalf("AppendJPEGTile level %d tile %d,%d: %v, %d bytes, want prefix + %d", level, col, row, err, len(ab), len(b))
				}
				if im.Bounds().Dx() != 256 || im.Bounds().Dy() != 256 {
					t.Fatalf("tile size %v", im.Bounds())
				}
				r := l.TileRect(col, row)
				// Shift the tile so its origin is r.Min for meanDiff.
				d := meanDiff(ref, im, r)
				if d > 1.0 {
					t.Fatalf("level %d tile %d,%d differs from libvips by %.2f", level, col, row, d)
				}
			}
		}
	}
	if _, err := f.JPEGTile(0, 4, 0); !errors.Is(err, ErrNoSuchTile) {
		t.Fatalf("out of range: %v", err)
	}
	if _, err := f.JPEGTile(9, 0, 0); !errors.Is(err, ErrNoSuchTile) {
		t.Fatalf("bad level: %v", err)
	}
}

func TestPagePyramid(t *testing.T) { testLayout(t) }

func TestSubIFDPyramid(t *testing.T) { testLayout(t, "--subifd") }

func TestBigTIFF(t *testing.T) { testLayout(t, "--bigtiff") }

func TestNotTiled(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "strip.tif")
	run(t, "vips", "black", p, "10", "10")
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := Open(fh); !errors.Is(err, ErrNotTiled) {
		t.Fatalf("got %v", err)
	}
	if _, err := Open(bytes.NewReader([]byte("not a tiff at all"))); !errors.Is(err, ErrFormat) {
		t.Fatalf("got %v", err)
	}
}
