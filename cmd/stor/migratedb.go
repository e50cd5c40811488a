package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"stor/internal/catalog"
)

// migrateDBCmd copies the embedded SQLite catalog into PostgreSQL.
type migrateDBCmd struct {
	out io.Writer // default stdout
}

func (c *migrateDBCmd) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate-db", flag.ContinueOnError)
	dataDir := fs.String("data-dir", envOr("STOR_DATA_DIR", "./stor-data"), "the data directory whose SQLite catalog to copy (env STOR_DATA_DIR)")
	to := fs.String("to", "", "the PostgreSQL database to copy into (postgres://...)")
	force := fs.Bool("force", false, "copy even though tasks are queued or running; they are marked failed in the target, to be reprocessed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	if !catalog.IsPostgresURL(*to) {
		return fmt.Errorf("migrate-db: --to must be a postgres:// URL")
	}
	dbPath := filepath.Join(*dataDir, "stor.db")
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("migrate-db: %w", err)
	}
	// The server must not run meanwhile: take its data dir lock.
	lock, err := os.OpenFile(filepath.Join(*dataDir, "serve.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("migrate-db: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("migrate-db: data dir %s is in use by a running stor serve: stop it first", *dataDir)
	}

	src, err := catalog.OpenSQLite(ctx, dbPath)
	if err != nil {
		return err
	}
	defer src.Close()
	inFlight, err := unfinishedJobs(ctx, src)
	if err != nil {
		return err
	}
	if inFlight > 0 && !*force {
		return fmt.Errorf("migrate-db: %d tasks or deliveries are still queued or running; the job queue is not copied, "+
			"so let processing finish (GET /api/v1/processing: queued and running 0) and run this again, "+
			"or pass --force to mark them failed in the target and reprocess them there", inFlight)
	}
	dst, err := catalog.OpenPostgres(ctx, *to)
	if err != nil {
		return err
	}
	defer dst.Close()
	rep, err := catalog.CopyTo(ctx, src, dst)
	if rep != nil {
		fmt.Fprintf(out, "%-24s %10s %10s %10s\n", "table", "source", "copied", "target")
		for _, t := range rep.Tables {
			note := ""
			if t.AlreadyComplete {
				note = "  (already copied)"
			}
			fmt.Fprintf(out, "%-24s %10d %10d %10d%s\n", t.Name, t.Source, t.Copied, t.TargetAfterwards, note)
		}
	}
	if err != nil {
		return fmt.Errorf("migrate-db: %w", err)
	}
	if inFlight > 0 {
		ids, err := failUnfinishedTasks(ctx, dst)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d assets had tasks in flight; their tasks are marked failed in the target: reprocess them "+
			"(POST /api/v1/assets/ID/reprocess):\n%s\n", len(ids), strings.Join(ids, "\n"))
	}
	fmt.Fprintf(out, "copied and verified; start stor with STOR_DATABASE_URL set to the target\n")
	return nil
}

// unfinishedJobs counts the work the job queue still holds: tasks
// queued, running or retrying, and webhook deliveries pending (periodic
// jobs are made again by the leader; alerts are best effort).
func unfinishedJobs(ctx context.Context, db *catalog.DB) (int, error) {
	var n int
	err := db.Reader().QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM tasks WHERE state IN ('queued', 'running', 'retrying')) +
		(SELECT count(*) FROM webhook_deliveries WHERE state = 'pending')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("migrate-db: unfinished work: %w", err)
	}
	return n, nil
}

// failUnfinishedTasks marks tasks that were queued or running failed (no
// job will run them on the new database) and returns their assets.
func failUnfinishedTasks(ctx context.Context, db *catalog.DB) ([]string, error) {
	rows, err := db.Writer().QueryContext(ctx, `UPDATE tasks SET state = 'failed',
		last_error = 'not finished when the catalog moved to PostgreSQL (stor migrate-db --force): reprocess'
		WHERE state IN ('queued', 'running', 'retrying') RETURNING asset_id`)
	if err != nil {
		return nil, fmt.Errorf("migrate-db: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}
