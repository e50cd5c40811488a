package api

import (
	"net/http"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
)

// listSigninLocks lists the usernames locked out of sign-in now (known
// usernames or not: the lockout does not tell them apart).
func (s *Server) listSigninLocks(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	ls, err := catalog.ListSigninLocks(r.Context(), s.DB.Writer(), time.Now())
	if err != nil {
		return err
	}
	items := make([]map[string]any, 0, len(ls))
	for _, l := range ls {
		items = append(items, map[string]any{"username": l.Username, "locked_until": rfc3339(l.LockedUntil),
			"lockouts": l.Lockouts, "last_failure_at": rfc3339(l.UpdatedAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

// deleteSigninLock lifts the lock of a username and forgets its failures;
// 404 when it has neither.
func (s *Server) deleteSigninLock(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	found, err := auth.Unlock(r.Context(), s.DB.Writer(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if !found {
		return catalog.ErrNotFound
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
