package main

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"stor/internal/catalog"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// pgBin is where Debian installs PostgreSQL 15's server programs (as
// internal/pgtest uses them; scripts/setup.sh installs them).
const pgBin = "/usr/lib/postgresql/15/bin"

// pgServer is a PostgreSQL started for the benchmark on a data directory
// kept between runs (so a filled catalog is reused).
type pgServer struct {
	cmd  *exec.Cmd
	done chan error
	dsn  string // of the "stor" database
}

// startPG starts PostgreSQL on dir/data (initdb first if there is none)
// on a free loopback port, with a benchmark configuration: 3 GB of
// shared buffers (the tables and indexes search reads, 2.6 GB at
// 1,000,000 assets, fit: see docs/deployment.md), work_mem 16 MB, no JIT (it adds tens of ms to planning
// expensive-looking queries), fsync off (the data is synthetic and
// rebuilt if lost). As root the server runs as the postgres user.
func startPG(ctx context.Context, dir string) (*pgServer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	cmd := func(prog string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(pgBin, prog), args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
		c.Dir = "/"
		return c
	}
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err != nil {
		os.RemoveAll(data)
		if out, err := cmd("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("initdb: %w: %s", err, out)
		}
	}
	os.Remove(filepath.Join(data, "postmaster.pid")) // of a killed earlier run
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	c := cmd("postgres", "-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=3GB", "-c", "work_mem=16MB", "-c", "maintenance_work_mem=256MB",
		"-c", "effective_cache_size=4GB", "-c", "jit=off", "-c", "max_wal_size=4GB")
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &pgServer{cmd: c, done: make(chan error, 1)}
	go func() { s.done <- c.Wait(); logf.Close() }()
	base := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("postgres exited: %v: %s", err, log)
		case <-time.After(200 * time.Millisecond):
		}
		db, _ := sql.Open("pgx", base)
		err := db.PingContext(ctx)
		if err == nil {
			var exists bool
			db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'stor')`).Scan(&exists)
			if !exists {
				_, err = db.ExecContext(ctx, `CREATE DATABASE stor`)
			}
		}
		db.Close()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("postgres not ready: %w", err)
		}
	}
	s.dsn = strings.Replace(base, "/postgres?", "/stor?", 1)
	return s, nil
}

func (s *pgServer) stop() {
	s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown: keeps the data
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
	}
}

// procCPU is the CPU time of process pid so far (the PostgreSQL backend
// serving the benchmark's connection), in ns from /proc/pid/schedstat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0
	}
	ns, _ := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64)
	return time.Duration(ns)
}

// loadavg is /proc/loadavg's three load averages.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// pgSize prints the database's size and its full-text index's.
func pgSize(ctx context.Context, db *catalog.DB) {
	q := db.Reader()
	var all int64
	q.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&all)
	fmt.Printf("database %.0f MiB\n", float64(all)/(1<<20))
	for _, rel := range []string{"assets", "asset_search", "asset_search_pkey", "asset_search_doc", "asset_doc", "asset_doc_pkey", "asset_doc_doc", "asset_tier", "asset_tier_pkey", "asset_tier_doc", "asset_tags"} {
		var size int64
		if err := q.QueryRowContext(ctx, `SELECT pg_relation_size(?::regclass)`, rel).Scan(&size); err != nil {
			continue
		}
		fmt.Printf("  %-18s %6.0f MiB\n", rel, float64(size)/(1<<20))
	}
	var fts int64
	q.QueryRowContext(ctx, `SELECT pg_total_relation_size('asset_search') + coalesce(pg_total_relation_size(to_regclass('asset_doc')), 0) + coalesce(pg_total_relation_size(to_regclass('asset_tier')), 0)`).Scan(&fts)
	fmt.Printf("full-text index (asset_search + asset_doc + asset_tier: tables, their indexes and TOAST): %.0f MiB\n", float64(fts)/(1<<20))
}

// pgPeerRun times the textbook PostgreSQL full-text queries on the same
// data: one tsvector per asset (asset_doc) and its GIN index, ranked by
// ts_rank over every match, and newest first.
func pgPeerRun(ctx context.Context, db *catalog.DB, n int, word func() string, timed func(func()) (time.Duration, time.Duration)) {
	for _, c := range []struct{ name, sql string }{
		{"peer PostgreSQL: 1 Zipf word, ORDER BY ts_rank LIMIT 50", `SELECT seq FROM asset_doc, to_tsquery('stor', ?) q WHERE doc @@ q ORDER BY ts_rank(doc, q) DESC LIMIT 50`},
		{"peer PostgreSQL: 1 Zipf word, ORDER BY seq DESC LIMIT 50", `SELECT seq FROM asset_doc WHERE doc @@ to_tsquery('stor', ?) ORDER BY seq DESC LIMIT 50`},
	} {
		var ds, cs []time.Duration
		for range n {
			w := word()
			d, cpu := timed(func() {
				rows, err := db.Reader().QueryContext(ctx, c.sql, w)
				if err != nil {
					log.Fatal(err)
				}
				for rows.Next() {
				}
				rows.Close()
			})
			ds, cs = append(ds, d), append(cs, cpu)
		}
		report(c.name, ds, cs, 0)
	}
}

// pgTriggers disables or enables the search-index triggers of the tables
// the fill writes.
func pgTriggers(ctx context.Context, db *catalog.DB, on bool) error {
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, t := range []string{"assets", "asset_tags", "asset_text", "asset_search"} {
		if _, err := db.Writer().ExecContext(ctx, `ALTER TABLE `+t+` `+verb+` TRIGGER USER`); err != nil {
			return fmt.Errorf("%s triggers on %s: %w", verb, t, err)
		}
	}
	return nil
}

// pgIndexed reports whether the search index has every asset (a bulk
// load finished).
func pgIndexed(ctx context.Context, db *catalog.DB) bool {
	var ok bool
	db.Reader().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM assets) = (SELECT count(*) FROM asset_doc)`).Scan(&ok)
	return ok
}

