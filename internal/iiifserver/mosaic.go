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
// decoded at which DCT scale, and where the region lies in the mosaic they
// make.
type mosaicPlan struct {
	level      int
	m          int // tiles are decoded at scale m/8 (8: full size)
	col0, row0 int
	cols, rows int
	crop       image.Rectangle // in mosaic pixels (at scale m/8)
}

// pyramidLevel picks the level vips.Render would read: the smallest level
// at least as large as the output needs. It reports false when the
// pyramid's tiles at that level are not 3-band JPEG.
func pyramidLevel(si *sourceInfo, res iiif.Resolved) (int, *tiff.Level, bool) {
	p := si.pyramid
	if p == nil || si.tif == nil || len(p.Levels) == 0 || res.W <= 0 || res.H <= 0 {
		return 0, nil, false
	}
	scale := math.Max(float64(res.Width)/float64(res.W), float64(res.Height)/float64(res.H))
	k := 0
	for i := 1; i < len(p.Levels); i++ {
		if float64(p.Levels[i].Width)/float64(si.width) < scale-1e-9 {
			break
		}
		k = i
	}
	tl := si.tif.Levels()
	if k >= len(tl) {
		return 0, nil, false
	}
	l := tl[k]
	if l.Compression != tiff.CompressionJPEG || l.Samples != 3 ||
		(l.Photometric != tiff.PhotometricYCC && l.Photometric != tiff.PhotometricRGB) {
		return 0, nil, false
	}
	return k, l, true
}

// planMosaic picks the level vips.Render would read and the tiles under
// the region at that level, mapping the region exactly as Render does, so
// both paths cut the same pixels. It reports false when the pyramid's
// tiles are not 3-band JPEG or the region needs more than maxMosaicTiles
// tiles.
func planMosaic(si *sourceInfo, res iiif.Resolved) (mosaicPlan, bool) {
	k, l, ok := pyramidLevel(si, res)
	if !ok {
		return mosaicPlan{}, false
	}
	fx, fy := float64(l.Width)/float64(si.width), float64(l.Height)/float64(si.height)
	left := int(math.Floor(float64(res.X) * fx))
	top := int(math.Floor(float64(res.Y) * fy))
	right := min(l.Width, max(left+1, int(math.Ceil(float64(res.X+res.W)*fx-1e-9))))
	bottom := min(l.Height, max(top+1, int(math.Ceil(float64(res.Y+res.H)*fy-1e-9))))
	return tilesUnder(k, 8, l.TileWidth, l.TileHeight, image.Rect(left, top, right, bottom))
}

// tilesUnder is the plan for the pixels r of level k at scale m/8, whose
// tiles are tw × th at that scale.
func tilesUnder(k, m, tw, th int, r image.Rectangle) (mosaicPlan, bool) {
	if r.Empty() || r.Min.X < 0 || r.Min.Y < 0 {
		return mosaicPlan{}, false
	}
	c0, r0 := r.Min.X/tw, r.Min.Y/th
	c1, r1 := (r.Max.X-1)/tw, (r.Max.Y-1)/th
	cols, rows := c1-c0+1, r1-r0+1
	if cols*rows > maxMosaicTiles {
		return mosaicPlan{}, false
	}
	return mosaicPlan{level: k, m: m, col0: c0, row0: r0, cols: cols, rows: rows,
		crop: r.Sub(image.Pt(c0*tw, r0*th))}, true
}

// shortJPEG reports whether a request can take the short region path
// (vips.EncodeRegionJPEG: tiles decoded at a DCT scale, a triangle filter,
// libjpeg's encoder): a JPEG in default or colour quality, not rotated or
// mirrored, the requests a viewer's zoom and pan make that do not line up
// with the stored tiles.
func shortJPEG(res iiif.Resolved) bool {
	return res.Format == iiif.FormatJPG && res.Rotation.Degrees == 0 && !res.Rotation.Mirror &&
		(res.Quality == iiif.QualityDefault || res.Quality == iiif.QualityColor)
}

