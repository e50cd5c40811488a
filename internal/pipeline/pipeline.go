// Package pipeline runs the processing of assets as durable tasks on River
// (riverqueue): transactional enqueue with the asset row, one job per
// (asset, task), retries with exponential backoff and jitter, permanent
// failures that fail at once, timeouts that kill child processes, pause
// and resume that survive restarts, priorities, bounded concurrency per
// class of work, and an alert webhook when a task fails for good.
//
// The first task of every asset is "analyze"; it decides which registered
// tasks apply and queues them. The asset is ready when its required tasks
// have succeeded, failed when one of them failed for good.
package pipeline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"stor/internal/catalog"
	"stor/internal/logging"
	"stor/internal/storage"
)

// Queue names, one per class of work, plus one for outgoing webhooks.
const (
	queueLight  = "light"
	queueHeavy  = "heavy"
	queueAlerts = "alerts"
	// queueMaintenance runs periodic background work (fixity audits,
	// purges), one job at a time.
	queueMaintenance = "maintenance"
)

// Priorities (River: 1 is first).
const (
	PriorityInteractive = 1
	PriorityBulk        = 3
)

// Config tunes the pipeline. Zero values take the defaults noted.
type Config struct {
	Workers      int // light tasks at once; 0 runs no tasks (API-only node)
	HeavyWorkers int // heavy tasks at once (default 1)
	// RetryBase is the first retry delay; each next one doubles, with
	// ±50% jitter, up to RetryMax. Defaults 5s and 10m.
	RetryBase, RetryMax time.Duration
	// PollInterval is how often idle workers look for jobs (default 200ms).
	PollInterval time.Duration
	// AlertWebhookURL gets a Slack-compatible post per final failure.
	AlertWebhookURL string
	// BaseURL makes links in alerts.
	BaseURL string
	// TempDir holds task scratch space.
	TempDir string
	// MaxLoadPerCPU and MinFreeMemory gate heavy tasks: above that 1-minute
	// load average per CPU, or below that much available memory, a heavy
	// task waits (snoozes 5s, not counted as an attempt) instead of
	// starting. MaxLoadPerCPU 0 turns the load check off; MinFreeMemory
	// defaults to 512 MiB.
	MaxLoadPerCPU float64
	MinFreeMemory int64
	// MaxAdmissionWait bounds how long a heavy task waits for the load to
	// drop before it runs anyway (HeavyWorkers still bounds it), so that a
	// machine that stays busy does not starve the heavy tasks. Default 2m.
	MaxAdmissionWait time.Duration
	// Load reports load per CPU and available memory; nil reads /proc.
	Load func() (loadPerCPU float64, freeMem int64)
	// Periodic is background work run on a schedule by one node of the
	// cluster (River's elected leader inserts the jobs).
	Periodic []Periodic
	// NodeID names this process in the nodes table and is its River
	// client id (river_job.attempted_by); default a random one.
	NodeID string
	// Role is recorded in the nodes table ("serve" or "worker").
	Role string
	// Heartbeat is how often this process records that it is alive
	// (default 5s); NodeTimeout is how long without a beat makes a process
	// dead, its running tasks requeued by a live worker (default 30s).
	Heartbeat, NodeTimeout time.Duration
	// RescueAfter is how long a job may stay running before River hands
	// it to another worker, presuming its process died (default the
	// longest attempt any task may make plus 10 minutes). A process that
	// died is noticed much sooner by its missing heartbeat
	// (requeueOrphans); this is the last resort.
	RescueAfter time.Duration
}

// Periodic is background work that runs every Interval, once across the
// cluster: River's periodic jobs are inserted by the elected leader only,
// and at most one job of each name waits or runs at a time.
type Periodic struct {
	Name     string
	Interval time.Duration
	// Timeout bounds one run (default Interval).
	Timeout time.Duration
	Run     func(ctx context.Context) error
}

