package pipeline

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"stor/internal/catalog"
	"stor/internal/storage"
)

// Class is the kind of load a task puts on the machine; each class has its
// own bounded number of workers.
type Class string

const (
	// Light tasks are quick: metadata, identification, small thumbnails.
	Light Class = "light"
	// Heavy tasks are long or hungry: transcodes, pyramids, OCR. They also
	// wait while the machine is short of CPU or memory.
	Heavy Class = "heavy"
)

// Task is one kind of processing step. Later features only add Tasks.
type Task struct {
	// Name identifies the task in the API and in job rows ("thumbnails").
	Name string
	// Applies reports whether an asset needs this task (its kind, format).
	Applies func(a *catalog.Asset) bool
	// Required tasks must succeed for the asset to be ready; a failed
	// optional task is recorded but does not fail the asset.
	Required bool
	Class    Class
	// Timeout bounds one attempt; its context is cancelled and its child
	// processes killed when it passes. TimeoutFor, when set, decides per
	// asset instead (a transcode scales with duration).
	Timeout    time.Duration
	TimeoutFor func(a *catalog.Asset) time.Duration
	// After names tasks that must finish first on the same asset (when they
	// apply to it): this task waits, without using an attempt, until they
	// have succeeded, failed or been skipped. OCR waits for the access
	// copy, for instance.
	After []string
	// Yield, when set, holds the task back while it reports true: the
	// task is tried again a second later, without using an attempt, and
	// runs regardless once it has been queued for YieldMax (default 2
	// min). The poster yields to the first segments of a video's ladder.
	Yield    func(ctx context.Context, q catalog.Querier, a *catalog.Asset) bool
	YieldMax time.Duration
	// MaxAttempts bounds transient retries (default 5).
	MaxAttempts int
	// Run does the work. It must be idempotent: deterministic output keys,
	// safe to run twice or at once, and it never deletes its input. Return
	// Permanent(err) for failures a retry cannot fix.
	Run func(ctx context.Context, tc *TaskContext) error
}

// MaxTaskTimeout caps every attempt, however long TimeoutFor asks for,
// so that River's rescue of stuck jobs (after the longest attempt) never
// takes a job from a live worker.
const MaxTaskTimeout = 48 * time.Hour

func (t *Task) yieldMax() time.Duration {
	if t.YieldMax > 0 {
		return t.YieldMax
	}
	return 2 * time.Minute
}

func (t *Task) timeout(a *catalog.Asset) time.Duration {
	if t.TimeoutFor != nil {
		if d := t.TimeoutFor(a); d > 0 {
			return min(d, MaxTaskTimeout)
		}
	}
	if t.Timeout > 0 {
		return t.Timeout
	}
	return 10 * time.Minute
}

// PermanentError marks a failure that retrying cannot fix (corrupt input,
// no decoder): the task fails at once with this reason.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// Permanentf is fmt.Errorf wrapped as a PermanentError.
func Permanentf(format string, a ...any) error { return Permanent(fmt.Errorf(format, a...)) }

// IsPermanent reports whether err is, or wraps, a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// TaskContext is what a running task gets.
type TaskContext struct {
	Asset   *catalog.Asset
	Attempt int
	Log     *slog.Logger

	p        *Pipeline
	task     *Task
	priority int
	txid     string
	mu       sync.Mutex
	lastProg time.Time
	tmpDirs  []string
	original string // the local copy OriginalFile made
	// onSuccess runs inside the transaction that completes the job, so
	// what it writes happens exactly once even if the process dies
	// between the task's end and its completion (the task then runs
	// again and nothing of the first run's onSuccess was committed).
	onSuccess []func(ctx context.Context, tx *sql.Tx) error
}

// Store is the blob store.
func (tc *TaskContext) Store() storage.Store { return tc.p.store }

// DB is the catalog, for tasks that record more than derivatives.
func (tc *TaskContext) DB() *catalog.DB { return tc.p.db }

// Progress records percent done (0–100); writes are throttled.
func (tc *TaskContext) Progress(ctx context.Context, pct int) {
	tc.mu.Lock()
	if time.Since(tc.lastProg) < 500*time.Millisecond && pct < 100 {
		tc.mu.Unlock()
		return
	}
	tc.lastProg = time.Now()
	tc.mu.Unlock()
	pct = max(0, min(100, pct))
	if err := catalog.SetTaskProgress(ctx, tc.p.db.Writer(), tc.Asset.ID, tc.task.Name, pct); err != nil {
		tc.Log.WarnContext(ctx, "recording progress", "err", err)
	}
}

