package api

import (
	"encoding/json"
	"net/http"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
)

type tokenJSON struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Scopes    []string `json:"scopes"`
	Project   string   `json:"project,omitempty"`
	CreatedAt string   `json:"created_at"`
	ExpiresAt *string  `json:"expires_at"`
	RevokedAt *string  `json:"revoked_at,omitempty"`
	UserID    string   `json:"user_id,omitempty"`
	Token     string   `json:"token,omitempty"` // the secret, only when created
}

func tokenView(t *catalog.Token) tokenJSON {
	v := tokenJSON{ID: t.ID, Name: t.Name, Scopes: t.Scopes, Project: t.Project, CreatedAt: rfc3339(t.CreatedAt), UserID: t.UserID}
	if t.ExpiresAt != nil {
		s := rfc3339(*t.ExpiresAt)
		v.ExpiresAt = &s
	}
	if t.RevokedAt != nil {
		s := rfc3339(*t.RevokedAt)
		v.RevokedAt = &s
	}
	return v
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Name      string   `json:"name"`
		Scopes    []string `json:"scopes"`
		Project   string   `json:"project"`
		ExpiresAt string   `json:"expires_at"`
		ExpiresIn string   `json:"expires_in"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("invalid_json", err.Error())
	}
	if req.Name == "" || len(req.Name) > 200 {
		return badRequest("invalid_name", "name is required (at most 200 characters)")
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{auth.ScopeRead}
	}
	for _, sc := range req.Scopes {
		if !auth.ValidScope(sc) {
			return badRequest("invalid_scope", "scopes are read, write and admin")
		}
	}
	var expires *time.Time
	switch {
	case req.ExpiresAt != "":
		t, err := time.Parse(time.RFC3339, req.ExpiresAt)
		if err != nil {
			return badRequest("invalid_expires_at", "expires_at is an RFC 3339 time")
		}
		expires = &t
	case req.ExpiresIn != "":
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return badRequest("invalid_expires_in", `expires_in is a duration such as "720h"`)
		}
		t := time.Now().Add(d)
		expires = &t
	}
	secret, t, err := auth.CreateUserToken(r.Context(), s.DB.Writer(), req.Name, req.Scopes, req.Project, expires, "", p.UserID)
	if err != nil {
		return err
	}
	v := tokenView(t)
	v.Token = secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ts, err := catalog.ListTokens(r.Context(), s.DB.Reader())
	if err != nil {
		return err
	}
	items := make([]tokenJSON, 0, len(ts))
	for _, t := range ts {
		items = append(items, tokenView(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	err := catalog.RevokeToken(r.Context(), s.DB.Writer(), r.PathValue("id"))
	s.Auth.Forget() // this node stops accepting it now; others within auth.DefaultTokenCacheTTL
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