// Pipeline owns the task registry and the job queue client.
type Pipeline struct {
	cfg    Config
	db     *catalog.DB
	store  storage.Store
	log    *slog.Logger
	tasks  map[string]*Task
	order  []string
	client jobClient
	// closeClient releases the job queue's connections (after Stop).
	closeClient func()
	metrics     *Metrics
	load        func() (loadPerCPU float64, freeMem int64)
	// waiting remembers since when a heavy job has been held back by the
	// load gate (job id → time), for MaxAdmissionWait.
	waiting sync.Map
	// node is this process in the nodes table; draining is set once Stop
	// began, so that tasks cancelled by it go back to the queue.
	node     catalog.Node
	draining atomic.Bool
	stopBeat context.CancelFunc
	beatDone chan struct{}
}

// New builds a pipeline over db and store with the given tasks, and
// applies the job queue's migrations. The "analyze" task is built in.
func New(ctx context.Context, db *catalog.DB, store storage.Store, log *slog.Logger, m *Metrics, cfg Config, tasks []Task) (*Pipeline, error) {
	if cfg.HeavyWorkers < 1 {
		cfg.HeavyWorkers = 1
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 5 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	if cfg.MaxAdmissionWait <= 0 {
		cfg.MaxAdmissionWait = 2 * time.Minute
	}
	if cfg.MinFreeMemory <= 0 {
		cfg.MinFreeMemory = 512 << 20
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 5 * time.Second
	}
	if cfg.NodeTimeout <= 0 {
		cfg.NodeTimeout = 30 * time.Second
	}
	if cfg.NodeID == "" {
		cfg.NodeID = NewNodeID()
	}
	if cfg.Role == "" {
		cfg.Role = "serve"
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	p := &Pipeline{cfg: cfg, db: db, store: store, log: log, tasks: map[string]*Task{}, metrics: m, load: cfg.Load}
	host, _ := os.Hostname()
	p.node = catalog.Node{ID: cfg.NodeID, Role: cfg.Role, Host: host, PID: os.Getpid(), Started: time.Now()}
	if p.load == nil {
		p.load = systemLoad
	}
	all := append([]Task{p.analyzeTask()}, tasks...)
	for i := range all {
		t := &all[i]
		if t.Name == "" || t.Run == nil {
			return nil, fmt.Errorf("pipeline: task %d has no name or no Run", i)
		}
		if _, dup := p.tasks[t.Name]; dup {
			return nil, fmt.Errorf("pipeline: task %q registered twice", t.Name)
		}
		if t.MaxAttempts <= 0 {
			t.MaxAttempts = 5
		}
		if t.Class == "" {
			t.Class = Light
		}
		p.tasks[t.Name] = t
		p.order = append(p.order, t.Name)
	}

	workers := river.NewWorkers()
	river.AddWorker(workers, &taskWorker{p: p})
	river.AddWorker(workers, &alertWorker{p: p})
	river.AddWorker(workers, newWebhookWorker(p))
	periodic, err := p.periodicJobs(workers)
	if err != nil {
		return nil, err
	}
	rc := &river.Config{
		ID:                          cfg.NodeID,
		Workers:                     workers,
		RetryPolicy:                 p,
		FetchPollInterval:           cfg.PollInterval,
		FetchCooldown:               min(cfg.PollInterval, 100*time.Millisecond),
		Logger:                      log.With("component", "river"),
		RescueStuckJobsAfter:        cfg.RescueAfter,
		JobTimeout:                  -1,
		CompletedJobRetentionPeriod: 24 * time.Hour,
		PeriodicJobs:                periodic,
	}
	if cfg.Workers > 0 {
		// Every poll of every queue is a query (on SQLite, a prepared
		// write transaction of about 3 ms of CPU). Alerts, webhooks and
		// maintenance can wait a second; polling them 5× less often cut
		// an idle node's CPU by about a third (docs/operations.md).
		slow := 5 * cfg.PollInterval
		rc.Queues = map[string]river.QueueConfig{
			queueLight:  {MaxWorkers: cfg.Workers},
			queueHeavy:  {MaxWorkers: min(cfg.HeavyWorkers, cfg.Workers)},
			queueAlerts: {MaxWorkers: 2, FetchPollInterval: slow},
		}
		if len(periodic) > 0 {
			rc.Queues[queueMaintenance] = river.QueueConfig{MaxWorkers: 1, FetchPollInterval: slow}
		}
	}
	if rc.RescueStuckJobsAfter <= 0 {
		// River's rescuer requeues a job running longer than any attempt
		// may last.
		rc.RescueStuckJobsAfter = p.maxTimeout() + 10*time.Minute
	}
	if p.client, p.closeClient, err = newJobClient(ctx, db, rc); err != nil {
		return nil, err
	}
	return p, nil
}

// maxTimeout bounds every attempt of every task: the largest fixed
// Timeout, or MaxTaskTimeout when a task's timeout depends on the asset
// (TimeoutFor, capped there by Task.timeout).
func (p *Pipeline) maxTimeout() time.Duration {
	d := 10 * time.Minute // Task.timeout's default
	for _, t := range p.tasks {
		if t.TimeoutFor != nil {
			return MaxTaskTimeout
		}
		d = max(d, t.Timeout)
	}
	return min(d, MaxTaskTimeout)
}

// Close releases the job queue's connections; call it after Stop.
func (p *Pipeline) Close() {
	if p.closeClient != nil {
		p.closeClient()
	}
}

// Tasks lists the registered task names in order.
func (p *Pipeline) Tasks() []string { return slices.Clone(p.order) }

// Start registers this process in the nodes table and keeps its heartbeat,
// and runs the workers (when Workers > 0). A worker also requeues, at once
// and then at every beat, the tasks that a process which stopped beating
// left running: on one machine or many, a killed worker loses nothing and
// a live one's tasks are never taken from it.
func (p *Pipeline) Start(ctx context.Context) error {
	if err := catalog.BeatNode(ctx, p.db.Writer(), p.node); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if p.cfg.Workers > 0 {
		if err := p.requeueOrphans(ctx); err != nil {
			return err
		}
		if err := p.client.Start(ctx); err != nil {
			return fmt.Errorf("pipeline: start: %w", err)
		}
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.stopBeat, p.beatDone = cancel, make(chan struct{})
	go p.beat(bctx)
	return nil
}

// NodeID is this process's id in the nodes table and in River.
func (p *Pipeline) NodeID() string { return p.cfg.NodeID }

// NewNodeID makes a node id: host, process id and a random suffix.
func NewNodeID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%08x", host, os.Getpid(), rand.Uint32())
}

func (p *Pipeline) beat(ctx context.Context) {
	defer close(p.beatDone)
	t := time.NewTicker(p.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := catalog.BeatNode(ctx, p.db.Writer(), p.node); err != nil && ctx.Err() == nil {
			p.log.Warn("node heartbeat failed", "err", err)
		}
		if p.cfg.Workers > 0 {
			if err := p.requeueOrphans(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("requeueing orphaned tasks failed", "err", err)
			}
		}
	}
}

// Stop drains: workers stop fetching at once, running tasks finish until
// ctx ends; those still running then are cancelled and go back to the
// queue without using an attempt (JobSnooze(0)). Then the process leaves
// the nodes table.
func (p *Pipeline) Stop(ctx context.Context) {
	p.draining.Store(true)
	if p.cfg.Workers > 0 {
		if err := p.client.Stop(ctx); err != nil {
			p.log.Warn("running tasks did not finish in time; cancelling and requeueing them", "err", err)
			cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := p.client.StopAndCancel(cctx); err != nil {
				p.log.Error("cancelling running tasks", "err", err)
			}
		}
	}
	if p.stopBeat != nil {
		p.stopBeat()
		<-p.beatDone
		p.stopBeat = nil
	}
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := catalog.RemoveNode(rctx, p.db.Writer(), p.cfg.NodeID); err != nil {
		p.log.Warn("leaving the nodes table", "err", err)
	}
}

// requeueOrphans makes available again the jobs left running by a process
// that stopped beating (the last id in a job's attempted_by is the River
// client that fetched it). The update repeats the owner, so two workers
// doing this at once, or the owner finishing meanwhile, change nothing.
func (p *Pipeline) requeueOrphans(ctx context.Context) error {
	now := time.Now()
	live, err := catalog.ListNodes(ctx, p.db.Reader(), now.Add(-p.cfg.NodeTimeout))
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	alive := map[string]bool{p.cfg.NodeID: true}
	for _, n := range live {
		alive[n.ID] = true
	}
	owner := `json_extract(attempted_by, '$[#-1]')`
	if p.db.Dialect() == "postgres" {
		owner = `attempted_by[cardinality(attempted_by)]`
	}
	rows, err := p.db.Reader().QueryContext(ctx, `SELECT id, coalesce(`+owner+`, '') FROM river_job WHERE state = 'running'`)
	if err != nil {
		return fmt.Errorf("pipeline: running jobs: %w", err)
	}
	type orphan struct {
		id    int64
		owner string
	}
	var orphans []orphan
	for rows.Next() {
		var o orphan
		if err := rows.Scan(&o.id, &o.owner); err != nil {
			rows.Close()
			return fmt.Errorf("pipeline: running jobs: %w", err)
		}
		if !alive[o.owner] {
			orphans = append(orphans, o)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pipeline: running jobs: %w", err)
	}
	requeued := 0
	for _, o := range orphans {
		// ? placeholders: the catalog's PostgreSQL connections rebind them.
		q := `UPDATE river_job SET state = 'available' WHERE id = ? AND state = 'running' AND coalesce(` + owner + `, '') = ?`
		res, err := p.db.Writer().ExecContext(ctx, q, o.id, o.owner)
		if err != nil {
			return fmt.Errorf("pipeline: requeue job %d: %w", o.id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			requeued++
			p.log.Info("requeued a task left running by a dead process", "job", o.id, "owner", o.owner)
		}
	}
	if requeued > 0 {
		p.metrics.orphans.Add(float64(requeued))
	}
	// Long-gone nodes need not be remembered.
	return catalog.ForgetNodesBefore(ctx, p.db.Writer(), now.Add(-24*time.Hour))
}

// NextRetry implements river.ClientRetryPolicy: exponential backoff from
// RetryBase, doubling per attempt, capped at RetryMax, with ±50% jitter so
// that retries of many failed jobs do not arrive together.
func (p *Pipeline) NextRetry(job *rivertype.JobRow) time.Time {
	d := p.cfg.RetryBase
	for i := 1; i < job.Attempt && d < p.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, p.cfg.RetryMax)
	jittered := time.Duration(float64(d) * (0.5 + rand.Float64()))
	return time.Now().Add(jittered)
}

// taskArgs is the job of one task of one asset.
type taskArgs struct {
	AssetID string `json:"asset_id"`
	Task    string `json:"task"`
	TxID    string `json:"txid"`
	// Priority is carried to the tasks that analyze queues.
	Priority int `json:"priority"`
}

func (taskArgs) Kind() string { return "stor_task" }

// enqueue queues task name of asset inside tx, resetting its task row. It
// returns false when the task is already waiting (queued or retrying).
//
// Uniqueness is ours, not River's unique jobs: River counts a job as
// running until its completer flushes, so a retry clicked right after a
// failure would be dropped. A task that is running may be queued again;
// tasks are idempotent, so a second run is safe.
func (p *Pipeline) enqueue(ctx context.Context, tx *sql.Tx, a *catalog.Asset, name string, priority int, txid string) (bool, error) {
	t, ok := p.tasks[name]
	if !ok {
		return false, fmt.Errorf("pipeline: no task %q: %w", name, catalog.ErrNotFound)
	}
	if cur, err := catalog.TaskByName(ctx, tx, a.ID, name); err == nil {
		if cur.State == catalog.TaskQueued || cur.State == catalog.TaskRetrying {
			return false, nil
		}
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return false, err
	}
	queue := queueLight
	if t.Class == Heavy {
		queue = queueHeavy
	}
	if priority < 1 || priority > 4 {
		priority = PriorityInteractive
	}
	_, err := p.client.InsertTx(ctx, tx, taskArgs{AssetID: a.ID, Task: name, TxID: txid, Priority: priority},
		&river.InsertOpts{Queue: queue, MaxAttempts: t.MaxAttempts, Priority: priority})
	if err != nil {
		return false, fmt.Errorf("pipeline: enqueue %s: %w", name, err)
	}
	if _, err := catalog.QueueTask(ctx, tx, a.ID, name, t.Required, t.MaxAttempts, txid); err != nil {
		return false, err
	}
	p.metrics.queued.WithLabelValues(name).Inc()
	return true, nil
}

// EnqueueIngested queues the first task of a new asset, in the asset's
// own transaction (ingest.Enqueuer).
func (p *Pipeline) EnqueueIngested(ctx context.Context, tx *sql.Tx, a *catalog.Asset, priority int) error {
	_, err := p.enqueue(ctx, tx, a, analyzeName, priority, a.TxID)
	return err
}

// setState moves an asset between states and records the event; it does
// nothing when the asset is already there or deleted.
func setState(ctx context.Context, tx *sql.Tx, a *catalog.Asset, to, reason, actor, txid string) error {
	if a.State == to || a.State == catalog.StateDeleted {
		return nil
	}
	if err := catalog.SetAssetState(ctx, tx, a.ID, to, reason); err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]string{"from": a.State, "to": to, "reason": reason})
	a.State = to
	return catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "state." + to, Actor: actor,
		TxID: txid, Detail: string(detail)})
}

