package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/exiftool"
	"stor/internal/iiif"
	"stor/internal/ingest"
	"stor/internal/logging"
	"stor/internal/storage"
)

// Error is an error with its HTTP status and code chosen where it arose.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

func badRequest(code, msg string) error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg}
}

// Classify is the ONE place that maps errors to status, code and message;
// other doors (tus) that answer in their own framing call it too.
func Classify(err error) (status int, code, msg string) {
	var apiErr *Error
	var maxErr *http.MaxBytesError
	var limited *ErrRateLimited
	switch {
	case errors.As(err, &limited):
		return http.StatusTooManyRequests, "rate_limited", err.Error()
	case errors.Is(err, auth.ErrSigninLocked):
		return http.StatusTooManyRequests, "signin_locked", "too many failed sign-ins for this username: it is locked for now (an admin can unlock it)"
	case errors.Is(err, auth.ErrBadCredentials):
		return http.StatusUnauthorized, "bad_credentials", err.Error()
	case errors.As(err, &apiErr):
		return apiErr.Status, apiErr.Code, apiErr.Message
	case errors.Is(err, auth.ErrSignatureExpired):
		return http.StatusUnauthorized, "signature_expired", err.Error()
	case errors.Is(err, auth.ErrSignatureInvalid):
		return http.StatusUnauthorized, "signature_invalid", err.Error()
	case errors.Is(err, auth.ErrSignatureWrongPath):
		return http.StatusForbidden, "signature_wrong_path", err.Error()
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required"
	case errors.Is(err, auth.ErrCSRF):
		return http.StatusForbidden, "csrf_required", err.Error()
	case errors.Is(err, auth.ErrForbidden):
		return http.StatusForbidden, "forbidden", "this token lacks the scope for that"
	case errors.Is(err, catalog.ErrNotFound), errors.Is(err, storage.ErrNotExist):
		return http.StatusNotFound, "not_found", "no such resource"
	case errors.Is(err, catalog.ErrInvalid):
		return http.StatusBadRequest, "invalid", err.Error()
	case errors.Is(err, catalog.ErrConflict):
		return http.StatusConflict, "conflict", err.Error()
	case errors.Is(err, ingest.ErrChecksumMismatch):
		return http.StatusBadRequest, "checksum_mismatch", err.Error()
	case errors.Is(err, ingest.ErrBadChecksum):
		return http.StatusBadRequest, "invalid_checksum", err.Error()
	case errors.Is(err, ingest.ErrEmpty):
		return http.StatusBadRequest, "empty_upload", "the upload has no bytes"
	case errors.Is(err, ingest.ErrUnsupportedFormat):
		return http.StatusUnsupportedMediaType, "unsupported_format", err.Error()
	case errors.Is(err, ingest.ErrTooLarge), errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, "upload_too_large", "the upload exceeds the maximum size"
	case errors.Is(err, iiif.ErrBadRequest):
		return http.StatusBadRequest, "bad_request", err.Error()
	case errors.Is(err, iiif.ErrNotImplemented):
		return http.StatusNotImplemented, "not_implemented", err.Error()
	case errors.Is(err, exiftool.ErrTimeout):
		return http.StatusServiceUnavailable, "metadata_timeout", "exiftool did not finish in time"
	case errors.Is(err, exiftool.ErrNotWritten):
		return http.StatusUnprocessableEntity, "metadata_not_written", err.Error()
	case errors.Is(err, exiftool.ErrClosed):
		return http.StatusServiceUnavailable, "shutting_down", "the server is shutting down"
	case errors.Is(err, context.Canceled):
		return 499, "client_closed_request", "the client went away"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "timeout", "the request took too long"
	}
	return http.StatusInternalServerError, "internal_error", "internal error"
}

// writeError sends the JSON error body and logs server-side failures with
// their cause.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, code, msg := Classify(err)
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		if status == http.StatusInternalServerError {
			msg += " (request id " + logging.RequestID(r.Context()) + ")"
		}
	} else {
		log.DebugContext(r.Context(), "request refused", "status", status, "code", code, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stor"`)
	}
	if status == 499 {
		return // nobody is listening
	}
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
