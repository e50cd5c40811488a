package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"stor/internal/catalog"
)

const analyzeName = "analyze"

// analyzeTask is the first task of every asset: it decides which of the
// registered tasks apply and queues them. Later features extend what it
// learns (identification, metadata) by adding tasks, not by editing it.
func (p *Pipeline) analyzeTask() Task {
	return Task{
		Name: analyzeName, Required: true, Class: Light, Timeout: time.Minute, MaxAttempts: 5,
		Applies: func(*catalog.Asset) bool { return true },
		Run: func(ctx context.Context, tc *TaskContext) error {
			// The stored original must be there and whole before anything
			// is derived from it.
			obj, err := p.store.Stat(ctx, tc.Asset.BlobKey)
			if err != nil {
				return fmt.Errorf("original: %w", err)
			}
			if obj.Size != tc.Asset.Size {
				return Permanentf("stored original is %d bytes, expected %d", obj.Size, tc.Asset.Size)
			}
			// The next tasks are queued in the transaction that completes
			// this job: a process killed after queueing them but before the
			// completion would otherwise run analyze again and queue (and
			// run) every task of the asset a second time.
			tc.onSuccess = append(tc.onSuccess, func(ctx context.Context, tx *sql.Tx) error {
				for _, name := range p.order {
					t := p.tasks[name]
					if name == analyzeName || t.Applies == nil || !t.Applies(tc.Asset) {
						continue
					}
					if _, err := p.enqueue(ctx, tx, tc.Asset, name, tc.priority, tc.txid); err != nil {
						return err
					}
				}
				return nil
			})
			return nil
		},
	}
}

type taskWorker struct {
	river.WorkerDefaults[taskArgs]
	p *Pipeline
}

func (w *taskWorker) Timeout(job *river.Job[taskArgs]) time.Duration {
	t, ok := w.p.tasks[job.Args.Task]
	if !ok {
		return time.Minute
	}
	// The asset is needed for per-asset timeouts; a cheap read.
	a, err := catalog.GetAsset(context.Background(), w.p.db.Reader(), job.Args.AssetID)
	if err != nil {
		return t.timeout(nil)
	}
	return t.timeout(a)
}

