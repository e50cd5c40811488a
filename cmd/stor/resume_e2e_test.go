package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tusProxy sits between `stor ingest` and the server: it records every
// tus request and, while slow is set, trickles PATCH bodies so that the
// CLI can be killed half-way through one.
type tusProxy struct {
	slow    atomic.Bool
	patched atomic.Int64 // PATCH body bytes forwarded

	mu      sync.Mutex
	creates int
	offsets []int64 // Upload-Offset of each PATCH
}

type trickle struct {
	r io.ReadCloser
	p *tusProxy
}

func (t *trickle) Read(b []byte) (int, error) {
	if t.p.slow.Load() {
		b = b[:min(len(b), 64<<10)]
		time.Sleep(10 * time.Millisecond) // ~6 MB/s
	}
	n, err := t.r.Read(b)
	t.p.patched.Add(int64(n))
	return n, err
}

func (t *trickle) Close() error { return t.r.Close() }

func (p *tusProxy) handler(target string) http.Handler {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/uploads/") {
			p.mu.Lock()
			switch r.Method {
			case http.MethodPost:
				p.creates++
			case http.MethodPatch:
				off, _ := strconv.ParseInt(r.Header.Get("Upload-Offset"), 10, 64)
				p.offsets = append(p.offsets, off)
				r.Body = &trickle{r.Body, p}
			}
			p.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	})
}

// `stor ingest` sends a large file through tus; killed (SIGKILL) half-way,
// a rerun continues the same upload from the server's offset instead of
// starting again, and the asset holds exactly the file's bytes.
func TestIngestCLIResumesTusUpload(t *testing.T) {
	s := startServer(t, t.TempDir())
	p := &tusProxy{}
	proxy := httptest.NewServer(p.handler(s.url))
	defer proxy.Close()

	dir := t.TempDir()
	data := make([]byte, 12<<20)
	rand.Read(data)
	file := filepath.Join(dir, "master.bin")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])
	// The resume state lives in the user's cache dir: keep it to this test.
	env := append(os.Environ(), "STOR_TOKEN="+token, "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	args := []string{"ingest", "--server", proxy.URL, "--quiet", "--ignore-unsupported", "--tus-threshold", "1048576", file}

	p.slow.Store(true)
	first := exec.Command(storBin, args...)
	first.Env = env
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for p.patched.Load() < 4<<20 {
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("the first run sent only %d bytes in 60 s", p.patched.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	first.Process.Kill()
	first.Wait()
	sentBefore := p.patched.Load()
	if sentBefore >= int64(len(data)) {
		t.Fatalf("the first run finished before it was killed (%d bytes)", sentBefore)
	}

	p.slow.Store(false)
	out, errs, code := run(t, []string{"STOR_TOKEN=" + token, "XDG_CACHE_HOME=" + filepath.Join(dir, "cache")}, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d\n%s%s", code, out, errs)
	}
	if got := summary(t, out); !strings.HasPrefix(got, "ingested 1,") {
		t.Fatalf("rerun: %q", got)
	}
	p.mu.Lock()
	creates, offsets := p.creates, append([]int64(nil), p.offsets...)
	p.mu.Unlock()
	if creates != 1 {
		t.Errorf("%d uploads created, want 1 (the rerun must resume, not start again)", creates)
	}
	if len(offsets) < 2 || offsets[0] != 0 || offsets[len(offsets)-1] <= 0 {
		t.Errorf("PATCH offsets %v: want the rerun to continue from where the first run stopped", offsets)
	}
	if resent := p.patched.Load() - int64(len(data)); resent > 2<<20 {
		t.Errorf("%d bytes sent twice: the resume should only repeat what the server had not kept", resent)
	}
	_, body := s.do("GET", "/api/v1/assets?limit=10", token, nil, nil)
	var l struct {
		Items []struct {
			SHA256   string `json:"sha256"`
			Size     int64  `json:"size"`
			Filename string `json:"filename"`
		}
	}
	json.Unmarshal(body, &l)
	if len(l.Items) != 1 || l.Items[0].SHA256 != want || l.Items[0].Size != int64(len(data)) || l.Items[0].Filename != "master.bin" {
		t.Fatalf("assets after the resumed upload: %s (want one master.bin, sha256 %s)", body, want)
	}
}
