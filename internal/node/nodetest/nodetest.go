// Package nodetest starts a real stor node in the test process: a temp
// data dir, SQLite (or a fresh PostgreSQL database: EachBackend, Backend),
// the disk store and the HTTP API on a loopback port, with a known admin
// token. Tests talk to it over HTTP like any client.
//
//	n := nodetest.Start(t)
//	resp := n.Upload(t, n.Token, "a.jpg", nodetest.JPEG(t, 64, 48, 1), nil)
package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pgtest"
	"stor/internal/pipeline"
)

// AdminToken is the bootstrap admin secret of every test node.
const AdminToken = "stor_test_admin_token_0123456789"

// Node is a running test node.
type Node struct {
	*node.Node
	URL     string // http://127.0.0.1:PORT, no trailing slash
	DataDir string
	Token   string // admin
	Client  *http.Client

	logs *syncBuffer
}

// Backends are the databases a test node can run on.
var Backends = []string{"sqlite", "postgres"}

// EnvBackend, set to "postgres", puts every test node on PostgreSQL (a
// fresh database per node, see pgtest), not only those of EachBackend.
const EnvBackend = "STOR_TEST_BACKEND"

// EachBackend runs fn as one subtest per backend ("sqlite", "postgres");
// nodes that fn starts run on that subtest's database.
func EachBackend(t *testing.T, fn func(t *testing.T)) {
	for _, b := range Backends {
		t.Run(b, fn)
	}
}

// Backend is the database a node started by t runs on: "postgres" inside
// EachBackend's postgres subtest or when STOR_TEST_BACKEND=postgres, else
// "sqlite".
func Backend(t testing.TB) string {
	for _, b := range Backends {
		if strings.HasSuffix(t.Name(), "/"+b) || strings.Contains(t.Name(), "/"+b+"/") {
			return b
		}
	}
	if os.Getenv(EnvBackend) == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Start runs a node until the test ends. configure, when given, changes
// the configuration before the node opens (e.g. a small MaxUploadSize).
func Start(t testing.TB, configure ...func(*config.Config)) *Node {
	t.Helper()
	return StartPipeline(t, pipeline.Config{}, configure...)
}

// StartPipeline is Start with pipeline settings beyond the config's, e.g.
// a Load probe that never holds heavy tasks back on a busy test machine.
func StartPipeline(t testing.TB, pcfg pipeline.Config, configure ...func(*config.Config)) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("nodetest: listen: %v", err)
	}
	cfg := config.Default()
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.BootstrapToken = AdminToken
	cfg.Workers = 1
	cfg.LogLevel = "debug"
	cfg.MaxLoadPerCPU = 0 // the test machine is shared and often busy
	if Backend(t) == "postgres" {
		cfg.DatabaseURL = pgtest.URL(t)
	}
	for _, fn := range configure {
		fn(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	logs := &syncBuffer{}
	ctx := context.Background()
	n, err := node.OpenPipeline(ctx, cfg, logging.New(logs, "json", cfg.LogLevel), pcfg)
	if err != nil {
		ln.Close()
		t.Fatalf("nodetest: open node: %v", err)
	}
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), cfg.BootstrapToken); err != nil {
		t.Fatalf("nodetest: bootstrap: %v", err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatalf("nodetest: start: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Serve(ln) }()
	tn := &Node{Node: n, URL: "http://" + cfg.Addr, DataDir: cfg.DataDir, Token: AdminToken,
		Client: &http.Client{Timeout: 2 * time.Minute}, logs: logs}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(sctx); err != nil {
			t.Errorf("nodetest: shutdown: %v", err)
		}
		n.Stop(sctx)
		if err := <-done; err != nil {
			t.Errorf("nodetest: serve: %v", err)
		}
		n.Close()
		if t.Failed() {
			t.Logf("node logs (last 8 KiB):\n%s", tail(logs.String(), 8<<10))
		}
	})
	return tn
}

// Logs returns everything the node logged so far (JSON lines).
func (n *Node) Logs() string { return n.logs.String() }

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d is not JSON (%v): %.300s", r.Status, err, r.Body)
	}
}

