package iiifserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"stor/internal/api"
	"stor/internal/auth"
	"stor/internal/catalog"
	"stor/internal/iiif"
	"stor/internal/storage"
	"stor/internal/vips"
)

// Config is what the IIIF server needs.
type Config struct {
	DB     *catalog.DB
	Store  storage.Store
	Engine *vips.Engine
	Log    *slog.Logger
	// BaseURL is the public base URL (no trailing slash); info.json ids
	// and Link headers are built on it.
	BaseURL string
	// CacheDir holds rendered responses, at most CacheSize bytes (0: no
	// response cache).
	CacheDir  string
	CacheSize int64
	// SourceDir holds local copies of sources when Store is not a
	// storage.Localizer, at most SourceCacheSize bytes.
	SourceDir       string
	SourceCacheSize int64
	// Limits are the output limits advertised in info.json. Default
	// iiif.DefaultLimits() (100 megapixels).
	Limits iiif.Limits
	// TileSize is the tile size advertised for sources without a pyramid
	// (access JPEGs and originals), rendered on demand. Default 512.
	TileSize int
	// MaxRenders bounds concurrent renders; further requests wait.
	// Default the number of CPUs.
	MaxRenders int
	// CacheControl is sent with images and info.json. Default
	// "private, max-age=3600": responses need a token today, and the ETag
	// (which follows the source) lets caches revalidate after reprocessing.
	CacheControl string
	// TileCacheSize bounds, in bytes, the in-memory cache of decoded
	// pyramid tiles that regions are rendered from (least recently used
	// out); 0 turns it off (every region decodes the tiles under it).
	TileCacheSize int64
	// Registerer, when set, receives the server's metrics.
	Registerer prometheus.Registerer
}

// Server serves the IIIF Image API 3.0 and 2.1 for stored images.
type Server struct {
	cfg     Config
	cache   *DiskCache // rendered responses; nil when disabled
	sources *DiskCache // local copies of remote sources
	infos   *infoCache
	tiles   *tileCache // decoded pyramid tiles; nil when disabled
	probes  flight
	copies  flight
	renders flight
	sem     chan struct{}

	lookMu sync.Mutex
	looks  map[string]looked

	served     *prometheus.CounterVec
	renderTime *prometheus.HistogramVec
}

// New opens the caches and returns the server.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Store == nil || cfg.Engine == nil || cfg.Log == nil {
		return nil, errors.New("iiifserver: DB, Store, Engine and Log are required")
	}
	if cfg.Limits == (iiif.Limits{}) {
		cfg.Limits = iiif.DefaultLimits()
	}
	if err := cfg.Limits.Validate(); err != nil {
		return nil, err
	}
	if cfg.TileSize == 0 {
		cfg.TileSize = 512
	}
	if cfg.MaxRenders <= 0 {
		cfg.MaxRenders = runtime.NumCPU()
	}
	if cfg.CacheControl == "" {
		cfg.CacheControl = "private, max-age=3600"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	s := &Server{cfg: cfg, infos: newInfoCache(256), sem: make(chan struct{}, cfg.MaxRenders), looks: map[string]looked{}}
	if cfg.TileCacheSize > 0 {
		s.tiles = newTileCache(cfg.TileCacheSize)
	}
	var err error
	if cfg.CacheSize > 0 {
		if s.cache, err = OpenDiskCache(cfg.CacheDir, cfg.CacheSize); err != nil {
			return nil, err
		}
	}
	if _, local := cfg.Store.(storage.Localizer); !local {
		if s.sources, err = OpenDiskCache(cfg.SourceDir, cfg.SourceCacheSize); err != nil {
			return nil, err
		}
	}
	s.served = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "stor", Subsystem: "iiif",
		Name: "images_total", Help: "IIIF image responses by how they were made: tile (a stored pyramid tile, no decode), cache (a cached render), render, not_modified."},
		[]string{"how"})
	s.renderTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "stor", Subsystem: "iiif",
		Name: "render_seconds", Help: "Time to render one IIIF image with libvips, by path: mosaic (from the stored pyramid tiles under the region) or render (libvips reads the file).",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}, []string{"how"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.served, s.renderTime)
	}
	return s, nil
}

