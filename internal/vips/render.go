package vips

/*
#include "stor_vips.h"
*/
import "C"

import (
	"fmt"
	img "image"
	"math"
	"runtime"
	"unsafe"
)

// Quality is the colour treatment of a rendered image (IIIF quality).
type Quality int

// Qualities. QualityDefault and QualityColor both give 8-bit sRGB.
const (
	QualityDefault Quality = iota
	QualityColor
	QualityGray
	QualityBitonal
)

// Request is one IIIF-style render: everything already resolved to pixels.
type Request struct {
	Region        img.Rectangle // in full-resolution pixels of page 0 (after EXIF orientation)
	Width, Height int           // output size before rotation
	Rotation      float64       // clockwise degrees, 0 ≤ r ≤ 360
	Mirror        bool          // flip horizontally before rotating
	Quality       Quality
	Format        Format
	Q             int // encoder quality for JPEG/WebP/JP2; 0 means 85
}

// level is one loadable resolution of a source.
type level struct {
	page, shrink int
}

// pickLevel chooses the smallest stored resolution that is still at least
// as large as the output needs: a TIFF pyramid page (libvips writes levels as
// pages, each half the previous) or a JPEG DCT shrink factor. scale is
// output/region (≤1 when downscaling).
func (s *source) pickLevel(info Info, scale float64) (level, error) {
	lv := level{page: -1, shrink: 1}
	switch {
	case s.loader == "tiffload" && info.Pages > 1:
		w := info.Width
		for p := 1; p < info.Pages; p++ {
			im, err := s.load(p, 1, true, 1)
			if err != nil {
				return lv, err
			}
			pw := im.width()
			im.close()
			// A pyramid level is about half the previous page's width.
			if pw > w/2+1 || pw < w/2-1 || float64(pw)/float64(info.Width) < scale-1e-9 {
				break
			}
			lv.page, w = p, pw
		}
	case s.loader == "jpegload":
		for _, f := range []int{8, 4, 2} {
			if 1/float64(f) >= scale-1e-9 {
				lv.shrink = f
				break
			}
		}
	}
	return lv, nil
}

// Render runs the IIIF pipeline on path (an original or a pyramid made by
// Pyramid): region, then size, then mirror and rotation, then quality, then
// format. It reads the pyramid level (or JPEG shrink factor) nearest above
// the needed scale, so a small output from a large pyramid touches only the
// few tiles under the region at that level. Rotations that are not a
// multiple of 90° get a transparent background in PNG/WebP/TIFF/GIF and a
// white one in JPEG/JP2. Quality is applied before rotation so the filled
// corners stay white or transparent.
func (e *Engine) Render(path string, req Request) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	r := req.Region
	if r.Empty() || r.Min.X < 0 || r.Min.Y < 0 || req.Width <= 0 || req.Height <= 0 ||
		req.Rotation < 0 || req.Rotation > 360 || math.IsNaN(req.Rotation) {
		return nil, fmt.Errorf("vips: render %+v: %w", req, ErrBadRequest)
	}
	if err := e.checkPixels(req.Width, req.Height); err != nil {
		return nil, fmt.Errorf("vips: render output: %w", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src, err := openSource(path)
	if err != nil {
		return nil, err
	}
	info, err := e.header(src)
	if err != nil {
		return nil, fmt.Errorf("vips: render: %w", err)
	}
	fullW, fullH := info.Width, info.Height
	if info.Orientation >= 5 && info.Orientation <= 8 {
		fullW, fullH = fullH, fullW
	}
	if r.Max.X > fullW || r.Max.Y > fullH {
		return nil, fmt.Errorf("vips: render: region %v outside %dx%d: %w", r, fullW, fullH, ErrBadRequest)
	}
	scale := math.Max(float64(req.Width)/float64(r.Dx()), float64(req.Height)/float64(r.Dy()))
	lv, err := src.pickLevel(info, scale)
	if err != nil {
		return nil, err
	}
	svgScale := 1.0
	if src.svg != nil {
		svgScale = scale // rasterise SVGs at the size needed, sharp when upscaled
	}
	im, err := src.load(lv.page, lv.shrink, false, svgScale)
	if err != nil {
		return nil, err
	}
	defer im.close()
	if err := im.step("autorot", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_autorot(in, out) }); err != nil {
		return nil, err
	}
	// Map the region into this level's pixels, rounding outwards.
	fx, fy := float64(im.width())/float64(fullW), float64(im.height())/float64(fullH)
	left := int(math.Floor(float64(r.Min.X) * fx))
	top := int(math.Floor(float64(r.Min.Y) * fy))
	right := min(im.width(), max(left+1, int(math.Ceil(float64(r.Max.X)*fx-1e-9))))
	bottom := min(im.height(), max(top+1, int(math.Ceil(float64(r.Max.Y)*fy-1e-9))))
	if err := im.step("extract", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.stor_extract(in, out, C.int(left), C.int(top), C.int(right-left), C.int(bottom-top))
	}); err != nil {
		return nil, err
	}
	return im.finish(req)
}

