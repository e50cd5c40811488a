package iiifserver

import "testing"

// TestTileCacheBound: the decoded-tile cache stays within its byte bound,
// evicts the least recently used first, keeps nothing larger than the
// bound, and frees a tile only once no reader holds it.
func TestTileCacheBound(t *testing.T) {
	const tile = 4096
	c := newTileCache(5 * (tile + tileOverhead))
	k := func(i int) tileKey { return tileKey{version: "v1", level: 0, col: i} }
	add := func(k tileKey, n int) ([]byte, func()) {
		t.Helper()
		b, err := allocTile(n)
		if err != nil {
			t.Fatal(err)
		}
		b[0] = byte(k.col)
		return c.put(k, b)
	}
	for i := range 5 {
		_, rel := add(k(i), tile)
		rel()
	}
	if n, b := c.stats(); n != 5 || b != 5*(tile+tileOverhead) {
		t.Fatalf("5 tiles: %d entries, %d bytes", n, b)
	}
	_, rel0, _ := c.get(k(0)) // now the most recently used
	rel0()
	held, relHeld, ok := c.get(k(2)) // read while it is evicted below
	if !ok {
		t.Fatal("tile 2 missing")
	}
	for i := 5; i < 50; i++ {
		_, rel := add(k(i), tile)
		rel()
		if i == 5 {
			if _, _, ok := c.get(k(1)); ok {
				t.Error("tile 1, least recently used, not evicted")
			}
			if _, rel, ok := c.get(k(0)); !ok {
				t.Error("tile 0, recently used, evicted")
			} else {
				rel()
			}
		}
		if _, b := c.stats(); b > c.max {
			t.Fatalf("%d bytes over the bound %d", b, c.max)
		}
	}
	if n, _ := c.stats(); n != 5 {
		t.Fatalf("%d entries, want 5", n)
	}
	if _, _, ok := c.get(k(2)); ok {
		t.Error("tile 2 still cached")
	}
	if held[0] != 2 { // still mapped: reading it does not fault
		t.Errorf("held tile reads %d", held[0])
	}
	relHeld()
	_, rel := add(tileKey{version: "huge"}, 10*tile)
	rel()
	if _, _, ok := c.get(tileKey{version: "huge"}); ok {
		t.Error("a tile larger than the bound was kept")
	}
	// Another version of the same tile is another entry.
	_, rel = add(tileKey{version: "v2", level: 0, col: 49}, 8)
	rel()
	if p, rel, ok := c.get(k(49)); !ok || len(p) != tile {
		t.Error("v1 tile lost or replaced by v2's")
	} else {
		rel()
	}
	c.close()
	if n, b := c.stats(); n != 0 || b != 0 {
		t.Errorf("after close: %d entries, %d bytes", n, b)
	}
	var off *tileCache
	if _, _, ok := off.get(k(1)); ok {
		t.Error("disabled cache returned a tile")
	}
}
