// Package disk is the storage.Store on a local filesystem: each key is a
// file below one root directory. Writes go to a temporary file in the same
// directory, are fsynced, then renamed, and the directory is fsynced, so a
// crash never leaves a half-written object under its final name.
package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"stor/internal/storage"
)

var (
	_ storage.Store       = (*Store)(nil)
	_ storage.FileAdopter = (*Store)(nil)
	_ storage.Localizer   = (*Store)(nil)
)

// tmpPrefix marks files being written; List skips them and Sweep removes
// stale ones.
const tmpPrefix = ".tmp-"

// Store keeps objects under Root.
type Store struct {
	root string
}

// New opens (and creates) a store rooted at dir.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	return &Store{root: abs}, nil
}

func (s *Store) path(key string) (string, error) {
	if err := storage.CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put writes r to a temp file beside key, fsyncs, renames.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, fmt.Errorf("disk: put %s: %w", key, err)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("disk: put %s: %w", key, err)
	}
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return n, fmt.Errorf("disk: put %s: %w", key, err)
	}
	return n, syncDir(dir)
}

// AdoptFile renames a synced local file into place (same filesystem) or,
// across filesystems, copies it with Put.
func (s *Store) AdoptFile(ctx context.Context, key, src string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("disk: adopt %s: %w", key, err)
	}
	if err := os.Rename(src, p); err != nil {
		var le *os.LinkError
		if !errors.As(err, &le) {
			return fmt.Errorf("disk: adopt %s: %w", key, err)
		}
		// Probably EXDEV: copy instead.
		f, oerr := os.Open(src)
		if oerr != nil {
			return fmt.Errorf("disk: adopt %s: %w", key, oerr)
		}
		defer f.Close()
		if _, err := s.Put(ctx, key, f); err != nil {
			return err
		}
		return os.Remove(src)
	}
	return syncDir(dir)
}

// Open reads a byte range of an object.
func (s *Store) Open(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("disk: open %s: %w", key, err)
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("disk: open %s: %w", key, err)
		}
	}
	if length < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// Stat describes an object.
func (s *Store) Stat(ctx context.Context, key string) (storage.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return storage.Object{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return storage.Object{}, fmt.Errorf("disk: stat %s: %w", key, err)
	}
	if fi.IsDir() {
		return storage.Object{}, fmt.Errorf("disk: stat %s: %w", key, fs.ErrNotExist)
	}
	return storage.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes an object; a missing one is fine.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("disk: delete %s: %w", key, err)
	}
	return nil
}

// List walks the objects under prefix in lexical order.
func (s *Store) List(ctx context.Context, prefix string, fn func(storage.Object) error) error {
	// Walk from the deepest directory the prefix names.
	start := s.root
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		if err := storage.CheckKey(prefix[:i]); err != nil {
			return err
		}
		start = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), tmpPrefix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		return fn(storage.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
	})
	if err != nil {
		return fmt.Errorf("disk: list %s: %w", prefix, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("disk: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("disk: sync %s: %w", dir, err)
	}
	return nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// LocalPath returns the file that holds key, for reading in place.
func (s *Store) LocalPath(ctx context.Context, key string) (string, error) {
	p, err := s.path(key)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("disk: %s: %w", key, err)
	}
	return p, nil
}
