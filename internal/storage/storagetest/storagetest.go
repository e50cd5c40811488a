// Package storagetest is the one test suite every storage.Store backend
// must pass, run against the real thing (a directory for storage/disk, a
// real S3 server for an S3 store):
//
//	func TestStore(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t) })
//	}
//
// newStore must return an empty store that the test may fill.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sync"
	"testing"

	"stor/internal/storage"
)

// Run runs the whole suite; each case gets a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"PutOpenStat", testPutOpenStat},
		{"OpenRanges", testOpenRanges},
		{"Overwrite", testOverwrite},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"BadKeys", testBadKeys},
		{"AtomicPut", testAtomicPut},
		{"ConcurrentPutSameKey", testConcurrentPut},
		{"Empty", testEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

// payload is n deterministic, non-repeating-looking bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func put(t *testing.T, s storage.Store, key string, data []byte) {
	t.Helper()
	n, err := s.Put(context.Background(), key, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if n != int64(len(data)) {
		t.Fatalf("Put(%q) wrote %d bytes, want %d", key, n, len(data))
	}
}

func read(t *testing.T, s storage.Store, key string, off, length int64) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key, off, length)
	if err != nil {
		t.Fatalf("Open(%q, %d, %d): %v", key, off, length, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return b
}

func testPutOpenStat(t *testing.T, s storage.Store) {
	data := payload(3<<20+17, 1) // more than one write buffer, odd size
	key := "originals/sha256/ab/cd/abcdef"
	put(t, s, key, data)
	if got := read(t, s, key, 0, -1); !bytes.Equal(got, data) {
		t.Fatalf("Open returned %d bytes that differ from the %d put", len(got), len(data))
	}
	obj, err := s.Stat(context.Background(), key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if obj.Key != key || obj.Size != int64(len(data)) {
		t.Fatalf("Stat = %+v, want key %q size %d", obj, key, len(data))
	}
	if obj.ModTime.IsZero() {
		t.Errorf("Stat has no ModTime")
	}
}

func testOpenRanges(t *testing.T, s storage.Store) {
	data := payload(10000, 2)
	put(t, s, "r/obj", data)
	for _, c := range []struct{ off, length int64 }{
		{0, 100}, {0, -1}, {9900, 100}, {9900, -1}, {1234, 1}, {5000, 5000}, {9999, 1},
	} {
		want := data[c.off:]
		if c.length >= 0 {
			want = want[:c.length]
		}
		if got := read(t, s, "r/obj", c.off, c.length); !bytes.Equal(got, want) {
			t.Errorf("Open(off %d, len %d) = %d bytes, want the %d bytes at that range", c.off, c.length, len(got), len(want))
		}
	}
	// Asking past the end gives only what there is.
	if got := read(t, s, "r/obj", 9990, 100); !bytes.Equal(got, data[9990:]) {
		t.Errorf("Open past the end = %d bytes, want 10", len(got))
	}
}

func testOverwrite(t *testing.T, s storage.Store) {
	put(t, s, "k", []byte("first version"))
	put(t, s, "k", []byte("second"))
	if got := string(read(t, s, "k", 0, -1)); got != "second" {
		t.Fatalf("after overwrite got %q", got)
	}
}

func testMissing(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Stat(ctx, "no/such/object"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(missing) = %v, want fs.ErrNotExist", err)
	}
	if rc, err := s.Open(ctx, "no/such/object", 0, -1); !errors.Is(err, fs.ErrNotExist) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Open(missing) = %v, want fs.ErrNotExist", err)
	}
	// A "directory" that only exists as a prefix is not an object.
	put(t, s, "dir/child", []byte("x"))
	if _, err := s.Stat(ctx, "dir"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(prefix of an object) = %v, want fs.ErrNotExist", err)
	}
}

func testDelete(t *testing.T, s storage.Store) {
	ctx := context.Background()
	put(t, s, "d/one", []byte("1"))
	put(t, s, "d/two", []byte("2"))
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, "d/one"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat after Delete = %v, want fs.ErrNotExist", err)
	}
	if got := string(read(t, s, "d/two", 0, -1)); got != "2" {
		t.Errorf("Delete removed a sibling: d/two = %q", got)
	}
	if err := s.Delete(ctx, "d/one"); err != nil {
		t.Errorf("Delete of a missing object = %v, want nil", err)
	}
}

