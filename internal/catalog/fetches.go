package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Fetch is one download of POST /api/v1/assets/from-url.
type Fetch struct {
	AssetID           string
	URL               string
	TokenID, Actor    string
	IgnoreUnsupported bool
	ReceivedBytes     int64
	TotalBytes        int64 // 0: unknown
	StartedAt         time.Time
	UpdatedAt         time.Time
	FinishedAt        *time.Time
}

const fetchCols = `asset_id, url, token_id, actor, ignore_unsupported, received_bytes, total_bytes,
	started_at, updated_at, finished_at`

func scanFetch(row interface{ Scan(...any) error }) (*Fetch, error) {
	var (
		f                Fetch
		ignore           int
		total            sql.NullInt64
		started, updated int64
		finished         sql.NullInt64
	)
	if err := row.Scan(&f.AssetID, &f.URL, &f.TokenID, &f.Actor, &ignore, &f.ReceivedBytes, &total,
		&started, &updated, &finished); err != nil {
		return nil, err
	}
	f.IgnoreUnsupported = ignore != 0
	f.TotalBytes = total.Int64
	f.StartedAt, f.UpdatedAt = fromMicros(started), fromMicros(updated)
	f.FinishedAt = timePtr(finished)
	return &f, nil
}

// InsertFetch records a new fetch (in the transaction of its asset row).
func InsertFetch(ctx context.Context, q Querier, f *Fetch) error {
	now := time.Now().UTC()
	f.StartedAt, f.UpdatedAt = now, now
	ignore := 0
	if f.IgnoreUnsupported {
		ignore = 1
	}
	_, err := q.ExecContext(ctx, `INSERT INTO remote_fetches (asset_id, url, token_id, actor, ignore_unsupported,
		received_bytes, total_bytes, started_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)`,
		f.AssetID, f.URL, f.TokenID, f.Actor, ignore, f.ReceivedBytes,
		sql.NullInt64{Int64: f.TotalBytes, Valid: f.TotalBytes > 0}, micros(now), micros(now))
	if err != nil {
		return fmt.Errorf("catalog: insert fetch: %w", err)
	}
	return nil
}

// GetFetch returns the fetch of an asset.
func GetFetch(ctx context.Context, q Querier, assetID string) (*Fetch, error) {
	f, err := scanFetch(q.QueryRowContext(ctx, `SELECT `+fetchCols+` FROM remote_fetches WHERE asset_id = ?`, assetID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("fetch %s: %w", assetID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get fetch: %w", err)
	}
	return f, nil
}

// UnfinishedFetches lists fetches a stopped process left behind.
func UnfinishedFetches(ctx context.Context, q Querier) ([]*Fetch, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+fetchCols+` FROM remote_fetches WHERE finished_at IS NULL ORDER BY started_at`)
	if err != nil {
		return nil, fmt.Errorf("catalog: unfinished fetches: %w", err)
	}
	defer rows.Close()
	var out []*Fetch
	for rows.Next() {
		f, err := scanFetch(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: unfinished fetches: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// FetchProgress records how many bytes arrived (and the total, once known).
func FetchProgress(ctx context.Context, q Querier, assetID string, received, total int64) error {
	_, err := q.ExecContext(ctx, `UPDATE remote_fetches SET received_bytes = ?,
		total_bytes = COALESCE(?, total_bytes), updated_at = ? WHERE asset_id = ?`,
		received, sql.NullInt64{Int64: total, Valid: total > 0}, micros(time.Now()), assetID)
	if err != nil {
		return fmt.Errorf("catalog: fetch progress: %w", err)
	}
	return nil
}

// FinishFetch marks a fetch done (committed or failed).
func FinishFetch(ctx context.Context, q Querier, assetID string) error {
	now := micros(time.Now())
	_, err := q.ExecContext(ctx, `UPDATE remote_fetches SET finished_at = ?, updated_at = ? WHERE asset_id = ?`,
		now, now, assetID)
	if err != nil {
		return fmt.Errorf("catalog: finish fetch: %w", err)
	}
	return nil
}

// CompleteUploadingAsset fills in an asset row that was created in state
// uploading (a fetch from a URL) once its bytes are stored: everything the
// ingest learned replaces the placeholder. It is ErrConflict when the row
// is no longer uploading (deleted meanwhile).
func CompleteUploadingAsset(ctx context.Context, q Querier, a *Asset) error {
	now := time.Now().UTC()
	res, err := q.ExecContext(ctx, `UPDATE assets SET filename = ?, size = ?, md5 = ?, sha256 = ?, blob_key = ?,
		content_type = ?, kind = ?, format = ?, pronom = ?, state = ?, error = NULL, project = ?, updated_at = ?
		WHERE id = ? AND state = ?`,
		a.Filename, a.Size, a.MD5, a.SHA256, a.BlobKey, a.ContentType, a.Kind, a.Format, a.PRONOM, a.State,
		a.Project, micros(now), a.ID, StateUploading)
	if err != nil {
		return fmt.Errorf("catalog: complete asset: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("asset %s is no longer uploading: %w", a.ID, ErrConflict)
	}
	got, err := GetAsset(ctx, q, a.ID)
	if err != nil {
		return err
	}
	*a = *got
	return nil
}

// FailUploadingAsset moves an asset that is still uploading to failed with
// a reason; one deleted meanwhile stays deleted (reported as false).
func FailUploadingAsset(ctx context.Context, q Querier, id, reason string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE assets SET state = ?, error = ?, updated_at = ? WHERE id = ? AND state = ?`,
		StateFailed, reason, micros(time.Now()), id, StateUploading)
	if err != nil {
		return false, fmt.Errorf("catalog: fail asset: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
