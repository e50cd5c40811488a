package iiifserver_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/iiif"
	"stor/internal/iiifserver"
	"stor/internal/storage"
)

// TestFastTile checks that requests for whole stored tiles are answered
// from the pyramid without a render, at every level, for 3.0 and 2.1, and
// that the stored tile matches what the render path makes of the same
// region.
func TestFastTile(t *testing.T) {
	f := newFixture(t)
	// The pyramid is 1500x1100 with 256 tiles: levels 1500, 750, 375, 188.
	aligned := []struct{ region, size string }{
		{"0,0,256,256", "256,"},
		{"256,512,256,256", "256,"},
		{"1024,768,256,256", "256,256"},
		{"512,0,512,512", "256,"},    // level 1
		{"0,0,1024,1024", "256,"},    // level 2
		{"1024,0,1024,1024", "256,"}, // level 2, but a partial edge tile (375 wide): rendered
		{"1280,1024,220,76", "220,"}, // partial edge tile at level 0: rendered
	}
	for i, a := range aligned {
		for _, v := range []string{"3", "2"} {
			p := fmt.Sprintf("/iiif/%s/%s/%s/%s/0/default.jpg", v, f.pyramid, a.region, a.size)
			r := f.get(p)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", p, r.status, r.body)
			}
			stored := r.h.Get("X-Stor-Tile") == "stored"
			if wantStored := i < 5; stored != wantStored {
				t.Errorf("%s: stored=%v, want %v", p, stored, wantStored)
			}
			w, h, tile := f.decode(r.body)
			// The same region rendered losslessly.
			pr := f.get(fmt.Sprintf("/iiif/%s/%s/%s/%s/0/default.png", v, f.pyramid, a.region, a.size))
			pw, ph, render := f.decode(pr.body)
			if pr.h.Get("X-Stor-Tile") != "" || w != pw || h != ph {
				t.Fatalf("%s: tile %dx%d, render %dx%d (%q)", p, w, h, pw, ph, pr.h.Get("X-Stor-Tile"))
			}
			if d := meanDiff(tile, render); d > 2.5 {
				t.Errorf("%s: stored tile differs from the render by %.2f on average", p, d)
			}
		}
	}
	// Not aligned, rotated, other formats or qualities: rendered.
	for _, p := range []string{
		"100,0,256,256/256,/0/default.jpg",
		"0,0,256,256/128,/0/default.jpg",
		"0,0,256,256/256,/90/default.jpg",
		"0,0,256,256/256,/!0/default.jpg",
		"0,0,256,256/256,/0/gray.jpg",
		"0,0,256,256/256,/0/default.webp",
	} {
		if r := f.get("/iiif/3/" + f.pyramid + "/" + p); r.status != 200 || r.h.Get("X-Stor-Tile") != "" {
			t.Errorf("%s: %d stored=%q", p, r.status, r.h.Get("X-Stor-Tile"))
		}
	}
	// A color request is the same stored tile (pyramids are sRGB).
	if r := f.get("/iiif/3/" + f.pyramid + "/0,0,256,256/256,/0/color.jpg"); r.h.Get("X-Stor-Tile") != "stored" {
		t.Errorf("color tile not stored")
	}
	// The whole image at a small size comes from a small level, correctly.
	r := f.get("/iiif/3/" + f.pyramid + "/full/150,/0/default.png")
	w, h, im := f.decode(r.body)
	if w != 150 || h != 110 || !near(rgbaAt(im, 5, 5), cTL, 30) || !near(rgbaAt(im, 145, 105), cBR, 30) {
		t.Errorf("small full image %dx%d", w, h)
	}
}

