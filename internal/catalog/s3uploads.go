package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// S3Upload is one direct browser-to-S3 multipart upload.
type S3Upload struct {
	UploadID    string
	Key         string // the object key stor chose
	Filename    string
	ContentType string
	Project     string
	TokenID     string
	Actor       string
	State       string // open, completed, aborted
	AssetID     string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// S3 upload states.
const (
	S3UploadOpen      = "open"
	S3UploadCompleted = "completed"
	S3UploadAborted   = "aborted"
)

const s3UploadCols = `upload_id, object_key, filename, content_type, project, token_id, actor, state,
	asset_id, created_at, updated_at`

func scanS3Upload(row interface{ Scan(...any) error }) (*S3Upload, error) {
	var (
		u                S3Upload
		asset            sql.NullString
		created, updated int64
	)
	if err := row.Scan(&u.UploadID, &u.Key, &u.Filename, &u.ContentType, &u.Project, &u.TokenID, &u.Actor,
		&u.State, &asset, &created, &updated); err != nil {
		return nil, err
	}
	u.AssetID = asset.String
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &u, nil
}

// InsertS3Upload records a new open upload.
func InsertS3Upload(ctx context.Context, q Querier, u *S3Upload) error {
	now := time.Now().UTC()
	u.CreatedAt, u.UpdatedAt, u.State = now, now, S3UploadOpen
	_, err := q.ExecContext(ctx, `INSERT INTO s3_uploads (upload_id, object_key, filename, content_type, project,
		token_id, actor, state, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		u.UploadID, u.Key, u.Filename, u.ContentType, u.Project, u.TokenID, u.Actor, u.State, micros(now), micros(now))
	if err != nil {
		return fmt.Errorf("catalog: insert s3 upload: %w", err)
	}
	return nil
}

// GetS3Upload returns one upload, or ErrNotFound.
func GetS3Upload(ctx context.Context, q Querier, uploadID string) (*S3Upload, error) {
	u, err := scanS3Upload(q.QueryRowContext(ctx, `SELECT `+s3UploadCols+` FROM s3_uploads WHERE upload_id = ?`, uploadID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("s3 upload %s: %w", uploadID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: s3 upload: %w", err)
	}
	return u, nil
}

// FinishS3Upload moves an open upload to state (completed with assetID,
// or aborted). It reports false when the upload was no longer open.
func FinishS3Upload(ctx context.Context, q Querier, uploadID, state, assetID string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE s3_uploads SET state = ?, asset_id = NULLIF(CAST(? AS TEXT), ''), updated_at = ?
		WHERE upload_id = ? AND state = 'open'`, state, assetID, micros(time.Now()), uploadID)
	if err != nil {
		return false, fmt.Errorf("catalog: finish s3 upload: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// StaleS3Uploads lists open uploads created before t.
func StaleS3Uploads(ctx context.Context, q Querier, before time.Time) ([]*S3Upload, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+s3UploadCols+` FROM s3_uploads WHERE state = 'open' AND created_at < ?
		ORDER BY created_at LIMIT 1000`, micros(before))
	if err != nil {
		return nil, fmt.Errorf("catalog: stale s3 uploads: %w", err)
	}
	defer rows.Close()
	var out []*S3Upload
	for rows.Next() {
		u, err := scanS3Upload(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: stale s3 uploads: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
