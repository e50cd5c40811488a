package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// copyOrder lists the catalog's tables in the order CopyTo copies them:
// assets before what refers to them (the PostgreSQL search index is built
// by triggers as assets, tags, edits and text arrive). Tables a later
// migration adds are copied after these, by name.
var copyOrder = []string{
	"assets", "tokens", "events", "idempotency_keys", "settings", "tasks", "derivatives",
	"asset_metadata", "asset_text", "remote_fetches", "av_analysis",
	"fixity_checks", "fixity_status", "fixity_baselines",
	"asset_tags", "asset_edits", "project_fields", "collections", "collection_members",
	"projects", "webhooks", "webhook_deliveries",
}

// identityCols are the columns PostgreSQL numbers itself (SQLite's
// AUTOINCREMENT): their sequences continue after the copied values.
var identityCols = map[string]string{
	"assets": "seq", "events": "seq", "fixity_checks": "seq", "webhook_deliveries": "id",
}

// CopyReport says what CopyTo did, table by table.
type CopyReport struct {
	Tables []TableCopy
}

// TableCopy is one table's copy: rows in the source, rows copied now, and
// whether it was already complete in the target (a resumed copy).
type TableCopy struct {
	Name             string
	Source, Copied   int64
	AlreadyComplete  bool
	TargetAfterwards int64
}

// CopyTo copies every catalog table of src (SQLite) into dst
// (PostgreSQL, migrated to the same versions), one transaction per
// table, then checks that each table has as many rows in dst as in src.
//
// A target table must be empty, or (resume) already hold exactly the
// source's rows, which a table copied by an earlier, interrupted run
// does: each table commits whole or not at all. Any other state of the
// target is refused (ErrConflict) and nothing is written. The source must
// not change meanwhile: stop stor first.
//
// The job queue (River's tables) is not copied: its schema differs per
// database. See docs/operations.md for jobs in flight.
func CopyTo(ctx context.Context, src, dst *DB) (*CopyReport, error) {
	if src.Dialect() != "sqlite" || dst.Dialect() != "postgres" {
		return nil, fmt.Errorf("catalog: copy: from SQLite to PostgreSQL only: %w", ErrInvalid)
	}
	sv, err := versions(ctx, src.Reader())
	if err != nil {
		return nil, err
	}
	dv, err := versions(ctx, dst.Reader())
	if err != nil {
		return nil, err
	}
	if !slices.Equal(sv, dv) {
		return nil, fmt.Errorf("catalog: copy: source migrations %v, target %v: run the same stor version on both: %w", sv, dv, ErrConflict)
	}
	tables, err := sqliteTables(ctx, src.Reader())
	if err != nil {
		return nil, err
	}
	rep := &CopyReport{}
	// Plan first: refuse before writing anything.
	for _, t := range tables {
		s, err := countRows(ctx, src.Reader(), t)
		if err != nil {
			return nil, err
		}
		d, err := countRows(ctx, dst.Reader(), t)
		if err != nil {
			return nil, fmt.Errorf("catalog: copy: target has no table %s: %w", t, err)
		}
		switch {
		case d == s && s > 0:
			rep.Tables = append(rep.Tables, TableCopy{Name: t, Source: s, AlreadyComplete: true})
		case d == 0:
			rep.Tables = append(rep.Tables, TableCopy{Name: t, Source: s})
		default:
			return nil, fmt.Errorf("catalog: copy: target table %s has %d rows, source %d: not empty and not a finished copy: %w", t, d, s, ErrConflict)
		}
	}
	for i := range rep.Tables {
		tc := &rep.Tables[i]
		if !tc.AlreadyComplete {
			n, err := copyTable(ctx, src, dst, tc.Name)
			if err != nil {
				return rep, err
			}
			tc.Copied = n
		}
		if tc.TargetAfterwards, err = countRows(ctx, dst.Reader(), tc.Name); err != nil {
			return rep, err
		}
		if tc.TargetAfterwards != tc.Source {
			return rep, fmt.Errorf("catalog: copy: %s has %d rows in the target, %d in the source", tc.Name, tc.TargetAfterwards, tc.Source)
		}
	}
	return rep, nil
}

