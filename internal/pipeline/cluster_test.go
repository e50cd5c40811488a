package pipeline_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
)

// TestDrainRequeuesWithoutAnAttempt: a task still running when the drain
// timeout ends is cancelled and put back in the queue without using an
// attempt (MaxAttempts 1 here: had it used one, the task would have failed
// for good), and runs again at the next start.
func TestDrainRequeuesWithoutAnAttempt(t *testing.T) {
	eachBackend(t, testDrainRequeuesWithoutAnAttempt)
}

func testDrainRequeuesWithoutAnAttempt(t *testing.T) {
	dir := t.TempDir()
	var calls atomic.Int32
	started := make(chan struct{}, 1)
	task := pipeline.Task{
		Name: "long", Applies: always, Required: true, MaxAttempts: 1, Timeout: time.Minute,
		Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
			if calls.Add(1) > 1 {
				return nil
			}
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		},
	}
	cfg := testConfig(t, dir) // the restart below reuses its database
	e := start(t, cfg, task)
	id := e.upload("drain.png", nil)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the task did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	e.n.Stop(ctx)
	cancel()
	if tk := e.task(id, "long"); tk.State != catalog.TaskQueued {
		t.Fatalf("after the drain the task is %s, want queued", tk.State)
	}
	if a := e.asset(id); a.State != catalog.StateProcessing {
		t.Fatalf("after the drain the asset is %s, want processing", a.State)
	}
	if !strings.Contains(e.logs.String(), "task cancelled by shutdown; requeued") {
		t.Error("the drain's requeue is not logged")
	}

	e2 := start(t, cfg, task)
	if a := e2.waitState(id, 30*time.Second, catalog.StateReady, catalog.StateFailed); a.State != catalog.StateReady {
		t.Fatalf("after a restart the asset is %s (%s), want ready", a.State, a.Error)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("the task ran %d times, want 2", n)
	}
}

// TestDeadOwnersTasksRequeued: a running job whose River client (the last
// id in attempted_by) is not a live node is made available again by a
// worker's heartbeat; a live node's jobs are left alone.
func TestDeadOwnersTasksRequeued(t *testing.T) { eachBackend(t, testDeadOwnersTasksRequeued) }

func testDeadOwnersTasksRequeued(t *testing.T) {
	var calls atomic.Int32
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	e := startPipelineCfg(t, testConfig(t, t.TempDir()),
		pipeline.Config{Heartbeat: 100 * time.Millisecond, NodeTimeout: time.Second},
		pipeline.Task{
			Name: "stuck", Applies: always, Required: true, MaxAttempts: 3, Timeout: time.Minute,
			Run: func(ctx context.Context, tc *pipeline.TaskContext) error {
				if calls.Add(1) > 1 {
					return nil
				}
				started <- struct{}{}
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			},
		})
	defer close(release)
	id := e.upload("orphan.png", nil)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the task did not start")
	}
	// Several heartbeats: a live owner's job stays running.
	time.Sleep(500 * time.Millisecond)
	if calls.Load() != 1 {
		t.Fatal("a live node's running task was requeued")
	}
	// Now it belongs to a process that died (as if it had fetched it).
	ctx := context.Background()
	q := `UPDATE river_job SET attempted_by = json_array('dead-node-1') WHERE state = 'running'`
	if onPostgres(t) {
		q = `UPDATE river_job SET attempted_by = ARRAY['dead-node-1'] WHERE state = 'running'`
	}
	res, err := e.n.DB.Writer().ExecContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%d running jobs, want 1", n)
	}
	if a := e.waitState(id, 20*time.Second, catalog.StateReady, catalog.StateFailed); a.State != catalog.StateReady {
		t.Fatalf("asset %s (%s), want ready", a.State, a.Error)
	}
	if calls.Load() != 2 {
		t.Errorf("the task ran %d times, want 2 (once more after its owner died)", calls.Load())
	}
	if !strings.Contains(e.logs.String(), "requeued a task left running by a dead process") {
		t.Error("the requeue is not logged")
	}
	nodes, err := catalog.ListNodes(ctx, e.n.DB.Reader(), time.Now().Add(-time.Minute))
	if err != nil || len(nodes) != 1 || nodes[0].ID != e.n.Pipe.NodeID() || nodes[0].Role != "serve" {
		t.Errorf("nodes %+v (%v), want this one", nodes, err)
	}
}
