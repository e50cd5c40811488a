package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws one self-updating line on a terminal, or a line every
// few seconds elsewhere. Twenty lines of our own instead of a dependency.
type progress struct {
	mu          sync.Mutex
	w           io.Writer
	tty, quiet  bool
	files, n    int
	total, sent int64
	start, last time.Time
}

func newProgress(w *os.File, files int, total int64, quiet bool) *progress {
	fi, err := w.Stat()
	tty := err == nil && fi.Mode()&os.ModeCharDevice != 0
	return &progress{w: w, tty: tty, quiet: quiet, files: files, total: total, start: time.Now()}
}

func (p *progress) done(size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	p.sent += size
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if !p.quiet && (time.Since(p.last) > every || p.n == p.files) {
		p.last = time.Now()
		p.draw()
	}
}

func (p *progress) draw() {
	frac := 1.0
	if p.total > 0 {
		frac = float64(p.sent) / float64(p.total)
	}
	const width = 30
	bar := strings.Repeat("=", int(frac*width)) + strings.Repeat(" ", width-int(frac*width))
	rate := float64(p.sent) / max(time.Since(p.start).Seconds(), 0.001)
	line := fmt.Sprintf("[%s] %d/%d files  %s/%s  %s/s", bar, p.n, p.files,
		human(p.sent), human(p.total), human(int64(rate)))
	if p.tty {
		fmt.Fprint(p.w, "\r"+line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && !p.quiet {
		fmt.Fprintln(p.w)
	}
}

// human prints a byte count with a binary unit and one decimal.
func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
