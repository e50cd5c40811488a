package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Collection is a named, ordered group of assets; collections nest by
// ParentID and an asset may sit in several.
type Collection struct {
	ID, Name, Project string
	ParentID          string // "" at the top
	CreatedAt         time.Time
	UpdatedAt         time.Time
	MemberCount       int
}

const collectionCols = `c.id, c.name, c.project, c.parent_id, c.created_at, c.updated_at,
	(SELECT count(*) FROM collection_members m WHERE m.collection_id = c.id)`

func scanCollection(row interface{ Scan(...any) error }) (*Collection, error) {
	var c Collection
	var parent sql.NullString
	var created, updated int64
	if err := row.Scan(&c.ID, &c.Name, &c.Project, &parent, &created, &updated, &c.MemberCount); err != nil {
		return nil, err
	}
	c.ParentID = parent.String
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &c, nil
}

// CreateCollection adds c (its ID chosen by the caller).
func CreateCollection(ctx context.Context, q Querier, c *Collection) error {
	if c.ParentID != "" {
		if _, err := GetCollection(ctx, q, c.ParentID); err != nil {
			return fmt.Errorf("parent: %w", err)
		}
	}
	now := time.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	_, err := q.ExecContext(ctx, `INSERT INTO collections (id, name, project, parent_id, created_at, updated_at)
		VALUES (?,?,?,?,?,?)`, c.ID, c.Name, c.Project, nullStr(c.ParentID), micros(now), micros(now))
	if err != nil {
		return fmt.Errorf("catalog: create collection: %w", err)
	}
	return nil
}

// GetCollection returns one collection.
func GetCollection(ctx context.Context, q Querier, id string) (*Collection, error) {
	c, err := scanCollection(q.QueryRowContext(ctx, `SELECT `+collectionCols+` FROM collections c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("collection %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: get collection: %w", err)
	}
	return c, nil
}

// ListCollections returns the collections under parent ("" for the top
// level, "*" for all), limited to projects when not nil, by name.
func ListCollections(ctx context.Context, q Querier, parent string, projects []string) ([]*Collection, error) {
	query := `SELECT ` + collectionCols + ` FROM collections c WHERE `
	var args []any
	switch parent {
	case "*":
		query += "1"
	case "":
		query += "c.parent_id IS NULL"
	default:
		query += "c.parent_id = ?"
		args = append(args, parent)
	}
	if projects != nil {
		query += " AND c.project IN (''"
		for _, p := range projects {
			query += ",?"
			args = append(args, p)
		}
		query += ")"
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY c.name, c.id", args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list collections: %w", err)
	}
	defer rows.Close()
	out := []*Collection{}
	for rows.Next() {
		c, err := scanCollection(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list collections: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateCollection renames and/or moves a collection (nil leaves a field
// as it is; a parent of "" moves it to the top). A move under itself or
// one of its descendants is ErrInvalid.
func UpdateCollection(ctx context.Context, q Querier, id string, name, parent *string) (*Collection, error) {
	c, err := GetCollection(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if name != nil {
		c.Name = *name
	}
	if parent != nil {
		for p := *parent; p != ""; {
			if p == id {
				return nil, &FieldError{Field: "parent_id", Reason: "a collection cannot sit inside itself"}
			}
			pc, err := GetCollection(ctx, q, p)
			if err != nil {
				return nil, fmt.Errorf("parent: %w", err)
			}
			p = pc.ParentID
		}
		c.ParentID = *parent
	}
	c.UpdatedAt = time.Now().UTC()
	if _, err := q.ExecContext(ctx, `UPDATE collections SET name = ?, parent_id = ?, updated_at = ? WHERE id = ?`,
		c.Name, nullStr(c.ParentID), micros(c.UpdatedAt), id); err != nil {
		return nil, fmt.Errorf("catalog: update collection: %w", err)
	}
	return c, nil
}

// DeleteCollection removes a collection and its memberships (not the
// assets); its children move to the top level.
func DeleteCollection(ctx context.Context, q Querier, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM collections WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("catalog: delete collection: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("collection %s: %w", id, ErrNotFound)
	}
	return nil
}

// SetMembers replaces a collection's members with ids, in that order.
func SetMembers(ctx context.Context, q Querier, id string, ids []string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM collection_members WHERE collection_id = ?`, id); err != nil {
		return fmt.Errorf("catalog: set members: %w", err)
	}
	for i, a := range ids {
		if _, err := q.ExecContext(ctx, `INSERT INTO collection_members (collection_id, asset_id, position) VALUES (?,?,?)`,
			id, a, i); err != nil {
			return fmt.Errorf("catalog: set members: %w", err)
		}
	}
	_, err := q.ExecContext(ctx, `UPDATE collections SET updated_at = ? WHERE id = ?`, micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: set members: %w", err)
	}
	return nil
}

// Members returns a collection's live assets in order.
func Members(ctx context.Context, q Querier, id string) ([]*Asset, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+prefixed("assets.", assetCols)+` FROM collection_members m
		JOIN assets ON assets.id = m.asset_id WHERE m.collection_id = ? AND assets.state <> ? ORDER BY m.position`, id, StateDeleted)
	if err != nil {
		return nil, fmt.Errorf("catalog: members: %w", err)
	}
	defer rows.Close()
	var out []*Asset
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: members: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
