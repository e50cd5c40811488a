package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Task states.
const (
	TaskQueued    = "queued"
	TaskRunning   = "running"
	TaskRetrying  = "retrying"
	TaskSucceeded = "succeeded"
	TaskFailed    = "failed"
	TaskSkipped   = "skipped"
)

// TaskDone reports whether a task state is final.
func TaskDone(state string) bool {
	return state == TaskSucceeded || state == TaskFailed || state == TaskSkipped
}

// Task is one processing step of one asset.
type Task struct {
	ID          string
	AssetID     string
	Name        string
	State       string
	Required    bool
	Attempts    int
	MaxAttempts int
	LastError   string
	Progress    *int
	TxID        string
	QueuedAt    time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	UpdatedAt   time.Time
}

const taskCols = `id, asset_id, name, state, required, attempts, max_attempts, last_error, progress, txid,
	queued_at, started_at, finished_at, updated_at`

func scanTask(row interface{ Scan(...any) error }) (*Task, error) {
	var t Task
	var lastErr sql.NullString
	var progress, started, finished sql.NullInt64
	var queued, updated int64
	err := row.Scan(&t.ID, &t.AssetID, &t.Name, &t.State, &t.Required, &t.Attempts, &t.MaxAttempts,
		&lastErr, &progress, &t.TxID, &queued, &started, &finished, &updated)
	if err != nil {
		return nil, err
	}
	t.LastError = lastErr.String
	if progress.Valid {
		p := int(progress.Int64)
		t.Progress = &p
	}
	t.QueuedAt, t.UpdatedAt = fromMicros(queued), fromMicros(updated)
	t.StartedAt, t.FinishedAt = timePtr(started), timePtr(finished)
	return &t, nil
}

// QueueTask creates or resets the task (assetID, name) to queued and
// returns its id.
func QueueTask(ctx context.Context, q Querier, assetID, name string, required bool, maxAttempts int, txid string) (string, error) {
	now := micros(time.Now())
	_, err := q.ExecContext(ctx, `INSERT INTO tasks (id, asset_id, name, state, required, attempts, max_attempts,
		txid, queued_at, updated_at) VALUES (?,?,?,?,?,0,?,?,?,?)
		ON CONFLICT (asset_id, name) DO UPDATE SET state = excluded.state, required = excluded.required,
		attempts = 0, max_attempts = excluded.max_attempts, last_error = NULL, progress = NULL,
		txid = excluded.txid, queued_at = excluded.queued_at, started_at = NULL, finished_at = NULL,
		updated_at = excluded.updated_at`,
		uuid.NewString(), assetID, name, TaskQueued, required, maxAttempts, txid, now, now)
	if err != nil {
		return "", fmt.Errorf("catalog: queue task: %w", err)
	}
	var id string
	if err := q.QueryRowContext(ctx, `SELECT id FROM tasks WHERE asset_id = ? AND name = ?`, assetID, name).Scan(&id); err != nil {
		return "", fmt.Errorf("catalog: queue task: %w", err)
	}
	return id, nil
}

// GetTask returns one task by id.
func GetTask(ctx context.Context, q Querier, id string) (*Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("task %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get task: %w", err)
	}
	return t, nil
}

// TaskByName returns the task (assetID, name).
func TaskByName(ctx context.Context, q Querier, assetID, name string) (*Task, error) {
	t, err := scanTask(q.QueryRowContext(ctx, `SELECT `+taskCols+` FROM tasks WHERE asset_id = ? AND name = ?`, assetID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("task %s of %s: %w", name, assetID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get task: %w", err)
	}
	return t, nil
}

// TaskUpdate changes a task's state; zero fields are left alone except as
// noted.
type TaskUpdate struct {
	State    string
	Attempts int    // > 0: set
	Error    string // set as last_error when State is retrying or failed
	Started  bool   // set started_at now and clear finished_at
	Finished bool   // set finished_at now
}

// UpdateTask applies u to the task (assetID, name).
func UpdateTask(ctx context.Context, q Querier, assetID, name string, u TaskUpdate) error {
	now := micros(time.Now())
	var started, finished sql.NullInt64
	if u.Started {
		started = sql.NullInt64{Int64: now, Valid: true}
	}
	if u.Finished {
		finished = sql.NullInt64{Int64: now, Valid: true}
	}
	_, err := q.ExecContext(ctx, `UPDATE tasks SET state = ?,
		attempts = CASE WHEN ? > 0 THEN ? ELSE attempts END,
		last_error = CASE WHEN ? <> '' THEN ? WHEN ? = 'succeeded' THEN NULL ELSE last_error END,
		started_at = COALESCE(?, started_at),
		finished_at = CASE WHEN ? THEN NULL ELSE COALESCE(?, finished_at) END,
		progress = CASE WHEN ? = 'succeeded' THEN 100 WHEN ? THEN NULL ELSE progress END,
		updated_at = ? WHERE asset_id = ? AND name = ?`,
		u.State, u.Attempts, u.Attempts, u.Error, u.Error, u.State, started, u.Started, finished,
		u.State, u.Started, now, assetID, name)
	if err != nil {
		return fmt.Errorf("catalog: update task: %w", err)
	}
	return nil
}

// SetTaskProgress records a running task's percent done.
func SetTaskProgress(ctx context.Context, q Querier, assetID, name string, pct int) error {
	_, err := q.ExecContext(ctx, `UPDATE tasks SET progress = ?, updated_at = ? WHERE asset_id = ? AND name = ?`,
		pct, micros(time.Now()), assetID, name)
	if err != nil {
		return fmt.Errorf("catalog: task progress: %w", err)
	}
	return nil
}

// TaskFilter selects tasks across assets.
type TaskFilter struct {
	AssetID, State, Name string
	Projects             []string // nil: all
	Limit                int
}

// ListTasks returns tasks, most recently updated first.
func ListTasks(ctx context.Context, q Querier, f TaskFilter) ([]*Task, error) {
	query := `SELECT ` + taskCols + ` FROM tasks WHERE 1=1`
	var args []any
	if f.AssetID != "" {
		query += ` AND asset_id = ?`
		args = append(args, f.AssetID)
	}
	if f.State != "" {
		query += ` AND state = ?`
		args = append(args, f.State)
	}
	if f.Name != "" {
		query += ` AND name = ?`
		args = append(args, f.Name)
	}
	if f.Projects != nil {
		if len(f.Projects) == 0 {
			return nil, nil
		}
		query += ` AND asset_id IN (SELECT id FROM assets WHERE project IN (?` + repeatArgs(len(f.Projects)) + `))`
		args = append(args, anySlice(f.Projects)...)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if f.AssetID != "" {
		query += ` ORDER BY queued_at, name LIMIT ?`
	} else {
		query += ` ORDER BY updated_at DESC LIMIT ?`
	}
	rows, err := q.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list tasks: %w", err)
	}
	defer rows.Close()
	var out []*Task
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list tasks: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TaskCounts counts tasks by name and state.
func TaskCounts(ctx context.Context, q Querier) (map[string]map[string]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, state, count(*) FROM tasks GROUP BY name, state`)
	if err != nil {
		return nil, fmt.Errorf("catalog: task counts: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var name, state string
		var n int
		if err := rows.Scan(&name, &state, &n); err != nil {
			return nil, fmt.Errorf("catalog: task counts: %w", err)
		}
		if out[name] == nil {
			out[name] = map[string]int{}
		}
		out[name][state] = n
	}
	return out, rows.Err()
}

func repeatArgs(n int) string {
	s := ""
	for i := 1; i < n; i++ {
		s += ",?"
	}
	return s
}