// Reprocess queues the named tasks of one asset (all that apply when
// names is empty, by re-running analyze). It returns the tasks queued.
func (p *Pipeline) Reprocess(ctx context.Context, assetID string, names []string, actor, txid string) ([]string, error) {
	for _, n := range names {
		if _, ok := p.tasks[n]; !ok {
			return nil, fmt.Errorf("pipeline: no task %q: %w", n, ErrUnknownTask)
		}
	}
	if len(names) == 0 {
		names = []string{analyzeName}
	}
	var queued []string
	err := p.db.InTx(ctx, func(tx *sql.Tx) error {
		a, err := catalog.GetAsset(ctx, tx, assetID)
		if err != nil {
			return err
		}
		if a.State == catalog.StateDeleted {
			return fmt.Errorf("asset %s is deleted: %w", assetID, catalog.ErrConflict)
		}
		for _, n := range names {
			ok, err := p.enqueue(ctx, tx, a, n, PriorityInteractive, txid)
			if err != nil {
				return err
			}
			if ok {
				queued = append(queued, n)
			}
		}
		if len(queued) == 0 {
			return nil
		}
		detail, _ := json.Marshal(map[string]any{"tasks": queued})
		if err := catalog.AddEvent(ctx, tx, catalog.Event{AssetID: a.ID, Type: "reprocess", Actor: actor,
			TxID: txid, Detail: string(detail)}); err != nil {
			return err
		}
		return setState(ctx, tx, a, catalog.StateProcessing, "", actor, txid)
	})
	return queued, err
}