// Asset decodes the body as an asset object.
func (r *Response) Asset(t testing.TB) Asset {
	t.Helper()
	var a Asset
	r.JSON(t, &a)
	return a
}

// ErrorCode returns error.code of a JSON error body, failing the test if
// the body is not {"error":{"code","message"}}.
func (r *Response) ErrorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error *struct {
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	r.JSON(t, &e)
	if e.Error == nil || e.Error.Code == nil || e.Error.Message == nil || *e.Error.Code == "" || *e.Error.Message == "" {
		t.Fatalf("response %d is not an error body {\"error\":{\"code\",\"message\"}}: %.300s", r.Status, r.Body)
	}
	return *e.Error.Code
}

// Asset is the asset object of API.md as a client sees it.
type Asset struct {
	ID          string            `json:"id"`
	Filename    string            `json:"filename"`
	Size        int64             `json:"size"`
	MD5         string            `json:"md5"`
	SHA256      string            `json:"sha256"`
	ContentType string            `json:"content_type"`
	Kind        string            `json:"kind"`
	Format      string            `json:"format"`
	PRONOM      *string           `json:"pronom"`
	State       string            `json:"state"`
	Error       *string           `json:"error"`
	Project     string            `json:"project"`
	Width       *int              `json:"width"`
	Height      *int              `json:"height"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	Links       map[string]string `json:"links"`
}

// Do sends one request. token "" sends no Authorization header; header
// may be nil.
func (n *Node) Do(t testing.TB, method, path, token string, body io.Reader, header http.Header) *Response {
	t.Helper()
	req, err := http.NewRequest(method, n.URL+path, body)
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := n.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Get is Do with GET and no body.
func (n *Node) Get(t testing.TB, path, token string, header http.Header) *Response {
	t.Helper()
	return n.Do(t, "GET", path, token, nil, header)
}

// Upload POSTs data as a raw body named filename. header adds to (or
// overrides) Content-Type and Content-Disposition.
func (n *Node) Upload(t testing.TB, token, filename string, data []byte, header http.Header) *Response {
	t.Helper()
	h := http.Header{
		"Content-Type":        {"application/octet-stream"},
		"Content-Disposition": {mime.FormatMediaType("attachment", map[string]string{"filename": filename})},
	}
	for k, v := range header {
		h[k] = v
	}
	return n.Do(t, "POST", "/api/v1/assets", token, bytes.NewReader(data), h)
}

// MustUpload uploads and fails the test unless the answer is 201.
func (n *Node) MustUpload(t testing.TB, token, filename string, data []byte) Asset {
	t.Helper()
	r := n.Upload(t, token, filename, data, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("upload %q: %d %s", filename, r.Status, r.Body)
	}
	return r.Asset(t)
}

// NewToken creates a token through the API with the admin token.
func (n *Node) NewToken(t testing.TB, scopes []string, project string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "test", "scopes": scopes, "project": project})
	r := n.Do(t, "POST", "/api/v1/tokens", n.Token, bytes.NewReader(body), http.Header{"Content-Type": {"application/json"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", r.Status, r.Body)
	}
	var tok struct{ Token string }
	r.JSON(t, &tok)
	if tok.Token == "" {
		t.Fatalf("create token: no secret in %s", r.Body)
	}
	return tok.Token
}

// Originals lists the files stored under DATA/blobs/originals (any temp
// files included), relative to it.
func (n *Node) Originals(t testing.TB) []string {
	t.Helper()
	return Files(t, filepath.Join(n.DataDir, "blobs", "originals"))
}

// Files lists the regular files below dir, relative to it; a missing dir
// has none.
func Files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("nodetest: walk %s: %v", dir, err)
	}
	return out
}

// JPEG encodes a w×h baseline JPEG whose pixels depend on seed, so
// different seeds give different bytes.
func JPEG(t testing.TB, w, h int, seed int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, pattern(w, h, seed), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// PNG encodes a w×h PNG whose pixels depend on seed.
func PNG(t testing.TB, w, h int, seed int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, pattern(w, h, seed)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pattern(w, h, seed int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x*7 + seed), uint8(y*13 + seed*3), uint8((x ^ y) + seed*11), 255})
		}
	}
	return img
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
