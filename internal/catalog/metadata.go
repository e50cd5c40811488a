package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Descriptive holds the normalised descriptive fields of an asset (from
// EXIF, IPTC, XMP and container metadata). Zero values mean "not known".
type Descriptive struct {
	Title, Description, Creator, Rights string
	Keywords                            []string
	// CaptureDate is RFC 3339 as written: with its offset when the zone is
	// known ("2021-06-15T14:30:00+02:00"), without one when it is not
	// ("2021-06-15T14:30:00", a wall-clock reading).
	CaptureDate                   string
	CameraMake, CameraModel, Lens string
	GPSLat, GPSLon                *float64
	Orientation                   int
}

// Warning is one warning about an asset's file, by the task that found it.
type Warning struct {
	Source  string `json:"source"` // the task: "identify", "metadata", "text"
	Message string `json:"message"`
}

// descriptiveCols scans the columns of migration 0004.
type descriptiveCols struct {
	title, description, creator, rights, keywords, captureDate sql.NullString
	make, model, lens, signature, warnings                     sql.NullString
	lat, lon                                                   sql.NullFloat64
	orientation                                                sql.NullInt64
}

func (d *descriptiveCols) fill(a *Asset) {
	m := &a.Meta
	m.Title, m.Description, m.Creator, m.Rights = d.title.String, d.description.String, d.creator.String, d.rights.String
	if d.keywords.Valid {
		_ = json.Unmarshal([]byte(d.keywords.String), &m.Keywords)
	}
	m.CaptureDate = d.captureDate.String
	m.CameraMake, m.CameraModel, m.Lens = d.make.String, d.model.String, d.lens.String
	if d.lat.Valid && d.lon.Valid {
		lat, lon := d.lat.Float64, d.lon.Float64
		m.GPSLat, m.GPSLon = &lat, &lon
	}
	m.Orientation = int(d.orientation.Int64)
	a.PRONOMSignature = d.signature.String
	a.Warnings = parseWarnings(d.warnings.String)
}

// parseWarnings turns {"task": ["msg", ...]} into a list ordered by task.
func parseWarnings(s string) []Warning {
	if s == "" {
		return nil
	}
	var byTask map[string][]string
	if err := json.Unmarshal([]byte(s), &byTask); err != nil {
		return nil
	}
	tasks := make([]string, 0, len(byTask))
	for t := range byTask {
		tasks = append(tasks, t)
	}
	sort.Strings(tasks)
	var out []Warning
	for _, t := range tasks {
		for _, m := range byTask[t] {
			out = append(out, Warning{Source: t, Message: m})
		}
	}
	return out
}

func nullFloat(p *float64) sql.NullFloat64 {
	if p == nil {
		return sql.NullFloat64{}
	}
	return sql.NullFloat64{Float64: *p, Valid: true}
}

// SetDescriptive records the normalised fields of an asset, replacing the
// earlier ones (a re-run of the metadata task writes the same values).
// Values a person edited (EditAsset) win over d's.
func SetDescriptive(ctx context.Context, q Querier, id string, d Descriptive) error {
	if err := applyEdits(ctx, q, id, &d); err != nil {
		return err
	}
	var kw sql.NullString
	if len(d.Keywords) > 0 {
		b, err := json.Marshal(d.Keywords)
		if err != nil {
			return fmt.Errorf("catalog: keywords: %w", err)
		}
		kw = sql.NullString{String: string(b), Valid: true}
	}
	lat, lon := nullFloat(d.GPSLat), nullFloat(d.GPSLon)
	if !lat.Valid || !lon.Valid {
		lat, lon = sql.NullFloat64{}, sql.NullFloat64{}
	}
	_, err := q.ExecContext(ctx, `UPDATE assets SET title = ?, description = ?, creator = ?, rights = ?,
		keywords = ?, capture_date = ?, camera_make = ?, camera_model = ?, lens = ?, gps_lat = ?, gps_lon = ?,
		orientation = ?, updated_at = ? WHERE id = ?`,
		nullStr(d.Title), nullStr(d.Description), nullStr(d.Creator), nullStr(d.Rights), kw,
		nullStr(d.CaptureDate), nullStr(d.CameraMake), nullStr(d.CameraModel), nullStr(d.Lens), lat, lon,
		nullInt(d.Orientation), micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: set descriptive fields: %w", err)
	}
	return nil
}

// FillAssetInfo records dimensions, duration and page count only where the
// asset has none yet: tasks that know better (the image tasks decode the
// pixels) set them with UpdateAssetInfo and are never overridden by this.
func FillAssetInfo(ctx context.Context, q Querier, id string, in AssetInfo) error {
	_, err := q.ExecContext(ctx, `UPDATE assets SET
		width = CASE WHEN width IS NULL AND height IS NULL THEN ? ELSE width END,
		height = CASE WHEN width IS NULL AND height IS NULL THEN ? ELSE height END,
		duration_seconds = COALESCE(duration_seconds, ?), page_count = COALESCE(page_count, ?),
		updated_at = ? WHERE id = ?`,
		nullInt(in.Width), nullInt(in.Height),
		sql.NullFloat64{Float64: in.DurationSeconds, Valid: in.DurationSeconds > 0}, nullInt(in.PageCount),
		micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: fill asset info: %w", err)
	}
	return nil
}

// SetIdentification records a PRONOM identification: the PUID (assets.pronom),
// the signature file it came from, and the identifier's answer as JSON.
func SetIdentification(ctx context.Context, q Querier, id, puid, signature, detail string) error {
	_, err := q.ExecContext(ctx, `UPDATE assets SET pronom = ?, pronom_signature = ?, pronom_detail = ?,
		updated_at = ? WHERE id = ?`, puid, nullStr(signature), nullStr(detail), micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: set identification: %w", err)
	}
	return nil
}

// Identification returns the PRONOM answer stored by SetIdentification
// (JSON), or "" when the asset was not identified yet.
func Identification(ctx context.Context, q Querier, id string) (string, error) {
	var detail sql.NullString
	err := q.QueryRowContext(ctx, `SELECT pronom_detail FROM assets WHERE id = ?`, id).Scan(&detail)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("asset %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("catalog: identification: %w", err)
	}
	return detail.String, nil
}

// SetWarnings replaces the warnings that source (a task name) recorded on
// an asset; none removes them. Other sources' warnings are kept.
func SetWarnings(ctx context.Context, q Querier, id, source string, msgs []string) error {
	var err error
	pg := Dialect(q) == "postgres"
	switch {
	case len(msgs) == 0 && pg:
		_, err = q.ExecContext(ctx, `UPDATE assets SET warnings = (warnings::jsonb - ?::text)::text
			WHERE id = ? AND warnings IS NOT NULL`, source, id)
	case len(msgs) == 0:
		_, err = q.ExecContext(ctx, `UPDATE assets SET warnings = json_remove(warnings, '$.' || json_quote(?))
			WHERE id = ? AND warnings IS NOT NULL`, source, id)
	default:
		b, merr := json.Marshal(msgs)
		if merr != nil {
			return fmt.Errorf("catalog: warnings: %w", merr)
		}
		if pg {
			_, err = q.ExecContext(ctx, `UPDATE assets SET warnings = (COALESCE(warnings, '{}')::jsonb ||
				jsonb_build_object(?::text, ?::jsonb))::text WHERE id = ?`, source, string(b), id)
		} else {
			_, err = q.ExecContext(ctx, `UPDATE assets SET warnings = json_set(COALESCE(warnings, '{}'),
				'$.' || json_quote(?), json(?)) WHERE id = ?`, source, string(b), id)
		}
	}
	if err != nil {
		return fmt.Errorf("catalog: set warnings: %w", err)
	}
	return nil
}

// AssetMetadata is the full metadata dump of one asset.
type AssetMetadata struct {
	AssetID     string
	Groups      json.RawMessage // {"exif": {"IFD0:Make": {"raw": ..., "display": "..."}}, ...}
	Normalized  json.RawMessage
	Warnings    []string
	Error       string
	ExtractedAt time.Time
}

// PutMetadata stores (replaces) an asset's metadata dump.
func PutMetadata(ctx context.Context, q Querier, m *AssetMetadata) error {
	w := m.Warnings
	if w == nil {
		w = []string{}
	}
	wj, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("catalog: metadata warnings: %w", err)
	}
	if m.ExtractedAt.IsZero() {
		m.ExtractedAt = time.Now()
	}
	_, err = q.ExecContext(ctx, `INSERT INTO asset_metadata (asset_id, groups, normalized, warnings, error, extracted_at)
		VALUES (?,?,?,?,?,?) ON CONFLICT (asset_id) DO UPDATE SET groups = excluded.groups,
		normalized = excluded.normalized, warnings = excluded.warnings, error = excluded.error,
		extracted_at = excluded.extracted_at`,
		m.AssetID, string(m.Groups), string(m.Normalized), string(wj), m.Error, micros(m.ExtractedAt))
	if err != nil {
		return fmt.Errorf("catalog: put metadata: %w", err)
	}
	return nil
}