// pgBuildIndex rebuilds asset_search, asset_doc and asset_tier from the
// catalogue with the statements of migrations 0009, 0017 and 0020 (GIN indexes created
// after the rows), and turns the triggers back on.
func pgBuildIndex(ctx context.Context, db *catalog.DB) error {
	t := time.Now()
	for _, st := range []string{
		`DROP INDEX IF EXISTS asset_search_doc`,
		`DROP INDEX IF EXISTS asset_doc_doc`,
		`DROP INDEX IF EXISTS asset_tier_doc`,
		`TRUNCATE asset_search, asset_doc, asset_tier`,
		`INSERT INTO asset_search (asset_seq, page, doc) SELECT a.seq, 0, stor_fields_doc(a) FROM assets a`,
		`INSERT INTO asset_search (asset_seq, page, doc)
		 SELECT a.seq, t.page, setweight(stor_words(t.text), 'D') FROM asset_text t JOIN assets a ON a.id = t.asset_id WHERE t.page > 0`,
		`INSERT INTO asset_doc (seq, doc) SELECT asset_seq, stor_tsvector_agg(doc ORDER BY page) FROM asset_search GROUP BY asset_seq`,
		`CREATE INDEX asset_search_doc ON asset_search USING GIN (doc)`,
		`INSERT INTO asset_tier (seq, doc) SELECT d.seq, stor_tier_doc(d.doc, a.kind, a.project) FROM asset_doc d JOIN assets a ON a.seq = d.seq`,
		`CREATE INDEX asset_doc_doc ON asset_doc USING GIN (doc)`,
		`CREATE INDEX asset_tier_doc ON asset_tier USING GIN (doc)`,
		`VACUUM ANALYZE`,
	} {
		if _, err := db.Writer().ExecContext(ctx, st); err != nil {
			return fmt.Errorf("build search index: %s: %w", st, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %s\n", time.Since(t).Round(time.Second), strings.Fields(st)[0:3])
	}
	return pgTriggers(ctx, db, true)
}

// pgPrewarm loads the tables and indexes search reads into shared
// buffers.
func pgPrewarm(ctx context.Context, db *catalog.DB) error {
	if _, err := db.Writer().ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_prewarm`); err != nil {
		return fmt.Errorf("pg_prewarm: %w", err)
	}
	_, err := db.Writer().ExecContext(ctx, `SELECT pg_prewarm(c.oid) FROM pg_class c
		WHERE c.relname IN ('assets', 'assets_pkey', 'assets_project', 'assets_kind', 'assets_capture_seq', 'assets_camera_capture',
			'asset_doc', 'asset_doc_pkey', 'asset_doc_doc', 'asset_tags', 'asset_tags_pkey', 'asset_tags_tag',
			'asset_search', 'asset_search_pkey', 'asset_search_doc', 'asset_tier', 'asset_tier_pkey', 'asset_tier_doc')`)
	if err != nil {
		return fmt.Errorf("pg_prewarm: %w", err)
	}
	return nil
}
