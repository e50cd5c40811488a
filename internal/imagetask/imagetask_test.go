package imagetask_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	_ "image/jpeg"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/imagetask"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/tiff"
	"stor/internal/vips"
)

const token = "test-admin-token-0123456789"

// server is one real node shared by the tests of this package: starting
// one per test would cost more than the tests.
type server struct {
	dir  string
	base string
	n    *node.Node
}

var (
	srvOnce sync.Once
	srv     *server
	srvErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		srv.n.Shutdown(ctx)
		srv.n.Stop(ctx)
		cancel()
		srv.n.Close()
		os.RemoveAll(srv.dir)
	}
	vips.Shutdown()
	os.Exit(code)
}

// start opens a node on a temp dir and a free loopback port, with small
// retry and poll intervals and no load gate for heavy tasks.
func start(t *testing.T) *server {
	t.Helper()
	srvOnce.Do(func() {
		srv, srvErr = startNode()
	})
	if srvErr != nil {
		t.Fatal(srvErr)
	}
	return srv
}

func startNode() (*server, error) {
	dir, err := os.MkdirTemp("", "imagetask-node-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()

	cfg := config.Default()
	cfg.Addr, cfg.DataDir = addr, dir
	cfg.RetryBase, cfg.PollInterval = 50*time.Millisecond, 20*time.Millisecond
	cfg.Workers, cfg.HeavyWorkers = 3, 2
	// Not the default (80), so checkThumbs sees the setting reach the
	// encoder.
	cfg.ThumbnailQuality = thumbQuality
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx := context.Background()
	log := logging.New(io.Discard, "json", "error")
	if os.Getenv("STOR_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// This build's tasks, without the load gate for heavy tasks: the build
	// machine is shared and busy.
	cfg.MaxLoadPerCPU = 0
	n, err := node.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), token); err != nil {
		return nil, err
	}
	l, err := n.Listen()
	if err != nil {
		return nil, err
	}
	if err := n.Start(ctx); err != nil {
		return nil, err
	}
	go n.Serve(l)
	return &server{dir: dir, base: cfg.BaseURL(), n: n}, nil
}

func (s *server) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

