package vips

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
)

// TestThumbnailsOneDecode: the three pipeline sizes in WebP and JPEG from
// one decode of a rotated 6 MP JPEG have the displayed sizes, are
// upright, and match a separate Thumbnail of each size.
func TestThumbnailsOneDecode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "o6.jpg")
	// Stored 3000x2000: left half red, right half blue, orientation 6:
	// displayed 2000x3000, red on top.
	run(t, convert, "-size", "3000x2000", "xc:blue", "-fill", "red", "-draw", "rectangle 0,0 1499,1999", "-quality", "90", p)
	run(t, "exiftool", "-q", "-overwrite_original", "-Orientation=6", "-n", p)
	var opts []ThumbOpts
	for _, s := range []int{1024, 400, 150} {
		opts = append(opts, ThumbOpts{Size: s, Format: WebP, Quality: 80}, ThumbOpts{Size: s, Format: JPEG, Quality: 80})
	}
	ts, err := eng.Thumbnails(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != len(opts) {
		t.Fatalf("%d thumbnails for %d outputs", len(ts), len(opts))
	}
	want := map[int][2]int{1024: {683, 1024}, 400: {267, 400}, 150: {100, 150}}
	for i, o := range opts {
		th := ts[i]
		w := want[o.Size]
		ext := "jpg"
		if o.Format == WebP {
			ext = "webp"
		}
		pi := probeBytes(t, th.Data, ext)
		if th.Info.Width != w[0] || th.Info.Height != w[1] || pi.Width != w[0] || pi.Height != w[1] {
			t.Errorf("%d %v: info %dx%d, file %dx%d, want %dx%d", o.Size, o.Format, th.Info.Width, th.Info.Height, pi.Width, pi.Height, w[0], w[1])
		}
		if th.Info.Format != o.Format.String() {
			t.Errorf("%d %v: format %q", o.Size, o.Format, th.Info.Format)
		}
		if o.Format != JPEG {
			continue
		}
		im := decode(t, th.Data)
		if c, d := rgba(im.At(w[0]/2, w[1]/6)), rgba(im.At(w[0]/2, w[1]*5/6)); !near(c, [3]int{255, 0, 0}, 40) || !near(d, [3]int{0, 0, 255}, 40) {
			t.Errorf("%d: top %v bottom %v, want red over blue", o.Size, c, d)
		}
		one, _, err := eng.Thumbnail(p, o)
		if err != nil {
			t.Fatal(err)
		}
		om := decode(t, one)
		if om.Bounds() != im.Bounds() {
			t.Fatalf("%d: %v, separate thumbnail %v", o.Size, im.Bounds(), om.Bounds())
		}
		if d := meanDiff(im, om); d > 3 {
			t.Errorf("%d: differs from a separate thumbnail by %.2f on average", o.Size, d)
		}
	}
}

// TestThumbnailsAlpha: from one decode of a PNG with alpha, WebP outputs
// keep it and JPEG outputs are flattened on white, at every size.
func TestThumbnailsAlpha(t *testing.T) {
	p := filepath.Join(t.TempDir(), "alpha.png")
	run(t, convert, "-size", "640x640", "xc:none", "-fill", "blue", "-draw", "rectangle 320,0 639,639", p)
	ts, err := eng.Thumbnails(p, []ThumbOpts{{Size: 320, Format: WebP}, {Size: 64, Format: WebP}, {Size: 320, Format: JPEG}, {Size: 64, Format: JPEG}})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{320, 64} {
		if pi := probeBytes(t, ts[i].Data, "webp"); !pi.HasAlpha || pi.Width != n || pi.Height != n || !ts[i].Info.HasAlpha {
			t.Errorf("webp %d: %+v", n, pi)
		}
		if v := getpoint(t, ts[i].Data, "webp", n/10, n/10); len(v) != 4 || v[3] != 0 {
			t.Errorf("webp %d left pixel %v, want transparent", n, v)
		}
		im := decode(t, ts[2+i].Data)
		if im.Bounds().Dx() != n || ts[2+i].Info.HasAlpha {
			t.Errorf("jpeg %d: %v %+v", n, im.Bounds(), ts[2+i].Info)
		}
		if c, d := rgba(im.At(n/10, n/10)), rgba(im.At(n*8/10, n/10)); !near(c, [3]int{255, 255, 255}, 8) || !near(d, [3]int{0, 0, 255}, 30) {
			t.Errorf("jpeg %d: left %v right %v, want white and blue", n, c, d)
		}
	}
}

