package iiifserver

import (
	"container/list"
	"sync"
)

// DefaultTileCacheSize is the default bound of the decoded-tile cache:
// 64 MiB, about 340 decoded 256×256 tiles (or 85 of 512×512), enough for
// the upper levels of a few large pyramids, which every zoomed-out region
// reads.
const DefaultTileCacheSize = 64 << 20

// tileKey names one stored pyramid tile of one source version: a
// reprocessed asset has a new version, so its old tiles are never read
// again and age out.
type tileKey struct {
	version         string
	level, col, row int
	m               int // decoded at scale m/8
}

// tileCache is a least-recently-used cache of decoded pyramid tiles
// (packed RGB), bounded in bytes. Arbitrary regions of a pyramid are
// rendered from the decoded tiles under them; neighbouring and zoomed-out
// regions share tiles, so a warm cache turns most of a region's JPEG
// decodes into copies.
//
// The pixels are ordinary Go memory (an earlier version kept them in
// anonymous mappings outside the heap, to spare the garbage collector's
// headroom, and crashed once under load: see docs/benchmarks.md), so the
// process may grow by up to about twice the bound. Evicted tiles' memory
// is reused for the next decodes rather than left to the collector. A tile
// handed out by get stays out of reuse until its release runs.
type tileCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	ll    *list.List
	items map[tileKey]*list.Element
	// free keeps evicted tiles' memory by length for the next decode (new
	// memory is page faults on every byte, costly on a VM), at most
	// maxFree bytes in all; beyond that it is dropped.
	free     map[int][][]byte
	freeSize int64
}

type tileEntry struct {
	key     tileKey
	pix     []byte // mapped, len = the tile's bytes
	refs    int    // readers holding pix
	evicted bool   // out of the cache: unmapped when refs drops to 0
}

// tileOverhead is what an entry costs beyond its pixels (list element,
// map entry, key), counted against the bound.
const tileOverhead = 160

func newTileCache(max int64) *tileCache {
	return &tileCache{max: max, ll: list.New(), items: map[tileKey]*list.Element{}, free: map[int][][]byte{}}
}

// maxFree is the bound of memory kept for reuse: a sixteenth of the
// cache, at least one 512×512 tile.
func (c *tileCache) maxFree() int64 { return max(c.max/16, 512*512*3) }

// alloc returns n bytes for a tile about to be decoded and put: memory of
// an evicted tile when there is one of that length, else new memory.
// A nil cache allocates new memory.
func (c *tileCache) alloc(n int) ([]byte, error) {
	if c == nil {
		return allocTile(n)
	}
	c.mu.Lock()
	if l := c.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		c.free[n] = l[:len(l)-1]
		c.freeSize -= int64(n)
		c.mu.Unlock()
		return b, nil
	}
	c.mu.Unlock()
	return allocTile(n)
}

// drop gives back memory from alloc that was not put (a failed decode).
func (c *tileCache) drop(b []byte) {
	if c == nil {
		freeTile(b)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recycle(b)
}

// recycle keeps b for alloc or drops it; c.mu is held.
func (c *tileCache) recycle(b []byte) {
	if c.freeSize+int64(len(b)) > c.maxFree() {
		freeTile(b)
		return
	}
	c.free[len(b)] = append(c.free[len(b)], b)
	c.freeSize += int64(len(b))
}

// allocTile returns n bytes for a tile; freeTile drops it (to the
// garbage collector).
func allocTile(n int) ([]byte, error) { return make([]byte, n), nil }

func freeTile([]byte) {}

// get returns the tile's pixels and a release to call when done with them.
func (c *tileCache) get(k tileKey) ([]byte, func(), bool) {
	if c == nil {
		return nil, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, nil, false
	}
	c.ll.MoveToFront(el)
	e := el.Value.(*tileEntry)
	e.refs++
	return e.pix, func() { c.release(e) }, true
}

func (c *tileCache) release(e *tileEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.refs--
	if e.refs == 0 && e.evicted {
		c.recycle(e.pix)
	}
}

// put hands pix (from alloc) to the cache, evicting the least recently
// used tiles to stay within the bound, and returns it pinned as get does.
// A tile already there, or larger than the whole bound, is not kept: pix
// is then freed on release, as it is by a nil cache.
func (c *tileCache) put(k tileKey, pix []byte) ([]byte, func()) {
	if c == nil {
		return pix, func() { freeTile(pix) }
	}
	e := &tileEntry{key: k, pix: pix, refs: 1}
	cost := int64(len(pix)) + tileOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok || cost > c.max {
		e.evicted = true
		return pix, func() { c.release(e) }
	}
	c.items[k] = c.ll.PushFront(e)
	c.size += cost
	for c.size > c.max {
		el := c.ll.Back()
		old := el.Value.(*tileEntry)
		c.ll.Remove(el)
		delete(c.items, old.key)
		c.size -= int64(len(old.pix)) + tileOverhead
		old.evicted = true
		if old.refs == 0 {
			c.recycle(old.pix)
		}
	}
	return pix, func() { c.release(e) }
}

// close frees every tile not in use (at server close).
func (c *tileCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		e := el.Value.(*tileEntry)
		e.evicted = true
		if e.refs == 0 {
			freeTile(e.pix)
		}
		delete(c.items, k)
	}
	c.ll.Init()
	c.size = 0
	for n, l := range c.free {
		for _, b := range l {
			freeTile(b)
		}
		delete(c.free, n)
	}
	c.freeSize = 0
}

// stats returns the entry count and the bytes counted against the bound.
func (c *tileCache) stats() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.size
}
