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
func (s *Server) mediaAccess(r *http.Request, rt Route) (*auth.Principal, error) {
	if tok := r.URL.Query().Get("token"); tok != "" {
		if s.Signer == nil {
			return nil, auth.ErrSignatureInvalid
		}
		kid, err := s.Signer.Verify(tok, r.URL.Path, s.now())
		if err != nil {
			return nil, err
		}
		return auth.SignedPrincipal(kid), nil
	}
	acc, err := catalog.GetAssetAccess(r.Context(), s.DB.Reader(), r.PathValue("id"))
	if errors.Is(err, catalog.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if acc.Deleted || !acc.Public || (rt.Original && !acc.PublicOriginals) {
		return nil, nil
	}
	return &auth.Principal{Name: "public", Scopes: []string{auth.ScopeRead}, Project: acc.Project, Public: true}, nil
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
	case strings.HasPrefix(what, "derivative/") && derivativeName.MatchString(strings.TrimPrefix(what, "derivative/")):
		p := "/api/v1/assets/" + id + "/derivatives/" + strings.TrimPrefix(what, "derivative/")
		return p, p, nil
	}
	return "", "", badRequest("invalid_what", `what is "hls", "original", "iiif" or "derivative/NAME"`)
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
	exp := s.now().Add(life).Truncate(time.Second)
	tok := s.Signer.Sign(prefix, exp)
	writeJSON(w, http.StatusOK, map[string]any{
		"url": s.BaseURL + path + "?token=" + tok, "token": tok, "path_prefix": prefix,
		"expires_at": exp.UTC().Format(time.RFC3339),
	})
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
		Public          *bool `json:"public"`
		PublicOriginals *bool `json:"public_originals"`
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
		return catalog.PutProject(r.Context(), tx, pr)
	})
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "project access changed", "project", name, "public", pr.Public,
		"public_originals", pr.PublicOriginals, "actor", p.Actor())
	writeJSON(w, http.StatusOK, pr)
	return nil
}
