package webui_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"stor/internal/proc"
)

// TestBrowserE2E builds the UI bundle and the stor binary, starts `stor
// serve` on a free loopback port and drives the UI in Debian's headless
// Chromium with playwright-core (web/test/e2e.mjs): sign in, upload a JPEG
// through Uppy, wait for ready, the viewer, the tasks panel, the grid,
// search, the first-page speed, pause/resume, sign out. One screenshot per
// page lands in test-output/ui/ and each must be more than one colour.
func TestBrowserE2E(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"/usr/bin/chromium", "/usr/bin/convert", "node", "npm", "vips", "ffmpeg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run STOR_SETUP_TESTS=1 scripts/setup.sh (%v)", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The bundle: scripts/build-web.sh is idempotent (npm ci only when
	// node_modules is missing or the lock changed; esbuild only on change).
	run(t, ctx, root, nil, "scripts/build-web.sh")
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "stor")
	run(t, ctx, root, nil, "go", "build", "-o", bin, "./cmd/stor")

	jpeg := filepath.Join(tmp, "sunset harbour e2e.jpg")
	run(t, ctx, tmp, nil, "/usr/bin/convert", "-size", "2400x1600", "gradient:#f4a261-#264653",
		"-fill", "#e9c46a", "-draw", "circle 1200,700 1200,480", "-fill", "#2a9d8f", "-draw", "rectangle 0,1100 2400,1600",
		"-quality", "88", jpeg)
	small := filepath.Join(tmp, "small.jpg")
	run(t, ctx, tmp, nil, "/usr/bin/convert", "-size", "96x64", "plasma:fractal", "-quality", "80", small)

	// Media for the viewers of contracts this build may not serve yet.
	fx := filepath.Join(tmp, "fixtures")
	os.MkdirAll(filepath.Join(fx, "hls"), 0o755)
	run(t, ctx, fx, nil, "vips", "dzsave", jpeg, "iiif", "--layout", "iiif3", "--tile-size", "512")
	run(t, ctx, fx, nil, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=4:size=640x360:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4", "hls/index.m3u8")
	for i, colour := range []string{"#ffffff", "#fdf6e3"} {
		run(t, ctx, fx, nil, "/usr/bin/convert", "-size", "850x1100", "xc:"+colour, "-fill", "#333", "-draw",
			fmt.Sprintf("rectangle 80,100 770,140 rectangle 80,200 700,220 rectangle 80,260 720,280 circle 425,%d 425,%d", 500+300*i, 600+300*i),
			fmt.Sprintf("page-%d.png", i+1))
	}
	run(t, ctx, fx, nil, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=2", "tone.wav")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const token = "stor_e2e_browser_test_token_0123456789"
	var serverLog bytes.Buffer
	srv := proc.Command(ctx, bin, "serve")
	srv.Env = append(os.Environ(), "STOR_ADDR="+addr, "STOR_DATA_DIR="+filepath.Join(tmp, "data"),
		"STOR_BOOTSTRAP_TOKEN="+token, "STOR_LOG_FORMAT=text", "STOR_LOG_LEVEL=warn",
		// The test machine is shared and busy: heavy tasks must not wait for it.
		"STOR_MAX_LOAD_PER_CPU=0",
		"STOR_POLL_INTERVAL=50ms", "STOR_RETRY_BASE=1s")
	srv.Stdout, srv.Stderr = &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			srv.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	waitHealthy(t, base, &serverLog)

	shots := filepath.Join(root, "test-output", "ui")
	os.RemoveAll(shots)
	start := time.Now()
	out, err := run2(ctx, filepath.Join(root, "web"), []string{
		"STOR_URL=" + base, "STOR_TOKEN=" + token, "STOR_JPEG=" + jpeg, "STOR_SMALL=" + small, "STOR_SHOTS=" + shots,
		"STOR_FIXTURES=" + fx,
	}, "node", "test/e2e.mjs")
	t.Logf("browser test took %s:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	if err != nil {
		t.Fatalf("web/test/e2e.mjs failed: %v\n--- server log ---\n%s", err, tail(serverLog.String(), 4000))
	}

	names := []string{"signin", "upload-selected", "upload", "asset", "grid", "search", "search-narrow", "viewer-video", "viewer-document", "admin"}
	for _, n := range names {
		p := filepath.Join(shots, n+".png")
		colours, err := distinctColours(p)
		if err != nil {
			t.Errorf("screenshot %s: %v", n, err)
			continue
		}
		if colours < 2 {
			t.Errorf("screenshot %s is blank (one colour)", p)
		}
		t.Logf("screenshot %s: %d colours", p, colours)
	}
}

func run(t *testing.T, ctx context.Context, dir string, env []string, name string, args ...string) {
	t.Helper()
	if out, err := run2(ctx, dir, env, name, args...); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func run2(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := proc.Command(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	return b.String(), err
}

func waitHealthy(t *testing.T, base string, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("stor serve did not become healthy:\n%s", log.String())
}

// distinctColours counts colours up to 64 on a sampling grid.
func distinctColours(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return 0, fmt.Errorf("decode: %w", err)
	}
	b := img.Bounds()
	seen := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= 64 {
				return len(seen), nil
			}
		}
	}
	return len(seen), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
