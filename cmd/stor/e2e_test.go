package main

// End-to-end tests: the real stor binary, built once, run as a child
// process the way a user runs it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/node/nodetest"
	"stor/internal/pgtest"
	"stor/internal/s3test"
)

var storBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stor-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	storBin = filepath.Join(dir, "stor")
	out, err := exec.Command("go", "build", "-o", storBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building stor: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := s3test.Main(m) // m.Run, then MinIO (if a test started it) stops
	pgtest.Stop()          // the PostgreSQL server of the cluster tests, if started
	os.RemoveAll(dir)
	os.Exit(code)
}

const token = "stor_e2e_admin_token_0123456789"

// server is a `stor serve` child process.
type server struct {
	t       *testing.T
	cmd     *exec.Cmd
	url     string
	dataDir string
	stdout  chan string // lines
	stderr  *lockedBuffer
	done    chan struct{}
	exitErr error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startServer runs `stor serve` on dataDir and waits for /healthz. env
// adds to (or overrides) STOR_ADDR, STOR_DATA_DIR, STOR_BOOTSTRAP_TOKEN.
func startServer(t *testing.T, dataDir string, env ...string) *server {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(storBin, "serve")
	cmd.Env = append(os.Environ(), "STOR_ADDR="+addr, "STOR_DATA_DIR="+dataDir,
		"STOR_BOOTSTRAP_TOKEN="+token, "STOR_LOG_LEVEL=debug")
	cmd.Env = append(cmd.Env, env...)
	s := &server{t: t, cmd: cmd, url: "http://" + addr, dataDir: dataDir,
		stdout: make(chan string, 100), stderr: &lockedBuffer{}, done: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.stdout <- sc.Text()
		}
		close(s.stdout)
		s.exitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("stor serve stderr:\n%s", s.stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("stor serve exited before it was healthy: %v\n%s", s.exitErr, s.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("stor serve not healthy after 20s:\n%s", s.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for the process to exit and returns its exit code.
func (s *server) wait(timeout time.Duration) int {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(timeout):
		s.t.Fatalf("stor serve still running after %v", timeout)
	}
	if s.exitErr == nil {
		return 0
	}
	if ee, ok := s.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	s.t.Fatalf("wait: %v", s.exitErr)
	return -1
}

func (s *server) do(method, path, tok string, body io.Reader, header http.Header) (int, []byte) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, body)
	for k, v := range header {
		req.Header[k] = v
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *server) upload(tok, name string, data []byte) (int, map[string]any) {
	s.t.Helper()
	code, body := s.do("POST", "/api/v1/assets", tok, bytes.NewReader(data),
		http.Header{"Content-Disposition": {`attachment; filename="` + name + `"`}})
	var a map[string]any
	json.Unmarshal(body, &a)
	return code, a
}

func (s *server) count(tok string) int {
	s.t.Helper()
	code, body := s.do("GET", "/api/v1/assets?limit=1000", tok, nil, nil)
	if code != 200 {
		s.t.Fatalf("list: %d %s", code, body)
	}
	var l struct{ Items []json.RawMessage }
	json.Unmarshal(body, &l)
	return len(l.Items)
}

func TestQuickStart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "STOR_BOOTSTRAP_TOKEN=") // a fresh install: no token given
	var lines []string
	for len(lines) < 2 {
		select {
		case l := <-s.stdout:
			lines = append(lines, l)
		case <-time.After(5 * time.Second):
			t.Fatalf("stor serve printed %q, want the URL and the admin token", lines)
		}
	}
	if !strings.Contains(lines[0], s.url+"/") {
		t.Errorf("first line %q does not show the URL %s", lines[0], s.url)
	}
	m := regexp.MustCompile(`admin token.*: (stor_[a-z0-9]+)$`).FindStringSubmatch(lines[1])
	if m == nil {
		t.Fatalf("second line %q does not show the admin token", lines[1])
	}
	admin := m[1]
	if strings.Contains(s.stderr.String(), admin) {
		t.Errorf("the admin token is written to the logs")
	}
	jpg := nodetest.JPEG(t, 120, 90, 1)
	if code, _ := s.upload("", "a.jpg", jpg); code != 401 {
		t.Errorf("upload without a token: %d, want 401", code)
	}
	code, a := s.upload(admin, "a.jpg", jpg)
	if code != 201 || a["format"] != "jpg" || a["kind"] != "image" {
		t.Fatalf("upload with the printed token: %d %v", code, a)
	}
	code, body := s.do("GET", "/api/v1/assets/"+a["id"].(string)+"/original", admin, nil, nil)
	if code != 200 || !bytes.Equal(body, jpg) {
		t.Errorf("original: %d, identical %v", code, bytes.Equal(body, jpg))
	}
	// SIGTERM: a clean exit.
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(15 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	// A restart prints no new token, and the old one still works.
	s2 := startServer(t, dir, "STOR_BOOTSTRAP_TOKEN=")
	select {
	case l := <-s2.stdout:
		if strings.Contains(l, "token") {
			t.Errorf("restart printed a token line: %q", l)
		}
	case <-time.After(5 * time.Second):
	}
	if n := s2.count(admin); n != 1 {
		t.Errorf("after restart %d assets, want 1", n)
	}
}

// slowBody is a request body the test feeds by hand.
func startUpload(t *testing.T, url, name string, size int64) (*io.PipeWriter, chan int) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url+"/api/v1/assets", pr)
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	status := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	return pw, status
}

