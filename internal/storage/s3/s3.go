// Package s3 is the storage.Store on an S3-compatible object store (AWS S3,
// MinIO, Ceph RGW), through minio-go.
//
// Every request is retried here, not inside minio-go (its own retries are
// off), so that each retry is counted (Config.OnRetry feeds
// stor_storage_retries_total) and so that a large upload retries one part,
// not the whole object:
//
//   - Put reads the stream in parts of PartSize bytes. A stream that fits in
//     one part is one PUT; a longer one is a multipart upload whose parts are
//     each sent (and if need be re-sent) from memory. Either way S3 sees the
//     object only when complete (atomic), and an aborted Put leaves nothing.
//   - Every PUT carries Content-MD5 and the SigV4 payload SHA-256 of its
//     bytes, which S3 verifies before accepting them. For originals, whose
//     key is their SHA-256 (storage.OriginalKey), the hash of the whole
//     stream is checked against the key before the object is committed and
//     recorded as the object's x-amz-meta-sha256: a wrong byte anywhere
//     fails the Put instead of storing a lying original.
//   - Open reads a byte range; a read cut mid-body resumes from where it
//     stopped (pinned to the object's ETag, so it never splices two
//     versions).
//   - Copy is server-side: one CopyObject up to MaxCopySize (5 GiB, the S3
//     limit), above that a multipart copy whose parts are retried one by one.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"stor/internal/storage"
)

var (
	_ storage.Store     = (*Store)(nil)
	_ storage.Copier    = (*Store)(nil)
	_ storage.Presigner = (*Store)(nil)
)

// ErrChecksumMismatch is returned when bytes do not hash to what they must.
var ErrChecksumMismatch = errors.New("s3: checksum mismatch")

// Defaults.
const (
	DefaultPartSize    = 16 << 20
	MinPartSize        = 5 << 20 // S3's minimum for all but the last part
	DefaultMaxCopySize = 5 << 30 // S3's limit for a single CopyObject
	DefaultCopyPart    = 512 << 20
	DefaultRetries     = 6
)

// Config says where the bucket is and how to talk to it.
type Config struct {
	// Endpoint is host[:port], or a URL whose scheme (http, https) decides
	// TLS over the TLS field.
	Endpoint  string
	Bucket    string
	Prefix    string // optional key prefix inside the bucket ("replica/")
	Region    string
	AccessKey string
	SecretKey string
	TLS       bool
	PathStyle bool // path-style URLs (MinIO, Ceph); else auto

	PartSize     int64 // multipart part size for Put (>= 5 MiB)
	MaxCopySize  int64 // largest single CopyObject; above: multipart copy
	CopyPartSize int64 // part size of a multipart copy
	Retries      int   // retries of one request (not counting the first try)
	RetryBase    time.Duration
	// OnRetry is called once per retried request with the operation name
	// (put, put_part, complete, get, stat, list, delete, copy, copy_part...).
	OnRetry func(op string)
	// Transport, if set, carries the HTTP requests (tests).
	Transport http.RoundTripper
}

// Store is a bucket (and optional prefix) as a storage.Store.
type Store struct {
	cfg    Config
	client *minio.Client
	core   minio.Core
	bufs   sync.Pool
}

// ParseEndpoint splits an endpoint into host:port and TLS.
func ParseEndpoint(endpoint string, tls bool) (string, bool, error) {
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil {
			return "", false, fmt.Errorf("s3: endpoint: %w", err)
		}
		switch u.Scheme {
		case "http":
			tls = false
		case "https":
			tls = true
		default:
			return "", false, fmt.Errorf("s3: endpoint %q: scheme must be http or https", endpoint)
		}
		if u.Path != "" && u.Path != "/" {
			return "", false, fmt.Errorf("s3: endpoint %q: must not have a path", endpoint)
		}
		endpoint = u.Host
	}
	if endpoint == "" {
		return "", false, errors.New("s3: no endpoint")
	}
	return endpoint, tls, nil
}