// Close releases open pyramid files and the decoded tiles.
func (s *Server) Close() { s.infos.closeAll(); s.tiles.close() }

// Routes are the IIIF endpoints, for api.Server.Extra. Every GET needs the
// read scope (bearer token or the UI session cookie), a signed URL of
// /iiif/3/{id}, or a public asset; CORS preflights need nothing.
func (s *Server) Routes() []api.Route {
	var rs []api.Route
	for _, v := range []iiif.Version{iiif.V3, iiif.V2} {
		p := "/iiif/" + strconv.Itoa(int(v)) + "/{id}"
		for _, r := range []struct {
			pattern string
			handle  func(http.ResponseWriter, *http.Request, *auth.Principal) error
		}{
			{p, s.redirect(v)},
			{p + "/info.json", s.infoJSON(v)},
			{p + "/{region}/{size}/{rotation}/{qf}", s.image(v)},
		} {
			rs = append(rs,
				api.Route{Method: "GET", Pattern: r.pattern, Scope: auth.ScopeRead, Handle: r.handle, Signed: true, OpenCORS: true},
				// Exactly the same paths, so that any other path stays a 404.
				api.Route{Method: "OPTIONS", Pattern: r.pattern, Scope: "", Handle: s.preflight})
		}
	}
	return rs
}

func cors(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Link, ETag, X-Stor-Tile, X-Stor-Cache")
}

func (s *Server) preflight(w http.ResponseWriter, r *http.Request, _ *auth.Principal) error {
	h := w.Header()
	cors(h)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Accept, If-None-Match, Range")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func profileLink(v iiif.Version) string {
	if v == iiif.V3 {
		return `<` + iiif.Level2V3URI + `>;rel="profile"`
	}
	return `<` + iiif.Level2V2URI + `>;rel="profile"`
}

func (s *Server) base(v iiif.Version, id string, p *auth.Principal) string {
	return api.SignedBase(s.cfg.BaseURL, p) + "/iiif/" + strconv.Itoa(int(v)) + "/" + id
}

// asset loads the asset the principal may see; anything else is a 404.
func (s *Server) asset(r *http.Request, p *auth.Principal) (*catalog.Asset, error) {
	id, _ := PageID(r.PathValue("id"))
	a, err := catalog.GetAsset(r.Context(), s.cfg.DB.Reader(), id)
	if err != nil {
		return nil, err
	}
	if a.State == catalog.StateDeleted || a.DeletedAt != nil || !p.SeesProject(a.Project) {
		return nil, fmt.Errorf("asset %s: %w", a.ID, catalog.ErrNotFound)
	}
	return a, nil
}

// lookupTTL is how long an asset's row and chosen source are reused: a
// viewer fetches dozens of tiles a second, and two catalog queries per
// tile would dominate the stored-tile path. A deletion, a project change or
// a new derivative is seen within this time.
const lookupTTL = time.Second

type looked struct {
	a    *catalog.Asset
	ref  sourceRef
	at   time.Time
	path string // the Localizer's path of ref, once known
}

// lookup returns the visible asset and its source, from a one-second memo.
func (s *Server) lookup(r *http.Request, p *auth.Principal) (*catalog.Asset, sourceRef, error) {
	id := r.PathValue("id")
	s.lookMu.Lock()
	l, ok := s.looks[id]
	s.lookMu.Unlock()
	if !ok || time.Since(l.at) > lookupTTL {
		a, err := s.asset(r, &auth.Principal{Scopes: []string{auth.ScopeRead}}) // visibility is checked below
		if err != nil {
			return nil, sourceRef{}, err
		}
		_, page := PageID(id)
		ref, err := s.pickSource(r.Context(), a, page)
		if err != nil {
			return nil, sourceRef{}, err
		}
		l = looked{a: a, ref: ref, at: time.Now()}
		s.lookMu.Lock()
		if len(s.looks) > 4096 {
			clear(s.looks)
		}
		s.looks[id] = l
		s.lookMu.Unlock()
	}
	if !p.SeesProject(l.a.Project) {
		return nil, sourceRef{}, fmt.Errorf("asset %s: %w", l.a.ID, catalog.ErrNotFound)
	}
	return l.a, l.ref, nil
}

