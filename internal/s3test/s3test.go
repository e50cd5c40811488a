// Package s3test runs one real MinIO server per test process, on loopback,
// and gives each test a bucket of its own:
//
//	func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }
//
//	func TestX(t *testing.T) {
//		srv := s3test.Start(t)     // the process's MinIO, started at first use
//		bucket := srv.Bucket(t)    // a fresh, empty bucket
//		...
//	}
//
// MinIO is a test dependency installed by scripts/setup.sh
// (STOR_SETUP_TESTS=1) into ${XDG_CACHE_HOME:-$HOME/.cache}/stor/bin, or
// named by STOR_MINIO_BIN. When it is missing or does not start, the test
// fails: it never skips.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Server is a running MinIO.
type Server struct {
	Endpoint  string // host:port, plain HTTP
	Region    string
	AccessKey string
	SecretKey string
	Client    *minio.Client

	dir string
	cmd *exec.Cmd
}

var (
	once    sync.Once
	shared  *Server
	started error
	nbucket int
	mu      sync.Mutex
)

// Binary finds the MinIO executable.
func Binary() (string, error) {
	if p := os.Getenv("STOR_MINIO_BIN"); p != "" {
		return p, nil
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "stor", "bin", "minio")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("s3test: no MinIO binary at %s or on PATH: run STOR_SETUP_TESTS=1 scripts/setup.sh", p)
}

// Start returns the process's MinIO, starting it at the first call. A
// MinIO that cannot start fails the test.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { shared, started = start() })
	if started != nil {
		t.Fatalf("s3test: %v", started)
	}
	return shared
}

// StartServer is Start for programs that are not tests (benchmarks):
// the process's MinIO, started at the first call. Call Stop before
// exiting.
func StartServer() (*Server, error) {
	once.Do(func() { shared, started = start() })
	return shared, started
}

// Stop stops the process's MinIO, if it started, and removes its data.
func Stop() {
	if shared != nil {
		shared.stop()
	}
}

// NewBucket makes a new, empty bucket (for programs that are not tests;
// tests use Bucket).
func (s *Server) NewBucket() (string, error) {
	mu.Lock()
	nbucket++
	name := strings.ToLower(fmt.Sprintf("b%d-%s", nbucket, randHex(4)))
	mu.Unlock()
	if err := s.Client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		return "", fmt.Errorf("s3test: make bucket: %w", err)
	}
	return name, nil
}

// Main runs the tests and then stops MinIO and removes its data.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	return code
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "stor-minio-")
	if err != nil {
		return nil, err
	}
	s := &Server{Region: "us-east-1", AccessKey: "stor" + randHex(4), SecretKey: randHex(16), dir: dir}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a port taken between probe and bind
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cport, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
		if lastErr = s.run(bin, cport); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		os.RemoveAll(dir)
		return nil, lastErr
	}
	s.Client, err = minio.New(s.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region,
	})
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) run(bin string, consolePort int) error {
	data := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(s.dir, "minio.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "server", data, "--quiet", "--address", s.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", consolePort))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s.AccessKey, "MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_REGION="+s.Region, "MINIO_CI_CD=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	// MinIO dies with the test process even when Main is not used.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	logf.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "minio.log"))
			return fmt.Errorf("minio exited (%v): %s", err, tail(string(log)))
		case <-deadline:
			cmd.Process.Kill()
			return errors.New("minio not ready after 60s")
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get("http://" + s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.cmd = cmd
				return nil
			}
		}
	}
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { s.cmd.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
		}
	}
	os.RemoveAll(s.dir)
}

// Bucket makes a new empty bucket for this test; it is emptied and
// removed when the test ends.
func (s *Server) Bucket(t testing.TB) string {
	t.Helper()
	mu.Lock()
	nbucket++
	name := fmt.Sprintf("t%d-%s", nbucket, randHex(4))
	mu.Unlock()
	name = strings.ToLower(name)
	ctx := context.Background()
	if err := s.Client.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: s.Region}); err != nil {
		t.Fatalf("s3test: make bucket: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for u := range s.Client.ListIncompleteUploads(ctx, name, "", true) {
			s.Client.RemoveIncompleteUpload(ctx, name, u.Key)
		}
		objs := s.Client.ListObjects(ctx, name, minio.ListObjectsOptions{Recursive: true})
		for e := range s.Client.RemoveObjects(ctx, name, objs, minio.RemoveObjectsOptions{}) {
			_ = e
		}
		s.Client.RemoveBucket(ctx, name)
	})
	return name
}

// Keys lists every object key in bucket under prefix.
func (s *Server) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for o := range s.Client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("s3test: list: %v", o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}