// New connects to the bucket (it must exist; New checks that it does).
func New(ctx context.Context, cfg Config) (*Store, error) {
	host, tls, err := ParseEndpoint(cfg.Endpoint, cfg.TLS)
	if err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if cfg.Prefix != "" {
		cfg.Prefix = strings.Trim(cfg.Prefix, "/")
		if err := storage.CheckKey(cfg.Prefix); err != nil {
			return nil, fmt.Errorf("s3: prefix: %w", err)
		}
		cfg.Prefix += "/"
	}
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.PartSize < MinPartSize {
		return nil, fmt.Errorf("s3: part size %d is below S3's minimum of 5 MiB", cfg.PartSize)
	}
	if cfg.MaxCopySize == 0 {
		cfg.MaxCopySize = DefaultMaxCopySize
	}
	if cfg.CopyPartSize == 0 {
		cfg.CopyPartSize = DefaultCopyPart
	}
	if cfg.CopyPartSize < MinPartSize {
		return nil, fmt.Errorf("s3: copy part size %d is below S3's minimum of 5 MiB", cfg.CopyPartSize)
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = 100 * time.Millisecond
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	tr := cfg.Transport
	if tr == nil {
		t, err := minio.DefaultTransport(tls)
		if err != nil {
			return nil, fmt.Errorf("s3: %w", err)
		}
		t.ResponseHeaderTimeout = 2 * time.Minute
		tr = t
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       tls,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    tr,
		MaxRetries:   1, // retries are ours, counted, per part
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &Store{cfg: cfg, client: client, core: minio.Core{Client: client}}
	s.bufs.New = func() any { b := make([]byte, cfg.PartSize); return &b }
	var ok bool
	err = s.retry(ctx, "bucket", func() error {
		var err error
		ok, err = client.BucketExists(ctx, cfg.Bucket)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("s3: bucket %s at %s: %w", cfg.Bucket, host, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3: bucket %s does not exist at %s", cfg.Bucket, host)
	}
	return s, nil
}

// Client is the underlying client, for direct uploads and tests.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket is the store's bucket.
func (s *Store) Bucket() string { return s.cfg.Bucket }

// Prefix is the store's key prefix inside the bucket ("" or ending in /).
func (s *Store) Prefix() string { return s.cfg.Prefix }

// Key is the object name in the bucket for a store key.
func (s *Store) Key(key string) string { return s.cfg.Prefix + key }

func (s *Store) name(key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	return s.cfg.Prefix + key, nil
}

// errorResponse finds minio's error description in err.
func errorResponse(err error) (minio.ErrorResponse, bool) {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er, true
	}
	var erp *minio.ErrorResponse
	if errors.As(err, &erp) && erp != nil {
		return *erp, true
	}
	return minio.ErrorResponse{}, false
}

func isNotFound(err error) bool {
	er, ok := errorResponse(err)
	return ok && (er.Code == "NoSuchKey" || er.Code == "NotFound" || (er.StatusCode == http.StatusNotFound && er.Code != "NoSuchBucket" && er.Code != "NoSuchUpload"))
}

func isCode(err error, code string) bool {
	er, ok := errorResponse(err)
	return ok && er.Code == code
}

// callerError marks an error of the caller's reader: never retried.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// Retryable reports whether a failed request may succeed if sent again.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce callerError
	if errors.As(err, &ce) {
		return false
	}
	if er, ok := errorResponse(err); ok && (er.StatusCode != 0 || er.Code != "") {
		switch er.Code {
		case "SlowDown", "InternalError", "RequestTimeout", "ServiceUnavailable", "BadDigest",
			"XAmzContentSHA256Mismatch", "IncompleteBody", "RequestTimeTooSkewed", "OperationAborted":
			return true
		}
		return er.StatusCode >= 500 || er.StatusCode == http.StatusTooManyRequests || er.StatusCode == 0
	}
	// Transport failures: reset, refused, EOF mid-response, timeouts.
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset") ||
		strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "EOF")
}

// retry runs fn until it succeeds, fails for good, or the retries run out.
func (s *Store) retry(ctx context.Context, op string, fn func() error) error {
	delay := s.cfg.RetryBase
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt >= s.cfg.Retries || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		if s.cfg.OnRetry != nil {
			s.cfg.OnRetry(op)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (s *Store) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	if isNotFound(err) {
		return fmt.Errorf("s3: %s %s: %w", op, key, fs.ErrNotExist)
	}
	return fmt.Errorf("s3: %s %s: %w", op, key, err)
}

// expectedSHA256 is the hash an original's key names, or "".
func expectedSHA256(key string) string {
	rest, ok := strings.CutPrefix(key, "originals/sha256/")
	if !ok {
		return ""
	}
	sum := rest[strings.LastIndex(rest, "/")+1:]
	if len(sum) != 64 || storage.OriginalKey(sum) != key {
		return ""
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return ""
	}
	return sum
}

// Put stores r under key; see the package comment.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	return s.put(ctx, key, r, expectedSHA256(key))
}

// PutSHA256 is Put of bytes that must hash to sha256hex (lower-case hex):
// anything else fails and stores nothing. The hash is recorded as the
// object's x-amz-meta-sha256.
func (s *Store) PutSHA256(ctx context.Context, key string, r io.Reader, sha256hex string) (int64, error) {
	if b, err := hex.DecodeString(sha256hex); err != nil || len(b) != sha256.Size {
		return 0, fmt.Errorf("s3: put %s: %q is not a SHA-256", key, sha256hex)
	}
	return s.put(ctx, key, r, strings.ToLower(sha256hex))
}

func (s *Store) put(ctx context.Context, key string, r io.Reader, want string) (int64, error) {
	name, err := s.name(key)
	if err != nil {
		return 0, err
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	n, rerr := readFull(ctx, r, buf)
	if rerr != nil && rerr != io.EOF {
		return 0, fmt.Errorf("s3: put %s: %w", key, rerr)
	}
	if rerr == io.EOF { // it all fits in one part
		data := buf[:n]
		sum := sha256.Sum256(data)
		shaHex := hex.EncodeToString(sum[:])
		if want != "" && want != shaHex {
			return 0, fmt.Errorf("s3: put %s: %w: the bytes hash to %s", key, ErrChecksumMismatch, shaHex)
		}
		m := md5.Sum(data)
		md5b64 := base64.StdEncoding.EncodeToString(m[:])
		err := s.retry(ctx, "put", func() error {
			_, err := s.core.PutObject(ctx, s.cfg.Bucket, name, bytes.NewReader(data), int64(n), md5b64, shaHex,
				minio.PutObjectOptions{UserMetadata: map[string]string{"sha256": shaHex}})
			return err
		})
		if err != nil {
			return 0, s.wrap("put", key, err)
		}
		return int64(n), nil
	}
	return s.putMultipart(ctx, key, name, r, buf, n, want)
}

// readFull fills buf from r; io.EOF means r ended (n may be > 0), nil means
// buf is full and r may have more.
func readFull(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			return n, io.EOF
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *Store) putMultipart(ctx context.Context, key, name string, r io.Reader, buf []byte, n int, want string) (int64, error) {
	opts := minio.PutObjectOptions{}
	if want != "" {
		opts.UserMetadata = map[string]string{"sha256": want}
	}
	var uploadID string
	err := s.retry(ctx, "create_multipart", func() error {
		var err error
		uploadID, err = s.core.NewMultipartUpload(ctx, s.cfg.Bucket, name, opts)
		return err
	})
	if err != nil {
		return 0, s.wrap("put", key, err)
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		s.retry(actx, "abort", func() error {
			err := s.core.AbortMultipartUpload(actx, s.cfg.Bucket, name, uploadID)
			if isCode(err, "NoSuchUpload") {
				return nil
			}
			return err
		})
	}
	whole := sha256.New()
	var parts []minio.CompletePart
	var total int64
	for part := 1; ; part++ {
		data := buf[:n]
		whole.Write(data)
		sum := sha256.Sum256(data)
		m := md5.Sum(data)
		shaHex, md5b64 := hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(m[:])
		var op minio.ObjectPart
		err := s.retry(ctx, "put_part", func() error {
			var err error
			op, err = s.core.PutObjectPart(ctx, s.cfg.Bucket, name, uploadID, part, bytes.NewReader(data), int64(n),
				minio.PutObjectPartOptions{Md5Base64: md5b64, Sha256Hex: shaHex})
			return err
		})
		if err != nil {
			abort()
			return 0, s.wrap("put", key, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: part, ETag: op.ETag})
		total += int64(n)
		var rerr error
		n, rerr = readFull(ctx, r, buf)
		if rerr != nil && rerr != io.EOF {
			abort()
			return 0, fmt.Errorf("s3: put %s: %w", key, rerr)
		}
		if n == 0 {
			break
		}
		if rerr == io.EOF {
			// The last, short part.
			if err := s.putLastPart(ctx, name, uploadID, part+1, buf[:n], whole, &parts); err != nil {
				abort()
				return 0, s.wrap("put", key, err)
			}
			total += int64(n)
			break
		}
	}
	if got := hex.EncodeToString(whole.Sum(nil)); want != "" && got != want {
		abort()
		return 0, fmt.Errorf("s3: put %s: %w: the bytes hash to %s", key, ErrChecksumMismatch, got)
	}
	if err := s.complete(ctx, name, uploadID, parts, total); err != nil {
		abort()
		return 0, s.wrap("put", key, err)
	}
	return total, nil
}

func (s *Store) putLastPart(ctx context.Context, name, uploadID string, part int, data []byte, whole io.Writer, parts *[]minio.CompletePart) error {
	whole.Write(data)
	sum := sha256.Sum256(data)
	m := md5.Sum(data)
	shaHex, md5b64 := hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(m[:])
	var op minio.ObjectPart
	err := s.retry(ctx, "put_part", func() error {
		var err error
		op, err = s.core.PutObjectPart(ctx, s.cfg.Bucket, name, uploadID, part, bytes.NewReader(data), int64(len(data)),
			minio.PutObjectPartOptions{Md5Base64: md5b64, Sha256Hex: shaHex})
		return err
	})
	if err != nil {
		return err
	}
	*parts = append(*parts, minio.CompletePart{PartNumber: part, ETag: op.ETag})
	return nil
}

// complete commits a multipart upload. A retried complete whose first try
// did commit finds the upload gone: the object of the right size is the
// proof it landed.
func (s *Store) complete(ctx context.Context, name, uploadID string, parts []minio.CompletePart, size int64) error {
	tries := 0
	return s.retry(ctx, "complete", func() error {
		tries++
		_, err := s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, name, uploadID, parts, minio.PutObjectOptions{})
		if err != nil && tries > 1 && isCode(err, "NoSuchUpload") {
			info, serr := s.core.StatObject(ctx, s.cfg.Bucket, name, minio.StatObjectOptions{})
			if serr == nil && info.Size == size {
				return nil
			}
		}
		return err
	})
}

// Open reads a byte range of an object.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("s3: open %s: negative offset", key)
	}
	rr := &reader{s: s, ctx: ctx, key: key, name: name, off: offset, left: length}
	if length == 0 {
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if err := rr.open(); err != nil {
		return nil, err
	}
	return rr, nil
}

