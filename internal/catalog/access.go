package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Visibility of an asset: follow its project, or override it.
const (
	VisibilityProject = "project"
	VisibilityPublic  = "public"
	VisibilityPrivate = "private"
)

// Project is a project's access settings. A project with no row is
// private.
type Project struct {
	Name            string `json:"name"`
	Public          bool   `json:"public"`
	PublicOriginals bool   `json:"public_originals"`
	// DownloadRate bounds one download of the project's media, in bytes
	// per second (0: the server's default).
	DownloadRate int64     `json:"download_rate"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// GetProject returns the settings of name (private defaults when unset).
func GetProject(ctx context.Context, q Querier, name string) (*Project, error) {
	p := &Project{Name: name}
	var pub, orig int
	var upd int64
	err := q.QueryRowContext(ctx, `SELECT public, public_originals, download_rate, updated_at FROM projects WHERE name = ?`, name).
		Scan(&pub, &orig, &p.DownloadRate, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("project %s: %w", name, err)
	}
	p.Public, p.PublicOriginals, p.UpdatedAt = pub == 1, orig == 1, time.UnixMicro(upd).UTC()
	return p, nil
}

// PutProject stores a project's settings.
func PutProject(ctx context.Context, q Querier, p *Project) error {
	p.UpdatedAt = time.Now().UTC()
	_, err := q.ExecContext(ctx, `INSERT INTO projects (name, public, public_originals, download_rate, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET public = excluded.public, public_originals = excluded.public_originals,
		download_rate = excluded.download_rate, updated_at = excluded.updated_at`,
		p.Name, b2i(p.Public), b2i(p.PublicOriginals), p.DownloadRate, micros(p.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put project %s: %w", p.Name, err)
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AssetAccess is what deciding public access to an asset needs.
type AssetAccess struct {
	Project         string
	Visibility      string // project, public or private
	Deleted         bool
	Public          bool  // the effective answer for media
	PublicOriginals bool  // the effective answer for the original
	DownloadRate    int64 // the project's download rate (0: default)
}

// GetAssetAccess resolves an asset's visibility against its project.
func GetAssetAccess(ctx context.Context, q Querier, id string) (*AssetAccess, error) {
	a := &AssetAccess{}
	var state string
	var pub, orig, rate sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT a.project, a.visibility, a.state, p.public, p.public_originals, p.download_rate
		FROM assets a LEFT JOIN projects p ON p.name = a.project WHERE a.id = ?`, id).
		Scan(&a.Project, &a.Visibility, &state, &pub, &orig, &rate)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("asset %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("asset access %s: %w", id, err)
	}
	a.Deleted = state == StateDeleted
	a.DownloadRate = rate.Int64
	switch a.Visibility {
	case VisibilityPublic:
		a.Public = true
	case VisibilityPrivate:
	default:
		a.Public = pub.Int64 == 1
	}
	a.PublicOriginals = a.Public && orig.Int64 == 1
	return a, nil
}

// SetAssetVisibility sets an asset's override.
func SetAssetVisibility(ctx context.Context, q Querier, id, v string) error {
	res, err := q.ExecContext(ctx, `UPDATE assets SET visibility = ? WHERE id = ?`, v, id)
	if err != nil {
		return fmt.Errorf("asset visibility %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("asset %s: %w", id, ErrNotFound)
	}
	return nil
}
