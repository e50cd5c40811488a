// Package migrate copies every object of one store to another (the local
// disk to S3, for `stor migrate-store`), verifying each one.
//
// It is resumable: an object already at the destination with the same
// size and the same SHA-256 (the checksum the destination recorded, or, if
// it recorded none, the bytes read back) is skipped, so an interrupted run
// is simply run again. Every copied object is read back from the
// destination and hashed; a mismatch is an error for that object (it is
// deleted from the destination) and the run goes on with the next.
package migrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"stor/internal/storage"
)

// SHA256Recorder is a destination that keeps each object's SHA-256 and
// can store an object under a SHA-256 it must match (the S3 store).
type SHA256Recorder interface {
	StoredSHA256(ctx context.Context, key string) (string, error)
	PutSHA256(ctx context.Context, key string, r io.Reader, sha256hex string) (int64, error)
}

// Summary is what a run did.
type Summary struct {
	Objects, Copied, Skipped, Failed int
	Bytes                            int64 // copied
	Elapsed                          time.Duration
	Errors                           []error
}

func (s Summary) String() string {
	return fmt.Sprintf("%d objects: %d copied (%d bytes), %d already there and verified, %d failed, in %s",
		s.Objects, s.Copied, s.Bytes, s.Skipped, s.Failed, s.Elapsed.Round(time.Millisecond))
}

// Options tune a run.
type Options struct {
	// Prefixes to copy; default originals/ and derivatives/.
	Prefixes []string
	// Progress, if set, is called after each object.
	Progress func(key string, outcome string, err error)
}

// Run copies src to dst.
func Run(ctx context.Context, src, dst storage.Store, o Options) (Summary, error) {
	start := time.Now()
	var sum Summary
	if len(o.Prefixes) == 0 {
		o.Prefixes = []string{"originals/", "derivatives/"}
	}
	for _, prefix := range o.Prefixes {
		var objs []storage.Object
		if err := src.List(ctx, prefix, func(obj storage.Object) error {
			objs = append(objs, obj)
			return nil
		}); err != nil {
			return sum, fmt.Errorf("migrate: listing %s: %w", prefix, err)
		}
		for _, obj := range objs {
			if err := ctx.Err(); err != nil {
				sum.Elapsed = time.Since(start)
				return sum, err
			}
			sum.Objects++
			outcome, n, err := one(ctx, src, dst, obj)
			switch {
			case err != nil:
				sum.Failed++
				sum.Errors = append(sum.Errors, fmt.Errorf("%s: %w", obj.Key, err))
				outcome = "failed"
			case outcome == "copied":
				sum.Copied++
				sum.Bytes += n
			default:
				sum.Skipped++
			}
			if o.Progress != nil {
				o.Progress(obj.Key, outcome, err)
			}
		}
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// ErrMismatch: the destination's bytes differ from the source's.
var ErrMismatch = errors.New("destination does not match the source")

func hashObject(ctx context.Context, s storage.Store, key string) (string, int64, error) {
	rc, err := s.Open(ctx, key, 0, -1)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func one(ctx context.Context, src, dst storage.Store, obj storage.Object) (string, int64, error) {
	want, size, err := hashObject(ctx, src, obj.Key)
	if err != nil {
		return "", 0, fmt.Errorf("reading the source: %w", err)
	}
	rec, _ := dst.(SHA256Recorder)
	if d, err := dst.Stat(ctx, obj.Key); err == nil && d.Size == size {
		got := ""
		if rec != nil {
			got, _ = rec.StoredSHA256(ctx, obj.Key)
		}
		if got == "" {
			got, _, _ = hashObject(ctx, dst, obj.Key)
		}
		if got == want {
			return "skipped", 0, nil
		}
	} else if err != nil && !errors.Is(err, storage.ErrNotExist) {
		return "", 0, fmt.Errorf("checking the destination: %w", err)
	}
	rc, err := src.Open(ctx, obj.Key, 0, -1)
	if err != nil {
		return "", 0, fmt.Errorf("reading the source: %w", err)
	}
	var n int64
	if rec != nil {
		n, err = rec.PutSHA256(ctx, obj.Key, rc, want)
	} else {
		n, err = dst.Put(ctx, obj.Key, rc)
	}
	rc.Close()
	if err != nil {
		return "", 0, fmt.Errorf("writing the destination: %w", err)
	}
	got, gn, err := hashObject(ctx, dst, obj.Key)
	if err != nil {
		return "", 0, fmt.Errorf("reading back the destination: %w", err)
	}
	if got != want || gn != size || n != size {
		dst.Delete(ctx, obj.Key)
		return "", 0, fmt.Errorf("%w: wrote %d bytes hashing to %s, the source has %d with %s", ErrMismatch, gn, got, size, want)
	}
	return "copied", n, nil
}