// localPathMemo is the Localizer's path of ref, kept with the asset's
// lookup memo (lookupTTL) so that a tile is not a stat of the file.
func (s *Server) localPathMemo(r *http.Request, lp storage.Localizer, ref sourceRef) (string, error) {
	id := r.PathValue("id")
	s.lookMu.Lock()
	l, ok := s.looks[id]
	s.lookMu.Unlock()
	if ok && l.path != "" && l.ref == ref {
		return l.path, nil
	}
	p, err := lp.LocalPath(r.Context(), ref.blobKey)
	if err != nil {
		return "", err
	}
	s.lookMu.Lock()
	if l, ok := s.looks[id]; ok && l.ref == ref {
		l.path = p
		s.looks[id] = l
	}
	s.lookMu.Unlock()
	return p, nil
}

// opened is a source ready to read.
type opened struct {
	ref     sourceRef
	path    string
	info    *sourceInfo
	release func()
}

func (s *Server) open(r *http.Request, p *auth.Principal) (*catalog.Asset, *opened, error) {
	a, ref, err := s.lookup(r, p)
	if err != nil {
		return nil, nil, err
	}
	var path string
	release := func() {}
	if lp, ok := s.cfg.Store.(storage.Localizer); ok {
		// The stored file's path, checked once per lookup memo: the tile
		// path reads the open pyramid, not the path.
		path, err = s.localPathMemo(r, lp, ref)
	} else {
		path, release, err = s.localPath(r.Context(), ref)
	}
	if err != nil {
		return nil, nil, err
	}
	si, err := s.info(r.Context(), ref, path)
	if err != nil {
		release()
		return nil, nil, err
	}
	return a, &opened{ref: ref, path: path, info: si, release: release}, nil
}

func (s *Server) redirect(v iiif.Version) func(http.ResponseWriter, *http.Request, *auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		cors(w.Header())
		_, err := s.asset(r, p)
		if err != nil {
			return err
		}
		// A signed request is sent on with its token in the path.
		to := s.base(v, r.PathValue("id"), p) + "/info.json"
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
}

// service describes the source for info.json: exactly the pyramid's tiles
// and scale factors, or on-demand tiles for other sources.
func (s *Server) service(base string, si *sourceInfo) iiif.Service {
	svc := iiif.Service{ID: base, Width: si.width, Height: si.height, Limits: s.cfg.Limits}
	if p := si.pyramid; p != nil {
		svc.TileWidth, svc.TileHeight, svc.ScaleFactors = p.TileWidth, p.TileHeight, p.ScaleFactors()
	} else {
		svc.TileWidth, svc.TileHeight = s.cfg.TileSize, s.cfg.TileSize
		svc.ScaleFactors = iiif.ScaleFactors(si.width, si.height, s.cfg.TileSize)
	}
	return svc
}

