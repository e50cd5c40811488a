package iiif

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

type want struct {
	x, y, w, h    int
	width, height int
	canon         string
}

func TestResolveTable(t *testing.T) {
	noLim := Limits{}
	lim := Limits{MaxWidth: 200} // maxHeight inferred = 200
	area := Limits{MaxArea: 10000}
	cases := []struct {
		v    Version
		path string
		iw   int
		ih   int
		lim  Limits
		want want
		err  error // nil, ErrBadRequest, ErrNotImplemented
	}{
		// ---- 3.0 regions (spec examples use a 300x200 image)
		{V3, "full/max/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/0/default.jpg"}, nil},
		{V3, "square/max/0/default.jpg", 300, 200, noLim, want{50, 0, 200, 200, 200, 200, "50,0,200,200/max/0/default.jpg"}, nil},
		{V3, "square/max/0/default.jpg", 200, 301, noLim, want{0, 50, 200, 200, 200, 200, "0,50,200,200/max/0/default.jpg"}, nil},
		{V3, "square/max/0/default.jpg", 200, 200, noLim, want{0, 0, 200, 200, 200, 200, "full/max/0/default.jpg"}, nil},
		{V3, "125,15,120,140/max/0/default.jpg", 300, 200, noLim, want{125, 15, 120, 140, 120, 140, "125,15,120,140/max/0/default.jpg"}, nil},
		{V3, "pct:41.6,7.5,40,70/max/0/default.jpg", 300, 200, noLim, want{125, 15, 120, 140, 120, 140, "125,15,120,140/max/0/default.jpg"}, nil},
		{V3, "125,15,200,200/max/0/default.jpg", 300, 200, noLim, want{125, 15, 175, 185, 175, 185, "125,15,175,185/max/0/default.jpg"}, nil},
		{V3, "pct:41.6,7.5,66.6,100/max/0/default.jpg", 300, 200, noLim, want{125, 15, 175, 185, 175, 185, "125,15,175,185/max/0/default.jpg"}, nil},
		{V3, "0,0,300,200/max/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/0/default.jpg"}, nil},
		{V3, "pct:0,0,100,100/max/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/0/default.jpg"}, nil},
		{V3, "299,199,10,10/max/0/default.jpg", 300, 200, noLim, want{299, 199, 1, 1, 1, 1, "299,199,1,1/max/0/default.jpg"}, nil},
		{V3, "300,0,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},    // outside
		{V3, "0,200,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},    // outside
		{V3, "0,0,0,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},       // zero width
		{V3, "0,0,10,0/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},       // zero height
		{V3, "pct:0,0,0.1,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest}, // rounds to 0
		{V3, "pct:100,0,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "pct:0,0,0,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "-1,0,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "1.5,0,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "0,0,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "0,0,10,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "pct:a,0,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "pct:-1,0,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "pct:1e1,0,10,10/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "Full/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "/max/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},

		// ---- 3.0 sizes
		{V3, "full/150,/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,100/0/default.jpg"}, nil},
		{V3, "full/,150/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 225, 150, "full/225,150/0/default.jpg"}, nil},
		{V3, "full/pct:50/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,100/0/default.jpg"}, nil},
		{V3, "full/225,100/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 225, 100, "full/225,100/0/default.jpg"}, nil},
		{V3, "full/!225,100/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,100/0/default.jpg"}, nil},
		{V3, "full/!100,225/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 100, 67, "full/100,67/0/default.jpg"}, nil},
		{V3, "full/!1000,1000/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest}, // would upscale: needs ^ (validator size_noup)
		{V3, "full/!300,1000/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/0/default.jpg"}, nil},
		{V3, "full/!2000,100/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,100/0/default.jpg"}, nil},
		{V3, "full/^!360,360/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 360, 240, "full/^360,240/0/default.jpg"}, nil},
		{V3, "full/^360,/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 360, 240, "full/^360,240/0/default.jpg"}, nil},
		{V3, "full/^,240/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 360, 240, "full/^360,240/0/default.jpg"}, nil},
		{V3, "full/^pct:120/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 360, 240, "full/^360,240/0/default.jpg"}, nil},
		{V3, "full/^360,360/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 360, 360, "full/^360,360/0/default.jpg"}, nil},
		{V3, "full/^150,/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,100/0/default.jpg"}, nil},
		{V3, "full/^max/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/0/default.jpg"}, nil},
		{V3, "full/300,200/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/0/default.jpg"}, nil},
		{V3, "full/360,/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},    // upscale without ^
		{V3, "full/,240/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},    // upscale without ^
		{V3, "full/pct:120/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest}, // upscale without ^
		{V3, "full/301,200/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest}, // upscale without ^
		{V3, "full/pct:0/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},   // zero
		{V3, "full/pct:0.1/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest}, // rounds to 0
		{V3, "full/0,/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},      // zero
		{V3, "full/,0/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},      // zero
		{V3, "full/0,0/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},     // zero
		{V3, "full/!0,10/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},   // zero
		{V3, "full/full/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},    // 2.1 only
		{V3, "full/,/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},       // empty
		{V3, "full/10/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},      // no comma
		{V3, "full/^^10,/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},   // double caret
		{V3, "full/!^10,10/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest}, // wrong order
		{V3, "full/a,10/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},    //
		{V3, "full/10.5,/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},   // px must be int
		{V3, "full/1,1/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 1, 1, "full/1,1/0/default.jpg"}, nil},
		{V3, "full/1,/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 1, 1, "full/1,1/0/default.jpg"}, nil},
		{V3, "0,0,1000,1/1,/0/default.jpg", 1000, 10, noLim, want{}, ErrBadRequest}, // height rounds to 0

		// ---- 3.0 limits
		{V3, "full/max/0/default.jpg", 300, 200, lim, want{0, 0, 300, 200, 200, 133, "full/max/0/default.jpg"}, nil},
		{V3, "full/^max/0/default.jpg", 100, 50, lim, want{0, 0, 100, 50, 200, 100, "full/^200,100/0/default.jpg"}, nil},
		{V3, "full/^max/0/default.jpg", 50, 100, lim, want{0, 0, 50, 100, 100, 200, "full/^100,200/0/default.jpg"}, nil},
		{V3, "full/200,/0/default.jpg", 300, 200, lim, want{0, 0, 300, 200, 200, 133, "full/max/0/default.jpg"}, nil},
		{V3, "full/201,/0/default.jpg", 300, 200, lim, want{}, ErrBadRequest},
		{V3, "full/,201/0/default.jpg", 300, 300, lim, want{}, ErrBadRequest},
		{V3, "full/^!1000,1000/0/default.jpg", 300, 200, lim, want{0, 0, 300, 200, 200, 133, "full/max/0/default.jpg"}, nil},
		{V3, "full/max/0/default.jpg", 300, 200, area, want{0, 0, 300, 200, 122, 81, "full/max/0/default.jpg"}, nil},
		{V3, "full/^max/0/default.jpg", 30, 20, area, want{0, 0, 30, 20, 122, 81, "full/^122,81/0/default.jpg"}, nil},
		{V3, "full/101,100/0/default.jpg", 300, 200, area, want{}, ErrBadRequest},
		{V3, "full/100,100/0/default.jpg", 300, 200, area, want{0, 0, 300, 200, 100, 100, "full/100,100/0/default.jpg"}, nil},

		// ---- 3.0 rotation, quality, format
		{V3, "full/max/90/default.png", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/90/default.png"}, nil},
		{V3, "full/max/22.5/color.webp", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/22.5/color.webp"}, nil},
		{V3, "full/max/22.50/gray.tif", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/22.5/gray.tif"}, nil},
		{V3, "full/max/!0/bitonal.gif", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/!0/bitonal.gif"}, nil},
		{V3, "full/max/!180/default.jp2", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/!180/default.jp2"}, nil},
		{V3, "full/max/360/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/360/default.jpg"}, nil},
		{V3, "full/max/090/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/90/default.jpg"}, nil},
		{V3, "full/max/0.0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/max/0/default.jpg"}, nil},
		{V3, "full/max/360.1/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/-90/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/+90/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/!!90/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/1e2/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/NaN/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max//default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/native.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/grey.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/default.jpeg", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/default.pdf", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/default", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/default.", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/default.JPG", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0", 300, 200, noLim, want{}, ErrBadRequest},
		{V3, "full/max/0/default.jpg/x", 300, 200, noLim, want{}, ErrBadRequest},

		// ---- the format's own size limit (JPEG 65500, WebP 16383)
		{V2, "0,0,5574,36/,446/0/default.jpg", 20000, 20000, noLim, want{}, ErrBadRequest}, // 69056 px wide
		{V3, "full/^12000,/0/default.webp", 300, 300, noLim, want{0, 0, 300, 300, 12000, 12000, "full/^12000,12000/0/default.webp"}, nil},
		{V3, "full/^12000,/45/default.webp", 300, 300, noLim, want{}, ErrBadRequest}, // 16971 px rotated
		{V3, "full/^12000,/45/default.png", 300, 300, noLim, want{0, 0, 300, 300, 12000, 12000, "full/^12000,12000/45/default.png"}, nil},
		{V3, "full/max/0/default.webp", 40000, 1000, noLim, want{0, 0, 40000, 1000, 16383, 409, "full/16383,409/0/default.webp"}, nil},

		// ---- 2.1
		{V2, "full/full/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/full/0/default.jpg"}, nil},
		{V2, "full/max/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/full/0/default.jpg"}, nil},
		{V2, "square/full/0/default.jpg", 300, 200, noLim, want{50, 0, 200, 200, 200, 200, "50,0,200,200/full/0/default.jpg"}, nil},
		{V2, "125,15,120,140/full/0/default.jpg", 300, 200, noLim, want{125, 15, 120, 140, 120, 140, "125,15,120,140/full/0/default.jpg"}, nil},
		{V2, "pct:41.6,7.5,40,70/full/0/default.jpg", 300, 200, noLim, want{125, 15, 120, 140, 120, 140, "125,15,120,140/full/0/default.jpg"}, nil},
		{V2, "full/150,/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,/0/default.jpg"}, nil},
		{V2, "full/,150/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 225, 150, "full/225,/0/default.jpg"}, nil},
		{V2, "full/pct:50/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,/0/default.jpg"}, nil},
		{V2, "full/225,100/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 225, 100, "full/225,100/0/default.jpg"}, nil},
		{V2, "full/!225,100/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 150, 100, "full/150,/0/default.jpg"}, nil},
		{V2, "full/600,/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 600, 400, "full/600,/0/default.jpg"}, nil}, // sizeAboveFull
		{V2, "full/pct:200/0/color.png", 300, 200, noLim, want{0, 0, 300, 200, 600, 400, "full/600,/0/color.png"}, nil},
		{V2, "full/!600,600/0/default.jpg", 300, 200, noLim, want{0, 0, 300, 200, 600, 400, "full/600,/0/default.jpg"}, nil},
		{V2, "full/max/!90/gray.jpg", 300, 200, noLim, want{0, 0, 300, 200, 300, 200, "full/full/!90/gray.jpg"}, nil},
		{V2, "full/^150,/0/default.jpg", 300, 200, noLim, want{}, ErrBadRequest}, // no ^ in 2.1
		{V2, "full/201,/0/default.jpg", 300, 200, lim, want{}, ErrBadRequest},
		{V2, "full/full/0/native.jpg", 300, 200, noLim, want{}, ErrBadRequest},
		{V2, "full/full/0/default.pdf", 300, 200, noLim, want{}, ErrBadRequest},
		{V2, "full/full/400/default.jpg", 300, 200, noLim, want{}, ErrBadRequest},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.path, "/", "_"), func(t *testing.T) {
			req, err := Parse(c.v, c.path)
			var res Resolved
			if err == nil {
				res, err = req.Resolve(c.iw, c.ih, c.lim)
			}
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("v%d %s: err = %v, want %v", c.v, c.path, err, c.err)
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v is not *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("v%d %s: %v", c.v, c.path, err)
			}
			got := want{res.X, res.Y, res.W, res.H, res.Width, res.Height, res.Canonical()}
			if got != c.want {
				t.Fatalf("v%d %s (%dx%d):\n got %+v\nwant %+v", c.v, c.path, c.iw, c.ih, got, c.want)
			}
			// The canonical form parses and resolves to the same thing.
			req2, err := Parse(c.v, got.canon)
			if err != nil {
				t.Fatalf("canonical %q does not parse: %v", got.canon, err)
			}
			res2, err := req2.Resolve(c.iw, c.ih, c.lim)
			if err != nil {
				t.Fatalf("canonical %q does not resolve: %v", got.canon, err)
			}
			if res2.Canonical() != got.canon || res2.Width != res.Width || res2.Height != res.Height {
				t.Fatalf("canonical %q is not a fixed point: %+v", got.canon, res2)
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	r, err := Parse(V3, "pct:10,10.5,80,80/^!50,60/!22.5/gray.webp")
	if err != nil {
		t.Fatal(err)
	}
	want := Request{
		Version:  V3,
		Region:   Region{Kind: RegionPercent, X: 10, Y: 10.5, W: 80, H: 80},
		Size:     Size{Kind: SizeConfined, Upscale: true, W: 50, H: 60},
		Rotation: Rotation{Degrees: 22.5, Mirror: true},
		Quality:  QualityGray,
		Format:   FormatWebP,
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("got %+v\nwant %+v", r, want)
	}
}

func TestStatusCode(t *testing.T) {
	_, err := Parse(V3, "full/max/0/default.foo")
	if StatusCode(err) != 400 {
		t.Fatalf("status %d", StatusCode(err))
	}
	if StatusCode(&Error{Kind: ErrNotImplemented}) != 501 {
		t.Fatal("501")
	}
	if StatusCode(errors.New("x")) != 500 || StatusCode(nil) != 200 {
		t.Fatal("500/200")
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := (Limits{MaxHeight: 10}).Validate(); err == nil {
		t.Fatal("MaxHeight without MaxWidth accepted")
	}
	if _, err := Parse(V3, "full/max/0/default.jpg"); err != nil {
		t.Fatal(err)
	}
	r, _ := Parse(V3, "full/max/0/default.jpg")
	if _, err := r.Resolve(10, 10, Limits{MaxHeight: 10}); err == nil {
		t.Fatal("bad limits accepted by Resolve")
	}
}

func TestScaleFactors(t *testing.T) {
	cases := []struct {
		w, h, tile int
		want       []int
	}{
		{256, 256, 256, []int{1}},
		{257, 100, 256, []int{1, 2}},
		{10000, 10000, 256, []int{1, 2, 4, 8, 16, 32, 64}},
		{300, 200, 512, []int{1}},
	}
	for _, c := range cases {
		if got := ScaleFactors(c.w, c.h, c.tile); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ScaleFactors(%d,%d,%d) = %v, want %v", c.w, c.h, c.tile, got, c.want)
		}
	}
}

func TestInfo3(t *testing.T) {
	in, err := NewInfo3(Service{
		ID: "https://example.org/iiif/3/abc", Width: 6000, Height: 4000,
		Limits: Limits{MaxWidth: 3000, MaxHeight: 2000, MaxArea: 4000000}, TileWidth: 512,
		ScaleFactors: ScaleFactors(6000, 4000, 512),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	s := string(b)
	if !strings.HasPrefix(s, `{"@context":"http://iiif.io/api/image/3/context.json","id":"https://example.org/iiif/3/abc","type":"ImageService3","protocol":"http://iiif.io/api/image","profile":"level2","width":6000,"height":4000,"maxWidth":3000,"maxHeight":2000,"maxArea":4000000,`) {
		t.Fatalf("info3 head: %s", s)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	tiles := m["tiles"].([]any)[0].(map[string]any)
	if tiles["width"].(float64) != 512 || len(tiles["scaleFactors"].([]any)) != 5 || tiles["height"] != nil {
		t.Fatalf("tiles: %v", tiles)
	}
	// Sizes within limits only, smallest first: 6000/16=375x250 ... 6000/2=3000x2000 is 6M > maxArea.
	sizes := m["sizes"].([]any)
	first := sizes[0].(map[string]any)
	last := sizes[len(sizes)-1].(map[string]any)
	if first["width"].(float64) != 375 || last["width"].(float64) != 1500 {
		t.Fatalf("sizes: %v", sizes)
	}
	if !strings.Contains(s, `"sizeUpscaling"`) || !strings.Contains(s, `"extraQualities":["color","gray","bitonal"]`) {
		t.Fatalf("features: %s", s)
	}
	if _, err := NewInfo3(Service{Width: 1, Height: 1}); err == nil {
		t.Fatal("missing id accepted")
	}
}

func TestInfo2(t *testing.T) {
	in, err := NewInfo2(Service{ID: "https://example.org/iiif/2/abc", Width: 300, Height: 200, TileWidth: 256, ScaleFactors: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	s := string(b)
	for _, sub := range []string{
		`{"@context":"http://iiif.io/api/image/2/context.json","@id":"https://example.org/iiif/2/abc","protocol":"http://iiif.io/api/image","width":300,"height":200,`,
		`"profile":["http://iiif.io/api/image/2/level2.json",{"formats":["jpg","png","webp","tif","gif","jp2"],"qualities":["default","color","gray","bitonal"],"supports":[`,
		`"tiles":[{"width":256,"scaleFactors":[1,2]}]`,
		`"sizes":[{"width":150,"height":100},{"width":300,"height":200}]`,
	} {
		if !strings.Contains(s, sub) {
			t.Fatalf("info2 lacks %s:\n%s", sub, s)
		}
	}
}

func TestFastTile(t *testing.T) {
	// 1000x600 image, tile 256: levels 1000x600, 500x300, 250x150.
	p := Pyramid{TileWidth: 256, TileHeight: 256, Levels: []Level{{1000, 600}, {500, 300}, {250, 150}}}
	if !reflect.DeepEqual(p.ScaleFactors(), []int{1, 2, 4}) {
		t.Fatal(p.ScaleFactors())
	}
	cases := []struct {
		path string
		ok   bool
		ref  TileRef
	}{
		{"0,0,256,256/256,256/0/default.jpg", true, TileRef{0, 0, 0}},
		{"256,256,256,256/256,/0/default.jpg", true, TileRef{0, 1, 1}},
		{"512,256,256,256/256,256/0/color.jpg", true, TileRef{0, 2, 1}},
		{"0,0,512,512/256,256/0/default.jpg", true, TileRef{1, 0, 0}},
		{"0,0,512,512/max/0/default.jpg", false, TileRef{}},              // size 512
		{"768,0,256,256/^256,256/0/default.jpg", false, TileRef{}},       // region clipped to 232 wide
		{"0,512,256,256/^256,256/0/default.jpg", false, TileRef{}},       // clipped: 88 high
		{"512,0,512,512/^256,256/0/default.jpg", false, TileRef{}},       // level 1 edge tile, clipped
		{"0,0,256,256/256,256/90/default.jpg", false, TileRef{}},         // rotated
		{"0,0,256,256/256,256/!0/default.jpg", false, TileRef{}},         // mirrored
		{"0,0,256,256/256,256/0/gray.jpg", false, TileRef{}},             // gray
		{"0,0,256,256/256,256/0/default.png", false, TileRef{}},          // png
		{"128,0,256,256/256,256/0/default.jpg", false, TileRef{}},        // not aligned
		{"0,0,256,256/128,128/0/default.jpg", false, TileRef{}},          // downscaled, not a level
		{"0,0,1024,1024/256,256/0/default.jpg", false, TileRef{}},        // level 2 tile would be partial
		{"0,0,256,256/^256,256/360/default.jpg", true, TileRef{0, 0, 0}}, // 360 == 0
	}
	for _, c := range cases {
		req, err := Parse(V3, c.path)
		if err != nil {
			t.Fatal(err)
		}
		res, err := req.Resolve(1000, 600, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		ref, ok := res.FastTile(p)
		if ok != c.ok || ref != c.ref {
			t.Errorf("%s: got %v %v, want %v %v", c.path, ref, ok, c.ref, c.ok)
		}
	}
}
