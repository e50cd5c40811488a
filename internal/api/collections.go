package api

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"stor/internal/auth"
	"stor/internal/catalog"
)

// collectionJSON is the collection object of API.md.
type collectionJSON struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Project     string            `json:"project"`
	ParentID    *string           `json:"parent_id"`
	MemberCount int               `json:"member_count"`
	CreatedAt   string            `json:"created_at"`
	UpdatedAt   string            `json:"updated_at"`
	Links       map[string]string `json:"links"`
}

func (s *Server) collectionView(c *catalog.Collection) collectionJSON {
	self := s.BaseURL + "/api/v1/collections/" + c.ID
	v := collectionJSON{ID: c.ID, Name: c.Name, Project: c.Project, MemberCount: c.MemberCount,
		CreatedAt: rfc3339(c.CreatedAt), UpdatedAt: rfc3339(c.UpdatedAt),
		Links: map[string]string{"self": self, "members": self + "/members",
			"manifest": s.BaseURL + "/iiif/3/collections/" + c.ID + "/manifest.json"}}
	if c.ParentID != "" {
		v.ParentID = &c.ParentID
	}
	return v
}

// visibleCollection loads a collection the principal may see: one of its
// project, or one of no project.
func (s *Server) visibleCollection(r *http.Request, p *auth.Principal, id string) (*catalog.Collection, error) {
	c, err := catalog.GetCollection(r.Context(), s.DB.Reader(), id)
	if err != nil {
		return nil, err
	}
	if c.Project != "" && !p.SeesProject(c.Project) {
		return nil, catalog.ErrNotFound
	}
	return c, nil
}

func (s *Server) createCollection(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	var req struct {
		Name     string `json:"name"`
		Project  string `json:"project"`
		ParentID string `json:"parent_id"`
	}
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return badRequest("invalid", `field "name": required`)
	}
	if p.Project != "" {
		if req.Project != "" && req.Project != p.Project {
			return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "this token is bound to project " + p.Project}
		}
		req.Project = p.Project
	}
	if req.ParentID != "" {
		if _, err := s.visibleCollection(r, p, req.ParentID); err != nil {
			return badRequest("invalid", `field "parent_id": no such collection`)
		}
	}
	c := &catalog.Collection{ID: uuid.Must(uuid.NewV7()).String(), Name: req.Name, Project: req.Project, ParentID: req.ParentID}
	ctx := r.Context()
	if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return catalog.CreateCollection(ctx, tx, c) }); err != nil {
		return err
	}
	w.Header().Set("Location", s.BaseURL+"/api/v1/collections/"+c.ID)
	writeJSON(w, http.StatusCreated, s.collectionView(c))
	return nil
}

func (s *Server) listCollections(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	parent := r.URL.Query().Get("parent_id")
	if r.URL.Query().Get("all") != "" {
		parent = "*"
	}
	var projects []string
	if p.Project != "" {
		projects = []string{p.Project}
	}
	list, err := catalog.ListCollections(r.Context(), s.DB.Reader(), parent, projects)
	if err != nil {
		return err
	}
	items := make([]collectionJSON, len(list))
	for i, c := range list {
		items[i] = s.collectionView(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) getCollection(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	c, err := s.visibleCollection(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.collectionView(c))
	return nil
}

// patchCollection renames ({"name"}) and moves ({"parent_id": id or null}).
func (s *Server) patchCollection(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	c, err := s.visibleCollection(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req map[string]json.RawMessage
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	var name, parent *string
	for k, raw := range req {
		switch k {
		case "name":
			if err := json.Unmarshal(raw, &name); err != nil || name == nil || strings.TrimSpace(*name) == "" {
				return badRequest("invalid", `field "name": a non-empty string`)
			}
		case "parent_id":
			var pid *string
			if err := json.Unmarshal(raw, &pid); err != nil {
				return badRequest("invalid", `field "parent_id": a collection id or null`)
			}
			if pid == nil {
				pid = new(string)
			} else if _, err := s.visibleCollection(r, p, *pid); err != nil {
				return badRequest("invalid", `field "parent_id": no such collection`)
			}
			parent = pid
		default:
			return badRequest("invalid", `field "`+k+`": not a field of a collection`)
		}
	}
	ctx := r.Context()
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = catalog.UpdateCollection(ctx, tx, c.ID, name, parent)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.collectionView(c))
	return nil
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	c, err := s.visibleCollection(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return catalog.DeleteCollection(ctx, tx, c.ID) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// putMembers replaces the members, in order: {"ids": [...]}.
func (s *Server) putMembers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	c, err := s.visibleCollection(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	var req struct {
		IDs []string `json:"ids"`
	}
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range req.IDs {
		a, err := catalog.GetAsset(r.Context(), s.DB.Reader(), id)
		if err != nil || !p.SeesProject(a.Project) || (c.Project != "" && a.Project != c.Project) {
			return badRequest("invalid", `field "ids": no such asset in this collection's project: `+id)
		}
		if seen[id] {
			return badRequest("invalid", `field "ids": listed twice: `+id)
		}
		seen[id] = true
	}
	ctx := r.Context()
	if err := s.DB.InTx(ctx, func(tx *sql.Tx) error { return catalog.SetMembers(ctx, tx, c.ID, req.IDs) }); err != nil {
		return err
	}
	return s.getMembers(w, r, p)
}

// getMembers lists the members in order, as asset objects.
func (s *Server) getMembers(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	c, err := s.visibleCollection(r, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	list, err := catalog.Members(r.Context(), s.DB.Reader(), c.ID)
	if err != nil {
		return err
	}
	var visible []*catalog.Asset
	for _, a := range list {
		if p.SeesProject(a.Project) {
			visible = append(visible, a)
		}
	}
	items, err := s.assetViews(r.Context(), visible...)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}
