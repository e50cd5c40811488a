package catalog

import (
	"context"
	"fmt"
	"time"
)

// Node is one process working this database.
type Node struct {
	ID, Role, Host string
	PID            int
	Started, Seen  time.Time
}

// BeatNode records that n is alive now (registering it on its first beat).
func BeatNode(ctx context.Context, q Querier, n Node) error {
	now := micros(time.Now())
	_, err := q.ExecContext(ctx, `INSERT INTO nodes (id, role, host, pid, started_at, seen_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at`, n.ID, n.Role, n.Host, n.PID, micros(n.Started), now)
	if err != nil {
		return fmt.Errorf("catalog: node beat: %w", err)
	}
	return nil
}

// RemoveNode forgets a node that stopped cleanly.
func RemoveNode(ctx context.Context, q Querier, id string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM nodes WHERE id = ?`, id); err != nil {
		return fmt.Errorf("catalog: remove node: %w", err)
	}
	return nil
}

// ForgetNodesBefore removes nodes not seen since t (long dead).
func ForgetNodesBefore(ctx context.Context, q Querier, t time.Time) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM nodes WHERE seen_at < ?`, micros(t)); err != nil {
		return fmt.Errorf("catalog: forget nodes: %w", err)
	}
	return nil
}

// ListNodes lists the nodes seen since t, oldest first.
func ListNodes(ctx context.Context, q Querier, since time.Time) ([]Node, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, role, host, pid, started_at, seen_at FROM nodes
		WHERE seen_at >= ? ORDER BY started_at, id`, micros(since))
	if err != nil {
		return nil, fmt.Errorf("catalog: nodes: %w", err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		var started, seen int64
		if err := rows.Scan(&n.ID, &n.Role, &n.Host, &n.PID, &started, &seen); err != nil {
			return nil, fmt.Errorf("catalog: nodes: %w", err)
		}
		n.Started, n.Seen = fromMicros(started), fromMicros(seen)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("catalog: nodes: %w", err)
	}
	return out, nil
}
