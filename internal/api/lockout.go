package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
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

// checkLockout refuses a sign-in (or password check) of a locked
// username, with Retry-After, before any password is looked at: the same
// answer, and about the same time, whether the username exists or not.
func (s *Server) checkLockout(w http.ResponseWriter, r *http.Request, username string) error {
	err := s.Lockout.Check(r.Context(), s.DB.Writer(), username)
	var locked *auth.LockedError
	if errors.As(err, &locked) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(locked.Wait.Seconds())))))
	}
	return err
}

// signinFailed counts a wrong password for username; the failure that
// locks it is audit-logged (session.locked).
func (s *Server) signinFailed(r *http.Request, username string) {
	until, err := s.Lockout.Fail(r.Context(), s.DB.Writer(), username)
	if err != nil {
		s.Log.ErrorContext(r.Context(), "sign-in lockout: recording a failure", "err", err)
	}
	if !until.IsZero() {
		s.audit(r, nil, "session.locked", username, http.StatusUnauthorized, map[string]any{"locked_until": rfc3339(until)})
	}
}
