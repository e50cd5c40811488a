package exiftool_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"stor/internal/exiftool"
)

// A pool is made once at start and shared; each call is one file.
func Example() {
	ctx := context.Background()
	pool, err := exiftool.NewPool(exiftool.Config{Size: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()

	// Make an XMP sidecar from normalised fields, then read it back.
	xmp, err := pool.WriteXMPSidecar(ctx, exiftool.Normalized{
		Title:    "Harbour at dawn",
		Keywords: []string{"harbour", "Müller"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "photo.xmp")
	_ = os.WriteFile(path, xmp, 0o644)

	m, err := pool.Extract(ctx, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Normalized.Title, m.Normalized.Keywords)
	title, _ := m.Get("xmp", "XMP-dc:Title")
	fmt.Println(title.Display)
	// Output:
	// Harbour at dawn [harbour Müller]
	// Harbour at dawn
}
