package iiifserver

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"stor/internal/api"
	"stor/internal/catalog"
	"stor/internal/iiif"
	"stor/internal/storage"
	"stor/internal/tiff"
	"stor/internal/vips"
)

// Derivative names the image pipeline makes (the contract with its tasks).
const (
	DerivPyramid = "pyramid" // tiled pyramidal TIFF, JPEG tiles
	DerivAccess  = "access"  // full-size sRGB JPEG for formats browsers cannot show
)

// Source kinds.
const (
	kindPyramid  = "pyramid"
	kindAccess   = "access"
	kindOriginal = "original"
)

// errNotImage is a 404: the asset exists but has nothing to render.
func errNotImage(id, why string) error {
	return &api.Error{Status: http.StatusNotFound, Code: "not_found",
		Message: "no image to serve for asset " + id + ": " + why, Err: catalog.ErrNotFound}
}

// sourceRef is what the catalog says an image request should read.
type sourceRef struct {
	kind    string
	blobKey string
	// version changes whenever the bytes may have: the original's sha256,
	// or the derivative's key, creation time and size. Cache keys and
	// ETags include it.
	version string
}

// sourceInfo is what reading the source taught us; cached per version.
type sourceInfo struct {
	width, height int
	pyramid       *iiif.Pyramid // nil unless kind is pyramid
	tif           *tiff.File    // open pyramid, for stored tiles
	file          *os.File      // backs tif
}

