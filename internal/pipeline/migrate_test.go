package pipeline_test

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/logging"
	"stor/internal/node"
	"stor/internal/pgtest"
	"stor/internal/pipeline"
)

// TestManyNodesStartAtOnceOnFreshPostgres starts several nodes at the same
// moment on one empty PostgreSQL database, as a cluster's rolling deploy or
// a Kubernetes Deployment does: the catalog's and River's migrations must
// serialize (advisory locks) so that every node opens, and the queue works
// afterwards.
func TestManyNodesStartAtOnceOnFreshPostgres(t *testing.T) {
	url := pgtest.URL(t)
	const nodes = 6
	var (
		wg     sync.WaitGroup
		begin  = make(chan struct{})
		errs   = make([]error, nodes)
		opened = make([]*node.Node, nodes)
	)
	for i := range nodes {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.DatabaseURL = url
		cfg.Addr = "127.0.0.1:0"
		cfg.Workers = 1
		cfg.MaxLoadPerCPU = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			n, err := node.OpenWithPipeline(context.Background(), cfg, logging.New(io.Discard, "json", "info"),
				pipeline.Config{}, []pipeline.Task{})
			errs[i], opened[i] = err, n
			if err == nil {
				errs[i] = n.Start(context.Background())
			}
		}()
	}
	close(begin)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	// Stop them all (they have no tasks, so they must not take the jobs
	// below).
	for _, n := range opened {
		if n == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		n.Stop(ctx)
		cancel()
		n.Close()
	}
	if t.Failed() {
		return
	}
	// The queue works on the migrated schema: a node's upload is processed.
	cfg := testConfig(t, t.TempDir())
	cfg.DatabaseURL = url
	e := start(t, cfg, pipeline.Task{Name: "noop", Applies: always, Required: true, Timeout: 10 * time.Second,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error { return nil }})
	id := e.upload("after-migrate.png", nil)
	e.waitState(id, time.Minute, "ready")
}
