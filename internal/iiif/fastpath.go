package iiif

// Level is one resolution of a stored pyramid.
type Level struct {
	Width, Height int // pixels at this level
}

// Pyramid describes a stored tiled pyramid: Levels[0] is full resolution and
// Levels[k] is the image shrunk by 2^k (libvips tiffsave pyramid=true).
type Pyramid struct {
	TileWidth, TileHeight int
	Levels                []Level
}

// ScaleFactors returns the IIIF scale factors of the pyramid's levels.
func (p Pyramid) ScaleFactors() []int {
	f := make([]int, len(p.Levels))
	for i := range f {
		f[i] = 1 << i
	}
	return f
}

// TileRef names one stored tile.
type TileRef struct {
	Level, Col, Row int
}

// FastTile reports whether r can be answered with the bytes of exactly one
// stored JPEG tile, with no decode or re-encode. That holds when rotation is
// 0 without mirroring, quality is default or color (pyramids are stored
// sRGB), format is jpg, and for some level k with s = 2^k the region is one
// whole tile of that level: X and Y are multiples of tile·s, W = H·(tw/th) =
// tile·s, and the size is exactly the tile size.
//
// Only full tiles qualify. A stored edge tile is padded to the full tile size
// inside its JPEG stream, while the IIIF request for it asks for the clipped
// size; cropping would need a decode, so partial edge tiles take the normal
// render path. (A level whose size is a multiple of the tile size has no
// partial tiles.)
func (r Resolved) FastTile(p Pyramid) (TileRef, bool) {
	if r.Rotation.Mirror || r.Rotation.Degrees != 0 && r.Rotation.Degrees != 360 ||
		(r.Quality != QualityDefault && r.Quality != QualityColor) || r.Format != FormatJPG ||
		p.TileWidth <= 0 || p.TileHeight <= 0 || len(p.Levels) == 0 {
		return TileRef{}, false
	}
	if r.Width != p.TileWidth || r.Height != p.TileHeight {
		return TileRef{}, false
	}
	if len(p.Levels) > 0 && (p.Levels[0].Width != r.imgW || p.Levels[0].Height != r.imgH) {
		return TileRef{}, false
	}
	for k, lv := range p.Levels {
		s := 1 << k
		tw, th := p.TileWidth*s, p.TileHeight*s
		if r.W != tw || r.H != th || r.X%tw != 0 || r.Y%th != 0 {
			continue
		}
		col, row := r.X/tw, r.Y/th
		if (col+1)*p.TileWidth > lv.Width || (row+1)*p.TileHeight > lv.Height {
			return TileRef{}, false // partial edge tile at this level
		}
		return TileRef{Level: k, Col: col, Row: row}, true
	}
	return TileRef{}, false
}