func (s *Server) infoJSON(v iiif.Version) func(http.ResponseWriter, *http.Request, *auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		h := w.Header()
		cors(h)
		_, src, err := s.open(r, p)
		if err != nil {
			return err
		}
		defer src.release()
		// Reached through a signed URL, the id carries the token in its
		// path (/s/TOKEN/iiif/3/ID), so that the tiles a viewer builds
		// from it carry it too: deep zoom works on private images.
		svc := s.service(s.base(v, r.PathValue("id"), p), src.info)
		var doc any
		ld := iiif.MediaTypeV3LD
		if v == iiif.V3 {
			doc, err = iiif.NewInfo3(svc)
		} else {
			doc, err = iiif.NewInfo2(svc)
			ld = iiif.MediaTypeV2LD
		}
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(doc); err != nil {
			return err
		}
		ct := "application/json"
		if strings.Contains(r.Header.Get("Accept"), "application/ld+json") {
			ct = ld
		}
		h.Set("Content-Type", ct)
		h.Set("Vary", "Accept")
		h.Set("Link", profileLink(v))
		h.Set("Cache-Control", s.cfg.CacheControl)
		etag := `"` + hashHex("info", src.ref.version, ct, buf.String())[:32] + `"`
		h.Set("ETag", etag)
		if etagMatch(r.Header.Get("If-None-Match"), etag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		h.Set("Content-Length", strconv.Itoa(buf.Len()))
		w.WriteHeader(http.StatusOK)
		w.Write(buf.Bytes())
		return nil
	}
}

// etagMatch implements If-None-Match's weak comparison.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

var vipsQuality = map[iiif.Quality]vips.Quality{
	iiif.QualityDefault: vips.QualityDefault, iiif.QualityColor: vips.QualityColor,
	iiif.QualityGray: vips.QualityGray, iiif.QualityBitonal: vips.QualityBitonal,
}

var vipsFormat = map[iiif.Format]vips.Format{
	iiif.FormatJPG: vips.JPEG, iiif.FormatPNG: vips.PNG, iiif.FormatWebP: vips.WebP,
	iiif.FormatTIF: vips.TIFF, iiif.FormatGIF: vips.GIF, iiif.FormatJP2: vips.JP2,
}

// tileBufs are the buffers stored tiles are read into and sent from
// (the commonest request: no allocation per tile); a buffer that grew
// past maxPooledTile is left to the collector.
var tileBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

const maxPooledTile = 1 << 20

