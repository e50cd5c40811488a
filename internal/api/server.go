// Package api is stor's HTTP interface: the routes of API.md, each
// declaring the scope it needs, authenticated in one place and with errors
// mapped to status codes in one place (errors.go).
package api

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
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
	// Draining reports a shutdown in progress: /readyz then answers 503 so
	// that load balancers stop sending requests. Nil: never.
	Draining func() bool
	// HTTPDuration, when set, observes each request by route and status.
	HTTPDuration *prometheus.HistogramVec
	// Metadata writes XMP sidecars and embeds fields into downloaded
	// copies; nil answers those routes with 503 not_available.
	Metadata MetadataWriter
	// TempDir holds short-lived files (embedded copies being served).
	TempDir string
	// Extra routes added by other parts (uploads, UI, IIIF).
	Extra []Route
	// Access, when set, caches assets' access rows for signed and public
	// media routes (IIIF tiles) for a few seconds; nil reads the catalog
	// every request.
	Access *AccessCache
	// Events, when set, sends webhook events of changes made here (asset
	// deleted), queued in the change's own transaction.
	Events Emitter
	// Signer makes and checks signed URLs; nil turns them off (the
	// signed-url route answers 503 and a ?token= is refused).
	Signer *auth.Signer
	// CORSOrigins may call the API (/api/...) from a browser: exact
	// origins ("https://shop.example"); "*" is any. Without credentials:
	// bearer tokens only, never the session cookie.
	CORSOrigins []string
	// Now is the clock of signed URLs; nil is time.Now.
	Now func() time.Time
	// PresignExpiry > 0 answers authorized downloads of originals and
	// derivatives with a 302 to a presigned URL of that lifetime, when the
	// Store is a storage.Presigner (S3). 0 serves the bytes.
	PresignExpiry time.Duration
	// AccelRedirect, when set, answers authorized downloads of originals
	// and derivatives on a local store (storage.Localizer) with an empty
	// response carrying X-Accel-Redirect: AccelRedirect + key, for nginx
	// to send the file (see docs/deployment.md).
	AccelRedirect string
	// S3PartURLExpiry is the lifetime of the part URLs of direct uploads
	// (/api/v1/uploads/s3); 0 is 15 minutes.
	S3PartURLExpiry time.Duration
	// Limits are the rate limits (sign-in, uploads, every request) and
	// the default download rate; the zero value limits nothing.
	Limits Limits
	// Lockout locks a username out of sign-in after repeated failures
	// (state in the catalog, shared by every node); nil: never.
	Lockout *auth.Lockout
	// TrustedProxies are the peers whose Forwarded, X-Forwarded-For and
	// X-Forwarded-Proto are believed (client IP of rate limits, audit and
	// sessions; HTTPS of cookies and HSTS); empty: nobody's.
	TrustedProxies []netip.Prefix
	// SessionTTL is how long a web session lasts; 0 is 12h.
	SessionTTL time.Duration
	// limiters holds the rate limiters' state (made on first use).
	limiters *limiterSet
	limOnce  sync.Once
}

// Emitter queues webhook deliveries of an event in tx.
type Emitter interface {
	Emit(ctx context.Context, tx *sql.Tx, event string, a *catalog.Asset, extra map[string]any) error
}

// Route is one endpoint. Scope "" means no authentication at all; every
// other route authenticates and requires that scope.
type Route struct {
	Method, Pattern string
	Scope           string
	Handle          func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error
	// Signed marks media of one asset (the pattern has {id}) that a
	// signed URL (?token=) may open instead of a bearer token, and that
	// anyone may open without credentials when the asset is public. Only
	// with Scope read.
	Signed bool
	// Original: with Signed, the asset's original bytes, public only when
	// its project also has public_originals.
	Original bool
	// Limit names the rate limit the route counts against besides the
	// general one: LimitSignIn or LimitUpload.
	Limit string
	// Audit, when set, is the audit-log action of a call of this route;
	// non-GET routes with Scope admin are audited even without it.
	Audit string
	// OpenCORS: any origin may read the route's responses, errors
	// included (IIIF, HLS, manifests: viewers on other sites).
	OpenCORS bool
}

func rt(method, pattern, scope string, h func(http.ResponseWriter, *http.Request, *auth.Principal) error) Route {
	return Route{Method: method, Pattern: pattern, Scope: scope, Handle: h}
}

