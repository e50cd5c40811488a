package api

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/logging"
	"stor/internal/storage"
)

// DefaultSessionTTL is how long a web session lasts unless configured.
const DefaultSessionTTL = 12 * time.Hour

func (s *Server) sessionTTL() time.Duration {
	if s.SessionTTL > 0 {
		return s.SessionTTL
	}
	return DefaultSessionTTL
}

func setSessionCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: auth.SessionCookie, Value: value, Path: "/", HttpOnly: true,
		Secure: secureRequest(r), SameSite: http.SameSiteStrictMode, Expires: expires,
	})
}

// createSession signs the web UI in, with a username and password (a new
// session, listed and revocable) or with a token (the cookie then holds
// the token, for service accounts and the bootstrap token).
func (s *Server) createSession(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	var req struct {
		Token    string `json:"token"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	// Only JSON: a cross-site HTML form can post text/plain that parses
	// as JSON, and would sign the victim's browser into the attacker's
	// account (login CSRF); it cannot send application/json, and a script
	// of another origin cannot without a CORS preflight.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: "json_required", Message: "sign in with a JSON body (Content-Type: application/json)"}
	}
	if err := decodeBody(w, r, &req); err != nil {
		return err
	}
	if req.Username != "" || req.Password != "" {
		if err := s.checkLockout(w, r, req.Username); err != nil {
			return err
		}
		u, err := auth.CheckCredentials(r.Context(), s.DB.Reader(), req.Username, req.Password)
		if err != nil {
			if errors.Is(err, auth.ErrBadCredentials) {
				s.audit(r, nil, "session.denied", req.Username, http.StatusUnauthorized, nil)
				s.signinFailed(r, req.Username)
			}
			return err
		}
		if err := s.Lockout.Succeed(r.Context(), s.DB.Writer(), req.Username); err != nil {
			s.Log.ErrorContext(r.Context(), "sign-in lockout: clearing failures", "err", err)
		}
		secret, sess, err := auth.CreateSession(r.Context(), s.DB.Writer(), u, s.sessionTTL(), clientIP(r), r.UserAgent())
		if err != nil {
			return err
		}
		setSessionCookie(w, r, secret, sess.ExpiresAt)
		p := &auth.Principal{UserID: u.ID, Username: u.Username, SessionID: sess.ID}
		s.audit(r, p, "session.create", u.ID, http.StatusOK, nil)
		scopes, _ := auth.RoleScopes(u.Role)
		writeJSON(w, http.StatusOK, map[string]any{"name": u.Username, "user_id": u.ID, "username": u.Username,
			"role": u.Role, "scopes": scopes, "project": u.Project, "session_id": sess.ID,
			"expires_at": rfc3339(sess.ExpiresAt)})
		return nil
	}
	p, err := s.Auth.Lookup(r.Context(), req.Token)
	if err != nil {
		return err
	}
	setSessionCookie(w, r, req.Token, time.Now().Add(30*24*time.Hour))
	writeJSON(w, http.StatusOK, map[string]any{"name": p.Name, "scopes": p.Scopes, "project": p.Project})
	return nil
}

// deleteSession signs the web UI out: the session (when the cookie holds
// one) is revoked, and the cookie cleared.
func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	if c, err := r.Cookie(auth.SessionCookie); err == nil && c.Value != "" {
		if !auth.CSRFOK(r) {
			return auth.ErrCSRF // a cross-site form must not sign the user out
		}
		if p, err := s.Auth.LookupSession(r.Context(), c.Value); err == nil {
			if err := catalog.RevokeSession(r.Context(), s.DB.Writer(), p.SessionID, p.UserID); err != nil && !errors.Is(err, catalog.ErrNotFound) {
				return err
			}
			s.audit(r, p, "session.delete", p.SessionID, http.StatusNoContent, nil)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: auth.SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: secureRequest(r), SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// whoami tells the UI who is signed in.
func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	out := map[string]any{"token_id": p.TokenID, "name": p.Name, "scopes": p.Scopes, "project": p.Project}
	if p.UserID != "" {
		out["user_id"], out["username"], out["role"] = p.UserID, p.Username, p.Role
	}
	if p.SessionID != "" {
		out["session_id"] = p.SessionID
	}
	// What this server's uploads can do: s3_multipart says direct
	// browser-to-S3 uploads (/api/v1/uploads/s3) work (the store is S3).
	_, s3 := s.Store.(storage.MultipartUploader)
	out["uploads"] = map[string]bool{"s3_multipart": s3}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type sessionJSON struct {
	ID         string  `json:"id"`
	CreatedAt  string  `json:"created_at"`
	ExpiresAt  string  `json:"expires_at"`
	LastSeenAt string  `json:"last_seen_at"`
	RevokedAt  *string `json:"revoked_at,omitempty"`
	IP         string  `json:"ip"`
	UserAgent  string  `json:"user_agent"`
	Current    bool    `json:"current"`
	Active     bool    `json:"active"`
}

// listSessions lists the caller's own sessions (a service token has none).
func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	items := []sessionJSON{}
	if p.UserID != "" {
		ss, err := catalog.ListSessions(r.Context(), s.DB.Reader(), p.UserID)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, x := range ss {
			v := sessionJSON{ID: x.ID, CreatedAt: rfc3339(x.CreatedAt), ExpiresAt: rfc3339(x.ExpiresAt),
				LastSeenAt: rfc3339(x.LastSeenAt), IP: x.IP, UserAgent: x.UserAgent, Current: x.ID == p.SessionID,
				Active: x.RevokedAt == nil && now.Before(x.ExpiresAt)}
			if x.RevokedAt != nil {
				t := rfc3339(*x.RevokedAt)
				v.RevokedAt = &t
			}
			items = append(items, v)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// revokeSession ends one of the caller's sessions (another user's is a 404).
func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if p.UserID == "" {
		return catalog.ErrNotFound
	}
	if err := catalog.RevokeSession(r.Context(), s.DB.Writer(), r.PathValue("id"), p.UserID); err != nil {
		return err
	}
	s.audit(r, p, "session.revoke", r.PathValue("id"), http.StatusNoContent, nil)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changePassword changes the caller's own password, given the current one;
// the user's other sessions end.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if p.UserID == "" {
		return badRequest("not_a_user", "only a signed-in user has a password")
	}
	var req struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if err := decodeStrict(w, r, &req); err != nil {
		return err
	}
	if err := auth.CheckPassword(req.New); err != nil {
		return badRequest("weak_password", err.Error())
	}
	// Wrong current passwords count towards the username's sign-in lock:
	// a stolen session must not guess its way to the password.
	if err := s.checkLockout(w, r, p.Username); err != nil {
		return err
	}
	u, err := auth.CheckCredentials(r.Context(), s.DB.Reader(), p.Username, req.Current)
	if err != nil {
		if errors.Is(err, auth.ErrBadCredentials) {
			s.signinFailed(r, p.Username)
		}
		return err
	}
	u.PasswordHash = auth.HashPassword(req.New, auth.DefaultArgon2)
	if err := catalog.UpdateUser(r.Context(), s.DB.Writer(), u); err != nil {
		return err
	}
	for _, x := range mustSessions(r, s, u.ID) {
		if x.ID != p.SessionID && x.RevokedAt == nil {
			catalog.RevokeSession(r.Context(), s.DB.Writer(), x.ID, u.ID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func mustSessions(r *http.Request, s *Server, userID string) []*catalog.Session {
	ss, _ := catalog.ListSessions(r.Context(), s.DB.Reader(), userID)
	return ss
}

func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid_json", err.Error())
	}
	return nil
}

// audit appends to the audit log; a failure is logged, never hidden from
// the log, and does not undo what was done.
func (s *Server) audit(r *http.Request, p *auth.Principal, action, target string, status int, detail map[string]any) {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["method"], detail["path"], detail["status"] = r.Method, r.URL.Path, status
	b, _ := json.Marshal(detail)
	if len(target) > 256 { // a made-up username of a refused sign-in: bounded
		target = target[:256]
	}
	actor := "anonymous"
	if p != nil {
		actor = p.Actor()
	}
	e := catalog.AuditEntry{Actor: actor, Action: action, Target: target, IP: clientIP(r),
		RequestID: logging.RequestID(r.Context()), Detail: string(b)}
	if err := catalog.AddAudit(context.WithoutCancel(r.Context()), s.DB.Writer(), e); err != nil {
		s.Log.ErrorContext(r.Context(), "audit log write failed", "action", action, "actor", actor, "err", err)
	}
}

// auditTarget names what a request acted on: its first path value.
func auditTarget(r *http.Request) string {
	for _, k := range []string{"id", "name", "project"} {
		if v := r.PathValue(k); v != "" {
			return v
		}
	}
	return ""
}
