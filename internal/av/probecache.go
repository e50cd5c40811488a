package av

import (
	"context"
	"errors"
	"time"

	"golang.org/x/sync/singleflight"

	"stor/internal/pipeline"
	"stor/internal/ttlcache"
)

// probeCache shares ffprobe runs between the tasks of one asset: HLS,
// av-probe and the poster start together when a video lands, and each
// needs the same analysis. One ffprobe (about 0.3 s of CPU for a 1080p
// clip) instead of three leaves the cores to the ladder's first
// segments. It is per process; tasks on other nodes probe for themselves.
type probeCache struct {
	g singleflight.Group
	c ttlcache.Cache[probeEntry]
}

type probeEntry struct {
	a   *Analysis
	raw []byte
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
	e, ok, gen := c.c.Get(key, time.Now())
	if ok {
		return e.a, e.raw, nil
	}
	ch := c.g.DoChan(key, func() (any, error) {
		a, raw, err := run(ctx)
		if err != nil {
			return nil, err
		}
		e := probeEntry{a: a, raw: raw}
		now := time.Now()
		c.c.Put(key, e, now.Add(probeTTL), now, probeEntries, gen)
		return e, nil
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
