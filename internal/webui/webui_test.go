package webui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandlerBuilt(t *testing.T) {
	js := strings.Repeat("console.log('stor');", 100)
	h := NewHandler(fstest.MapFS{
		"index.html":              {Data: []byte(`<!doctype html><script type="module" src="static/app-ABC.js"></script>`)},
		"static/app-ABC.js":       {Data: []byte(js)},
		"static/app-ABC.js.gz":    {Data: gz(t, js)},
		"static/style-DEF.css":    {Data: []byte("body{}")},
		"static/secret.go":        {Data: []byte("package x")},
		"static/sub/app-ABC.js":   {Data: []byte("x")},
		"static/app-ABC.js.LEGAL": {Data: []byte("x")},
	})

	for _, p := range []string{"/", "/index.html"} {
		r := get(t, h, p)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || !strings.Contains(string(body), "static/app-ABC.js") {
			t.Fatalf("%s: %d %q", p, r.StatusCode, body)
		}
		if got := r.Header.Get("Content-Security-Policy"); got != CSP {
			t.Errorf("%s CSP = %q", p, got)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s Cache-Control = %q", p, got)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s Content-Type = %q", p, ct)
		}
		etag := r.Header.Get("ETag")
		if r2 := get(t, h, p, "If-None-Match", etag); etag == "" || r2.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidation with ETag %q: %d", p, etag, r2.StatusCode)
		}
	}

	r := get(t, h, "/static/app-ABC.js")
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != 200 || string(body) != js || r.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain js: %d enc=%q", r.StatusCode, r.Header.Get("Content-Encoding"))
	}
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("hashed asset Cache-Control = %q", cc)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("js Content-Type = %q", ct)
	}
	if r.Header.Get("Content-Security-Policy") != CSP {
		t.Error("static files carry the CSP too")
	}

	r = get(t, h, "/static/app-ABC.js", "Accept-Encoding", "br, gzip")
	zr, err := gzip.NewReader(r.Body)
	if err != nil || r.Header.Get("Content-Encoding") != "gzip" || r.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("gzip: enc=%q vary=%q err=%v", r.Header.Get("Content-Encoding"), r.Header.Get("Vary"), err)
	}
	if b, _ := io.ReadAll(zr); string(b) != js {
		t.Fatal("gzip body differs")
	}
	if r := get(t, h, "/static/app-ABC.js", "Accept-Encoding", "gzip;q=0"); r.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 must not get gzip")
	}
	if r := get(t, h, "/static/style-DEF.css", "Accept-Encoding", "gzip"); r.StatusCode != 200 ||
		r.Header.Get("Content-Encoding") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("css without .gz: %d %q %q", r.StatusCode, r.Header.Get("Content-Encoding"), r.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/static/missing.js", "/static/secret.go", "/static/sub/app-ABC.js", "/static/../index.html",
		"/static/", "/static/app-ABC.js.LEGAL"} {
		if r := get(t, h, p); r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, r.StatusCode)
		}
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	h := NewHandler(fstest.MapFS{".gitkeep": {Data: nil}})
	r := get(t, h, "/")
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "web UI not built: run scripts/build-web.sh") {
		t.Fatalf("%d %q", r.StatusCode, body)
	}
	if r.Header.Get("Content-Security-Policy") != CSP {
		t.Error("the placeholder carries the CSP")
	}
}

// The embedded bundle is either built (index.html names static files that
// are there) or the placeholder page.
func TestEmbedded(t *testing.T) {
	h := Handler()
	r := get(t, h, "/")
	body, _ := io.ReadAll(r.Body)
	switch r.StatusCode {
	case http.StatusServiceUnavailable:
		t.Log("this build has no UI bundle (run scripts/build-web.sh)")
	case http.StatusOK:
		for _, part := range strings.Split(string(body), `"`) {
			if strings.HasPrefix(part, "static/") {
				if r := get(t, h, "/"+part); r.StatusCode != 200 {
					t.Errorf("index.html names %s, which is %d", part, r.StatusCode)
				}
			}
		}
	default:
		t.Fatalf("/: %d", r.StatusCode)
	}
}
