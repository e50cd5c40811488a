package api

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"net/http"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/logging"
)

// readJSON decodes a JSON request body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20))
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid_json", "the body is not the JSON this endpoint takes: "+err.Error())
	}
	return nil
}

// patchAsset edits descriptive and custom fields: {"title": "...",
// "keywords": [...], "fields": {"name": value}}. Each change becomes an
// "edited" event; edited values survive reprocessing.
func (s *Server) patchAsset(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	if a.State == catalog.StateDeleted {
		return &Error{Status: http.StatusConflict, Code: "deleted", Message: "the asset is deleted"}
	}
	var body map[string]json.RawMessage
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	var custom map[string]json.RawMessage
	if raw, ok := body["fields"]; ok {
		if err := json.Unmarshal(raw, &custom); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return badRequest("invalid", `field "fields": must be an object of custom field values`)
		}
		delete(body, "fields")
	}
	ctx := r.Context()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		_, err := catalog.EditAsset(ctx, tx, a, body, custom, p.Actor(), logging.TxID(ctx))
		return err
	})
	if err != nil {
		return err
	}
	if a, err = catalog.GetAsset(ctx, s.DB.Writer(), a.ID); err != nil {
		return err
	}
	v, err := s.oneView(ctx, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) getProjectFields(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	project := r.PathValue("project")
	if !p.SeesProject(project) {
		return catalog.ErrNotFound
	}
	fields, err := catalog.ProjectFields(r.Context(), s.DB.Reader(), project)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": project, "fields": fields})
	return nil
}

// putProjectFields replaces a project's custom field schema:
// {"fields": [{"name", "type", "choices"}]}.
func (s *Server) putProjectFields(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	project := r.PathValue("project")
	var body struct {
		Fields []catalog.ProjectField `json:"fields"`
	}
	if err := readJSON(w, r, &body); err != nil {
		return err
	}
	ctx := r.Context()
	err := s.DB.InTx(ctx, func(tx *sql.Tx) error {
		return catalog.SetProjectFields(ctx, tx, project, body.Fields)
	})
	if err != nil {
		return err
	}
	return s.getProjectFields(w, r, p)
}
