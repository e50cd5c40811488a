package av

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"stor/internal/pipeline"
)

// probeCache shares ffprobe runs between the tasks of one asset: HLS,
// av-probe and the poster start together when a video lands, and each
// needs the same analysis. One ffprobe (about 0.3 s of CPU for a 1080p
// clip) instead of three leaves the cores to the ladder's first
// segments. It is per process; tasks on other nodes probe for themselves.
type probeCache struct {
	g  singleflight.Group
	mu sync.Mutex
	m  map[string]probeEntry
}

type probeEntry struct {
	a   *Analysis
	raw []byte
	at  time.Time
}

// Entries live long enough for the tasks that wait for the ladder (the
// poster, the storyboard) to find them, and no longer.
const (
	probeTTL     = 30 * time.Minute
	probeEntries = 256
)

var probes probeCache

// probeKey names an original: an asset and its checksum (a replaced
// original is probed again).
func probeKey(tc *pipeline.TaskContext) string {
	return tc.Asset.ID + "/" + tc.Asset.SHA256
}

// get returns the analysis of key, running run at most once at a time
// per key. The result is shared: callers must not change it. A failed
// run is not kept; a waiter whose leader was cancelled runs its own.
func (c *probeCache) get(ctx context.Context, key string, run func(context.Context) (*Analysis, []byte, error)) (*Analysis, []byte, error) {
	c.mu.Lock()
	if e, ok := c.m[key]; ok && time.Since(e.at) < probeTTL {
		c.mu.Unlock()
		return e.a, e.raw, nil
	}
	c.mu.Unlock()
	ch := c.g.DoChan(key, func() (any, error) {
		a, raw, err := run(ctx)
		if err != nil {
			return nil, err
		}
		c.put(key, probeEntry{a: a, raw: raw, at: time.Now()})
		return probeEntry{a: a, raw: raw}, nil
	})
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			if ctx.Err() == nil && (errors.Is(r.Err, context.Canceled) || errors.Is(r.Err, context.DeadlineExceeded)) {
				return run(ctx) // the leader's task was cancelled, not ours
			}
			return nil, nil, r.Err
		}
		e := r.Val.(probeEntry)
		return e.a, e.raw, nil
	}
}

func (c *probeCache) put(key string, e probeEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]probeEntry{}
	}
	if len(c.m) >= probeEntries {
		for k, old := range c.m {
			if time.Since(old.at) >= probeTTL || len(c.m) >= probeEntries {
				delete(c.m, k)
			}
		}
	}
	c.m[key] = e
}
