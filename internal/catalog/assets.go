package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const assetCols = `seq, id, filename, size, md5, sha256, blob_key, content_type, kind, format, pronom,
	state, error, project, width, height, duration_seconds, page_count, txid, created_at, updated_at, deleted_at,
	title, description, creator, rights, keywords, capture_date, camera_make, camera_model, lens,
	gps_lat, gps_lon, orientation, pronom_signature, warnings, playable_at`

func scanAsset(row interface{ Scan(...any) error }) (*Asset, error) {
	var (
		a                Asset
		errText          sql.NullString
		w, h, pages      sql.NullInt64
		dur              sql.NullFloat64
		created, updated int64
		deleted, play    sql.NullInt64
		d                descriptiveCols
	)
	err := row.Scan(&a.Seq, &a.ID, &a.Filename, &a.Size, &a.MD5, &a.SHA256, &a.BlobKey, &a.ContentType,
		&a.Kind, &a.Format, &a.PRONOM, &a.State, &errText, &a.Project, &w, &h, &dur, &pages, &a.TxID,
		&created, &updated, &deleted, &d.title, &d.description, &d.creator, &d.rights, &d.keywords,
		&d.captureDate, &d.make, &d.model, &d.lens, &d.lat, &d.lon, &d.orientation, &d.signature, &d.warnings, &play)
	if err != nil {
		return nil, err
	}
	a.Error = errText.String
	a.Width, a.Height, a.PageCount = int(w.Int64), int(h.Int64), int(pages.Int64)
	a.DurationSeconds = dur.Float64
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	a.DeletedAt = timePtr(deleted)
	a.PlayableAt = timePtr(play)
	d.fill(&a)
	return &a, nil
}

func nullInt(v int) sql.NullInt64     { return sql.NullInt64{Int64: int64(v), Valid: v != 0} }
func nullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// InsertAsset adds a new asset row; CreatedAt and UpdatedAt default to now.
func InsertAsset(ctx context.Context, q Querier, a *Asset) error {
	now := time.Now().UTC()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	a.UpdatedAt = a.CreatedAt
	err := q.QueryRowContext(ctx, `INSERT INTO assets (id, filename, size, md5, sha256, blob_key, content_type,
		kind, format, pronom, state, error, project, width, height, duration_seconds, page_count, txid,
		created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING seq`,
		a.ID, a.Filename, a.Size, a.MD5, a.SHA256, a.BlobKey, a.ContentType, a.Kind, a.Format, a.PRONOM,
		a.State, nullStr(a.Error), a.Project, nullInt(a.Width), nullInt(a.Height),
		sql.NullFloat64{Float64: a.DurationSeconds, Valid: a.DurationSeconds != 0}, nullInt(a.PageCount),
		a.TxID, micros(a.CreatedAt), micros(a.UpdatedAt)).Scan(&a.Seq)
	if err != nil {
		return fmt.Errorf("catalog: insert asset: %w", err)
	}
	return nil
}

// GetAsset returns one asset by id, deleted or not.
func GetAsset(ctx context.Context, q Querier, id string) (*Asset, error) {
	a, err := scanAsset(q.QueryRowContext(ctx, `SELECT `+assetCols+` FROM assets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("asset %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get asset: %w", err)
	}
	return a, nil
}

// SetAssetState moves an asset to state, with an error text for failed.
func SetAssetState(ctx context.Context, q Querier, id, state, errText string) error {
	now := micros(time.Now())
	var deleted sql.NullInt64
	if state == StateDeleted {
		deleted = sql.NullInt64{Int64: now, Valid: true}
	}
	res, err := q.ExecContext(ctx, `UPDATE assets SET state = ?, error = ?, updated_at = ?,
		deleted_at = COALESCE(?, deleted_at) WHERE id = ?`, state, nullStr(errText), now, deleted, id)
	if err != nil {
		return fmt.Errorf("catalog: set state: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("asset %s: %w", id, ErrNotFound)
	}
	return nil
}

// CountBlobRefs counts assets (any state) that reference a blob key.
func CountBlobRefs(ctx context.Context, q Querier, key string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM assets WHERE blob_key = ?`, key).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count refs: %w", err)
	}
	return n, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// LockAsset takes asset id's row lock until the end of tx (PostgreSQL; on
// SQLite a write transaction already excludes every other writer), so two
// tasks of one asset finishing at once decide its state one after the
// other: the second sees what the first committed.
func LockAsset(ctx context.Context, tx *sql.Tx, id string) error {
	if Dialect(tx) != "postgres" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT id FROM assets WHERE id = ? FOR UPDATE`, id); err != nil {
		return fmt.Errorf("catalog: lock asset: %w", err)
	}
	return nil
}

// SetAssetMD5 records the MD5 of an asset whose upload left it out
// (STOR_INGEST_MD5 deferred). It never replaces one already recorded and
// reports whether it set it.
func SetAssetMD5(ctx context.Context, q Querier, id, md5 string) (bool, error) {
	res, err := q.ExecContext(ctx, `UPDATE assets SET md5 = ?, updated_at = ? WHERE id = ? AND md5 = ''`,
		md5, micros(time.Now()), id)
	if err != nil {
		return false, fmt.Errorf("catalog: set md5: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("catalog: set md5: %w", err)
	}
	return n == 1, nil
}

// KnownMD5 returns the MD5 another asset with the same bytes (SHA-256)
// already has, or "".
func KnownMD5(ctx context.Context, q Querier, sha256 string) (string, error) {
	var md5 string
	err := q.QueryRowContext(ctx, `SELECT md5 FROM assets WHERE sha256 = ? AND md5 <> '' LIMIT 1`, sha256).Scan(&md5)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("catalog: known md5: %w", err)
	}
	return md5, nil
}
