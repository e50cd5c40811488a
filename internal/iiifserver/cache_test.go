package iiifserver

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"
)

func put(t *testing.T, c *DiskCache, name string, n int) (string, func()) {
	t.Helper()
	p, rel, err := c.Put(name, func(w io.Writer) error { _, err := w.Write(bytes.Repeat([]byte{'x'}, n)); return err })
	if err != nil {
		t.Fatal(err)
	}
	return p, rel
}

// TestDiskCacheLRU checks eviction by size in LRU order, pinning, and the
// index rebuilt from disk at open.
func TestDiskCacheLRU(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenDiskCache(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	_, rel := put(t, c, "aa1", 400)
	rel()
	_, rel = put(t, c, "bb2", 400)
	rel()
	if _, rel, ok := c.Get("aa1"); !ok { // aa1 is now the most recent
		t.Fatal("aa1 missing")
	} else {
		rel()
	}
	_, rel = put(t, c, "cc3", 400) // over 1000: the least recent (bb2) goes
	rel()
	if _, _, ok := c.Get("bb2"); ok {
		t.Error("bb2 should have been evicted")
	}
	if c.Size() != 800 {
		t.Errorf("size %d, want 800", c.Size())
	}
	// A pinned entry survives pressure; it goes once released.
	pa, relA, _ := c.Get("aa1")
	_, rel = put(t, c, "dd4", 900)
	rel()
	if _, err := os.Stat(pa); err != nil {
		t.Fatalf("pinned file evicted: %v", err)
	}
	relA()
	relA() // idempotent
	if c.Size() > 1000 {
		t.Errorf("size %d over the limit once nothing is pinned", c.Size())
	}
	// A file larger than the cache is usable while pinned, then dropped.
	pb, relB := put(t, c, "ee5", 5000)
	if _, err := os.Stat(pb); err != nil {
		t.Fatal(err)
	}
	relB()
	if _, err := os.Stat(pb); !os.IsNotExist(err) {
		t.Errorf("oversized file kept: %v", err)
	}
	// Reopen: the index comes back from the directory, least recent first.
	put(t, c, "ff6", 10)
	time.Sleep(20 * time.Millisecond)
	c2, err := OpenDiskCache(dir, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Size() != c.Size() {
		t.Errorf("reopened size %d, want %d", c2.Size(), c.Size())
	}
	if _, rel, ok := c2.Get("ff6"); !ok {
		t.Error("ff6 lost on reopen")
	} else {
		rel()
	}
	if _, _, err := c.Put("../x", nil); err == nil {
		t.Error("bad name accepted")
	}
}
