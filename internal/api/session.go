package api

import (
	"net/http"
	"time"

	"stor/internal/auth"
)

// createSession signs the web UI in: it checks the token it is given and
// sets it as an HttpOnly, SameSite=Strict cookie.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	p, err := s.Auth.Lookup(r.Context(), req.Token)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: auth.SessionCookie, Value: req.Token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https", SameSite: http.SameSiteStrictMode,
		Expires: time.Now().Add(30 * 24 * time.Hour),
	})
	writeJSON(w, http.StatusOK, map[string]any{"name": p.Name, "scopes": p.Scopes, "project": p.Project})
	return nil
}

// deleteSession signs the web UI out.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// whoami tells the UI who is signed in.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	writeJSON(w, http.StatusOK, map[string]any{"token_id": p.TokenID, "name": p.Name, "scopes": p.Scopes, "project": p.Project})
	return nil
}