// regionPlan is planMosaic for the short JPEG path, for requests shortJPEG
// allows that reduce (or keep) the size of the region at the pyramid level
// planMosaic picks (enlargements keep libvips' Lanczos): the same level,
// then the smallest DCT scale m/8 (8, 4, 2 or 1) at which the region is
// still at least as large as the output, so each tile is decoded straight
// to a reduced size and the factor left to resample is below 2. (A full
// pyramid's next level is already half the size, so there the scale is
// 8/8 and the factor left is below 2 anyway; the scale helps pyramids
// with missing levels and outputs far smaller than the smallest level.) It returns the plan and the region in the crop's
// pixels, with its fractional edges (the crop is the region rounded
// outwards).
func regionPlan(si *sourceInfo, res iiif.Resolved) (mosaicPlan, vips.RegionJPEG, bool) {
	if !shortJPEG(res) {
		return mosaicPlan{}, vips.RegionJPEG{}, false
	}
	k, l, ok := pyramidLevel(si, res)
	if !ok {
		return mosaicPlan{}, vips.RegionJPEG{}, false
	}
	fx, fy := float64(l.Width)/float64(si.width), float64(l.Height)/float64(si.height)
	lw, lh := float64(res.W)*fx, float64(res.H)*fy // the region at level k
	if lw < float64(res.Width)-1e-6 || lh < float64(res.Height)-1e-6 {
		return mosaicPlan{}, vips.RegionJPEG{}, false // an enlargement
	}
	// Only halving scales: libjpeg-turbo has SIMD code for those, and its
	// 5/8, 6/8 and 7/8 decodes (a 10×10 to 14×14 IDCT for the chroma) cost
	// more than a full one.
	m := 8
	for m > 1 && lw*float64(m/2)/8 >= float64(res.Width)-1e-6 && lh*float64(m/2)/8 >= float64(res.Height)-1e-6 &&
		vips.ScaleOK(l.TileWidth, l.TileHeight, m/2) {
		m /= 2
	}
	sc := float64(m) / 8
	x0, y0 := float64(res.X)*fx*sc, float64(res.Y)*fy*sc
	x1, y1 := float64(res.X+res.W)*fx*sc, float64(res.Y+res.H)*fy*sc
	// The level's pixels at this scale (the last may be part padding).
	sw, sh := int(math.Ceil(float64(l.Width)*sc-1e-9)), int(math.Ceil(float64(l.Height)*sc-1e-9))
	x1, y1 = math.Min(x1, float64(sw)), math.Min(y1, float64(sh))
	r := image.Rect(int(math.Floor(x0+1e-9)), int(math.Floor(y0+1e-9)), int(math.Ceil(x1-1e-9)), int(math.Ceil(y1-1e-9)))
	pl, ok := tilesUnder(k, m, l.TileWidth*m/8, l.TileHeight*m/8, r)
	if !ok || !(x1 > x0) || !(y1 > y0) {
		return mosaicPlan{}, vips.RegionJPEG{}, false
	}
	ox, oy := float64(r.Min.X), float64(r.Min.Y)
	return pl, vips.RegionJPEG{
		X0: math.Max(0, x0-ox), Y0: math.Max(0, y0-oy),
		X1: math.Min(float64(r.Dx()), x1-ox), Y1: math.Min(float64(r.Dy()), y1-oy),
		Width: res.Width, Height: res.Height,
	}, true
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
// from the decoded-tile cache (when there is one) or decoded (and kept)
// now. done returns the buffer for reuse.
func (s *Server) pixels(si *sourceInfo, version string, pl mosaicPlan) (out []byte, done func(), err error) {
	l := si.tif.Levels()[pl.level]
	tw, th := l.TileWidth*pl.m/8, l.TileHeight*pl.m/8 // decoded size
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
			k := tileKey{version: version, level: pl.level, col: c, row: r, m: pl.m}
			pix, rel, ok := s.tiles.get(k)
			if !ok {
				b, err := si.tif.JPEGTile(pl.level, c, r)
				if err != nil {
					return fail(err)
				}
				if pix, err = s.tiles.alloc(tw * th * 3); err != nil {
					return fail(err)
				}
				if err = s.cfg.Engine.DecodeJPEGTileScaled(pix, b, l.TileWidth, l.TileHeight, pl.m); err != nil {
					s.tiles.drop(pix)
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