func versions(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM stor_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("catalog: migrations: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// sqliteTables lists the catalog's tables in copy order: not SQLite's
// own, not the FTS5 index (PostgreSQL's is built by triggers), not the
// facet counts SQLite keeps by trigger (0012; PostgreSQL counts facets
// itself), not the job queue's, not the migration log.
func sqliteTables(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'asset_fts%' AND name NOT LIKE 'river_%'
		AND name NOT IN ('stor_migrations', 'asset_counts', 'asset_tag_counts') ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("catalog: tables: %w", err)
	}
	defer rows.Close()
	var all []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		all = append(all, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []string
	for _, t := range copyOrder {
		if slices.Contains(all, t) {
			out = append(out, t)
		}
	}
	for _, t := range all {
		if !slices.Contains(copyOrder, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func countRows(ctx context.Context, q Querier, table string) (int64, error) {
	var n int64
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+quoteIdent(table)).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count %s: %w", table, err)
	}
	return n, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pgColumns lists a PostgreSQL table's columns and their types.
func pgColumns(ctx context.Context, q Querier, table string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ?`, table)
	if err != nil {
		return nil, fmt.Errorf("catalog: columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, t string
		if err := rows.Scan(&c, &t); err != nil {
			return nil, err
		}
		out[c] = t
	}
	return out, rows.Err()
}

// copyTable copies one table in one target transaction, in batches of
// multi-row INSERTs.
func copyTable(ctx context.Context, src, dst *DB, table string) (int64, error) {
	dcols, err := pgColumns(ctx, dst.Reader(), table)
	if err != nil {
		return 0, err
	}
	rows, err := src.Reader().QueryContext(ctx, `SELECT * FROM `+quoteIdent(table))
	if err != nil {
		return 0, fmt.Errorf("catalog: copy %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	for _, c := range cols {
		if _, ok := dcols[c]; !ok {
			return 0, fmt.Errorf("catalog: copy %s: column %s missing in the target: %w", table, c, ErrConflict)
		}
	}
	// Collections refer to their parents: copy parent links afterwards.
	deferParent := table == "collections"
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = quoteIdent(c)
	}
	head := `INSERT INTO ` + quoteIdent(table) + ` (` + strings.Join(quoted, ", ") + `) VALUES `
	rowPH := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
	batch := max(1, min(500, 30000/len(cols)))
	var n int64
	var parents [][2]string
	err = dst.InTx(ctx, func(tx *sql.Tx) error {
		var args []any
		k := 0
		flush := func() error {
			if k == 0 {
				return nil
			}
			q := head + strings.TrimSuffix(strings.Repeat(rowPH+",", k), ",")
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("catalog: copy %s: %w", table, err)
			}
			n += int64(k)
			args, k = args[:0], 0
			return nil
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return fmt.Errorf("catalog: copy %s: %w", table, err)
			}
			for i, c := range cols {
				vals[i] = pgValue(vals[i], dcols[c])
				if deferParent && c == "parent_id" && vals[i] != nil {
					parents = append(parents, [2]string{fmt.Sprint(vals[0]), fmt.Sprint(vals[i])})
					vals[i] = nil
				}
			}
			if deferParent && cols[0] != "id" {
				return fmt.Errorf("catalog: copy %s: first column is %s, want id", table, cols[0])
			}
			args = append(args, vals...)
			k++
			if k == batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("catalog: copy %s: %w", table, err)
		}
		if err := flush(); err != nil {
			return err
		}
		for _, p := range parents {
			if _, err := tx.ExecContext(ctx, `UPDATE collections SET parent_id = ? WHERE id = ?`, p[1], p[0]); err != nil {
				return fmt.Errorf("catalog: copy %s: %w", table, err)
			}
		}
		if col, ok := identityCols[table]; ok {
			if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', '`+col+`'),
				GREATEST((SELECT max(`+col+`) FROM `+table+`), 1))`); err != nil {
				return fmt.Errorf("catalog: copy %s: sequence: %w", table, err)
			}
		}
		return nil
	})
	return n, err
}

// pgValue converts a value SQLite returned for a column of PostgreSQL
// type typ.
func pgValue(v any, typ string) any {
	switch x := v.(type) {
	case []byte:
		if typ == "bytea" {
			return x
		}
		return string(x)
	case int64:
		if typ == "text" || typ == "USER-DEFINED" {
			return fmt.Sprint(x)
		}
	case float64:
		if typ == "bigint" || typ == "integer" {
			return int64(x)
		}
	}
	return v
}
