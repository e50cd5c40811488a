package iiifserver_test

import (
	"bytes"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"

	"stor/internal/vips"
)

// TestMosaicMatchesRender checks the pyramid's tile paths (the stored JPEG
// tiles under a region, decoded from memory; for plain JPEG reductions the
// short region path) against libvips reading the same pyramid file
// (vips.Render), pixel by pixel, for edge tiles at every level, arbitrary
// regions across tile borders at several scales, upscaling, and the other
// qualities, rotations and formats; and that regions needing too many
// tiles still take the file path.
func TestMosaicMatchesRender(t *testing.T) {
	f := newFixture(t)
	pyr := filepath.Join(f.dir, "work", "big-pyramid.tif") // 1500x1100, tiles 256
	cases := []struct {
		region string
		rect   image.Rectangle
		size   string
		w, h   int
		rot    float64
		mirror bool
		q      vips.Quality
		qname  string
		fmt    vips.Format
		ext    string
	}{
		// Edge tiles as a viewer asks for them: level 0, 1, 2, 3.
		{region: "1280,1024,220,76", rect: image.Rect(1280, 1024, 1500, 1100), size: "220,", w: 220, h: 76},
		{region: "1024,512,476,512", rect: image.Rect(1024, 512, 1500, 1024), size: "238,", w: 238, h: 256},
		{region: "1024,0,476,1024", rect: image.Rect(1024, 0, 1500, 1024), size: "119,", w: 119, h: 256},
		{region: "0,0,1500,1100", rect: image.Rect(0, 0, 1500, 1100), size: "188,", w: 188, h: 138},
		// Arbitrary regions: across tile borders, at level 0, 1 and 2.
		{region: "100,200,500,300", rect: image.Rect(100, 200, 600, 500), size: "500,", w: 500, h: 300},
		{region: "100,200,500,300", rect: image.Rect(100, 200, 600, 500), size: "256,", w: 256, h: 154},
		{region: "37,411,1001,600", rect: image.Rect(37, 411, 1038, 1011), size: "256,", w: 256, h: 153},
		{region: "37,411,1001,600", rect: image.Rect(37, 411, 1038, 1011), size: "300,200", w: 300, h: 200},
		{region: "255,255,2,2", rect: image.Rect(255, 255, 257, 257), size: "^64,", w: 64, h: 64},
		// Qualities, rotation, mirroring, formats.
		{region: "300,300,700,500", rect: image.Rect(300, 300, 1000, 800), size: "200,", w: 200, h: 143, q: vips.QualityGray, qname: "gray"},
		{region: "300,300,700,500", rect: image.Rect(300, 300, 1000, 800), size: "200,", w: 200, h: 143, q: vips.QualityBitonal, qname: "bitonal"},
		{region: "300,300,700,500", rect: image.Rect(300, 300, 1000, 800), size: "200,", w: 200, h: 143, rot: 90, mirror: true},
		{region: "300,300,700,500", rect: image.Rect(300, 300, 1000, 800), size: "200,", w: 200, h: 143, rot: 33},
		{region: "300,300,700,500", rect: image.Rect(300, 300, 1000, 800), size: "200,", w: 200, h: 143, fmt: vips.WebP, ext: "webp"},
	}
	same, nLossless := 0, 0
	for _, c := range cases {
		qname, ext := c.qname, c.ext
		if qname == "" {
			qname = "default"
		}
		rot := fmt.Sprint(c.rot)
		if c.mirror {
			rot = "!" + rot
		}
		for _, lossless := range []bool{true, false} {
			format, e := vips.PNG, "png"
			if ext != "" {
				if lossless {
					continue
				}
				format, e = c.fmt, ext
			} else if !lossless {
				format, e = vips.JPEG, "jpg"
			}
			p := fmt.Sprintf("/iiif/3/%s/%s/%s/%s/%s.%s", f.pyramid, c.region, c.size, rot, qname, e)
			r := f.get(p)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", p, r.status, r.body)
			}
			// Reductions to a plain JPEG take the short path (decoded tiles,
			// a triangle filter, libjpeg): close to libvips' Lanczos, not
			// the same pixels.
			wantHow, tol := "mosaic", 0.5
			if format == vips.JPEG && c.rot == 0 && !c.mirror && c.q == vips.QualityDefault && c.w <= c.rect.Dx() {
				wantHow, tol = "region", 3
			}
			if how := r.h.Get("X-Stor-Render"); how != wantHow {
				t.Errorf("%s: rendered by %q, want %s", p, how, wantHow)
			}
			want, err := f.eng.Render(pyr, vips.Request{Region: c.rect, Width: c.w, Height: c.h,
				Rotation: c.rot, Mirror: c.mirror, Quality: c.q, Format: format})
			if err != nil {
				t.Fatal(err)
			}
			if format == vips.PNG || format == vips.JPEG && c.rot == 0 {
				if format == vips.PNG {
					nLossless++
				}
				if bytes.Equal(r.body, want) {
					same++
				} else {
					gw, gh, got := f.decode(r.body)
					ww, wh, ref := f.decode(want)
					if gw != ww || gh != wh {
						t.Fatalf("%s: %dx%d, render %dx%d", p, gw, gh, ww, wh)
					}
					if d := meanDiff(got, ref); d > tol {
						t.Errorf("%s: differs from vips.Render by %.3f on average", p, d)
					}
				}
				continue
			}
			gw, gh, _ := f.decode(r.body)
			ww, wh, _ := f.decode(want)
			if gw != ww || gh != wh {
				t.Errorf("%s: %dx%d, render %dx%d", p, gw, gh, ww, wh)
			}
		}
	}
	t.Logf("%d of %d lossless outputs byte-identical to vips.Render", same, nLossless)
	// The whole image at full size needs all 30 level-0 tiles: still a
	// mosaic (≤ 64); as a JPEG, the short path.
	r := f.get("/iiif/3/" + f.pyramid + "/full/max/0/default.jpg")
	if r.status != 200 || r.h.Get("X-Stor-Render") != "region" {
		t.Errorf("full/max jpg: %d %q", r.status, r.h.Get("X-Stor-Render"))
	}
	r = f.get("/iiif/3/" + f.pyramid + "/full/max/0/default.png")
	if r.status != 200 || r.h.Get("X-Stor-Render") != "mosaic" {
		t.Errorf("full/max: %d %q", r.status, r.h.Get("X-Stor-Render"))
	}
	// A region needing more than 64 stored tiles streams the file instead:
	// 2600x2600 has 11x11 level-0 tiles.
	big := pngBytes(t, pattern(2600, 2600))
	id := f.ingest("bigger.png", big)
	src := filepath.Join(f.dir, "work", "bigger.png")
	os.WriteFile(src, big, 0o644)
	bp := filepath.Join(f.dir, "work", "bigger.tif")
	if err := f.eng.Pyramid(src, bp, vips.PyramidOpts{}); err != nil {
		t.Fatal(err)
	}
	f.derive(id, "pyramid", "image/tiff", bp, 2600, 2600)
	for p, want := range map[string]string{
		"/full/max/0/default.jpg":            "file",   // 121 tiles
		"/0,0,2304,2304/2304,/0/default.jpg": "file",   // 81 tiles
		"/0,0,2048,2048/2048,/0/default.jpg": "region", // 64 tiles
		"/0,0,2048,2048/2048,/0/default.png": "mosaic",
		"/full/650,/0/default.jpg":           "region", // level 2: 3x3 tiles
		"/full/650,/0/gray.jpg":              "mosaic",
		"/full/650,/90/default.jpg":          "mosaic",
	} {
		r := f.get("/iiif/3/" + id + p)
		if r.status != 200 || r.h.Get("X-Stor-Render") != want {
			t.Errorf("%s: %d %q, want %s", p, r.status, r.h.Get("X-Stor-Render"), want)
		}
	}
	// Sources without a pyramid are rendered from the file.
	r = f.get("/iiif/3/" + f.access + "/0,0,100,100/50,/0/default.jpg")
	if r.status != 200 || r.h.Get("X-Stor-Render") != "file" {
		t.Errorf("access JPEG: %d %q", r.status, r.h.Get("X-Stor-Render"))
	}
}
