package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const (
	chunkSize    = 1 << 20
	copyBuffers  = 8 // per copy: 8 MiB in flight at most
	writebackLag = 16 << 20
)

// Copier copies a stream into a file while every byte also goes to Sinks
// (hashes, a head buffer). It is the one hot loop of every upload path
// (POST /api/v1/assets, tus PATCH), written here rather than with
// io.MultiWriter because the sinks and the disk must run side by side:
//
//   - the caller's goroutine reads; the file writer and each sink take
//     1 MiB buffers from their own queues and the last to finish with a
//     buffer hands it back, so no stage waits for a slower one chunk by
//     chunk (MD5 is ~600 MB/s on one core, slower than a disk can take a
//     stream) but only when all buffers are in flight;
//   - every writebackLag bytes the kernel is asked to start writing the new
//     range out (sync_file_range, which does not wait), so the fsync that
//     makes the file durable has little left to do.
type Copier struct {
	File  *os.File
	Sinks []io.Writer
	// Max bounds the bytes copied; more is ErrTooLarge. 0 means no bound.
	Max int64
	// Every > 0 calls Checkpoint after about every Every bytes (at a
	// buffer boundary) once all stages have taken everything so far, with
	// the total written: the place to fsync and save hash state.
	Every      int64
	Checkpoint func(written int64) error
	// Since is how many bytes before this copy already count toward the
	// first checkpoint (a resumed upload checkpoints every Every bytes of
	// the whole upload, not of each request).
	Since int64
}

// ErrWrite marks a failed write to the file: the sinks may then have seen
// more bytes than the file holds.
var ErrWrite = errors.New("write failed")

// Copy copies until src ends (io.EOF only; any other error, including
// io.ErrUnexpectedEOF from a body cut short, is returned) and reports the
// bytes written to the file. It does not fsync at the end.
func (c *Copier) Copy(src io.Reader) (written int64, err error) {
	type chunk struct {
		buf  []byte
		n    int
		left atomic.Int32 // stages still to see it
	}
	free := make(chan *chunk, copyBuffers)
	for range copyBuffers {
		free <- &chunk{buf: make([]byte, chunkSize)}
	}
	nstages := len(c.Sinks) + 1
	stages := make([]chan *chunk, nstages)
	for i := range stages {
		stages[i] = make(chan *chunk, copyBuffers)
	}
	done := func(ch *chunk) {
		if ch.left.Add(-1) == 0 {
			free <- ch
		}
	}
	failed := make(chan struct{})
	var failOnce sync.Once
	var wg sync.WaitGroup
	for i, s := range c.Sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range stages[i] {
				s.Write(ch.buf[:ch.n])
				done(ch)
			}
		}()
	}
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		var started int64 // writeback asked for [0, started)
		for ch := range stages[nstages-1] {
			if werr == nil {
				n, err := c.File.Write(ch.buf[:ch.n])
				written += int64(n)
				if err != nil {
					werr = fmt.Errorf("%w: %w", ErrWrite, err)
					failOnce.Do(func() { close(failed) })
				} else if written-started >= writebackLag {
					// Best effort: an error only loses the overlap, never
					// data, since the caller's fsync still decides.
					_ = unix.SyncFileRange(int(c.File.Fd()), started, written-started, unix.SYNC_FILE_RANGE_WRITE)
					started = written
				}
			}
			done(ch)
		}
	}()
	// drain waits until every stage has finished with every buffer.
	drain := func() bool {
		var held []*chunk
		defer func() {
			for _, ch := range held {
				free <- ch
			}
		}()
		for len(held) < copyBuffers {
			select {
			case ch := <-free:
				held = append(held, ch)
			case <-failed:
				return false
			}
		}
		return true
	}

	var read int64
	sinceCkpt := c.Since
	var rerr error
loop:
	for {
		var ch *chunk
		select {
		case ch = <-free:
		case <-failed:
			break loop
		}
		n, err := fill(src, ch.buf)
		if n > 0 && c.Max > 0 && read+int64(n) > c.Max {
			free <- ch
			rerr = ErrTooLarge
			break
		}
		if n > 0 {
			read += int64(n)
			sinceCkpt += int64(n)
			ch.n = n
			ch.left.Store(int32(nstages))
			for _, st := range stages {
				st <- ch // never blocks: each queue holds every buffer
			}
		} else {
			free <- ch
		}
		if err != nil && err != io.EOF {
			rerr = err
			break
		}
		if c.Every > 0 && sinceCkpt >= c.Every {
			if !drain() {
				break
			}
			sinceCkpt = 0
			if err := c.Checkpoint(read); err != nil {
				rerr = err
				break
			}
		}
		if err == io.EOF {
			break
		}
	}
	for _, st := range stages {
		close(st)
	}
	wg.Wait()
	if werr != nil {
		return written, werr
	}
	return written, rerr
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