// ErrUnknownTask is returned for a task name that is not registered.
var ErrUnknownTask = errors.New("unknown task")

// ReprocessMatching reprocesses every asset the filter selects (e.g. all
// TIFFs after a pipeline change), at bulk priority. It returns how many
// assets got at least one task queued.
func (p *Pipeline) ReprocessMatching(ctx context.Context, f catalog.AssetFilter, names []string, actor, txid string) (int, error) {
	n := 0
	f.Limit = 500
	for {
		list, err := catalog.ListAssets(ctx, p.db.Reader(), f)
		if err != nil {
			return n, err
		}
		for _, a := range list {
			q, err := p.Reprocess(ctx, a.ID, names, actor, txid)
			if err != nil {
				return n, err
			}
			if len(q) > 0 {
				n++
			}
		}
		if len(list) < f.Limit {
			return n, nil
		}
		f.Before = list[len(list)-1].Seq
	}
}

// RetryTask queues a failed (or any finished) task again.
func (p *Pipeline) RetryTask(ctx context.Context, taskID, actor, txid string) (*catalog.Task, error) {
	t, err := catalog.GetTask(ctx, p.db.Reader(), taskID)
	if err != nil {
		return nil, err
	}
	if _, err := p.Reprocess(ctx, t.AssetID, []string{t.Name}, actor, txid); err != nil {
		return nil, err
	}
	return catalog.GetTask(ctx, p.db.Writer(), taskID)
}

