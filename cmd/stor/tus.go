package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"stor/internal/tusclient"
)

// tusChunk is the size of one PATCH of a resumable upload.
const tusChunk = 64 << 20

// resumeStore remembers the tus upload URL of each file being sent, in the
// user's cache dir, keyed by (server, path, size, mtime), so that a rerun
// of an interrupted `stor ingest` continues where the upload stopped.
type resumeStore struct {
	mu   sync.Mutex
	path string
}

func newResumeStore() *resumeStore {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return &resumeStore{path: filepath.Join(dir, "stor", "tus-uploads.json")}
}

func resumeKey(server, path string, fi os.FileInfo) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d", server, abs, fi.Size(), fi.ModTime().UnixNano()))
	return hex.EncodeToString(h[:16])
}

func (s *resumeStore) load() map[string]string {
	m := map[string]string{}
	if b, err := os.ReadFile(s.path); err == nil {
		json.Unmarshal(b, &m)
	}
	return m
}

func (s *resumeStore) get(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load()[key]
}

func (s *resumeStore) set(key, url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.load()
	if url == "" {
		delete(m, key)
	} else {
		m[key] = url
	}
	b, _ := json.Marshal(m)
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// tusUpload sends a large file through tus, resuming a previous run's
// upload of the same file when the server still has it.
func (u *apiUploader) tusUpload(ctx context.Context, f *os.File, fi os.FileInfo, path, name, sha string) (bool, error) {
	c := &tusclient.Client{Endpoint: u.base + "/uploads/", HTTP: u.client,
		Header: http.Header{"Authorization": {"Bearer " + u.token}}}
	key := resumeKey(u.base, path, fi)
	loc := u.resume.get(key)
	var off int64
	if loc != "" {
		var err error
		off, _, err = c.Offset(ctx, loc)
		if errors.Is(err, tusclient.ErrGone) {
			loc = ""
		} else if err != nil {
			return false, &transientError{err}
		}
	}
	if loc == "" {
		md := map[string]string{"filename": name, "sha256": sha}
		if u.project != "" {
			md["project"] = u.project
		}
		if u.ignore {
			md["ignore_unsupported"] = "1"
		}
		var err error
		if loc, err = c.Create(ctx, fi.Size(), md, ""); err != nil {
			return false, tusErr(err)
		}
		off = 0
		if err := u.resume.set(key, loc); err != nil {
			return false, err
		}
	}
	_, err := c.Upload(ctx, loc, f, off, fi.Size(), tusChunk, nil)
	if err != nil {
		var te *tusclient.Error
		if errors.As(err, &te) && te.Status == http.StatusUnsupportedMediaType {
			u.resume.set(key, "")
			return true, nil
		}
		err = tusErr(err)
		var tr *transientError
		if !errors.As(err, &tr) {
			u.resume.set(key, "") // the server removed a refused upload
		}
		return false, err
	}
	return false, u.resume.set(key, "")
}

// tusErr marks what a retry (resuming) may fix as transient.
func tusErr(err error) error {
	var te *tusclient.Error
	if errors.As(err, &te) {
		if te.Status >= 500 || te.Status == http.StatusConflict || te.Status == http.StatusLocked ||
			te.Status == http.StatusTooManyRequests {
			return &transientError{err}
		}
		return fmt.Errorf("%d: %s", te.Status, te.Body)
	}
	if errors.Is(err, tusclient.ErrGone) {
		return err
	}
	return &transientError{err}
}