func listKeys(t *testing.T, s storage.Store, prefix string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	err := s.List(context.Background(), prefix, func(o storage.Object) error {
		if _, dup := got[o.Key]; dup {
			t.Errorf("List(%q) gave %q twice", prefix, o.Key)
		}
		got[o.Key] = o.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return got
}

func testList(t *testing.T, s storage.Store) {
	keys := map[string]int64{
		"originals/sha256/aa/bb/aabb1": 1, "originals/sha256/aa/bb/aabb2": 22,
		"originals/sha256/cc/dd/ccdd": 333, "derivatives/x/thumb": 4, "top": 5,
	}
	for k, n := range keys {
		put(t, s, k, payload(int(n), 3))
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"derivatives/x/thumb", "originals/sha256/aa/bb/aabb1", "originals/sha256/aa/bb/aabb2", "originals/sha256/cc/dd/ccdd", "top"}},
		{"originals/", []string{"originals/sha256/aa/bb/aabb1", "originals/sha256/aa/bb/aabb2", "originals/sha256/cc/dd/ccdd"}},
		{"originals/sha256/aa/", []string{"originals/sha256/aa/bb/aabb1", "originals/sha256/aa/bb/aabb2"}},
		{"originals/sha256/aa/bb/aabb2", []string{"originals/sha256/aa/bb/aabb2"}},
		{"originals/sha256/c", []string{"originals/sha256/cc/dd/ccdd"}},
		{"t", []string{"top"}},
		{"nothing/here/", nil},
	} {
		got := listKeys(t, s, c.prefix)
		var names []string
		for k, n := range got {
			names = append(names, k)
			if n != keys[k] {
				t.Errorf("List(%q): %q has size %d, want %d", c.prefix, k, n, keys[k])
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, c.want) {
			t.Errorf("List(%q) = %q, want %q", c.prefix, names, c.want)
		}
	}
	// fn's error stops the walk and comes back.
	stop := errors.New("stop")
	calls := 0
	err := s.List(context.Background(), "", func(storage.Object) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing callback: err %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func testBadKeys(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, key := range []string{
		"", "../x", "a/../../x", "/abs", "a//b", "a/./b", "./a", "a/", ".", "..", "a/..",
		"nul\x00byte", "new\nline", `back\slash`, string(make([]byte, 2000)),
	} {
		if _, err := s.Put(ctx, key, bytes.NewReader([]byte("x"))); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("Put(%q) = %v, want storage.ErrBadKey", key, err)
		}
		if rc, err := s.Open(ctx, key, 0, -1); !errors.Is(err, storage.ErrBadKey) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q) = %v, want storage.ErrBadKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("Stat(%q) = %v, want storage.ErrBadKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, storage.ErrBadKey) {
			t.Errorf("Delete(%q) = %v, want storage.ErrBadKey", key, err)
		}
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("bad keys left objects behind: %v", got)
	}
}

// failingReader gives some bytes, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func testAtomicPut(t *testing.T, s storage.Store) {
	ctx := context.Background()
	boom := errors.New("client went away")
	// A new key: a failed Put leaves nothing at all.
	_, err := s.Put(ctx, "atomic/new", &failingReader{payload(2<<20, 4), boom})
	if !errors.Is(err, boom) {
		t.Errorf("Put with a failing reader = %v, want the reader's error", err)
	}
	if _, err := s.Stat(ctx, "atomic/new"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed Put left an object: Stat = %v", err)
	}
	// An existing key: a failed Put leaves the old object whole.
	old := payload(1000, 5)
	put(t, s, "atomic/old", old)
	if _, err := s.Put(ctx, "atomic/old", &failingReader{payload(2<<20, 6), boom}); err == nil {
		t.Errorf("Put with a failing reader succeeded")
	}
	if got := read(t, s, "atomic/old", 0, -1); !bytes.Equal(got, old) {
		t.Errorf("a failed Put changed the existing object (%d bytes)", len(got))
	}
	// A cancelled context fails the Put the same way.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, "atomic/cancelled", bytes.NewReader(payload(100, 7))); err == nil {
		t.Errorf("Put with a cancelled context succeeded")
	}
	if _, err := s.Stat(ctx, "atomic/cancelled"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a cancelled Put left an object: Stat = %v", err)
	}
	got := listKeys(t, s, "")
	if len(got) != 1 {
		t.Errorf("after failed Puts the store lists %v, want only atomic/old (no temporary objects)", got)
	}
}

func testConcurrentPut(t *testing.T, s storage.Store) {
	// Content addressing: many writers of the same bytes to the same key.
	data := payload(1<<20, 8)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Put(context.Background(), "same/key", bytes.NewReader(data)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Put: %v", err)
	}
	if got := read(t, s, "same/key", 0, -1); !bytes.Equal(got, data) {
		t.Errorf("after concurrent Puts the object is %d bytes, not the data", len(got))
	}
	if got := listKeys(t, s, ""); len(got) != 1 {
		t.Errorf("concurrent Puts left %d objects, want 1: %v", len(got), fmt.Sprint(got))
	}
}

func testEmpty(t *testing.T, s storage.Store) {
	put(t, s, "empty", nil)
	if got := read(t, s, "empty", 0, -1); len(got) != 0 {
		t.Errorf("empty object read back as %d bytes", len(got))
	}
	obj, err := s.Stat(context.Background(), "empty")
	if err != nil || obj.Size != 0 {
		t.Errorf("Stat(empty) = %+v, %v", obj, err)
	}
}
