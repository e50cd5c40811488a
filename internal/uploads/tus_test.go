package uploads_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/tusclient"
)

// A 1 GiB upload in 64 MiB chunks; the server is killed (SIGKILL) in the
// middle of the chunk that crosses 512 MiB, restarted, asked (HEAD) for
// its offset, and the upload resumes from there. The asset's SHA-256 is
// the file's: the hash state survived the kill and the gap after the last
// checkpoint was hashed from the file.
func TestResumeAfterKill1GiB(t *testing.T) {
	dir := t.TempDir()
	const size = 1 << 30
	const chunk = 64 << 20
	path, sum := randomFile(t, dir, size, 1)
	s := startServer(t, filepath.Join(dir, "data"))
	c := s.client()
	ctx := context.Background()
	loc, err := c.Create(ctx, size, fileMeta("big.bin"), "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	off := int64(0)
	for off < 8*chunk {
		if off, _, err = c.Patch(ctx, loc, off, io.NewSectionReader(f, off, chunk), chunk); err != nil {
			t.Fatal(err)
		}
	}
	// The ninth chunk: 20 MiB of it arrive, then the server is killed.
	cut := &cutReader{r: io.NewSectionReader(f, off, chunk), left: 20 << 20, after: s.kill}
	if _, _, err := c.Patch(ctx, loc, off, cut, chunk); err == nil {
		t.Fatal("the PATCH to a killed server succeeded")
	}
	s.start()
	got, length, err := c.Offset(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after kill -9 at ~%d MiB: HEAD says offset %d (%d MiB), length %d", (off+20<<20)>>20, got, got>>20, length)
	if got < off || got > off+20<<20 || length != size {
		t.Fatalf("offset %d after the kill, want between %d and %d", got, off, off+20<<20)
	}
	h, err := c.Upload(ctx, loc, f, got, size, chunk, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := h.Get("Stor-Asset-Id")
	if id == "" {
		t.Fatalf("the last PATCH has no Stor-Asset-Id: %v", h)
	}
	a := s.asset(t, id)
	if a.SHA256 != sum || a.Size != size {
		t.Fatalf("asset sha256 %s size %d, file %s size %d", a.SHA256, a.Size, sum, size)
	}
	// The data file moved into the store: nothing is left in uploads/.
	left, _ := filepath.Glob(filepath.Join(dir, "data", "uploads", "*"))
	if len(left) != 0 {
		t.Fatalf("left in uploads/: %v", left)
	}
}

// 100 interruptions at random byte offsets: 25 uploads of a 50 MB file,
// each PATCH cut four times mid-body at random points, then resumed from
// the offset HEAD reports. Every upload ends with the file's SHA-256.
func TestRandomInterruptions(t *testing.T) {
	dir := t.TempDir()
	const size = 50_000_000
	path, sum := randomFile(t, dir, size, 2)
	s := startServer(t, filepath.Join(dir, "data"))
	c := s.client()
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(42, 9))
	cuts := 0
	for i := range 25 {
		loc, err := c.Create(ctx, size, fileMeta("f.bin"), "")
		if err != nil {
			t.Fatal(err)
		}
		off := int64(0)
		for range 4 {
			left := size - off
			n := rng.Int64N(left-1) + 1
			_, _, err := c.Patch(ctx, loc, off, &cutReader{r: io.NewSectionReader(f, off, left), left: n}, left)
			if err == nil {
				t.Fatalf("upload %d: cut PATCH succeeded", i)
			}
			cuts++
			got := offsetWhenSettled(t, c, loc)
			if got < off || got > off+n {
				t.Fatalf("upload %d: offset %d after sending %d bytes from %d", i, got, n, off)
			}
			off = got
		}
		h, err := c.Upload(ctx, loc, f, off, size, size, nil)
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		if a := s.asset(t, h.Get("Stor-Asset-Id")); a.SHA256 != sum {
			t.Fatalf("upload %d: sha256 %s, want %s", i, a.SHA256, sum)
		}
	}
	t.Logf("%d interruptions, all 25 uploads complete with the right sha256", cuts)
}

// Four partial uploads sent in parallel, then concatenated: the final
// upload becomes the asset at once, hashed as the parts were copied.
func TestConcatenationFourParts(t *testing.T) {
	dir := t.TempDir()
	const size = 40_000_003
	path, sum := randomFile(t, dir, size, 3)
	s := startServer(t, filepath.Join(dir, "data"))
	c := s.client()
	ctx := context.Background()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bounds := []int{0, size / 4, size / 2, 3 * size / 4, size}
	parts := make([]string, 4)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() {
			piece := data[bounds[i]:bounds[i+1]]
			loc, err := c.Create(ctx, int64(len(piece)), nil, "partial")
			if err != nil {
				errs[i] = err
				return
			}
			parts[i] = loc
			_, errs[i] = c.Upload(ctx, loc, strings.NewReader(string(piece)), 0, int64(len(piece)), 3<<20, nil)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	_, h, err := c.CreateFinal(ctx, parts, fileMeta("joined.bin"))
	if err != nil {
		t.Fatal(err)
	}
	a := s.asset(t, h.Get("Stor-Asset-Id"))
	if a.SHA256 != sum || a.Size != size || a.Filename != "joined.bin" {
		t.Fatalf("concatenated asset %+v, want sha256 %s size %d", a, sum, size)
	}
	if _, _, err := c.Offset(ctx, parts[0]); !errors.Is(err, tusclient.ErrGone) {
		t.Fatalf("a part is still there after the final upload: %v", err)
	}
}

// An upload left idle past STOR_UPLOAD_EXPIRY is removed by the sweeper:
// bytes, info, state and lock files.
func TestExpiredUploadSwept(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	s := startServer(t, data, "STOR_UPLOAD_EXPIRY=2s")
	c := s.client()
	ctx := context.Background()
	loc, err := c.Create(ctx, 1000, fileMeta("x.bin"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Patch(ctx, loc, 0, strings.NewReader(strings.Repeat("a", 400)), 400); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(data, "uploads", "*"))
	if len(files) < 3 {
		t.Fatalf("upload files: %v", files)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ = filepath.Glob(filepath.Join(data, "uploads", "*"))
		if len(files) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not swept: %v", files)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, _, err := c.Offset(ctx, loc); !errors.Is(err, tusclient.ErrGone) {
		t.Fatalf("HEAD of a swept upload: %v", err)
	}
}

// Every tus method but OPTIONS (discovery; a browser's CORS preflight
// carries no credentials) needs a token with the write scope.
func TestAuthOnEveryMethod(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, filepath.Join(dir, "data"))
	ctx := context.Background()
	loc, err := s.client().Create(ctx, 10, fileMeta("a.bin"), "")
	if err != nil {
		t.Fatal(err)
	}
	readTok := makeToken(t, s, "read", "")
	otherProj := makeToken(t, s, "write", "other")
	type tc struct {
		method, url string
		header      map[string]string
	}
	reqs := []tc{
		{"POST", s.url() + "/uploads/", map[string]string{"Upload-Length": "10"}},
		{"HEAD", loc, nil},
		{"PATCH", loc, map[string]string{"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}},
		{"DELETE", loc, nil},
	}
	do := func(r tc, auth string, cookie bool) int {
		req, _ := http.NewRequest(r.method, r.url, strings.NewReader("0123456789"))
		req.Header.Set("Tus-Resumable", "1.0.0")
		for k, v := range r.header {
			req.Header.Set(k, v)
		}
		if cookie {
			req.AddCookie(&http.Cookie{Name: "stor_session", Value: auth})
		} else if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Tus-Resumable") != "1.0.0" {
			t.Errorf("%s %s: no Tus-Resumable on the refusal", r.method, r.url)
		}
		return resp.StatusCode
	}
	for _, r := range reqs {
		if got := do(r, "", false); got != 401 {
			t.Errorf("%s without a token: %d, want 401", r.method, got)
		}
		if got := do(r, "stor_wrong", false); got != 401 {
			t.Errorf("%s with a wrong token: %d, want 401", r.method, got)
		}
		if got := do(r, readTok, false); got != 403 {
			t.Errorf("%s with a read-only token: %d, want 403", r.method, got)
		}
		if r.method != "HEAD" {
			if got := do(r, testToken, true); got != 403 {
				t.Errorf("%s by cookie without %s: %d, want 403", r.method, "X-Stor-CSRF", got)
			}
		}
		if r.method != "POST" {
			if got := do(r, otherProj, false); got != 404 {
				t.Errorf("%s by a token of another project: %d, want 404", r.method, got)
			}
		}
	}
	req, _ := http.NewRequest("OPTIONS", s.url()+"/uploads/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 || !strings.Contains(resp.Header.Get("Tus-Extension"), "expiration") {
		t.Fatalf("OPTIONS: %d, Tus-Extension %q", resp.StatusCode, resp.Header.Get("Tus-Extension"))
	}
	// A token of another project may not create in this one.
	c := s.client()
	c.Header.Set("Authorization", "Bearer "+otherProj)
	if _, err := c.Create(ctx, 10, map[string]string{"filename": "a", "project": "default"}, ""); err == nil ||
		!strings.Contains(err.Error(), "403") {
		t.Fatalf("create in a foreign project: %v", err)
	}
}

func makeToken(t *testing.T, s *server, scope, project string) string {
	t.Helper()
	body := `{"name":"t","scopes":["` + scope + `"],"project":"` + project + `"}`
	req, _ := http.NewRequest("POST", s.url()+"/api/v1/tokens", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Secret string `json:"secret"`
		Token  string `json:"token"`
	}
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &out)
	if out.Secret == "" {
		out.Secret = out.Token
	}
	if resp.StatusCode != 201 || out.Secret == "" {
		t.Fatalf("create token: %s %s", resp.Status, b)
	}
	return out.Secret
}

// tus-js-client 4.3.1 (npm) under node uploads a file in chunks; the
// asset id arrives on the last PATCH and the sha256 matches.
func TestTusJSClient(t *testing.T) {
	jsdir, err := filepath.Abs("testdata/tusjs")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(jsdir, "node_modules", "tus-js-client")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = jsdir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	dir := t.TempDir()
	path, sum := randomFile(t, dir, 12_345_678, 4)
	s := startServer(t, filepath.Join(dir, "data"))
	out, err := exec.Command("node", filepath.Join(jsdir, "upload.js"), s.url()+"/uploads/", testToken, path,
		"1000000").CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res struct {
		URL     string `json:"url"`
		AssetID string `json:"asset_id"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil || res.AssetID == "" {
		t.Fatalf("tus-js-client said: %s", out)
	}
	if a := s.asset(t, res.AssetID); a.SHA256 != sum {
		t.Fatalf("sha256 %s, want %s", a.SHA256, sum)
	}
}
