// Package presentation serves IIIF Presentation API 3.0 manifests: one
// per asset (/iiif/3/{id}/manifest.json: a canvas per image or document
// page, video and audio canvases with their duration, thumbnails,
// metadata pairs, rights, and the IIIF Image API service on each image)
// and per collection (/iiif/3/collections/{id}/manifest.json, the
// members' canvases in order, and /iiif/3/collections/{id}/collection.json,
// a IIIF Collection of its child collections and its own manifest).
package presentation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/catalog"
)

// Context is the Presentation 3.0 JSON-LD context.
const Context = "http://iiif.io/api/presentation/3/context.json"

// Server builds and serves manifests.
type Server struct {
	DB      *catalog.DB
	BaseURL string
	// Links are the other features' links to an asset (the image tasks'
	// thumbnail and info.json, the AV feature's mp4, hls and audio).
	Links func(*catalog.Asset) map[string]string
}

// Routes are the manifest endpoints, for api.Server.Extra.
func (s *Server) Routes() []api.Route {
	return []api.Route{
		// Signed: public assets' manifests are public, and a signed URL of
		// the asset (what "manifest") opens it with every link carrying
		// the token.
		{Method: "GET", Pattern: "/iiif/3/{id}/manifest.json", Scope: auth.ScopeRead, Handle: s.assetManifest, Signed: true, OpenCORS: true},
		{Method: "GET", Pattern: "/iiif/3/collections/{id}/manifest.json", Scope: auth.ScopeRead, Handle: s.collectionManifest},
		{Method: "GET", Pattern: "/iiif/3/collections/{id}/collection.json", Scope: auth.ScopeRead, Handle: s.collection},
	}
}

// AssetLinks adds "manifest" to an asset's links (for the node's links hook).
func (s *Server) AssetLinks(a *catalog.Asset) map[string]string {
	if a.State == catalog.StateDeleted {
		return nil
	}
	return map[string]string{"manifest": s.ManifestURL(a.ID)}
}

// ManifestURL is the manifest of asset id.
func (s *Server) ManifestURL(id string) string { return s.BaseURL + "/iiif/3/" + id + "/manifest.json" }

// Object is a JSON object of the Presentation API.
type Object = map[string]any

func lang(v ...string) Object  { return Object{"none": v} }
func label(v ...string) Object { return Object{"en": v} }

func (s *Server) visibleAsset(ctx context.Context, p *auth.Principal, id string) (*catalog.Asset, error) {
	a, err := catalog.GetAsset(ctx, s.DB.Reader(), id)
	if err != nil {
		return nil, err
	}
	if a.State == catalog.StateDeleted || !p.SeesProject(a.Project) {
		return nil, fmt.Errorf("asset %s: %w", id, catalog.ErrNotFound)
	}
	return a, nil
}

func (s *Server) visibleCollection(ctx context.Context, p *auth.Principal, id string) (*catalog.Collection, error) {
	c, err := catalog.GetCollection(ctx, s.DB.Reader(), id)
	if err != nil {
		return nil, err
	}
	if c.Project != "" && !p.SeesProject(c.Project) {
		return nil, fmt.Errorf("collection %s: %w", id, catalog.ErrNotFound)
	}
	return c, nil
}

func send(w http.ResponseWriter, v any) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", `application/ld+json;profile="`+Context+`"`)
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// ErrNoCanvas is an asset with nothing to show yet (no dimensions, no
// duration, no page images).
var ErrNoCanvas = errors.New("presentation: nothing to show yet")

