// Package tiff reads the structure of tiled TIFF pyramids (classic TIFF and
// BigTIFF, little or big endian) and returns stored tiles without decoding
// them. It is pure Go.
//
// Its purpose is the IIIF fast path: when a request is exactly one stored
// tile, the server sends that tile's JPEG bytes. In a JPEG-compressed TIFF
// each tile is an "abbreviated" JPEG stream whose quantisation and Huffman
// tables live once in the JPEGTables tag; JPEGTile merges the two into a
// standalone JPEG that any decoder reads.
//
// Levels are found in both layouts: the chain of top-level IFDs (what
// libvips' tiffsave pyramid=true and iipsrv use: one page per level) and
// SubIFDs of the first IFD (tiffsave subifd=true, OME-TIFF). Levels are
// returned largest first. Edge tiles are returned as stored: padded to the
// full tile size (see Level.TileRect for the valid part).
package tiff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"sort"
)

// Errors.
var (
	ErrFormat     = errors.New("tiff: malformed file")
	ErrNotTiled   = errors.New("tiff: image is not tiled")
	ErrNotJPEG    = errors.New("tiff: tiles are not JPEG-compressed")
	ErrNoSuchTile = errors.New("tiff: no such tile")
)

// Tags used.
const (
	tagNewSubfileType  = 254
	tagImageWidth      = 256
	tagImageLength     = 257
	tagCompression     = 259
	tagPhotometric     = 262
	tagSamplesPerPixel = 277
	tagTileWidth       = 322
	tagTileLength      = 323
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
	tagSubIFDs         = 330
	tagJPEGTables      = 347
)

// Compression and photometric values.
const (
	CompressionJPEG = 7
	PhotometricRGB  = 2
	PhotometricYCC  = 6
)

// Level is one tiled image (one resolution).
type Level struct {
	Width, Height         int
	TileWidth, TileHeight int
	Cols, Rows            int
	Compression           int
	Photometric           int
	Samples               int
	offsets, counts       []uint64
	jpegTables            []byte
}

// TileRect is the part of the level that tile (col,row) covers; edge tiles
// are smaller than the stored (padded) tile.
func (l *Level) TileRect(col, row int) image.Rectangle {
	r := image.Rect(col*l.TileWidth, row*l.TileHeight, (col+1)*l.TileWidth, (row+1)*l.TileHeight)
	return r.Intersect(image.Rect(0, 0, l.Width, l.Height))
}

// File is an opened tiled TIFF.
type File struct {
	r      io.ReaderAt
	levels []*Level
}

// Levels returns the tiled levels, largest first.
func (f *File) Levels() []*Level { return f.levels }

type reader struct {
	r   io.ReaderAt
	bo  binary.ByteOrder
	big bool
}

func (d *reader) read(off uint64, n int) ([]byte, error) {
	if n < 0 || n > 1<<30 {
		return nil, fmt.Errorf("%w: length %d", ErrFormat, n)
	}
	b := make([]byte, n)
	if _, err := d.r.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("%w: read %d bytes at %d: %w", ErrFormat, n, off, err)
	}
	return b, nil
}

type entry struct {
	typ   uint16
	count uint64
	val   []byte // the value bytes (inline or fetched)
}

func typeSize(t uint16) int {
	switch t {
	case 1, 2, 6, 7: // BYTE ASCII SBYTE UNDEFINED
		return 1
	case 3, 8: // SHORT SSHORT
		return 2
	case 4, 9, 11, 13: // LONG SLONG FLOAT IFD
		return 4
	case 5, 10, 12, 16, 17, 18: // RATIONAL SRATIONAL DOUBLE LONG8 SLONG8 IFD8
		return 8
	}
	return 0
}

func (d *reader) uints(e entry) []uint64 {
	sz := typeSize(e.typ)
	out := make([]uint64, 0, e.count)
	for i := 0; i < int(e.count) && (i+1)*sz <= len(e.val); i++ {
		b := e.val[i*sz:]
		switch sz {
		case 1:
			out = append(out, uint64(b[0]))
		case 2:
			out = append(out, uint64(d.bo.Uint16(b)))
		case 4:
			out = append(out, uint64(d.bo.Uint32(b)))
		case 8:
			out = append(out, d.bo.Uint64(b))
		}
	}
	return out
}