// TestCacheAndETag checks the ETag, 304, the response cache, and that a
// new source version changes both.
func TestCacheAndETag(t *testing.T) {
	f := newFixture(t)
	p := "/iiif/3/" + f.access + "/pct:10,10,50,50/200,/90/default.webp"
	r1 := f.get(p)
	if r1.status != 200 || r1.h.Get("X-Stor-Cache") != "miss" {
		t.Fatalf("first: %d %q", r1.status, r1.h.Get("X-Stor-Cache"))
	}
	etag := r1.h.Get("ETag")
	if etag == "" || !strings.HasPrefix(r1.h.Get("Cache-Control"), "private, max-age=") {
		t.Errorf("ETag %q Cache-Control %q", etag, r1.h.Get("Cache-Control"))
	}
	wantLink := `<` + f.base + "/iiif/3/" + f.access + `/60,40,300,200/200,133/90/default.webp>;rel="canonical", <http://iiif.io/api/image/3/level2.json>;rel="profile"`
	if got := r1.h.Get("Link"); got != wantLink {
		t.Errorf("Link\n got %s\nwant %s", got, wantLink)
	}
	r2 := f.get(p)
	if r2.status != 200 || r2.h.Get("X-Stor-Cache") != "hit" || string(r2.body) != string(r1.body) || r2.h.Get("ETag") != etag {
		t.Errorf("repeat: %d %q same=%v", r2.status, r2.h.Get("X-Stor-Cache"), string(r2.body) == string(r1.body))
	}
	// The canonical form of the same request is the same cached response.
	if r := f.get("/iiif/3/" + f.access + "/60,40,300,200/200,133/90/default.webp"); r.h.Get("X-Stor-Cache") != "hit" || r.h.Get("ETag") != etag {
		t.Errorf("canonical request: %q %q", r.h.Get("X-Stor-Cache"), r.h.Get("ETag"))
	}
	if r := f.get(p, "If-None-Match: "+etag); r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-None-Match: %d", r.status)
	}
	if r := f.get(p, `If-None-Match: "other", W/`+etag); r.status != http.StatusNotModified {
		t.Errorf("weak If-None-Match list: %d", r.status)
	}
	if r := f.get(p, `If-None-Match: "other"`); r.status != 200 {
		t.Errorf("non-matching If-None-Match: %d", r.status)
	}
	// Stored tiles have ETags too.
	tp := "/iiif/3/" + f.pyramid + "/0,0,256,256/256,/0/default.jpg"
	tr := f.get(tp)
	if r := f.get(tp, "If-None-Match: "+tr.h.Get("ETag")); tr.h.Get("ETag") == "" || r.status != 304 {
		t.Errorf("tile 304: %d", r.status)
	}
	// info.json too.
	ir := f.get("/iiif/3/" + f.access + "/info.json")
	if r := f.get("/iiif/3/"+f.access+"/info.json", "If-None-Match: "+ir.h.Get("ETag")); r.status != 304 {
		t.Errorf("info 304: %d", r.status)
	}

	// Reprocessing replaces the access derivative: new version, new ETag,
	// a fresh render.
	tmp := filepath.Join(f.dir, "work")
	src := filepath.Join(tmp, "mid2.png")
	os.WriteFile(src, pngBytes(t, pattern(600, 400)), 0o644)
	acc := filepath.Join(tmp, "mid2.jpg")
	if err := f.eng.AccessJPEG(src, acc, 70); err != nil {
		t.Fatal(err)
	}
	f.derive(f.access, "access", "image/jpeg", acc, 600, 400)
	time.Sleep(1100 * time.Millisecond) // the server reuses an asset's source for a second
	r3 := f.get(p)
	if r3.h.Get("ETag") == etag || r3.h.Get("X-Stor-Cache") != "miss" {
		t.Errorf("after reprocessing: ETag %q (was %q), cache %q", r3.h.Get("ETag"), etag, r3.h.Get("X-Stor-Cache"))
	}
	if r := f.get(p, "If-None-Match: "+etag); r.status != 200 {
		t.Errorf("old ETag after reprocessing: %d", r.status)
	}

	// The counters say how each answer was made.
	m := f.get("/metrics").body
	for _, want := range []string{`stor_iiif_images_total{how="tile"}`, `stor_iiif_images_total{how="cache"}`,
		`stor_iiif_images_total{how="render"}`, `stor_iiif_images_total{how="not_modified"}`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// remoteStore hides the disk store's LocalPath, as an S3 store would.
type remoteStore struct{ storage.Store }

// TestRemoteStoreAndLimits serves from a store without local files (the
// pyramid is copied into the bounded source cache) and with server limits.
func TestRemoteStoreAndLimits(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	s, err := iiifserver.New(iiifserver.Config{
		DB: f.n.DB, Store: remoteStore{f.n.Store}, Engine: f.eng, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		BaseURL: "https://images.example.org/", CacheDir: filepath.Join(dir, "cache"), CacheSize: 1 << 20,
		SourceDir: filepath.Join(dir, "src"), SourceCacheSize: 64 << 20,
		Limits: iiif.Limits{MaxWidth: 1000}, Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.HandleFunc(rt.Method+" "+rt.Pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := rt.Handle(w, r, &auth.Principal{Scopes: []string{auth.ScopeRead}}); err != nil {
				var ae *api.Error
				switch {
				case errors.As(err, &ae):
					http.Error(w, err.Error(), ae.Status)
				default:
					http.Error(w, err.Error(), iiif.StatusCode(err))
				}
			}
		})
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(p string) (*http.Response, []byte) {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	res, body := get("/iiif/3/" + f.pyramid + "/info.json")
	if res.StatusCode != 200 || !strings.Contains(string(body), `"id": "https://images.example.org/iiif/3/`+f.pyramid+`"`) ||
		!strings.Contains(string(body), `"maxWidth": 1000`) {
		t.Fatalf("info: %d %s", res.StatusCode, body)
	}
	if n := countFiles(filepath.Join(dir, "src")); n != 1 {
		t.Errorf("%d source copies, want 1", n)
	}
	res, body = get("/iiif/3/" + f.pyramid + "/256,256,256,256/256,/0/default.jpg")
	if res.StatusCode != 200 || res.Header.Get("X-Stor-Tile") != "stored" {
		t.Errorf("tile from a copy: %d %q", res.StatusCode, res.Header.Get("X-Stor-Tile"))
	}
	// max and ^max obey maxWidth (maxHeight defaults to it).
	for _, c := range []struct {
		p    string
		w, h int
	}{
		{"/iiif/3/" + f.pyramid + "/full/max/0/default.jpg", 1000, 733},
		{"/iiif/3/" + f.pyramid + "/full/^max/0/default.jpg", 1000, 733},
		{"/iiif/3/" + f.original + "/full/^max/0/default.jpg", 1000, 666}, // floored to stay within the limits,
		{"/iiif/3/" + f.original + "/full/max/0/default.jpg", 300, 200},
		{"/iiif/2/" + f.pyramid + "/full/full/0/default.jpg", 1000, 733},
	} {
		res, body = get(c.p)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", c.p, res.StatusCode, body)
		}
		if w, h, _ := f.decode(body); w != c.w || h != c.h {
			t.Errorf("%s: %dx%d, want %dx%d", c.p, w, h, c.w, c.h)
		}
	}
	if res, _ = get("/iiif/3/" + f.pyramid + "/full/1001,/0/default.jpg"); res.StatusCode != 400 {
		t.Errorf("over maxWidth: %d", res.StatusCode)
	}
	if mfs, err := reg.Gather(); err != nil || len(mfs) != 2 {
		t.Errorf("metrics: %d families, %v", len(mfs), err)
	}
}

func countFiles(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