// reader reads an object from off, reopening after a cut connection.
type reader struct {
	s       *Store
	ctx     context.Context
	key     string
	name    string
	etag    string
	off     int64
	left    int64 // < 0: to the end
	rc      io.ReadCloser
	resumes int
	eof     bool
}

func (r *reader) open() error {
	return r.s.retry(r.ctx, "get", func() error {
		opts := minio.GetObjectOptions{}
		switch {
		case r.left > 0:
			opts.SetRange(r.off, r.off+r.left-1)
		case r.off > 0:
			opts.SetRange(r.off, 0)
		}
		if r.etag != "" {
			opts.SetMatchETag(r.etag)
		}
		rc, info, _, err := r.s.core.GetObject(r.ctx, r.s.cfg.Bucket, r.name, opts)
		if isCode(err, "InvalidRange") {
			// At or past the end: nothing to read, if the object exists.
			if _, serr := r.s.Stat(r.ctx, r.key); serr != nil {
				return callerError{serr}
			}
			r.eof = true
			return nil
		}
		if err != nil {
			if isNotFound(err) {
				return callerError{r.s.wrap("open", r.key, err)}
			}
			return err
		}
		r.rc, r.etag = rc, info.ETag
		return nil
	})
}

func (r *reader) Read(p []byte) (int, error) {
	if r.eof || r.left == 0 {
		return 0, io.EOF
	}
	if r.rc == nil {
		if err := r.open(); err != nil {
			return 0, r.s.wrap("read", r.key, err)
		}
		if r.eof {
			return 0, io.EOF
		}
	}
	if r.left > 0 && int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.rc.Read(p)
	r.off += int64(n)
	if r.left > 0 {
		r.left -= int64(n)
	}
	if err == io.EOF {
		r.eof = true
		return n, io.EOF
	}
	if err != nil && r.ctx.Err() == nil && Retryable(err) && r.resumes < r.s.cfg.Retries {
		// Cut mid-body: resume from r.off at the next Read.
		r.resumes++
		if r.s.cfg.OnRetry != nil {
			r.s.cfg.OnRetry("get")
		}
		r.rc.Close()
		r.rc = nil
		if n > 0 {
			return n, nil
		}
		return r.Read(p)
	}
	if err != nil {
		return n, r.s.wrap("read", r.key, err)
	}
	return n, nil
}

