package pipeline

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"stor/internal/catalog"
)

// jobClient is the River client, whichever its driver: riversqlite on
// the catalog's SQLite writer, or riverpgxv5 on a pgx pool of the
// catalog's PostgreSQL. InsertTx takes the catalog's transaction either
// way, so a job commits with the rows that made it.
type jobClient interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// CompleteTx marks a running task job completed inside tx, so that
	// the task's success and its job's completion commit together: a
	// worker killed between the two would otherwise have the job run
	// again (River completes jobs shortly after Work returns).
	CompleteTx(ctx context.Context, tx *sql.Tx, job *river.Job[taskArgs]) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	QueuePause(ctx context.Context, name string, opts *river.QueuePauseOpts) error
	QueueResume(ctx context.Context, name string, opts *river.QueuePauseOpts) error
}

// txClient adapts a River client of transaction type TTx to the catalog's
// *sql.Tx.
type txClient[TTx any] struct {
	*river.Client[TTx]
	tx       func(*sql.Tx) (TTx, error)
	complete func(ctx context.Context, tx TTx, job *river.Job[taskArgs]) error
}

func (c txClient[TTx]) CompleteTx(ctx context.Context, tx *sql.Tx, job *river.Job[taskArgs]) error {
	t, err := c.tx(tx)
	if err != nil {
		return err
	}
	return c.complete(ctx, t, job)
}

func (c txClient[TTx]) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	t, err := c.tx(tx)
	if err != nil {
		return nil, err
	}
	return c.Client.InsertTx(ctx, t, args, opts)
}

// newJobClient migrates River's tables and makes its client for db's
// dialect. close releases what it opened (the pgx pool).
func newJobClient(ctx context.Context, db *catalog.DB, rc *river.Config) (jobClient, func(), error) {
	if db.Dialect() == "postgres" {
		pool, err := pgxpool.New(ctx, db.URL())
		if err != nil {
			return nil, nil, fmt.Errorf("pipeline: job queue pool: %w", err)
		}
		driver := riverpgxv5.New(pool)
		if err := withMigrationLock(ctx, pool, func() error { return migrateRiver(ctx, driver) }); err != nil {
			pool.Close()
			return nil, nil, err
		}
		c, err := river.NewClient(driver, rc)
		if err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("pipeline: %w", err)
		}
		return txClient[pgx.Tx]{Client: c, tx: func(tx *sql.Tx) (pgx.Tx, error) {
			t, ok := catalog.PgxTx(tx)
			if !ok {
				return nil, fmt.Errorf("pipeline: transaction not begun by catalog.DB.InTx")
			}
			return t, nil
		}, complete: func(ctx context.Context, tx pgx.Tx, job *river.Job[taskArgs]) error {
			_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
			return err
		}}, pool.Close, nil
	}
	driver := riversqlite.New(db.Writer())
	if err := migrateRiver(ctx, driver); err != nil {
		return nil, nil, err
	}
	c, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: %w", err)
	}
	return txClient[*sql.Tx]{Client: c, tx: func(tx *sql.Tx) (*sql.Tx, error) { return tx, nil },
		complete: func(ctx context.Context, tx *sql.Tx, job *river.Job[taskArgs]) error {
			_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job)
			return err
		}}, func() {}, nil
}

func migrateRiver[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("pipeline: migrate job queue: %w", err)
	}
	return nil
}

// riverMigrationLock is the PostgreSQL advisory lock key ("stor-riv")
// that serializes River's migrations across nodes.
const riverMigrationLock = 0x73746f722d726976

// withMigrationLock runs fn holding a session advisory lock on a
// connection of its own, so that many nodes starting at once on one fresh
// PostgreSQL migrate River's tables one after the other: River wraps each
// migration in a transaction of its own but does not lock, and two nodes
// applying the same version at once fail (duplicate table or version
// row). The ones that wait find every version applied and do nothing.
func withMigrationLock(ctx context.Context, pool *pgxpool.Pool, fn func() error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pipeline: job queue migration lock: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(riverMigrationLock)); err != nil {
		return fmt.Errorf("pipeline: job queue migration lock: %w", err)
	}
	ferr := fn()
	// A failed unlock leaves the lock with the session: closing the
	// connection (not returning it to the pool) releases it.
	if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(riverMigrationLock)); err != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
	}
	return ferr
}
