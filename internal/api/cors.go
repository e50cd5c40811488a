package api

import (
	"net/http"
	"slices"
	"strings"
)

// cors adds the CORS headers of an allowed origin to an API response and
// answers its preflight (reporting true). Credentials are never allowed:
// a page of another origin calls with a bearer token, and the session
// cookie (and with it X-Stor-CSRF) stays same-origin.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.CORSOrigins) == 0 || !strings.HasPrefix(r.URL.Path, "/api/") {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !slices.Contains(s.CORSOrigins, origin) && !slices.Contains(s.CORSOrigins, "*") {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", "X-Request-ID, ETag, Location, Content-Range, Content-Disposition, Retry-After")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Content-MD5, Digest, Repr-Digest, Range, If-None-Match, X-Request-ID")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}
