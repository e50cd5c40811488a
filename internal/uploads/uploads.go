// Package uploads is stor's resumable upload door: tus 1.0 at /uploads/
// with tusd v2 as a library (creation, creation-with-upload, termination,
// expiration, concatenation), and POST /api/v1/assets/from-url.
//
// Bytes land in DATA/uploads/ (the same filesystem as the blob store), are
// hashed (SHA-256 and MD5) as they arrive with the hash state saved beside
// the data at each checkpoint, so a resumed upload continues its hash and a
// finished one has its checksums at once. A finished upload goes through
// ingest.Ingester.Commit like POST /api/v1/assets; the data file is moved
// into the store by rename.
//
// Locking is tusd's filelocker (one node per data dir) on the embedded
// default, and PGLocker (PostgreSQL advisory locks, shared by every node)
// when the catalog is on PostgreSQL.
package uploads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/ingest"
)

// BasePath is where tus is mounted.
const BasePath = "/uploads/"

// AssetIDHeader carries the asset a finished upload became, on the final
// PATCH (or the final concatenation POST); Location is not used for it
// because tus gives Location its own meaning on POST.
const AssetIDHeader = "Stor-Asset-Id"

// AssetURLHeader is the asset's API URL.
const AssetURLHeader = "Stor-Asset-Url"

// Config is what the tus service needs.
type Config struct {
	Dir     string // DATA/uploads
	MaxSize int64
	Expiry  time.Duration
	BaseURL string
	Ingest  *ingest.Ingester
	Auth    *auth.Authenticator
	Log     *slog.Logger
	// Locker, when set, replaces the filelocker (PGLocker on PostgreSQL).
	Locker handler.Locker
}

// Service is the tus endpoint with its auth, hashing store and sweeper.
type Service struct {
	cfg    Config
	store  *Store
	locker filelocker.FileLocker
	tus    *handler.Handler
}

// New builds the tus handler over a hashing filestore and filelocker.
func New(cfg Config) (*Service, error) {
	st, err := NewStore(cfg.Dir)
	if err != nil {
		return nil, err
	}
	st.DeferMD5 = cfg.Ingest != nil && cfg.Ingest.DeferMD5
	s := &Service{cfg: cfg, store: st, locker: filelocker.New(st.Dir)}
	s.locker.HolderPollInterval = 500 * time.Millisecond
	s.locker.AcquirerPollInterval = 250 * time.Millisecond
	comp := handler.NewStoreComposer()
	st.UseIn(comp)
	if cfg.Locker != nil {
		comp.UseLocker(cfg.Locker)
	} else {
		s.locker.UseIn(comp)
	}
	cors := handler.DefaultCorsConfig
	cors.ExposeHeaders += ", Upload-Expires, " + AssetIDHeader + ", " + AssetURLHeader
	cors.AllowHeaders += ", " + auth.CSRFHeader
	s.tus, err = handler.NewHandler(handler.Config{
		StoreComposer:             comp,
		BasePath:                  BasePath,
		MaxSize:                   cfg.MaxSize,
		DisableDownload:           true,
		Cors:                      &cors,
		PreUploadCreateCallback:   s.preCreate,
		PreFinishResponseCallback: s.preFinish,
		Logger: xslog.New(xslog.NewJSONHandler(os.Stderr,
			&xslog.HandlerOptions{Level: xslog.LevelWarn})),
		NetworkTimeout: 60 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("uploads: %w", err)
	}
	return s, nil
}

type principalKey struct{}

func principalFrom(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// tusError is an error tusd sends as it is, with stor's JSON error body.
func tusError(status int, code, msg string) handler.Error {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"code": code, "message": msg}})
	return handler.Error{ErrorCode: code, Message: msg, HTTPResponse: handler.HTTPResponse{
		StatusCode: status, Body: string(body) + "\n",
		Header: handler.HTTPHeader{"Content-Type": "application/json; charset=utf-8"},
	}}
}