// TempDir returns a fresh directory removed when the task returns.
func (tc *TaskContext) TempDir() (string, error) {
	if err := os.MkdirAll(tc.p.cfg.TempDir, 0o750); err != nil {
		return "", err
	}
	d, err := os.MkdirTemp(tc.p.cfg.TempDir, tc.task.Name+"-")
	if err != nil {
		return "", err
	}
	tc.mu.Lock()
	tc.tmpDirs = append(tc.tmpDirs, d)
	tc.mu.Unlock()
	return d, nil
}

func (tc *TaskContext) cleanup() {
	for _, d := range tc.tmpDirs {
		os.RemoveAll(d)
	}
}

// OriginalFile returns a local file holding the original: the stored file
// itself when the store is local (read it, never write it), else a copy
// in a temp dir of the task (S3). The copy is made once per task run,
// removed when the task returns, refused early when the temp disk lacks
// room for it, and verified: its SHA-256 must be the asset's, so a task
// never works on bytes that went bad in the store or on the way.
func (tc *TaskContext) OriginalFile(ctx context.Context) (string, error) {
	if l, ok := tc.p.store.(storage.Localizer); ok {
		if p, err := l.LocalPath(ctx, tc.Asset.BlobKey); err == nil {
			return p, nil
		}
	}
	tc.mu.Lock()
	cached := tc.original
	tc.mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	dir, err := tc.TempDir()
	if err != nil {
		return "", err
	}
	if err := roomFor(dir, tc.Asset.Size); err != nil {
		return "", fmt.Errorf("original: %w", err)
	}
	rc, err := tc.p.store.Open(ctx, tc.Asset.BlobKey, 0, -1)
	if err != nil {
		return "", fmt.Errorf("original: %w", err)
	}
	defer rc.Close()
	dst := filepath.Join(dir, "original."+tc.Asset.Format)
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("original: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); tc.Asset.SHA256 != "" && (got != tc.Asset.SHA256 || n != tc.Asset.Size) {
		return "", fmt.Errorf("original: %w: the stored copy has %d bytes hashing to %s, the asset %d bytes with %s",
			ErrOriginalCorrupt, n, got, tc.Asset.Size, tc.Asset.SHA256)
	}
	tc.mu.Lock()
	tc.original = dst
	tc.mu.Unlock()
	return dst, nil
}

// ErrOriginalCorrupt: a downloaded original does not match its checksum.
var ErrOriginalCorrupt = errors.New("stored original does not match its checksum")

// roomFor fails when dir's filesystem has less than size bytes (plus a
// margin of 5%) free.
func roomFor(dir string, size int64) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil // cannot tell: let the copy try
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if need := size + size/20; free < need {
		return fmt.Errorf("temp space: %d bytes free in %s, the original needs %d", free, dir, need)
	}
	return nil
}

// DerivativeKey is the deterministic key of an asset's derivative.
func DerivativeKey(assetID, name string) string {
	return "derivatives/" + assetID[:2] + "/" + assetID + "/" + name
}

// PutDerivative stores bytes as the named derivative (replacing an earlier
// run's) and records it.
func (tc *TaskContext) PutDerivative(ctx context.Context, d catalog.Derivative, r io.Reader) error {
	d.AssetID, d.Task = tc.Asset.ID, tc.task.Name
	d.BlobKey = DerivativeKey(tc.Asset.ID, d.Name)
	n, err := tc.p.store.Put(ctx, d.BlobKey, r)
	if err != nil {
		return fmt.Errorf("derivative %s: %w", d.Name, err)
	}
	d.Size = n
	return catalog.PutDerivative(ctx, tc.p.db.Writer(), &d)
}

// UpdateAsset records what the task learned about the asset.
func (tc *TaskContext) UpdateAsset(ctx context.Context, info catalog.AssetInfo) error {
	return catalog.UpdateAssetInfo(ctx, tc.p.db.Writer(), tc.Asset.ID, info)
}