// finish runs the steps after the region is cut: colour, size, quality,
// flatten, mirror, rotation, encode.
func (im *vimage) finish(req Request) ([]byte, error) {
	var err error
	if err := im.step("colour", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_to_srgb8(in, out) }); err != nil {
		return nil, err
	}
	if err := im.step("resize", func(in *C.VipsImage, out **C.VipsImage) C.int {
		return C.stor_resize_to(in, out, C.int(req.Width), C.int(req.Height))
	}); err != nil {
		return nil, err
	}
	switch req.Quality {
	case QualityGray:
		err = im.step("gray", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_gray(in, out) })
	case QualityBitonal:
		err = im.step("bitonal", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_bitonal(in, out) })
	}
	if err != nil {
		return nil, err
	}
	if !req.Format.hasAlphaOut() {
		if err := im.step("flatten", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_flatten_white(in, out) }); err != nil {
			return nil, err
		}
	}
	if req.Mirror {
		if err := im.step("flip", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_flip_h(in, out) }); err != nil {
			return nil, err
		}
	}
	if rot := math.Mod(req.Rotation, 360); rot != 0 {
		transparent := 0
		if req.Format.hasAlphaOut() {
			transparent = 1
		}
		if err := im.step("rotate", func(in *C.VipsImage, out **C.VipsImage) C.int {
			return C.stor_rotate(in, out, C.double(rot), C.int(transparent))
		}); err != nil {
			return nil, err
		}
	}
	return im.save(req.Format, req.Q)
}

// Mosaic is a rectangle of standalone JPEG tiles of one size TileWidth ×
// TileHeight (a stored pyramid level's tiles, edge tiles padded to the
// full size as stored), listed left to right, top to bottom, Cols per row.
type Mosaic struct {
	Tiles                 [][]byte
	Cols                  int
	TileWidth, TileHeight int
}

