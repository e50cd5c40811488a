package uploads

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"testing"

	"github.com/tus/tusd/v2/pkg/handler"
)

// The hash state and the data file disagree after a crash: bytes past the
// last checkpoint are hashed from the file; a file shorter than the saved
// offset is hashed again from the start.
func TestHashStateRecovery(t *testing.T) {
	ctx := context.Background()
	s, err := NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	u, err := s.NewUpload(ctx, handler.FileInfo{Size: int64(len(data)), MetaData: handler.MetaData{"filename": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	if n, err := u.WriteChunk(ctx, 0, bytes.NewReader(data[:1000])); err != nil || n != 1000 {
		t.Fatal(n, err)
	}
	// Written after the last checkpoint, then the process died.
	f, err := os.OpenFile(s.binPath(info.ID), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(data[1000:6000])
	f.Close()
	u, err = s.GetUpload(ctx, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := u.GetInfo(ctx); info.Offset != 6000 {
		t.Fatalf("offset %d", info.Offset)
	}
	if _, err := u.WriteChunk(ctx, 6000, bytes.NewReader(data[6000:])); err != nil {
		t.Fatal(err)
	}
	sp, _, err := s.finished(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	if sp.SHA256 != hex.EncodeToString(want[:]) || sp.Size != int64(len(data)) {
		t.Fatalf("after a gap: %s %d", sp.SHA256, sp.Size)
	}
	// The file is cut below the saved offset.
	if err := os.Truncate(s.binPath(info.ID), 500); err != nil {
		t.Fatal(err)
	}
	sp, _, err = s.finished(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	want = sha256.Sum256(data[:500])
	if sp.SHA256 != hex.EncodeToString(want[:]) || sp.Size != 500 {
		t.Fatalf("after a cut: %s %d", sp.SHA256, sp.Size)
	}
}
