package catalog

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

//go:embed migrations
var migrations embed.FS

// DB is the catalog on its database. On SQLite it keeps two pools: a
// single-connection writer (SQLite allows one writer at a time; River wants
// the same) and a read-only pool for concurrent readers under WAL.
//
// On PostgreSQL both are the same pool.
type DB struct {
	dialect string
	w, r    *sql.DB
	dsn     string // PostgreSQL's URL
}

// OpenSQLite opens (creating if needed) the SQLite catalog at path and
// applies pending migrations.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range append([]string{
			"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)",
		}, extra...) {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		return "file:" + path + "?" + q.Encode()
	}
	w, err := sql.Open("sqlite", dsn())
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	// As many idle as open: a reader closed after each burst is a new
	// connection (and its pragmas parsed) on the next request.
	r.SetMaxIdleConns(8)
	db := &DB{dialect: "sqlite", w: w, r: r}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Writer is the pool that writes (and that the job queue shares, so an
// asset and its first job commit in one transaction).
func (db *DB) Writer() *sql.DB { return db.w }

// Reader is the pool for reads that need not see uncommitted writes.
func (db *DB) Reader() *sql.DB { return db.r }

// Dialect is "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// Close closes both pools.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r == db.w {
		return err
	}
	if rerr := db.r.Close(); err == nil {
		err = rerr
	}
	return err
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("catalog: ping: %w", err)
	}
	return nil
}

// InTx runs fn in one write transaction: committed when fn returns nil,
// rolled back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var tx *sql.Tx
	var err error
	if db.dialect == "postgres" {
		var done func()
		if tx, done, err = db.beginPG(ctx); err != nil {
			return err
		}
		defer done()
	} else if tx, err = db.w.BeginTx(ctx, nil); err != nil {
		return fmt.Errorf("catalog: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("catalog: commit: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations not yet recorded. A tiny runner
// of our own: the files are plain SQL in order, and this avoids a framework
// for thirty lines of work.
//
// On PostgreSQL several nodes may start at once: each step runs under a
// transaction-scoped advisory lock and checks again inside it.
func (db *DB) migrate(ctx context.Context) error {
	lock := func(tx *sql.Tx) error {
		if db.dialect != "postgres" {
			return nil
		}
		_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(8319396947839248743)`) // "stor-mig"
		return err
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if err := lock(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS stor_migrations (version TEXT PRIMARY KEY)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("catalog: migrate: %w", err)
	}
	dir := "migrations/" + db.dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("catalog: migrate: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		var n int
		if err := db.w.QueryRowContext(ctx, `SELECT count(*) FROM stor_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("catalog: migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return fmt.Errorf("catalog: migrate: %w", err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			if err := lock(tx); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM stor_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err // applied meanwhile by another node
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO stor_migrations (version) VALUES (?)`, version)
			return err
		})
		if err != nil {
			return fmt.Errorf("catalog: migration %s: %w", name, err)
		}
	}
	return nil
}
