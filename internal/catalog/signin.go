package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SigninState is the failed sign-ins of one username (see migration 0016).
type SigninState struct {
	Username    string
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time // zero: never locked
	Lockouts    int
	UpdatedAt   time.Time
}

const signinCols = `username, failures, window_start, locked_until, lockouts, updated_at`

func scanSignin(row interface{ Scan(...any) error }) (*SigninState, error) {
	var s SigninState
	var start, until, updated int64
	if err := row.Scan(&s.Username, &s.Failures, &start, &until, &s.Lockouts, &updated); err != nil {
		return nil, err
	}
	s.WindowStart, s.UpdatedAt = fromMicros(start), fromMicros(updated)
	if until > 0 {
		s.LockedUntil = fromMicros(until)
	}
	return &s, nil
}

// GetSigninState returns the failed sign-ins of username, or ErrNotFound.
func GetSigninState(ctx context.Context, q Querier, username string) (*SigninState, error) {
	s, err := scanSignin(q.QueryRowContext(ctx, `SELECT `+signinCols+` FROM signin_lockouts WHERE username = ?`, username))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sign-in state: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: sign-in state: %w", err)
	}
	return s, nil
}

// RecordSigninFailure counts one failed sign-in of username at now, in one
// statement (concurrent failures on several nodes all count): a window
// older than window starts again at 1, and the lock count of a username
// quiet since before decay starts again at 0. It returns the new state.
func RecordSigninFailure(ctx context.Context, q Querier, username string, now time.Time, window, decay time.Duration) (*SigninState, error) {
	n, cutoff, quiet := micros(now), micros(now.Add(-window)), micros(now.Add(-decay))
	s, err := scanSignin(q.QueryRowContext(ctx, `INSERT INTO signin_lockouts (`+signinCols+`) VALUES (?, 1, ?, 0, 0, ?)
		ON CONFLICT (username) DO UPDATE SET
			failures = CASE WHEN signin_lockouts.window_start < ? THEN 1 ELSE signin_lockouts.failures + 1 END,
			window_start = CASE WHEN signin_lockouts.window_start < ? THEN ? ELSE signin_lockouts.window_start END,
			lockouts = CASE WHEN signin_lockouts.updated_at < ? AND signin_lockouts.locked_until < ? THEN 0 ELSE signin_lockouts.lockouts END,
			updated_at = ?
		RETURNING `+signinCols, username, n, n, cutoff, cutoff, n, quiet, quiet, n))
	if err != nil {
		return nil, fmt.Errorf("catalog: record sign-in failure: %w", err)
	}
	return s, nil
}

// LockSignin locks username until until when it still has at least
// threshold failures in its window (so of several nodes counting the same
// failures at once, one locks); the failures start again at 0 and the lock
// count goes up. It reports whether it locked.
func LockSignin(ctx context.Context, q Querier, username string, threshold int, now, until time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE signin_lockouts SET locked_until = ?, lockouts = lockouts + 1, failures = 0,
		window_start = ?, updated_at = ? WHERE username = ? AND failures >= ?`,
		micros(until), micros(now), micros(now), username, threshold)
	if err != nil {
		return false, fmt.Errorf("catalog: lock sign-in: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ClearSignin forgets the failures and any lock of username (a successful
// sign-in, or an admin's unlock). It reports whether there was anything.
func ClearSignin(ctx context.Context, q Querier, username string) (bool, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM signin_lockouts WHERE username = ?`, username)
	if err != nil {
		return false, fmt.Errorf("catalog: clear sign-in failures: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ListSigninLocks returns the usernames locked at now, the longest lock first.
func ListSigninLocks(ctx context.Context, q Querier, now time.Time) ([]*SigninState, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+signinCols+` FROM signin_lockouts WHERE locked_until > ?
		ORDER BY locked_until DESC, username LIMIT 1000`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("catalog: list sign-in locks: %w", err)
	}
	defer rows.Close()
	var out []*SigninState
	for rows.Next() {
		s, err := scanSignin(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list sign-in locks: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PurgeSigninStates deletes the states last changed before before and not
// locked at now: a username nobody has failed on for that long.
func PurgeSigninStates(ctx context.Context, q Querier, before, now time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `DELETE FROM signin_lockouts WHERE updated_at < ? AND locked_until < ?`, micros(before), micros(now))
	if err != nil {
		return 0, fmt.Errorf("catalog: purge sign-in failures: %w", err)
	}
	return res.RowsAffected()
}
