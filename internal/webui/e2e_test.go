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
// Chromium with playwright-core (web/test/e2e.mjs), one server and one
// browser for the whole run: sign in through the form with a username and
// password (a wrong one refused), My sessions (revoke one, sign out
// everywhere); upload a JPEG, an MP4 and a PDF
// through Uppy (tus) and watch them turn ready live; the JPEG in deep zoom
// (IIIF tiles seen), edited and tagged; collections created, filled and
// reordered by keyboard and by drag and drop; bulk selection (keyboard
// range) with bulk tags and add-to-collection; the MP4 playing through hls.js (currentTime
// advancing) with its storyboard; the PDF's pages in deep zoom and its
// text; a panorama in Pannellum; audio with its waveform and a playhead that seeks; search by a word
// of the PDF's text, filters (tag, collection, capture date, kind) and
// sort; not-found states; the audit log (a locked username unlocked, filters); a project's access and custom fields; the first 50 thumbnails' speed (navigation start
// to the 50th thumbnail's load, measured in the page, printed as SPEED); pause/resume;
// sign out. Everything runs through the real pipeline. One screenshot per
// page lands in test-output/ui/ and each must be more than one colour.
func TestBrowserE2E(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"/usr/bin/chromium", "/usr/bin/convert", "node", "npm", "ffmpeg", "exiftool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run STOR_SETUP_TESTS=1 scripts/setup.sh (%v)", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
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
	run(t, ctx, tmp, nil, "exiftool", "-q", "-overwrite_original", "-DateTimeOriginal=2019:05:04 10:30:00", jpeg)
	small := filepath.Join(tmp, "small.jpg")
	run(t, ctx, tmp, nil, "/usr/bin/convert", "-size", "96x64", "plasma:fractal", "-quality", "80", small)
	mp4 := filepath.Join(tmp, "quayside clip e2e.mp4")
	run(t, ctx, tmp, nil, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=6:size=640x360:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-shortest", "-movflags", "+faststart", mp4)
	pdfFile := filepath.Join(tmp, "ledger e2e.pdf")
	if err := os.WriteFile(pdfFile, pdf([][2]int{{595, 842}, {842, 595}},
		[]string{"Quokkaphile ledger of the harbour master", "Second page: tides and moorings"}), 0o644); err != nil {
		t.Fatal(err)
	}
	pano := filepath.Join(tmp, "pano e2e.jpg")
	run(t, ctx, tmp, nil, "/usr/bin/convert", "-size", "4096x2048", "gradient:#87ceeb-#2e8b57",
		"-fill", "#ffd166", "-draw", "circle 1024,700 1024,560", "-fill", "#264653", "-draw", "rectangle 2600,900 3400,1400",
		"-quality", "85", pano)
	run(t, ctx, tmp, nil, "exiftool", "-q", "-overwrite_original", "-XMP-GPano:ProjectionType=equirectangular",
		"-XMP-GPano:UsePanoramaViewer=True", pano)
	// A cube panorama as one 6:1 strip of square faces (front, right, back,
	// left, up, down), each its own colour.
	cube := filepath.Join(tmp, "cube e2e.jpg")
	run(t, ctx, tmp, nil, "/usr/bin/convert", "-size", "512x512", "xc:#e63946", "xc:#f4a261", "xc:#2a9d8f",
		"xc:#264653", "xc:#a8dadc", "xc:#6d597a", "+append", "-quality", "85", cube)
	wav := filepath.Join(tmp, "tone e2e.wav")
	run(t, ctx, tmp, nil, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=3", wav)

	shots := filepath.Join(root, "test-output", "ui")
	env := []string{"STOR_JPEG=" + jpeg, "STOR_SMALL=" + small, "STOR_SHOTS=" + shots,
		"STOR_MP4=" + mp4, "STOR_PDF=" + pdfFile, "STOR_PANO=" + pano, "STOR_CUBE=" + cube, "STOR_WAV=" + wav}
	// One retry, on a fresh server and data directory: the script drives a
	// real browser against a real pipeline on a shared, busy machine, and a
	// single lost race there should not hide the rest of the suite. The
	// first failure is still printed, on one line, so a flake is seen and
	// fixed; a bug that fails twice fails the test.
	for attempt := 1; ; attempt++ {
		out, serverLog, err := browserRun(t, ctx, bin, root, filepath.Join(tmp, fmt.Sprintf("data-%d", attempt)), shots, env)
		if err == nil {
			break
		}
		if attempt == 2 || ctx.Err() != nil {
			t.Fatalf("web/test/e2e.mjs failed: %v: %s\n--- server log ---\n%s", err, failureLine(out), tail(serverLog, 4000))
		}
		t.Logf("FLAKY: web/test/e2e.mjs failed on attempt 1, retrying on a fresh server: %v: %s", err, failureLine(out))
		t.Logf("server log of attempt 1:\n%s", tail(serverLog, 4000))
	}

	names := []string{"signin", "sessions", "upload-selected", "upload", "asset", "collections", "collection", "viewer-video",
		"viewer-document", "viewer-pano", "viewer-cube", "viewer-audio", "grid", "grid-bulk", "search", "search-narrow", "admin", "users"}
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

// browserRun starts `stor serve` on a free loopback port with dataDir and
// runs web/test/e2e.mjs against it; it returns the script's output and
// the server's log.
func browserRun(t *testing.T, ctx context.Context, bin, root, dataDir, shots string, env []string) (string, string, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	const token = "stor_e2e_browser_test_token_0123456789"
	var serverLog bytes.Buffer
	srv := proc.Command(ctx, bin, "serve")
	srv.Env = append(os.Environ(), "STOR_ADDR="+addr, "STOR_DATA_DIR="+dataDir,
		"STOR_BOOTSTRAP_TOKEN="+token, "STOR_LOG_FORMAT=text", "STOR_LOG_LEVEL=warn",
		// The test machine is shared and busy: heavy tasks must not wait for it.
		"STOR_MAX_LOAD_PER_CPU=0", "STOR_SIGNIN_LOCKOUT_ATTEMPTS=4",
		"STOR_POLL_INTERVAL=50ms", "STOR_RETRY_BASE=1s")
	srv.Stdout, srv.Stderr = &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopServer(srv)
	base := "http://" + addr
	waitHealthy(t, base, &serverLog)

	os.RemoveAll(shots)
	start := time.Now()
	out, err := run2(ctx, filepath.Join(root, "web"), append([]string{"STOR_URL=" + base, "STOR_TOKEN=" + token}, env...),
		"node", "test/e2e.mjs")
	t.Logf("browser test took %s:\n%s", time.Since(start).Round(100*time.Millisecond), out)
	stopServer(srv) // before reading its log (stopping twice is harmless)
	return out, serverLog.String(), err
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

// pdf writes a PDF by hand: one page per size (points), each with a line
// of text.
func pdf(sizes [][2]int, texts []string) []byte {
	var b bytes.Buffer
	var offs []int
	obj := func(s string) {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offs), s)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	// 1 catalog, 2 pages, 3 font, then page i at 4+2i and its content at 5+2i.
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range sizes {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", len(sizes), strings.Join(kids, " ")))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i, sz := range sizes {
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>",
			sz[0], sz[1], 5+2*i))
		content := fmt.Sprintf("BT /F1 24 Tf 40 %d Td (%s) Tj ET 0.2 0.4 0.6 rg 40 40 %d %d re f", sz[1]-80, texts[i], sz[0]-80, sz[1]/2)
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, xref)
	return b.Bytes()
}

// failureLine puts a browser script's reason and its last passed step on
// one line: CI summaries keep a test's first line and drop indented ones.
func failureLine(out string) string {
	var last, fail string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "FAIL:"):
			fail = l
		case strings.HasPrefix(l, "[") && fail == "":
			last = l
		}
	}
	if fail == "" {
		fail = "no FAIL line: " + tail(strings.TrimSpace(out), 300)
	}
	return strings.ReplaceAll(fail+" (last step passed: "+last+")", "\n", " | ")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// stopServer ends a stor serve started by a test: SIGTERM, then a kill if
// it has not drained in 15 s.
func stopServer(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}
