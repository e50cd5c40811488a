package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// User is a person who signs in with a password.
type User struct {
	ID           string
	Username     string
	PasswordHash string
	Role         string // admin, editor, viewer
	Project      string // empty: every project
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DisabledAt   *time.Time
}

const userCols = `id, username, password_hash, role, project, created_at, updated_at, disabled_at`

func scanUser(row interface{ Scan(...any) error }) (*User, error) {
	var u User
	var created, updated int64
	var disabled sql.NullInt64
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Role, &u.Project, &created, &updated, &disabled); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt, u.DisabledAt = fromMicros(created), fromMicros(updated), timePtr(disabled)
	return &u, nil
}

// InsertUser stores a new user; a taken username is ErrConflict.
func InsertUser(ctx context.Context, q Querier, u *User) error {
	now := time.Now()
	u.CreatedAt, u.UpdatedAt = now, now
	_, err := q.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		u.ID, u.Username, u.PasswordHash, u.Role, u.Project, micros(now), micros(now), nullMicros(u.DisabledAt))
	if err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("user %q exists: %w", u.Username, ErrConflict)
		}
		return fmt.Errorf("catalog: insert user: %w", err)
	}
	return nil
}

// UpdateUser stores a user's password hash, role, project and disabled time.
func UpdateUser(ctx context.Context, q Querier, u *User) error {
	u.UpdatedAt = time.Now()
	res, err := q.ExecContext(ctx, `UPDATE users SET password_hash = ?, role = ?, project = ?, updated_at = ?, disabled_at = ? WHERE id = ?`,
		u.PasswordHash, u.Role, u.Project, micros(u.UpdatedAt), nullMicros(u.DisabledAt), u.ID)
	if err != nil {
		return fmt.Errorf("catalog: update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", u.ID, ErrNotFound)
	}
	return nil
}

func oneUser(ctx context.Context, q Querier, where string, arg any) (*User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("user: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: user: %w", err)
	}
	return u, nil
}

// GetUser finds a user by id.
func GetUser(ctx context.Context, q Querier, id string) (*User, error) {
	return oneUser(ctx, q, `id = ?`, id)
}

// UserByName finds a user by username.
func UserByName(ctx context.Context, q Querier, username string) (*User, error) {
	return oneUser(ctx, q, `username = ?`, username)
}

// ListUsers returns every user by username.
func ListUsers(ctx context.Context, q Querier) ([]*User, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("catalog: list users: %w", err)
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Session is a signed-in browser.
type Session struct {
	ID         string
	SecretHash string
	UserID     string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	RevokedAt  *time.Time
	IP         string
	UserAgent  string
}

const sessionCols = `id, secret_hash, user_id, created_at, expires_at, last_seen_at, revoked_at, ip, user_agent`

func scanSession(row interface{ Scan(...any) error }) (*Session, error) {
	var s Session
	var created, expires, seen int64
	var revoked sql.NullInt64
	if err := row.Scan(&s.ID, &s.SecretHash, &s.UserID, &created, &expires, &seen, &revoked, &s.IP, &s.UserAgent); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt, s.RevokedAt = fromMicros(created), fromMicros(expires), fromMicros(seen), timePtr(revoked)
	return &s, nil
}

// InsertSession stores a new session.
func InsertSession(ctx context.Context, q Querier, s *Session) error {
	_, err := q.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?,?,?,?,?,?,?,?,?)`,
		s.ID, s.SecretHash, s.UserID, micros(s.CreatedAt), micros(s.ExpiresAt), micros(s.LastSeenAt),
		nullMicros(s.RevokedAt), s.IP, s.UserAgent)
	if err != nil {
		return fmt.Errorf("catalog: insert session: %w", err)
	}
	return nil
}

// SessionByHash finds a session by the hash of its secret.
func SessionByHash(ctx context.Context, q Querier, hash string) (*Session, error) {
	s, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE secret_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: session: %w", err)
	}
	return s, nil
}

// ListSessions returns a user's sessions, newest first (live and ended).
func ListSessions(ctx context.Context, q Querier, userID string) ([]*Session, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ? ORDER BY created_at DESC LIMIT 200`, userID)
	if err != nil {
		return nil, fmt.Errorf("catalog: list sessions: %w", err)
	}
	defer rows.Close()
	var out []*Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("catalog: list sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RevokeSession ends session id of user (any user when userID is "").
func RevokeSession(ctx context.Context, q Querier, id, userID string) error {
	query, args := `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, []any{micros(time.Now()), id}
	if userID != "" {
		query, args = query+` AND user_id = ?`, append(args, userID)
	}
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("catalog: revoke session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return nil
}

// RevokeUserSessions ends every live session of a user.
func RevokeUserSessions(ctx context.Context, q Querier, userID string) error {
	_, err := q.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
		micros(time.Now()), userID)
	if err != nil {
		return fmt.Errorf("catalog: revoke sessions of user %s: %w", userID, err)
	}
	return nil
}

// TouchSession records that a session was used.
func TouchSession(ctx context.Context, q Querier, id string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return fmt.Errorf("catalog: touch session: %w", err)
	}
	return nil
}

// AuditEntry is one line of the append-only audit log.
type AuditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	IP        string    `json:"ip"`
	RequestID string    `json:"request_id"`
	Detail    string    `json:"-"`
}

// AddAudit appends an entry.
func AddAudit(ctx context.Context, q Querier, e AuditEntry) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, ip, request_id, detail) VALUES (?,?,?,?,?,?,?)`,
		micros(e.At), e.Actor, e.Action, e.Target, e.IP, e.RequestID, e.Detail)
	if err != nil {
		return fmt.Errorf("catalog: audit: %w", err)
	}
	return nil
}

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	Actor, Action, Target string
	Before                int64 // entries with a smaller id (paging)
	Since                 time.Time
	Limit                 int
}

// ListAudit returns entries newest first.
func ListAudit(ctx context.Context, q Querier, f AuditFilter) ([]AuditEntry, error) {
	where, args := []string{"1=1"}, []any{}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		where, args = append(where, "action = ?"), append(args, f.Action)
	}
	if f.Target != "" {
		where, args = append(where, "target = ?"), append(args, f.Target)
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "at >= ?"), append(args, micros(f.Since))
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	rows, err := q.QueryContext(ctx, `SELECT id, at, actor, action, target, ip, request_id, detail FROM audit_log WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT `+fmt.Sprint(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("catalog: list audit: %w", err)
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.IP, &e.RequestID, &e.Detail); err != nil {
			return nil, fmt.Errorf("catalog: list audit: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
