package auth

import (
	"time"

	"stor/internal/ttlcache"
)

// TokenCache keeps recently validated bearer tokens for a few seconds, so
// that a viewer fetching dozens of tiles a second is not one catalog query
// per tile. Entries are keyed by the token's hash (never the secret) and
// hold the resolved Principal.
//
// Revocation: Forget empties it, and the API calls Forget after it revokes
// a token or changes a user (role, project, disabled), so on the node that
// made the change the next request is checked against the catalog. Other
// nodes (and changes made with the `stor` CLI) are seen within TTL. An
// expiring token is never kept past its expiry. Failed lookups are not
// cached.
type TokenCache struct {
	TTL time.Duration // how long an entry lives; 0 is DefaultTokenCacheTTL
	Max int           // entries at most; 0 is DefaultTokenCacheMax

	c ttlcache.Cache[Principal]
}

// Defaults of TokenCache.
const (
	DefaultTokenCacheTTL = 5 * time.Second
	DefaultTokenCacheMax = 10000
)

func (c *TokenCache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultTokenCacheTTL
}

func (c *TokenCache) max() int {
	if c.Max > 0 {
		return c.Max
	}
	return DefaultTokenCacheMax
}

// get returns a copy of the cached principal of hash, and the generation to
// hand to put after a miss.
func (c *TokenCache) get(hash string, now time.Time) (*Principal, uint64) {
	p, ok, gen := c.c.Get(hash, now)
	if !ok {
		return nil, gen
	}
	return &p, gen
}

// put stores p for hash until now+TTL (or expires, if sooner), unless
// Forget ran since gen was read.
func (c *TokenCache) put(hash string, p *Principal, expires *time.Time, now time.Time, gen uint64) {
	until := now.Add(c.ttl())
	if expires != nil && expires.Before(until) {
		until = *expires
	}
	q := *p
	q.Scopes = append([]string(nil), p.Scopes...)
	c.c.Put(hash, q, until, now, c.max(), gen)
}

// Forget drops every entry (after a revocation or a change of a user).
func (c *TokenCache) Forget() { c.c.Forget() }

// Len is the number of entries, expired ones included.
func (c *TokenCache) Len() int { return c.c.Len() }

// Forget drops the cached tokens of a, if it has a cache: call it after
// revoking a token or changing a user.
func (a *Authenticator) Forget() {
	if a != nil && a.Tokens != nil {
		a.Tokens.Forget()
	}
}

// lookupCached is Lookup through the cache.
func (a *Authenticator) lookupCached(hash string, lookup func() (*Principal, *time.Time, error)) (*Principal, error) {
	now := a.now()
	p, gen := a.Tokens.get(hash, now)
	if p != nil {
		p.Scopes = append([]string(nil), p.Scopes...)
		return p, nil
	}
	p, expires, err := lookup()
	if err != nil {
		return nil, err
	}
	a.Tokens.put(hash, p, expires, now, gen)
	return p, nil
}
