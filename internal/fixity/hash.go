package fixity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"golang.org/x/time/rate"
)

// chunk is how much an audit reads per limiter wait.
const chunk = 1 << 20

// Pacer limits the bytes per second an audit reads: a token bucket
// (golang.org/x/time/rate) whose burst is one read chunk. It starts empty,
// so reading N bytes takes at least N / rate seconds.
type Pacer struct {
	lim   *rate.Limiter
	chunk int
}

// NewPacer returns a pacer of bytesPerSecond; 0 or less is no limit (nil).
func NewPacer(bytesPerSecond int64) *Pacer {
	if bytesPerSecond <= 0 {
		return nil
	}
	c := int(min(int64(chunk), bytesPerSecond))
	lim := rate.NewLimiter(rate.Limit(bytesPerSecond), c)
	lim.AllowN(time.Now(), c) // start empty
	return &Pacer{lim: lim, chunk: c}
}

// hashReader reads r to the end into a sha256, waiting on the pacer (nil:
// no limit). It returns the hex digest and the bytes read.
func hashReader(ctx context.Context, r io.Reader, p *Pacer) (string, int64, error) {
	h := sha256.New()
	n, err := copyPaced(ctx, h, r, p)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func copyPaced(ctx context.Context, w io.Writer, r io.Reader, p *Pacer) (int64, error) {
	size := chunk
	if p != nil {
		size = p.chunk
	}
	buf := make([]byte, size)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if p != nil {
				if werr := p.lim.WaitN(ctx, n); werr != nil {
					return total, werr
				}
			}
			w.Write(buf[:n]) // a hash never fails
			total += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// ErrMismatch is returned when bytes do not have the checksum they should.
var ErrMismatch = errors.New("checksum mismatch")

// verifyingReader passes a source through while hashing it, and at the end
// turns io.EOF into ErrMismatch when the digest is not want: a store's Put
// then fails instead of committing bad bytes under the key.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want string
	n    int64
}

func newVerifyingReader(r io.Reader, want string) *verifyingReader {
	return &verifyingReader{r: r, h: sha256.New(), want: want}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("%w: source has sha256 %s, want %s", ErrMismatch, got, v.want)
		}
	}
	return n, err
}