func (r *reader) Close() error {
	if r.rc != nil {
		return r.rc.Close()
	}
	return nil
}

// Stat describes an object.
func (s *Store) Stat(ctx context.Context, key string) (storage.Object, error) {
	name, err := s.name(key)
	if err != nil {
		return storage.Object{}, err
	}
	var info minio.ObjectInfo
	err = s.retry(ctx, "stat", func() error {
		var err error
		info, err = s.core.StatObject(ctx, s.cfg.Bucket, name, minio.StatObjectOptions{})
		if isNotFound(err) {
			return callerError{err}
		}
		return err
	})
	if err != nil {
		return storage.Object{}, s.wrap("stat", key, err)
	}
	return storage.Object{Key: key, Size: info.Size, ModTime: info.LastModified}, nil
}

// StoredSHA256 is the SHA-256 the object's metadata records (x-amz-meta-
// sha256, written by Put), or "" if none.
func (s *Store) StoredSHA256(ctx context.Context, key string) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	var info minio.ObjectInfo
	err = s.retry(ctx, "stat", func() error {
		var err error
		info, err = s.core.StatObject(ctx, s.cfg.Bucket, name, minio.StatObjectOptions{})
		if isNotFound(err) {
			return callerError{err}
		}
		return err
	})
	if err != nil {
		return "", s.wrap("stat", key, err)
	}
	for k, v := range info.UserMetadata {
		if strings.EqualFold(k, "sha256") || strings.EqualFold(k, "X-Amz-Meta-Sha256") {
			return strings.ToLower(v), nil
		}
	}
	return "", nil
}

