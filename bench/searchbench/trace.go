package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// tracer is a catalog.Querier that notes when each statement starts and
// the PostgreSQL backend's CPU time then (-slow): a slow run's time split
// by statement (a statement's share lasts until the next one starts, so
// it includes reading its rows in Go).
type tracer struct {
	db    *sql.DB
	pid   int // the PostgreSQL backend (0: SQLite)
	marks []mark
}

type mark struct {
	sql  string
	at   time.Time
	cpu  time.Duration
	args []any
}

func (t *tracer) note(query string, args []any) {
	var cpu time.Duration
	if t.pid > 0 {
		cpu = procCPU(t.pid)
	}
	t.marks = append(t.marks, mark{sql: query, at: time.Now(), cpu: cpu, args: args})
}

func (t *tracer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.note(query, args)
	return t.db.ExecContext(ctx, query, args...)
}

func (t *tracer) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.note(query, args)
	return t.db.QueryContext(ctx, query, args...)
}

func (t *tracer) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	t.note(query, args)
	return t.db.QueryRowContext(ctx, query, args...)
}

// BeginTx keeps the catalog's transactions (PostgresSearch's postings
// count): the statements in it are one mark.
func (t *tracer) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	t.note("BEGIN (statements of a transaction)", nil)
	return t.db.BeginTx(ctx, opts)
}

// reset starts a run.
func (t *tracer) reset() { t.marks = t.marks[:0] }

// print writes each statement's wall and backend CPU time until the
// next mark (or end), its first words and arguments.
func (t *tracer) print(end time.Time) {
	endCPU := time.Duration(0)
	if t.pid > 0 {
		endCPU = procCPU(t.pid)
	}
	for i, m := range t.marks {
		next, nextCPU := end, endCPU
		if i+1 < len(t.marks) {
			next, nextCPU = t.marks[i+1].at, t.marks[i+1].cpu
		}
		q := strings.Join(strings.Fields(m.sql), " ")
		if len(q) > 150 {
			q = q[:150] + "…"
		}
		args := fmt.Sprint(m.args)
		if len(args) > 120 {
			args = args[:120] + "…"
		}
		fmt.Printf("    %8s wall %8s backend cpu  %s  %s\n", next.Sub(m.at).Round(10*time.Microsecond), (nextCPU - m.cpu).Round(10*time.Microsecond), q, args)
	}
}
