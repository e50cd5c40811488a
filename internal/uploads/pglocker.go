package uploads

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tus/tusd/v2/pkg/handler"

	"stor/internal/catalog"
)

// PGLocker is a tusd handler.Locker shared by every node of a cluster:
// each upload's lock is a PostgreSQL session advisory lock
// (pg_try_advisory_lock on a hash of the upload id), held on a connection
// of its own for as long as the lock is held, so a node that dies
// releases its locks with its connections.
//
// It keeps tusd's filelocker semantics: an acquirer that finds the lock
// held asks the holder to let go (a row in stor_tus_lock_requests, the
// filelocker's .stop file) and retries every AcquirerPollInterval until
// its context ends (handler.ErrLockTimeout); the holder looks for such a
// request every HolderPollInterval and calls tusd's requestUnlock, which
// ends its request so that the lock is released.
type PGLocker struct {
	pool *pgxpool.Pool
	// HolderPollInterval is how often a holder looks for a release
	// request (default 500ms); AcquirerPollInterval how often a waiting
	// acquirer retries (default 250ms).
	HolderPollInterval, AcquirerPollInterval time.Duration
}

var _ handler.Locker = (*PGLocker)(nil)

// NewPGLocker connects to the PostgreSQL database at dsn with its own
// pool (maxConns: locks held at once, plus polling; default 64) and makes
// the table of release requests if needed.
func NewPGLocker(ctx context.Context, dsn string, maxConns int32) (*PGLocker, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("uploads: lock database: %w", err)
	}
	if maxConns <= 0 {
		maxConns = 64
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("uploads: lock database: %w", err)
	}
	_, err = pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS stor_tus_lock_requests (
		upload_id TEXT PRIMARY KEY, requested_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
	if err != nil && !catalog.IsUniqueViolation(err) { // two nodes creating it at once
		pool.Close()
		return nil, fmt.Errorf("uploads: lock table: %w", err)
	}
	return &PGLocker{pool: pool, HolderPollInterval: 500 * time.Millisecond, AcquirerPollInterval: 250 * time.Millisecond}, nil
}

// Close closes the locker's connections (releasing any lock still held).
func (l *PGLocker) Close() { l.pool.Close() }

// UseIn makes l the composer's locker.
func (l *PGLocker) UseIn(c *handler.StoreComposer) { c.UseLocker(l) }

// NewLock implements handler.Locker.
func (l *PGLocker) NewLock(id string) (handler.Lock, error) {
	h := fnv.New64a()
	h.Write([]byte("stor/tus/" + id))
	return &pgLock{l: l, id: id, key: int64(h.Sum64())}, nil
}

type pgLock struct {
	l   *PGLocker
	id  string
	key int64

	mu   sync.Mutex
	conn *pgxpool.Conn // held while locked
	stop chan struct{}
	done chan struct{}
}

// Lock implements handler.Lock.
func (k *pgLock) Lock(ctx context.Context, requestRelease func()) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn != nil {
		return errors.New("uploads: lock already held")
	}
	for {
		conn, err := k.l.pool.Acquire(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return handler.ErrLockTimeout
			}
			return fmt.Errorf("uploads: lock %s: %w", k.id, err)
		}
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, k.key).Scan(&ok); err != nil {
			conn.Release()
			if ctx.Err() != nil {
				return handler.ErrLockTimeout
			}
			return fmt.Errorf("uploads: lock %s: %w", k.id, err)
		}
		if ok {
			k.conn = conn
			break
		}
		conn.Release()
		// Held elsewhere: ask the holder to let go, then try again.
		if _, err := k.l.pool.Exec(ctx, `INSERT INTO stor_tus_lock_requests (upload_id) VALUES ($1)
			ON CONFLICT (upload_id) DO UPDATE SET requested_at = now()`, k.id); err != nil && ctx.Err() == nil {
			return fmt.Errorf("uploads: lock %s: %w", k.id, err)
		}
		select {
		case <-ctx.Done():
			return handler.ErrLockTimeout
		case <-time.After(k.l.AcquirerPollInterval):
		}
	}
	// A request left from before we held the lock is not for us.
	k.l.pool.Exec(ctx, `DELETE FROM stor_tus_lock_requests WHERE upload_id = $1`, k.id)
	k.stop, k.done = make(chan struct{}), make(chan struct{})
	go k.watch(requestRelease, k.stop, k.done)
	return nil
}

// watch calls requestRelease once another node or request asks for the
// lock.
func (k *pgLock) watch(requestRelease func(), stop, done chan struct{}) {
	defer close(done)
	for {
		select {
		case <-stop:
			return
		case <-time.After(k.l.HolderPollInterval):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var n int
		err := k.l.pool.QueryRow(ctx, `SELECT count(*) FROM stor_tus_lock_requests WHERE upload_id = $1`, k.id).Scan(&n)
		cancel()
		if err == nil && n > 0 {
			requestRelease()
			return
		}
	}
}

// Unlock implements handler.Lock.
func (k *pgLock) Unlock() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn == nil {
		return nil
	}
	close(k.stop)
	<-k.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ok bool
	err := k.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, k.key).Scan(&ok)
	if err != nil {
		// The session is in doubt: close it, which releases its locks.
		k.conn.Conn().Close(ctx)
	}
	k.conn.Release()
	k.conn = nil
	k.l.pool.Exec(ctx, `DELETE FROM stor_tus_lock_requests WHERE upload_id = $1`, k.id)
	if err != nil {
		return fmt.Errorf("uploads: unlock %s: %w", k.id, err)
	}
	return nil
}
