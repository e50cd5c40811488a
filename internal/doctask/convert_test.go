package doctask

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestConverterWarm converts twice through one warm instance, and a
// broken document fails with ErrConvert without killing it.
func TestConverterWarm(t *testing.T) {
	dir := t.TempDir()
	docx := makeOffice(t, dir, "docx", "Hello warm converter\fSecond page")
	c, err := NewConverter(ConverterConfig{ProfileDir: filepath.Join(dir, "profile"), Timeout: 3 * time.Minute})
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
}
