package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// TestSignedDeepZoom: a viewer given a signed info.json URL of a private
// image builds tile URLs from info.json's id, dropping the query; the id
// carries the token in its path, so the tiles open. The token opens
// nothing else, and IIIF refusals carry CORS headers so a viewer on
// another site can read them.
func TestSignedDeepZoom(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	id := n.MustUpload(t, n.Token, "big.jpg", nodetest.JPEG(t, 600, 400, 3)).ID
	other := n.MustUpload(t, n.Token, "other.jpg", nodetest.JPEG(t, 60, 40, 4)).ID

	_, s := sign(t, n, n.Token, id, map[string]any{"what": "iiif"})
	r := n.Do(t, "GET", pathOf(t, n, s.URL), "", nil, http.Header{"Origin": {"https://viewer.example"}})
	if r.Status != 200 {
		t.Fatalf("signed info.json: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("info.json CORS: %v", r.Header)
	}
	var info struct {
		ID string `json:"id"`
	}
	r.JSON(t, &info)
	want := n.URL + "/s/" + s.Token + "/iiif/3/" + id
	if info.ID != want {
		t.Fatalf("info.json id %q, want %q", info.ID, want)
	}
	// What OpenSeadragon requests: id + region/size/rotation/quality.
	for _, tile := range []string{"/0,0,256,256/256,/0/default.jpg", "/full/max/0/default.jpg", "/info.json"} {
		r := n.Do(t, "GET", strings.TrimPrefix(info.ID, n.URL)+tile, "", nil, nil)
		if r.Status != 200 {
			t.Errorf("tile %s: %d %s", tile, r.Status, r.Body)
		}
	}
	// The path token is the same token: another asset, the original, the
	// API: refused.
	for _, p := range []string{"/iiif/3/" + other + "/info.json", "/api/v1/assets/" + id + "/original"} {
		if r := n.Do(t, "GET", "/s/"+s.Token+p, "", nil, nil); r.Status != 403 || r.ErrorCode(t) != "signature_wrong_path" {
			t.Errorf("%s with the token: %d %s", p, r.Status, r.Body)
		}
	}
	if r := n.Do(t, "GET", "/s/"+s.Token+"/api/v1/assets/"+id, "", nil, nil); r.Status != 401 {
		t.Errorf("API with a path token: %d", r.Status)
	}
	// A tampered token in the path: 401, with CORS headers.
	bad := s.Token[:len(s.Token)-2] + "xx"
	r = n.Do(t, "GET", "/s/"+bad+"/iiif/3/"+id+"/info.json", "", nil, http.Header{"Origin": {"https://viewer.example"}})
	if r.Status != 401 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("tampered: %d %v", r.Status, r.Header)
	}
	// No credentials at all: 401 with CORS too.
	r = n.Do(t, "GET", "/iiif/3/"+id+"/info.json", "", nil, http.Header{"Origin": {"https://viewer.example"}})
	if r.Status != 401 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("anonymous: %d %v", r.Status, r.Header)
	}
	// The redirect of the bare id keeps the token.
	n.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer func() { n.Client.CheckRedirect = nil }()
	r = n.Do(t, "GET", "/iiif/3/"+id+"?token="+s.Token, "", nil, nil)
	if r.Status != 303 || r.Header.Get("Location") != want+"/info.json" {
		t.Errorf("redirect: %d %q", r.Status, r.Header.Get("Location"))
	}
}

