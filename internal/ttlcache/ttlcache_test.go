package ttlcache

import (
	"testing"
	"time"
)

// Entries expire, the bound holds (expired ones go first), and a lookup
// that began before Forget does not store its result.
func TestCache(t *testing.T) {
	var c Cache[int]
	now := time.Unix(1000, 0)
	_, ok, gen := c.Get("a", now)
	if ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put("a", 1, now.Add(time.Second), now, 2, gen)
	if v, ok, _ := c.Get("a", now); !ok || v != 1 {
		t.Fatalf("a = %d, %v; want 1, true", v, ok)
	}
	if _, ok, _ := c.Get("a", now.Add(time.Second)); ok {
		t.Fatal("a still there at its expiry")
	}
	c.Put("b", 2, now.Add(time.Second), now, 2, gen)
	c.Put("c", 3, now.Add(2*time.Second), now, 2, gen)
	c.Put("d", 4, now.Add(2*time.Second), now.Add(time.Second), 2, gen) // b expired: dropped
	if _, ok, _ := c.Get("c", now.Add(time.Second)); !ok || c.Len() != 2 {
		t.Fatalf("c lost or %d entries, want c kept and 2", c.Len())
	}
	c.Put("e", 5, now.Add(2*time.Second), now, 2, gen) // none expired: start over
	if c.Len() != 1 {
		t.Fatalf("%d entries over the bound, want 1", c.Len())
	}
	_, _, old := c.Get("f", now)
	c.Forget()
	c.Put("f", 6, now.Add(time.Second), now, 2, old)
	if _, ok, _ := c.Get("f", now); ok || c.Len() != 0 {
		t.Fatal("a lookup from before Forget was stored")
	}
}