func (s *Server) assetManifest(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	a, err := s.visibleAsset(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.AssetManifest(r.Context(), a)
	if errors.Is(err, ErrNoCanvas) {
		return &api.Error{Status: http.StatusNotFound, Code: "not_presentable", Message: "the asset has nothing to show yet", Err: err}
	}
	if err != nil {
		return err
	}
	if p.Signed {
		// Every link of ours that the token covers carries it in its
		// path, so that a viewer given the manifest can open them.
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		send(w, json.RawMessage(api.SignLinks(b, s.BaseURL, p)))
		return nil
	}
	send(w, m)
	return nil
}

// AssetManifest is the manifest of one asset.
func (s *Server) AssetManifest(ctx context.Context, a *catalog.Asset) (Object, error) {
	canvases, err := s.canvases(ctx, a)
	if err != nil {
		return nil, err
	}
	if len(canvases) == 0 {
		return nil, ErrNoCanvas
	}
	m := Object{
		"@context": Context,
		"id":       s.ManifestURL(a.ID),
		"type":     "Manifest",
		"label":    lang(firstNonEmpty(a.Meta.Title, a.Filename)),
		"items":    canvases,
	}
	if a.Meta.Description != "" {
		m["summary"] = lang(a.Meta.Description)
	}
	md, err := s.metadata(ctx, a)
	if err != nil {
		return nil, err
	}
	m["metadata"] = md
	s.rights(m, a.Meta.Rights)
	if t := s.thumbnail(a); t != nil {
		m["thumbnail"] = t
	}
	m["homepage"] = []Object{{"id": s.BaseURL + "/api/v1/assets/" + a.ID, "type": "Text",
		"label": label("Asset record"), "format": "application/json"}}
	return m, nil
}

// rights sets "rights" when the asset's rights are a Creative Commons or
// RightsStatements.org URI, else a required statement with the text.
var rightsURI = regexp.MustCompile(`^https?://(creativecommons\.org/(licenses|publicdomain)/|rightsstatements\.org/vocab/)\S*$`)

func (s *Server) rights(m Object, rights string) {
	rights = strings.TrimSpace(rights)
	switch {
	case rights == "":
	case rightsURI.MatchString(rights):
		m["rights"] = strings.Replace(rights, "https://", "http://", 1)
	default:
		m["requiredStatement"] = Object{"label": label("Rights"), "value": lang(rights)}
	}
}

func (s *Server) thumbnail(a *catalog.Asset) []Object {
	l := s.links(a)
	t := l["thumbnail"]
	if t == "" {
		t = l["poster"]
	}
	if t == "" {
		return nil
	}
	return []Object{{"id": t, "type": "Image", "format": "image/jpeg"}}
}

func (s *Server) links(a *catalog.Asset) map[string]string {
	if s.Links == nil {
		return map[string]string{}
	}
	l := s.Links(a)
	if l == nil {
		l = map[string]string{}
	}
	return l
}

// metadata are the label/value pairs shown beside the object.
func (s *Server) metadata(ctx context.Context, a *catalog.Asset) ([]Object, error) {
	var out []Object
	add := func(k string, v ...string) {
		var vs []string
		for _, x := range v {
			if x = strings.TrimSpace(x); x != "" {
				vs = append(vs, x)
			}
		}
		if len(vs) > 0 {
			out = append(out, Object{"label": label(k), "value": lang(vs...)})
		}
	}
	d := a.Meta
	add("Title", d.Title)
	add("Creator", d.Creator)
	add("Description", d.Description)
	add("Date", d.CaptureDate)
	add("Keywords", strings.Join(d.Keywords, "; "))
	add("Camera", strings.TrimSpace(d.CameraMake+" "+strings.TrimPrefix(d.CameraModel, d.CameraMake)))
	tags, err := catalog.TagsOf(ctx, s.DB.Reader(), []string{a.ID})
	if err != nil {
		return nil, err
	}
	add("Tags", strings.Join(tags[a.ID], "; "))
	custom, err := catalog.CustomValues(ctx, s.DB.Reader(), []string{a.ID})
	if err != nil {
		return nil, err
	}
	schema, err := catalog.ProjectFields(ctx, s.DB.Reader(), a.Project)
	if err != nil {
		return nil, err
	}
	for _, f := range schema {
		if raw, ok := custom[a.ID][f.Name]; ok {
			var v any
			_ = json.Unmarshal(raw, &v)
			add(f.Name, fmt.Sprint(v))
		}
	}
	add("Filename", a.Filename)
	add("Format", a.Format)
	add("Identifier", a.ID)
	return out, nil
}

var pageName = regexp.MustCompile(`^page-([0-9]{4,6})\.jpg$`)

// canvases are an asset's canvases: one per page image (page-NNNN.jpg
// derivatives), else one for the image, video or audio.
func (s *Server) canvases(ctx context.Context, a *catalog.Asset) ([]Object, error) {
	base := s.BaseURL + "/iiif/3/" + a.ID
	canvas := func(n int, body Object, size Object) Object {
		cid := fmt.Sprintf("%s/canvas/%d", base, n)
		c := Object{"id": cid, "type": "Canvas", "label": lang(fmt.Sprintf("%s (%d)", a.Filename, n)),
			"items": []Object{{"id": fmt.Sprintf("%s/page/%d", base, n), "type": "AnnotationPage",
				"items": []Object{{"id": fmt.Sprintf("%s/annotation/%d", base, n), "type": "Annotation",
					"motivation": "painting", "body": body, "target": cid}}}}}
		for k, v := range size {
			c[k] = v
		}
		return c
	}
	ders, err := catalog.ListDerivatives(ctx, s.DB.Reader(), a.ID)
	if err != nil {
		return nil, err
	}
	var out []Object
	for _, d := range ders { // by name, so pages come in order
		m := pageName.FindStringSubmatch(d.Name)
		if m == nil || d.Width <= 0 || d.Height <= 0 {
			continue
		}
		page, _ := strconv.Atoi(m[1])
		url := s.BaseURL + "/api/v1/assets/" + a.ID + "/derivatives/" + d.Name
		size := Object{"width": d.Width, "height": d.Height}
		// Each page is its own IIIF image ({id}~p{N}), so viewers zoom it.
		body := Object{"id": url, "type": "Image", "format": "image/jpeg", "width": d.Width, "height": d.Height,
			"service": []Object{{"id": fmt.Sprintf("%s~p%d", base, page), "type": "ImageService3", "profile": "level2"}}}
		c := canvas(len(out)+1, body, size)
		c["thumbnail"] = []Object{{"id": url, "type": "Image", "format": "image/jpeg"}}
		out = append(out, c)
	}
	if len(out) > 0 {
		return out, nil
	}
	l := s.links(a)
	switch {
	case l["iiif"] != "" && a.Width > 0 && a.Height > 0:
		body := Object{"id": base + "/full/max/0/default.jpg", "type": "Image", "format": "image/jpeg",
			"width": a.Width, "height": a.Height,
			"service": []Object{{"id": base, "type": "ImageService3", "profile": "level2"}}}
		c := canvas(1, body, Object{"width": a.Width, "height": a.Height})
		if t := s.thumbnail(a); t != nil {
			c["thumbnail"] = t
		}
		out = append(out, c)
	case a.Kind == "video" && a.DurationSeconds > 0 && a.Width > 0 && a.Height > 0 && l["mp4"] != "":
		body := Object{"id": l["mp4"], "type": "Video", "format": "video/mp4",
			"width": a.Width, "height": a.Height, "duration": a.DurationSeconds}
		c := canvas(1, body, Object{"width": a.Width, "height": a.Height, "duration": a.DurationSeconds})
		if t := s.thumbnail(a); t != nil {
			c["thumbnail"] = t
		}
		if l["hls"] != "" {
			c["rendering"] = []Object{{"id": l["hls"], "type": "Video", "label": label("HLS stream"),
				"format": "application/vnd.apple.mpegurl"}}
		}
		out = append(out, c)
	case a.Kind == "audio" && a.DurationSeconds > 0 && l["audio"] != "":
		body := Object{"id": l["audio"], "type": "Sound", "format": "audio/mp4", "duration": a.DurationSeconds}
		c := canvas(1, body, Object{"duration": a.DurationSeconds})
		if l["hls"] != "" {
			c["rendering"] = []Object{{"id": l["hls"], "type": "Sound", "label": label("HLS stream"),
				"format": "application/vnd.apple.mpegurl"}}
		}
		out = append(out, c)
	}
	return out, nil
}

func (s *Server) collectionManifest(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	c, err := s.visibleCollection(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	members, err := catalog.Members(ctx, s.DB.Reader(), c.ID)
	if err != nil {
		return err
	}
	items := []Object{}
	var thumb []Object
	for _, a := range members {
		if !p.SeesProject(a.Project) {
			continue
		}
		cs, err := s.canvases(ctx, a)
		if err != nil {
			return err
		}
		for _, cv := range cs {
			cv["label"] = lang(firstNonEmpty(a.Meta.Title, a.Filename))
		}
		items = append(items, cs...)
		if thumb == nil {
			thumb = s.thumbnail(a)
		}
	}
	m := Object{
		"@context": Context,
		"id":       s.BaseURL + "/iiif/3/collections/" + c.ID + "/manifest.json",
		"type":     "Manifest",
		"label":    lang(c.Name),
		"items":    items,
		"metadata": []Object{{"label": label("Assets"), "value": lang(fmt.Sprint(len(members)))}},
	}
	if thumb != nil {
		m["thumbnail"] = thumb
	}
	send(w, m)
	return nil
}

// collection is a IIIF Collection: the child collections, then this
// collection's own manifest.
func (s *Server) collection(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	c, err := s.visibleCollection(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	var projects []string
	if p.Project != "" {
		projects = []string{p.Project}
	}
	children, err := catalog.ListCollections(ctx, s.DB.Reader(), c.ID, projects)
	if err != nil {
		return err
	}
	items := []Object{}
	for _, ch := range children {
		items = append(items, Object{"id": s.BaseURL + "/iiif/3/collections/" + ch.ID + "/collection.json",
			"type": "Collection", "label": lang(ch.Name)})
	}
	items = append(items, Object{"id": s.BaseURL + "/iiif/3/collections/" + c.ID + "/manifest.json",
		"type": "Manifest", "label": lang(c.Name)})
	send(w, Object{
		"@context": Context,
		"id":       s.BaseURL + "/iiif/3/collections/" + c.ID + "/collection.json",
		"type":     "Collection",
		"label":    lang(c.Name),
		"items":    items,
	})
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
