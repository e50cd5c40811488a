package api

import (
	"net/http"

	"stor/internal/auth"
	"stor/internal/premis"
)

// getPremis exports the asset's preservation history as PREMIS 3 XML.
func (s *Server) getPremis(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	rec, err := premis.Load(r.Context(), s.DB.Reader(), a, s.Version)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Content-Disposition", `inline; filename="`+a.ID+`.premis.xml"`)
	return premis.Write(w, rec)
}