// Delete removes an object; a missing one is fine.
func (s *Store) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	err = s.retry(ctx, "delete", func() error {
		return s.client.RemoveObject(ctx, s.cfg.Bucket, name, minio.RemoveObjectOptions{})
	})
	if err != nil && !isNotFound(err) {
		return s.wrap("delete", key, err)
	}
	return nil
}

// List calls fn for every object whose key starts with prefix, in key order.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	token := ""
	for {
		var res minio.ListBucketV2Result
		err := s.retry(ctx, "list", func() error {
			var err error
			res, err = s.core.ListObjectsV2(s.cfg.Bucket, s.cfg.Prefix+prefix, "", token, "", 1000)
			return err
		})
		if err != nil {
			return fmt.Errorf("s3: list %s: %w", prefix, err)
		}
		for _, o := range res.Contents {
			if err := ctx.Err(); err != nil {
				return err
			}
			key := strings.TrimPrefix(o.Key, s.cfg.Prefix)
			if err := fn(storage.Object{Key: key, Size: o.Size, ModTime: o.LastModified}); err != nil {
				return fmt.Errorf("s3: list %s: %w", prefix, err)
			}
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return nil
		}
		token = res.NextContinuationToken
	}
}

// Copy copies src to dst inside the bucket without the bytes passing
// through stor.
func (s *Store) Copy(ctx context.Context, src, dst string) error {
	sname, err := s.name(src)
	if err != nil {
		return err
	}
	dname, err := s.name(dst)
	if err != nil {
		return err
	}
	obj, err := s.Stat(ctx, src)
	if err != nil {
		return err
	}
	meta := map[string]string{}
	if want := expectedSHA256(dst); want != "" {
		meta["sha256"] = want
	}
	if obj.Size <= s.cfg.MaxCopySize {
		err := s.retry(ctx, "copy", func() error {
			_, err := s.core.CopyObject(ctx, s.cfg.Bucket, sname, s.cfg.Bucket, dname, nil,
				minio.CopySrcOptions{}, minio.PutObjectOptions{UserMetadata: meta})
			return err
		})
		return s.wrap("copy", src, err)
	}
	var uploadID string
	err = s.retry(ctx, "create_multipart", func() error {
		var err error
		uploadID, err = s.core.NewMultipartUpload(ctx, s.cfg.Bucket, dname, minio.PutObjectOptions{UserMetadata: meta})
		return err
	})
	if err != nil {
		return s.wrap("copy", src, err)
	}
	var parts []minio.CompletePart
	for off, part := int64(0), 1; off < obj.Size; off, part = off+s.cfg.CopyPartSize, part+1 {
		length := min(s.cfg.CopyPartSize, obj.Size-off)
		var cp minio.CompletePart
		err := s.retry(ctx, "copy_part", func() error {
			var err error
			cp, err = s.core.CopyObjectPart(ctx, s.cfg.Bucket, sname, s.cfg.Bucket, dname, uploadID, part, off, length, nil)
			return err
		})
		if err != nil {
			s.core.AbortMultipartUpload(context.WithoutCancel(ctx), s.cfg.Bucket, dname, uploadID)
			return s.wrap("copy", src, err)
		}
		cp.PartNumber = part
		parts = append(parts, cp)
	}
	if err := s.complete(ctx, dname, uploadID, parts, obj.Size); err != nil {
		s.core.AbortMultipartUpload(context.WithoutCancel(ctx), s.cfg.Bucket, dname, uploadID)
		return s.wrap("copy", src, err)
	}
	return nil
}

// PresignGet returns a URL that downloads key for expiry without
// credentials; filename and contentType, if set, become the response's
// Content-Disposition and Content-Type.
func (s *Store) PresignGet(ctx context.Context, key string, expiry time.Duration, disposition, contentType string) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	if disposition != "" {
		q.Set("response-content-disposition", disposition)
	}
	if contentType != "" {
		q.Set("response-content-type", contentType)
	}
	u, err := s.client.PresignedGetObject(ctx, s.cfg.Bucket, name, expiry, q)
	if err != nil {
		return "", fmt.Errorf("s3: presign %s: %w", key, err)
	}
	return u.String(), nil
}

// Ping checks that the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	_, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return nil
}
