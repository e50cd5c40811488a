// Package proc runs external programs (ffmpeg, exiftool, soffice, ...) so
// that a cancelled or timed-out context kills the program AND everything
// it started: each command gets its own process group and the whole group
// is killed. No orphans survive a task timeout.
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Command is exec.CommandContext with process-group kill on cancel.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		// Negative pid: the whole group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a command and returns its stdout; on failure the error carries
// the tail of stderr, and a context error when the context ended it.
func Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return RunNice(ctx, 0, name, args...)
}

// RunNice is Run with the program's CPU priority lowered by nice (0 to 19)
// once it has started, for work that may yield to latency-bound work on
// the same machine. The whole process group is reniced, so what the
// program starts is too.
func RunNice(ctx context.Context, nice int, name string, args ...string) ([]byte, error) {
	cmd := Command(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedBuffer{max: 64 << 10, buf: &stderr}
	err := cmd.Start()
	if err == nil {
		if nice > 0 {
			// Best effort: a program that already exited cannot be reniced.
			_ = syscall.Setpriority(syscall.PRIO_PGRP, cmd.Process.Pid, min(nice, 19))
		}
		err = cmd.Wait()
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return stdout.Bytes(), fmt.Errorf("%s: %w", name, ctxErr)
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); len(msg) > 2000 && i > 0 {
			msg = msg[len(msg)-2000:]
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && msg != "" {
			return stdout.Bytes(), fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w", name, err)
	}
	return stdout.Bytes(), nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	max int
	buf *bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
