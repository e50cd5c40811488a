package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node/nodetest"
	"stor/internal/pipeline"
)

func jsonBody(v any) (*bytes.Reader, http.Header) {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b), http.Header{"Content-Type": {"application/json"}}
}

type signedURL struct {
	URL, Token string
	PathPrefix string `json:"path_prefix"`
	ExpiresAt  string `json:"expires_at"`
}

func sign(t *testing.T, n *nodetest.Node, token, id string, req map[string]any) (*nodetest.Response, signedURL) {
	t.Helper()
	b, h := jsonBody(req)
	r := n.Do(t, "POST", "/api/v1/assets/"+id+"/signed-url", token, b, h)
	var s signedURL
	if r.Status == http.StatusOK {
		r.JSON(t, &s)
	}
	return r, s
}

// pathOf turns a signed URL into the path and query the test node takes.
func pathOf(t *testing.T, n *nodetest.Node, u string) string {
	t.Helper()
	if !strings.HasPrefix(u, n.URL+"/") {
		t.Fatalf("signed URL %q is not on %s", u, n.URL)
	}
	return strings.TrimPrefix(u, n.URL)
}

// putDerivative stores a derivative as a task would.
func putDerivative(t *testing.T, n *nodetest.Node, id, name, ct string, data []byte) {
	t.Helper()
	ctx := context.Background()
	key := pipeline.DerivativeKey(id, name)
	if _, err := n.Store.Put(ctx, key, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := catalog.PutDerivative(ctx, n.DB.Writer(), &catalog.Derivative{AssetID: id, Name: name, BlobKey: key,
		ContentType: ct, Size: int64(len(data)), Task: "test"}); err != nil {
		t.Fatal(err)
	}
}

func TestSignedURLs(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	img := nodetest.JPEG(t, 32, 24, 1)
	a := n.MustUpload(t, n.Token, "a.jpg", img)
	b := n.MustUpload(t, n.Token, "b.jpg", nodetest.JPEG(t, 32, 24, 2))
	putDerivative(t, n, a.ID, "thumb-400", "image/webp", []byte("not really webp"))
	reader := n.NewToken(t, []string{"read"}, "")
	other := n.NewToken(t, []string{"read"}, "elsewhere")

	// Read scope and the asset's project are needed to sign.
	if r, _ := sign(t, n, other, a.ID, map[string]any{"what": "original"}); r.Status != http.StatusNotFound {
		t.Fatalf("token of another project: %d %s", r.Status, r.Body)
	}
	if r, _ := sign(t, n, "", a.ID, map[string]any{"what": "original"}); r.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d %s", r.Status, r.Body)
	}
	for _, bad := range []map[string]any{{"what": "everything"}, {"what": "derivative/../x"}, {"what": "original", "expires_in": "-1h"},
		{"what": "original", "expires_in": "1000h"}, {"what": "original", "expires_in": "soon"}} {
		if r, _ := sign(t, n, reader, a.ID, bad); r.Status != http.StatusBadRequest {
			t.Fatalf("%v: %d %s", bad, r.Status, r.Body)
		}
	}

	r, s := sign(t, n, reader, a.ID, map[string]any{"what": "original", "expires_in": "10m"})
	if r.Status != http.StatusOK {
		t.Fatalf("sign: %d %s", r.Status, r.Body)
	}
	exp, err := time.Parse(time.RFC3339, s.ExpiresAt)
	if err != nil || exp.Before(time.Now().Add(9*time.Minute)) || exp.After(time.Now().Add(11*time.Minute)) {
		t.Fatalf("expires_at %q", s.ExpiresAt)
	}
	p := pathOf(t, n, s.URL)
	got := n.Get(t, p, "", nil)
	if got.Status != http.StatusOK || !bytes.Equal(got.Body, img) {
		t.Fatalf("original through signed URL: %d (%d bytes)", got.Status, len(got.Body))
	}
	if csp := got.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Fatalf("original CSP %q", csp)
	}
	// A Range request works too.
	if rr := n.Get(t, p, "", http.Header{"Range": {"bytes=0-9"}}); rr.Status != http.StatusPartialContent || len(rr.Body) != 10 {
		t.Fatalf("range: %d %d", rr.Status, len(rr.Body))
	}

	check := func(name, path string, status int, code string) {
		t.Helper()
		r := n.Get(t, path, "", nil)
		if r.Status != status || r.ErrorCode(t) != code {
			t.Fatalf("%s: %d %s, want %d %s", name, r.Status, r.Body, status, code)
		}
	}
	q := url.Values{}
	tok := s.Token
	// Tampered: any change of the signature, the expiry or the prefix.
	parts := strings.Split(tok, ".")
	for i, mutate := range []func([]string){
		func(p []string) { p[4] = flip(p[4]) },
		func(p []string) { p[2] = "9999999999" },
		func(p []string) { p[3] = "L2FwaS92MS9hc3NldHMv" }, // "/api/v1/assets/"
		func(p []string) { p[1] = "nokey" },
	} {
		c := append([]string(nil), parts...)
		mutate(c)
		q.Set("token", strings.Join(c, "."))
		check("tampered "+string(rune('0'+i)), "/api/v1/assets/"+a.ID+"/original?"+q.Encode(), 401, "signature_invalid")
	}
	check("garbage", "/api/v1/assets/"+a.ID+"/original?token=abc", 401, "signature_invalid")
	q.Set("token", tok)
	check("wrong asset", "/api/v1/assets/"+b.ID+"/original?"+q.Encode(), 403, "signature_wrong_path")
	check("wrong path", "/api/v1/assets/"+a.ID+"/derivatives/thumb-400?"+q.Encode(), 403, "signature_wrong_path")
	// A route that does not take signed URLs ignores the token.
	check("not a media route", "/api/v1/assets/"+a.ID+"/metadata?"+q.Encode(), 401, "unauthenticated")

	// Expired: signed by the node's own key, an hour ago.
	q.Set("token", n.API.Signer.Sign("/api/v1/assets/"+a.ID+"/original", time.Now().Add(-time.Hour)))
	check("expired", "/api/v1/assets/"+a.ID+"/original?"+q.Encode(), 401, "signature_expired")
	// Unknown key id, genuine format.
	stranger := &auth.Signer{Keys: []auth.SigningKey{{ID: "other", Secret: bytes.Repeat([]byte{7}, 32)}}}
	q.Set("token", stranger.Sign("/api/v1/assets/"+a.ID+"/original", time.Now().Add(time.Hour)))
	check("unknown kid", "/api/v1/assets/"+a.ID+"/original?"+q.Encode(), 401, "signature_invalid")

	// A derivative.
	r, s = sign(t, n, reader, a.ID, map[string]any{"what": "derivative/thumb-400"})
	if r.Status != http.StatusOK {
		t.Fatalf("sign derivative: %d %s", r.Status, r.Body)
	}
	if got := n.Get(t, pathOf(t, n, s.URL), "", nil); got.Status != 200 || string(got.Body) != "not really webp" {
		t.Fatalf("derivative: %d %s", got.Status, got.Body)
	}
	// An IIIF token covers /iiif/3/{id} and below, nothing else.
	r, s = sign(t, n, reader, a.ID, map[string]any{"what": "iiif"})
	if r.Status != http.StatusOK || s.PathPrefix != "/iiif/3/"+a.ID || !strings.HasPrefix(s.URL, n.URL+"/iiif/3/"+a.ID+"/info.json?token=") {
		t.Fatalf("sign iiif: %d %s", r.Status, r.Body)
	}
	q.Set("token", s.Token)
	check("iiif token on the original", "/api/v1/assets/"+a.ID+"/original?"+q.Encode(), 403, "signature_wrong_path")
}

