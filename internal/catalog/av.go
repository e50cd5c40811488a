package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AVAnalysis is the stored analysis of an audio or video asset.
type AVAnalysis struct {
	AssetID    string
	Analysis   string // JSON, stor's summary
	Probe      string // JSON, ffprobe's full output
	Loudness   string // JSON, EBU R128; "" until measured
	PlayableAt *time.Time
	UpdatedAt  time.Time
}

// PutAVProbe records the probe of an asset, keeping a loudness already
// measured.
func PutAVProbe(ctx context.Context, q Querier, assetID, analysis, probe string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO av_analysis (asset_id, analysis, probe, updated_at) VALUES (?,?,?,?)
		ON CONFLICT (asset_id) DO UPDATE SET analysis = excluded.analysis, probe = excluded.probe,
		updated_at = excluded.updated_at`, assetID, analysis, probe, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("catalog: put av probe: %w", err)
	}
	return nil
}

// PutAVLoudness records the loudness measurement of an asset.
func PutAVLoudness(ctx context.Context, q Querier, assetID, loudness string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO av_analysis (asset_id, loudness, updated_at) VALUES (?,?,?)
		ON CONFLICT (asset_id) DO UPDATE SET loudness = excluded.loudness, updated_at = excluded.updated_at`,
		assetID, loudness, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("catalog: put av loudness: %w", err)
	}
	return nil
}

// SetPlayableAt records when an asset first became playable; later calls
// keep the first time.
func SetPlayableAt(ctx context.Context, q Querier, assetID string, t time.Time) error {
	_, err := q.ExecContext(ctx, `UPDATE assets SET playable_at = COALESCE(playable_at, ?) WHERE id = ?`,
		micros(t), assetID)
	if err != nil {
		return fmt.Errorf("catalog: set playable_at: %w", err)
	}
	return nil
}

// GetAVAnalysis returns what is known of an asset's audio/video: the
// analysis (fields empty when not probed yet) and when it became playable.
func GetAVAnalysis(ctx context.Context, q Querier, assetID string) (*AVAnalysis, error) {
	var (
		out                       = AVAnalysis{AssetID: assetID}
		analysis, probe, loudness sql.NullString
		updated, playable         sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT a.playable_at, v.analysis, v.probe, v.loudness, v.updated_at
		FROM assets a LEFT JOIN av_analysis v ON v.asset_id = a.id WHERE a.id = ?`, assetID).
		Scan(&playable, &analysis, &probe, &loudness, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("asset %s: %w", assetID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get av analysis: %w", err)
	}
	out.Analysis, out.Probe, out.Loudness = analysis.String, probe.String, loudness.String
	out.PlayableAt = timePtr(playable)
	if updated.Valid {
		out.UpdatedAt = fromMicros(updated.Int64)
	}
	return &out, nil
}
