package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Derivative is a file made from an asset's original.
type Derivative struct {
	AssetID       string
	Name          string
	BlobKey       string
	ContentType   string
	Width, Height int
	Size          int64
	Task          string
	CreatedAt     time.Time
}

// PutDerivative records a derivative, replacing one of the same name: a
// task that runs twice records the same row twice.
func PutDerivative(ctx context.Context, q Querier, d *Derivative) error {
	_, err := q.ExecContext(ctx, `INSERT INTO derivatives (asset_id, name, blob_key, content_type, width, height,
		size, task, created_at) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT (asset_id, name) DO UPDATE SET blob_key = excluded.blob_key,
		content_type = excluded.content_type, width = excluded.width, height = excluded.height,
		size = excluded.size, task = excluded.task, created_at = excluded.created_at`,
		d.AssetID, d.Name, d.BlobKey, d.ContentType, nullInt(d.Width), nullInt(d.Height), d.Size, d.Task,
		micros(time.Now()))
	if err != nil {
		return fmt.Errorf("catalog: put derivative: %w", err)
	}
	return nil
}

const derivCols = `asset_id, name, blob_key, content_type, width, height, size, task, created_at`

func scanDerivative(row interface{ Scan(...any) error }) (*Derivative, error) {
	var d Derivative
	var w, h sql.NullInt64
	var created int64
	if err := row.Scan(&d.AssetID, &d.Name, &d.BlobKey, &d.ContentType, &w, &h, &d.Size, &d.Task, &created); err != nil {
		return nil, err
	}
	d.Width, d.Height = int(w.Int64), int(h.Int64)
	d.CreatedAt = fromMicros(created)
	return &d, nil
}

// ListDerivatives returns an asset's derivatives by name.
func ListDerivatives(ctx context.Context, q Querier, assetID string) ([]*Derivative, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+derivCols+` FROM derivatives WHERE asset_id = ? ORDER BY name`, assetID)
	if err != nil {
		return nil, fmt.Errorf("catalog: list derivatives: %w", err)
	}
	defer rows.Close()
	var out []*Derivative
	for rows.Next() {
		d, err := scanDerivative(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list derivatives: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetDerivative returns one derivative.
func GetDerivative(ctx context.Context, q Querier, assetID, name string) (*Derivative, error) {
	d, err := scanDerivative(q.QueryRowContext(ctx, `SELECT `+derivCols+` FROM derivatives
		WHERE asset_id = ? AND name = ?`, assetID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("derivative %s of %s: %w", name, assetID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get derivative: %w", err)
	}
	return d, nil
}

// AssetInfo is what processing learns about an asset; zero fields are
// left as they are.
type AssetInfo struct {
	Width, Height   int
	DurationSeconds float64
	PageCount       int
	PRONOM          string
}

// UpdateAssetInfo records what processing learned.
func UpdateAssetInfo(ctx context.Context, q Querier, id string, in AssetInfo) error {
	_, err := q.ExecContext(ctx, `UPDATE assets SET
		width = COALESCE(?, width), height = COALESCE(?, height),
		duration_seconds = COALESCE(?, duration_seconds), page_count = COALESCE(?, page_count),
		pronom = CASE WHEN ? <> '' THEN ? ELSE pronom END, updated_at = ? WHERE id = ?`,
		nullInt(in.Width), nullInt(in.Height),
		sql.NullFloat64{Float64: in.DurationSeconds, Valid: in.DurationSeconds > 0}, nullInt(in.PageCount),
		in.PRONOM, in.PRONOM, micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: update asset info: %w", err)
	}
	return nil
}