// RenderMosaic runs the IIIF pipeline of Render on the pixels of m: the
// crop (in mosaic pixels) is decoded, then sized, mirrored, rotated, given
// its quality and encoded as req asks (req.Region is ignored). libjpeg
// decodes only the tiles' rows inside the crop, straight into one buffer,
// so the server answers a region of a pyramid from the few stored tiles
// under it without libvips opening the TIFF. With the level and crop
// Render picks, the pixels are Render's.
func (e *Engine) RenderMosaic(m Mosaic, crop img.Rectangle, req Request) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	n := len(m.Tiles)
	if n == 0 || m.Cols <= 0 || n%m.Cols != 0 || m.TileWidth <= 0 || m.TileHeight <= 0 ||
		crop.Empty() || crop.Min.X < 0 || crop.Min.Y < 0 ||
		crop.Max.X > m.Cols*m.TileWidth || crop.Max.Y > n/m.Cols*m.TileHeight ||
		req.Width <= 0 || req.Height <= 0 || req.Rotation < 0 || req.Rotation > 360 || math.IsNaN(req.Rotation) {
		return nil, fmt.Errorf("vips: render mosaic of %d tiles, crop %v, %dx%d: %w", n, crop, req.Width, req.Height, ErrBadRequest)
	}
	if err := e.checkPixels(req.Width, req.Height); err != nil {
		return nil, fmt.Errorf("vips: render output: %w", err)
	}
	if err := e.checkPixels(crop.Dx(), crop.Dy()); err != nil {
		return nil, fmt.Errorf("vips: render region: %w", err)
	}
	total := 0
	for _, t := range m.Tiles {
		total += len(t)
	}
	// One C copy of the tiles: cgo may not pass Go memory holding pointers.
	buf := C.malloc(C.size_t(max(total, 1)))
	defer C.free(buf)
	offs := make([]C.size_t, n)
	lens := make([]C.size_t, n)
	xs := make([]C.int, n)
	ys := make([]C.int, n)
	at := 0
	for i, t := range m.Tiles {
		copy(unsafe.Slice((*byte)(unsafe.Add(buf, at)), len(t)), t)
		offs[i], lens[i] = C.size_t(at), C.size_t(len(t))
		xs[i] = C.int(i%m.Cols*m.TileWidth - crop.Min.X)
		ys[i] = C.int(i/m.Cols*m.TileHeight - crop.Min.Y)
		at += len(t)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.VipsImage
	if C.stor_mosaic_jpeg(buf, &offs[0], &lens[0], &xs[0], &ys[0], C.int(n), C.int(m.TileWidth), C.int(m.TileHeight),
		C.int(crop.Dx()), C.int(crop.Dy()), &out) != 0 {
		return nil, lastError("decode tiles")
	}
	im := &vimage{p: out}
	defer im.close()
	return im.finish(req)
}

// DecodeJPEGTile decodes one standalone 3-band JPEG tile of exactly
// width × height (a stored pyramid tile) into dst as packed RGB
// (width*height*3 bytes; dst may be memory outside the Go heap), for a
// cache of decoded tiles.
func (e *Engine) DecodeJPEGTile(dst, b []byte, width, height int) error {
	return e.DecodeJPEGTileScaled(dst, b, width, height, 8)
}

