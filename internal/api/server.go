// Package api is stor's HTTP interface: the routes of API.md, each
// declaring the scope it needs, authenticated in one place and with errors
// mapped to status codes in one place (errors.go).
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/ingest"
	"stor/internal/logging"
	"stor/internal/storage"
)

// Server holds what the handlers need.
type Server struct {
	DB      *catalog.DB
	Store   storage.Store
	Ingest  *ingest.Ingester
	Auth    *auth.Authenticator
	Log     *slog.Logger
	BaseURL string
	MaxBody int64
	Version string
	// Links, when set, adds links to an asset's view (the image tasks'
	// thumbnail and IIIF info.json); it must not overwrite self/original.
	Links func(a *catalog.Asset) map[string]string
	// Processing is the pipeline; nil leaves its routes out.
	Processing Processor
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// HTTPDuration, when set, observes each request by route and status.
	HTTPDuration *prometheus.HistogramVec
	// Metadata writes XMP sidecars and embeds fields into downloaded
	// copies; nil answers those routes with 503 not_available.
	Metadata MetadataWriter
	// TempDir holds short-lived files (embedded copies being served).
	TempDir string
	// Extra routes added by other parts (uploads, UI, IIIF).
	Extra []Route
}

// Route is one endpoint. Scope "" means no authentication at all; every
// other route authenticates and requires that scope.
type Route struct {
	Method, Pattern string
	Scope           string
	Handle          func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error
}

// Routes is the full route table: the router is built from it and the
// authorisation tests walk it.
func (s *Server) Routes() []Route {
	rs := []Route{
		{"GET", "/healthz", "", s.healthz},
		{"GET", "/readyz", "", s.readyz},
		{"GET", "/api/openapi.json", "", s.openapi},
		{"POST", "/api/v1/assets", auth.ScopeWrite, s.createAsset},
		{"GET", "/api/v1/assets", auth.ScopeRead, s.listAssets},
		{"GET", "/api/v1/assets/{id}", auth.ScopeRead, s.getAsset},
		{"DELETE", "/api/v1/assets/{id}", auth.ScopeWrite, s.deleteAsset},
		{"PATCH", "/api/v1/assets/{id}", auth.ScopeWrite, s.patchAsset},
		{"POST", "/api/v1/assets/{id}/tags", auth.ScopeWrite, s.postAssetTags},
		{"POST", "/api/v1/tags", auth.ScopeWrite, s.postTags},
		{"POST", "/api/v1/collections", auth.ScopeWrite, s.createCollection},
		{"GET", "/api/v1/collections", auth.ScopeRead, s.listCollections},
		{"GET", "/api/v1/collections/{id}", auth.ScopeRead, s.getCollection},
		{"PATCH", "/api/v1/collections/{id}", auth.ScopeWrite, s.patchCollection},
		{"DELETE", "/api/v1/collections/{id}", auth.ScopeWrite, s.deleteCollection},
		{"GET", "/api/v1/collections/{id}/members", auth.ScopeRead, s.getMembers},
		{"PUT", "/api/v1/collections/{id}/members", auth.ScopeWrite, s.putMembers},
		{"GET", "/api/v1/projects/{project}/fields", auth.ScopeRead, s.getProjectFields},
		{"PUT", "/api/v1/projects/{project}/fields", auth.ScopeAdmin, s.putProjectFields},
		{"GET", "/api/v1/assets/{id}/original", auth.ScopeRead, s.getOriginal},
		{"GET", "/api/v1/assets/{id}/events", auth.ScopeRead, s.listEvents},
		{"GET", "/api/v1/assets/{id}/premis", auth.ScopeRead, s.getPremis},
		{"GET", "/api/v1/assets/{id}/metadata", auth.ScopeRead, s.getMetadata},
		{"GET", "/api/v1/assets/{id}/metadata.xmp", auth.ScopeRead, s.getXMP},
		{"GET", "/api/v1/assets/{id}/text", auth.ScopeRead, s.getText},
		{"POST", "/api/v1/session", "", s.createSession},
		{"DELETE", "/api/v1/session", "", s.deleteSession},
		{"GET", "/api/v1/session", auth.ScopeRead, s.whoami},
		{"POST", "/api/v1/tokens", auth.ScopeAdmin, s.createToken},
		{"GET", "/api/v1/tokens", auth.ScopeAdmin, s.listTokens},
		{"DELETE", "/api/v1/tokens/{id}", auth.ScopeAdmin, s.revokeToken},
	}
	if s.Processing != nil {
		rs = append(rs, s.processingRoutes()...)
	}
	if s.Metrics != nil {
		rs = append(rs, Route{"GET", "/metrics", auth.ScopeRead, func(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
			s.Metrics.ServeHTTP(w, r)
			return nil
		}})
	}
	return append(rs, s.Extra...)
}

// Handler returns the whole HTTP handler with its middleware.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.Routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.Log, &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such endpoint"})
	})
	return s.middleware(mux)
}

func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p *auth.Principal
		if rt.Scope != "" {
			var err error
			if p, err = s.Auth.Authenticate(r); err != nil {
				writeError(w, r, s.Log, err)
				return
			}
			if !p.Has(rt.Scope) {
				writeError(w, r, s.Log, auth.ErrForbidden)
				return
			}
		}
		if err := rt.Handle(w, r, p); err != nil {
			writeError(w, r, s.Log, err)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware gives every request an id and a transaction id, logs it,
// sets security headers and turns a panic into a 500.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rid := r.Header.Get("X-Request-ID")
		if rid == "" || len(rid) > 128 || strings.ContainsFunc(rid, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			rid = uuid.NewString()
		}
		ctx := logging.WithTxID(logging.WithRequestID(r.Context(), rid), uuid.NewString())
		r = r.WithContext(ctx)
		h := w.Header()
		h.Set("X-Request-ID", rid)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.ErrorContext(ctx, "panic", "err", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, r, s.Log, fmt.Errorf("panic: %v", v))
				}
			}
			if s.HTTPDuration != nil {
				pattern := r.Pattern
				if pattern == "" {
					pattern = "unmatched"
				}
				s.HTTPDuration.WithLabelValues(pattern, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
			}
			s.Log.InfoContext(ctx, "http", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"bytes", sw.bytes, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(sw, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "storage": "ok"}
	status := http.StatusOK
	if err := s.DB.Ping(ctx); err != nil {
		checks["database"], status = err.Error(), http.StatusServiceUnavailable
	}
	if _, err := s.Store.Stat(ctx, "readyz-probe"); err != nil && !errors.Is(err, storage.ErrNotExist) {
		checks["storage"], status = err.Error(), http.StatusServiceUnavailable
	}
	writeJSON(w, status, checks)
	return nil
}

// NewHTTPDuration makes the request-duration histogram and registers it.
func NewHTTPDuration(reg prometheus.Registerer) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "stor", Subsystem: "http",
		Name: "request_duration_seconds", Help: "HTTP requests by route and status.",
		Buckets: prometheus.ExponentialBuckets(0.001, 3, 12)}, []string{"route", "status"})
	reg.MustRegister(h)
	return h
}
