package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"stor/internal/catalog"
)

// ErrSigninLocked is a sign-in refused because its username failed too
// often; the same for a username that exists and one that does not.
var ErrSigninLocked = errors.New("too many failed sign-ins for this username")

// LockedError is ErrSigninLocked with the time left.
type LockedError struct{ Wait time.Duration }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v: retry after %s", ErrSigninLocked, e.Wait.Round(time.Second))
}

func (e *LockedError) Unwrap() error { return ErrSigninLocked }

// LockoutDecay is how long a username must see no failure (and no lock)
// before its lock count, and so its backoff, starts again from the first
// lock.
const LockoutDecay = 24 * time.Hour

// Lockout locks a username out of sign-in after Attempts failures within
// Window, for Duration, doubling with each lock in a row up to Max. Its
// state is in the catalog (table signin_lockouts), so it is shared by
// every API node and survives restarts. Failures of usernames that do not
// exist count the same way, so a lock tells nothing about the account.
type Lockout struct {
	Attempts int // 0: no lockout
	Window   time.Duration
	Duration time.Duration
	Max      time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	purged atomic.Int64 // unix seconds of the last purge of old states
}

func (l *Lockout) on() bool { return l != nil && l.Attempts > 0 }

func (l *Lockout) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// LockoutKey is the key of username in signin_lockouts: the username, or a
// hash of an overlong one (sign-in takes any string).
func LockoutKey(username string) string {
	if len(username) <= 128 {
		return username
	}
	h := sha256.Sum256([]byte(username))
	return "sha256:" + hex.EncodeToString(h[:])
}

// lockFor is the length of lock number n (0 the first).
func (l *Lockout) lockFor(n int) time.Duration {
	d := l.Duration
	for i := 0; i < n && d < l.Max; i++ {
		d *= 2
	}
	return min(d, max(l.Max, l.Duration))
}

// Check returns a *LockedError when username is locked now.
func (l *Lockout) Check(ctx context.Context, q catalog.Querier, username string) error {
	if !l.on() || username == "" {
		return nil
	}
	s, err := catalog.GetSigninState(ctx, q, LockoutKey(username))
	if errors.Is(err, catalog.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if wait := s.LockedUntil.Sub(l.now()); wait > 0 {
		return &LockedError{Wait: wait}
	}
	return nil
}

// Fail counts a failed sign-in of username; when it reaches Attempts the
// username is locked, and Fail returns when until (else the zero time).
func (l *Lockout) Fail(ctx context.Context, q catalog.Querier, username string) (time.Time, error) {
	if !l.on() || username == "" {
		return time.Time{}, nil
	}
	now := l.now()
	if last := l.purged.Load(); now.Unix()-last > 3600 && l.purged.CompareAndSwap(last, now.Unix()) {
		catalog.PurgeSigninStates(ctx, q, now.Add(-max(LockoutDecay, l.Window)), now) // best effort
	}
	key := LockoutKey(username)
	s, err := catalog.RecordSigninFailure(ctx, q, key, now, l.Window, LockoutDecay)
	if err != nil {
		return time.Time{}, err
	}
	if s.Failures < l.Attempts {
		return time.Time{}, nil
	}
	until := now.Add(l.lockFor(s.Lockouts))
	locked, err := catalog.LockSignin(ctx, q, key, l.Attempts, now, until)
	if err != nil || !locked {
		return time.Time{}, err
	}
	return until, nil
}

// Succeed forgets the failures of username after a good sign-in.
func (l *Lockout) Succeed(ctx context.Context, q catalog.Querier, username string) error {
	if !l.on() || username == "" {
		return nil
	}
	_, err := catalog.ClearSignin(ctx, q, LockoutKey(username))
	return err
}

// Unlock lifts the lock of username and forgets its failures (an admin's
// act); it reports whether there was anything to forget.
func Unlock(ctx context.Context, q catalog.Querier, username string) (bool, error) {
	return catalog.ClearSignin(ctx, q, LockoutKey(username))
}
