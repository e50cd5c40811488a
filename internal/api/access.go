package api

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/logging"
)

// MaxSignedURLLifetime bounds expires_in of a signed URL.
const MaxSignedURLLifetime = 7 * 24 * time.Hour

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// mediaAccess decides a request to a Signed route before ordinary
// authentication: a ?token= must be a valid signed URL for this path (and
// nothing else is then looked at); a public asset is served to anyone.
// It returns nil to fall through to bearer token or session cookie.
// It also returns the download rate that applies (the lower of the
// project's and the signed URL's; 0 is none).
func (s *Server) mediaAccess(r *http.Request, rt Route) (*auth.Principal, int64, error) {
	id, _, _ := strings.Cut(r.PathValue("id"), "~p") // an IIIF id of a document page
	acc, err := s.assetAccess(r.Context(), id)
	if err != nil && !errors.Is(err, catalog.ErrNotFound) {
		return nil, 0, err
	}
	var projectRate int64
	if acc != nil {
		projectRate = acc.DownloadRate
	}
	if tok := r.URL.Query().Get("token"); tok != "" {
		if s.Signer == nil {
			return nil, 0, auth.ErrSignatureInvalid
		}
		g, err := s.Signer.VerifyGrant(tok, r.URL.Path, s.now())
		if err != nil {
			return nil, 0, err
		}
		return auth.SignedPrincipal(g, tok), minRate(projectRate, g.Rate), nil
	}
	if acc == nil || acc.Deleted || !acc.Public || (rt.Original && !acc.PublicOriginals) {
		return nil, projectRate, nil
	}
	return &auth.Principal{Name: "public", Scopes: []string{auth.ScopeRead}, Project: acc.Project, Public: true}, projectRate, nil
}

var derivativeName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// signedTarget maps "what" to the path prefix a token covers and the URL
// handed out.
func signedTarget(id, what string) (prefix, path string, err error) {
	switch {
	case what == "hls":
		return "/media/" + id + "/hls/", "/media/" + id + "/hls/master.m3u8", nil
	case what == "original":
		p := "/api/v1/assets/" + id + "/original"
		return p, p, nil
	case what == "iiif":
		return "/iiif/3/" + id, "/iiif/3/" + id + "/info.json", nil
	case what == "manifest", what == "viewer":
		return auth.AssetScope(id), "/iiif/3/" + id + "/manifest.json", nil
	case strings.HasPrefix(what, "derivative/") && derivativeName.MatchString(strings.TrimPrefix(what, "derivative/")):
		p := "/api/v1/assets/" + id + "/derivatives/" + strings.TrimPrefix(what, "derivative/")
		return p, p, nil
	}
	return "", "", badRequest("invalid_what", `what is "hls", "original", "iiif", "manifest" or "derivative/NAME"`)
}

func (s *Server) createSignedURL(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	if s.Signer == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "not_available", Message: "signed URLs are not configured"}
	}
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	if a.State == catalog.StateDeleted {
		return &Error{Status: http.StatusNotFound, Code: "deleted", Message: "the asset was deleted"}
	}
	var req struct {
		ExpiresIn string `json:"expires_in"`
		What      string `json:"what"`
		// MaxRate bounds each download the URL opens, bytes per second.
		MaxRate int64 `json:"max_rate"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("invalid_json", err.Error())
	}
	life := time.Hour
	if req.ExpiresIn != "" {
		if life, err = time.ParseDuration(req.ExpiresIn); err != nil || life <= 0 || life > MaxSignedURLLifetime {
			return badRequest("invalid_expires_in", "expires_in is a positive Go duration (e.g. 1h) of at most "+MaxSignedURLLifetime.String())
		}
	}
	prefix, path, err := signedTarget(a.ID, req.What)
	if err != nil {
		return err
	}
	if req.MaxRate < 0 {
		return badRequest("invalid_max_rate", "max_rate is bytes per second, 0 for no limit of its own")
	}
	exp := s.now().Add(life).Truncate(time.Second)
	tok := s.Signer.SignRate(prefix, exp, req.MaxRate)
	out := map[string]any{
		"url": s.BaseURL + path + "?token=" + tok, "token": tok, "path_prefix": prefix,
		"expires_at": exp.UTC().Format(time.RFC3339),
		// The same URL with the token in its path: what to give an IIIF
		// viewer, whose tile requests drop the query.
		"path_url": s.BaseURL + PathTokenPrefix + tok + path,
	}
	if req.MaxRate > 0 {
		out["max_rate"] = req.MaxRate
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) putVisibility(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	var req struct {
		Visibility string `json:"visibility"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("invalid_json", err.Error())
	}
	switch req.Visibility {
	case catalog.VisibilityProject, catalog.VisibilityPublic, catalog.VisibilityPrivate:
	default:
		return badRequest("invalid_visibility", `visibility is "project", "public" or "private"`)
	}
	detail, _ := json.Marshal(map[string]string{"visibility": req.Visibility})
	err = s.DB.InTx(r.Context(), func(tx *sql.Tx) error {
		if err := catalog.SetAssetVisibility(r.Context(), tx, a.ID, req.Visibility); err != nil {
			return err
		}
		return catalog.AddEvent(r.Context(), tx, catalog.Event{AssetID: a.ID, Type: "visibility_changed",
			Actor: p.Actor(), TxID: logging.TxID(r.Context()), Detail: string(detail)})
	})
	s.Access.Forget()
	if err != nil {
		return err
	}
	return s.writeAccess(w, r, a.ID)
}

func (s *Server) writeAccess(w http.ResponseWriter, r *http.Request, id string) error {
	acc, err := catalog.GetAssetAccess(r.Context(), s.DB.Reader(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "project": acc.Project, "visibility": acc.Visibility,
		"public": acc.Public, "public_original": acc.PublicOriginals})
	return nil
}

func projectName(r *http.Request, p *auth.Principal) (string, error) {
	name := r.PathValue("name")
	if name == "" || len(name) > 200 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 }) {
		return "", badRequest("invalid_project", "project names are at most 200 printable characters")
	}
	if !p.SeesProject(name) {
		return "", fmt.Errorf("project %s: %w", strconv.Quote(name), catalog.ErrNotFound)
	}
	return name, nil
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name, err := projectName(r, p)
	if err != nil {
		return err
	}
	pr, err := catalog.GetProject(r.Context(), s.DB.Reader(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pr)
	return nil
}

func (s *Server) putProject(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	name, err := projectName(r, p)
	if err != nil {
		return err
	}
	var req struct {
		Public          *bool  `json:"public"`
		PublicOriginals *bool  `json:"public_originals"`
		DownloadRate    *int64 `json:"download_rate"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return badRequest("invalid_json", err.Error())
	}
	var pr *catalog.Project
	err = s.DB.InTx(r.Context(), func(tx *sql.Tx) error {
		if pr, err = catalog.GetProject(r.Context(), tx, name); err != nil {
			return err
		}
		if req.Public != nil {
			pr.Public = *req.Public
		}
		if req.PublicOriginals != nil {
			pr.PublicOriginals = *req.PublicOriginals
		}
		if req.DownloadRate != nil {
			if *req.DownloadRate < 0 {
				return badRequest("invalid_download_rate", "download_rate is bytes per second, 0 for none")
			}
			pr.DownloadRate = *req.DownloadRate
		}
		return catalog.PutProject(r.Context(), tx, pr)
	})
	s.Access.Forget()
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "project access changed", "project", name, "public", pr.Public,
		"public_originals", pr.PublicOriginals, "actor", p.Actor())
	writeJSON(w, http.StatusOK, pr)
	return nil
}
