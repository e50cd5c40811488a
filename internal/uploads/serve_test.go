package uploads_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"stor/internal/pgtest"
	"strings"
	"syscall"
	"testing"
	"time"

	"stor/internal/tusclient"
)

const testToken = "uploads-test-token-0123456789"

var storBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stor-uploads-test-")
	if err != nil {
		panic(err)
	}
	storBin = filepath.Join(dir, "stor")
	cmd := exec.Command("go", "build", "-o", storBin, "stor/cmd/stor")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building stor:", err)
		os.Exit(1)
	}
	code := pgtest.Main(m) // stops the PostgreSQL of the locker tests
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a `stor serve` child process.
type server struct {
	t       *testing.T
	dataDir string
	addr    string
	env     []string
	cmd     *exec.Cmd
	logPath string
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, dataDir string, env ...string) *server {
	s := &server{t: t, dataDir: dataDir, addr: freeAddr(t), env: env, logPath: filepath.Join(dataDir, "..", filepath.Base(dataDir)+".log")}
	s.start()
	t.Cleanup(func() { s.kill() })
	return s
}

func (s *server) start() {
	s.t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(storBin, "serve")
	cmd.Env = append(os.Environ(), "STOR_DATA_DIR="+s.dataDir, "STOR_ADDR="+s.addr,
		"STOR_BOOTSTRAP_TOKEN="+testToken, "STOR_WORKERS=0", "STOR_LOG_LEVEL=warn")
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	logf.Close()
	s.cmd = cmd
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.url() + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, _ := os.ReadFile(s.logPath)
	s.t.Fatalf("stor serve did not come up:\n%s", log)
}

func (s *server) kill() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGKILL)
		s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *server) url() string { return "http://" + s.addr }

func (s *server) client() *tusclient.Client {
	return &tusclient.Client{Endpoint: s.url() + "/uploads/",
		Header: http.Header{"Authorization": {"Bearer " + testToken}}}
}

type assetResp struct {
	ID       string `json:"id"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	State    string `json:"state"`
	Error    string `json:"error"`
	Filename string `json:"filename"`
	Progress *struct {
		ReceivedBytes int64 `json:"received_bytes"`
	} `json:"progress"`
}

func (s *server) asset(t *testing.T, id string) assetResp {
	t.Helper()
	var a assetResp
	s.getJSON(t, "/api/v1/assets/"+id, &a)
	return a
}

// randomFile writes size pseudo-random bytes and returns the path and the
// hex SHA-256.
func randomFile(t *testing.T, dir string, size int64, seed uint64) (string, string) {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("data-%d.bin", seed))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 7})
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	if _, err := io.CopyN(w, rng, size); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return p, hex.EncodeToString(h.Sum(nil))
}

func fileMeta(name string) map[string]string {
	return map[string]string{"filename": name, "ignore_unsupported": "1"}
}

// cutReader delivers n bytes of r and then fails: the client aborts the
// PATCH mid-body, as a dropped connection does.
type cutReader struct {
	r     io.Reader
	left  int64
	after func()
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		if c.after != nil {
			c.after()
			c.after = nil
			time.Sleep(200 * time.Millisecond)
		}
		return 0, fmt.Errorf("connection cut on purpose")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// offsetWhenSettled HEADs until the offset stops moving (the server saves
// the bytes of an aborted PATCH shortly after the connection drops).
func offsetWhenSettled(t *testing.T, c *tusclient.Client, loc string) int64 {
	t.Helper()
	ctx := context.Background()
	prev := int64(-1)
	for range 200 {
		off, _, err := c.Offset(ctx, loc)
		if err == nil && off == prev {
			return off
		}
		if err != nil && !strings.Contains(err.Error(), "423") && !strings.Contains(err.Error(), "lock") {
			t.Fatalf("HEAD %s: %v", loc, err)
		}
		prev = off
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("offset of %s never settled", loc)
	return 0
}

// The server dies after an upload's last byte is stored and before the
// commit made it an asset. On restart the upload is committed (once) and
// its files are gone: the client, which saw offset == length, gets its
// asset, and no complete upload sits there until it expires.
func TestCompleteUploadCommittedAfterCrash(t *testing.T) {
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	path, sum := randomFile(t, t.TempDir(), 3<<20+17, 41)
	data, _ := os.ReadFile(path)
	c := s.client()
	ctx := context.Background()
	loc, err := c.Create(ctx, int64(len(data)), fileMeta("late.bin"), "")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(path)
	defer f.Close()
	// Everything but the last byte through tus, then the crash.
	if _, err := c.Upload(ctx, loc, f, 0, int64(len(data))-1, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	s.kill()
	// The last byte reached the data file before the crash (past the
	// last checkpoint: the hash state must catch up from the file).
	id := loc[strings.LastIndex(loc, "/")+1:]
	bin := filepath.Join(dataDir, "uploads", id)
	df, err := os.OpenFile(bin, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("the upload's data file: %v", err)
	}
	df.Write(data[len(data)-1:])
	df.Close()

	s.start()
	deadline := time.Now().Add(20 * time.Second)
	var items []assetResp
	for {
		req, _ := http.NewRequest("GET", s.url()+"/api/v1/assets?limit=10", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var l struct{ Items []assetResp }
		json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if items = l.Items; len(items) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(items) != 1 || items[0].SHA256 != sum || items[0].Size != int64(len(data)) || items[0].Filename != "late.bin" {
		t.Fatalf("after the restart: %+v, want one late.bin with sha256 %s", items, sum)
	}
	for _, suffix := range []string{"", ".info", ".state"} {
		if _, err := os.Stat(bin + suffix); !os.IsNotExist(err) {
			t.Errorf("%s%s is still there after the commit (%v)", id, suffix, err)
		}
	}
}