// TestSignedViewerAndManifest: what "manifest" covers everything a viewer
// of the asset loads (manifest, IIIF, derivatives), never the original.
func TestSignedViewerScope(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	id := n.MustUpload(t, n.Token, "m.jpg", nodetest.JPEG(t, 64, 48, 5)).ID
	putDerivative(t, n, id, "thumb-400", "image/webp", []byte("w"))
	// The dimensions the image tasks would record (no workers here).
	if _, err := n.DB.Writer().ExecContext(context.Background(), `UPDATE assets SET width = 64, height = 48 WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	r, s := sign(t, n, n.Token, id, map[string]any{"what": "manifest"})
	if r.Status != 200 || s.PathPrefix != "asset:"+id {
		t.Fatalf("sign: %d %s", r.Status, r.Body)
	}
	for p, want := range map[string]int{
		"/iiif/3/" + id + "/info.json": 200, "/iiif/2/" + id + "/info.json": 200,
		"/api/v1/assets/" + id + "/derivatives/thumb-400": 200, "/api/v1/assets/" + id + "/pages": 200,
		"/api/v1/assets/" + id + "/original": 403,
	} {
		if r := n.Do(t, "GET", p+"?token="+s.Token, "", nil, nil); r.Status != want {
			t.Errorf("%s: %d, want %d: %s", p, r.Status, want, r.Body)
		}
	}
	r = n.Do(t, "GET", pathOf(t, n, s.URL), "", nil, nil)
	if r.Status != 200 || r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("manifest: %d %s", r.Status, r.Body)
	}
	// Every link of ours in the manifest carries the token, and what the
	// links name opens with it.
	var m any
	r.JSON(t, &m)
	b, _ := json.Marshal(m)
	if bytes.Contains(b, []byte(`"`+n.URL+`/iiif`)) || !bytes.Contains(b, []byte(n.URL+"/s/"+s.Token+"/iiif/3/"+id)) {
		t.Errorf("manifest links: %s", b)
	}
	for _, u := range regexp.MustCompile(`"(http[^"]+/s/[^"]+)"`).FindAllStringSubmatch(string(b), -1) {
		p := strings.TrimPrefix(u[1], n.URL)
		if strings.HasSuffix(p, "/"+id) { // a IIIF image service id
			p += "/info.json"
		}
		if regexp.MustCompile(`/(canvas|page|annotation)/`).MatchString(p) {
			continue // identifiers of the manifest's parts, not resources
		}
		if r := n.Do(t, "GET", p, "", nil, nil); r.Status != 200 {
			t.Errorf("manifest link %s: %d %s", p, r.Status, r.Body)
		}
	}
}

// TestDownloadRate: a signed URL's max_rate and a project's download_rate
// bound how fast a download is sent.
func TestDownloadRate(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	id := n.MustUpload(t, n.Token, "r.jpg", nodetest.JPEG(t, 16, 16, 6)).ID
	data := bytes.Repeat([]byte("0123456789abcdef"), 3000) // 48000 bytes
	putDerivative(t, n, id, "blob.bin", "application/octet-stream", data)

	timed := func(path, token string) time.Duration {
		start := time.Now()
		r := n.Do(t, "GET", path, token, nil, nil)
		if r.Status != 200 || len(r.Body) != len(data) {
			t.Fatalf("%s: %d, %d bytes", path, r.Status, len(r.Body))
		}
		return time.Since(start)
	}
	if d := timed("/api/v1/assets/"+id+"/derivatives/blob.bin", n.Token); d > time.Second {
		t.Errorf("unlimited download took %v", d)
	}
	// 16000 B/s: the first 16000 bytes at once, 32000 more take 2 s.
	_, s := sign(t, n, n.Token, id, map[string]any{"what": "derivative/blob.bin", "max_rate": 16000})
	if d := timed(pathOf(t, n, s.URL), ""); d < 1800*time.Millisecond || d > 6*time.Second {
		t.Errorf("signed URL at 16000 B/s took %v, want about 2s", d)
	}
	if r := n.Do(t, "PUT", "/api/v1/projects/default", n.Token, strings.NewReader(`{"download_rate":24000}`), nil); r.Status != 200 {
		t.Fatalf("project rate: %d %s", r.Status, r.Body)
	}
	// 24000 B/s: 16000... no: burst is min(rate, 64 KiB) = 24000, then 24000 in 1 s.
	if d := timed("/api/v1/assets/"+id+"/derivatives/blob.bin", n.Token); d < 900*time.Millisecond || d > 5*time.Second {
		t.Errorf("project at 24000 B/s took %v, want about 1s", d)
	}
}