func flip(s string) string {
	c := []byte(s)
	if c[0] == 'A' {
		c[0] = 'B'
	} else {
		c[0] = 'A'
	}
	return string(c)
}

func TestPublicProjects(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	img := nodetest.JPEG(t, 32, 24, 3)
	up := func(project string, seed int) string {
		r := n.Do(t, "POST", "/api/v1/assets?project="+project, n.Token, bytes.NewReader(nodetest.JPEG(t, 16, 16, seed)),
			http.Header{"Content-Type": {"image/jpeg"}, "Content-Disposition": {`attachment; filename="x.jpg"`}})
		if r.Status != http.StatusCreated {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
		return r.Asset(t).ID
	}
	_ = img
	museum, loans := up("museum", 4), up("loans", 5)
	for _, id := range []string{museum, loans} {
		putDerivative(t, n, id, "thumb-400", "image/webp", []byte("thumb of "+id))
	}
	status := func(path string) int { t.Helper(); return n.Get(t, path, "", nil).Status }
	orig := func(id string) string { return "/api/v1/assets/" + id + "/original" }
	thumb := func(id string) string { return "/api/v1/assets/" + id + "/derivatives/thumb-400" }

	// Private by default.
	for _, p := range []string{orig(museum), thumb(museum), thumb(loans)} {
		if s := status(p); s != 401 {
			t.Fatalf("%s anonymous while private: %d", p, s)
		}
	}
	put := func(path, token string, v any) *nodetest.Response {
		b, h := jsonBody(v)
		return n.Do(t, "PUT", path, token, b, h)
	}
	writer := n.NewToken(t, []string{"read", "write"}, "")
	if r := put("/api/v1/projects/museum", writer, map[string]any{"public": true}); r.Status != 403 {
		t.Fatalf("project change by a write token: %d", r.Status)
	}
	if r := put("/api/v1/projects/museum", n.Token, map[string]any{"public": true}); r.Status != 200 || !strings.Contains(string(r.Body), `"public":true`) {
		t.Fatalf("make museum public: %d %s", r.Status, r.Body)
	}
	if s := status(thumb(museum)); s != 200 {
		t.Fatalf("public thumbnail: %d", s)
	}
	if s := status(orig(museum)); s != 401 {
		t.Fatalf("original of a public project without public_originals: %d", s)
	}
	if s := status(thumb(loans)); s != 401 {
		t.Fatalf("private project's thumbnail: %d", s)
	}
	// The asset JSON stays authenticated.
	if s := status("/api/v1/assets/" + museum); s != 401 {
		t.Fatalf("asset JSON of a public asset: %d", s)
	}
	if r := put("/api/v1/projects/museum", n.Token, map[string]any{"public_originals": true}); r.Status != 200 {
		t.Fatalf("public originals: %d %s", r.Status, r.Body)
	}
	if s := status(orig(museum)); s != 200 {
		t.Fatalf("public original: %d", s)
	}
	// Per asset: private in a public project, public in a private one.
	if r := put("/api/v1/assets/"+museum+"/visibility", writer, map[string]any{"visibility": "private"}); r.Status != 200 {
		t.Fatalf("visibility: %d %s", r.Status, r.Body)
	}
	if s := status(thumb(museum)); s != 401 {
		t.Fatalf("private asset of a public project: %d", s)
	}
	if r := put("/api/v1/assets/"+loans+"/visibility", writer, map[string]any{"visibility": "public"}); r.Status != 200 || !strings.Contains(string(r.Body), `"public":true`) {
		t.Fatalf("visibility: %d %s", r.Status, r.Body)
	}
	if s := status(thumb(loans)); s != 200 {
		t.Fatalf("public asset of a private project: %d", s)
	}
	if s := status(orig(loans)); s != 401 {
		t.Fatalf("original of a public asset whose project keeps originals private: %d", s)
	}
	reader := n.NewToken(t, []string{"read"}, "")
	if r := put("/api/v1/assets/"+loans+"/visibility", reader, map[string]any{"visibility": "private"}); r.Status != 403 {
		t.Fatalf("visibility by a read token: %d", r.Status)
	}
	if r := put("/api/v1/assets/"+loans+"/visibility", writer, map[string]any{"visibility": "open"}); r.Status != 400 {
		t.Fatalf("bad visibility: %d", r.Status)
	}
	// The change is in the asset's history.
	if r := n.Get(t, "/api/v1/assets/"+loans+"/events", n.Token, nil); !strings.Contains(string(r.Body), "visibility_changed") {
		t.Fatalf("events: %s", r.Body)
	}
	// A deleted public asset is gone for everyone.
	if r := n.Do(t, "DELETE", "/api/v1/assets/"+loans, n.Token, nil, nil); r.Status >= 300 {
		t.Fatalf("delete: %d", r.Status)
	}
	if s := status(thumb(loans)); s != 401 {
		t.Fatalf("deleted public asset: %d", s)
	}
}

func TestCORSAndNoInlineActiveContent(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0; c.CORSOrigins = "https://shop.example" })
	a := n.MustUpload(t, n.Token, "c.jpg", nodetest.JPEG(t, 16, 16, 21))
	pre := func(origin string) *nodetest.Response {
		return n.Do(t, "OPTIONS", "/api/v1/assets/"+a.ID, "", nil, http.Header{"Origin": {origin},
			"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"authorization"}})
	}
	r := pre("https://shop.example")
	if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		r.Header.Get("Access-Control-Allow-Credentials") != "" || strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "X-Stor-CSRF") {
		t.Fatalf("preflight of an allowed origin: %d %v", r.Status, r.Header)
	}
	if r := pre("https://evil.example"); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight of another origin granted: %v", r.Header)
	}
	g := n.Get(t, "/api/v1/assets/"+a.ID, n.Token, http.Header{"Origin": {"https://shop.example"}})
	if g.Status != 200 || g.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(g.Header.Get("Vary"), "Origin") {
		t.Fatalf("GET from an allowed origin: %d %v", g.Status, g.Header)
	}
	if g := n.Get(t, "/api/v1/assets/"+a.ID, n.Token, http.Header{"Origin": {"https://evil.example"}}); g.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET from another origin: %v", g.Header)
	}

	// Derivatives that could run script (SVG, HTML) are sandboxed and never
	// sniffed, like originals.
	putDerivative(t, n, a.ID, "evil-svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	putDerivative(t, n, a.ID, "evil-html", "text/html", []byte(`<script>alert(1)</script>`))
	for _, name := range []string{"evil-svg", "evil-html"} {
		r := n.Get(t, "/api/v1/assets/"+a.ID+"/derivatives/"+name, n.Token, nil)
		if r.Status != 200 || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") ||
			!strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'none'") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s: %d %v", name, r.Status, r.Header)
		}
	}
	if r := n.Get(t, "/api/v1/assets/"+a.ID+"/original", n.Token, nil); !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("original CSP: %v", r.Header)
	}
}
