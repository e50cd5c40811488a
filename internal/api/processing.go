package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/logging"
	"stor/internal/pipeline"
	"stor/internal/storage"
)

// Processor is what the API needs of the processing pipeline.
type Processor interface {
	Reprocess(ctx context.Context, assetID string, tasks []string, actor, txid string) ([]string, error)
	ReprocessMatching(ctx context.Context, f catalog.AssetFilter, tasks []string, actor, txid string) (int, error)
	RetryTask(ctx context.Context, taskID, actor, txid string) (*catalog.Task, error)
	Pause(ctx context.Context) error
	Resume(ctx context.Context) error
	Status(ctx context.Context) (*pipeline.Status, error)
	Tasks() []string
}

func (s *Server) processingRoutes() []Route {
	return []Route{
		rt("GET", "/api/v1/assets/{id}/tasks", auth.ScopeRead, s.assetTasks),
		rt("POST", "/api/v1/assets/{id}/reprocess", auth.ScopeWrite, s.reprocessAsset),
		rt("GET", "/api/v1/assets/{id}/derivatives", auth.ScopeRead, s.listDerivatives),
		signed(rt("GET", "/api/v1/assets/{id}/derivatives/{name}", auth.ScopeRead, s.getDerivative)),
		rt("GET", "/api/v1/tasks", auth.ScopeRead, s.listTasks),
		rt("POST", "/api/v1/tasks/{id}/retry", auth.ScopeWrite, s.retryTask),
		rt("POST", "/api/v1/reprocess", auth.ScopeAdmin, s.reprocessMatching),
		rt("GET", "/api/v1/processing", auth.ScopeRead, s.processingStatus),
		rt("POST", "/api/v1/processing/pause", auth.ScopeAdmin, s.pause),
		rt("POST", "/api/v1/processing/resume", auth.ScopeAdmin, s.resume),
	}
}

type taskJSON struct {
	ID          string  `json:"id"`
	AssetID     string  `json:"asset_id"`
	Name        string  `json:"name"`
	State       string  `json:"state"`
	Required    bool    `json:"required"`
	Attempts    int     `json:"attempts"`
	MaxAttempts int     `json:"max_attempts"`
	LastError   *string `json:"last_error"`
	Progress    *int    `json:"progress"`
	TxID        string  `json:"txid"`
	QueuedAt    string  `json:"queued_at"`
	StartedAt   *string `json:"started_at"`
	FinishedAt  *string `json:"finished_at"`
	DurationMS  *int64  `json:"duration_ms"`
}

func taskView(t *catalog.Task) taskJSON {
	v := taskJSON{ID: t.ID, AssetID: t.AssetID, Name: t.Name, State: t.State, Required: t.Required,
		Attempts: t.Attempts, MaxAttempts: t.MaxAttempts, Progress: t.Progress, TxID: t.TxID,
		QueuedAt: rfc3339(t.QueuedAt)}
	if t.LastError != "" {
		v.LastError = &t.LastError
	}
	if t.StartedAt != nil {
		s := rfc3339(*t.StartedAt)
		v.StartedAt = &s
	}
	if t.FinishedAt != nil {
		s := rfc3339(*t.FinishedAt)
		v.FinishedAt = &s
		if t.StartedAt != nil {
			d := t.FinishedAt.Sub(*t.StartedAt).Milliseconds()
			v.DurationMS = &d
		}
	}
	return v
}

