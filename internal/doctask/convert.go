package doctask

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"stor/internal/proc"
)

// Converter turns Office documents into PDF with LibreOffice headless. It
// keeps a small pool of soffice processes running (warm), each on its own
// profile directory, each driven over UNO by a small Python bridge
// (unobridge.py, python3-uno): each conversion loads the document hidden,
// read-only, with macros never executed and links not updated, and exports
// it with the PDF filter of its type — no conversion pays for starting the
// office suite. (A second `soffice --convert-to` on the running instance's
// profile would hand its request over LibreOffice's own IPC, but the
// instance then exits after the conversion: measured with LibreOffice 7.4.)
//
// Each instance converts one document at a time; ConverterConfig.Pool
// instances (default 1) convert in parallel, started on demand. A
// conversion that passes its timeout kills its bridge and instance (a hung
// document may have wedged it); the next conversion on that slot starts a
// fresh one.
//
// Safety: the profile is private to the instance (never the user's), macro
// execution is disabled in it and macro security set to "very high", and
// the update check and crash reporter are off; soffice gets a HOME and
// TMPDIR inside the profile and no proxy settings. It runs in a network
// namespace of its own (`unshare --net`, with `--map-root-user` when stor
// is not root): no interface but a loopback that is down, so a document's
// remote links, images or OLE sources cannot fetch anything, whatever
// LibreOffice decides. Where namespaces are not available the converter
// fails closed: every conversion fails with the reason, nothing runs
// with network access.
type Converter struct {
	cfg ConverterConfig

	slots chan *instance
	all   []*instance

	isoOnce sync.Once
	isoErr  error
	isoArgs []string
}

// instance is one warm soffice and its bridge; owned by whoever took it
// from Converter.slots.
type instance struct {
	n      int
	warm   *exec.Cmd
	stdin  io.WriteCloser
	lines  *bufio.Reader
	done   chan struct{}
	starts int
}

// ConverterConfig tunes a Converter.
type ConverterConfig struct {
	// Soffice is the LibreOffice executable. Default "soffice".
	Soffice string
	// Python is a python3 with the uno module. Default "/usr/bin/python3".
	Python string
	// Unshare is util-linux's unshare, which puts soffice in a network
	// namespace of its own. Default "unshare".
	Unshare string
	// ProfileDir holds the instances' private LibreOffice profiles
	// (created).
	ProfileDir string
	// Pool is how many warm instances convert at once. Default 1.
	Pool int
	// Timeout bounds one conversion. Default 2 minutes.
	Timeout time.Duration
	// StartTimeout bounds starting a warm instance. Default 2 minutes.
	StartTimeout time.Duration
	// Cold converts every document with `soffice --convert-to` and a fresh
	// profile (no warm instance): the benchmark's baseline.
	Cold bool

	// withNetwork runs soffice without its own network namespace: only the
	// test that shows what the isolation prevents sets it.
	withNetwork bool
	// bareProfile leaves out the hardened registry settings (which also
	// block remote pictures), so that the test can show what the
	// namespace alone prevents.
	bareProfile bool
}

