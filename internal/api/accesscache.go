package api

import (
	"context"
	"time"

	"stor/internal/catalog"
	"stor/internal/ttlcache"
)

// AccessCache keeps assets' access rows (catalog.GetAssetAccess: project,
// visibility, the project's public flags and download rate) for a few
// seconds, so that a viewer fetching dozens of IIIF tiles a second is not
// one catalog query per tile before the handler even runs.
//
// Invalidation: the API calls Forget after it changes an asset's
// visibility, a project's access settings or deletes an asset, so on the
// node that made the change the next request reads the catalog. Other
// nodes (and changes made with the `stor` CLI) see the change within TTL
// (DefaultAccessCacheTTL, 2 s). Lookups that fail, and unknown ids, are
// not cached. Like auth.TokenCache.
type AccessCache struct {
	TTL time.Duration // how long an entry lives; 0 is DefaultAccessCacheTTL
	Max int           // entries at most; 0 is DefaultAccessCacheMax

	c ttlcache.Cache[catalog.AssetAccess]
}

// Defaults of AccessCache.
const (
	DefaultAccessCacheTTL = 2 * time.Second
	DefaultAccessCacheMax = 10000
)

// Get returns the access row of id, from the cache or the catalog.
func (c *AccessCache) Get(ctx context.Context, q catalog.Querier, id string) (*catalog.AssetAccess, error) {
	now := time.Now()
	cached, ok, gen := c.c.Get(id, now)
	if ok {
		return &cached, nil
	}
	a, err := catalog.GetAssetAccess(ctx, q, id)
	if err != nil {
		return nil, err
	}
	ttl, max := c.TTL, c.Max
	if ttl <= 0 {
		ttl = DefaultAccessCacheTTL
	}
	if max <= 0 {
		max = DefaultAccessCacheMax
	}
	c.c.Put(id, *a, now.Add(ttl), now, max, gen)
	return a, nil
}

// Forget drops every entry (after a change of access on this node).
func (c *AccessCache) Forget() {
	if c == nil {
		return
	}
	c.c.Forget()
}

// Len is the number of entries, expired ones included.
func (c *AccessCache) Len() int { return c.c.Len() }

// assetAccess reads id's access row through s.Access when it is set.
func (s *Server) assetAccess(ctx context.Context, id string) (*catalog.AssetAccess, error) {
	if s.Access == nil {
		return catalog.GetAssetAccess(ctx, s.DB.Reader(), id)
	}
	return s.Access.Get(ctx, s.DB.Reader(), id)
}
