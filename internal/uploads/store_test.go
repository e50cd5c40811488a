package uploads

import (
	"bytes"
	"context"
	"crypto/md5"
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

// Many small PATCHes, checkpoints every 64 KiB of the upload (not of each
// PATCH), and two restarts in the middle (a new Store on the same
// directory: the running hashes kept in memory are gone, so the bytes
// after the last checkpoint are hashed again from the file). Both
// checksums come out right, and the saved state never claims more than
// the file holds.
func TestHashAcrossPatchesAndRestarts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.every = 64 << 10
	data := make([]byte, 1<<20+12345)
	for i := range data {
		data[i] = byte(i * 7 / 3)
	}
	u, err := s.NewUpload(ctx, handler.FileInfo{Size: int64(len(data)), MetaData: handler.MetaData{"filename": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := u.GetInfo(ctx)
	const patch = 37 << 10
	checkpoints := map[int64]bool{}
	for off, n := int64(0), 0; off < int64(len(data)); n++ {
		if n == 9 || n == 20 { // restart
			if s, err = NewStore(dir); err != nil {
				t.Fatal(err)
			}
			s.every = 64 << 10
		}
		u, err := s.GetUpload(ctx, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		end := min(off+patch, int64(len(data)))
		w, err := u.WriteChunk(ctx, off, bytes.NewReader(data[off:end]))
		if err != nil || w != end-off {
			t.Fatal(w, err)
		}
		off = end
		st, err := s.readState(info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Offset > off {
			t.Fatalf("state claims %d bytes, file has %d", st.Offset, off)
		}
		checkpoints[st.Offset] = true
	}
	if len(checkpoints) < 10 {
		t.Fatalf("only %d distinct checkpoints for %d bytes", len(checkpoints), len(data))
	}
	sp, _, err := s.finished(info.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	wantMD5 := md5.Sum(data)
	if sp.SHA256 != hex.EncodeToString(want[:]) || sp.MD5 != hex.EncodeToString(wantMD5[:]) || sp.Size != int64(len(data)) {
		t.Fatalf("got %s %s %d", sp.SHA256, sp.MD5, sp.Size)
	}
}
