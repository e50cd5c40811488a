package doctask

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/imagetask"
)

// Server serves the pages of documents.
type Server struct {
	DB      *catalog.DB
	BaseURL string
	// ThumbSize is the asset thumbnail the "thumbnail" link names.
	// Default 400.
	ThumbSize int
}

// Routes are the document routes.
func (s *Server) Routes() []api.Route {
	return []api.Route{
		// Signed: a public document's pages are public, and a signed URL
		// of the asset (what "viewer") opens them.
		{Method: "GET", Pattern: "/api/v1/assets/{id}/pages", Scope: auth.ScopeRead, Handle: s.pages, Signed: true},
	}
}

// PageIIIFID is the IIIF identifier of page n of asset id.
func PageIIIFID(id string, n int) string { return id + "~p" + strconv.Itoa(n) }

// Links are the asset links of documents: "thumbnail" (page 1) and
// "pages".
func (s *Server) Links(a *catalog.Asset) map[string]string {
	if isTIFF(a) && a.PageCount > 1 && a.State != catalog.StateDeleted {
		return map[string]string{"pages": s.BaseURL + "/api/v1/assets/" + a.ID + "/pages"}
	}
	if !HasPages(a) || a.State == catalog.StateDeleted {
		return nil
	}
	size := s.ThumbSize
	if size <= 0 {
		size = 400
	}
	base := s.BaseURL + "/api/v1/assets/" + a.ID
	return map[string]string{"thumbnail": base + "/derivatives/" + imagetask.ThumbName(size, false), "pages": base + "/pages"}
}

type pageItem struct {
	Page      int    `json:"page"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Image     string `json:"image"`
	Thumbnail string `json:"thumbnail,omitempty"`
	IIIF      string `json:"iiif"`
}

func (s *Server) pages(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := catalog.GetAsset(r.Context(), s.DB.Reader(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if !p.SeesProject(a.Project) || a.State == catalog.StateDeleted {
		return fmt.Errorf("asset %s: %w", a.ID, catalog.ErrNotFound)
	}
	ds, err := catalog.ListDerivatives(r.Context(), s.DB.Reader(), a.ID)
	if err != nil {
		return err
	}
	thumbs := map[string]bool{}
	for _, d := range ds {
		thumbs[d.Name] = true
	}
	// A signed request gets links that carry its token (in their path).
	root := api.SignedBase(s.BaseURL, p)
	base := root + "/api/v1/assets/" + a.ID + "/derivatives/"
	items := []pageItem{}
	for _, d := range ds {
		n, ok := PageOf(d.Name)
		if !ok || (a.PageCount > 0 && n > a.PageCount) {
			continue
		}
		it := pageItem{Page: n, Width: d.Width, Height: d.Height, Image: base + d.Name,
			IIIF: root + "/iiif/3/" + PageIIIFID(a.ID, n) + "/info.json"}
		if thumbs[PageThumbName(n)] {
			it.Thumbnail = base + PageThumbName(n)
		}
		items = append(items, it)
	}
	slices.SortFunc(items, func(x, y pageItem) int { return x.Page - y.Page })
	api.WriteJSON(w, http.StatusOK, map[string]any{"page_count": a.PageCount, "items": items})
	return nil
}
