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
	"sync/atomic"

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

const (
	chunkSize    = 1 << 20
	spoolBuffers = 8 // per upload: 8 MiB in flight at most
)

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

	// Buffers go round: the reader fills one, then the writer, the SHA-256
	// and the MD5 goroutine each take it from their own queue, and the
	// last of the three to finish hands it back. No stage waits for a
	// slower one chunk by chunk (MD5 runs at ~600 MB/s on one core, slower
	// than the disk can take a stream), only when all buffers are in use.
	type chunk struct {
		buf  []byte
		n    int
		left atomic.Int32 // stages still to see it
	}
	free := make(chan *chunk, spoolBuffers)
	for range spoolBuffers {
		free <- &chunk{buf: make([]byte, chunkSize)}
	}
	done := func(c *chunk) {
		if c.left.Add(-1) == 0 {
			free <- c
		}
	}
	stages := [3]chan *chunk{}
	for i := range stages {
		stages[i] = make(chan *chunk, spoolBuffers)
	}
	stop := make(chan struct{})
	var stopOnce sync.Once
	abort := func() { stopOnce.Do(func() { close(stop) }) }

	sh, mh := sha256.New(), md5.New()
	var wg sync.WaitGroup
	for i, h := range []hash.Hash{sh, mh} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range stages[i] {
				h.Write(c.buf[:c.n])
				done(c)
			}
		}()
	}
	var werr error
	var size int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		var wb writeback
		var written int64
		for c := range stages[2] {
			if werr == nil {
				if _, err := f.Write(c.buf[:c.n]); err != nil {
					werr = fmt.Errorf("ingest: spool: %w", err)
					abort()
				}
				written += int64(c.n)
				wb.wrote(f, written)
			}
			done(c)
		}
	}()

	// The reader: this goroutine.
	head := make([]byte, 0, HeadSize)
	var rerr error
read:
	for {
		var c *chunk
		select {
		case c = <-free:
		case <-stop:
			break read
		}
		n, err := fill(r, c.buf)
		if n > 0 {
			size += int64(n)
			if size > max {
				rerr = ErrTooLarge
				free <- c
				break
			}
			if len(head) < HeadSize {
				head = append(head, c.buf[:min(n, HeadSize-len(head))]...)
			}
			c.n = n
			c.left.Store(int32(len(stages)))
			for _, st := range stages {
				st <- c
			}
		} else {
			free <- c
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("ingest: reading upload: %w", err)
			break
		}
	}
	for _, st := range stages {
		close(st)
	}
	wg.Wait()
	if werr == nil {
		werr = rerr
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