// NewConverter returns a converter; soffice starts at the first use.
func NewConverter(cfg ConverterConfig) (*Converter, error) {
	if cfg.Soffice == "" {
		cfg.Soffice = "soffice"
	}
	if cfg.Python == "" {
		cfg.Python = "/usr/bin/python3"
	}
	if cfg.Unshare == "" {
		cfg.Unshare = "unshare"
	}
	if cfg.Pool <= 0 {
		cfg.Pool = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.ProfileDir == "" {
		return nil, errors.New("doctask: converter needs a profile directory")
	}
	if err := os.MkdirAll(cfg.ProfileDir, 0o700); err != nil {
		return nil, fmt.Errorf("doctask: converter profile: %w", err)
	}
	c := &Converter{cfg: cfg, slots: make(chan *instance, cfg.Pool)}
	for i := range cfg.Pool {
		in := &instance{n: i}
		c.all = append(c.all, in)
		c.slots <- in
	}
	return c, nil
}

// ErrNoIsolation is wrapped by conversions refused because soffice cannot
// be started without network access on this machine.
var ErrNoIsolation = errors.New("office: cannot isolate LibreOffice from the network")

// isolation returns the command prefix that runs a program in a network
// namespace of its own, checking once that it works (fail closed).
func (c *Converter) isolation(ctx context.Context) ([]string, error) {
	if c.cfg.withNetwork {
		return nil, nil
	}
	c.isoOnce.Do(func() {
		args := []string{c.cfg.Unshare, "--net"}
		if os.Geteuid() != 0 {
			args = append(args, "--map-root-user") // a user namespace grants the netns
		}
		args = append(args, "--")
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		// The probe must see no interface up: only a down loopback.
		out, err := proc.Command(pctx, args[0], append(args[1:], "cat", "/proc/net/dev")...).CombinedOutput()
		if err != nil {
			c.isoErr = fmt.Errorf("%w: %s %v: %v: %s", ErrNoIsolation, strings.Join(args, " "), "cat /proc/net/dev", err,
				strings.TrimSpace(string(out)))
			return
		}
		for _, line := range strings.Split(string(out), "\n") {
			name, _, ok := strings.Cut(strings.TrimSpace(line), ":")
			if ok && !strings.Contains(name, "|") && name != "lo" {
				c.isoErr = fmt.Errorf("%w: the new namespace has interface %q", ErrNoIsolation, name)
				return
			}
		}
		c.isoArgs = args
	})
	return c.isoArgs, c.isoErr
}

// command builds an exec.Cmd for name args, isolated.
func (c *Converter) command(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	pre, err := c.isolation(ctx)
	if err != nil {
		return nil, err
	}
	full := append(append(append([]string{}, pre...), name), args...)
	cmd := exec.Command(full[0], full[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

//go:embed unobridge.py
var bridgePy []byte

// registry is the profile's registrymodifications.xcu: macros off, no
// update check, no crash reporter, no first-start wizard.
const registry = `<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Jobs/Jobs/org.openoffice.Office.Jobs:Job['UpdateCheck']/Arguments"><prop oor:name="AutoCheckEnabled" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="CrashReport" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
`

func (c *Converter) profile(dir string) (string, error) {
	user := filepath.Join(dir, "user")
	if err := os.MkdirAll(user, 0o700); err != nil {
		return "", err
	}
	reg := filepath.Join(user, "registrymodifications.xcu")
	if _, err := os.Stat(reg); errors.Is(err, os.ErrNotExist) && !c.cfg.bareProfile {
		if err := os.WriteFile(reg, []byte(registry), 0o600); err != nil {
			return "", err
		}
	}
	return (&url.URL{Scheme: "file", Path: dir}).String(), nil
}

func baseArgs(profileURL string) []string {
	return []string{"-env:UserInstallation=" + profileURL, "--headless", "--invisible", "--nologo",
		"--norestore", "--nodefault", "--nolockcheck", "--nofirststartwizard"}
}

// env is soffice's environment: its own HOME and TMPDIR under the profile,
// no proxy settings (documents do not fetch anything through us).
func env(dir string) []string {
	var out []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		switch strings.ToLower(k) {
		case "home", "tmpdir", "http_proxy", "https_proxy", "all_proxy", "no_proxy":
			continue
		}
		out = append(out, e)
	}
	tmp := filepath.Join(dir, "tmp")
	os.MkdirAll(tmp, 0o700)
	return append(out, "HOME="+dir, "TMPDIR="+tmp, "SAL_USE_VCLPLUGIN=svp")
}

// startWarm starts in's bridge and its soffice if they are not running.
func (c *Converter) startWarm(ctx context.Context, in *instance) error {
	if in.warm != nil {
		select {
		case <-in.done:
			in.stop()
		default:
			return nil
		}
	}
	dir := filepath.Join(c.cfg.ProfileDir, "warm-"+strconv.Itoa(in.n))
	pu, err := c.profile(dir)
	if err != nil {
		return fmt.Errorf("office: profile: %w", err)
	}
	script := filepath.Join(c.cfg.ProfileDir, "unobridge.py")
	if err := os.WriteFile(script, bridgePy, 0o600); err != nil {
		return fmt.Errorf("office: %w", err)
	}
	in.starts++
	pipe := fmt.Sprintf("stor-%d-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e9, in.n, in.starts)
	cmd, err := c.command(ctx, c.cfg.Python, script, c.cfg.Soffice, pu, pipe,
		strconv.Itoa(int(c.cfg.StartTimeout.Seconds())))
	if err != nil {
		return err
	}
	cmd.Env = env(dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("office: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("office: %w", err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("office: start the converter: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	in.warm, in.stdin, in.lines, in.done = cmd, stdin, bufio.NewReader(out), done
	sctx, cancel := context.WithTimeout(ctx, c.cfg.StartTimeout)
	defer cancel()
	line, err := in.readLine(sctx)
	if err != nil || line != "ready" {
		in.stop()
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return fmt.Errorf("office: the converter did not start (%q, %v): %s", line, err, msg)
	}
	return nil
}

// readLine reads the bridge's next answer, or gives up with ctx.
func (in *instance) readLine(ctx context.Context) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	lines := in.lines
	go func() {
		s, err := lines.ReadString('\n')
		ch <- res{strings.TrimRight(s, "\n"), err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		in.stop() // unblocks the reader
		return "", ctx.Err()
	}
}

// stop kills the bridge's process group (soffice included).
func (in *instance) stop() {
	if in.warm == nil {
		return
	}
	in.stdin.Close()
	syscall.Kill(-in.warm.Process.Pid, syscall.SIGKILL)
	<-in.done
	in.warm = nil
}

// Close stops the warm instances, waiting for running conversions.
func (c *Converter) Close() error {
	taken := make([]*instance, 0, len(c.all))
	for range c.all {
		in := <-c.slots
		in.stop()
		taken = append(taken, in)
	}
	for _, in := range taken {
		c.slots <- in
	}
	return nil
}

// ErrConvert is wrapped by conversions that LibreOffice refused or that
// produced no PDF: the document is not one it can read.
var ErrConvert = errors.New("LibreOffice could not convert the document")

// ToPDF converts src into a PDF in outDir and returns its path.
func (c *Converter) ToPDF(ctx context.Context, src, outDir string) (string, error) {
	// Named with a plain name and the format's extension: LibreOffice
	// picks its import filter from the content and the extension.
	in := filepath.Join(outDir, "in"+strings.ToLower(filepath.Ext(src)))
	if err := os.Symlink(src, in); err != nil {
		return "", fmt.Errorf("office: %w", err)
	}
	want := filepath.Join(outDir, "in.pdf")
	var inst *instance
	select {
	case inst = <-c.slots:
	case <-ctx.Done():
		return "", fmt.Errorf("office: waiting for a converter: %w", ctx.Err())
	}
	defer func() { c.slots <- inst }()
	if c.cfg.Cold {
		return want, c.cold(ctx, in, outDir)
	}
	if err := c.startWarm(ctx, inst); err != nil {
		return "", err
	}
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if _, err := io.WriteString(inst.stdin, in+"\t"+want+"\n"); err != nil {
		inst.stop()
		return "", fmt.Errorf("office: converter gone: %w", err)
	}
	line, err := inst.readLine(cctx)
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return "", fmt.Errorf("office: conversion did not finish within %s: %w", c.cfg.Timeout, cctx.Err())
		}
		return "", fmt.Errorf("office: converter: %w", err)
	}
	if msg, ok := strings.CutPrefix(line, "err "); ok {
		return "", fmt.Errorf("%w: %s", ErrConvert, msg)
	}
	if line != "ok" {
		return "", fmt.Errorf("office: converter said %q", line)
	}
	if _, err := os.Stat(want); err != nil {
		return "", fmt.Errorf("%w: no PDF written", ErrConvert)
	}
	return want, nil
}

// cold converts with a soffice of its own on a fresh profile.
func (c *Converter) cold(ctx context.Context, in, outDir string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	dir, err := os.MkdirTemp(c.cfg.ProfileDir, "cold-")
	if err != nil {
		return fmt.Errorf("office: %w", err)
	}
	defer os.RemoveAll(dir)
	pu, err := c.profile(dir)
	if err != nil {
		return fmt.Errorf("office: profile: %w", err)
	}
	cmd, err := c.command(ctx, c.cfg.Soffice, append(baseArgs(pu), "--convert-to", "pdf", "--outdir", outDir, in)...)
	if err != nil {
		return err
	}
	cmd.Env = env(dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("office: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err = cmd.Wait()
	stop()
	if ctx.Err() != nil {
		return fmt.Errorf("office: conversion did not finish within %s: %w", c.cfg.Timeout, ctx.Err())
	}
	if _, serr := os.Stat(filepath.Join(outDir, "in.pdf")); serr != nil {
		return fmt.Errorf("%w: %v: %s", ErrConvert, err, strings.TrimSpace(out.String()))
	}
	return nil
}
