// Package ttlcache is a small bounded map whose entries expire: the
// per-node caches in front of the catalog (auth.TokenCache,
// api.AccessCache) share it. Forget empties it, and a lookup that began
// before a Forget does not store its (possibly stale) result.
package ttlcache

import (
	"sync"
	"time"
)

// Cache maps string keys to values of V until each entry's expiry. The
// zero value is ready to use.
type Cache[V any] struct {
	mu  sync.Mutex
	m   map[string]entry[V]
	gen uint64 // bumped by Forget
}

type entry[V any] struct {
	v     V
	until time.Time
}

// Get returns key's value if it has not expired at now, and the
// generation to hand to Put after a miss.
func (c *Cache[V]) Get(key string, now time.Time) (v V, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[key]
	if found && now.Before(e.until) {
		return e.v, true, c.gen
	}
	if found {
		delete(c.m, key)
	}
	return v, false, c.gen
}

// Put stores v for key until until, unless Forget ran since gen was read.
// With max entries already there it drops the expired ones (at now) and,
// if none were, all of them.
func (c *Cache[V]) Put(key string, v V, until, now time.Time, max int, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil {
		c.m = make(map[string]entry[V])
	}
	if len(c.m) >= max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= max {
			clear(c.m)
		}
	}
	c.m[key] = entry[V]{v: v, until: until}
}

// Forget drops every entry.
func (c *Cache[V]) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// Len is the number of entries, expired ones included.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
