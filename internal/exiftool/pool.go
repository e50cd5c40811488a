package exiftool

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Pool is a fixed-size pool of long-lived exiftool processes. It is safe
// for concurrent use; at most Config.Size calls run at once, the others
// wait for a free process (or their context).
type Pool struct {
	cfg    Config
	binary string        // resolved path
	slots  chan *proc    // a nil entry is a slot whose process must be (re)started
	done   chan struct{} // closed by Close
	once   sync.Once
}

// NewPool resolves the binary, starts Size processes and returns the pool.
func NewPool(cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("exiftool: binary %q: %w", cfg.Binary, err)
	}
	p := &Pool{
		cfg:    cfg,
		binary: bin,
		slots:  make(chan *proc, cfg.Size),
		done:   make(chan struct{}),
	}
	for range cfg.Size {
		pr, err := startProc(bin)
		if err != nil {
			_ = p.Close()
			return nil, err
		}
		p.slots <- pr
	}
	return p, nil
}

// Size returns the number of processes.
func (p *Pool) Size() int { return p.cfg.Size }

// acquire takes a live process from the pool, starting one if the slot is
// empty or its process has died.
func (p *Pool) acquire(ctx context.Context) (*proc, error) {
	select {
	case <-p.done:
		return nil, ErrClosed
	default:
	}
	var pr *proc
	select {
	case pr = <-p.slots:
	case <-ctx.Done():
		return nil, fmt.Errorf("exiftool: waiting for a process: %w", ctx.Err())
	case <-p.done:
		return nil, ErrClosed
	}
	if pr != nil && pr.alive() {
		return pr, nil
	}
	if pr != nil {
		pr.kill()
	}
	pr, err := startProc(p.binary)
	if err != nil {
		p.slots <- nil
		return nil, err
	}
	return pr, nil
}

// release returns pr to the pool; a nil pr leaves an empty slot.
func (p *Pool) release(pr *proc) { p.slots <- pr }

// run executes one exiftool command on a pooled process, with the per-call
// timeout. On timeout, cancellation or any protocol failure the process is
// killed (process group) and its slot restarted on next use.
func (p *Pool) run(ctx context.Context, args []string) ([]byte, string, error) {
	pr, err := p.acquire(ctx)
	if err != nil {
		return nil, "", err
	}
	type result struct {
		out    []byte
		stderr string
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		out, stderr, err := pr.exec(args, p.cfg.MaxOutput)
		ch <- result{out, stderr, err}
	}()
	timer := time.NewTimer(p.cfg.Timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			pr.kill()
			p.release(nil)
			return nil, r.stderr, r.err
		}
		p.release(pr)
		return r.out, r.stderr, nil
	case <-timer.C:
		pr.kill()
		<-ch // exec returns once the pipes are closed
		p.release(nil)
		return nil, "", fmt.Errorf("%w after %s", ErrTimeout, p.cfg.Timeout)
	case <-ctx.Done():
		pr.kill()
		<-ch
		p.release(nil)
		return nil, "", fmt.Errorf("exiftool: %w", ctx.Err())
	}
}

// Close stops every process: it waits for calls in flight (each bounded by
// Config.Timeout), asks each process to exit, and kills the ones that do
// not within a second. Calls after Close fail with ErrClosed.
func (p *Pool) Close() error {
	p.once.Do(func() {
		close(p.done)
		var wg sync.WaitGroup
		for range cap(p.slots) {
			pr := <-p.slots
			if pr == nil {
				continue
			}
			wg.Go(func() { pr.stop(time.Second) })
		}
		wg.Wait()
	})
	return nil
}

// checkPath makes path absolute and refuses what the one-argument-per-line
// protocol cannot carry.
func checkPath(path string) (string, error) {
	if path == "" || strings.ContainsAny(path, "\n\r\x00") {
		return "", fmt.Errorf("%w: %q", ErrBadPath, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadPath, err)
	}
	return abs, nil
}
