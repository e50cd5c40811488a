package disk_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"stor/internal/storage"
	"stor/internal/storage/disk"
	"stor/internal/storage/storagetest"
)

func TestStore(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := disk.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestNoPathsEscape checks, on the real filesystem, that nothing the suite's
// bad keys could reach was written outside the root.
func TestNoPathsEscape(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	s, err := disk.New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../escaped", "a/../../escaped", "/tmp/escaped"} {
		s.Put(context.Background(), key, strings.NewReader("x"))
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 || entries[0].Name() != "root" {
		t.Errorf("bad keys wrote beside the root: %v", entries)
	}
}

func TestAdoptFile(t *testing.T) {
	dir := t.TempDir()
	s, err := disk.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "upload")
	if err := os.WriteFile(src, []byte("adopted bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.AdoptFile(context.Background(), "originals/x", src); err != nil {
		t.Fatalf("AdoptFile: %v", err)
	}
	if _, err := os.Stat(src); !os.IsNotExist(err) {
		t.Errorf("the adopted source file is still there: %v", err)
	}
	rc, err := s.Open(context.Background(), "originals/x", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b := make([]byte, 100)
	n, _ := rc.Read(b)
	if string(b[:n]) != "adopted bytes" {
		t.Errorf("adopted object reads %q", b[:n])
	}
	if err := s.AdoptFile(context.Background(), "../x", src); err == nil {
		t.Errorf("AdoptFile accepted a bad key")
	}
}
