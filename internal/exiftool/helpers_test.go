package exiftool

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// need fails the test (never skips) when a tool the suite depends on is
// missing: scripts/setup.sh installs them.
func need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (run scripts/setup.sh): %v", tool, err)
		}
	}
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out.String())
	}
}

// makeJPEG writes a small grey JPEG with vips.
func makeJPEG(t testing.TB, dir, name string, w, h int) string {
	t.Helper()
	need(t, "vips")
	p := filepath.Join(dir, name)
	run(t, "vips", "black", p+"[Q=80]", fmt.Sprint(w), fmt.Sprint(h), "--bands", "3")
	return p
}

// tag writes tags into file in place with the exiftool command line.
func tag(t testing.TB, file string, args ...string) {
	t.Helper()
	need(t, "exiftool")
	run(t, "exiftool", append(append([]string{"-overwrite_original"}, args...), file)...)
}

func newPool(t testing.TB, cfg Config) *Pool {
	t.Helper()
	need(t, "exiftool")
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func extract(t testing.TB, p *Pool, path string) *Metadata {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := p.Extract(ctx, path)
	if err != nil {
		t.Fatalf("Extract %s: %v", path, err)
	}
	return m
}

// writePDF writes a minimal valid PDF with pages empty pages and an Info
// dictionary, with a correct xref table.
func writePDF(t testing.TB, path string, pages int, title, author string) {
	t.Helper()
	var b bytes.Buffer
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	kids := ""
	for i := range pages {
		kids += fmt.Sprintf("%d 0 R ", 4+i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, pages))
	obj(fmt.Sprintf("<< /Title (%s) /Author (%s) /CreationDate (D:20220304050607+01'00') >>", title, author))
	for range pages {
		obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 300] >>")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
