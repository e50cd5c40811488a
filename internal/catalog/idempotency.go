package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ClaimIdempotencyKey records that (tokenID, key) produced assetID. It
// returns ErrConflict when the key is already taken; the caller then looks
// up the first answer with IdempotentAsset and rolls back its own work.
func ClaimIdempotencyKey(ctx context.Context, q Querier, tokenID, key, assetID string) error {
	// ON CONFLICT DO NOTHING works on SQLite and PostgreSQL alike and
	// spares us matching driver-specific unique-violation errors.
	res, err := q.ExecContext(ctx, `INSERT INTO idempotency_keys (token_id, key, asset_id, created_at)
		VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, tokenID, key, assetID, micros(time.Now()))
	if err != nil {
		return fmt.Errorf("catalog: idempotency key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("idempotency key %q: %w", key, ErrConflict)
	}
	return nil
}

// IdempotentAsset returns the asset id recorded for (tokenID, key).
func IdempotentAsset(ctx context.Context, q Querier, tokenID, key string) (string, error) {
	var id string
	err := q.QueryRowContext(ctx, `SELECT asset_id FROM idempotency_keys WHERE token_id = ? AND key = ?`,
		tokenID, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("catalog: idempotency key: %w", err)
	}
	return id, nil
}
