package catalog

import (
	"context"
	"fmt"
	"time"
)

// AddEvent appends to an asset's history.
func AddEvent(ctx context.Context, q Querier, e Event) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := q.ExecContext(ctx, `INSERT INTO events (asset_id, type, actor, txid, detail, created_at)
		VALUES (?,?,?,?,?,?)`, e.AssetID, e.Type, e.Actor, e.TxID, e.Detail, micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("catalog: add event: %w", err)
	}
	return nil
}

// ListEvents returns an asset's history, oldest first.
func ListEvents(ctx context.Context, q Querier, assetID string) ([]Event, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, asset_id, type, actor, txid, detail, created_at
		FROM events WHERE asset_id = ? ORDER BY seq`, assetID)
	if err != nil {
		return nil, fmt.Errorf("catalog: list events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		if err := rows.Scan(&e.Seq, &e.AssetID, &e.Type, &e.Actor, &e.TxID, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("catalog: list events: %w", err)
		}
		e.CreatedAt = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
