package doctask

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	// A conversion that passes its time limit fails with that reason and
	// takes the (maybe wedged) instance down with it; the next one starts
	// a fresh instance.
	pid := c.warm.Process.Pid
	c.cfg.Timeout = 5 * time.Millisecond
	start := time.Now()
	_, err = c.ToPDF(context.Background(), docx, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "did not finish within 5ms") || time.Since(start) > 5*time.Second {
		t.Fatalf("timed-out conversion: %v after %v", err, time.Since(start))
	}
	if c.warm != nil {
		t.Fatal("the instance survived a timed-out conversion")
	}
	for i := 0; syscall.Kill(-pid, 0) == nil; i++ { // zombies may take a moment to be reaped
		if i == 50 {
			t.Errorf("process group %d still alive", pid)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.cfg.Timeout = 3 * time.Minute
	if _, err := c.ToPDF(context.Background(), docx, t.TempDir()); err != nil {
		t.Fatalf("conversion after the restart: %v", err)
	}
}
