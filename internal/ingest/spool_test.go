package ingest

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"testing/iotest"
)

// The spool file must hold exactly the body and both checksums must be
// those of the body, whatever its size relative to the chunk and buffer
// counts (the stages run at different speeds and share buffers).
func TestSpoolChecksumsAndContent(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 100, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 12345, (copyBuffers*3 + 1) * chunkSize} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(rng.Uint32())
		}
		// A reader that returns short reads, like a network body.
		sp, err := spool(dir, iotest.HalfReader(bytes.NewReader(body)), int64(size), true)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		got, err := os.ReadFile(sp.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("size %d: spool file differs from the body (%d bytes)", size, len(got))
		}
		s, m := sha256.Sum256(body), md5.Sum(body)
		if sp.SHA256 != hex.EncodeToString(s[:]) || sp.MD5 != hex.EncodeToString(m[:]) || sp.Size != int64(size) {
			t.Fatalf("size %d: got sha256 %s md5 %s size %d", size, sp.SHA256, sp.MD5, sp.Size)
		}
		if want := body[:min(size, HeadSize)]; !bytes.Equal(sp.Head, want) {
			t.Fatalf("size %d: head is %d bytes, want %d", size, len(sp.Head), len(want))
		}
		sp.Remove()
	}
}

// A body over the limit or a body cut short fails and leaves no file.
func TestSpoolFailuresLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	body := bytes.Repeat([]byte("x"), 5*chunkSize)
	if _, err := spool(dir, bytes.NewReader(body), int64(len(body))-1, true); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: got %v, want ErrTooLarge", err)
	}
	cut := io.MultiReader(bytes.NewReader(body[:2*chunkSize+7]), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := spool(dir, cut, int64(len(body)), true); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut short: got %v, want io.ErrUnexpectedEOF", err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("failed spools left %d files behind", len(left))
	}
}
