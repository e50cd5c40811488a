package metatask_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
)

const adminToken = "stor_metatask_test_admin_0123456789"

// testNode is a real node (SQLite, disk store, workers, HTTP on loopback).
type testNode struct {
	*node.Node
	url  string
	logs *syncBuffer
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

func startNode(t *testing.T, configure ...func(*config.Config)) *testNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = t.TempDir()
	cfg.BootstrapToken = adminToken
	cfg.Workers, cfg.HeavyWorkers = 3, 1
	cfg.PollInterval = 50 * time.Millisecond
	cfg.RetryBase = 200 * time.Millisecond
	cfg.LogLevel = "debug"
	for _, fn := range configure {
		fn(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx := context.Background()
	// The shared test machine is often loaded: heavy tasks (OCR) must not
	// wait for it to calm down.
	cfg.MaxLoadPerCPU = 0
	n, err := node.Open(ctx, cfg, logging.New(logs, "json", cfg.LogLevel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Bootstrap(ctx, n.DB.Writer(), adminToken); err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Serve(ln) }()
	tn := &testNode{Node: n, url: "http://" + cfg.Addr, logs: logs}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		n.Shutdown(sctx)
		n.Stop(sctx)
		<-done
		n.Close()
		if t.Failed() {
			l := logs.String()
			if len(l) > 12000 {
				l = l[len(l)-12000:]
			}
			t.Logf("node logs (tail):\n%s", l)
		}
	})
	return tn
}

func (n *testNode) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func (n *testNode) getJSON(t *testing.T, path string, wantStatus int, v any) {
	t.Helper()
	st, _, b := n.do(t, "GET", path, nil, nil)
	if st != wantStatus {
		t.Fatalf("GET %s: status %d, want %d: %.500s", path, st, wantStatus, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %.300s", path, err, b)
		}
	}
}

// upload sends data as filename and returns the new asset's id.
func (n *testNode) upload(t *testing.T, filename string, data []byte) string {
	t.Helper()
	st, _, b := n.do(t, "POST", "/api/v1/assets", bytes.NewReader(data),
		map[string]string{"Content-Disposition": fmt.Sprintf("attachment; filename=%q", filename)})
	if st != http.StatusCreated {
		t.Fatalf("upload %s: %d %s", filename, st, b)
	}
	var a struct{ ID string }
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

type taskView struct {
	Name      string  `json:"name"`
	State     string  `json:"state"`
	LastError *string `json:"last_error"`
}

// settle waits until every task of the asset has finished (succeeded,
// failed or skipped) and the asset left processing; it returns the asset
// JSON and its tasks by name.
func (n *testNode) settle(t *testing.T, id string, within time.Duration) (assetView, map[string]taskView) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var tasks struct{ Items []taskView }
		n.getJSON(t, "/api/v1/assets/"+id+"/tasks", 200, &tasks)
		var a assetView
		n.getJSON(t, "/api/v1/assets/"+id, 200, &a)
		byName := map[string]taskView{}
		busy := len(tasks.Items) < 2 // analyze, then what it queued
		for _, tk := range tasks.Items {
			byName[tk.Name] = tk
			switch tk.State {
			case "succeeded", "failed", "skipped":
			default:
				busy = true
			}
		}
		if !busy && (a.State == "ready" || a.State == "failed") {
			return a, byName
		}
		if time.Now().After(deadline) {
			t.Fatalf("asset %s not settled within %s: state %s, tasks %+v", id, within, a.State, tasks.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type assetView struct {
	ID          string   `json:"id"`
	Filename    string   `json:"filename"`
	SHA256      string   `json:"sha256"`
	Format      string   `json:"format"`
	PRONOM      string   `json:"pronom"`
	State       string   `json:"state"`
	Error       *string  `json:"error"`
	Width       *int     `json:"width"`
	Height      *int     `json:"height"`
	PageCount   *int     `json:"page_count"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Creator     string   `json:"creator"`
	Rights      string   `json:"rights"`
	Keywords    []string `json:"keywords"`
	CaptureDate string   `json:"capture_date"`
	Camera      *struct {
		Make, Model, Lens string
	} `json:"camera"`
	GPS *struct {
		Lat, Lon float64
	} `json:"gps"`
	Warnings []struct {
		Source, Message string
	} `json:"warnings"`
}

// ---- media made in the tests ----

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// makeJPEG writes a small JPEG with ImageMagick and returns its path.
func makeJPEG(t *testing.T, dir, name string, w, h int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	run(t, "/usr/bin/convert", "-size", fmt.Sprintf("%dx%d", w, h), "gradient:skyblue-navy", p)
	return p
}

// exiftoolWrite writes tags into path in place.
func exiftoolWrite(t *testing.T, path string, args ...string) {
	t.Helper()
	run(t, "exiftool", append(append([]string{"-q", "-overwrite_original"}, args...), path)...)
}

// textImage renders words as black text on white (PNG) with libvips.
func textImage(t *testing.T, dir, name, words string) string {
	t.Helper()
	v := filepath.Join(dir, name+".v")
	inv := filepath.Join(dir, name+"-inv.v")
	out := filepath.Join(dir, name)
	run(t, "vips", "text", v, words, "--dpi", "300")
	run(t, "vips", "invert", v, inv)
	w := strings.TrimSpace(string(run(t, "vipsheader", "-f", "width", v)))
	h := strings.TrimSpace(string(run(t, "vipsheader", "-f", "height", v)))
	var wi, hi int
	fmt.Sscan(w, &wi)
	fmt.Sscan(h, &hi)
	run(t, "vips", "embed", inv, out, "40", "40", fmt.Sprint(wi+80), fmt.Sprint(hi+80), "--extend", "white")
	return out
}

// pdfPage is one page of a hand-made PDF: text drawn with Helvetica (a
// real text layer), or a grayscale JPEG drawn full page (a "scan").
type pdfPage struct {
	Text string
	JPEG []byte
	W, H int // JPEG pixel size
}

// makePDF writes a minimal, valid PDF (with a correct xref table).
func makePDF(pages []pdfPage) []byte {
	var objs []string // object bodies; object i+1 is objs[i]
	add := func(s string) int { objs = append(objs, s); return len(objs) }
	catalog := add("") // filled later
	pagesObj := add("")
	font := add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	var kids []string
	for _, p := range pages {
		var content, res string
		if p.JPEG != nil {
			img := add(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "+
				"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream", p.W, p.H, len(p.JPEG), p.JPEG))
			content = fmt.Sprintf("q 500 0 0 %d 50 500 cm /Im1 Do Q", 500*p.H/p.W)
			res = fmt.Sprintf("<< /XObject << /Im1 %d 0 R >> >>", img)
		} else {
			content = fmt.Sprintf("BT /F1 24 Tf 72 700 Td (%s) Tj ET", p.Text)
			res = fmt.Sprintf("<< /Font << /F1 %d 0 R >> >>", font)
		}
		c := add(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
		pg := add(fmt.Sprintf("<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>",
			pagesObj, res, c))
		kids = append(kids, fmt.Sprintf("%d 0 R", pg))
	}
	objs[catalog-1] = fmt.Sprintf("<< /Type /Catalog /Pages %d 0 R >>", pagesObj)
	objs[pagesObj-1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages))
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, catalog, xref)
	return b.Bytes()
}

// pngWithChunk inserts a chunk before a PNG's IEND.
func pngWithChunk(t *testing.T, png []byte, typ string, data []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(png, []byte("IEND"))
	if i < 4 {
		t.Fatal("no IEND in PNG")
	}
	var chunk bytes.Buffer
	l := len(data)
	chunk.Write([]byte{byte(l >> 24), byte(l >> 16), byte(l >> 8), byte(l)})
	chunk.WriteString(typ)
	chunk.Write(data)
	crc := crc32.ChecksumIEEE(append([]byte(typ), data...))
	chunk.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	out := append([]byte(nil), png[:i-4]...)
	out = append(out, chunk.Bytes()...)
	return append(out, png[i-4:]...)
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fmtSscan(s string, v *int) (int, error) { return fmt.Sscan(strings.TrimSpace(s), v) }
