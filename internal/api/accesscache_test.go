package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"stor/internal/api"
	"stor/internal/catalog"
	"stor/internal/config"
	"stor/internal/node/nodetest"
)

// TestAccessCache: a cached access row is reused until Forget (what the API
// calls after a change on this node) or its TTL; unknown ids are not
// cached; the entry count stays bounded.
func TestAccessCache(t *testing.T) {
	n := nodetest.Start(t, func(c *config.Config) { c.Workers = 0 })
	ctx := context.Background()
	a := n.MustUpload(t, n.Token, "a.jpg", nodetest.JPEG(t, 16, 16, 7))
	c := &api.AccessCache{TTL: time.Hour, Max: 3}
	get := func(c *api.AccessCache) *catalog.AssetAccess {
		t.Helper()
		acc, err := c.Get(ctx, n.DB.Reader(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	if acc := get(c); acc.Public {
		t.Fatalf("new asset public: %+v", acc)
	}
	// A change behind the cache's back is not seen...
	if err := catalog.SetAssetVisibility(ctx, n.DB.Writer(), a.ID, catalog.VisibilityPublic); err != nil {
		t.Fatal(err)
	}
	if acc := get(c); acc.Public {
		t.Fatalf("cached row changed without Forget: %+v", acc)
	}
	// ...until Forget.
	c.Forget()
	if acc := get(c); !acc.Public {
		t.Fatalf("after Forget: %+v", acc)
	}
	// Callers get copies.
	get(c).Project = "mutated"
	if acc := get(c); acc.Project == "mutated" {
		t.Fatal("cache hands out its own entry")
	}
	// An expired entry is read again.
	short := &api.AccessCache{TTL: time.Millisecond}
	get(short)
	if err := catalog.SetAssetVisibility(ctx, n.DB.Writer(), a.ID, catalog.VisibilityPrivate); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if acc := get(short); acc.Public {
		t.Fatalf("expired entry still used: %+v", acc)
	}
	// Unknown ids are an error and are not kept; the size stays bounded.
	for i := range 10 {
		if _, err := c.Get(ctx, n.DB.Reader(), fmt.Sprintf("nope%d", i)); err == nil {
			t.Fatal("unknown id found")
		}
	}
	if c.Len() > 3 {
		t.Fatalf("%d entries, max 3", c.Len())
	}
}
