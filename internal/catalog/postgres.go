package catalog

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL: the catalog's queries are written once, with ? placeholders
// (SQLite's), and the PostgreSQL connections rebind them to $1, $2, ... in
// one place (pgConn below). Go bools are sent so that they encode as
// integer or boolean, whichever the parameter is, since the schema keeps
// SQLite's 0/1 integers.

// IsPostgresURL reports whether dsn names a PostgreSQL database.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the catalog the configuration names: PostgreSQL when
// databaseURL is set, else SQLite at sqlitePath.
func Open(ctx context.Context, databaseURL, sqlitePath string) (*DB, error) {
	if databaseURL != "" {
		return OpenPostgres(ctx, databaseURL)
	}
	return OpenSQLite(ctx, sqlitePath)
}

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres://
// URL) and applies pending migrations. One pool serves reads and writes;
// PostgreSQL has no single-writer rule.
func OpenPostgres(ctx context.Context, dsn string) (*DB, error) {
	if !IsPostgresURL(dsn) {
		return nil, fmt.Errorf("catalog: database URL must start with postgres://")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: database URL: %w", err)
	}
	// The catalog's queries are short; settings for them unless the URL
	// sets its own: no JIT (compiling an expensive-looking query adds
	// tens of ms to one that runs in a few), no parallel workers (a
	// search reading a few thousand rows was planned with two workers,
	// whose start-up cost more than the reading; the server's cores are
	// better spent on concurrent requests).
	for k, v := range map[string]string{"jit": "off", "max_parallel_workers_per_gather": "0"} {
		if _, ok := cfg.RuntimeParams[k]; !ok {
			cfg.RuntimeParams[k] = v
		}
	}
	w := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	w.SetMaxOpenConns(32)
	w.SetMaxIdleConns(8)
	db := &DB{dialect: "postgres", w: w, r: w, dsn: dsn}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("catalog: connect: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	return db, nil
}

// URL is the PostgreSQL DSN the catalog was opened with ("" on SQLite).
func (db *DB) URL() string { return db.dsn }

// pgConnector makes pgConns.
type pgConnector struct{ base driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn.(*stdlib.Conn)}, nil
}

func (c pgConnector) Driver() driver.Driver { return pgDriver{c.base.Driver()} }

// pgDriver marks a *sql.DB as PostgreSQL (see Dialect).
type pgDriver struct{ driver.Driver }

// pgConn is pgx's database/sql connection with ? rebound to $n.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, Rebind(query), pgArgs(args))
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if query == dialectProbe {
		query = pgProbeAnswer
	}
	return c.Conn.QueryContext(ctx, Rebind(query), pgArgs(args))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, Rebind(query))
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(Rebind(query))
}

// pgBool is a Go bool that PostgreSQL takes for an integer parameter (as
// 0/1) as well as for a boolean one.
type pgBool bool

func (b pgBool) BoolValue() (pgtype.Bool, error) { return pgtype.Bool{Bool: bool(b), Valid: true}, nil }

func (b pgBool) Int64Value() (pgtype.Int8, error) {
	v := int64(0)
	if b {
		v = 1
	}
	return pgtype.Int8{Int64: v, Valid: true}, nil
}

// pgArgs adapts arguments to PostgreSQL: bools (see pgBool), and text with
// NUL bytes, which PostgreSQL cannot store in any text column (SQLite
// can): NUL becomes U+FFFD, as ingest.CleanFilename does for filenames,
// so a title or tag with one is stored instead of failing with a 500.
func pgArgs(args []driver.NamedValue) []driver.NamedValue {
	for i := range args {
		switch v := args[i].Value.(type) {
		case bool:
			args[i].Value = pgBool(v)
		case string:
			if strings.IndexByte(v, 0) >= 0 {
				args[i].Value = strings.ReplaceAll(v, "\x00", "\uFFFD")
			}
		}
	}
	return args
}