// spoolBytes is the size of the largest file in DATA/spool.
func spoolBytes(dir string) int64 {
	var most int64
	entries, _ := os.ReadDir(filepath.Join(dir, "spool"))
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Size() > most {
			most = fi.Size()
		}
	}
	return most
}

func TestKill9MidUpload(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	const size = 200 << 20
	pw, status := startUpload(t, s.url, "big.jpg", size)
	chunk := nodetest.JPEG(t, 16, 16, 1)
	chunk = append(chunk, make([]byte, 1<<20-len(chunk))...)
	sent := 0
	for sent < size/2 {
		if _, err := pw.Write(chunk); err != nil {
			t.Fatalf("writing the upload: %v", err)
		}
		sent += len(chunk)
	}
	// Wait until the server has spooled a good part of it, then kill -9.
	deadline := time.Now().Add(30 * time.Second)
	for spoolBytes(dir) < size/4 {
		if time.Now().After(deadline) {
			t.Fatalf("server spooled only %d bytes", spoolBytes(dir))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.wait(10 * time.Second)
	pw.CloseWithError(fmt.Errorf("server killed"))
	if st := <-status; st == 201 {
		t.Fatalf("the cut upload answered 201")
	}

	if got := nodetest.Files(t, filepath.Join(dir, "blobs", "originals")); len(got) != 0 {
		t.Errorf("after kill -9, files under blobs/originals: %v", got)
	}
	if left := spoolBytes(dir); left > 0 {
		t.Logf("note: a %d-byte spool file of the cut upload stays in DATA/spool until the next start's sweep (files older than 1h)", left)
	}
	s2 := startServer(t, dir)
	if n := s2.count(token); n != 0 {
		t.Errorf("after kill -9 and restart, %d assets, want 0", n)
	}
	if got := nodetest.Files(t, filepath.Join(dir, "blobs", "originals")); len(got) != 0 {
		t.Errorf("after restart, files under blobs/originals: %v", got)
	}
	jpg := nodetest.JPEG(t, 50, 50, 2)
	if code, _ := s2.upload(token, "after.jpg", jpg); code != 201 {
		t.Errorf("upload after restart: %d", code)
	}
	if n := s2.count(token); n != 1 {
		t.Errorf("after a new upload %d assets, want 1", n)
	}
	if code, body := s2.do("GET", "/readyz", "", nil, nil); code != 200 {
		t.Errorf("/readyz after restart: %d %s", code, body)
	}
}

func TestSIGTERMFinishesRunningUpload(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	data := nodetest.JPEG(t, 16, 16, 3)
	data = append(data, make([]byte, 4<<20)...)
	pw, status := startUpload(t, s.url, "inflight.jpg", int64(len(data)))
	pw.Write(data[:1<<20])
	for spoolBytes(dir) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	select {
	case <-s.done:
		t.Fatalf("stor serve exited with an upload in flight")
	default:
	}
	// New connections are refused while it drains.
	if resp, err := http.Get(s.url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("a new request was served after SIGTERM")
	}
	pw.Write(data[1<<20:])
	pw.Close()
	if st := <-status; st != 201 {
		t.Errorf("the in-flight upload answered %d, want 201", st)
	}
	if code := s.wait(15 * time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if !strings.Contains(s.stderr.String(), "shutting down") {
		t.Errorf("no shutdown log line")
	}
	if got := nodetest.Files(t, filepath.Join(dir, "blobs", "originals")); len(got) != 1 {
		t.Errorf("after graceful shutdown %d originals, want 1", len(got))
	}
}

// run runs the stor binary and returns stdout, stderr and the exit code.
func run(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, storBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("stor %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// makeTree writes five distinct images in nested directories, a dotfile
// (skipped) and a file of no known format.
func makeTree(t *testing.T) string {
	root := t.TempDir()
	files := map[string][]byte{
		"a.jpg":                  nodetest.JPEG(t, 30, 20, 1),
		"sub/b.png":              nodetest.PNG(t, 30, 20, 2),
		"sub/deeper/c.jpg":       nodetest.JPEG(t, 30, 20, 3),
		"sub/deeper/d.jpeg":      nodetest.JPEG(t, 30, 20, 4),
		"other/e with space.jpg": nodetest.JPEG(t, 30, 20, 5),
		".hidden.jpg":            nodetest.JPEG(t, 30, 20, 6),
		"sub/notes.xyz":          []byte("not a format stor knows"),
	}
	for name, b := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func summary(t *testing.T, stdout string) string {
	t.Helper()
	m := regexp.MustCompile(`ingested \d+, skipped \d+ already stored, \d+ unsupported, \d+ failed \(\d+ files`).FindString(stdout)
	if m == "" {
		t.Fatalf("no summary line in %q", stdout)
	}
	return m
}

func TestIngestCLI(t *testing.T) {
	root := makeTree(t)
	s := startServer(t, t.TempDir())
	env := []string{"STOR_TOKEN=" + token}
	for _, c := range []struct {
		args []string
		want string
		n    int
	}{
		{nil, "ingested 5, skipped 0 already stored, 1 unsupported, 0 failed (6 files", 5},
		{nil, "ingested 0, skipped 5 already stored, 1 unsupported, 0 failed (6 files", 5},
		{[]string{"--force"}, "ingested 5, skipped 0 already stored, 1 unsupported, 0 failed (6 files", 10},
	} {
		args := append([]string{"ingest", "--server", s.url, "--quiet"}, c.args...)
		out, errs, code := run(t, env, append(args, root)...)
		if code != 0 {
			t.Fatalf("stor %v: exit %d\n%s%s", args, code, out, errs)
		}
		if got := summary(t, out); got != c.want {
			t.Errorf("stor %v: %q, want %q", c.args, got, c.want)
		}
		if n := s.count(token); n != c.n {
			t.Errorf("after stor %v: %d assets, want %d", c.args, n, c.n)
		}
	}
	// Unknown formats are stored with --ignore-unsupported.
	out, _, _ := run(t, env, "ingest", "--server", s.url, "--quiet", "--ignore-unsupported", root)
	if got := summary(t, out); got != "ingested 1, skipped 5 already stored, 0 unsupported, 0 failed (6 files" {
		t.Errorf("--ignore-unsupported: %q", got)
	}
	// Nested names arrive as the file's own name, not a path.
	_, body := s.do("GET", "/api/v1/assets?q=space", token, nil, nil)
	if !strings.Contains(string(body), `"filename":"e with space.jpg"`) {
		t.Errorf("nested file's asset: %s", body)
	}
	// A bad token fails every file and the exit code says so.
	out, _, code := run(t, []string{"STOR_TOKEN=stor_wrong"}, "ingest", "--server", s.url, "--quiet", root)
	if code == 0 || !strings.Contains(out, "6 failed") {
		t.Errorf("wrong token: exit %d, %q", code, out)
	}
}

func TestIngestCLIDirect(t *testing.T) {
	root := makeTree(t)
	data := t.TempDir()
	out, errs, code := run(t, nil, "ingest", "--data-dir", data, "--quiet", root)
	if code != 0 || summary(t, out) != "ingested 5, skipped 0 already stored, 1 unsupported, 0 failed (6 files" {
		t.Fatalf("direct ingest: exit %d %q %s", code, out, errs)
	}
	out, _, _ = run(t, nil, "ingest", "--data-dir", data, "--quiet", root)
	if got := summary(t, out); got != "ingested 0, skipped 5 already stored, 1 unsupported, 0 failed (6 files" {
		t.Errorf("second direct ingest: %q", got)
	}
	if got := nodetest.Files(t, filepath.Join(data, "blobs", "originals")); len(got) != 5 {
		t.Errorf("%d originals, want 5", len(got))
	}
	s := startServer(t, data)
	if n := s.count(token); n != 5 {
		t.Errorf("a server on the data dir lists %d assets, want 5", n)
	}
}

func TestCLIConfig(t *testing.T) {
	// A bad value names the field and fails before anything starts.
	dir := t.TempDir()
	_, errs, code := run(t, []string{"STOR_ADDR=nonsense", "STOR_DATA_DIR=" + dir}, "serve")
	if code == 0 || !strings.Contains(errs, "addr") || !strings.Contains(errs, "nonsense") {
		t.Errorf("STOR_ADDR=nonsense: exit %d, stderr %q", code, errs)
	}
	_, errs, code = run(t, []string{"STOR_DATA_DIR=" + dir}, "serve", "--shutdown-timeout", "soon")
	if code == 0 || !strings.Contains(errs, "shutdown-timeout") {
		t.Errorf("--shutdown-timeout soon: exit %d, stderr %q", code, errs)
	}
	// --help lists every flag of the config.
	out, errs, code := run(t, nil, "serve", "--help")
	if code != 0 {
		t.Errorf("serve --help: exit %d", code)
	}
	help := out + errs
	cfg := config.Default()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	cfg.Bind(fs)
	fs.VisitAll(func(f *flag.Flag) {
		env := "STOR_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if !strings.Contains(help, "-"+f.Name) || !strings.Contains(help, env) {
			t.Errorf("serve --help lacks -%s (%s)", f.Name, env)
		}
	})
	out, _, code = run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "stor ") {
		t.Errorf("version: %d %q", code, out)
	}
	_, errs, code = run(t, nil, "frobnicate")
	if code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
	// A flag beats the environment: the server listens where --addr says.
	addr := freeAddr(t)
	cmd := exec.Command(storBin, "serve", "--addr", addr)
	cmd.Env = append(os.Environ(), "STOR_ADDR=127.0.0.1:1", "STOR_DATA_DIR="+dir, "STOR_BOOTSTRAP_TOKEN="+token)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	ok := false
	for range 200 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			ok = true
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !ok {
		t.Errorf("--addr %s did not beat STOR_ADDR", addr)
	}
	// token create works on the data dir and the token is usable.
	out, errs, code = run(t, []string{"STOR_DATA_DIR=" + dir}, "token", "create", "--name", "ci", "--scopes", "read")
	tok := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(tok, "stor_") {
		t.Fatalf("token create: %d %q %q", code, out, errs)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/assets", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("token from `stor token create`: %v %v", err, resp)
	} else {
		resp.Body.Close()
	}
}
