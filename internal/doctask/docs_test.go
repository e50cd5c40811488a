package doctask

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeOffice writes text (form feeds start new pages) as a document of
// format ext (docx, xlsx, pptx, odt…) with LibreOffice itself.
func makeOffice(t testing.TB, dir, ext, text string) string {
	t.Helper()
	src := filepath.Join(dir, "src-"+ext+".txt")
	if err := os.WriteFile(src, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(dir, "maker-profile")
	cmd := exec.Command("soffice", "-env:UserInstallation=file://"+prof, "--headless", "--norestore",
		"--convert-to", ext, "--outdir", dir, src)
	cmd.Env = append(os.Environ(), "HOME="+prof)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice --convert-to %s: %v: %s", ext, err, b)
	}
	out := strings.TrimSuffix(src, ".txt") + "." + ext
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("soffice wrote no %s: %v", ext, err)
	}
	return out
}