// Rebind turns ? placeholders into $1, $2, ... outside quoted strings,
// quoted identifiers and comments. A query that already uses $n is left
// as it is.
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == c {
					if j+1 < len(query) && query[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString(query[i:min(j+1, len(query))])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			b.WriteString(query[i : i+j])
			i += j - 1
		case c == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9':
			return query // already PostgreSQL's
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Dialect reports the database q runs on: "sqlite" or "postgres".
func Dialect(q Querier) string {
	switch v := q.(type) {
	case *sql.DB:
		if _, ok := v.Driver().(pgDriver); ok {
			return "postgres"
		}
		return "sqlite"
	case *sql.Tx:
		if _, ok := pgTxs.Load(v); ok {
			return "postgres"
		}
	}
	// A transaction not begun by DB.InTx, or another Querier: ask. The
	// PostgreSQL connection answers this exact query with "postgres".
	var d string
	if err := q.QueryRowContext(context.Background(), dialectProbe).Scan(&d); err != nil {
		return "sqlite"
	}
	return d
}

// dialectProbe is answered by SQLite as written; pgConn swaps it for
// pgProbeAnswer.
const (
	dialectProbe  = `SELECT 'sqlite' AS stor_dialect`
	pgProbeAnswer = `SELECT 'postgres' AS stor_dialect`
)

// pgTxs maps each PostgreSQL transaction begun by DB.InTx to its pgx
// connection, so that the job queue (River's pgx driver) inserts jobs in
// the same transaction as the catalog rows.
var pgTxs sync.Map // *sql.Tx → *pgx.Conn

// beginPG starts a transaction on a dedicated connection and records the
// pgx connection under it.
func (db *DB) beginPG(ctx context.Context) (*sql.Tx, func(), error) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: begin: %w", err)
	}
	var pc *pgx.Conn
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*pgConn)
		if !ok {
			return errors.New("not a PostgreSQL connection")
		}
		pc = c.Conn.Conn()
		return nil
	}); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("catalog: begin: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("catalog: begin: %w", err)
	}
	pgTxs.Store(tx, pc)
	return tx, func() { pgTxs.Delete(tx); conn.Close() }, nil
}

// PgxTx returns tx (a PostgreSQL transaction begun by DB.InTx) as a
// pgx.Tx, for River's pgx driver. Committing and rolling back stay with
// InTx; Begin makes a savepoint.
func PgxTx(tx *sql.Tx) (pgx.Tx, bool) {
	v, ok := pgTxs.Load(tx)
	if !ok {
		return nil, false
	}
	return &pgxInTx{conn: v.(*pgx.Conn)}, true
}

// pgxInTx is the transaction already open on conn, seen as a pgx.Tx.
type pgxInTx struct {
	conn      *pgx.Conn
	savepoint string // "" for the outer transaction
	depth     int
}

func (t *pgxInTx) Begin(ctx context.Context) (pgx.Tx, error) {
	sp := fmt.Sprintf("stor_sp_%d", t.depth+1)
	if _, err := t.conn.Exec(ctx, "SAVEPOINT "+sp); err != nil {
		return nil, err
	}
	return &pgxInTx{conn: t.conn, savepoint: sp, depth: t.depth + 1}, nil
}

func (t *pgxInTx) Commit(ctx context.Context) error {
	if t.savepoint == "" {
		return errors.New("catalog: the transaction commits in DB.InTx")
	}
	_, err := t.conn.Exec(ctx, "RELEASE SAVEPOINT "+t.savepoint)
	return err
}

func (t *pgxInTx) Rollback(ctx context.Context) error {
	if t.savepoint == "" {
		return errors.New("catalog: the transaction rolls back in DB.InTx")
	}
	_, err := t.conn.Exec(ctx, "ROLLBACK TO SAVEPOINT "+t.savepoint)
	return err
}

func (t *pgxInTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t *pgxInTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.conn.SendBatch(ctx, b)
}

func (t *pgxInTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} } // unused by River

func (t *pgxInTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Prepare(ctx, name, sql)
}

func (t *pgxInTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.conn.Exec(ctx, sql, args...)
}

func (t *pgxInTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.conn.Query(ctx, sql, args...)
}

func (t *pgxInTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *pgxInTx) Conn() *pgx.Conn { return t.conn }

// IsUniqueViolation reports whether err is a unique-constraint failure
// on either database.
func IsUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
