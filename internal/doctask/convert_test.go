package doctask

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestConverterWarm converts twice through one warm instance, and a
// broken document fails with ErrConvert without killing it.
func TestConverterWarm(t *testing.T) {
	dir := t.TempDir()
	docx := makeOffice(t, dir, "docx", "Hello warm converter\fSecond page")
	c, err := NewConverter(ConverterConfig{ProfileDir: filepath.Join(dir, "profile"), Timeout: 10 * time.Minute,
		StartTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 2 {
		out := t.TempDir()
		start := time.Now()
		pdf, err := c.ToPDF(context.Background(), docx, out)
		if err != nil {
			t.Fatalf("conversion %d: %v", i, err)
		}
		t.Logf("conversion %d: %v", i, time.Since(start))
		if b, err := exec.Command("pdfinfo", pdf).CombinedOutput(); err != nil {
			t.Fatalf("pdfinfo: %v: %s", err, b)
		}
	}
	// A conversion that passes its time limit fails with that reason and
	// takes the (maybe wedged) instance down with it; the next one starts
	// a fresh instance.
	pid := c.all[0].warm.Process.Pid
	c.cfg.Timeout = 5 * time.Millisecond
	start := time.Now()
	_, err = c.ToPDF(context.Background(), docx, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "did not finish within 5ms") || time.Since(start) > 5*time.Second {
		t.Fatalf("timed-out conversion: %v after %v", err, time.Since(start))
	}
	if c.all[0].warm != nil {
		t.Fatal("the instance survived a timed-out conversion")
	}
	for i := 0; syscall.Kill(-pid, 0) == nil; i++ { // zombies may take a moment to be reaped
		if i == 50 {
			t.Errorf("process group %d still alive", pid)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.cfg.Timeout = 10 * time.Minute
	if _, err := c.ToPDF(context.Background(), docx, t.TempDir()); err != nil {
		t.Fatalf("conversion after the restart: %v", err)
	}
}

// linkedDoc is a flat ODF text document whose picture is an external link
// to url, loaded when the document is laid out.
func linkedDoc(t *testing.T, dir, url string) string {
	t.Helper()
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:body><office:text><text:p>Linked picture<draw:frame draw:name="pic" text:anchor-type="as-char" svg:width="2cm" svg:height="2cm"><draw:image xlink:href="` + url + `" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p>
<text:p><text:a xlink:type="simple" xlink:href="` + url + `?a">a link</text:a></text:p></office:text></office:body></office:document>
`
	p := filepath.Join(dir, "linked.fodt")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A document that links a remote picture converts without any request
// leaving soffice: it runs in a network namespace with no interface up.
// The same document converted with the isolation off does fetch the
// picture, so the listener would have seen it.
func TestConverterNoNetwork(t *testing.T) {
	var hits atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		t.Logf("request from soffice: %s %s", r.Method, r.URL)
		w.Header().Set("Content-Type", "image/png")
		w.Write(onePixelPNG)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	dir := t.TempDir()
	doc := linkedDoc(t, dir, "http://"+ln.Addr().String()+"/pic.png")

	c, err := NewConverter(ConverterConfig{ProfileDir: filepath.Join(dir, "profile"), Timeout: 10 * time.Minute,
		StartTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pdf, err := c.ToPDF(context.Background(), doc, t.TempDir())
	if err != nil {
		t.Fatalf("isolated conversion: %v", err)
	}
	if b, err := exec.Command("pdftotext", pdf, "-").CombinedOutput(); err != nil || !strings.Contains(string(b), "Linked picture") {
		t.Fatalf("pdftotext: %v: %s", err, b)
	}
	// soffice's own view of the network: a down loopback and nothing else.
	pid := c.all[0].warm.Process.Pid
	dev, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(dev), "\n")[2:] {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && name != "lo" {
			t.Errorf("the converter sees interface %q", name)
		}
	}
	// The namespace alone stops the fetch: a plain profile (without the
	// hardened settings, which block remote pictures too) converting
	// cold (soffice --convert-to, which then does fetch, see below)
	// makes no request either.
	cold, err := NewConverter(ConverterConfig{ProfileDir: filepath.Join(dir, "profile-cold"), Timeout: 10 * time.Minute, Cold: true,
		bareProfile: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cold.ToPDF(context.Background(), doc, t.TempDir()); err != nil {
		t.Fatalf("isolated cold conversion: %v", err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the isolated converters made %d requests", n)
	}

	// Control: the same plain profile without the namespace does fetch
	// the picture.
	open, err := NewConverter(ConverterConfig{ProfileDir: filepath.Join(dir, "profile-open"), Timeout: 10 * time.Minute,
		Cold: true, withNetwork: true, bareProfile: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open.ToPDF(context.Background(), doc, t.TempDir()); err != nil {
		t.Fatalf("open conversion: %v", err)
	}
	if hits.Load() == 0 {
		t.Fatal("control: LibreOffice did not fetch the linked picture without isolation, so the test shows nothing")
	}

	// Fail closed: a machine where the namespace cannot be made converts
	// nothing.
	broken, err := NewConverter(ConverterConfig{ProfileDir: filepath.Join(dir, "profile-broken"), Unshare: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	if _, err := broken.ToPDF(context.Background(), doc, t.TempDir()); !errors.Is(err, ErrNoIsolation) {
		t.Fatalf("without namespaces: %v, want ErrNoIsolation", err)
	}
}

// onePixelPNG is a 1×1 PNG.
var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82")

// A pool of two converts two documents at once on two instances, each
// with its own profile.
func TestConverterPool(t *testing.T) {
	dir := t.TempDir()
	docx := makeOffice(t, dir, "docx", "Pool page one\fPool page two")
	c, err := NewConverter(ConverterConfig{ProfileDir: filepath.Join(dir, "profile"), Pool: 2, Timeout: 10 * time.Minute,
		StartTimeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.ToPDF(context.Background(), docx, t.TempDir())
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if c.all[0].warm == nil || c.all[1].warm == nil || c.all[0].warm.Process.Pid == c.all[1].warm.Process.Pid {
		t.Fatal("two conversions at once did not use two instances")
	}
	for _, p := range []string{"warm-0", "warm-1"} {
		if _, err := os.Stat(filepath.Join(dir, "profile", p, "user", "registrymodifications.xcu")); err != nil {
			t.Errorf("profile %s: %v", p, err)
		}
	}
}