func (w *taskWorker) Work(ctx context.Context, job *river.Job[taskArgs]) error {
	p := w.p
	args := job.Args
	ctx = withTx(ctx, args.TxID)
	log := p.log.With("asset_id", args.AssetID, "task", args.Task, "attempt", job.Attempt)
	t, ok := p.tasks[args.Task]
	if !ok {
		return river.JobCancel(fmt.Errorf("no task %q in this build", args.Task))
	}
	a, err := catalog.GetAsset(ctx, p.db.Writer(), args.AssetID)
	if errors.Is(err, catalog.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if a.State == catalog.StateDeleted {
		return catalog.UpdateTask(ctx, p.db.Writer(), a.ID, t.Name, catalog.TaskUpdate{State: catalog.TaskSkipped, Finished: true})
	}
	for _, dep := range t.After {
		d, err := catalog.TaskByName(ctx, p.db.Reader(), a.ID, dep)
		if errors.Is(err, catalog.ErrNotFound) {
			continue // does not apply to this asset
		}
		if err != nil {
			return err
		}
		if !catalog.TaskDone(d.State) {
			log.DebugContext(ctx, "waiting for an earlier task", "after", dep)
			return river.JobSnooze(time.Second)
		}
	}
	if t.Yield != nil && time.Since(job.CreatedAt) < t.yieldMax() && t.Yield(ctx, p.db.Reader(), a) {
		log.DebugContext(ctx, "yielding to other work on the asset")
		return river.JobSnooze(time.Second)
	}
	if t.Class == Heavy {
		load, free := p.load()
		busy := p.cfg.MaxLoadPerCPU > 0 && load > p.cfg.MaxLoadPerCPU
		short := free < p.cfg.MinFreeMemory
		since, _ := p.waiting.LoadOrStore(job.ID, time.Now())
		// Memory short: always wait (running could get the process killed).
		// CPU busy: wait, but at most MaxAdmissionWait.
		if short || (busy && time.Since(since.(time.Time)) < p.cfg.MaxAdmissionWait) {
			log.InfoContext(ctx, "machine busy; heavy task waits", "load_per_cpu", load, "free_memory", free)
			p.metrics.snoozed.WithLabelValues(t.Name).Inc()
			return river.JobSnooze(5 * time.Second)
		}
		p.waiting.Delete(job.ID)
	}

	err = p.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := catalog.UpdateTask(ctx, tx, a.ID, t.Name, catalog.TaskUpdate{
			State: catalog.TaskRunning, Attempts: job.Attempt, Started: true}); err != nil {
			return err
		}
		// Only a fresh asset moves to processing here: reprocess and retry
		// set it themselves, and an optional task finishing late must not
		// flip a ready asset back and forth.
		if a.State == catalog.StateStored {
			return setState(ctx, tx, a, catalog.StateProcessing, "", "system", args.TxID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "task started")
	p.metrics.started.WithLabelValues(t.Name).Inc()
	start := time.Now()

	tc := &TaskContext{Asset: a, Attempt: job.Attempt, Log: log, p: p, task: t,
		priority: args.Priority, txid: args.TxID}
	runErr := runSafely(ctx, t, tc)
	tc.cleanup()
	elapsed := time.Since(start)
	p.metrics.duration.WithLabelValues(t.Name).Observe(elapsed.Seconds())

	if runErr == nil {
		p.metrics.succeeded.WithLabelValues(t.Name).Inc()
		log.InfoContext(ctx, "task succeeded", "duration_ms", elapsed.Milliseconds())
		return p.finish(ctx, a.ID, t, catalog.TaskSucceeded, "", elapsed, args.TxID, job, tc.onSuccess...)
	}
	if p.draining.Load() && errors.Is(ctx.Err(), context.Canceled) {
		// A shutdown cut this attempt short: back to the queue, at once,
		// without using an attempt; another process (or this one when it
		// starts again) runs it.
		p.metrics.drained.Inc()
		log.WarnContext(ctx, "task cancelled by shutdown; requeued", "duration_ms", elapsed.Milliseconds())
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := catalog.UpdateTask(uctx, p.db.Writer(), a.ID, t.Name, catalog.TaskUpdate{
			State: catalog.TaskQueued, Error: "cancelled by shutdown; requeued"}); err != nil {
			log.ErrorContext(ctx, "recording requeue", "err", err)
		}
		return river.JobSnooze(0)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		runErr = fmt.Errorf("timed out after %s: %w", t.timeout(a), runErr)
	}
	permanent := IsPermanent(runErr)
	final := permanent || job.Attempt >= job.MaxAttempts
	if !final {
		p.metrics.retried.WithLabelValues(t.Name).Inc()
		log.WarnContext(ctx, "task failed; will retry", "err", runErr, "duration_ms", elapsed.Milliseconds())
		if err := catalog.UpdateTask(ctx, p.db.Writer(), a.ID, t.Name, catalog.TaskUpdate{
			State: catalog.TaskRetrying, Error: runErr.Error()}); err != nil {
			log.ErrorContext(ctx, "recording retry", "err", err)
		}
		return runErr
	}
	p.metrics.failed.WithLabelValues(t.Name).Inc()
	log.ErrorContext(ctx, "task failed for good", "err", runErr, "permanent", permanent)
	if err := p.finish(ctx, a.ID, t, catalog.TaskFailed, runErr.Error(), elapsed, args.TxID, nil); err != nil {
		return err // retried: the failure is recorded next time
	}
	return river.JobCancel(runErr)
}

// runSafely turns a panic in a task into a permanent error.
func runSafely(ctx context.Context, t *Task, tc *TaskContext) (err error) {
	defer func() {
		if v := recover(); v != nil {
			tc.Log.ErrorContext(ctx, "task panicked", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = Permanentf("task panicked: %v", v)
		}
	}()
	return t.Run(ctx, tc)
}

// finish records a task's final state and, in the same transaction,
// moves the asset to ready or failed when its required tasks are all
// done, and queues the alert for a final failure.
func (p *Pipeline) finish(ctx context.Context, assetID string, t *Task, state, reason string, elapsed time.Duration, txid string, job *river.Job[taskArgs], onSuccess ...func(context.Context, *sql.Tx) error) error {
	ctx = context.WithoutCancel(ctx) // record the outcome even if the job's context ended
	return p.db.InTx(ctx, func(tx *sql.Tx) error {
		// Two tasks of the asset finishing at once on PostgreSQL would
		// each see the other done and both move it to ready: one at a time.
		if err := catalog.LockAsset(ctx, tx, assetID); err != nil {
			return err
		}
		if job != nil {
			if err := p.client.CompleteTx(ctx, tx, job); err != nil {
				return fmt.Errorf("pipeline: complete job: %w", err)
			}
		}
		for _, f := range onSuccess {
			if err := f(ctx, tx); err != nil {
				return err
			}
		}
		if err := catalog.UpdateTask(ctx, tx, assetID, t.Name, catalog.TaskUpdate{State: state, Error: reason, Finished: true}); err != nil {
			return err
		}
		detail, _ := json.Marshal(map[string]any{"task": t.Name, "duration_ms": elapsed.Milliseconds(), "error": reason})
		if err := catalog.AddEvent(ctx, tx, catalog.Event{AssetID: assetID, Type: "task." + state,
			Actor: "system", TxID: txid, Detail: string(detail)}); err != nil {
			return err
		}
		a, err := catalog.GetAsset(ctx, tx, assetID)
		if err != nil {
			return err
		}
		if state == catalog.TaskFailed && p.cfg.AlertWebhookURL != "" {
			_, err := p.client.InsertTx(ctx, tx, alertArgs{AssetID: a.ID, Filename: a.Filename, Task: t.Name,
				Error: reason, TxID: txid, Required: t.Required}, &river.InsertOpts{Queue: queueAlerts, MaxAttempts: 10})
			if err != nil {
				return fmt.Errorf("pipeline: queue alert: %w", err)
			}
		}
		tasks, err := catalog.ListTasks(ctx, tx, catalog.TaskFilter{AssetID: assetID, Limit: 1000})
		if err != nil {
			return err
		}
		var failed []string
		for _, tk := range tasks {
			if !tk.Required {
				continue
			}
			if !catalog.TaskDone(tk.State) {
				return nil // still working
			}
			if tk.State == catalog.TaskFailed {
				failed = append(failed, tk.Name+": "+tk.LastError)
			}
		}
		if a.State != catalog.StateProcessing && a.State != catalog.StateStored {
			return nil
		}
		from, to, reason := a.State, catalog.StateReady, ""
		if len(failed) > 0 {
			to, reason = catalog.StateFailed, strings.Join(failed, "; ")
		}
		if err := setState(ctx, tx, a, to, reason, "system", txid); err != nil {
			return err
		}
		return p.emitState(ctx, tx, a, from, reason)
	})
}

// alertArgs is one alert webhook delivery, retried by the queue.
type alertArgs struct {
	AssetID  string `json:"asset_id"`
	Filename string `json:"filename"`
	Task     string `json:"task"`
	Error    string `json:"error"`
	TxID     string `json:"txid"`
	Required bool   `json:"required"`
}

func (alertArgs) Kind() string { return "stor_alert" }

type alertWorker struct {
	river.WorkerDefaults[alertArgs]
	p *Pipeline
}

func (w *alertWorker) Timeout(*river.Job[alertArgs]) time.Duration { return 30 * time.Second }

// Work posts a Slack-compatible message: "text" for Slack, and the fields
// on their own for anything else that reads it.
func (w *alertWorker) Work(ctx context.Context, job *river.Job[alertArgs]) error {
	a := job.Args
	link := w.p.cfg.BaseURL + "/api/v1/assets/" + a.AssetID
	what := "task " + a.Task
	if a.Task == "fixity" {
		what = "fixity check"
	}
	body, _ := json.Marshal(map[string]any{
		"text":     fmt.Sprintf("stor: %s failed for %s (%s): %s <%s>", what, a.Filename, a.AssetID, a.Error, link),
		"asset_id": a.AssetID, "filename": a.Filename, "task": a.Task, "error": a.Error,
		"txid": a.TxID, "link": link, "attempt": job.Attempt,
	})
	req, err := http.NewRequestWithContext(ctx, "POST", w.p.cfg.AlertWebhookURL, bytes.NewReader(body))
	if err != nil {
		return river.JobCancel(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Stor-Delivery", strconv.FormatInt(job.ID, 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("alert webhook: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return fmt.Errorf("alert webhook: %s", resp.Status)
	}
	w.p.metrics.alerts.Inc()
	return nil
}

// systemLoad reads the 1-minute load average per CPU and the available
// memory from /proc.
func systemLoad() (float64, int64) {
	load := 0.0
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			load, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	free := int64(1 << 62)
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				free = kb << 10
			}
		}
	}
	return load / float64(runtime.NumCPU()), free
}
