package ingest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	chunkSize    = 1 << 20
	copyBuffers  = 8 // per copy: 8 MiB in flight at most
	writebackLag = 16 << 20
	// writeBatch is how many queued buffers one write takes at most: a
	// direct write waits for the device, so fewer, larger ones are faster.
	writeBatch = 4
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
//   - with Direct, aligned buffers go to the disk with O_DIRECT (several
//     queued buffers in one writev): no copy into the page cache, which on
//     a busy machine cost more CPU than SHA-256 and made the final fsync
//     wait behind everyone's writeback; unaligned pieces (a resumed upload
//     starting mid-block, the last buffer) are written through the page
//     cache, and a filesystem without O_DIRECT (tmpfs) gets plain writes;
//   - every writebackLag bytes the kernel is asked to start writing the new
//     range out (sync_file_range, which does not wait), so the fsync that
//     makes the file durable has little left to do.
type Copier struct {
	File  *os.File
	Sinks []io.Writer
	// Direct writes with O_DIRECT where the buffers and Offset allow.
	// Offset is where in File the copy starts (its size, for an append).
	Direct bool
	Offset int64
	// directBytes is how much of the last Copy went out with O_DIRECT.
	directBytes int64
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
		free <- &chunk{buf: alignedBuf(chunkSize)}
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
		w := &fileWriter{f: c.File, pos: c.Offset, direct: c.Direct}
		defer func() {
			w.setDirect(false)
			c.directBytes = w.directBytes
		}()
		var started int64 // writeback asked for [0, started)
		batch := make([]*chunk, 0, writeBatch)
		bufs := make([][]byte, 0, writeBatch)
		q := stages[nstages-1]
		var next *chunk // taken from the queue, not fit for the last batch
		for {
			ch := next
			next = nil
			if ch == nil {
				var ok bool
				if ch, ok = <-q; !ok {
					break
				}
			}
			batch = append(batch[:0], ch)
			// Only whole blocks are batched, so a batch stays writable
			// with O_DIRECT; a short buffer is written on its own.
		more:
			for len(batch) < writeBatch && ch.n%directAlign == 0 {
				select {
				case c2, ok := <-q:
					if !ok {
						break more
					}
					if c2.n%directAlign != 0 {
						next = c2
						break more
					}
					batch = append(batch, c2)
				default:
					break more
				}
			}
			if werr == nil {
				bufs = bufs[:0]
				for _, b := range batch {
					bufs = append(bufs, b.buf[:b.n])
				}
				n, err := w.write(bufs)
				written += n
				if err != nil {
					werr = fmt.Errorf("%w: %w", ErrWrite, err)
					failOnce.Do(func() { close(failed) })
				} else if written-started >= writebackLag {
					// Best effort: an error only loses the overlap, never
					// data, since the caller's fsync still decides. After
					// direct writes there is nothing to start.
					_ = unix.SyncFileRange(int(c.File.Fd()), c.Offset+started, written-started, unix.SYNC_FILE_RANGE_WRITE)
					started = written
				}
			}
			for _, b := range batch {
				done(b)
			}
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
		buf := ch.buf
		if pos := c.Offset + read; c.Direct && pos%directAlign != 0 {
			// Read up to the next block so the rest lines up.
			buf = buf[:directAlign-pos%directAlign]
		}
		n, err := fill(src, buf)
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

// directAlign is the alignment O_DIRECT needs of file offsets, lengths and
// memory (the logical block size is at most this on the disks we meet).
const directAlign = 4096

// alignedBuf allocates n bytes starting on a directAlign boundary.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := directAlign - int(uintptr(unsafe.Pointer(&b[0]))%directAlign)
	return b[off : off+n : off+n]
}

// fileWriter writes buffers at the end of a file, with O_DIRECT when they
// and the position are aligned and the filesystem takes it.
type fileWriter struct {
	f      *os.File
	pos    int64
	direct bool // wanted, and not refused yet
	on     bool // O_DIRECT is set on the descriptor

	directBytes int64
}

// setDirect sets or clears O_DIRECT on the descriptor.
func (w *fileWriter) setDirect(on bool) error {
	if w.on == on {
		return nil
	}
	fd := int(w.f.Fd())
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil {
		return err
	}
	if on {
		flags |= unix.O_DIRECT
	} else {
		flags &^= unix.O_DIRECT
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags); err != nil {
		return err
	}
	w.on = on
	return nil
}

func (w *fileWriter) write(bufs [][]byte) (int64, error) {
	aligned := w.direct && w.pos%directAlign == 0
	for _, b := range bufs {
		if len(b)%directAlign != 0 || uintptr(unsafe.Pointer(&b[0]))%directAlign != 0 {
			aligned = false
		}
	}
	var total int64
	if aligned {
		if err := w.setDirect(true); err != nil {
			w.direct = false // the filesystem does not take it
		} else {
			n, err := writev(int(w.f.Fd()), bufs)
			w.pos += n
			total += n
			w.directBytes += n
			switch {
			case err == nil:
				return total, nil
			case n == 0 && errors.Is(err, unix.EINVAL):
				w.direct = false // refused before anything was written
			case n == 0 || !errors.Is(err, unix.EINVAL):
				return total, err
			}
			bufs = skip(bufs, n)
		}
	}
	if err := w.setDirect(false); err != nil {
		return total, err
	}
	n, err := writev(int(w.f.Fd()), bufs)
	w.pos += n
	return total + n, err
}

// writev writes all of bufs, continuing after short writes.
func writev(fd int, bufs [][]byte) (int64, error) {
	var total int64
	for len(bufs) > 0 {
		n, err := unix.Writev(fd, bufs)
		if n > 0 {
			total += int64(n)
			bufs = skip(bufs, int64(n))
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return total, err
		}
		if n == 0 {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// skip drops the first n bytes of bufs.
func skip(bufs [][]byte, n int64) [][]byte {
	for len(bufs) > 0 && n >= int64(len(bufs[0])) {
		n -= int64(len(bufs[0]))
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && n > 0 {
		bufs = append([][]byte{bufs[0][n:]}, bufs[1:]...)
	}
	return bufs
}
