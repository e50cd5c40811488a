package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
)

type userJSON struct {
	ID         string  `json:"id"`
	Username   string  `json:"username"`
	Role       string  `json:"role"`
	Project    string  `json:"project,omitempty"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`
	DisabledAt *string `json:"disabled_at"`
}

func userView(u *catalog.User) userJSON {
	v := userJSON{ID: u.ID, Username: u.Username, Role: u.Role, Project: u.Project,
		CreatedAt: rfc3339(u.CreatedAt), UpdatedAt: rfc3339(u.UpdatedAt)}
	if u.DisabledAt != nil {
		t := rfc3339(*u.DisabledAt)
		v.DisabledAt = &t
	}
	return v
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Role     string `json:"role"`
		Project  string `json:"project"`
	}
	if err := decodeStrict(w, r, &req); err != nil {
		return err
	}
	if req.Role == "" {
		req.Role = auth.RoleViewer
	}
	u, err := auth.CreateUser(r.Context(), s.DB.Writer(), req.Username, req.Password, req.Role, req.Project)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.BaseURL+"/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, userView(u))
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	us, err := catalog.ListUsers(r.Context(), s.DB.Reader())
	if err != nil {
		return err
	}
	items := make([]userJSON, 0, len(us))
	for _, u := range us {
		items = append(items, userView(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	u, err := catalog.GetUser(r.Context(), s.DB.Reader(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userView(u))
	return nil
}

// patchUser changes a user's role, project, password or disabled state.
// Disabling a user, or setting a password, ends their sessions; disabling
// also stops their tokens (they stay listed, refused while disabled).
func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Role     *string `json:"role"`
		Project  *string `json:"project"`
		Password *string `json:"password"`
		Disabled *bool   `json:"disabled"`
	}
	if err := decodeStrict(w, r, &req); err != nil {
		return err
	}
	u, err := catalog.GetUser(r.Context(), s.DB.Reader(), r.PathValue("id"))
	if err != nil {
		return err
	}
	endSessions := false
	if req.Role != nil {
		if _, ok := auth.RoleScopes(*req.Role); !ok {
			return badRequest("invalid_role", "role is admin, editor or viewer")
		}
		if u.ID == p.UserID && *req.Role != auth.RoleAdmin {
			return badRequest("own_role", "an admin cannot take away their own admin role")
		}
		u.Role = *req.Role
	}
	if req.Project != nil {
		u.Project = *req.Project
	}
	if req.Password != nil {
		if err := auth.CheckPassword(*req.Password); err != nil {
			return badRequest("weak_password", err.Error())
		}
		u.PasswordHash = auth.HashPassword(*req.Password, auth.DefaultArgon2)
		endSessions = true
	}
	if req.Disabled != nil {
		if *req.Disabled && u.ID == p.UserID {
			return badRequest("own_account", "an admin cannot disable their own account")
		}
		switch {
		case *req.Disabled && u.DisabledAt == nil:
			now := time.Now()
			u.DisabledAt, endSessions = &now, true
		case !*req.Disabled:
			u.DisabledAt = nil
		}
	}
	err = catalog.UpdateUser(r.Context(), s.DB.Writer(), u)
	s.Auth.Forget() // the user's tokens: role, project, disabled
	if err != nil {
		return err
	}
	if endSessions {
		if err := catalog.RevokeUserSessions(r.Context(), s.DB.Writer(), u.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, userView(u))
	return nil
}

// listAudit pages through the audit log, newest first: ?actor=, ?action=,
// ?target=, ?since= (RFC 3339), ?before= (an entry id), ?limit= (≤ 1000).
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	f := catalog.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return badRequest("invalid_before", "before is an entry id")
		}
		f.Before = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("invalid_limit", "limit is 1 to 1000")
		}
		f.Limit = n
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return badRequest("invalid_since", "since is an RFC 3339 time")
		}
		f.Since = t
	}
	es, err := catalog.ListAudit(r.Context(), s.DB.Reader(), f)
	if err != nil {
		return err
	}
	type entryJSON struct {
		catalog.AuditEntry
		At     string         `json:"at"`
		Detail map[string]any `json:"detail"`
	}
	items := make([]entryJSON, 0, len(es))
	for _, e := range es {
		v := entryJSON{AuditEntry: e, At: rfc3339(e.At)}
		if err := json.Unmarshal([]byte(e.Detail), &v.Detail); err != nil {
			return fmt.Errorf("audit entry %d: %w", e.ID, err)
		}
		items = append(items, v)
	}
	out := map[string]any{"items": items}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if len(es) > 0 && len(es) == f.Limit {
		out["next_before"] = es[len(es)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
