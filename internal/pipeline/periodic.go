package pipeline

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/riverqueue/river/rivertype"
	"stor/internal/catalog"
)

// periodicArgs is one run of a Periodic.
type periodicArgs struct {
	Name string `json:"name"`
}

func (periodicArgs) Kind() string { return "stor_periodic" }

type periodicWorker struct {
	river.WorkerDefaults[periodicArgs]
	p    *Pipeline
	jobs map[string]Periodic
}

func (w *periodicWorker) Timeout(job *river.Job[periodicArgs]) time.Duration {
	if pj, ok := w.jobs[job.Args.Name]; ok {
		if pj.Timeout > 0 {
			return pj.Timeout
		}
		return pj.Interval
	}
	return time.Minute
}

func (w *periodicWorker) Work(ctx context.Context, job *river.Job[periodicArgs]) error {
	pj, ok := w.jobs[job.Args.Name]
	if !ok {
		return river.JobCancel(fmt.Errorf("no periodic job %q in this build", job.Args.Name))
	}
	start := time.Now()
	err := pj.Run(ctx)
	if err != nil {
		w.p.log.ErrorContext(ctx, "periodic job failed", "job", pj.Name, "err", err, "duration_ms", time.Since(start).Milliseconds())
		// The next scheduled run tries again; retrying this one would
		// only pile up behind it.
		return river.JobCancel(err)
	}
	w.p.log.InfoContext(ctx, "periodic job done", "job", pj.Name, "duration_ms", time.Since(start).Milliseconds())
	return nil
}

// periodicJobs registers the worker for cfg.Periodic and returns River's
// schedule for them.
func (p *Pipeline) periodicJobs(workers *river.Workers) ([]*river.PeriodicJob, error) {
	jobs := map[string]Periodic{}
	var out []*river.PeriodicJob
	for _, pj := range p.cfg.Periodic {
		if pj.Name == "" || pj.Run == nil || pj.Interval <= 0 {
			return nil, fmt.Errorf("pipeline: periodic job %q needs a name, a Run and an interval", pj.Name)
		}
		if _, dup := jobs[pj.Name]; dup {
			return nil, fmt.Errorf("pipeline: periodic job %q registered twice", pj.Name)
		}
		jobs[pj.Name] = pj
		name := pj.Name
		out = append(out, river.NewPeriodicJob(river.PeriodicInterval(pj.Interval),
			func() (river.JobArgs, *river.InsertOpts) {
				return periodicArgs{Name: name}, &river.InsertOpts{
					Queue: queueMaintenance, MaxAttempts: 1,
					// One waiting or running job per name: a slow run is
					// not joined by a queue of others.
					UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
						rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
						rivertype.JobStateRetryable, rivertype.JobStateScheduled,
					}},
				}
			}, &river.PeriodicJobOpts{ID: name}))
	}
	if len(jobs) > 0 {
		river.AddWorker(workers, &periodicWorker{p: p, jobs: jobs})
	}
	return out, nil
}

// RunPeriodicNow queues one run of the named periodic job at once (tests,
// and an operator who does not want to wait for the schedule).
func (p *Pipeline) RunPeriodicNow(ctx context.Context, name string) error {
	for _, pj := range p.cfg.Periodic {
		if pj.Name == name {
			_, err := p.client.Insert(ctx, periodicArgs{Name: name}, &river.InsertOpts{Queue: queueMaintenance, MaxAttempts: 1})
			if err != nil {
				return fmt.Errorf("pipeline: run %s: %w", name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("pipeline: no periodic job %q: %w", name, ErrUnknownTask)
}

// Alert is one alert webhook message about an asset.
type Alert struct {
	AssetID, Filename string
	// Subject names what failed: a task name, or "fixity".
	Subject string
	Error   string
	TxID    string
}

// QueueAlert queues an alert webhook delivery in tx (so it is sent if and
// only if tx commits); nothing when no alert webhook is configured.
//
// A fixity alert also sends the fixity.failed webhook event.
func (p *Pipeline) QueueAlert(ctx context.Context, tx *sql.Tx, a Alert) error {
	if a.Subject == "fixity" {
		asset, err := catalog.GetAsset(ctx, tx, a.AssetID)
		if err != nil {
			return err
		}
		if err := p.Emit(ctx, tx, catalog.EventFixityFailed, asset, map[string]any{"error": a.Error}); err != nil {
			return err
		}
	}
	if p.cfg.AlertWebhookURL == "" {
		return nil
	}
	_, err := p.client.InsertTx(ctx, tx, alertArgs{AssetID: a.AssetID, Filename: a.Filename, Task: a.Subject,
		Error: a.Error, TxID: a.TxID, Required: true}, &river.InsertOpts{Queue: queueAlerts, MaxAttempts: 10})
	if err != nil {
		return fmt.Errorf("pipeline: queue alert: %w", err)
	}
	return nil
}
