package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Webhook events.
const (
	EventAssetReady   = "asset.ready"
	EventAssetFailed  = "asset.failed"
	EventAssetDeleted = "asset.deleted"
	EventFixityFailed = "fixity.failed"
)

// WebhookEvents are the events a subscription may name.
var WebhookEvents = []string{EventAssetReady, EventAssetFailed, EventAssetDeleted, EventFixityFailed}

// Webhook is one subscription.
type Webhook struct {
	ID        string
	URL       string
	Events    []string
	Secret    string
	CreatedAt time.Time
}

// InsertWebhook stores a subscription.
func InsertWebhook(ctx context.Context, q Querier, w *Webhook) error {
	w.CreatedAt = time.Now().UTC()
	_, err := q.ExecContext(ctx, `INSERT INTO webhooks (id, url, events, secret, created_at) VALUES (?,?,?,?,?)`,
		w.ID, w.URL, strings.Join(w.Events, ","), w.Secret, micros(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("catalog: insert webhook: %w", err)
	}
	return nil
}

func scanWebhooks(rows *sql.Rows, err error) ([]Webhook, error) {
	if err != nil {
		return nil, fmt.Errorf("catalog: webhooks: %w", err)
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		var w Webhook
		var ev string
		var created int64
		if err := rows.Scan(&w.ID, &w.URL, &ev, &w.Secret, &created); err != nil {
			return nil, fmt.Errorf("catalog: webhooks: %w", err)
		}
		w.Events, w.CreatedAt = strings.Split(ev, ","), time.UnixMicro(created).UTC()
		out = append(out, w)
	}
	return out, rows.Err()
}

// ListWebhooks returns the live subscriptions, oldest first.
func ListWebhooks(ctx context.Context, q Querier) ([]Webhook, error) {
	return scanWebhooks(q.QueryContext(ctx, `SELECT id, url, events, secret, created_at FROM webhooks
		WHERE deleted_at IS NULL ORDER BY created_at, id`))
}

// GetWebhook returns a live subscription.
func GetWebhook(ctx context.Context, q Querier, id string) (*Webhook, error) {
	ws, err := scanWebhooks(q.QueryContext(ctx, `SELECT id, url, events, secret, created_at FROM webhooks
		WHERE id = ? AND deleted_at IS NULL`, id))
	if err != nil {
		return nil, err
	}
	if len(ws) == 0 {
		return nil, fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	return &ws[0], nil
}

// DeleteWebhook ends a subscription; its delivery log stays.
func DeleteWebhook(ctx context.Context, q Querier, id string) error {
	res, err := q.ExecContext(ctx, `UPDATE webhooks SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: delete webhook: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("webhook %s: %w", id, ErrNotFound)
	}
	return nil
}

// WebhooksFor returns the live subscriptions to event.
func WebhooksFor(ctx context.Context, q Querier, event string) ([]Webhook, error) {
	all, err := ListWebhooks(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []Webhook
	for _, w := range all {
		if slices.Contains(w.Events, event) {
			out = append(out, w)
		}
	}
	return out, nil
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event sent (or being sent) to one subscription.
type WebhookDelivery struct {
	ID         int64
	WebhookID  string
	EventID    string
	Event      string
	AssetID    string
	Payload    string
	State      string
	Attempts   int
	LastStatus int
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// InsertDelivery records a delivery to make and returns its id.
func InsertDelivery(ctx context.Context, q Querier, d *WebhookDelivery) error {
	now := time.Now().UTC()
	d.State, d.CreatedAt, d.UpdatedAt = DeliveryPending, now, now
	err := q.QueryRowContext(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, event, asset_id, payload, state,
		created_at, updated_at) VALUES (?,?,?,?,?,?,?,?) RETURNING id`, d.WebhookID, d.EventID, d.Event, d.AssetID, d.Payload,
		d.State, micros(now), micros(now)).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("catalog: insert delivery: %w", err)
	}
	return nil
}

const deliveryCols = `id, webhook_id, event_id, event, asset_id, payload, state, attempts, last_status, last_error, created_at, updated_at`

func scanDeliveries(rows *sql.Rows, err error) ([]WebhookDelivery, error) {
	if err != nil {
		return nil, fmt.Errorf("catalog: deliveries: %w", err)
	}
	defer rows.Close()
	var out []WebhookDelivery
	for rows.Next() {
		var d WebhookDelivery
		var c, u int64
		if err := rows.Scan(&d.ID, &d.WebhookID, &d.EventID, &d.Event, &d.AssetID, &d.Payload, &d.State, &d.Attempts,
			&d.LastStatus, &d.LastError, &c, &u); err != nil {
			return nil, fmt.Errorf("catalog: deliveries: %w", err)
		}
		d.CreatedAt, d.UpdatedAt = time.UnixMicro(c).UTC(), time.UnixMicro(u).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetDelivery returns one delivery.
func GetDelivery(ctx context.Context, q Querier, id int64) (*WebhookDelivery, error) {
	ds, err := scanDeliveries(q.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("delivery %d: %w", id, ErrNotFound)
	}
	return &ds[0], nil
}

// ListDeliveries returns a subscription's deliveries, newest first.
func ListDeliveries(ctx context.Context, q Querier, webhookID string, limit int) ([]WebhookDelivery, error) {
	return scanDeliveries(q.QueryContext(ctx, `SELECT `+deliveryCols+` FROM webhook_deliveries WHERE webhook_id = ?
		ORDER BY id DESC LIMIT ?`, webhookID, limit))
}

// RecordAttempt notes the outcome of one attempt.
func RecordAttempt(ctx context.Context, q Querier, id int64, state string, status int, errText string) error {
	_, err := q.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1, last_status = ?,
		last_error = ?, updated_at = ? WHERE id = ?`, state, status, errText, micros(time.Now()), id)
	if err != nil {
		return fmt.Errorf("catalog: record delivery attempt: %w", err)
	}
	return nil
}
