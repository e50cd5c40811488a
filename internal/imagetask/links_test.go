package imagetask

import (
	"testing"

	"stor/internal/catalog"
)

func TestLinks(t *testing.T) {
	img := &catalog.Asset{ID: "a1", Kind: "image", Format: "png", State: catalog.StateReady}
	links := Links(Config{}, "https://stor.example")(img)
	if links["thumbnail"] != "https://stor.example/api/v1/assets/a1/derivatives/thumb-400" ||
		links["iiif"] != "https://stor.example/iiif/3/a1/info.json" {
		t.Fatalf("links %v", links)
	}
	// Without a 400 size, the nearest one.
	if l := Links(Config{ThumbSizes: []int{1024, 300, 150}}, "")(img); l["thumbnail"] != "/api/v1/assets/a1/derivatives/thumb-300" {
		t.Fatalf("links %v", l)
	}
	for _, a := range []*catalog.Asset{
		{ID: "v", Kind: "video", Format: "mp4"},
		{ID: "z", Kind: "raw", Format: "zvi"},
		{ID: "d", Kind: "image", Format: "png", State: catalog.StateDeleted},
	} {
		if l := Links(Config{}, "")(a); l != nil {
			t.Errorf("%s/%s: links %v", a.Kind, a.Format, l)
		}
	}
	if l := Links(Config{}, "")(&catalog.Asset{ID: "r", Kind: "raw", Format: "nef"}); l["iiif"] == "" {
		t.Errorf("raw: links %v", l)
	}
}

func TestLimitError(t *testing.T) {
	for _, c := range []struct {
		w, h  int
		limit int64
		want  string
	}{
		{100000, 100000, 1 << 30, "image is 100000×100000 = 10 gigapixels, over the limit of 1.07 gigapixels (STOR_MAX_IMAGE_PIXELS=1073741824)"},
		{5000, 4000, 10e6, "image is 5000×4000 = 20 megapixels, over the limit of 10 megapixels (STOR_MAX_IMAGE_PIXELS=10000000)"},
		{30, 30, 500, "image is 30×30 = 900 pixels, over the limit of 500 pixels (STOR_MAX_IMAGE_PIXELS=500)"},
	} {
		if got := (&LimitError{Width: c.w, Height: c.h, Limit: c.limit}).Error(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}

func TestFit(t *testing.T) {
	for _, c := range [][5]int{
		{6000, 4000, 400, 400, 267}, {200, 300, 150, 100, 150}, {200, 300, 400, 200, 300}, {10000, 1, 150, 150, 1},
	} {
		if w, h := fit(c[0], c[1], c[2]); w != c[3] || h != c[4] {
			t.Errorf("fit(%d,%d,%d) = %d,%d want %d,%d", c[0], c[1], c[2], w, h, c[3], c[4])
		}
	}
}
