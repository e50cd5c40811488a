package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting reads a durable switch; missing keys read as "".
func Setting(ctx context.Context, q Querier, key string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("catalog: setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting writes a durable switch.
func SetSetting(ctx context.Context, q Querier, key, value string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("catalog: set %s: %w", key, err)
	}
	return nil
}