// ifd reads the IFD at off and returns its entries and the next IFD offset.
func (d *reader) ifd(off uint64) (map[uint16]entry, uint64, error) {
	cntSize, entSize, inline := 2, 12, 4
	if d.big {
		cntSize, entSize, inline = 8, 20, 8
	}
	b, err := d.read(off, cntSize)
	if err != nil {
		return nil, 0, err
	}
	var n uint64
	if d.big {
		n = d.bo.Uint64(b)
	} else {
		n = uint64(d.bo.Uint16(b))
	}
	if n > 4096 {
		return nil, 0, fmt.Errorf("%w: %d IFD entries", ErrFormat, n)
	}
	body, err := d.read(off+uint64(cntSize), int(n)*entSize+inline)
	if err != nil {
		return nil, 0, err
	}
	m := make(map[uint16]entry, n)
	for i := 0; i < int(n); i++ {
		e := body[i*entSize:]
		tag, typ := d.bo.Uint16(e), d.bo.Uint16(e[2:])
		var count uint64
		var vb []byte
		if d.big {
			count, vb = d.bo.Uint64(e[4:]), e[12:20]
		} else {
			count, vb = uint64(d.bo.Uint32(e[4:])), e[8:12]
		}
		sz := typeSize(typ)
		if sz == 0 {
			continue
		}
		total := uint64(sz) * count
		if total > 1<<30 {
			return nil, 0, fmt.Errorf("%w: tag %d too large", ErrFormat, tag)
		}
		var val []byte
		if total <= uint64(inline) {
			val = append([]byte(nil), vb[:total]...)
		} else {
			var p uint64
			if d.big {
				p = d.bo.Uint64(vb)
			} else {
				p = uint64(d.bo.Uint32(vb))
			}
			if val, err = d.read(p, int(total)); err != nil {
				return nil, 0, err
			}
		}
		m[tag] = entry{typ: typ, count: count, val: val}
	}
	nb := body[int(n)*entSize:]
	var next uint64
	if d.big {
		next = d.bo.Uint64(nb)
	} else {
		next = uint64(d.bo.Uint32(nb))
	}
	return m, next, nil
}

func (d *reader) one(m map[uint16]entry, tag uint16, def uint64) uint64 {
	if e, ok := m[tag]; ok {
		if v := d.uints(e); len(v) > 0 {
			return v[0]
		}
	}
	return def
}

func (d *reader) level(m map[uint16]entry) (*Level, bool) {
	tw, th := d.one(m, tagTileWidth, 0), d.one(m, tagTileLength, 0)
	if tw == 0 || th == 0 {
		return nil, false
	}
	l := &Level{
		Width: int(d.one(m, tagImageWidth, 0)), Height: int(d.one(m, tagImageLength, 0)),
		TileWidth: int(tw), TileHeight: int(th),
		Compression: int(d.one(m, tagCompression, 1)), Photometric: int(d.one(m, tagPhotometric, 0)),
		Samples: int(d.one(m, tagSamplesPerPixel, 1)),
		offsets: d.uints(m[tagTileOffsets]), counts: d.uints(m[tagTileByteCounts]),
	}
	if e, ok := m[tagJPEGTables]; ok {
		l.jpegTables = e.val
	}
	if l.Width <= 0 || l.Height <= 0 {
		return nil, false
	}
	l.Cols = (l.Width + l.TileWidth - 1) / l.TileWidth
	l.Rows = (l.Height + l.TileHeight - 1) / l.TileHeight
	if len(l.offsets) < l.Cols*l.Rows || len(l.counts) < l.Cols*l.Rows {
		return nil, false
	}
	return l, true
}

// Open reads the IFD structure of a tiled TIFF. Untiled IFDs (for example a
// strip-based thumbnail or label image) are skipped; a file with no tiled
// IFD is ErrNotTiled.
func Open(r io.ReaderAt) (*File, error) {
	d := &reader{r: r}
	h := make([]byte, 16)
	if _, err := r.ReadAt(h[:8], 0); err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	switch string(h[:2]) {
	case "II":
		d.bo = binary.LittleEndian
	case "MM":
		d.bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: not a TIFF", ErrFormat)
	}
	var off uint64
	switch d.bo.Uint16(h[2:]) {
	case 42:
		off = uint64(d.bo.Uint32(h[4:]))
	case 43:
		if _, err := r.ReadAt(h[8:16], 8); err != nil {
			return nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
		}
		d.big = true
		off = d.bo.Uint64(h[8:])
	default:
		return nil, fmt.Errorf("%w: bad version", ErrFormat)
	}
	f := &File{r: r}
	seen := map[uint64]bool{}
	for first := true; off != 0; first = false {
		if seen[off] || len(seen) > 1000 {
			return nil, fmt.Errorf("%w: IFD loop", ErrFormat)
		}
		seen[off] = true
		m, next, err := d.ifd(off)
		if err != nil {
			return nil, err
		}
		if l, ok := d.level(m); ok {
			f.levels = append(f.levels, l)
		}
		if first {
			for _, so := range d.uints(m[tagSubIFDs]) {
				sm, _, err := d.ifd(so)
				if err != nil {
					return nil, err
				}
				if l, ok := d.level(sm); ok {
					f.levels = append(f.levels, l)
				}
			}
		}
		off = next
	}
	if len(f.levels) == 0 {
		return nil, ErrNotTiled
	}
	// Keep the levels of the main image: largest first, each no larger than
	// the one before (drops e.g. a tiled thumbnail that precedes).
	sort.SliceStable(f.levels, func(i, j int) bool { return f.levels[i].Width > f.levels[j].Width })
	return f, nil
}