// Pause stops workers from starting new tasks, on every node, durably:
// the pause survives restarts. Ingest keeps accepting and storing.
func (p *Pipeline) Pause(ctx context.Context) error {
	if err := p.ensureQueues(ctx); err != nil {
		return err
	}
	if err := p.client.QueuePause(ctx, "*", nil); err != nil {
		return fmt.Errorf("pipeline: pause: %w", err)
	}
	return catalog.SetSetting(ctx, p.db.Writer(), "processing.paused", "true")
}

// Resume lets workers take tasks again.
func (p *Pipeline) Resume(ctx context.Context) error {
	if err := p.ensureQueues(ctx); err != nil {
		return err
	}
	if err := p.client.QueueResume(ctx, "*", nil); err != nil {
		return fmt.Errorf("pipeline: resume: %w", err)
	}
	return catalog.SetSetting(ctx, p.db.Writer(), "processing.paused", "false")
}

// ensureQueues creates the queue rows (River makes them when a worker
// starts) so that a pause before any worker ran still sticks.
func (p *Pipeline) ensureQueues(ctx context.Context) error {
	now := time.Now().UTC()
	for _, q := range []string{queueLight, queueHeavy, queueAlerts, queueMaintenance} {
		_, err := p.db.Writer().ExecContext(ctx, `INSERT INTO river_queue (name, created_at, metadata, updated_at)
			VALUES (?, ?, '{}', ?) ON CONFLICT (name) DO NOTHING`, q, now, now)
		if err != nil {
			return fmt.Errorf("pipeline: queues: %w", err)
		}
	}
	return nil
}

// Status is the state of processing for GET /api/v1/processing.
type Status struct {
	Paused  bool                      `json:"paused"`
	Tasks   map[string]map[string]int `json:"tasks"` // task name → state → count
	Queued  int                       `json:"queued"`
	Running int                       `json:"running"`
}

// Status reports whether processing is paused and how deep the queue is.
func (p *Pipeline) Status(ctx context.Context) (*Status, error) {
	v, err := catalog.Setting(ctx, p.db.Reader(), "processing.paused")
	if err != nil {
		return nil, err
	}
	counts, err := catalog.TaskCounts(ctx, p.db.Reader())
	if err != nil {
		return nil, err
	}
	s := &Status{Paused: v == "true", Tasks: counts}
	for _, byState := range counts {
		s.Queued += byState[catalog.TaskQueued] + byState[catalog.TaskRetrying]
		s.Running += byState[catalog.TaskRunning]
	}
	return s, nil
}

func withTx(ctx context.Context, txid string) context.Context {
	if txid == "" {
		return ctx
	}
	return logging.WithTxID(ctx, txid)
}
