package exiftool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeExiftool writes a wrapper script whose first start misbehaves
// (behaviour: shell code run instead of exiftool) and whose later starts
// exec the real exiftool. The misbehaving instance records its child's pid
// in dir/child.pid.
func fakeExiftool(t *testing.T, behaviour string) (bin, dir string) {
	t.Helper()
	need(t, "exiftool")
	real, err := exec.LookPath("exiftool")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, "fake-exiftool")
	script := fmt.Sprintf(`#!/bin/sh
if mkdir %[1]q/first 2>/dev/null; then
%[2]s
fi
exec %[3]q "$@"
`, dir, behaviour, real)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, dir
}

// gone reports whether pid no longer runs (absent, or a zombie waiting
// for a reaper that may not exist in a container).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && f[0] == "Z"
}

func readPid(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("child pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestHangingProcess: the first process (a stand-in that sleeps instead of
// answering) makes its call fail with ErrTimeout within the timeout; its
// whole process group (the sleep child included) is killed; the other
// process keeps serving meanwhile, and the slot works again afterwards.
func TestHangingProcess(t *testing.T) {
	bin, dir := fakeExiftool(t, `sleep 300 &
echo $! > "$(dirname "$0")/child.pid"
wait
exit 0`)
	img := makeJPEG(t, t.TempDir(), "ok.jpg", 20, 10)
	const timeout = 1500 * time.Millisecond
	p := newPool(t, Config{Size: 2, Timeout: timeout, Binary: bin})

	// Two calls at once take both processes: one gets the hanging one.
	type res struct {
		err  error
		took time.Duration
	}
	results := make(chan res, 2)
	for range 2 {
		go func() {
			start := time.Now()
			m, err := p.Extract(context.Background(), img)
			if err == nil && m.Normalized.Width != 20 {
				err = fmt.Errorf("width %d", m.Normalized.Width)
			}
			results <- res{err, time.Since(start)}
		}()
	}
	var ok, timedOut []res
	for range 2 {
		r := <-results
		if r.err == nil {
			ok = append(ok, r)
		} else {
			timedOut = append(timedOut, r)
		}
	}
	if len(ok) != 1 || len(timedOut) != 1 {
		t.Fatalf("want one success and one timeout, got ok=%v failed=%v", ok, timedOut)
	}
	if ok[0].took > timeout {
		t.Errorf("healthy call took %s: it waited for the hung one", ok[0].took)
	}
	err := timedOut[0].err
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("hung call: %v, want ErrTimeout", err)
	}
	if d := timedOut[0].took; d < timeout || d > timeout+2*time.Second {
		t.Errorf("hung call returned after %s, timeout %s", d, timeout)
	}
	childPid := readPid(t, filepath.Join(dir, "child.pid"))
	if !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), img) {
		t.Errorf("error should name the timeout and the file: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for !gone(childPid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !gone(childPid) {
		t.Errorf("child %d of the hung process still runs: process group not killed", childPid)
	}

	// Both slots serve again (the hung one was replaced).
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			m, err := p.Extract(context.Background(), img)
			if err == nil && m.Normalized.Width != 20 {
				err = fmt.Errorf("width %d", m.Normalized.Width)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("after replacement: %v", err)
		}
	}
}

// TestDeadProcess: a process that dies mid-call gives ErrProcessDied, and
// the next call gets a fresh process.
func TestDeadProcess(t *testing.T) {
	bin, _ := fakeExiftool(t, `read line
exit 3`)
	img := makeJPEG(t, t.TempDir(), "ok.jpg", 20, 10)
	p := newPool(t, Config{Size: 1, Timeout: 10 * time.Second, Binary: bin})
	_, err := p.Extract(context.Background(), img)
	if !errors.Is(err, ErrProcessDied) {
		t.Fatalf("first call: %v, want ErrProcessDied", err)
	}
	if _, err := p.Extract(context.Background(), img); err != nil {
		t.Fatalf("second call: %v", err)
	}
}

// TestContextCancel: a caller's deadline shorter than Timeout ends the call
// with the context's error and the process is replaced.
func TestContextCancel(t *testing.T) {
	bin, dir := fakeExiftool(t, `sleep 300 &
echo $! > "$(dirname "$0")/child.pid"
wait`)
	img := makeJPEG(t, t.TempDir(), "ok.jpg", 20, 10)
	p := newPool(t, Config{Size: 1, Timeout: time.Minute, Binary: bin})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := p.Extract(ctx, img)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want context.DeadlineExceeded", err)
	}
	pid := readPid(t, filepath.Join(dir, "child.pid"))
	time.Sleep(100 * time.Millisecond)
	if !gone(pid) {
		t.Errorf("child %d still runs", pid)
	}
	if _, err := p.Extract(context.Background(), img); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestConcurrentExtract(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 4 {
		f := makeJPEG(t, dir, fmt.Sprintf("c%d.jpg", i), 10+i, 10)
		tag(t, f, "-XMP-dc:Title=title "+strconv.Itoa(i))
		files = append(files, f)
	}
	p := newPool(t, Config{Size: 2})
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			k := i % len(files)
			m, err := p.Extract(context.Background(), files[k])
			if err != nil {
				t.Errorf("extract: %v", err)
				return
			}
			if m.Normalized.Title != "title "+strconv.Itoa(k) || m.Normalized.Width != 10+k {
				t.Errorf("file %d got %+v", k, m.Normalized)
			}
		})
	}
	wg.Wait()
}

func TestNewPoolErrors(t *testing.T) {
	if _, err := NewPool(Config{Binary: "/nonexistent/exiftool"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing binary: %v", err)
	}
	if _, err := NewPool(Config{Size: -1}); err == nil || !strings.Contains(err.Error(), "Size") {
		t.Errorf("bad size: %v", err)
	}
}
