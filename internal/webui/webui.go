// Package webui serves stor's web UI: a single-page app bundled from npm
// packages by scripts/build-web.sh into dist/ and embedded in the binary.
//
// The UI routes are public: the shell holds no data, and every data call
// the page makes goes through the authenticated API. index.html is served
// with no-cache and the hashed files under /static/ with a year-long
// immutable cache. Every response carries the UI's Content-Security-Policy
// (no inline scripts). When dist/ holds only its placeholder (the bundle
// was never built) "/" answers with a page that says how to build it.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// CSP is the Content-Security-Policy of every UI response.
const CSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
	"style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Patterns are the GET routes the UI answers (net/http ServeMux syntax).
// The app routes itself by the URL fragment, so nothing else is needed.
func Patterns() []string { return []string{"/{$}", "/index.html", "/static/{file}"} }

// Handler serves the embedded UI. connect are further origins the UI may
// fetch from (CSP connect-src), e.g. the S3 endpoint that browsers PUT
// direct uploads to.
func Handler(connect ...string) http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // cannot happen: "dist" is a valid path
		panic(err)
	}
	h := NewHandler(sub).(*handler)
	if len(connect) > 0 {
		h.csp = strings.Replace(CSP, "connect-src 'self'", "connect-src 'self' "+strings.Join(connect, " "), 1)
	}
	return h
}

// NewHandler serves the UI from fsys, which holds index.html and static/.
func NewHandler(fsys fs.FS) http.Handler {
	h := &handler{fsys: fsys, csp: CSP}
	if b, err := fs.ReadFile(fsys, "index.html"); err == nil {
		sum := sha256.Sum256(b)
		h.index, h.indexETag = b, `"`+hex.EncodeToString(sum[:8])+`"`
	}
	return h
}

type handler struct {
	fsys      fs.FS
	index     []byte // nil when the bundle was not built
	indexETag string
	csp       string
}

// notBuilt is the page "/" shows when dist/ has no bundle.
const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>stor: web UI not built</title></head>
<body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>web UI not built: run scripts/build-web.sh</h1>
<p>This stor binary was compiled without the web UI bundle. Run
<code>scripts/build-web.sh</code> (or <code>scripts/run.sh</code>, which calls it), then build stor again.
The API at <a href="api/openapi.json">/api/openapi.json</a> works either way.</p>
</body></html>
`

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	if name, ok := strings.CutPrefix(r.URL.Path, "/static/"); ok {
		h.serveStatic(w, r, name)
		return
	}
	hd.Set("Cache-Control", "no-cache")
	if h.index == nil {
		hd.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(notBuilt))
		return
	}
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("ETag", h.indexETag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.index))
}

var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
}

func (h *handler) serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	ext := path.Ext(name)
	ct, known := contentTypes[ext]
	if !known || name == "" || strings.Contains(name, "/") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	b, err := fs.ReadFile(h.fsys, "static/"+name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("Vary", "Accept-Encoding")
	// Names carry a content hash, so a file never changes under its name.
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	sum := sha256.Sum256(b)
	etag := hex.EncodeToString(sum[:8])
	if acceptsGzip(r) && r.Header.Get("Range") == "" {
		if gz, err := fs.ReadFile(h.fsys, "static/"+name+".gz"); err == nil {
			hd.Set("Content-Encoding", "gzip")
			hd.Set("ETag", `"`+etag+`-gz"`)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(gz))
			return
		}
	}
	hd.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}
