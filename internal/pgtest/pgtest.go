// Package pgtest gives tests a real PostgreSQL: one server per test
// process, started on loopback from Debian's postgresql (initdb into a
// temp dir, a free port, pg_ctl start; stopped when the process's tests
// end), and a fresh database per test (CREATE DATABASE is cheap).
//
// STOR_TEST_DATABASE_URL, when set, names an existing server to use
// instead (a postgres:// DSN of a role that may create databases).
//
// If PostgreSQL cannot start, the test fails: it is never skipped.
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// EnvURL names an existing server to use instead of starting one.
const EnvURL = "STOR_TEST_DATABASE_URL"

// BinDir is where Debian installs PostgreSQL 15's server programs.
const BinDir = "/usr/lib/postgresql/15/bin"

type server struct {
	base string // DSN of the maintenance database
	dir  string // temp dir (data dir, socket, log) of a server we started; "" for an external one
	err  error
}

var (
	once sync.Once
	srv  server
	seq  atomic.Int64
)

// Main wraps testing.M.Run: it stops the server the tests started. Call
// it from TestMain of packages that use pgtest:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Without it, the server is left to the kernel: pg_ctl's postmaster
// notices its data dir vanish from /tmp only at the next reboot, so use it.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop shuts the server down if this process started one.
func Stop() {
	if srv.dir == "" {
		return
	}
	pgCtl(filepath.Join(srv.dir, "data"), "-m", "immediate", "stop")
	os.RemoveAll(srv.dir)
	srv.dir = ""
}

// URL returns a DSN of a new, empty database for this test, dropped when
// the test ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(start)
	if srv.err != nil {
		t.Fatalf("pgtest: PostgreSQL did not start: %v", srv.err)
	}
	name := fmt.Sprintf("stor_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, seq.Add(1))
	admin, err := sql.Open("pgx", srv.base)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close()
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", srv.base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	})
	u, _ := url.Parse(srv.base)
	u.Path = "/" + name
	return u.String()
}

func start() {
	if v := os.Getenv(EnvURL); v != "" {
		srv.base = v
		return
	}
	srv.base, srv.dir, srv.err = startLocal()
}

// startLocal runs initdb and pg_ctl. initdb refuses root, so as root the
// server runs as the postgres user (in a dir it owns).
func startLocal() (base, dir string, err error) {
	if _, err := os.Stat(filepath.Join(BinDir, "initdb")); err != nil {
		return "", "", fmt.Errorf("%w (install with scripts/setup.sh)", err)
	}
	dir, err = os.MkdirTemp("", "stor-pgtest-")
	if err != nil {
		return "", "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", "", err
	}
	data := filepath.Join(dir, "data")
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", "", fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", "", err
		}
	}
	if out, err := run(filepath.Join(BinDir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-locale", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("initdb: %w: %s", err, out)
	}
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return "", "", err
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
			"-c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB", port, dir)
		out, err := pgCtl(data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start")
		if err == nil {
			return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), dir, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		lastErr = fmt.Errorf("pg_ctl start: %w: %s %s", err, out, log)
	}
	os.RemoveAll(dir)
	return "", "", lastErr
}

func pgCtl(data string, args ...string) (string, error) {
	return run(filepath.Join(BinDir, "pg_ctl"), append([]string{"-D", data}, args...)...)
}

// run runs a server program, as the postgres user when we are root.
func run(prog string, args ...string) (string, error) {
	cmd := exec.Command(prog, args...)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		cmd.Dir = "/"
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