type assetJSON struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	Format    string            `json:"format"`
	State     string            `json:"state"`
	Error     *string           `json:"error"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	PageCount int               `json:"page_count"`
	Links     map[string]string `json:"links"`
}

type derivJSON struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	Task        string `json:"task"`
}

// ingest uploads a file and returns the new asset's id.
func (s *server) ingest(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	resp, b := s.do(t, "POST", "/api/v1/assets", f, map[string]string{
		"Content-Disposition": `attachment; filename="` + filepath.Base(path) + `"`})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("ingest %s: %s %s", path, resp.Status, b)
	}
	var a assetJSON
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// wait polls the asset until it is ready or failed.
func (s *server) wait(t *testing.T, id string) assetJSON {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var a assetJSON
		resp, b := s.do(t, "GET", "/api/v1/assets/"+id, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("get asset: %s %s", resp.Status, b)
		}
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatal(err)
		}
		if a.State == "ready" || a.State == "failed" {
			return a
		}
		if time.Now().After(deadline) {
			_, tasks := s.do(t, "GET", "/api/v1/assets/"+id+"/tasks", nil, nil)
			t.Fatalf("asset %s still %s; tasks %s", id, a.State, tasks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready ingests a file, waits and requires the asset to be ready.
func (s *server) ready(t *testing.T, path string) assetJSON {
	t.Helper()
	a := s.wait(t, s.ingest(t, path))
	if a.State != "ready" {
		_, tasks := s.do(t, "GET", "/api/v1/assets/"+a.ID+"/tasks", nil, nil)
		t.Fatalf("%s: state %s, error %v; tasks %s", filepath.Base(path), a.State, deref(a.Error), tasks)
	}
	return a
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (s *server) derivatives(t *testing.T, id string) map[string]derivJSON {
	t.Helper()
	resp, b := s.do(t, "GET", "/api/v1/assets/"+id+"/derivatives", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("derivatives: %s %s", resp.Status, b)
	}
	var list []derivJSON
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	m := map[string]derivJSON{}
	for _, d := range list {
		m[d.Name] = d
	}
	return m
}

// fetch downloads a derivative into a file with the given extension.
func (s *server) fetch(t *testing.T, id, name, ext string) string {
	t.Helper()
	resp, b := s.do(t, "GET", "/api/v1/assets/"+id+"/derivatives/"+name, nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("derivative %s: %s %s", name, resp.Status, b)
	}
	p := filepath.Join(t.TempDir(), name+"."+ext)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// thumbQuality is the test node's STOR_THUMBNAIL_QUALITY.
const thumbQuality = 77

// fit is the size of a w×h image shrunk (never enlarged) to long edge n.
func fit(w, h, n int) (int, int) {
	if max(w, h) <= n {
		return w, h
	}
	if w >= h {
		return n, int(math.Round(float64(h) * float64(n) / float64(w)))
	}
	return int(math.Round(float64(w) * float64(n) / float64(h))), n
}

func near(a, b int) bool { return a-b <= 1 && b-a <= 1 }

// checkThumbs asserts the six thumbnails of a w×h (displayed) image:
// names, content types, recorded sizes and the real sizes of the files.
func (s *server) checkThumbs(t *testing.T, id string, w, h int) map[string]derivJSON {
	t.Helper()
	ds := s.derivatives(t, id)
	for _, n := range []int{150, 400, 1024} {
		ww, wh := fit(w, h, n)
		for _, jpeg := range []bool{false, true} {
			name, ct, ext := imagetask.ThumbName(n, jpeg), "image/webp", "webp"
			if jpeg {
				ct, ext = "image/jpeg", "jpg"
			}
			d, ok := ds[name]
			if !ok {
				t.Fatalf("no %s among %v", name, keys(ds))
			}
			if d.ContentType != ct || !near(d.Width, ww) || !near(d.Height, wh) || d.Task != "thumbnails" {
				t.Errorf("%s: %+v, want %s %dx%d", name, d, ct, ww, wh)
			}
			f := s.fetch(t, id, name, ext)
			in := probe(t, f)
			if in.Width != d.Width || in.Height != d.Height || in.Format != map[bool]string{true: "jpeg", false: "webp"}[jpeg] {
				t.Errorf("%s file: %+v, recorded %dx%d", name, in, d.Width, d.Height)
			}
			if jpeg {
				// ImageMagick estimates the quality from the quantisation
				// tables: exact for libjpeg's scaled standard tables.
				out, err := exec.Command("/usr/bin/identify", "-format", "%Q", f).CombinedOutput()
				if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(thumbQuality) {
					t.Errorf("%s: JPEG quality %q (%v), want %d (STOR_THUMBNAIL_QUALITY)", name, out, err, thumbQuality)
				}
			}
		}
	}
	return ds
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func probe(t *testing.T, path string) vips.Info {
	t.Helper()
	in, err := srv.n.Tools.Vips.Probe(path)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// getpoint reads one pixel with the vips command-line tool.
func getpoint(t *testing.T, path string, x, y int) []int {
	t.Helper()
	out, err := exec.Command("vips", "getpoint", path, strconv.Itoa(x), strconv.Itoa(y)).CombinedOutput()
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

func decodeJPEG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func rgb(c color.Color) [3]int {
	r, g, b, _ := c.RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

func close3(got []int, want [3]int, tol int) bool {
	if len(got) < 3 {
		return false
	}
	for i := range 3 {
		if d := got[i] - want[i]; d < -tol || d > tol {
			return false
		}
	}
	return true
}

// TestJPEGOrientation: a JPEG stored 300×200 with EXIF Orientation 6 is
// shown 200×300; the asset, the thumbnails and their pixels say so.
func TestJPEGOrientation(t *testing.T) {
	s := start(t)
	p := filepath.Join(t.TempDir(), "o6.jpg")
	// Stored: left half red, right half blue. Rotated 90° clockwise for
	// display: red on top, blue below.
	run(t, convert, "-size", "300x200", "xc:blue", "-fill", "red", "-draw", "rectangle 0,0 149,199", p)
	run(t, "exiftool", "-q", "-overwrite_original", "-n", "-Orientation=6", p)
	a := s.ready(t, p)
	if a.Width != 200 || a.Height != 300 || a.Kind != "image" || a.Format != "jpg" {
		t.Fatalf("asset %+v, want 200x300 jpg", a)
	}
	if a.Links["thumbnail"] != s.base+"/api/v1/assets/"+a.ID+"/derivatives/thumb-400" ||
		a.Links["iiif"] != s.base+"/iiif/3/"+a.ID+"/info.json" {
		t.Errorf("links %v", a.Links)
	}
	ds := s.checkThumbs(t, a.ID, 200, 300)
	if _, ok := ds[imagetask.Access]; ok {
		t.Error("a JPEG got an access copy")
	}
	if _, ok := ds[imagetask.Pyramid]; ok {
		t.Error("a small image got a pyramid")
	}
	im := decodeJPEG(t, s.fetch(t, a.ID, "thumb-150-jpg", "jpg"))
	if b := im.Bounds(); b.Dx() != 100 || b.Dy() != 150 {
		t.Fatalf("thumb-150-jpg is %v", b)
	}
	if c := rgb(im.At(50, 30)); !close3(c[:], [3]int{255, 0, 0}, 40) {
		t.Errorf("top of the thumbnail is %v, want red", c)
	}
	if c := rgb(im.At(50, 120)); !close3(c[:], [3]int{0, 0, 255}, 40) {
		t.Errorf("bottom of the thumbnail is %v, want blue", c)
	}
	if c := getpoint(t, s.fetch(t, a.ID, "thumb-400", "webp"), 100, 40); !close3(c, [3]int{255, 0, 0}, 40) {
		t.Errorf("top of the WebP thumbnail is %v, want red", c)
	}
	// Idempotent: running the image tasks again gives the same names and sizes.
	resp, b := s.do(t, "POST", "/api/v1/assets/"+a.ID+"/reprocess",
		strings.NewReader(`{"tasks":["image-probe","thumbnails","pyramid"]}`), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode/100 != 2 {
		t.Fatalf("reprocess: %s %s", resp.Status, b)
	}
	if a2 := s.wait(t, a.ID); a2.State != "ready" || a2.Width != 200 || a2.Height != 300 {
		t.Fatalf("after reprocessing: %+v", a2)
	}
	if ds2 := s.checkThumbs(t, a.ID, 200, 300); len(ds2) != len(ds) {
		t.Errorf("derivatives after reprocessing: %v, before %v", keys(ds2), keys(ds))
	}
}

// TestTIFFColour: CMYK and 16-bit TIFFs get an sRGB 8-bit access JPEG whose
// pixels match a reference made by the vips command-line tool from the
// same file, and the colour a person would expect.
func TestTIFFColour(t *testing.T) {
	s := start(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want [3]int // expected colour, loosely (CMYK goes through a profile)
		tol  int
	}{
		{"cmyk.tif", []string{"-size", "120x80", "xc:rgb(200,100,50)", "-colorspace", "CMYK"}, [3]int{200, 100, 50}, 45},
		{"rgb16.tif", []string{"-size", "120x80", "xc:rgb(50%,25%,100%)", "-depth", "16"}, [3]int{128, 64, 255}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			run(t, convert, append(c.args, p)...)
			a := s.ready(t, p)
			if a.Width != 120 || a.Height != 80 || a.Format != "tif" {
				t.Fatalf("asset %+v", a)
			}
			ds := s.checkThumbs(t, a.ID, 120, 80)
			acc, ok := ds[imagetask.Access]
			if !ok || acc.ContentType != "image/jpeg" || acc.Width != 120 || acc.Height != 80 || acc.Task != imagetask.TaskAccess {
				t.Fatalf("access derivative %+v (%v)", acc, ok)
			}
			accPath := s.fetch(t, a.ID, imagetask.Access, "jpg")
			in := probe(t, accPath)
			if in.Interpretation != "srgb" || in.BandFormat != "uchar" || in.Bands != 3 {
				t.Fatalf("access JPEG %+v", in)
			}
			ref := filepath.Join(dir, c.name+".ref.png")
			run(t, "vips", "colourspace", p, ref, "srgb")
			want := getpoint(t, ref, 60, 40)
			got := getpoint(t, accPath, 60, 40)
			if !close3(got, [3]int{want[0], want[1], want[2]}, 4) {
				t.Errorf("access JPEG pixel %v, reference %v", got, want)
			}
			if !close3(got, c.want, c.tol) {
				t.Errorf("access JPEG pixel %v, expected about %v", got, c.want)
			}
		})
	}
}

// TestAlpha: a PNG with transparency keeps it in the WebP thumbnails and is
// flattened on white in the JPEG ones.
func TestAlpha(t *testing.T) {
	s := start(t)
	p := filepath.Join(t.TempDir(), "alpha.png")
	run(t, convert, "-size", "200x100", "xc:none", "-fill", "red", "-draw", "rectangle 0,0 99,99", p)
	a := s.ready(t, p)
	s.checkThumbs(t, a.ID, 200, 100)
	webp := s.fetch(t, a.ID, "thumb-150", "webp")
	if in := probe(t, webp); !in.HasAlpha || in.Bands != 4 {
		t.Fatalf("WebP thumbnail lost its alpha: %+v", in)
	}
	if v := getpoint(t, webp, 120, 30); len(v) != 4 || v[3] != 0 {
		t.Errorf("transparent half of the WebP is %v", v)
	}
	if v := getpoint(t, webp, 30, 30); len(v) != 4 || v[3] != 255 || !close3(v, [3]int{255, 0, 0}, 10) {
		t.Errorf("opaque half of the WebP is %v", v)
	}
	jpg := s.fetch(t, a.ID, "thumb-150-jpg", "jpg")
	if in := probe(t, jpg); in.HasAlpha || in.Bands != 3 {
		t.Fatalf("JPEG thumbnail %+v", in)
	}
	if v := getpoint(t, jpg, 120, 30); !close3(v, [3]int{255, 255, 255}, 6) {
		t.Errorf("transparent half of the JPEG is %v, want white", v)
	}
}

// TestPixelLimit: an image declaring 100000×100000 pixels fails with the
// reason, before any decode, and the server keeps serving.
func TestPixelLimit(t *testing.T) {
	s := start(t)
	p := filepath.Join(t.TempDir(), "bomb.png")
	writeBombPNG(t, p, 100000, 100000)
	a := s.wait(t, s.ingest(t, p))
	want := "image is 100000×100000 = 10 gigapixels, over the limit of 1.07 gigapixels (STOR_MAX_IMAGE_PIXELS=1073741824)"
	if a.State != "failed" || !strings.Contains(deref(a.Error), want) {
		t.Fatalf("state %s, error %q; want failed with %q", a.State, deref(a.Error), want)
	}
	if !strings.Contains(deref(a.Error), imagetask.TaskProbe+": ") {
		t.Errorf("error %q does not name the probe task", deref(a.Error))
	}
	if ds := s.derivatives(t, a.ID); len(ds) != 0 {
		t.Errorf("derivatives of a bomb: %v", keys(ds))
	}
	if resp, b := s.do(t, "GET", "/healthz", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("healthz after the bomb: %s %s", resp.Status, b)
	}
	q := filepath.Join(t.TempDir(), "after.png")
	run(t, convert, "-size", "40x30", "xc:gray", q)
	s.ready(t, q)
}

// TestPyramid: a 6000×4000 image gets a tiled pyramidal TIFF with 256-pixel
// JPEG tiles that the tile reader opens.
func TestPyramid(t *testing.T) {
	s := start(t)
	p := filepath.Join(t.TempDir(), "big.jpg")
	run(t, "vips", "black", p+".v", "6000", "4000", "--bands", "3")
	run(t, "vips", "linear", p+".v", p+"[Q=80]", "1", "90", "--uchar")
	a := s.ready(t, p)
	if a.Width != 6000 || a.Height != 4000 {
		t.Fatalf("asset %+v", a)
	}
	_, b := s.do(t, "GET", "/api/v1/assets/"+a.ID+"/tasks", nil, nil)
	var tasks struct {
		Items []struct {
			Name       string `json:"name"`
			DurationMS int64  `json:"duration_ms"`
		} `json:"items"`
	}
	if err := json.Unmarshal(b, &tasks); err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks.Items {
		t.Logf("6000×4000 JPEG: %s took %d ms", tk.Name, tk.DurationMS)
	}
	ds := s.checkThumbs(t, a.ID, 6000, 4000)
	d, ok := ds[imagetask.Pyramid]
	if !ok || d.ContentType != "image/tiff" || d.Width != 6000 || d.Height != 4000 || d.Task != imagetask.TaskPyramid {
		t.Fatalf("pyramid derivative %+v (%v)", d, ok)
	}
	f, err := os.Open(s.fetch(t, a.ID, imagetask.Pyramid, "tif"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tf, err := tiff.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	lv := tf.Levels()
	if len(lv) < 5 || lv[0].Width != 6000 || lv[0].Height != 4000 {
		t.Fatalf("levels: %d, first %+v", len(lv), lv[0])
	}
	for i, l := range lv {
		if l.TileWidth != 256 || l.TileHeight != 256 || l.Compression != 7 {
			t.Fatalf("level %d: %+v", i, l)
		}
	}
	tile, err := tf.JPEGTile(0, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	im, _, err := image.Decode(bytes.NewReader(tile))
	if err != nil {
		t.Fatal(err)
	}
	if c := rgb(im.At(10, 10)); !close3(c[:], [3]int{90, 90, 90}, 6) {
		t.Errorf("tile pixel %v, want grey 90", c)
	}
}

// TestRAWPreview: a DNG with an embedded full-size JPEG preview and
// Orientation 6 in the RAW (not in the preview) renders from the preview,
// turned as the camera says.
func TestRAWPreview(t *testing.T) {
	s := start(t)
	dir := t.TempDir()
	pj := filepath.Join(dir, "preview.jpg")
	run(t, convert, "-size", "1600x1000", "xc:blue", "-fill", "red", "-draw", "rectangle 0,0 799,999", pj)
	preview, err := os.ReadFile(pj)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "camera.dng")
	makeDNG(t, p, preview, 1600, 1000, 6)
	out, err := exec.Command("exiftool", "-s3", "-PreviewImageLength", p).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(len(preview)) {
		t.Fatalf("exiftool does not see the preview: %v %s", err, out)
	}
	a := s.ready(t, p)
	if a.Kind != "raw" || a.Format != "dng" || a.Width != 1000 || a.Height != 1600 {
		t.Fatalf("asset %+v", a)
	}
	if a.Links["thumbnail"] == "" || a.Links["iiif"] == "" {
		t.Errorf("links %v", a.Links)
	}
	ds := s.checkThumbs(t, a.ID, 1000, 1600)
	if d := ds[imagetask.Access]; d.Width != 1000 || d.Height != 1600 {
		t.Fatalf("access %+v", d)
	}
	im := decodeJPEG(t, s.fetch(t, a.ID, "thumb-400-jpg", "jpg"))
	if c := rgb(im.At(125, 60)); !close3(c[:], [3]int{255, 0, 0}, 40) {
		t.Errorf("top of the RAW thumbnail is %v, want red", c)
	}
	if c := rgb(im.At(125, 340)); !close3(c[:], [3]int{0, 0, 255}, 40) {
		t.Errorf("bottom of the RAW thumbnail is %v, want blue", c)
	}
}

// TestRAWDecode: a DNG without any embedded preview is decoded by dcraw.
func TestRAWDecode(t *testing.T) {
	s := start(t)
	p := filepath.Join(t.TempDir(), "linear.dng")
	makeLinearDNG(t, p, 300, 200)
	out, err := exec.Command("exiftool", "-s3", "-FileType", "-PreviewImage", "-JpgFromRaw", "-ThumbnailImage", p).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "DNG" {
		t.Fatalf("exiftool: %v %q, want a DNG without previews", err, out)
	}
	a := s.ready(t, p)
	if a.Kind != "raw" || a.Format != "dng" || a.Width != 300 || a.Height != 200 {
		t.Fatalf("asset %+v", a)
	}
	s.checkThumbs(t, a.ID, 300, 200)
	im := decodeJPEG(t, s.fetch(t, a.ID, "thumb-150-jpg", "jpg"))
	if c := rgb(im.At(30, 50)); c[0] < c[2]+80 {
		t.Errorf("left of the decoded RAW is %v, want red", c)
	}
	if c := rgb(im.At(120, 50)); c[2] < c[0]+80 {
		t.Errorf("right of the decoded RAW is %v, want blue", c)
	}
}

// TestZVI: no decoder; the asset is ready (metadata only) and its history
// says why there are no derivatives.
func TestZVI(t *testing.T) {
	s := start(t)
	p := filepath.Join(t.TempDir(), "scan.zvi")
	if err := os.WriteFile(p, buildOLE("Image", "Tags", "Contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := s.ready(t, p)
	if a.Kind != "raw" || a.Format != "zvi" {
		t.Fatalf("asset %+v", a)
	}
	if _, ok := a.Links["thumbnail"]; ok {
		t.Errorf("a ZVI has a thumbnail link: %v", a.Links)
	}
	if ds := s.derivatives(t, a.ID); len(ds) != 0 {
		t.Errorf("derivatives: %v", keys(ds))
	}
	// The asset is ready once its required tasks are done; the optional
	// no-renderer task may still be running.
	var b []byte
	found := false
	for deadline := time.Now().Add(30 * time.Second); !found && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, b = s.do(t, "GET", "/api/v1/assets/"+a.ID+"/events", nil, nil)
		var evs struct {
			Items []struct {
				Type   string         `json:"type"`
				Detail map[string]any `json:"detail"`
			} `json:"items"`
		}
		if err := json.Unmarshal(b, &evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			if e.Type == "no_renderer" && e.Detail["reason"] == "no decoder for Zeiss ZVI; metadata only" {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no no_renderer event in %s", b)
	}
}

// TestFormats: every other image format family ends ready with thumbnails
// of the right size, an access copy when browsers cannot show it, and the
// page count of a multipage TIFF.
func TestFormats(t *testing.T) {
	s := start(t)
	dir := t.TempDir()
	f := func(n string) string { return filepath.Join(dir, n) }
	src := f("src.png")
	run(t, convert, "-size", "480x320", "xc:rgb(0,160,0)", src)
	run(t, convert, "-delay", "10", "-size", "480x320", "xc:rgb(0,160,0)", "xc:blue", f("anim.gif"))
	run(t, convert, src, f("green.bmp"))
	// -type TrueColor: ImageMagick cannot read back the indexed PSD it
	// would otherwise write for a one-colour image.
	run(t, convert, src, "-type", "TrueColor", f("green.psd"))
	run(t, convert, "-size", "480x320", "xc:rgb(0,160,0)", "xc:blue", f("multi.tif"))
	run(t, "vips", "copy", src, f("green.webp"))
	run(t, "vips", "copy", src, f("green.jp2"))
	run(t, "vips", "copy", src, f("green.avif"))
	run(t, "vips", "heifsave", src, f("green.heic"), "--compression", "hevc")
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320"><rect width="480" height="320" fill="rgb(0,160,0)"/></svg>`
	if err := os.WriteFile(f("green.svg"), []byte(svg), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file, format string
		access       bool
		pages        int
	}{
		{"anim.gif", "gif", false, 0}, {"green.bmp", "bmp", false, 0}, {"green.psd", "psd", true, 0},
		{"multi.tif", "tif", true, 2}, {"green.webp", "webp", false, 0}, {"green.jp2", "jp2", true, 0},
		{"green.avif", "avif", false, 0}, {"green.heic", "heic", true, 0}, {"green.svg", "svg", false, 0},
	}
	// Upload them all first so the workers process them side by side.
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = s.ingest(t, f(c.file))
	}
	for i, c := range cases {
		t.Run(c.format, func(t *testing.T) {
			a := s.wait(t, ids[i])
			if a.State != "ready" {
				_, tasks := s.do(t, "GET", "/api/v1/assets/"+a.ID+"/tasks", nil, nil)
				t.Fatalf("state %s, error %s; tasks %s", a.State, deref(a.Error), tasks)
			}
			if a.Format != c.format || a.Kind != "image" || a.Width != 480 || a.Height != 320 || a.PageCount != c.pages {
				t.Fatalf("asset %+v", a)
			}
			ds := s.checkThumbs(t, a.ID, 480, 320)
			if _, ok := ds[imagetask.Access]; ok != c.access {
				t.Errorf("access copy: %v, want %v", ok, c.access)
			}
			// First page or frame, in colour.
			im := decodeJPEG(t, s.fetch(t, a.ID, "thumb-150-jpg", "jpg"))
			if px := rgb(im.At(75, 50)); !close3(px[:], [3]int{0, 160, 0}, 30) {
				t.Errorf("thumbnail pixel %v, want green", px)
			}
		})
	}
}
