package catalog_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"stor/internal/catalog"
	"stor/internal/pgtest"
)

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT ? , ?`:                         `SELECT $1 , $2`,
		`SELECT '?', "a?b", ? -- what?` + "\n": `SELECT '?', "a?b", $1 -- what?` + "\n",
		`SELECT 'it''s ?', ?`:                  `SELECT 'it''s ?', $1`,
		`SELECT $1, ?`:                         `SELECT $1, ?`, // already PostgreSQL's
		`SELECT 1`:                             `SELECT 1`,
	} {
		if got := catalog.Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPostgresConcurrentOpen: nodes starting together on one new
// database migrate it once, without errors.
func TestPostgresConcurrentOpen(t *testing.T) {
	dsn := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := catalog.OpenPostgres(context.Background(), dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestDialectAndTx: the dialect is known from the pool and from a
// transaction of InTx, and a job queue can use that transaction as pgx's.
func TestDialectAndTx(t *testing.T) {
	eachDB(t, func(t *testing.T, db *catalog.DB) {
		ctx := context.Background()
		if got := catalog.Dialect(db.Writer()); got != db.Dialect() {
			t.Fatalf("Dialect(pool) = %s, want %s", got, db.Dialect())
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if got := catalog.Dialect(tx); got != db.Dialect() {
				t.Errorf("Dialect(tx) = %s, want %s", got, db.Dialect())
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, "k", "v"); err != nil {
				return err
			}
			if ptx, ok := catalog.PgxTx(tx); ok {
				// The pgx view sees the same, uncommitted transaction.
				var v string
				if err := ptx.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'k'`).Scan(&v); err != nil || v != "v" {
					t.Errorf("pgx view of the transaction: %q %v", v, err)
				}
			} else if db.Dialect() == "postgres" {
				t.Error("no pgx view of a PostgreSQL transaction")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := catalog.Setting(ctx, db.Reader(), "k"); err != nil || v != "v" {
			t.Fatalf("setting after commit: %q %v", v, err)
		}
	})
}

// TestTextWithNUL: text with a NUL byte (a pasted title, a tag from a
// script) is stored on both backends; PostgreSQL, which cannot store NUL
// in text, keeps U+FFFD in its place.
func TestTextWithNUL(t *testing.T) {
	eachDB(t, func(t *testing.T, db *catalog.DB) {
		ctx := context.Background()
		if err := catalog.SetSetting(ctx, db.Writer(), "nul.test", "a\x00b"); err != nil {
			t.Fatal(err)
		}
		got, err := catalog.Setting(ctx, db.Reader(), "nul.test")
		if err != nil {
			t.Fatal(err)
		}
		want := "a\x00b"
		if db.Dialect() == "postgres" {
			want = "a\uFFFDb"
		}
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