// RawTile returns the tile's stored bytes.
func (f *File) RawTile(level, col, row int) ([]byte, error) {
	if level < 0 || level >= len(f.levels) {
		return nil, fmt.Errorf("%w: level %d of %d", ErrNoSuchTile, level, len(f.levels))
	}
	l := f.levels[level]
	if col < 0 || row < 0 || col >= l.Cols || row >= l.Rows {
		return nil, fmt.Errorf("%w: tile %d,%d of %dx%d", ErrNoSuchTile, col, row, l.Cols, l.Rows)
	}
	i := row*l.Cols + col
	n := l.counts[i]
	if n == 0 || n > 1<<28 {
		return nil, fmt.Errorf("%w: tile %d,%d has %d bytes", ErrFormat, col, row, n)
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, int64(l.offsets[i])); err != nil {
		return nil, fmt.Errorf("tiff: read tile %d,%d: %w", col, row, err)
	}
	return b, nil
}

// JFIF APP0 (says YCbCr) and Adobe APP14 with transform 0 (says RGB).
var (
	app0JFIF  = []byte{0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	app14RGB  = []byte{0xFF, 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0}
	markerSOI = []byte{0xFF, 0xD8}
)

// JPEGTile returns tile (col,row) of level as a standalone JPEG: SOI, a
// colour-space marker, the tables from JPEGTables, then the tile's own
// stream after its SOI. Edge tiles keep their padded size.
func (f *File) JPEGTile(level, col, row int) ([]byte, error) {
	return f.AppendJPEGTile(nil, level, col, row)
}

// AppendJPEGTile is JPEGTile appending to dst, so that a caller serving
// many tiles can reuse one buffer (no allocation per tile).
func (f *File) AppendJPEGTile(dst []byte, level, col, row int) ([]byte, error) {
	if level < 0 || level >= len(f.levels) {
		return nil, fmt.Errorf("%w: level %d of %d", ErrNoSuchTile, level, len(f.levels))
	}
	l := f.levels[level]
	if l.Compression != CompressionJPEG {
		return nil, fmt.Errorf("%w: compression %d", ErrNotJPEG, l.Compression)
	}
	if col < 0 || row < 0 || col >= l.Cols || row >= l.Rows {
		return nil, fmt.Errorf("%w: tile %d,%d of %dx%d", ErrNoSuchTile, col, row, l.Cols, l.Rows)
	}
	i := row*l.Cols + col
	n := int(l.counts[i])
	if n < 4 || n > 1<<28 {
		return nil, fmt.Errorf("%w: tile %d,%d has %d bytes", ErrFormat, col, row, n)
	}
	tables := l.jpegTables
	if len(tables) >= 4 {
		if tables[0] != 0xFF || tables[1] != 0xD8 {
			return nil, fmt.Errorf("%w: JPEGTables does not start with SOI", ErrFormat)
		}
		tables = tables[2:]
		if n := len(tables); n >= 2 && tables[n-2] == 0xFF && tables[n-1] == 0xD9 {
			tables = tables[:n-2]
		}
	} else {
		tables = nil
	}
	app := app0JFIF
	if l.Samples == 3 && l.Photometric == PhotometricRGB {
		app = app14RGB
	}
	// One allocation: the tile is read in place after the header, its own
	// SOI landing on the header's last two bytes, which are written after.
	hdr := len(markerSOI) + len(app) + len(tables)
	start := len(dst)
	dst = slices.Grow(dst, hdr-2+n)[:start+hdr-2+n]
	out := dst[start:]
	if _, err := f.r.ReadAt(out[hdr-2:], int64(l.offsets[i])); err != nil {
		return nil, fmt.Errorf("tiff: read tile %d,%d: %w", col, row, err)
	}
	if out[hdr-2] != 0xFF || out[hdr-1] != 0xD8 {
		return nil, fmt.Errorf("%w: tile %d,%d does not start with SOI", ErrFormat, col, row)
	}
	at := copy(out, markerSOI)
	at += copy(out[at:], app)
	copy(out[at:], tables)
	return dst, nil
}
