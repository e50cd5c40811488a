package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/storage"
)

// MetadataWriter writes an asset's normalised fields out (internal/metatask.Writer).
type MetadataWriter interface {
	// XMPSidecar returns an XMP packet of the asset's fields.
	XMPSidecar(ctx context.Context, a *catalog.Asset) ([]byte, error)
	// CanEmbed reports whether fields can be written into the asset's format.
	CanEmbed(a *catalog.Asset) bool
	// Embed writes the asset's fields into a copy of src at dst.
	Embed(ctx context.Context, a *catalog.Asset, src, dst string) error
}

// describe adds the normalised fields and warnings to an asset's view.
func describe(v *assetJSON, a *catalog.Asset) {
	m := a.Meta
	v.Title, v.Description, v.Creator, v.Rights = m.Title, m.Description, m.Creator, m.Rights
	v.Keywords, v.CaptureDate = m.Keywords, m.CaptureDate
	if m.CameraMake != "" || m.CameraModel != "" || m.Lens != "" {
		v.Camera = &cameraJSON{Make: m.CameraMake, Model: m.CameraModel, Lens: m.Lens}
	}
	if m.GPSLat != nil && m.GPSLon != nil {
		v.GPS = &gpsJSON{Lat: *m.GPSLat, Lon: *m.GPSLon}
	}
	v.Warnings = make([]warningJSON, 0, len(a.Warnings))
	for _, w := range a.Warnings {
		v.Warnings = append(v.Warnings, warningJSON{Source: w.Source, Message: w.Message})
	}
}

// getMetadata serves the full metadata dump: one object per family-0
// group ("exif", "iptc", "xmp", "file", "composite", "icc_profile",
// "makernotes", "quicktime", "pdf", ...), each tag by "Family1:Tag" as
// {"raw": numeric/machine value, "display": human value}; plus
// "normalized" (the reconciled fields), "pronom" (the identification),
// "warnings" and "error" (exiftool's about the file).
func (s *Server) getMetadata(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	ctx := r.Context()
	pronom, err := catalog.Identification(ctx, s.DB.Reader(), a.ID)
	if err != nil {
		return err
	}
	m, err := catalog.GetMetadata(ctx, s.DB.Reader(), a.ID)
	if errors.Is(err, catalog.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "no_metadata",
			Message: "the metadata of this asset has not been extracted (yet); see its tasks", Err: err}
	}
	if err != nil {
		return err
	}
	var groups map[string]json.RawMessage
	if err := json.Unmarshal(m.Groups, &groups); err != nil {
		return fmt.Errorf("metadata of %s: %w", a.ID, err)
	}
	out := make(map[string]any, len(groups)+5)
	for g, v := range groups {
		out[g] = v
	}
	out["normalized"] = m.Normalized
	if pronom != "" {
		out["pronom"] = json.RawMessage(pronom)
	} else {
		out["pronom"] = nil
	}
	warnings := m.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	out["warnings"] = warnings
	out["error"] = m.Error
	out["extracted_at"] = rfc3339(m.ExtractedAt)
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getText serves the text per page and all pages joined (pages separated
// by a form feed and a newline).
func (s *Server) getText(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	pages, err := catalog.ListText(r.Context(), s.DB.Reader(), a.ID)
	if err != nil {
		return err
	}
	if len(pages) == 0 {
		return &Error{Status: http.StatusNotFound, Code: "no_text",
			Message: "no text for this asset: not a PDF or image, or its text task has not run (yet)"}
	}
	texts := make([]string, len(pages))
	for i, pg := range pages {
		texts[i] = pg.Text
	}
	writeJSON(w, http.StatusOK, map[string]any{"pages": pages, "text": strings.Join(texts, "\f\n")})
	return nil
}

func (s *Server) metadataWriter() (MetadataWriter, error) {
	if s.Metadata == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "not_available",
			Message: "this server does not write metadata"}
	}
	return s.Metadata, nil
}

// getXMP serves an XMP sidecar made from the normalised fields.
func (s *Server) getXMP(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	mw, err := s.metadataWriter()
	if err != nil {
		return err
	}
	a, err := s.visibleAsset(r, p)
	if err != nil {
		return err
	}
	b, err := mw.XMPSidecar(r.Context(), a)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/rdf+xml")
	h.Set("Content-Disposition", contentDisposition("attachment", strings.TrimSuffix(a.Filename, filepath.Ext(a.Filename))+".xmp"))
	h.Set("Cache-Control", "private, no-cache")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}

// serveEmbedded serves a copy of the original with the normalised fields
// written in: made in a temp file, streamed, removed. The stored original
// is only read.
func (s *Server) serveEmbedded(w http.ResponseWriter, r *http.Request, a *catalog.Asset) error {
	mw, err := s.metadataWriter()
	if err != nil {
		return err
	}
	if !mw.CanEmbed(a) {
		return &Error{Status: http.StatusUnprocessableEntity, Code: "embed_unsupported",
			Message: "metadata cannot be written into " + a.Format + " files; download without embed=1, or use metadata.xmp"}
	}
	ctx := r.Context()
	if err := os.MkdirAll(s.TempDir, 0o750); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	dir, err := os.MkdirTemp(s.TempDir, "embed-")
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	defer os.RemoveAll(dir)
	src, err := s.localOriginal(ctx, a, dir)
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, "embedded."+a.Format)
	if err := mw.Embed(ctx, a, src, dst); err != nil {
		return err
	}
	f, err := os.Open(dst)
	if err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	disp := "inline"
	if truthy(r.URL.Query().Get("download")) {
		disp = "attachment"
	}
	h.Set("Content-Disposition", contentDisposition(disp, a.Filename))
	http.ServeContent(w, r, "", a.UpdatedAt, f)
	return nil
}

// localOriginal returns a path to read the original from: the stored file
// itself when the store is local, else a copy in dir.
func (s *Server) localOriginal(ctx context.Context, a *catalog.Asset, dir string) (string, error) {
	if l, ok := s.Store.(storage.Localizer); ok {
		if p, err := l.LocalPath(ctx, a.BlobKey); err == nil {
			return p, nil
		}
	}
	rc, err := s.Store.Open(ctx, a.BlobKey, 0, -1)
	if err != nil {
		return "", fmt.Errorf("original of %s: %w", a.ID, err)
	}
	defer rc.Close()
	p := filepath.Join(dir, "original."+a.Format)
	f, err := os.Create(p)
	if err != nil {
		return "", fmt.Errorf("embed: %w", err)
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return "", fmt.Errorf("original of %s: %w", a.ID, err)
	}
	return p, f.Close()
}
