package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Fixity outcomes of one check, and statuses of an asset.
const (
	FixityOK        = "ok"
	FixityFailed    = "failed"
	FixityMissing   = "missing"
	FixityUnchecked = "unchecked"
)

// FixityCheck is one re-read and re-hash of one copy of one object.
type FixityCheck struct {
	Seq       int64
	AssetID   string
	Object    string // "original" or "derivative:NAME"
	BlobKey   string
	Copy      string // "primary" or a replica's name
	Algorithm string
	Expected  string
	Actual    string
	Outcome   string // ok, failed, missing
	Bytes     int64
	Duration  time.Duration
	Error     string
	TxID      string
	CheckedAt time.Time
}

// FixityStatus is an asset's fixity: Status "unchecked" (never audited,
// CheckedAt zero), "ok" or "failed".
type FixityStatus struct {
	AssetID   string
	Status    string
	CheckedAt time.Time
	FailedAt  *time.Time
	Reason    string
}

// AddFixityCheck records one check.
func AddFixityCheck(ctx context.Context, q Querier, c *FixityCheck) error {
	if c.CheckedAt.IsZero() {
		c.CheckedAt = time.Now()
	}
	err := q.QueryRowContext(ctx, `INSERT INTO fixity_checks (asset_id, object, blob_key, copy, algorithm,
		expected, actual, outcome, bytes, duration_us, error, txid, checked_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
		RETURNING seq`,
		c.AssetID, c.Object, c.BlobKey, c.Copy, c.Algorithm, c.Expected, c.Actual, c.Outcome, c.Bytes,
		c.Duration.Microseconds(), nullStr(c.Error), c.TxID, micros(c.CheckedAt)).Scan(&c.Seq)
	if err != nil {
		return fmt.Errorf("catalog: add fixity check: %w", err)
	}
	return nil
}

// FixityCheckFilter selects checks; zero fields do not filter.
type FixityCheckFilter struct {
	AssetID string
	Outcome string
	// NotOK selects failed and missing checks.
	NotOK bool
	Limit int
}

