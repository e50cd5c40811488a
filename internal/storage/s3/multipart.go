package s3

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"

	"stor/internal/storage"
)

var _ storage.MultipartUploader = (*Store)(nil)

// ErrNoSuchUpload is storage.ErrNoSuchUpload.
var ErrNoSuchUpload = storage.ErrNoSuchUpload

func (s *Store) wrapUpload(op, key string, err error) error {
	if isCode(err, "NoSuchUpload") {
		return fmt.Errorf("s3: %s %s: %w", op, key, ErrNoSuchUpload)
	}
	return s.wrap(op, key, err)
}

// CreateMultipart starts a multipart upload that a client fills with
// presigned part URLs.
func (s *Store) CreateMultipart(ctx context.Context, key, contentType string) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	var id string
	err = s.retry(ctx, "create_multipart", func() error {
		var err error
		id, err = s.core.NewMultipartUpload(ctx, s.cfg.Bucket, name, minio.PutObjectOptions{ContentType: contentType})
		return err
	})
	return id, s.wrap("create multipart", key, err)
}

// PresignPart returns a URL the client PUTs one part's bytes to.
func (s *Store) PresignPart(ctx context.Context, key, uploadID string, part int, expiry time.Duration) (string, error) {
	name, err := s.name(key)
	if err != nil {
		return "", err
	}
	if part < 1 || part > 10000 {
		return "", fmt.Errorf("s3: part number %d is not between 1 and 10000", part)
	}
	q := url.Values{"partNumber": {strconv.Itoa(part)}, "uploadId": {uploadID}}
	u, err := s.client.Presign(ctx, "PUT", s.cfg.Bucket, name, expiry, q)
	if err != nil {
		return "", fmt.Errorf("s3: presign part: %w", err)
	}
	return u.String(), nil
}

// ListParts lists the parts uploaded so far.
func (s *Store) ListParts(ctx context.Context, key, uploadID string) ([]storage.Part, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	var out []storage.Part
	marker := 0
	for {
		var res minio.ListObjectPartsResult
		err := s.retry(ctx, "list_parts", func() error {
			var err error
			res, err = s.core.ListObjectParts(ctx, s.cfg.Bucket, name, uploadID, marker, 1000)
			if isCode(err, "NoSuchUpload") {
				return callerError{err}
			}
			return err
		})
		if err != nil {
			return nil, s.wrapUpload("list parts", key, err)
		}
		for _, p := range res.ObjectParts {
			out = append(out, storage.Part{Number: p.PartNumber, ETag: p.ETag, Size: p.Size})
		}
		if !res.IsTruncated {
			return out, nil
		}
		marker = res.NextPartNumberMarker
	}
}

// CompleteMultipart commits the upload from the given parts.
func (s *Store) CompleteMultipart(ctx context.Context, key, uploadID string, parts []storage.Part) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	cps := make([]minio.CompletePart, len(parts))
	for i, p := range parts {
		cps[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	err = s.retry(ctx, "complete", func() error {
		_, err := s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, name, uploadID, cps, minio.PutObjectOptions{})
		if isCode(err, "NoSuchUpload") || isCode(err, "InvalidPart") || isCode(err, "InvalidPartOrder") || isCode(err, "EntityTooSmall") {
			return callerError{err}
		}
		return err
	})
	return s.wrapUpload("complete", key, err)
}

// AbortMultipart drops an unfinished upload and its parts; an unknown one
// is not an error.
func (s *Store) AbortMultipart(ctx context.Context, key, uploadID string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	err = s.retry(ctx, "abort", func() error {
		err := s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, name, uploadID)
		if isCode(err, "NoSuchUpload") {
			return nil
		}
		return err
	})
	return s.wrap("abort", key, err)
}

// PendingUploads lists unfinished multipart uploads under prefix.
func (s *Store) PendingUploads(ctx context.Context, prefix string) ([]storage.PendingUpload, error) {
	var out []storage.PendingUpload
	keyMarker, idMarker := "", ""
	for {
		var res minio.ListMultipartUploadsResult
		err := s.retry(ctx, "list_uploads", func() error {
			var err error
			res, err = s.core.ListMultipartUploads(ctx, s.cfg.Bucket, s.cfg.Prefix+prefix, keyMarker, idMarker, "", 1000)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("s3: list uploads: %w", err)
		}
		for _, u := range res.Uploads {
			out = append(out, storage.PendingUpload{Key: u.Key[len(s.cfg.Prefix):], UploadID: u.UploadID, Initiated: u.Initiated})
		}
		if !res.IsTruncated {
			return out, nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}
