// Package storage defines where stor keeps bytes: a small interface of
// objects addressed by slash-separated keys, implemented once per backend
// (storage/disk today, S3 later). No local path leaks out of it.
//
// Backends translate their native errors: a missing object is
// fs.ErrNotExist (test with errors.Is), whatever the backend.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// ErrNotExist is returned, wrapped, for a missing object.
var ErrNotExist = fs.ErrNotExist

// ErrBadKey is returned for a key that is not a clean relative path.
var ErrBadKey = errors.New("storage: invalid key")

// Object describes a stored object.
type Object struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is the narrow interface every backend implements.
type Store interface {
	// Put stores r under key atomically: readers see the old object or the
	// complete new one, never a part. It returns the bytes written.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open reads length bytes from offset (length < 0: to the end).
	Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat describes one object.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes an object; deleting a missing one is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every object whose key starts with prefix.
	List(ctx context.Context, prefix string, fn func(Object) error) error
}

// FileAdopter is a Store that can take over a finished local file without
// copying it (a rename on the same disk). Ingest discovers it with a type
// assertion and falls back to Put.
type FileAdopter interface {
	// AdoptFile moves the local file at path to key atomically; the file
	// must already be synced to disk.
	AdoptFile(ctx context.Context, key, path string) error
}

// CheckKey reports whether key is a clean relative slash path with no
// "..", no empty or dot segments and no control characters. Every backend
// calls it before touching anything.
func CheckKey(key string) error {
	if key == "" || len(key) > 1024 || strings.HasPrefix(key, "/") || path.Clean(key) != key {
		return fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." || seg == "" {
			return fmt.Errorf("%w: %q", ErrBadKey, key)
		}
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: %q", ErrBadKey, key)
		}
	}
	return nil
}

// OriginalKey is where the original with this sha256 (lower-case hex) lives:
// content-addressed, so identical bytes are stored once.
func OriginalKey(sha256hex string) string {
	return "originals/sha256/" + sha256hex[0:2] + "/" + sha256hex[2:4] + "/" + sha256hex
}

// ReadSeeker adapts an object to io.ReadSeeker for http.ServeContent: each
// Seek is remembered and the next Read opens the object at that offset.
type ReadSeeker struct {
	ctx  context.Context
	s    Store
	key  string
	size int64
	off  int64
	rc   io.ReadCloser
}

// NewReadSeeker returns a ReadSeeker over an object of the given size.
func NewReadSeeker(ctx context.Context, s Store, key string, size int64) *ReadSeeker {
	return &ReadSeeker{ctx: ctx, s: s, key: key, size: size}
}

func (r *ReadSeeker) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.rc == nil {
		rc, err := r.s.Open(r.ctx, r.key, r.off, -1)
		if err != nil {
			return 0, err
		}
		r.rc = rc
	}
	n, err := r.rc.Read(p)
	r.off += int64(n)
	return n, err
}

func (r *ReadSeeker) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("storage: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("storage: negative position")
	}
	if abs != r.off && r.rc != nil {
		r.rc.Close()
		r.rc = nil
	}
	r.off = abs
	return abs, nil
}

// Close releases the open reader, if any.
func (r *ReadSeeker) Close() error {
	if r.rc != nil {
		return r.rc.Close()
	}
	return nil
}

// Localizer is a Store whose objects are local files. Tools that need a
// path (libvips, ffmpeg) read the stored file in place instead of copying
// it; they must never write to it.
type Localizer interface {
	LocalPath(ctx context.Context, key string) (string, error)
}

// Copier is a Store that copies an object to another key without the
// bytes passing through stor (S3's server-side copy).
type Copier interface {
	Copy(ctx context.Context, src, dst string) error
}

// Presigner is a Store that can hand out short-lived URLs from which a
// client downloads an object directly (S3 presigned GETs). disposition and
// contentType, if set, are the response's Content-Disposition and
// Content-Type.
type Presigner interface {
	PresignGet(ctx context.Context, key string, expiry time.Duration, disposition, contentType string) (string, error)
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int
	ETag   string
	Size   int64
}

// PendingUpload is an unfinished multipart upload.
type PendingUpload struct {
	Key, UploadID string
	Initiated     time.Time
}

// ErrNoSuchUpload is returned, wrapped, for an unknown (finished or
// aborted) multipart upload.
var ErrNoSuchUpload = errors.New("storage: no such multipart upload")

// MultipartUploader is a Store whose clients can upload an object in
// parts straight to it (S3 presigned multipart), stor only signing.
type MultipartUploader interface {
	CreateMultipart(ctx context.Context, key, contentType string) (uploadID string, err error)
	PresignPart(ctx context.Context, key, uploadID string, part int, expiry time.Duration) (string, error)
	ListParts(ctx context.Context, key, uploadID string) ([]Part, error)
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) error
	AbortMultipart(ctx context.Context, key, uploadID string) error
	// PendingUploads lists unfinished uploads under prefix.
	PendingUploads(ctx context.Context, prefix string) ([]PendingUpload, error)
}
