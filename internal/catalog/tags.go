package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// NormalizeTags trims tags and drops empty ones and duplicates (any case).
func NormalizeTags(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || seen[strings.ToLower(t)] {
			continue
		}
		seen[strings.ToLower(t)] = true
		out = append(out, t)
	}
	return out
}

// ChangeTags adds and removes tags on one asset and reports which were
// actually added and removed (the search index follows by trigger).
func ChangeTags(ctx context.Context, q Querier, assetID string, add, remove []string) (added, removed []string, err error) {
	for _, t := range NormalizeTags(remove) {
		res, err := q.ExecContext(ctx, `DELETE FROM asset_tags WHERE asset_id = ? AND tag = ?`, assetID, t)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: remove tag: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			removed = append(removed, t)
		}
	}
	for _, t := range NormalizeTags(add) {
		res, err := q.ExecContext(ctx, `INSERT INTO asset_tags (asset_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING`, assetID, t)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: add tag: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = append(added, t)
		}
	}
	return added, removed, nil
}

// TagsOf returns the tags of each asset, sorted.
func TagsOf(ctx context.Context, q Querier, ids []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT asset_id, tag FROM asset_tags WHERE asset_id IN (?`+
		strings.Repeat(",?", len(ids)-1)+`)`, anySlice(ids)...)
	if err != nil {
		return nil, fmt.Errorf("catalog: tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, t string
		if err := rows.Scan(&id, &t); err != nil {
			return nil, fmt.Errorf("catalog: tags: %w", err)
		}
		out[id] = append(out[id], t)
	}
	for _, ts := range out {
		sort.Strings(ts)
	}
	return out, rows.Err()
}
