package pronom

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

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
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

const tinyPDF = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>\nendobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n"

// samples writes one file per format and returns their paths by name.
func samples(t *testing.T) map[string]string {
	need(t, "vips")
	dir := t.TempDir()
	files := map[string]string{}
	for _, name := range []string{"a.png", "a.tif", "a.jpg"} {
		p := filepath.Join(dir, name)
		run(t, "vips", "black", p, "16", "16", "--bands", "3")
		files[name] = p
	}
	// ImageMagick writes a plain JFIF file (JFIF APP0, no Exif).
	need(t, "convert")
	files["jfif.jpg"] = filepath.Join(dir, "jfif.jpg")
	run(t, "convert", "-size", "16x16", "xc:gray", files["jfif.jpg"])
	files["a.pdf"] = filepath.Join(dir, "a.pdf")
	if err := os.WriteFile(files["a.pdf"], []byte(tinyPDF), 0o644); err != nil {
		t.Fatal(err)
	}
	return files
}

func TestIdentify(t *testing.T) {
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("signatures: %s", id.SignatureVersion())
	files := samples(t)
	for _, tc := range []struct {
		file, puid, mime string
	}{
		{"a.png", "fmt/11", "image/png"},
		{"a.tif", "fmt/353", "image/tiff"},
		// vips writes an Exif APP1 block: Exif 2.1 compressed.
		{"a.jpg", "x-fmt/390", "image/jpeg"},
		{"jfif.jpg", "fmt/43", "image/jpeg"},
		{"a.pdf", "fmt/18", "application/pdf"},
	} {
		r, err := id.Identify(context.Background(), files[tc.file], tc.file)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		t.Logf("%s: %+v", tc.file, r)
		if r.PUID != tc.puid || r.MIME != tc.mime || !r.Known || r.ExtensionMismatch {
			t.Errorf("%s: got %+v, want %s %s", tc.file, r, tc.puid, tc.mime)
		}
		if r.Format == "" || len(r.Basis) == 0 || r.SignatureVersion == "" {
			t.Errorf("%s: incomplete result %+v", tc.file, r)
		}
	}
}

func TestExtensionMismatch(t *testing.T) {
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	files := samples(t)
	r, err := id.Identify(context.Background(), files["a.png"], "holiday.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if r.PUID != "fmt/11" || !r.ExtensionMismatch {
		t.Fatalf("PNG named .jpg: %+v", r)
	}
	if !strings.Contains(r.ExtensionWarning, `".jpg"`) || !strings.Contains(r.ExtensionWarning, "fmt/11") {
		t.Errorf("warning %q", r.ExtensionWarning)
	}
	// Upper-case extension of the right format, and no name at all: no warning.
	for _, name := range []string{"HOLIDAY.PNG", ""} {
		r, err = id.Identify(context.Background(), files["a.png"], name)
		if err != nil || r.PUID != "fmt/11" || r.ExtensionMismatch {
			t.Errorf("name %q: %+v %v", name, r, err)
		}
	}
}

func TestIdentifyUnknownAndErrors(t *testing.T) {
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "noise.xyzzy")
	if err := os.WriteFile(f, []byte(strings.Repeat("\x13\x37 stor noise ", 50)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := id.Identify(context.Background(), f, "noise.xyzzy")
	if err != nil {
		t.Fatal(err)
	}
	if r.Known || r.PUID != "UNKNOWN" || r.ExtensionMismatch {
		t.Errorf("noise: %+v", r)
	}
	if _, err := id.Identify(context.Background(), filepath.Join(dir, "missing"), ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := id.Identify(ctx, f, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestIdentifyConcurrent(t *testing.T) {
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	files := samples(t)
	want := map[string]string{"a.png": "fmt/11", "a.tif": "fmt/353", "a.pdf": "fmt/18", "jfif.jpg": "fmt/43"}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			names := []string{"a.png", "a.tif", "a.pdf", "jfif.jpg"}
			name := names[i%len(names)]
			r, err := id.Identify(context.Background(), files[name], name)
			if err != nil || r.PUID != want[name] {
				t.Errorf("%s: %+v %v", name, r, err)
			}
		})
	}
	wg.Wait()
}

// TestIdentifyEnds: a video identified from its head and tail only gets
// the same result as from the whole file, byte-match offsets included
// (the MP4's moov box is at the end: ffmpeg writes it last).
func TestIdentifyEnds(t *testing.T) {
	need(t, "ffmpeg")
	id, err := New()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "clip.mp4")
	run(t, "ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=duration=3:size=320x240:rate=25",
		"-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", p)
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	const window = 64 << 10
	if st.Size() < 4*window {
		t.Fatalf("clip too small for the test: %d bytes", st.Size())
	}
	whole, err := id.Identify(context.Background(), p, "clip.mp4")
	if err != nil {
		t.Fatal(err)
	}
	ends, err := id.IdentifyEnds(context.Background(), p, "clip.mp4", window)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("whole: %+v", whole)
	t.Logf("ends:  %+v", ends)
	if whole.PUID != "fmt/199" || ends.PUID != whole.PUID || ends.MIME != whole.MIME ||
		strings.Join(ends.Basis, "|") != strings.Join(whole.Basis, "|") {
		t.Errorf("head and tail: %+v, whole file: %+v", ends, whole)
	}
	// A file smaller than two windows is read whole.
	small, err := id.IdentifyEnds(context.Background(), p, "clip.mp4", st.Size())
	if err != nil || strings.Join(small.Basis, "|") != strings.Join(whole.Basis, "|") {
		t.Errorf("window larger than the file: %+v, %v", small, err)
	}
}
