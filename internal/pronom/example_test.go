package pronom_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"stor/internal/pronom"
)

func Example() {
	id, err := pronom.New() // once at start: loads and warms the signatures
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "upload")
	// The smallest GIF: a PNG-named upload that is really a GIF.
	_ = os.WriteFile(path, []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), 0o644)

	r, err := id.Identify(context.Background(), path, "picture.png")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.PUID, r.MIME, r.ExtensionMismatch)
	fmt.Println(r.ExtensionWarning)
	// Output:
	// fmt/4 image/gif true
	// file extension ".png" does not match the identified format fmt/4 (Graphics Interchange Format)
}