// TestThumbnailQuality: the JPEG quality and Huffman setting are honoured.
func TestThumbnailQuality(t *testing.T) {
	p := gradient(t, t.TempDir(), 3000, 2000)
	size := func(o ThumbOpts) int {
		o.Size, o.Format = 400, JPEG
		b, _, err := eng.Thumbnail(p, o)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	q30, q80, q95 := size(ThumbOpts{Quality: 30}), size(ThumbOpts{Quality: 80}), size(ThumbOpts{Quality: 95})
	if !(q30 < q80 && q80 < q95) {
		t.Errorf("sizes at Q30, Q80, Q95: %d, %d, %d: not increasing", q30, q80, q95)
	}
	if plain := size(ThumbOpts{Quality: 80, PlainHuffman: true}); plain <= q80 {
		t.Errorf("Q80 with standard Huffman tables %d bytes, optimised %d: want larger", plain, q80)
	}
}

// TestThumbnailsBadRequest: no outputs, or a size or format out of range.
func TestThumbnailsBadRequest(t *testing.T) {
	p := gradient(t, t.TempDir(), 64, 48)
	for _, opts := range [][]ThumbOpts{nil, {{Size: 0}}, {{Size: 10}, {Size: -1}}, {{Size: 10, Format: Format(42)}}} {
		if _, err := eng.Thumbnails(p, opts); !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v, want ErrBadRequest", opts, err)
		}
	}
}

// TestJPEGThumbBufferPath: a JPEG thumbnail read whole into a reused
// buffer and decoded on the calling thread (the usual path) is the same
// as one through libvips' file source and worker threads (the path for
// JPEGs over the buffer limit), for plain, rotated, grey, CMYK and
// ICC-tagged JPEGs; thumbnails of files read one after the other into the
// same buffer do not mix, with libvips' operation cache on or off.
func TestJPEGThumbBufferPath(t *testing.T) {
	dir := t.TempDir()
	plain := gradient(t, dir, 3000, 2000)
	rot := filepath.Join(dir, "rot.jpg")
	run(t, convert, "-size", "3000x2000", "xc:blue", "-fill", "red", "-draw", "rectangle 0,0 1499,1999", rot)
	run(t, "exiftool", "-q", "-overwrite_original", "-Orientation=6", "-n", rot)
	grey := filepath.Join(dir, "grey.jpg")
	run(t, convert, plain, "-colorspace", "Gray", grey)
	cmyk := filepath.Join(dir, "cmyk.jpg")
	run(t, convert, plain, "-colorspace", "CMYK", cmyk)
	p3 := filepath.Join(dir, "p3.jpg")
	run(t, "vips", "icc_transform", plain, p3, "p3", "--input-profile", "srgb")
	if in, err := eng.Probe(p3); err != nil || !in.HasICC {
		t.Fatalf("p3 probe %+v %v", in, err)
	}
	file := *eng
	file.readMax = 0 // every JPEG through the file source
	for _, p := range []string{plain, rot, grey, cmyk, p3} {
		for _, size := range []int{400, 150} {
			o := ThumbOpts{Size: size, Format: PNG}
			b, info, err := eng.Thumbnail(p, o)
			if err != nil {
				t.Fatal(err)
			}
			fb, finfo, err := file.Thumbnail(p, o)
			if err != nil {
				t.Fatal(err)
			}
			got, want := decode(t, b), decode(t, fb)
			if got.Bounds() != want.Bounds() || info != finfo {
				t.Fatalf("%s %d: %v %+v, file path %v %+v", filepath.Base(p), size, got.Bounds(), info, want.Bounds(), finfo)
			}
			if d := meanDiff(got, want); d > 0.5 {
				t.Errorf("%s %d: differs from the file path by %.2f", filepath.Base(p), size, d)
			}
		}
		// JPEG: encoded with libjpeg on the calling thread, byte for byte
		// what libvips' jpegsave makes (with and without chroma
		// subsampling, optimised Huffman tables or not).
		for _, o := range []ThumbOpts{{Size: 400, Quality: 80}, {Size: 150, Quality: 95}, {Size: 400, Quality: 80, PlainHuffman: true}} {
			b, _, err := eng.Thumbnail(p, o)
			if err != nil {
				t.Fatal(err)
			}
			fb, _, err := file.Thumbnail(p, o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, fb) {
				t.Errorf("%s %+v: %d bytes, jpegsave %d bytes", filepath.Base(p), o, len(b), len(fb))
			}
		}
	}
	// Red-over-blue and the gradient, alternately, with the cache on.
	cached, err := Startup(Config{CacheMaxOps: 100, CacheMaxMem: 64 << 20, CacheMaxFiles: 10, MaxPixels: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	defer Startup(DefaultConfig())
	var first [2][]byte
	for i := range 6 {
		p := []string{rot, plain}[i%2]
		b, _, err := cached.Thumbnail(p, ThumbOpts{Size: 100, Format: PNG})
		if err != nil {
			t.Fatal(err)
		}
		if first[i%2] == nil {
			first[i%2] = b
		} else if d := meanDiff(decode(t, b), decode(t, first[i%2])); d != 0 {
			t.Fatalf("%s, pass %d: differs from its first thumbnail by %.2f", filepath.Base(p), i, d)
		}
	}
	if c := rgba(decode(t, first[0]).At(33, 10)); !near(c, [3]int{255, 0, 0}, 40) {
		t.Fatalf("rotated thumbnail top is %v, want red", c)
	}
}