// PageID splits a page identifier "ASSET~pN" (page N of a document or a
// multipage image, whose image is the derivative PageDeriv(N)) into the
// asset id and N; any other identifier is an asset id, page 0.
func PageID(id string) (string, int) {
	a, p, ok := strings.Cut(id, "~p")
	if !ok {
		return id, 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || strconv.Itoa(n) != p {
		return id, 0 // no such asset: a 404
	}
	return a, n
}

// PageDeriv is the derivative holding page n's image (the document
// tasks' contract, doctask.PageName).
func PageDeriv(n int) string { return fmt.Sprintf("page-%04d.jpg", n) }

// pickSource chooses, for a page, that page's image; else the pyramid,
// the access JPEG, page 1 of a document, or the original.
func (s *Server) pickSource(ctx context.Context, a *catalog.Asset, page int) (sourceRef, error) {
	ds, err := catalog.ListDerivatives(ctx, s.cfg.DB.Reader(), a.ID)
	if err != nil {
		return sourceRef{}, err
	}
	byName := map[string]*catalog.Derivative{}
	for _, d := range ds {
		byName[d.Name] = d
	}
	names := []string{DerivPyramid, DerivAccess, PageDeriv(1)}
	if page > 0 {
		names = []string{PageDeriv(page)}
		if _, ok := byName[names[0]]; !ok {
			return sourceRef{}, errNotImage(a.ID, fmt.Sprintf("it has no image of page %d", page))
		}
	}
	for _, name := range names {
		if d, ok := byName[name]; ok {
			kind := name
			if kind != DerivPyramid {
				kind = kindAccess // a JPEG
			}
			return sourceRef{kind: kind, blobKey: d.BlobKey,
				version: d.BlobKey + "@" + strconv.FormatInt(d.CreatedAt.UnixMicro(), 10) + "+" + strconv.FormatInt(d.Size, 10)}, nil
		}
	}
	if a.Kind != "image" || !directFormats[a.Format] {
		return sourceRef{}, errNotImage(a.ID, "it is not an image libvips reads directly and has no access derivative yet")
	}
	return sourceRef{kind: kindOriginal, blobKey: a.BlobKey, version: "sha256:" + a.SHA256}, nil
}

// directFormats are original formats served without a derivative: those
// libvips decodes itself (the formats the format package names).
var directFormats = map[string]bool{
	"jpg": true, "png": true, "webp": true, "gif": true, "tif": true, "bmp": true,
	"jp2": true, "j2k": true, "jpf": true, "jpx": true, "heic": true, "heif": true,
	"avif": true, "svg": true, "psd": true, "psb": true,
}

// localPath returns a readable local path of the source, pinned until
// release: the stored file itself when the store is a Localizer, else a
// copy in the bounded source cache.
func (s *Server) localPath(ctx context.Context, ref sourceRef) (string, func(), error) {
	if l, ok := s.cfg.Store.(storage.Localizer); ok {
		p, err := l.LocalPath(ctx, ref.blobKey)
		return p, func() {}, err
	}
	name := hashHex(ref.version)
	if p, rel, ok := s.sources.Get(name); ok {
		return p, rel, nil
	}
	v, err, _ := s.copies.Do(name, func() (any, error) {
		if _, rel, ok := s.sources.Get(name); ok { // another caller just made it
			rel()
			return nil, nil
		}
		rc, err := s.cfg.Store.Open(ctx, ref.blobKey, 0, -1)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		_, rel, err := s.sources.Put(name, func(w io.Writer) error {
			_, err := io.Copy(w, rc)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("iiif: copy source %s: %w", ref.blobKey, err)
		}
		rel()
		return nil, nil
	})
	_ = v
	if err != nil {
		return "", nil, err
	}
	if p, rel, ok := s.sources.Get(name); ok {
		return p, rel, nil
	}
	return "", nil, fmt.Errorf("iiif: source copy of %s evicted at once: the source cache is smaller than the file", ref.blobKey)
}

// info returns what the source is (size, pyramid), reading it once per
// version.
func (s *Server) info(ctx context.Context, ref sourceRef, path string) (*sourceInfo, error) {
	if si, ok := s.infos.get(ref.version); ok {
		return si, nil
	}
	v, err, _ := s.probes.Do(ref.version, func() (any, error) {
		si, err := s.readInfo(ref, path)
		if err != nil {
			return nil, err
		}
		s.infos.put(ref.version, si)
		return si, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*sourceInfo), nil
}

func (s *Server) readInfo(ref sourceRef, path string) (*sourceInfo, error) {
	if ref.kind == kindPyramid {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("iiif: open pyramid: %w", err)
		}
		t, err := tiff.Open(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("iiif: pyramid %s: %w", ref.blobKey, err)
		}
		lv := t.Levels()
		p := &iiif.Pyramid{TileWidth: lv[0].TileWidth, TileHeight: lv[0].TileHeight}
		// Keep the levels that halve each time, as libvips writes them;
		// anything else stops the list (the render path still reads all).
		for i, l := range lv {
			if i > 0 {
				want := (lv[0].Width + (1 << i) - 1) >> i
				if l.Width < want-1 || l.Width > want+1 || l.TileWidth != p.TileWidth || l.TileHeight != p.TileHeight {
					break
				}
			}
			p.Levels = append(p.Levels, iiif.Level{Width: l.Width, Height: l.Height})
		}
		return &sourceInfo{width: lv[0].Width, height: lv[0].Height, pyramid: p, tif: t, file: f}, nil
	}
	in, err := s.cfg.Engine.Probe(path)
	if errors.Is(err, vips.ErrUnsupported) {
		return nil, &api.Error{Status: http.StatusNotFound, Code: "not_found", Message: "libvips cannot read this image", Err: err}
	}
	if err != nil {
		return nil, err
	}
	w, h := in.Width, in.Height
	if in.Orientation >= 5 && in.Orientation <= 8 { // Render applies EXIF orientation
		w, h = h, w
	}
	return &sourceInfo{width: w, height: h}, nil
}

// infoCache is a small LRU of sourceInfo by version. An evicted pyramid's
// file is closed a minute later, after any request still reading it.
type infoCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type infoEntry struct {
	key string
	si  *sourceInfo
}

func newInfoCache(max int) *infoCache {
	return &infoCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *infoCache) get(k string) (*sourceInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*infoEntry).si, true
	}
	return nil, false
}

func (c *infoCache) put(k string, si *sourceInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		return
	}
	c.items[k] = c.ll.PushFront(&infoEntry{k, si})
	for c.ll.Len() > c.max {
		el := c.ll.Back()
		e := el.Value.(*infoEntry)
		c.ll.Remove(el)
		delete(c.items, e.key)
		if f := e.si.file; f != nil {
			time.AfterFunc(time.Minute, func() { f.Close() })
		}
	}
}

func (c *infoCache) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if f := el.Value.(*infoEntry).si.file; f != nil {
			f.Close()
		}
		delete(c.items, k)
	}
	c.ll.Init()
}

func hashHex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// flight runs one call per key at a time and shares its result with the
// callers that arrive meanwhile (a tiny singleflight).
type flight struct {
	mu sync.Mutex
	m  map[string]*call
}

type call struct {
	done chan struct{}
	val  any
	err  error
}

// Do runs fn for key unless a run is under way, whose result it then
// shares; shared reports the latter.
func (f *flight) Do(key string, fn func() (any, error)) (v any, err error, shared bool) {
	f.mu.Lock()
	if f.m == nil {
		f.m = map[string]*call{}
	}
	if c, ok := f.m[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.val, c.err, true
	}
	c := &call{done: make(chan struct{})}
	f.m[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.m, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn()
	return c.val, c.err, false
}
