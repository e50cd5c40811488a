package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const tokenCols = `id, name, secret_hash, scopes, project, created_at, expires_at, revoked_at, user_id`

func scanToken(row interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var scopes string
	var created int64
	var expires, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.Name, &t.SecretHash, &scopes, &t.Project, &created, &expires, &revoked, &t.UserID); err != nil {
		return nil, err
	}
	t.Scopes = strings.Split(scopes, ",")
	t.CreatedAt = fromMicros(created)
	t.ExpiresAt, t.RevokedAt = timePtr(expires), timePtr(revoked)
	return &t, nil
}

// InsertToken stores a token (its secret already hashed).
func InsertToken(ctx context.Context, q Querier, t *Token) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		t.ID, t.Name, t.SecretHash, strings.Join(t.Scopes, ","), t.Project, micros(t.CreatedAt),
		nullMicros(t.ExpiresAt), nullMicros(t.RevokedAt), t.UserID)
	if err != nil {
		return fmt.Errorf("catalog: insert token: %w", err)
	}
	return nil
}

// TokenByHash finds a token by the hash of its secret.
func TokenByHash(ctx context.Context, q Querier, hash string) (*Token, error) {
	t, err := scanToken(q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE secret_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: token: %w", err)
	}
	return t, nil
}

// ListTokens returns every token, newest first.
func ListTokens(ctx context.Context, q Querier) ([]*Token, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("catalog: list tokens: %w", err)
	}
	defer rows.Close()
	var out []*Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a token revoked.
func RevokeToken(ctx context.Context, q Querier, id string) error {
	res, err := q.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("token %s: %w", id, ErrNotFound)
	}
	return nil
}

// CountTokens counts tokens, revoked or not.
func CountTokens(ctx context.Context, q Querier) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM tokens`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("catalog: count tokens: %w", err)
	}
	return n, nil
}

// RevokeUserTokens revokes every live token of a user.
func RevokeUserTokens(ctx context.Context, q Querier, userID string) error {
	_, err := q.ExecContext(ctx, `UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
		micros(time.Now()), userID)
	if err != nil {
		return fmt.Errorf("catalog: revoke tokens of user %s: %w", userID, err)
	}
	return nil
}
