package iiifserver

import (
	"image"
	"math"
	"sync"

	"stor/internal/iiif"
	"stor/internal/tiff"
	"stor/internal/vips"
)

// maxMosaicTiles bounds how many stored tiles one request decodes from
// memory; larger outputs (say a whole level-0 region) go through
// vips.Render, which streams the TIFF instead of holding every tile.
const maxMosaicTiles = 64

// mosaicPlan is which stored tiles of which pyramid level a region needs,
// and where the region lies in the mosaic they make.
type mosaicPlan struct {
	level      int
	col0, row0 int
	cols, rows int
	crop       image.Rectangle // in mosaic pixels
}

// planMosaic picks the level vips.Render would read (the smallest level at
// least as large as the output needs) and the tiles under the region at
// that level, mapping the region exactly as Render does, so both paths cut
// the same pixels. It reports false when the pyramid's tiles are not
// 3-band JPEG or the region needs more than maxMosaicTiles tiles.
func planMosaic(si *sourceInfo, res iiif.Resolved) (mosaicPlan, bool) {
	p := si.pyramid
	if p == nil || si.tif == nil || len(p.Levels) == 0 || res.W <= 0 || res.H <= 0 {
		return mosaicPlan{}, false
	}
	fullW, fullH := si.width, si.height
	scale := math.Max(float64(res.Width)/float64(res.W), float64(res.Height)/float64(res.H))
	k := 0
	for i := 1; i < len(p.Levels); i++ {
		if float64(p.Levels[i].Width)/float64(fullW) < scale-1e-9 {
			break
		}
		k = i
	}
	tl := si.tif.Levels()
	if k >= len(tl) {
		return mosaicPlan{}, false
	}
	l := tl[k]
	if l.Compression != tiff.CompressionJPEG || l.Samples != 3 ||
		(l.Photometric != tiff.PhotometricYCC && l.Photometric != tiff.PhotometricRGB) {
		return mosaicPlan{}, false
	}
	fx, fy := float64(l.Width)/float64(fullW), float64(l.Height)/float64(fullH)
	left := int(math.Floor(float64(res.X) * fx))
	top := int(math.Floor(float64(res.Y) * fy))
	right := min(l.Width, max(left+1, int(math.Ceil(float64(res.X+res.W)*fx-1e-9))))
	bottom := min(l.Height, max(top+1, int(math.Ceil(float64(res.Y+res.H)*fy-1e-9))))
	if left < 0 || top < 0 || left >= right || top >= bottom {
		return mosaicPlan{}, false
	}
	c0, r0 := left/l.TileWidth, top/l.TileHeight
	c1, r1 := (right-1)/l.TileWidth, (bottom-1)/l.TileHeight
	cols, rows := c1-c0+1, r1-r0+1
	if cols*rows > maxMosaicTiles {
		return mosaicPlan{}, false
	}
	ox, oy := c0*l.TileWidth, r0*l.TileHeight
	return mosaicPlan{level: k, col0: c0, row0: r0, cols: cols, rows: rows,
		crop: image.Rect(left-ox, top-oy, right-ox, bottom-oy)}, true
}

// mosaic reads the plan's stored tiles (no decode).
func (pl mosaicPlan) mosaic(t *tiff.File) (vips.Mosaic, error) {
	m := vips.Mosaic{Cols: pl.cols, Tiles: make([][]byte, 0, pl.cols*pl.rows),
		TileWidth: t.Levels()[pl.level].TileWidth, TileHeight: t.Levels()[pl.level].TileHeight}
	for r := pl.row0; r < pl.row0+pl.rows; r++ {
		for c := pl.col0; c < pl.col0+pl.cols; c++ {
			b, err := t.JPEGTile(pl.level, c, r)
			if err != nil {
				return vips.Mosaic{}, err
			}
			m.Tiles = append(m.Tiles, b)
		}
	}
	return m, nil
}

// pixBufs are the buffers regions are assembled in, reused.
var pixBufs sync.Pool

// pixels assembles the plan's crop as packed RGB from decoded tiles, taken
// from the decoded-tile cache or decoded (and kept) now. done returns the
// buffer for reuse.
func (s *Server) pixels(si *sourceInfo, version string, pl mosaicPlan) (out []byte, done func(), err error) {
	l := si.tif.Levels()[pl.level]
	tw, th := l.TileWidth, l.TileHeight
	w, h := pl.crop.Dx(), pl.crop.Dy()
	bp, _ := pixBufs.Get().(*[]byte)
	if bp == nil || cap(*bp) < w*h*3 {
		b := make([]byte, w*h*3)
		bp = &b
	}
	out = (*bp)[:w*h*3] // every byte is written: the tiles cover the crop
	done = func() { pixBufs.Put(bp) }
	fail := func(err error) ([]byte, func(), error) { done(); return nil, nil, err }
	for r := pl.row0; r < pl.row0+pl.rows; r++ {
		for c := pl.col0; c < pl.col0+pl.cols; c++ {
			// The tile's place in mosaic pixels, cut to the crop.
			tr := image.Rect((c-pl.col0)*tw, (r-pl.row0)*th, (c-pl.col0+1)*tw, (r-pl.row0+1)*th).Intersect(pl.crop)
			if tr.Empty() {
				continue
			}
			k := tileKey{version: version, level: pl.level, col: c, row: r}
			pix, rel, ok := s.tiles.get(k)
			if !ok {
				b, err := si.tif.JPEGTile(pl.level, c, r)
				if err != nil {
					return fail(err)
				}
				if pix, err = s.tiles.alloc(tw * th * 3); err != nil {
					return fail(err)
				}
				if err = s.cfg.Engine.DecodeJPEGTile(pix, b, tw, th); err != nil {
					s.tiles.mu.Lock()
					s.tiles.recycle(pix)
					s.tiles.mu.Unlock()
					return fail(err)
				}
				pix, rel = s.tiles.put(k, pix)
			}
			ox, oy := (c-pl.col0)*tw, (r-pl.row0)*th
			n := tr.Dx() * 3
			for y := tr.Min.Y; y < tr.Max.Y; y++ {
				src := ((y-oy)*tw + tr.Min.X - ox) * 3
				dst := ((y-pl.crop.Min.Y)*w + tr.Min.X - pl.crop.Min.X) * 3
				copy(out[dst:dst+n], pix[src:src+n])
			}
			rel()
		}
	}
	return out, done, nil
}
