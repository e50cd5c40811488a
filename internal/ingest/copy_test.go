package ingest

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
)

// Appends with O_DIRECT where possible: starting at unaligned offsets (a
// resumed upload), with short reads and a short last buffer, on the disk
// the tests run on and on tmpfs.
// The file holds exactly the bytes, and the sinks saw exactly them.
func TestCopierDirectAppends(t *testing.T) {
	data := make([]byte, 9<<20+777)
	for i := range data {
		data[i] = byte(i*31 + i>>13)
	}
	dirs := map[string]string{"disk": t.TempDir()}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "stor-copy-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		dirs["tmpfs"] = d
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			// Cut points: aligned, unaligned, tiny, and whole MiB plus odd.
			cuts := []int{0, 4096, 5000, 5001, 1<<20 + 4096, 3<<20 + 123, 3<<20 + 8192, 8<<20 + 1, len(data)}
			path := filepath.Join(dir, "out")
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h := sha256.New()
			var direct int64
			for i := 1; i < len(cuts); i++ {
				part := data[cuts[i-1]:cuts[i]]
				var r io.Reader = bytes.NewReader(part)
				if i%2 == 0 {
					r = iotest.HalfReader(r)
				}
				c := Copier{File: f, Sinks: []io.Writer{h}, Direct: true, Offset: int64(cuts[i-1])}
				n, err := c.Copy(r)
				if err != nil || n != int64(len(part)) {
					t.Fatalf("part %d: %d %v", i, n, err)
				}
				direct += c.directBytes
				// A plain write after a copy still appends (O_DIRECT is
				// cleared when the copy ends).
				if fi, _ := f.Stat(); fi.Size() != int64(cuts[i]) {
					t.Fatalf("part %d: size %d, want %d", i, fi.Size(), cuts[i])
				}
			}
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("file content differs")
			}
			if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Fatal("sink saw other bytes")
			}
			// Most of it bypassed the page cache on the disk (tmpfs takes
			// O_DIRECT as a no-op on recent kernels, refuses it on old ones).
			if name == "disk" && direct < int64(len(data))/2 {
				t.Fatalf("%d of %d bytes written with O_DIRECT on %s", direct, len(data), name)
			}
			t.Logf("%d of %d bytes with O_DIRECT", direct, len(data))
		})
	}
}