// GetMetadata returns an asset's metadata dump (ErrNotFound before the
// metadata task stored one).
func GetMetadata(ctx context.Context, q Querier, assetID string) (*AssetMetadata, error) {
	var (
		m                           AssetMetadata
		groups, normalized, warnRaw string
		at                          int64
	)
	err := q.QueryRowContext(ctx, `SELECT asset_id, groups, normalized, warnings, error, extracted_at
		FROM asset_metadata WHERE asset_id = ?`, assetID).Scan(&m.AssetID, &groups, &normalized, &warnRaw, &m.Error, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("metadata of %s: %w", assetID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get metadata: %w", err)
	}
	m.Groups, m.Normalized = json.RawMessage(groups), json.RawMessage(normalized)
	_ = json.Unmarshal([]byte(warnRaw), &m.Warnings)
	m.ExtractedAt = fromMicros(at)
	return &m, nil
}

// Text sources.
const (
	TextLayer = "text-layer"
	TextOCR   = "ocr"
)

// TextPage is the text of one page of an asset.
type TextPage struct {
	Page   int    `json:"page"`
	Source string `json:"source"`
	Text   string `json:"text"`
}

// ReplaceText replaces all of an asset's text with pages. Run it in a
// transaction (DB.InTx) so readers never see half of it.
func ReplaceText(ctx context.Context, q Querier, assetID string, pages []TextPage) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM asset_text WHERE asset_id = ?`, assetID); err != nil {
		return fmt.Errorf("catalog: replace text: %w", err)
	}
	for _, p := range pages {
		if _, err := q.ExecContext(ctx, `INSERT INTO asset_text (asset_id, page, source, text) VALUES (?,?,?,?)`,
			assetID, p.Page, p.Source, p.Text); err != nil {
			return fmt.Errorf("catalog: replace text: %w", err)
		}
	}
	return reindexSearch(ctx, q, assetID)
}

// ListText returns an asset's text by page (none before the text task ran,
// or when it does not apply).
func ListText(ctx context.Context, q Querier, assetID string) ([]TextPage, error) {
	rows, err := q.QueryContext(ctx, `SELECT page, source, text FROM asset_text WHERE asset_id = ? ORDER BY page`, assetID)
	if err != nil {
		return nil, fmt.Errorf("catalog: list text: %w", err)
	}
	defer rows.Close()
	var out []TextPage
	for rows.Next() {
		var p TextPage
		if err := rows.Scan(&p.Page, &p.Source, &p.Text); err != nil {
			return nil, fmt.Errorf("catalog: list text: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
