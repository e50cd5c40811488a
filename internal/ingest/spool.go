package ingest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// HeadSize is how many leading bytes are kept for format identification.
const HeadSize = 64 << 10

// Spooled is an upload received to a local file and synced, with its
// checksums computed in the same pass as the write.
type Spooled struct {
	Path   string
	Size   int64
	MD5    string // lower-case hex
	SHA256 string
	Head   []byte
}

// Remove deletes the spool file (after a failure, or when it was not needed).
func (s *Spooled) Remove() { os.Remove(s.Path) }

const chunkSize = 1 << 20

// spool copies r into a new file in dir while hashing. Reading the next
// chunk overlaps with writing and hashing the current one, and SHA-256, MD5
// and the write run side by side, so the hashes cost no second read and
// little wall time. More than max bytes is ErrTooLarge. The file is fsynced
// before spool returns; on any error it is removed.
func spool(dir string, r io.Reader, max int64) (_ *Spooled, err error) {
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

	type chunk struct {
		buf []byte
		n   int
	}
	free := make(chan []byte, 3)
	for range 3 {
		free <- make([]byte, chunkSize)
	}
	full := make(chan chunk, 2)
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case <-stop:
				readErr <- nil
				return
			default:
			}
			select {
			case buf = <-free:
			case <-stop:
				readErr <- nil
				return
			}
			n, err := fill(r, buf)
			if n > 0 {
				full <- chunk{buf, n}
			}
			if err == io.EOF {
				readErr <- nil
				return
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()

	sh, mh := sha256.New(), md5.New()
	head := make([]byte, 0, HeadSize)
	var size int64
	var werr error
	var wb writeback
	var wg sync.WaitGroup
	hashInto := func(h hash.Hash, p []byte) { h.Write(p); wg.Done() }
	for c := range full {
		p := c.buf[:c.n]
		if werr == nil {
			size += int64(c.n)
			if size > max {
				werr = ErrTooLarge
			}
		}
		if werr == nil {
			if len(head) < HeadSize {
				head = append(head, p[:min(len(p), HeadSize-len(head))]...)
			}
			wg.Add(2)
			go hashInto(sh, p)
			go hashInto(mh, p)
			if _, err := f.Write(p); err != nil {
				werr = fmt.Errorf("ingest: spool: %w", err)
			}
			wb.wrote(f, size)
			wg.Wait()
		}
		if werr != nil {
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
		free <- c.buf
	}
	if err := <-readErr; err != nil && werr == nil {
		werr = fmt.Errorf("ingest: reading upload: %w", err)
	}
	if werr != nil {
		return nil, werr
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("ingest: spool: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("ingest: spool: %w", err)
	}
	return &Spooled{
		Path: f.Name(), Size: size, Head: head,
		MD5: hex.EncodeToString(mh.Sum(nil)), SHA256: hex.EncodeToString(sh.Sum(nil)),
	}, nil
}

// writeback starts the disk writing the spool file while the upload is
// still arriving: every writebackEvery bytes it asks the kernel to begin
// writing the new range out (sync_file_range, which does not wait). The
// final fsync then has little left to do, so receiving, hashing and the
// disk overlap instead of the flush coming after everything else.
type writeback struct{ started int64 }

const writebackEvery = 16 << 20

func (w *writeback) wrote(f *os.File, size int64) {
	if size-w.started < writebackEvery {
		return
	}
	// Best effort: an error here only loses the overlap, never data,
	// since the fsync at the end still decides.
	_ = unix.SyncFileRange(int(f.Fd()), w.started, size-w.started, unix.SYNC_FILE_RANGE_WRITE)
	w.started = size
}

// fill reads until buf is full or r fails. Unlike io.ReadFull it keeps a
// body cut short (io.ErrUnexpectedEOF from an HTTP body whose connection
// closed before Content-Length bytes) an error: only io.EOF ends an upload.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
