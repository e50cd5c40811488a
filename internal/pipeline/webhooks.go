package pipeline

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"stor/internal/catalog"
)

// WebhookMaxAttempts bounds the deliveries of one event to one
// subscription (retried with the pipeline's backoff).
const WebhookMaxAttempts = 8

// SignatureHeader carries "t=UNIX,v1=HEX": HEX is
// HMAC-SHA256(secret, "UNIX.BODY") in lowercase hex.
const SignatureHeader = "Stor-Signature"

// WebhookSignature is the v1 signature of body sent at t.
func WebhookSignature(secret string, t int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(t, 10) + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Emit records event about asset a for every subscription to it and
// queues the deliveries in tx, so that they are sent if and only if the
// change that caused them commits.
func (p *Pipeline) Emit(ctx context.Context, tx *sql.Tx, event string, a *catalog.Asset, extra map[string]any) error {
	hooks, err := catalog.WebhooksFor(ctx, tx, event)
	if err != nil || len(hooks) == 0 {
		return err
	}
	data := map[string]any{"asset_id": a.ID, "filename": a.Filename, "project": a.Project, "state": a.State,
		"link": p.cfg.BaseURL + "/api/v1/assets/" + a.ID}
	for k, v := range extra {
		data[k] = v
	}
	id := uuid.NewString()
	payload, err := json.Marshal(map[string]any{"id": id, "type": event,
		"created_at": time.Now().UTC().Format(time.RFC3339Nano), "data": data})
	if err != nil {
		return fmt.Errorf("webhook payload: %w", err)
	}
	for _, h := range hooks {
		d := &catalog.WebhookDelivery{WebhookID: h.ID, EventID: id, Event: event, AssetID: a.ID, Payload: string(payload)}
		if err := catalog.InsertDelivery(ctx, tx, d); err != nil {
			return err
		}
		if _, err := p.client.InsertTx(ctx, tx, webhookArgs{DeliveryID: d.ID},
			&river.InsertOpts{Queue: queueAlerts, MaxAttempts: WebhookMaxAttempts}); err != nil {
			return fmt.Errorf("pipeline: queue webhook: %w", err)
		}
	}
	return nil
}

// emitState sends asset.ready or asset.failed after a state change.
func (p *Pipeline) emitState(ctx context.Context, tx *sql.Tx, a *catalog.Asset, from, reason string) error {
	switch a.State {
	case catalog.StateReady:
		return p.Emit(ctx, tx, catalog.EventAssetReady, a, map[string]any{"from": from})
	case catalog.StateFailed:
		return p.Emit(ctx, tx, catalog.EventAssetFailed, a, map[string]any{"from": from, "error": reason})
	}
	return nil
}

type webhookArgs struct {
	DeliveryID int64 `json:"delivery_id"`
}

func (webhookArgs) Kind() string { return "stor_webhook" }

type webhookWorker struct {
	river.WorkerDefaults[webhookArgs]
	p      *Pipeline
	client *http.Client
}

func (w *webhookWorker) Timeout(*river.Job[webhookArgs]) time.Duration { return 30 * time.Second }

// Work makes one attempt of one delivery and logs it.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[webhookArgs]) error {
	d, err := catalog.GetDelivery(ctx, w.p.db.Reader(), job.Args.DeliveryID)
	if err != nil {
		return river.JobCancel(err)
	}
	h, err := catalog.GetWebhook(ctx, w.p.db.Reader(), d.WebhookID)
	if errors.Is(err, catalog.ErrNotFound) {
		catalog.RecordAttempt(ctx, w.p.db.Writer(), d.ID, catalog.DeliveryFailed, 0, "the subscription was deleted")
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	status, err := w.post(ctx, h, d, job.ID)
	if err == nil {
		return catalog.RecordAttempt(ctx, w.p.db.Writer(), d.ID, catalog.DeliveryDelivered, status, "")
	}
	state := catalog.DeliveryPending
	if job.Attempt >= job.MaxAttempts {
		state = catalog.DeliveryFailed
	}
	if rerr := catalog.RecordAttempt(context.WithoutCancel(ctx), w.p.db.Writer(), d.ID, state, status, err.Error()); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

func (w *webhookWorker) post(ctx context.Context, h *catalog.Webhook, d *catalog.WebhookDelivery, jobID int64) (int, error) {
	body := []byte(d.Payload)
	t := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, "POST", h.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "stor-webhook/1")
	req.Header.Set("Stor-Event", d.Event)
	req.Header.Set("Stor-Delivery", strconv.FormatInt(d.ID, 10))
	req.Header.Set(SignatureHeader, fmt.Sprintf("t=%d,v1=%s", t, WebhookSignature(h.Secret, t, body)))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("webhook: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("webhook: %s answered %s", h.URL, resp.Status)
	}
	return resp.StatusCode, nil
}

func newWebhookWorker(p *Pipeline) *webhookWorker {
	return &webhookWorker{p: p, client: &http.Client{Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}