// signed marks r as media a signed URL or public access may open.
func signed(r Route) Route { r.Signed = true; return r }

// Routes is the full route table: the router is built from it and the
// authorisation tests walk it.
func (s *Server) Routes() []Route {
	rs := []Route{
		rt("GET", "/healthz", "", s.healthz),
		rt("GET", "/readyz", "", s.readyz),
		rt("POST", "/api/v1/uploads/s3/multipart", auth.ScopeWrite, s.createS3Upload),
		rt("GET", "/api/v1/uploads/s3/multipart/{upload}/{part}", auth.ScopeWrite, s.signS3Part),
		rt("GET", "/api/v1/uploads/s3/multipart/{upload}", auth.ScopeWrite, s.listS3Parts),
		rt("POST", "/api/v1/uploads/s3/multipart/{upload}/complete", auth.ScopeWrite, s.completeS3Upload),
		rt("DELETE", "/api/v1/uploads/s3/multipart/{upload}", auth.ScopeWrite, s.abortS3Upload),
		rt("GET", "/api/openapi.json", "", s.openapi),
		{Method: "POST", Pattern: "/api/v1/assets", Scope: auth.ScopeWrite, Handle: s.createAsset, Limit: LimitUpload},
		rt("GET", "/api/v1/assets", auth.ScopeRead, s.listAssets),
		rt("GET", "/api/v1/assets/{id}", auth.ScopeRead, s.getAsset),
		{Method: "DELETE", Pattern: "/api/v1/assets/{id}", Scope: auth.ScopeWrite, Handle: s.deleteAsset, Audit: "asset.delete"},
		rt("PATCH", "/api/v1/assets/{id}", auth.ScopeWrite, s.patchAsset),
		rt("POST", "/api/v1/assets/{id}/tags", auth.ScopeWrite, s.postAssetTags),
		rt("POST", "/api/v1/tags", auth.ScopeWrite, s.postTags),
		rt("POST", "/api/v1/collections", auth.ScopeWrite, s.createCollection),
		rt("GET", "/api/v1/collections", auth.ScopeRead, s.listCollections),
		rt("GET", "/api/v1/collections/{id}", auth.ScopeRead, s.getCollection),
		rt("PATCH", "/api/v1/collections/{id}", auth.ScopeWrite, s.patchCollection),
		rt("DELETE", "/api/v1/collections/{id}", auth.ScopeWrite, s.deleteCollection),
		rt("GET", "/api/v1/collections/{id}/members", auth.ScopeRead, s.getMembers),
		rt("PUT", "/api/v1/collections/{id}/members", auth.ScopeWrite, s.putMembers),
		rt("GET", "/api/v1/projects/{project}/fields", auth.ScopeRead, s.getProjectFields),
		rt("PUT", "/api/v1/projects/{project}/fields", auth.ScopeAdmin, s.putProjectFields),
		{Method: "GET", Pattern: "/api/v1/assets/{id}/original", Scope: auth.ScopeRead, Handle: s.getOriginal, Signed: true, Original: true},
		rt("POST", "/api/v1/assets/{id}/signed-url", auth.ScopeRead, s.createSignedURL),
		{Method: "PUT", Pattern: "/api/v1/assets/{id}/visibility", Scope: auth.ScopeWrite, Handle: s.putVisibility, Audit: "asset.visibility"},
		rt("GET", "/api/v1/projects/{name}", auth.ScopeRead, s.getProject),
		rt("PUT", "/api/v1/projects/{name}", auth.ScopeAdmin, s.putProject),
		rt("GET", "/api/v1/assets/{id}/events", auth.ScopeRead, s.listEvents),
		rt("GET", "/api/v1/assets/{id}/premis", auth.ScopeRead, s.getPremis),
		rt("GET", "/api/v1/assets/{id}/metadata", auth.ScopeRead, s.getMetadata),
		rt("GET", "/api/v1/assets/{id}/metadata.xmp", auth.ScopeRead, s.getXMP),
		rt("GET", "/api/v1/assets/{id}/text", auth.ScopeRead, s.getText),
		{Method: "POST", Pattern: "/api/v1/session", Handle: s.createSession, Limit: LimitSignIn},
		rt("DELETE", "/api/v1/session", "", s.deleteSession),
		rt("GET", "/api/v1/session", auth.ScopeRead, s.whoami),
		rt("GET", "/api/v1/sessions", auth.ScopeRead, s.listSessions),
		rt("DELETE", "/api/v1/sessions/{id}", auth.ScopeRead, s.revokeSession),
		{Method: "PUT", Pattern: "/api/v1/account/password", Scope: auth.ScopeRead, Handle: s.changePassword, Limit: LimitSignIn, Audit: "account.password"},
		rt("POST", "/api/v1/users", auth.ScopeAdmin, s.createUser),
		rt("GET", "/api/v1/users", auth.ScopeAdmin, s.listUsers),
		rt("GET", "/api/v1/users/{id}", auth.ScopeAdmin, s.getUser),
		rt("PATCH", "/api/v1/users/{id}", auth.ScopeAdmin, s.patchUser),
		rt("GET", "/api/v1/audit", auth.ScopeAdmin, s.listAudit),
		rt("GET", "/api/v1/signin-locks", auth.ScopeAdmin, s.listSigninLocks),
		{Method: "DELETE", Pattern: "/api/v1/signin-locks/{name}", Scope: auth.ScopeAdmin, Handle: s.deleteSigninLock, Audit: "signin.unlock"},
		rt("POST", "/api/v1/tokens", auth.ScopeAdmin, s.createToken),
		rt("GET", "/api/v1/tokens", auth.ScopeAdmin, s.listTokens),
		rt("DELETE", "/api/v1/tokens/{id}", auth.ScopeAdmin, s.revokeToken),
		rt("POST", "/api/v1/webhooks", auth.ScopeAdmin, s.createWebhook),
		rt("GET", "/api/v1/webhooks", auth.ScopeAdmin, s.listWebhooks),
		rt("DELETE", "/api/v1/webhooks/{id}", auth.ScopeAdmin, s.deleteWebhook),
		rt("GET", "/api/v1/webhooks/{id}/deliveries", auth.ScopeAdmin, s.listDeliveries),
	}
	if s.Processing != nil {
		rs = append(rs, s.processingRoutes()...)
	}
	if s.Metrics != nil {
		rs = append(rs, Route{Method: "GET", Pattern: "/metrics", Scope: auth.ScopeRead, Handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
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
	audit := rt.Audit
	if audit == "" && rt.Scope == auth.ScopeAdmin && rt.Method != http.MethodGet {
		audit = rt.Method + " " + rt.Pattern
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.OpenCORS {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		if err := s.rateLimit(w, r, rt); err != nil {
			writeError(w, r, s.Log, err)
			return
		}
		var p *auth.Principal
		var rate int64
		if rt.Signed && rt.Scope == auth.ScopeRead {
			var err error
			if p, rate, err = s.mediaAccess(r, rt); err != nil {
				writeError(w, r, s.Log, err)
				return
			}
		}
		if rt.Scope != "" && p == nil {
			var err error
			if p, err = s.Auth.Authenticate(r); err != nil {
				if rt.Signed && errors.Is(err, auth.ErrUnauthenticated) && !possibleAssetID(r.PathValue("id")) {
					err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such asset"}
				}
				writeError(w, r, s.Log, err)
				return
			}
			if !p.Has(rt.Scope) {
				writeError(w, r, s.Log, auth.ErrForbidden)
				return
			}
		}
		if rt.Signed {
			if rate = minRate(rate, s.Limits.DownloadRate); rate > 0 {
				w = newThrottledWriter(r.Context(), w, rate)
			}
		}
		rec := &statusWriter{ResponseWriter: w}
		if err := rt.Handle(rec, r, p); err != nil {
			writeError(rec, r, s.Log, err)
		}
		switch {
		case audit != "":
			s.audit(r, p, audit, auditTarget(r), rec.status, nil)
		case rt.Original && p != nil && !p.Public && rec.status < 400 && rec.status != 0:
			s.audit(r, p, "original.download", r.PathValue("id"), rec.status, nil)
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
		ctx = s.withClient(ctx, r)
		r = r.WithContext(ctx)
		h := w.Header()
		h.Set("X-Request-ID", rid)
		securityHeaders(h, r)
		r = s.pathToken(r)
		if s.cors(w, r) {
			return // a preflight, answered
		}
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
	if s.Draining != nil && s.Draining() {
		checks["shutdown"], status = "draining", http.StatusServiceUnavailable
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