func (s *Server) assetTasks(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	ts, err := catalog.ListTasks(r.Context(), s.DB.Reader(), catalog.TaskFilter{AssetID: a.ID, Limit: 1000})
	if err != nil {
		return err
	}
	items := make([]taskJSON, 0, len(ts))
	for _, t := range ts {
		items = append(items, taskView(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	// An empty body means "no options".
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return badRequest("invalid_json", err.Error())
	}
	return nil
}

func (s *Server) reprocessAsset(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Tasks []string `json:"tasks"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	queued, err := s.Processing.Reprocess(r.Context(), a.ID, req.Tasks, p.Actor(), logging.TxID(r.Context()))
	if errors.Is(err, pipeline.ErrUnknownTask) {
		return badRequest("unknown_task", fmt.Sprintf("%v; tasks are %s", err, strings.Join(s.Processing.Tasks(), ", ")))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"asset_id": a.ID, "queued": nonNil(queued)})
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Server) reprocessMatching(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Filter struct {
			Kind, State, Project, Format string
		} `json:"filter"`
		Tasks []string `json:"tasks"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	f := catalog.AssetFilter{Kind: req.Filter.Kind, State: req.Filter.State, Project: req.Filter.Project, Format: req.Filter.Format}
	n, err := s.Processing.ReprocessMatching(r.Context(), f, req.Tasks, p.Actor(), logging.TxID(r.Context()))
	if errors.Is(err, pipeline.ErrUnknownTask) {
		return badRequest("unknown_task", err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"assets": n})
	return nil
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	f := catalog.TaskFilter{State: q.Get("state"), Name: q.Get("name"), AssetID: q.Get("asset_id")}
	if p.Project != "" {
		f.Projects = []string{p.Project}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("invalid_limit", "limit is a number from 1 to 1000")
		}
		f.Limit = n
	}
	ts, err := catalog.ListTasks(r.Context(), s.DB.Reader(), f)
	if err != nil {
		return err
	}
	items := make([]taskJSON, 0, len(ts))
	for _, t := range ts {
		items = append(items, taskView(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) retryTask(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	t, err := catalog.GetTask(r.Context(), s.DB.Reader(), r.PathValue("id"))
	if err != nil {
		return err
	}
	a, err := catalog.GetAsset(r.Context(), s.DB.Reader(), t.AssetID)
	if err != nil {
		return err
	}
	if !p.SeesProject(a.Project) {
		return fmt.Errorf("task: %w", catalog.ErrNotFound)
	}
	t, err = s.Processing.RetryTask(r.Context(), t.ID, p.Actor(), logging.TxID(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, taskView(t))
	return nil
}

func (s *Server) processingStatus(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	st, err := s.Processing.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) pause(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.Processing.Pause(r.Context()); err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "processing paused", "actor", p.Actor())
	return s.processingStatus(w, r, p)
}

func (s *Server) resume(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if err := s.Processing.Resume(r.Context()); err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "processing resumed", "actor", p.Actor())
	return s.processingStatus(w, r, p)
}

type derivativeJSON struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Width       *int   `json:"width,omitempty"`
	Height      *int   `json:"height,omitempty"`
	Size        int64  `json:"size"`
	Task        string `json:"task"`
	URL         string `json:"url"`
}

func (s *Server) listDerivatives(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	ds, err := catalog.ListDerivatives(r.Context(), s.DB.Reader(), a.ID)
	if err != nil {
		return err
	}
	items := make([]derivativeJSON, 0, len(ds))
	for _, d := range ds {
		v := derivativeJSON{Name: d.Name, ContentType: d.ContentType, Size: d.Size, Task: d.Task,
			URL: s.BaseURL + "/api/v1/assets/" + a.ID + "/derivatives/" + d.Name}
		if d.Width > 0 {
			v.Width, v.Height = &d.Width, &d.Height
		}
		items = append(items, v)
	}
	writeJSON(w, http.StatusOK, items)
	return nil
}

func (s *Server) getDerivative(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	d, err := catalog.GetDerivative(r.Context(), s.DB.Reader(), a.ID, r.PathValue("name"))
	if err != nil {
		return err
	}
	obj, err := s.Store.Stat(r.Context(), d.BlobKey)
	if err != nil {
		return err
	}
	h := w.Header()
	// Derivatives are replaced in place when reprocessed: the ETag follows
	// the stored object, and caches revalidate.
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, obj.ModTime.UnixNano(), obj.Size))
	h.Set("Content-Type", d.ContentType)
	h.Set("Cache-Control", "private, max-age=300")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	if s.redirectPresigned(w, r, d.BlobKey, "", d.ContentType) || s.accelRedirect(w, d.BlobKey) {
		return nil
	}
	rs := storage.NewReadSeeker(r.Context(), s.Store, d.BlobKey, obj.Size)
	defer rs.Close()
	http.ServeContent(w, r, "", obj.ModTime, rs)
	return nil
}
