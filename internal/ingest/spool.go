package ingest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
)

// HeadSize is how many leading bytes are kept for format identification.
const HeadSize = 64 << 10

// Spooled is an upload received to a local file and synced, with its
// checksums computed in the same pass as the write.
type Spooled struct {
	Path   string
	Size   int64
	MD5    string // lower-case hex; empty when not computed (deferred)
	SHA256 string
	Head   []byte
}

// Remove deletes the spool file (after a failure, or when it was not needed).
func (s *Spooled) Remove() { os.Remove(s.Path) }

// spool copies r into a new file in dir while hashing (see Copier: the
// hashes cost no second read and little wall time). More than max bytes is ErrTooLarge. The file is fsynced
// before spool returns; on any error it is removed.
func spool(dir string, r io.Reader, max int64, withMD5 bool) (_ *Spooled, err error) {
	f, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, fmt.Errorf("ingest: spool: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()

	sh := sha256.New()
	head := &headWriter{buf: make([]byte, 0, HeadSize)}
	cp := Copier{File: f, Sinks: []io.Writer{sh, head}, Max: max, Direct: true}
	var mh hash.Hash
	if withMD5 {
		mh = md5.New()
		cp.Sinks = append(cp.Sinks, mh)
	}
	size, err := cp.Copy(r)
	switch {
	case errors.Is(err, ErrTooLarge):
		return nil, err
	case errors.Is(err, ErrWrite):
		return nil, fmt.Errorf("ingest: spool: %w", err)
	case err != nil:
		return nil, fmt.Errorf("ingest: reading upload: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("ingest: spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("ingest: spool: %w", err)
	}
	sp := &Spooled{Path: f.Name(), Size: size, Head: head.buf, SHA256: hex.EncodeToString(sh.Sum(nil))}
	if mh != nil {
		sp.MD5 = hex.EncodeToString(mh.Sum(nil))
	}
	return sp, nil
}

// fileMD5 is the MD5 of a file, read once: for a client's MD5 that arrived
// after the bytes were received without it.
func fileMD5(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("ingest: md5: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// headWriter keeps the first HeadSize bytes written to it.
type headWriter struct{ buf []byte }

func (h *headWriter) Write(p []byte) (int, error) {
	if len(h.buf) < HeadSize {
		h.buf = append(h.buf, p[:min(len(p), HeadSize-len(h.buf))]...)
	}
	return len(p), nil
}
