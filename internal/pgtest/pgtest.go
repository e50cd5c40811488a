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
	base string    // DSN of the maintenance database
	dir  string    // temp dir (data dir, socket, log) of a server we started
	proc *exec.Cmd // the postmaster we started; nil for an external server
	// exited receives the postmaster's exit.
	exited <-chan error
	err    error
}

var (
	once sync.Once
	srv  server
	seq  atomic.Int64
)

// Main wraps testing.M.Run and stops the server the tests started. Use
// it from TestMain of packages that use pgtest:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Without it the server still dies with the test process (it gets
// SIGQUIT when its parent exits) and the next start sweeps its temp dir.
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop shuts the server down if this process started one.
func Stop() {
	if srv.proc == nil {
		return
	}
	srv.proc.Process.Signal(syscall.SIGQUIT)
	select {
	case <-srv.exited:
	case <-time.After(10 * time.Second):
	}
	os.RemoveAll(srv.dir)
	srv.proc = nil
}

// URL returns a DSN of a new, empty database for this test, dropped when
// the test ends.
func URL(t testing.TB) string {
	t.Helper()
	u, drop, err := NewDatabase()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(drop)
	return u
}

// NewDatabase is URL for programs that are not tests (benchmarks): it
// starts the process's server at first use and returns the DSN of a new,
// empty database and a func that drops it. Call Stop before exiting.
func NewDatabase() (dsn string, drop func(), err error) {
	once.Do(start)
	if srv.err != nil {
		return "", nil, fmt.Errorf("PostgreSQL did not start: %w", srv.err)
	}
	name := fmt.Sprintf("stor_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, seq.Add(1))
	admin, err := sql.Open("pgx", srv.base)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop = func() {
		admin, err := sql.Open("pgx", srv.base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	}
	u, _ := url.Parse(srv.base)
	u.Path = "/" + name
	return u.String(), drop, nil
}

func start() {
	if v := os.Getenv(EnvURL); v != "" {
		srv.base = v
		return
	}
	sweep()
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
		logf, err := os.Create(filepath.Join(dir, "log"))
		if err != nil {
			return "", "", err
		}
		cmd := serverCmd(filepath.Join(BinDir, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB")
		cmd.Stdout, cmd.Stderr = logf, logf
		// The server dies with the test process even without Main.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
		if err := cmd.Start(); err != nil {
			logf.Close()
			return "", "", fmt.Errorf("postgres: %w", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait(); logf.Close() }()
		base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		if err := waitReady(base, exited); err == nil {
			srv.proc = cmd
			srv.exited = exited
			return base, dir, nil
		} else {
			cmd.Process.Signal(syscall.SIGQUIT)
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			lastErr = fmt.Errorf("postgres: %w: %s", err, log)
		}
	}
	os.RemoveAll(dir)
	return "", "", lastErr
}

// waitReady waits until the server at base answers, or exited says it
// stopped.
func waitReady(base string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("server exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		db, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		err = db.PingContext(context.Background())
		db.Close()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("not ready after 60s")
}

// sweep removes temp dirs of servers whose test process is gone.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "stor-pgtest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if err == nil {
			pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
			if pid > 0 && syscall.Kill(pid, 0) == nil {
				continue // still running
			}
		} else if fi, err := os.Stat(d); err != nil || time.Since(fi.ModTime()) < time.Hour {
			continue // maybe another process's initdb, under way
		}
		os.RemoveAll(d)
	}
}

// run runs a server program, as the postgres user when we are root.
func run(prog string, args ...string) (string, error) {
	out, err := serverCmd(prog, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// serverCmd is a command of PostgreSQL's, as the postgres user when we
// are root (initdb and postgres refuse to run as root).
func serverCmd(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(prog, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
			cmd.Dir = "/"
		}
	}
	return cmd
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