func (s *Server) image(v iiif.Version) func(http.ResponseWriter, *http.Request, *auth.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
		h := w.Header()
		cors(h)
		a, src, err := s.open(r, p)
		if err != nil {
			return err
		}
		defer src.release()
		q, err := iiif.Parse(v, r.PathValue("region")+"/"+r.PathValue("size")+"/"+r.PathValue("rotation")+"/"+r.PathValue("qf"))
		if err != nil {
			return err
		}
		res, err := q.Resolve(src.info.width, src.info.height, s.cfg.Limits)
		if err != nil {
			return err
		}
		canon := res.Canonical()
		key := hashHex("image", src.ref.version, strconv.Itoa(int(v)), canon)
		etag := `"` + key[:32] + `"`
		h.Set("Link", `<`+s.base(v, r.PathValue("id"), p)+"/"+canon+`>;rel="canonical", `+profileLink(v))
		h.Set("ETag", etag)
		h.Set("Cache-Control", s.cfg.CacheControl)
		h.Set("Content-Type", res.Format.MediaType())
		if etagMatch(r.Header.Get("If-None-Match"), etag) {
			s.served.WithLabelValues("not_modified").Inc()
			w.WriteHeader(http.StatusNotModified)
			return nil
		}

		// The fast path: one stored tile, sent as it is.
		if pyr := src.info.pyramid; pyr != nil {
			if t, ok := res.FastTile(*pyr); ok {
				bp := tileBufs.Get().(*[]byte)
				b, err := src.info.tif.AppendJPEGTile((*bp)[:0], t.Level, t.Col, t.Row)
				if err == nil {
					s.served.WithLabelValues("tile").Inc()
					h.Set("X-Stor-Tile", "stored")
					h.Set("Content-Length", strconv.Itoa(len(b)))
					w.WriteHeader(http.StatusOK)
					w.Write(b)
				}
				if cap(b) <= maxPooledTile {
					*bp = b[:0]
					tileBufs.Put(bp)
				}
				if err == nil {
					return nil
				}
				s.cfg.Log.WarnContext(r.Context(), "iiif: stored tile unreadable; rendering", "asset", a.ID, "tile", t, "err", err)
			}
		}

		name := key + "." + string(res.Format)
		if s.cache != nil {
			if path, rel, ok := s.cache.Get(name); ok {
				defer rel()
				if err := s.sendFile(w, path, "hit"); err == nil {
					s.served.WithLabelValues("cache").Inc()
					return nil
				} else if !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		out, err, _ := s.renders.Do(name, func() (any, error) { return s.render(src, res, name) })
		if err != nil {
			return err
		}
		ro := out.(rendered)
		b := ro.b
		s.served.WithLabelValues("render").Inc()
		h.Set("X-Stor-Cache", "miss")
		h.Set("X-Stor-Render", ro.how)
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		return nil
	}
}

// render runs libvips (at most MaxRenders at once) and stores the result
// in the response cache. From a pyramid, a region needing few tiles is
// made from the stored JPEG tiles under it, decoded from memory (edge
// tiles, arbitrary regions); anything else streams the file through
// vips.Render.
func (s *Server) render(src *opened, res iiif.Resolved, name string) (rendered, error) {
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	start := time.Now()
	req := vips.Request{
		Region: image.Rect(res.X, res.Y, res.X+res.W, res.Y+res.H),
		Width:  res.Width, Height: res.Height,
		Rotation: res.Rotation.Degrees, Mirror: res.Rotation.Mirror,
		Quality: vipsQuality[res.Quality], Format: vipsFormat[res.Format],
	}
	var b []byte
	var err error
	how := "file"
	if pl, rj, ok := regionPlan(src.info, res); ok {
		var pix []byte
		var done func()
		if pix, done, err = s.pixels(src.info, src.ref.version, pl); err == nil {
			how = "region"
			rj.Q = regionQuality
			b, err = s.cfg.Engine.EncodeRegionJPEG(pix, pl.crop.Dx(), pl.crop.Dy(), rj)
			done()
		}
	} else if pl, ok := planMosaic(src.info, res); ok && s.tiles != nil {
		var pix []byte
		var done func()
		if pix, done, err = s.pixels(src.info, src.ref.version, pl); err == nil {
			how = "mosaic"
			b, err = s.cfg.Engine.RenderRGB(pix, pl.crop.Dx(), pl.crop.Dy(), req)
			done()
		}
	} else if ok {
		var m vips.Mosaic
		if m, err = pl.mosaic(src.info.tif); err == nil {
			how = "mosaic"
			b, err = s.cfg.Engine.RenderMosaic(m, pl.crop, req)
		}
	} else {
		b, err = s.cfg.Engine.Render(src.path, req)
	}
	if errors.Is(err, vips.ErrBadRequest) || errors.Is(err, vips.ErrTooManyPixels) {
		return rendered{}, &api.Error{Status: http.StatusBadRequest, Code: "bad_request", Message: err.Error(), Err: err}
	}
	if err != nil {
		return rendered{}, fmt.Errorf("iiif: render %s: %w", res.Canonical(), err)
	}
	s.renderTime.WithLabelValues(how).Observe(time.Since(start).Seconds())
	if s.cache != nil {
		_, rel, err := s.cache.Put(name, func(w io.Writer) error { _, err := w.Write(b); return err })
		if err != nil {
			s.cfg.Log.Warn("iiif: cache put failed", "err", err)
		} else {
			rel()
		}
	}
	return rendered{b, how}, nil
}

// regionQuality is the JPEG quality of the short region path, the one
// vips.Render uses (85).
const regionQuality = 85

// rendered is a render's output and how it was made (X-Stor-Render:
// "region" by the short JPEG path and "mosaic" by libvips, both from stored
// pyramid tiles; "file" by libvips reading the file).
type rendered struct {
	b   []byte
	how string
}

func (s *Server) sendFile(w http.ResponseWriter, path, how string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("X-Stor-Cache", how)
	h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.WriteHeader(http.StatusOK)
	io.Copy(w, f)
	return nil
}