// ListFixityChecks returns checks newest first.
func ListFixityChecks(ctx context.Context, q Querier, f FixityCheckFilter) ([]FixityCheck, error) {
	where, args := []string{"1=1"}, []any{}
	if f.AssetID != "" {
		where, args = append(where, "asset_id = ?"), append(args, f.AssetID)
	}
	if f.Outcome != "" {
		where, args = append(where, "outcome = ?"), append(args, f.Outcome)
	}
	if f.NotOK {
		where, args = append(where, "outcome <> ?"), append(args, FixityOK)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, asset_id, object, blob_key, copy, algorithm, expected, actual,
		outcome, bytes, duration_us, error, txid, checked_at FROM fixity_checks WHERE `+strings.Join(where, " AND ")+
		` ORDER BY seq DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list fixity checks: %w", err)
	}
	defer rows.Close()
	var out []FixityCheck
	for rows.Next() {
		var c FixityCheck
		var dur, at int64
		var errText sql.NullString
		if err := rows.Scan(&c.Seq, &c.AssetID, &c.Object, &c.BlobKey, &c.Copy, &c.Algorithm, &c.Expected,
			&c.Actual, &c.Outcome, &c.Bytes, &dur, &errText, &c.TxID, &at); err != nil {
			return nil, fmt.Errorf("catalog: list fixity checks: %w", err)
		}
		c.Duration, c.CheckedAt, c.Error = time.Duration(dur)*time.Microsecond, fromMicros(at), errText.String
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetFixityStatus returns an asset's fixity; one never checked is
// "unchecked".
func GetFixityStatus(ctx context.Context, q Querier, assetID string) (FixityStatus, error) {
	m, err := FixityStatuses(ctx, q, []string{assetID})
	if err != nil {
		return FixityStatus{}, err
	}
	return m[assetID], nil
}

// FixityStatuses returns the fixity of each asset id (unchecked ones too).
func FixityStatuses(ctx context.Context, q Querier, ids []string) (map[string]FixityStatus, error) {
	out := make(map[string]FixityStatus, len(ids))
	for _, id := range ids {
		out[id] = FixityStatus{AssetID: id, Status: FixityUnchecked}
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		rows, err := q.QueryContext(ctx, `SELECT asset_id, status, checked_at, failed_at, reason FROM fixity_status
			WHERE asset_id IN (?`+strings.Repeat(",?", len(chunk)-1)+`)`, anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("catalog: fixity status: %w", err)
		}
		for rows.Next() {
			var s FixityStatus
			var at int64
			var failed sql.NullInt64
			var reason sql.NullString
			if err := rows.Scan(&s.AssetID, &s.Status, &at, &failed, &reason); err != nil {
				rows.Close()
				return nil, fmt.Errorf("catalog: fixity status: %w", err)
			}
			s.CheckedAt, s.FailedAt, s.Reason = fromMicros(at), timePtr(failed), reason.String
			out[s.AssetID] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("catalog: fixity status: %w", err)
		}
	}
	return out, nil
}

// SetFixityStatus records an asset's fixity after an audit. FailedAt is
// kept from an earlier failure while the asset stays failed.
func SetFixityStatus(ctx context.Context, q Querier, s FixityStatus) error {
	var failed sql.NullInt64
	if s.Status == FixityFailed {
		failed = sql.NullInt64{Int64: micros(s.CheckedAt), Valid: true}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO fixity_status (asset_id, status, checked_at, failed_at, reason)
		VALUES (?,?,?,?,?) ON CONFLICT (asset_id) DO UPDATE SET status = excluded.status,
		checked_at = excluded.checked_at, reason = excluded.reason,
		failed_at = CASE WHEN excluded.status = 'failed' THEN COALESCE(fixity_status.failed_at, excluded.failed_at) END`,
		s.AssetID, s.Status, micros(s.CheckedAt), failed, nullStr(s.Reason))
	if err != nil {
		return fmt.Errorf("catalog: set fixity status: %w", err)
	}
	return nil
}

// FixityCounts counts live (not deleted) assets by fixity status.
func FixityCounts(ctx context.Context, q Querier) (map[string]int, error) {
	rows, err := q.QueryContext(ctx, `SELECT COALESCE(f.status, 'unchecked'), count(*) FROM assets a
		LEFT JOIN fixity_status f ON f.asset_id = a.id WHERE a.state NOT IN (?, ?) GROUP BY 1`,
		StateDeleted, StateUploading)
	if err != nil {
		return nil, fmt.Errorf("catalog: fixity counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{FixityOK: 0, FixityFailed: 0, FixityUnchecked: 0}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("catalog: fixity counts: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// AuditCandidates returns live assets least recently checked first (never
// checked first of all), after the cursor (checked_at, seq) of the last
// page.
func AuditCandidates(ctx context.Context, q Querier, afterChecked int64, afterSeq int64, limit int) ([]*Asset, []int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+prefixed("a.", assetCols)+`, COALESCE(f.checked_at, 0) FROM assets a
		LEFT JOIN fixity_status f ON f.asset_id = a.id
		WHERE a.state NOT IN (?, ?) AND (COALESCE(f.checked_at, 0), a.seq) > (?, ?)
		ORDER BY COALESCE(f.checked_at, 0), a.seq LIMIT ?`, StateDeleted, StateUploading, afterChecked, afterSeq, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: audit candidates: %w", err)
	}
	defer rows.Close()
	var out []*Asset
	var checked []int64
	for rows.Next() {
		var at int64
		a, err := scanAsset(scanExtra{rows, &at})
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: audit candidates: %w", err)
		}
		out, checked = append(out, a), append(checked, at)
	}
	return out, checked, rows.Err()
}

// LiveBytes is the total size of live assets' originals, counting shared
// (content-addressed) blobs once.
func LiveBytes(ctx context.Context, q Querier) (int64, error) {
	var n sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT CAST(sum(size) AS BIGINT) FROM (SELECT DISTINCT blob_key, size FROM assets
		WHERE state NOT IN (?, ?)) live`, StateDeleted, StateUploading).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("catalog: live bytes: %w", err)
	}
	return n.Int64, nil
}

// OldestFixityCheck is the earliest last-check time over live assets; ok
// is false when some live asset was never checked (or there are none).
func OldestFixityCheck(ctx context.Context, q Querier) (time.Time, bool, error) {
	var n, unchecked int
	var oldest sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT count(*), count(*) - count(f.checked_at), min(f.checked_at) FROM assets a
		LEFT JOIN fixity_status f ON f.asset_id = a.id WHERE a.state NOT IN (?, ?)`,
		StateDeleted, StateUploading).Scan(&n, &unchecked, &oldest)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("catalog: oldest check: %w", err)
	}
	if n == 0 || unchecked > 0 || !oldest.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(oldest.Int64), true, nil
}

// FixityBaseline returns the checksum first recorded for an object that
// has none in the catalog (a derivative).
func FixityBaseline(ctx context.Context, q Querier, key string) (sha string, size int64, at time.Time, err error) {
	var t int64
	err = q.QueryRowContext(ctx, `SELECT sha256, size, recorded_at FROM fixity_baselines WHERE blob_key = ?`, key).
		Scan(&sha, &size, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, time.Time{}, fmt.Errorf("baseline %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return "", 0, time.Time{}, fmt.Errorf("catalog: baseline: %w", err)
	}
	return sha, size, fromMicros(t), nil
}

// SetFixityBaseline records an object's checksum.
func SetFixityBaseline(ctx context.Context, q Querier, key, sha string, size int64) error {
	_, err := q.ExecContext(ctx, `INSERT INTO fixity_baselines (blob_key, sha256, size, recorded_at) VALUES (?,?,?,?)
		ON CONFLICT (blob_key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
		recorded_at = excluded.recorded_at`, key, sha, size, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("catalog: set baseline: %w", err)
	}
	return nil
}

// PurgeCandidates returns deleted, not yet purged assets deleted before t.
func PurgeCandidates(ctx context.Context, q Querier, deletedBefore time.Time, limit int) ([]*Asset, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+assetCols+` FROM assets WHERE state = ? AND purged_at IS NULL
		AND deleted_at IS NOT NULL AND deleted_at < ? ORDER BY deleted_at LIMIT ?`,
		StateDeleted, micros(deletedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: purge candidates: %w", err)
	}
	defer rows.Close()
	var out []*Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: purge candidates: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// MarkPurged records that a deleted asset's bytes were removed.
func MarkPurged(ctx context.Context, q Querier, id string, at time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE assets SET purged_at = ? WHERE id = ? AND state = ?`, micros(at), id, StateDeleted)
	if err != nil {
		return fmt.Errorf("catalog: mark purged: %w", err)
	}
	return nil
}

// PurgedAt returns when an asset was purged, nil if it was not.
func PurgedAt(ctx context.Context, q Querier, id string) (*time.Time, error) {
	var v sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT purged_at FROM assets WHERE id = ?`, id).Scan(&v); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("asset %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("catalog: purged at: %w", err)
	}
	return timePtr(v), nil
}

// CountOtherBlobRefs counts assets other than id that still need the blob:
// any not yet purged (a deleted one may still be restored within its
// retention period).
func CountOtherBlobRefs(ctx context.Context, q Querier, key, id string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM assets WHERE blob_key = ? AND id <> ? AND purged_at IS NULL`,
		key, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("catalog: count refs: %w", err)
	}
	return n, nil
}

