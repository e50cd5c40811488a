package iiifserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	_ "image/gif"
	_ "image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node"
	"stor/internal/pipeline"
	"stor/internal/vips"
)

const secret = "iiif-test-secret-0123456789"

// env is one in-process stor node on a temp dir, served over loopback.
type env struct {
	t    *testing.T
	n    *node.Node
	srv  *httptest.Server
	base string
	eng  *vips.Engine
	dir  string
}

func newEnv(t *testing.T, mutate func(*config.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = ln.Addr().String()
	cfg.Workers = 0 // no pipeline: the tests make the derivatives themselves
	if mutate != nil {
		mutate(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := node.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Bootstrap(context.Background(), n.DB.Writer(), secret); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(n.API.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); n.Close() })
	eng, err := vips.Startup(vips.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, n: n, srv: srv, base: "http://" + ln.Addr().String(), eng: eng, dir: dir}
}

type resp struct {
	status int
	h      http.Header
	body   []byte
}

// get fetches path with the admin token and extra headers ("Name: value").
func (e *env) get(path string, hdrs ...string) resp {
	return e.do("GET", path, true, hdrs...)
}

func (e *env) do(method, path string, withAuth bool, hdrs ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if withAuth {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for _, h := range hdrs {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// ingest uploads a file through the API and returns the asset id.
func (e *env) ingest(name string, data []byte) string {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.base+"/api/v1/assets", bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var a struct{ ID string }
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated || json.Unmarshal(b, &a) != nil || a.ID == "" {
		e.t.Fatalf("ingest %s: %d %s", name, res.StatusCode, b)
	}
	return a.ID
}

// derive stores the file at path as derivative name of the asset, as the
// image pipeline's tasks do.
func (e *env) derive(id, name, contentType, path string, w, h int) {
	e.t.Helper()
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	key := pipeline.DerivativeKey(id, name)
	n, err := e.n.Store.Put(ctx, key, f)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := catalog.PutDerivative(ctx, e.n.DB.Writer(), &catalog.Derivative{AssetID: id, Name: name,
		BlobKey: key, ContentType: contentType, Width: w, Height: h, Size: n, Task: "test"}); err != nil {
		e.t.Fatal(err)
	}
}

// Quadrant colours of the test pattern.
var (
	cTL = color.RGBA{220, 30, 30, 255}  // top left: red
	cTR = color.RGBA{30, 200, 30, 255}  // top right: green
	cBL = color.RGBA{30, 30, 220, 255}  // bottom left: blue
	cBR = color.RGBA{230, 220, 40, 255} // bottom right: yellow
)

// pattern is a w×h image of four coloured quadrants with a soft texture,
// so that geometry is checkable and JPEG has detail to encode.
func pattern(w, h int) *image.RGBA {
	im := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := cTL
			switch {
			case x >= w/2 && y < h/2:
				c = cTR
			case x < w/2 && y >= h/2:
				c = cBL
			case x >= w/2 && y >= h/2:
				c = cBR
			}
			d := int(12 * math.Sin(float64(x)/7) * math.Cos(float64(y)/11))
			im.SetRGBA(x, y, color.RGBA{clamp(int(c.R) + d), clamp(int(c.G) + d), clamp(int(c.B) - d), 255})
		}
	}
	return im
}

func clamp(v int) uint8 { return uint8(max(0, min(255, v))) }

func pngBytes(t *testing.T, im image.Image) []byte {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, im); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fixture is the set of assets most tests use.
type fixture struct {
	*env
	pyramid  string // 1500x1100, served from a "pyramid" derivative
	access   string // 600x400, served from an "access" derivative
	original string // 300x200 PNG, served from the original
	text     string // not an image
}

func newFixture(t *testing.T) *fixture {
	e := newEnv(t, nil)
	f := &fixture{env: e}
	tmp := filepath.Join(e.dir, "work")
	os.MkdirAll(tmp, 0o755)

	big := pngBytes(t, pattern(1500, 1100))
	f.pyramid = e.ingest("big.png", big)
	src := filepath.Join(tmp, "big.png")
	os.WriteFile(src, big, 0o644)
	pyr := filepath.Join(tmp, "big-pyramid.tif")
	if err := e.eng.Pyramid(src, pyr, vips.PyramidOpts{TileSize: 256}); err != nil {
		t.Fatal(err)
	}
	e.derive(f.pyramid, "pyramid", "image/tiff", pyr, 1500, 1100)

	mid := pngBytes(t, pattern(600, 400))
	f.access = e.ingest("mid.png", mid)
	src = filepath.Join(tmp, "mid.png")
	os.WriteFile(src, mid, 0o644)
	acc := filepath.Join(tmp, "mid-access.jpg")
	if err := e.eng.AccessJPEG(src, acc, 92); err != nil {
		t.Fatal(err)
	}
	e.derive(f.access, "access", "image/jpeg", acc, 600, 400)

	f.original = e.ingest("small.png", pngBytes(t, pattern(300, 200)))
	f.text = e.ingest("notes.txt", []byte("just some text, not an image\n"))
	return f
}

// decode returns the image's size (any format, via libvips for the ones
// Go cannot read) and, for PNG/JPEG/GIF, the pixels.
func (e *env) decode(body []byte) (w, h int, im image.Image) {
	e.t.Helper()
	if im, _, err := image.Decode(bytes.NewReader(body)); err == nil {
		return im.Bounds().Dx(), im.Bounds().Dy(), im
	}
	p := filepath.Join(e.t.TempDir(), "out")
	os.WriteFile(p, body, 0o644)
	in, err := e.eng.Probe(p)
	if err != nil {
		e.t.Fatalf("decode %d bytes: %v", len(body), err)
	}
	return in.Width, in.Height, nil
}

func rgbaAt(im image.Image, x, y int) [3]int {
	r, g, b, _ := im.At(im.Bounds().Min.X+x, im.Bounds().Min.Y+y).RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

// near reports whether pixel p is within tol of colour c on every channel.
func near(p [3]int, c color.RGBA, tol int) bool {
	d := func(a int, b uint8) int { return max(a-int(b), int(b)-a) }
	return d(p[0], c.R) <= tol && d(p[1], c.G) <= tol && d(p[2], c.B) <= tol
}

func meanDiff(a, b image.Image) float64 {
	var sum, n float64
	r := a.Bounds()
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			p, q := rgbaAt(a, x, y), rgbaAt(b, x, y)
			for i := range 3 {
				sum += math.Abs(float64(p[i] - q[i]))
				n++
			}
		}
	}
	return sum / n
}
