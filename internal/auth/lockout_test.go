package auth_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/pgtest"
)

func openCatalog(t *testing.T, backend string) *catalog.DB {
	t.Helper()
	url := ""
	if backend == "postgres" {
		url = pgtest.URL(t)
	}
	db, err := catalog.Open(context.Background(), url, filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestLockout: N failures in the window lock a username, with a backoff
// that doubles per lock in a row up to Max; failures outside the window
// do not add up; a success and an unlock clear it; concurrent failures
// (several nodes at once) lock exactly once. On SQLite and PostgreSQL.
func TestLockout(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			db := openCatalog(t, backend)
			ctx := context.Background()
			var clock atomic.Int64
			clock.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
			now := func() time.Time { return time.UnixMicro(clock.Load()) }
			advance := func(d time.Duration) { clock.Add(d.Microseconds()) }
			l := &auth.Lockout{Attempts: 3, Window: 10 * time.Minute, Duration: time.Minute, Max: 5 * time.Minute, Now: now}
			w := db.Writer()
			locked := func(user string) time.Duration {
				t.Helper()
				err := l.Check(ctx, w, user)
				var le *auth.LockedError
				if errors.As(err, &le) {
					if !errors.Is(err, auth.ErrSigninLocked) {
						t.Fatalf("LockedError does not wrap ErrSigninLocked")
					}
					return le.Wait
				}
				if err != nil {
					t.Fatal(err)
				}
				return 0
			}
			fail := func(user string) time.Time {
				t.Helper()
				until, err := l.Fail(ctx, w, user)
				if err != nil {
					t.Fatal(err)
				}
				return until
			}

			// Two failures, then a window passes: they no longer count.
			fail("ann")
			fail("ann")
			advance(11 * time.Minute)
			if !fail("ann").IsZero() || locked("ann") != 0 {
				t.Fatal("failures of an old window counted")
			}
			// Three in the window lock for 1m, then 2m, 4m, 5m (Max), 5m.
			for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute} {
				var until time.Time
				for range 3 {
					if until.IsZero() {
						until = fail("ann")
					}
				}
				if got := until.Sub(now()); got != want {
					t.Fatalf("lock %d: %s, want %s", i, got, want)
				}
				if wait := locked("ann"); wait != want {
					t.Fatalf("lock %d: Check wait %s, want %s", i, wait, want)
				}
				advance(want)
				if locked("ann") != 0 {
					t.Fatalf("lock %d still on after it ended", i)
				}
			}
			// A day without failures: the backoff starts again at 1m.
			advance(auth.LockoutDecay + time.Minute)
			fail("ann")
			fail("ann")
			if until := fail("ann"); until.Sub(now()) != time.Minute {
				t.Fatalf("after a quiet day: lock of %s", until.Sub(now()))
			}
			// An admin's unlock clears it; a good sign-in forgets failures.
			if ok, err := auth.Unlock(ctx, w, "ann"); !ok || err != nil {
				t.Fatalf("unlock: %v %v", ok, err)
			}
			if locked("ann") != 0 {
				t.Fatal("locked after unlock")
			}
			fail("ann")
			fail("ann")
			if err := l.Succeed(ctx, w, "ann"); err != nil {
				t.Fatal(err)
			}
			if !fail("ann").IsZero() {
				t.Fatal("failures before a good sign-in still counted")
			}
			// Overlong usernames are keyed by a hash, and lock too.
			long := strings.Repeat("x", 5000)
			for range 3 {
				fail(long)
			}
			if locked(long) == 0 {
				t.Fatal("overlong username not locked")
			}
			// Many failures at once (several nodes): every one counts, one locks.
			var wg sync.WaitGroup
			var locks atomic.Int32
			for range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					until, err := l.Fail(ctx, w, "bob")
					if err != nil {
						t.Error(err)
					}
					if !until.IsZero() {
						locks.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := locks.Load(); n < 1 || n > 4 {
				t.Errorf("12 concurrent failures made %d locks, want 1 to 4 (one per 3 failures at most)", n)
			}
			if locked("bob") == 0 {
				t.Error("bob not locked")
			}
			// Off: nothing is recorded or refused.
			off := &auth.Lockout{}
			for range 5 {
				if until, err := off.Fail(ctx, w, "carol"); err != nil || !until.IsZero() {
					t.Fatal(until, err)
				}
			}
			if err := off.Check(ctx, w, "carol"); err != nil {
				t.Fatal(err)
			}
			if _, err := catalog.GetSigninState(ctx, w, "carol"); !errors.Is(err, catalog.ErrNotFound) {
				t.Fatalf("lockout off recorded state: %v", err)
			}
		})
	}
}