// DecodeJPEGTileScaled is DecodeJPEGTile at scale m/8 (1 ≤ m ≤ 8; width*m
// and height*m multiples of 8): libjpeg scales in the DCT domain, so the
// tile is decoded straight to (width*m/8) × (height*m/8), for less work
// than a full decode, and dst holds that many pixels. ScaledTileSize says
// which scales a tile size allows.
func (e *Engine) DecodeJPEGTileScaled(dst, b []byte, width, height, m int) error {
	if err := e.check(); err != nil {
		return err
	}
	if len(b) == 0 || width <= 0 || height <= 0 || !ScaleOK(width, height, m) || len(dst) != width*m/8*height*m/8*3 {
		return fmt.Errorf("vips: decode tile of %d bytes, %dx%d at %d/8 into %d bytes: %w", len(b), width, height, m, len(dst), ErrBadRequest)
	}
	if err := e.checkPixels(width, height); err != nil {
		return fmt.Errorf("vips: decode tile: %w", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if C.stor_decode_tile_rgb(unsafe.Pointer(&b[0]), C.size_t(len(b)), C.int(width), C.int(height), C.int(m), (*C.uchar)(unsafe.Pointer(&dst[0]))) != 0 {
		return lastError("decode tile")
	}
	return nil
}

// ScaleOK reports whether a width × height JPEG tile can be decoded at
// scale m/8 to whole pixels.
func ScaleOK(width, height, m int) bool {
	return m >= 1 && m <= 8 && width*m%8 == 0 && height*m%8 == 0
}

// RegionJPEG says what EncodeRegionJPEG makes: the rectangle X0,Y0–X1,Y1
// of the pixels (edges in pixel units, fractions allowed, inside the
// buffer) scaled to Width × Height, encoded at quality Q (1–100),
// with optimised Huffman tables when Optimize is set.
type RegionJPEG struct {
	X0, Y0, X1, Y1 float64
	Width, Height  int
	Q              int
	Optimize       bool
}

// EncodeRegionJPEG scales part of width × height packed RGB pixels (sRGB)
// and encodes it as a baseline JPEG (4:2:0, JFIF, no metadata), in the
// calling thread with libjpeg, without a libvips pipeline: the IIIF
// server's path for the commonest region request (default or colour
// quality, no rotation or mirroring, JPEG), far cheaper than RenderRGB.
// The filter is a triangle: bilinear when enlarging, a tent as wide as the
// reduction when reducing (an area-weighted average, no ringing); pixels
// of the buffer just outside the rectangle contribute, and beyond the
// buffer its edge repeats. Meant for small reductions (the server first
// picks the pyramid level and a DCT scale so the factor left is below
// about 1.3); it is correct but soft for large ones. pix is read during
// the call only.
func (e *Engine) EncodeRegionJPEG(pix []byte, width, height int, r RegionJPEG) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	if width <= 0 || height <= 0 || len(pix) != width*height*3 || r.Width <= 0 || r.Height <= 0 ||
		!(r.X0 >= 0 && r.X0 < r.X1 && r.X1 <= float64(width) && r.Y0 >= 0 && r.Y0 < r.Y1 && r.Y1 <= float64(height)) ||
		r.Q < 1 || r.Q > 100 {
		return nil, fmt.Errorf("vips: encode region %+v of %dx%d RGB (%d bytes): %w", r, width, height, len(pix), ErrBadRequest)
	}
	if err := e.checkPixels(r.Width, r.Height); err != nil {
		return nil, fmt.Errorf("vips: encode region: %w", err)
	}
	opt := 0
	if r.Optimize {
		opt = 1
	}
	var out *C.uchar
	var n C.ulong
	if C.stor_region_jpeg((*C.uchar)(unsafe.Pointer(&pix[0])), C.int(width), C.int(height),
		C.double(r.X0), C.double(r.Y0), C.double(r.X1), C.double(r.Y1),
		C.int(r.Width), C.int(r.Height), C.int(r.Q), C.int(opt), &out, &n) != 0 {
		return nil, lastError("encode region")
	}
	defer C.free(unsafe.Pointer(out))
	return C.GoBytes(unsafe.Pointer(out), C.int(n)), nil
}

// RenderRGB runs the IIIF pipeline of Render on width × height packed RGB
// pixels (sRGB; width*height*3 bytes): sized, mirrored, rotated, given its
// quality and encoded as req asks (req.Region is ignored). The IIIF
// server builds the pixels from decoded pyramid tiles it keeps. libvips
// works on a copy of pix.
func (e *Engine) RenderRGB(pix []byte, width, height int, req Request) ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	if width <= 0 || height <= 0 || len(pix) != width*height*3 ||
		req.Width <= 0 || req.Height <= 0 || req.Rotation < 0 || req.Rotation > 360 || math.IsNaN(req.Rotation) {
		return nil, fmt.Errorf("vips: render %dx%d RGB (%d bytes) to %dx%d: %w", width, height, len(pix), req.Width, req.Height, ErrBadRequest)
	}
	if err := e.checkPixels(req.Width, req.Height); err != nil {
		return nil, fmt.Errorf("vips: render output: %w", err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.VipsImage
	if C.stor_from_rgb(unsafe.Pointer(&pix[0]), C.int(width), C.int(height), &out) != 0 {
		return nil, lastError("wrap pixels")
	}
	im := &vimage{p: out}
	defer im.close()
	return im.finish(req)
}