func writeTusError(w http.ResponseWriter, r *http.Request, e handler.Error) {
	h := w.Header()
	h.Set("Tus-Resumable", "1.0.0")
	for k, v := range e.HTTPResponse.Header {
		h.Set(k, v)
	}
	if e.HTTPResponse.StatusCode == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="stor"`)
	}
	w.WriteHeader(e.HTTPResponse.StatusCode)
	if r.Method != http.MethodHead {
		w.Write([]byte(e.HTTPResponse.Body))
	}
}

// validID is the shape of the ids tusd's filestore makes (hex); anything
// else is refused before it can name a file.
var validID = regexp.MustCompile(`^[0-9a-f]{16,64}$`)

// Routes are the tus methods on /uploads/, for api.Server.Extra. They have
// no api scope: ServeHTTP authenticates every request itself so that
// refusals are tus responses.
func (s *Service) Routes() []api.Route {
	var out []api.Route
	for _, m := range []string{"OPTIONS", "POST", "HEAD", "PATCH", "DELETE"} {
		rt := api.Route{Method: m, Pattern: BasePath, Scope: "",
			Handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
				s.ServeHTTP(w, r)
				return nil
			}}
		if m == "POST" { // creating an upload counts against the upload rate limit
			rt.Limit = api.LimitUpload
		}
		out = append(out, rt)
	}
	return out
}

// ServeHTTP authenticates, authorises and then hands the request to tusd.
// OPTIONS (discovery, and the CORS preflight a browser sends without
// credentials) is the one method answered without a token.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		s.serveTus(&expiresWriter{ResponseWriter: w, s: s, r: r}, r)
		return
	}
	p, err := s.cfg.Auth.Authenticate(r)
	switch {
	case errors.Is(err, auth.ErrUnauthenticated):
		writeTusError(w, r, tusError(http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required"))
		return
	case errors.Is(err, auth.ErrForbidden):
		writeTusError(w, r, tusError(http.StatusForbidden, "forbidden", "cookie requests need the "+auth.CSRFHeader+" header"))
		return
	case err != nil:
		s.cfg.Log.ErrorContext(r.Context(), "tus auth", "err", err)
		writeTusError(w, r, tusError(http.StatusInternalServerError, "internal_error", "internal error"))
		return
	case !p.Has(auth.ScopeWrite):
		writeTusError(w, r, tusError(http.StatusForbidden, "forbidden", "uploads need a token with the write scope"))
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))

	id := strings.Trim(strings.TrimPrefix(r.URL.Path, BasePath), "/")
	if id != "" {
		if !validID.MatchString(id) {
			writeTusError(w, r, tusError(http.StatusNotFound, "not_found", "no such upload"))
			return
		}
		st, err := s.store.readState(id)
		if err != nil {
			writeTusError(w, r, tusError(http.StatusNotFound, "not_found", "no such upload"))
			return
		}
		if !p.SeesProject(st.Project) {
			// Like assets: another project's upload does not exist.
			writeTusError(w, r, tusError(http.StatusNotFound, "not_found", "no such upload"))
			return
		}
		if exp := s.expires(id); !exp.IsZero() && time.Now().After(exp) {
			s.removeIfIdle(r.Context(), id)
			writeTusError(w, r, tusError(http.StatusGone, "upload_expired", "the upload expired and was removed"))
			return
		}
	} else if r.Method == http.MethodPost {
		if err := s.checkConcatParts(r, p); err != nil {
			writeTusError(w, r, *err)
			return
		}
	}
	s.serveTus(&expiresWriter{ResponseWriter: w, s: s, r: r}, r)
}

func (s *Service) serveTus(w http.ResponseWriter, r *http.Request) {
	http.StripPrefix(strings.TrimSuffix(BasePath, "/"), s.tus).ServeHTTP(w, r)
}

// checkConcatParts makes sure a final upload only names parts its caller
// may see.
func (s *Service) checkConcatParts(r *http.Request, p *auth.Principal) *handler.Error {
	h := r.Header.Get("Upload-Concat")
	if !strings.HasPrefix(h, "final;") {
		return nil
	}
	for _, v := range strings.Fields(strings.TrimPrefix(h, "final;")) {
		_, id, ok := strings.Cut(v, BasePath)
		id = strings.Trim(id, "/")
		st, err := s.store.readState(id)
		if !ok || !validID.MatchString(id) || err != nil || !p.SeesProject(st.Project) || !st.Partial {
			e := tusError(http.StatusBadRequest, "invalid_concat", "Upload-Concat names an unknown or non-partial upload: "+v)
			return &e
		}
	}
	return nil
}

// expiresWriter adds Upload-Expires (the expiration extension) to
// responses about unfinished uploads, and names the extension in OPTIONS.
type expiresWriter struct {
	http.ResponseWriter
	s    *Service
	r    *http.Request
	done bool
}

func (w *expiresWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		h := w.Header()
		if ext := h.Get("Tus-Extension"); ext != "" {
			h.Set("Tus-Extension", ext+",expiration")
		}
		id := strings.Trim(strings.TrimPrefix(w.r.URL.Path, BasePath), "/")
		if id == "" {
			if loc := h.Get("Location"); loc != "" {
				_, id, _ = strings.Cut(loc, BasePath)
			}
		}
		if id != "" && code < 300 && h.Get(AssetIDHeader) == "" && validID.MatchString(id) {
			if exp := w.s.expiresAfterNow(id); !exp.IsZero() {
				h.Set("Upload-Expires", exp.UTC().Format(http.TimeFormat))
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *expiresWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *expiresWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// lastActivity is the newest modification of an upload's files.
func (s *Service) lastActivity(id string) time.Time {
	var t time.Time
	for _, p := range []string{s.store.binPath(id), s.store.statePath(id), filepath.Join(s.store.Dir, id+".info")} {
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// expires is when an idle upload expires (zero: unknown upload).
func (s *Service) expires(id string) time.Time {
	t := s.lastActivity(id)
	if t.IsZero() {
		return t
	}
	return t.Add(s.cfg.Expiry)
}

// expiresAfterNow is the expiry as a response announces it: the request
// being answered is activity too.
func (s *Service) expiresAfterNow(id string) time.Time {
	if s.lastActivity(id).IsZero() {
		return time.Time{}
	}
	return time.Now().Add(s.cfg.Expiry)
}

// preCreate checks the metadata and the project before an upload exists.
func (s *Service) preCreate(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
	p := principalFrom(ev.Context)
	if p == nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required")
	}
	md := ev.Upload.MetaData
	if md == nil {
		md = handler.MetaData{}
	}
	project := md["project"]
	switch {
	case project == "" && p.Project != "":
		project = p.Project
	case project == "":
		project = "default"
	case !p.SeesProject(project):
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusForbidden, "forbidden",
			fmt.Sprintf("this token may not upload to project %q", project))
	case len(project) > 200 || strings.ContainsFunc(project, func(r rune) bool { return r < 0x20 }):
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusBadRequest, "invalid_project",
			"project names are at most 200 printable characters")
	}
	md["project"] = project
	// Uppy's tus plugin names the file "name"; tus-js-client and curl
	// users send "filename".
	if md["filename"] == "" && md["name"] != "" {
		md["filename"] = md["name"]
	}
	if !ev.Upload.IsPartial && !ev.Upload.IsFinal && md["filename"] == "" {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusBadRequest, "missing_filename",
			"Upload-Metadata needs a filename")
	}
	if v := md["sha256"]; v != "" {
		if _, err := ingest.ParseSHA256(v); err != nil {
			return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusBadRequest, "invalid_checksum", err.Error())
		}
	}
	if v := md["md5"]; v != "" {
		if _, err := ingest.ParseMD5(v); err != nil {
			return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusBadRequest, "invalid_checksum", err.Error())
		}
	}
	return handler.HTTPResponse{}, handler.FileInfoChanges{MetaData: md}, nil
}

// preFinish turns a finished upload into an asset through
// Ingester.Commit. Its answer (or its error) is the answer to the last
// PATCH; on failure the upload is removed.
func (s *Service) preFinish(ev handler.HookEvent) (handler.HTTPResponse, error) {
	info := ev.Upload
	if info.IsPartial {
		return handler.HTTPResponse{}, nil
	}
	ctx := ev.Context
	actor := ""
	if p := principalFrom(ctx); p != nil {
		actor = p.Actor()
	}
	assetID, err := s.commit(ctx, info, actor)
	if err != nil {
		return handler.HTTPResponse{}, err
	}
	url := s.cfg.BaseURL + "/api/v1/assets/" + assetID
	return handler.HTTPResponse{Header: handler.HTTPHeader{AssetIDHeader: assetID, AssetURLHeader: url}}, nil
}

// commit makes a complete upload an asset through Ingester.Commit, then
// removes the upload and its concatenated parts. The idempotency key is
// the upload's id, so committing again (after a crash between the commit
// and the removal) answers with the same asset. Errors are tus errors.
func (s *Service) commit(ctx context.Context, info handler.FileInfo, actor string) (string, error) {
	sp, st, err := s.store.finished(info.ID)
	if err != nil {
		s.cfg.Log.ErrorContext(ctx, "tus finish", "upload", info.ID, "err", err)
		return "", tusError(http.StatusInternalServerError, "internal_error", "internal error")
	}
	md := info.MetaData
	meta := ingest.Meta{
		Filename: md["filename"], Project: st.Project, IgnoreUnsupported: truthy(md["ignore_unsupported"]),
		IdempotencyKey: "tus:" + info.ID, TokenID: st.TokenID, Actor: st.Actor, TxID: "tus-" + info.ID,
	}
	if actor != "" {
		meta.Actor = actor
	}
	if meta.Filename == "" {
		meta.Filename = "upload-" + info.ID
	}
	if v := md["sha256"]; v != "" {
		meta.ExpectSHA256, _ = ingest.ParseSHA256(v)
	}
	if v := md["md5"]; v != "" {
		meta.ExpectMD5, _ = ingest.ParseMD5(v)
	}
	res, err := s.cfg.Ingest.Commit(ctx, sp, meta)
	// Commit consumed the data file (moved into the store or removed);
	// the rest of the upload goes either way, and concatenated parts too.
	s.store.remove(info.ID)
	for _, part := range info.PartialUploads {
		if validID.MatchString(part) {
			s.store.remove(part)
		}
	}
	if err != nil {
		status, code, msg := api.Classify(err)
		if status >= 500 {
			s.cfg.Log.ErrorContext(ctx, "tus commit", "upload", info.ID, "err", err)
		}
		return "", tusError(status, code, msg)
	}
	return res.Asset.ID, nil
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