// DeleteDerivatives removes an asset's derivative rows.
func DeleteDerivatives(ctx context.Context, q Querier, assetID string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM derivatives WHERE asset_id = ?`, assetID); err != nil {
		return fmt.Errorf("catalog: delete derivatives: %w", err)
	}
	return nil
}

// scanExtra scans the asset columns and one more.
type scanExtra struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (s scanExtra) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra)...) }

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// FailedFixity lists live assets whose fixity is failed, oldest failure
// first.
func FailedFixity(ctx context.Context, q Querier, limit int) ([]FixityStatus, error) {
	rows, err := q.QueryContext(ctx, `SELECT f.asset_id, f.status, f.checked_at, f.failed_at, f.reason
		FROM fixity_status f JOIN assets a ON a.id = f.asset_id
		WHERE f.status = ? AND a.state <> ? ORDER BY f.failed_at, f.asset_id LIMIT ?`, FixityFailed, StateDeleted, limit)
	if err != nil {
		return nil, fmt.Errorf("catalog: failed fixity: %w", err)
	}
	defer rows.Close()
	var out []FixityStatus
	for rows.Next() {
		var s FixityStatus
		var at int64
		var failed sql.NullInt64
		var reason sql.NullString
		if err := rows.Scan(&s.AssetID, &s.Status, &at, &failed, &reason); err != nil {
			return nil, fmt.Errorf("catalog: failed fixity: %w", err)
		}
		s.CheckedAt, s.FailedAt, s.Reason = fromMicros(at), timePtr(failed), reason.String
		out = append(out, s)
	}
	return out, rows.Err()
}
