package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"

	"stor/internal/s3test"
	"stor/internal/storage"
	"stor/internal/storage/s3"
	"stor/internal/storage/storagetest"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func newStore(t *testing.T, mod func(*s3.Config)) (*s3.Store, *s3test.Server, string) {
	t.Helper()
	srv := s3test.Start(t)
	bucket := srv.Bucket(t)
	cfg := s3.Config{Endpoint: "http://" + srv.Endpoint, Bucket: bucket, Region: srv.Region,
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, PathStyle: true}
	if mod != nil {
		mod(&cfg)
	}
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, srv, bucket
}

func TestStore(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, _, _ := newStore(t, nil)
		return s
	})
}

func TestStoreWithPrefix(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, _, _ := newStore(t, func(c *s3.Config) { c.Prefix = "replica/one" })
		return s
	})
}

func payload(n int) []byte {
	b := make([]byte, n)
	x := uint32(7)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// TestMultipartOriginal puts a many-part original, checks the bytes, the
// recorded sha256, and that a stream which does not hash to its key is
// refused and leaves nothing (no object, no pending upload).
func TestMultipartOriginal(t *testing.T) {
	s, srv, bucket := newStore(t, func(c *s3.Config) { c.PartSize = s3.MinPartSize })
	ctx := context.Background()
	data := payload(3*s3.MinPartSize + 12345)
	sum := sha256.Sum256(data)
	key := storage.OriginalKey(hex.EncodeToString(sum[:]))
	n, err := s.Put(ctx, key, bytes.NewReader(data))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Put = %d, %v", n, err)
	}
	info, err := srv.Client.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(info.ETag, "-4") {
		t.Errorf("ETag %q: want a 4-part multipart object", info.ETag)
	}
	if got, err := s.StoredSHA256(ctx, key); err != nil || got != hex.EncodeToString(sum[:]) {
		t.Errorf("StoredSHA256 = %q, %v", got, err)
	}
	rc, err := s.Open(ctx, key, int64(s3.MinPartSize)-10, 20)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data[s3.MinPartSize-10:s3.MinPartSize+10]) {
		t.Errorf("range across a part boundary differs")
	}

	// Wrong bytes under an original's key: refused, single part and multipart.
	for _, size := range []int{1000, 2*s3.MinPartSize + 1} {
		bad := payload(size)
		wrongKey := storage.OriginalKey(strings.Repeat("ab", 32))
		if _, err := s.Put(ctx, wrongKey, bytes.NewReader(bad)); !errors.Is(err, s3.ErrChecksumMismatch) {
			t.Errorf("Put of %d bytes under a wrong original key = %v, want ErrChecksumMismatch", size, err)
		}
		if _, err := s.Stat(ctx, wrongKey); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("a refused original was stored: %v", err)
		}
	}
	for u := range srv.Client.ListIncompleteUploads(ctx, bucket, "", true) {
		t.Errorf("pending multipart upload left behind: %s", u.Key)
	}
}

// TestCopy copies server-side, both as one CopyObject and as a multipart
// copy (a tiny MaxCopySize makes a 12 MiB object "too big").
func TestCopy(t *testing.T) {
	for _, multipart := range []bool{false, true} {
		s, _, _ := newStore(t, func(c *s3.Config) {
			if multipart {
				c.MaxCopySize, c.CopyPartSize = s3.MinPartSize, s3.MinPartSize
			}
		})
		ctx := context.Background()
		data := payload(12<<20 + 3)
		sum := sha256.Sum256(data)
		if _, err := s.Put(ctx, "uploads/x", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		dst := storage.OriginalKey(hex.EncodeToString(sum[:]))
		if err := s.Copy(ctx, "uploads/x", dst); err != nil {
			t.Fatalf("Copy (multipart %v): %v", multipart, err)
		}
		rc, err := s.Open(ctx, dst, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("copy (multipart %v) differs: %d bytes", multipart, len(got))
		}
		if sh, _ := s.StoredSHA256(ctx, dst); sh != hex.EncodeToString(sum[:]) {
			t.Errorf("copied original records sha256 %q", sh)
		}
		if err := s.Copy(ctx, "uploads/missing", "x"); !errors.Is(err, storage.ErrNotExist) {
			t.Errorf("Copy of a missing object = %v", err)
		}
	}
}

func TestPresignGet(t *testing.T) {
	s, _, _ := newStore(t, nil)
	ctx := context.Background()
	if _, err := s.Put(ctx, "derivatives/a/b", strings.NewReader("presigned bytes")); err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignGet(ctx, "derivatives/a/b", 60e9, `attachment; filename="b.txt"`, "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpGet(u)
	if err != nil {
		t.Fatal(err)
	}
	if resp.body != "presigned bytes" || resp.disposition != `attachment; filename="b.txt"` || resp.ctype != "text/plain" {
		t.Errorf("presigned GET = %+v", resp)
	}
}

func TestBadEndpoint(t *testing.T) {
	var retries atomic.Int64
	_, err := s3.New(context.Background(), s3.Config{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", Retries: 2,
		RetryBase: 1, OnRetry: func(string) { retries.Add(1) }})
	if err == nil {
		t.Fatal("New on a closed port succeeded")
	}
	if retries.Load() != 2 {
		t.Errorf("retries = %d, want 2", retries.Load())
	}
}
