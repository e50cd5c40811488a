package auth_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
)

// countingDB counts the catalog queries a lookup makes.
type countingDB struct {
	*sql.DB
	n atomic.Int64
}

func (c *countingDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	c.n.Add(1)
	return c.DB.QueryRowContext(ctx, q, args...)
}

func TestTokenCache(t *testing.T) {
	ctx := context.Background()
	db, err := catalog.OpenSQLite(ctx, filepath.Join(t.TempDir(), "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)
	expires := now.Add(3 * time.Second)
	secret, tok, err := auth.CreateToken(ctx, db.Writer(), "viewer", []string{"read"}, "museum", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	short, _, err := auth.CreateToken(ctx, db.Writer(), "short", []string{"read"}, "", &expires, "")
	if err != nil {
		t.Fatal(err)
	}
	cdb := &countingDB{DB: db.Reader()}
	a := &auth.Authenticator{DB: cdb, Now: func() time.Time { return now }, Tokens: &auth.TokenCache{TTL: 5 * time.Second, Max: 2}}

	// The first lookup queries, the next ones within the TTL do not, and
	// get the same principal (a copy: changing it changes nothing).
	p, err := a.Lookup(ctx, secret)
	if err != nil || p.TokenID != tok.ID || p.Project != "museum" || !p.Has("read") {
		t.Fatalf("lookup: %+v %v", p, err)
	}
	p.Scopes[0] = "admin"
	base := cdb.n.Load()
	for range 10 {
		p, err = a.Lookup(ctx, secret)
		if err != nil || p.TokenID != tok.ID || p.Has("admin") || !p.Has("read") {
			t.Fatalf("cached lookup: %+v %v", p, err)
		}
	}
	if n := cdb.n.Load() - base; n != 0 {
		t.Errorf("cached lookups made %d queries", n)
	}
	// Unknown tokens are not cached (and stay refused).
	for range 2 {
		if _, err := a.Lookup(ctx, "nope"); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if a.Tokens.Len() != 1 {
		t.Errorf("%d entries, want 1", a.Tokens.Len())
	}

	// Revoked in the catalog behind the cache's back (another node, the
	// CLI): still accepted until the TTL passes, then refused.
	if err := catalog.RevokeToken(ctx, db.Writer(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, secret); err != nil {
		t.Errorf("within the TTL: %v", err)
	}
	now = now.Add(5 * time.Second)
	if _, err := a.Lookup(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked, after the TTL: %v", err)
	}

	// Forget (what the API calls after revoking) takes effect at once.
	secret2, tok2, err := auth.CreateToken(ctx, db.Writer(), "second", []string{"read", "write"}, "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, secret2); err != nil {
		t.Fatal(err)
	}
	if err := catalog.RevokeToken(ctx, db.Writer(), tok2.ID); err != nil {
		t.Fatal(err)
	}
	a.Forget()
	if a.Tokens.Len() != 0 {
		t.Errorf("%d entries after Forget", a.Tokens.Len())
	}
	if _, err := a.Lookup(ctx, secret2); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked and forgotten: %v", err)
	}

	// An expiring token is not kept past its expiry, even within the TTL.
	now = expires.Add(-time.Second)
	if _, err := a.Lookup(ctx, short); err != nil {
		t.Fatal(err)
	}
	now = expires
	if _, err := a.Lookup(ctx, short); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("expired token served from the cache: %v", err)
	}

	// Bounded: never more than Max entries.
	secret3, _, err := auth.CreateToken(ctx, db.Writer(), "third", []string{"read"}, "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	secret4, _, err := auth.CreateToken(ctx, db.Writer(), "fourth", []string{"read"}, "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{secret3, secret4, secret3, secret4} {
		if _, err := a.Lookup(ctx, s); err != nil {
			t.Fatal(err)
		}
		if n := a.Tokens.Len(); n > 2 {
			t.Fatalf("%d entries, Max is 2", n)
		}
	}
}

// TestTokenCacheOff: an Authenticator without a cache reads the catalog
// every time.
func TestTokenCacheOff(t *testing.T) {
	ctx := context.Background()
	db, err := catalog.OpenSQLite(ctx, filepath.Join(t.TempDir(), "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret, tok, err := auth.CreateToken(ctx, db.Writer(), "viewer", []string{"read"}, "", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	// Without a cache every lookup reads the catalog: a revocation is seen at once.
	a := &auth.Authenticator{DB: db.Reader()}
	if _, err := a.Lookup(ctx, secret); err != nil {
		t.Fatal(err)
	}
	a.Forget() // no cache: a no-op
	if err := catalog.RevokeToken(ctx, db.Writer(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lookup(ctx, secret); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("revoked: %v", err)
	}
}
