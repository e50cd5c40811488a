package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"stor/internal/auth"
	"stor/internal/catalog"
)

type webhookJSON struct {
	ID        string   `json:"id"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	CreatedAt string   `json:"created_at"`
	Secret    string   `json:"secret,omitempty"` // at creation only
}

func webhookView(w *catalog.Webhook) webhookJSON {
	return webhookJSON{ID: w.ID, URL: w.URL, Events: w.Events, CreatedAt: w.CreatedAt.Format(time.RFC3339)}
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("invalid_json", err.Error())
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(req.URL) > 2000 {
		return badRequest("invalid_url", "url is an absolute http or https URL")
	}
	if len(req.Events) == 0 {
		return badRequest("invalid_events", "events lists at least one of asset.ready, asset.failed, asset.deleted, fixity.failed")
	}
	for _, e := range req.Events {
		if !slices.Contains(catalog.WebhookEvents, e) {
			return badRequest("invalid_events", "unknown event "+strconv.Quote(e)+" (asset.ready, asset.failed, asset.deleted, fixity.failed)")
		}
	}
	slices.Sort(req.Events)
	b := make([]byte, 32)
	rand.Read(b)
	hook := &catalog.Webhook{ID: uuid.NewString(), URL: req.URL, Events: slices.Compact(req.Events), Secret: "whsec_" + hex.EncodeToString(b)}
	if err := catalog.InsertWebhook(r.Context(), s.DB.Writer(), hook); err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "webhook created", "webhook", hook.ID, "url", hook.URL, "actor", p.Actor())
	v := webhookView(hook)
	v.Secret = hook.Secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	hs, err := catalog.ListWebhooks(r.Context(), s.DB.Reader())
	if err != nil {
		return err
	}
	items := []webhookJSON{}
	for i := range hs {
		items = append(items, webhookView(&hs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := catalog.DeleteWebhook(r.Context(), s.DB.Writer(), r.PathValue("id")); err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "webhook deleted", "webhook", r.PathValue("id"), "actor", p.Actor())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	ds, err := catalog.ListDeliveries(r.Context(), s.DB.Reader(), r.PathValue("id"), 100)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		// No deliveries yet: 404 only if there is no such subscription.
		if _, err := catalog.GetWebhook(r.Context(), s.DB.Reader(), r.PathValue("id")); err != nil {
			return err
		}
	}
	items := []map[string]any{}
	for _, d := range ds {
		items = append(items, map[string]any{"id": d.ID, "event_id": d.EventID, "event": d.Event, "asset_id": d.AssetID,
			"state": d.State, "attempts": d.Attempts, "last_status": d.LastStatus, "last_error": d.LastError,
			"payload": json.RawMessage(d.Payload), "created_at": d.CreatedAt.Format(time.RFC3339Nano),
			"updated_at": d.UpdatedAt.Format(time.RFC3339Nano)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}
