package vips

/*
#cgo pkg-config: vips libjpeg
#cgo LDFLAGS: -lm
#include "stor_vips.h"
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Errors. Callers match them with errors.Is.
var (
	// ErrTooManyPixels: the image declares more pixels than Config.MaxPixels.
	ErrTooManyPixels = errors.New("vips: image has too many pixels")
	// ErrUnsupported: no libvips loader recognises the file.
	ErrUnsupported = errors.New("vips: unsupported image format")
	// ErrNotStarted: Startup has not run, or Shutdown has.
	ErrNotStarted = errors.New("vips: not started")
	// ErrBadRequest: an option or render request is invalid.
	ErrBadRequest = errors.New("vips: bad request")
)

// Error is a libvips failure, with libvips' own message.
type Error struct {
	Op  string // what stor was doing: "load", "thumbnail", "save", ...
	Msg string // libvips' error buffer
}

func (e *Error) Error() string { return "vips: " + e.Op + ": " + strings.TrimSpace(e.Msg) }

// PixelLimitError says which image broke the pixel limit. It wraps
// ErrTooManyPixels.
type PixelLimitError struct {
	Width, Height int
	Limit         int64
}

func (e *PixelLimitError) Error() string {
	return fmt.Sprintf("vips: image is %dx%d = %d pixels, limit %d", e.Width, e.Height, int64(e.Width)*int64(e.Height), e.Limit)
}

// Unwrap returns ErrTooManyPixels.
func (e *PixelLimitError) Unwrap() error { return ErrTooManyPixels }

// Config holds the engine settings. Concurrency and the cache settings are
// process-wide in libvips; MaxPixels is per Engine.
type Config struct {
	// Concurrency is the number of libvips worker threads per pipeline.
	// Default 0: libvips' own default (the number of CPUs, or VIPS_CONCURRENCY).
	Concurrency int
	// CacheMaxOps is how many operations libvips' operation cache keeps.
	// Default 0: cache disabled, as imgproxy does; a media server rarely
	// repeats an identical operation and the cache holds memory and files.
	CacheMaxOps int
	// CacheMaxMem caps the operation cache's memory in bytes. Default 0.
	CacheMaxMem int64
	// CacheMaxFiles caps files the cache keeps open. Default 0.
	CacheMaxFiles int
	// MaxPixels is the decompression-bomb guard: an image whose header
	// declares more than width×height pixels is refused with
	// ErrTooManyPixels before any pixel is decoded. Default 1<<30
	// (1 gigapixel, e.g. 32768×32768): above any camera or normal scan,
	// enough for large museum masters, and a ceiling on what the pyramid
	// job's sequential pipeline is asked to stream.
	MaxPixels int64
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config { return Config{MaxPixels: 1 << 30} }

// Validate reports the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Concurrency < 0:
		return fmt.Errorf("vips: config: Concurrency %d < 0", c.Concurrency)
	case c.CacheMaxOps < 0:
		return fmt.Errorf("vips: config: CacheMaxOps %d < 0", c.CacheMaxOps)
	case c.CacheMaxMem < 0:
		return fmt.Errorf("vips: config: CacheMaxMem %d < 0", c.CacheMaxMem)
	case c.CacheMaxFiles < 0:
		return fmt.Errorf("vips: config: CacheMaxFiles %d < 0", c.CacheMaxFiles)
	case c.MaxPixels <= 0:
		return fmt.Errorf("vips: config: MaxPixels %d must be > 0", c.MaxPixels)
	}
	return nil
}

// libvips can be initialised once per process and never again after
// vips_shutdown; this is the state libvips forces on us.
var lib struct {
	sync.Mutex
	started, stopped bool
}

// Engine runs image operations. It is safe for concurrent use.
type Engine struct {
	cfg     Config
	bufs    chan *cbuf // idle JPEG read buffers (see jpegThumb)
	readMax int64      // largest JPEG read whole: maxPooledRead (tests lower it)
}

// cbuf is a C-allocated buffer a whole JPEG is read into. Kept and
// reused, its pages stay mapped: a fresh buffer per file costs a page
// fault per 4 KiB, more than the read calls it saves.
type cbuf struct {
	p unsafe.Pointer
	n int
}

// maxPooledRead is the largest JPEG read whole into a buffer (and the
// largest buffer kept); larger files are read through libvips' file source.
const maxPooledRead = 64 << 20

// getBuf returns an idle buffer of at least n bytes, or a new one.
func (e *Engine) getBuf(n int) *cbuf {
	var b *cbuf
	select {
	case b = <-e.bufs:
	default:
		b = &cbuf{}
	}
	if b.n < n {
		C.free(b.p)
		// The next power of two: files of a set differ a little in size,
		// and a buffer grown per file would be faulted in afresh each time
		// (pages never touched cost no memory).
		c := 1 << 20
		for c < n {
			c <<= 1
		}
		b.p, b.n = C.malloc(C.size_t(c)), c
	}
	return b
}

// putBuf keeps b for the next JPEG, or frees it when enough are idle.
func (e *Engine) putBuf(b *cbuf) {
	select {
	case e.bufs <- b:
	default:
		C.free(b.p)
	}
}

// Startup initialises libvips (once per process), applies the process-wide
// settings of cfg, and returns an Engine with cfg's per-engine limits.
// Calling it again applies the new process-wide settings and returns
// another Engine. After Shutdown it fails with ErrNotStarted.
func Startup(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lib.Lock()
	defer lib.Unlock()
	if lib.stopped {
		return nil, fmt.Errorf("vips: startup after shutdown: %w", ErrNotStarted)
	}
	if !lib.started {
		if C.stor_init() != 0 {
			return nil, lastError("init")
		}
		lib.started = true
	}
	C.stor_config(C.int(cfg.Concurrency), C.int(cfg.CacheMaxOps), C.size_t(cfg.CacheMaxMem), C.int(cfg.CacheMaxFiles))
	return &Engine{cfg: cfg, bufs: make(chan *cbuf, runtime.GOMAXPROCS(0)), readMax: maxPooledRead}, nil
}

// Shutdown releases libvips. libvips cannot be started again in this
// process; call it only at exit.
func Shutdown() {
	lib.Lock()
	defer lib.Unlock()
	if lib.started && !lib.stopped {
		C.vips_shutdown()
	}
	lib.stopped = true
}

func (e *Engine) check() error {
	lib.Lock()
	defer lib.Unlock()
	if e == nil || !lib.started || lib.stopped {
		return ErrNotStarted
	}
	return nil
}

// lastError takes libvips' (process-wide) error buffer.
func lastError(op string) error {
	s := C.vips_error_buffer_copy()
	msg := C.GoString(s)
	C.g_free(C.gpointer(s))
	return &Error{Op: op, Msg: msg}
}

// image owns a VipsImage reference. small: its pixels come from a small
// memory image (the JPEG thumbnail path), so it is cheap to compute on the
// calling thread.
type vimage struct {
	p     *C.VipsImage
	small bool
}

func (im *vimage) close() {
	if im != nil && im.p != nil {
		C.g_object_unref(C.gpointer(im.p))
		im.p = nil
	}
}

func (im *vimage) width() int  { return int(im.p.Xsize) }
func (im *vimage) height() int { return int(im.p.Ysize) }

// step replaces im with the output of f, or returns f's error.
func (im *vimage) step(op string, f func(in *C.VipsImage, out **C.VipsImage) C.int) error {
	var out *C.VipsImage
	if f(im.p, &out) != 0 {
		return lastError(op)
	}
	im.close()
	im.p = out
	return nil
}

// source is an opened input file.
type source struct {
	path   string
	loader string
	svg    []byte // the file's bytes when loader is svgload
}

func openSource(path string) (*source, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("vips: open: %w", err)
	}
	l := C.stor_loader(cpath)
	if l == nil {
		C.vips_error_clear()
		return nil, fmt.Errorf("vips: %s: %w", filepath.Base(path), ErrUnsupported)
	}
	s := &source{path: path, loader: C.GoString(l)}
	if strings.HasPrefix(s.loader, "svgload") {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("vips: read svg: %w", err)
		}
		s.svg = b
	}
	return s, nil
}

// load opens page (or -1 for the loader's default) with JPEG shrink-on-load
// factor shrink (1 = none); svgScale is used for SVGs.
func (s *source) load(page, shrink int, sequential bool, svgScale float64) (*vimage, error) {
	var out *C.VipsImage
	if s.svg != nil {
		if svgScale <= 0 {
			svgScale = 1
		}
		if C.stor_load_svg(unsafe.Pointer(&s.svg[0]), C.size_t(len(s.svg)), C.double(svgScale), &out) != 0 {
			return nil, lastError("load svg")
		}
		return &vimage{p: out}, nil
	}
	cpath := C.CString(s.path)
	defer C.free(unsafe.Pointer(cpath))
	cloader := C.CString(s.loader) // found once by openSource
	defer C.free(unsafe.Pointer(cloader))
	seq := 0
	if sequential {
		seq = 1
	}
	switch C.stor_load(cpath, cloader, C.int(page), C.int(shrink), C.int(seq), &out) {
	case 0:
		return &vimage{p: out}, nil
	case -2:
		C.vips_error_clear()
		return nil, fmt.Errorf("vips: %s: %w", filepath.Base(s.path), ErrUnsupported)
	}
	return nil, lastError("load")
}

func (e *Engine) checkPixels(w, h int) error {
	if int64(w)*int64(h) > e.cfg.MaxPixels {
		return &PixelLimitError{Width: w, Height: h, Limit: e.cfg.MaxPixels}
	}
	return nil
}

// Info describes an image as libvips sees it (page 0).
type Info struct {
	Width, Height  int
	Bands          int
	Loader         string // libvips loader, e.g. "jpegload", "tiffload", "magickload"
	Format         string // short name: the loader without "load", e.g. "jpeg"
	Pages          int    // pages or frames; 1 for single images
	HasAlpha       bool
	Orientation    int    // EXIF orientation 1..8; 1 when absent
	Interpretation string // libvips nick: "srgb", "cmyk", "b-w", "rgb16", "grey16", ...
	BandFormat     string // "uchar" (8 bit), "ushort" (16 bit), "float", ...
	HasICC         bool
}

// Pixels is Width×Height.
func (i Info) Pixels() int64 { return int64(i.Width) * int64(i.Height) }

func (im *vimage) info(loader string) Info {
	cs := func(s string) *C.char { return C.CString(s) }
	n1, n2, n3 := cs("n-pages"), cs("orientation"), cs(C.VIPS_META_ICC_NAME)
	defer C.free(unsafe.Pointer(n1))
	defer C.free(unsafe.Pointer(n2))
	defer C.free(unsafe.Pointer(n3))
	format := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(loader, "_source"), "_buffer"), "load")
	format = strings.TrimSuffix(format, "_file")
	return Info{
		Width: im.width(), Height: im.height(), Bands: int(im.p.Bands),
		Loader: loader, Format: format,
		Pages:          int(C.stor_get_int(im.p, n1, 1)),
		HasAlpha:       C.vips_image_hasalpha(im.p) != 0,
		Orientation:    int(C.stor_get_int(im.p, n2, 1)),
		Interpretation: C.GoString(C.stor_interpretation(im.p)),
		BandFormat:     C.GoString(C.stor_band_format(im.p)),
		HasICC:         C.stor_has(im.p, n3) != 0,
	}
}

// Probe reads the header of path: no pixels are decoded, so it succeeds
// even for images over MaxPixels (compare Info.Pixels with the limit, or
// let the other calls return ErrTooManyPixels).
func (e *Engine) Probe(path string) (Info, error) {
	if err := e.check(); err != nil {
		return Info{}, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src, err := openSource(path)
	if err != nil {
		return Info{}, err
	}
	im, err := src.load(-1, 1, true, 1)
	if err != nil {
		return Info{}, err
	}
	defer im.close()
	return im.info(src.loader), nil
}

// header loads the header lazily and applies the pixel limit.
func (e *Engine) header(src *source) (Info, error) {
	im, err := src.load(-1, 1, true, 1)
	if err != nil {
		return Info{}, err
	}
	defer im.close()
	in := im.info(src.loader)
	return in, e.checkPixels(in.Width, in.Height)
}

// Format is an output format.
type Format int

// Output formats.
const (
	JPEG Format = iota
	PNG
	WebP
	TIFF
	GIF
	JP2
)

var formatNames = [...]string{"jpeg", "png", "webp", "tiff", "gif", "jp2"}

func (f Format) String() string {
	if f >= 0 && int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// hasAlphaOut reports whether the format can carry transparency.
func (f Format) hasAlphaOut() bool { return f != JPEG && f != JP2 }

func (im *vimage) save(f Format, q int) ([]byte, error) {
	if f < JPEG || f > JP2 {
		return nil, fmt.Errorf("vips: save: format %v: %w", f, ErrBadRequest)
	}
	if q <= 0 {
		q = 85
	}
	var buf unsafe.Pointer
	var n C.size_t
	if C.stor_save_buffer(im.p, C.int(f), C.int(q), &buf, &n) != 0 {
		return nil, lastError("save " + f.String())
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}

// toOutput converts to 8-bit sRGB and flattens alpha on white for formats
// without transparency.
func (im *vimage) toOutput(f Format) error {
	if err := im.step("colour", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_to_srgb8(in, out) }); err != nil {
		return err
	}
	if !f.hasAlphaOut() {
		return im.step("flatten", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_flatten_white(in, out) })
	}
	return nil
}

// ThumbOpts are thumbnail options.
type ThumbOpts struct {
	Size    int    // long edge in pixels; never enlarges. Required.
	Format  Format // JPEG or WebP (PNG also works)
	Quality int    // encoder quality 1..100; 0 means 85
	// PlainHuffman turns off JPEG optimize_coding (optimised Huffman
	// tables: about 5% smaller files for an extra pass over the
	// coefficients; imgproxy keeps it on). Default false: optimised.
	PlainHuffman bool
}

// Thumbnail makes a thumbnail of the first page or frame of path with
// shrink-on-load (JPEG DCT scaling, TIFF/JP2/HEIF/WebP/PDF/SVG reduced
// loads), EXIF orientation applied, colour managed to 8-bit sRGB (embedded
// ICC, CMYK, 16-bit), alpha kept for PNG/WebP and flattened on white for
// JPEG. SVG is rasterised from memory, so no external reference is fetched.
// The returned Info describes the thumbnail.
func (e *Engine) Thumbnail(path string, opts ThumbOpts) ([]byte, Info, error) {
	ts, err := e.Thumbnails(path, []ThumbOpts{opts})
	if err != nil {
		return nil, Info{}, err
	}
	return ts[0].Data, ts[0].Info, nil
}

// Thumb is one output of Thumbnails.
type Thumb struct {
	Data []byte
	Info Info // of the thumbnail
}

// Thumbnails makes one thumbnail per entry of opts (in that order) from a
// single decode of path: the source is decoded once with shrink-on-load at
// the largest size asked for (as Thumbnail does), colour managed to 8-bit
// sRGB and kept in memory, and each output is resized from that image and
// encoded. A 24 MP JPEG made into 1024, 400 and 150 pixel thumbnails is
// decoded once, at 1/4 scale, instead of once per size.
func (e *Engine) Thumbnails(path string, opts []ThumbOpts) ([]Thumb, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	if len(opts) == 0 {
		return nil, fmt.Errorf("vips: thumbnails: no outputs: %w", ErrBadRequest)
	}
	largest := 0
	for _, o := range opts {
		if o.Size <= 0 {
			return nil, fmt.Errorf("vips: thumbnail: size %d: %w", o.Size, ErrBadRequest)
		}
		if o.Format < JPEG || o.Format > JP2 {
			return nil, fmt.Errorf("vips: thumbnail: format %v: %w", o.Format, ErrBadRequest)
		}
		largest = max(largest, o.Size)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	src, base, err := e.jpegThumbFast(path, largest)
	if err != nil {
		return nil, err
	}
	if base == nil {
		if src, err = openSource(path); err != nil {
			return nil, err
		}
		if base, err = e.thumbBase(src, largest); err != nil {
			return nil, err
		}
	}
	defer base.close()
	if len(opts) == 1 {
		// One output: encode straight from the lazy pipeline, so the
		// decode, resize and encode stream together.
		t, err := base.thumbOut(src, opts[0], largest)
		if err != nil {
			return nil, err
		}
		return []Thumb{t}, nil
	}
	if err := base.step("colour", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_to_srgb8(in, out) }); err != nil {
		return nil, err
	}
	if err := base.step("decode", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_copy_memory(in, out) }); err != nil {
		return nil, err
	}
	ts := make([]Thumb, 0, len(opts))
	for _, o := range opts {
		t, err := base.thumbOut(src, o, largest)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// thumbOut encodes one thumbnail of base (whose long edge is baseSize or
// less), resizing it first when o.Size is smaller.
func (base *vimage) thumbOut(src *source, o ThumbOpts, baseSize int) (Thumb, error) {
	im := &vimage{p: base.p, small: base.small}
	C.g_object_ref(C.gpointer(im.p))
	defer im.close()
	if o.Size < baseSize && o.Size < max(im.width(), im.height()) {
		if err := im.step("thumbnail", func(in *C.VipsImage, out **C.VipsImage) C.int {
			return C.stor_thumbnail_image(in, C.int(o.Size), out)
		}); err != nil {
			return Thumb{}, err
		}
	}
	if err := im.toOutput(o.Format); err != nil {
		return Thumb{}, err
	}
	b, err := im.saveThumb(o)
	if err != nil {
		return Thumb{}, err
	}
	info := im.info(src.loader)
	info.Loader, info.Format, info.Pages, info.Orientation = "", o.Format.String(), 1, 1
	return Thumb{Data: b, Info: info}, nil
}

// saveThumb encodes a thumbnail: JPEG with the quality and Huffman table
// choice of o, the other formats as save does.
func (im *vimage) saveThumb(o ThumbOpts) ([]byte, error) {
	if o.Format != JPEG {
		return im.save(o.Format, o.Quality)
	}
	q := o.Quality
	if q <= 0 {
		q = 85
	}
	opt := 1
	if o.PlainHuffman {
		opt = 0
	}
	var buf unsafe.Pointer
	var n C.size_t
	if im.small {
		// A thumbnail from a small memory image: encode it on this
		// thread, with no hand-offs to libvips' workers.
		switch C.stor_save_jpeg_here(im.p, C.int(q), C.int(opt), &buf, &n) {
		case 0:
			defer C.free(buf)
			return C.GoBytes(buf, C.int(n)), nil
		case -1:
			return nil, lastError("save jpeg")
		}
	}
	if C.stor_save_jpeg_buffer_opts(im.p, C.int(q), C.int(opt), &buf, &n) != 0 {
		return nil, lastError("save jpeg")
	}
	defer C.g_free(C.gpointer(buf))
	return C.GoBytes(buf, C.int(n)), nil
}

// thumbBase is the lazy thumbnail of src at long edge size (never
// enlarged), orientation applied, before colour conversion.
func (e *Engine) thumbBase(src *source, size int) (*vimage, error) {
	var out *C.VipsImage
	if src.loader == "jpegload" {
		return e.jpegThumb(src, size)
	}
	hdr, err := e.header(src)
	if err != nil {
		return nil, fmt.Errorf("vips: thumbnail: %w", err)
	}
	if src.svg != nil {
		if C.stor_thumbnail_svg(unsafe.Pointer(&src.svg[0]), C.size_t(len(src.svg)), C.int(size), &out) != 0 {
			return nil, lastError("thumbnail")
		}
		return &vimage{p: out}, nil
	}
	cpath := C.CString(src.path)
	defer C.free(unsafe.Pointer(cpath))
	if C.stor_thumbnail(cpath, C.int(size), &out) != 0 {
		return nil, lastError("thumbnail")
	}
	im := &vimage{p: out}
	// libvips 8.14's JPEG 2000 shrink-on-load picks a level 4× too small
	// for most sizes (a 480×320 JP2 thumbnailed to 1024 comes out
	// 120×80). When the result is smaller than it must be, load the
	// whole image and resize that instead.
	if want := min(size, max(hdr.Width, hdr.Height)); max(im.width(), im.height()) < want-1 {
		im.close()
		full, err := src.load(-1, 1, false, 1)
		if err != nil {
			return nil, err
		}
		defer full.close()
		if C.stor_thumbnail_image(full.p, C.int(size), &out) != 0 {
			return nil, lastError("thumbnail")
		}
		im = &vimage{p: out}
	}
	return im, nil
}

// jpegThumb is thumbBase for a JPEG: its header is checked against the
// pixel limit, then it is decoded with the largest DCT scaling not above
// the shrink the thumbnail needs (libvips' thumbnail only takes 1/8 when
// the whole shrink is 16 or more: a 24 MP photo to 400 px, 15×, would
// decode at 1/4, four times the pixels; imgproxy picks the factor the same
// way) and resized.
//
// A JPEG of up to maxPooledRead bytes is read whole, in one read call,
// into a reused C buffer and decoded from memory (libvips' file source
// reads 4 KiB per call: ~2,400 system calls for an 8 MB photo, 2 ms of
// CPU on this kind of VM; a fresh buffer per file cost more than that in
// page faults, hence the pool), and the decode and resize run on the
// calling thread into a small memory image (stor_render_here), not on
// libvips' worker threads: the decode is sequential anyway, and the
// workers' hand-offs and per-thread buffers cost page faults and context
// switches (imgproxy gets the same effect with vips_concurrency_set(1),
// which is process-wide and would also slow the pyramid job).
func (e *Engine) jpegThumb(src *source, size int) (*vimage, error) {
	f, err := os.Open(src.path)
	if err != nil {
		return nil, fmt.Errorf("vips: open: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vips: open: %w", err)
	}
	if fi.Size() <= 0 || fi.Size() > e.readMax {
		return e.jpegThumbFile(src, size)
	}
	return e.jpegThumbRead(f, int(fi.Size()), src, size)
}

// jpegThumbFast is the start of Thumbnails for a file that begins with a
// JPEG's SOI marker (FF D8, the test libvips' jpegload makes) and is small
// enough to read whole: jpegThumb without libvips' loader search (which
// opens the file once per candidate loader). For any other file it returns
// a nil image and no error, and the caller takes the general path.
func (e *Engine) jpegThumbFast(path string, size int) (*source, *vimage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("vips: open: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("vips: open: %w", err)
	}
	var soi [2]byte
	if fi.Size() < 2 || fi.Size() > e.readMax || !fi.Mode().IsRegular() {
		return nil, nil, nil
	}
	if _, err := io.ReadFull(f, soi[:]); err != nil || soi != [2]byte{0xff, 0xd8} {
		return nil, nil, nil
	}
	src := &source{path: path, loader: "jpegload"}
	im, err := e.jpegThumbRead(io.MultiReader(bytes.NewReader(soi[:]), f), int(fi.Size()), src, size)
	return src, im, err
}

// jpegThumbRead is jpegThumb for the n bytes of JPEG rd reads.
func (e *Engine) jpegThumbRead(rd io.Reader, n int, src *source, size int) (*vimage, error) {
	buf := e.getBuf(n)
	defer e.putBuf(buf)
	if _, err := io.ReadFull(rd, unsafe.Slice((*byte)(buf.p), n)); err != nil {
		return nil, fmt.Errorf("vips: read: %w", err)
	}
	var out *C.VipsImage
	if C.stor_load_jpeg_buffer(buf.p, C.size_t(n), 1, &out) != 0 {
		return nil, lastError("load")
	}
	h := &vimage{p: out}
	hdr := h.info(src.loader)
	h.close()
	if err := e.checkPixels(hdr.Width, hdr.Height); err != nil {
		return nil, fmt.Errorf("vips: thumbnail: %w", err)
	}
	shrink := jpegShrink(src, hdr, size)
	if int64(hdr.Width/shrink)*int64(hdr.Height/shrink) > maxRenderHere {
		return e.jpegThumbFile(src, size)
	}
	if C.stor_load_jpeg_buffer(buf.p, C.size_t(n), C.int(shrink), &out) != 0 {
		return nil, lastError("load")
	}
	im := &vimage{p: out}
	defer im.close()
	var r C.int
	if plainJPEG(hdr) {
		r = C.stor_shrink_long(im.p, C.int(size), 1, &out)
	} else if r = C.stor_thumbnail_image(im.p, C.int(size), &out); r == 0 {
		t := &vimage{p: out}
		r = C.stor_render_here(t.p, &out)
		t.close()
	}
	if r != 0 {
		return nil, lastError("thumbnail")
	}
	// out is in memory: nothing reads buf any more.
	return &vimage{p: out, small: true}, nil
}

// maxRenderHere is the most pixels a JPEG decoded for a thumbnail (after
// DCT scaling) may have to be decoded on the calling thread in one piece;
// larger ones stream through libvips' pipeline from the file.
const maxRenderHere = 32 << 20

// jpegThumbFile is jpegThumb through libvips' file source and worker
// threads, for very large JPEGs.
func (e *Engine) jpegThumbFile(src *source, size int) (*vimage, error) {
	hdr, err := e.header(src)
	if err != nil {
		return nil, fmt.Errorf("vips: thumbnail: %w", err)
	}
	im, err := src.load(-1, jpegShrink(src, hdr, size), true, 1)
	if err != nil {
		return nil, err
	}
	defer im.close()
	var out *C.VipsImage
	var r C.int
	if plainJPEG(hdr) {
		r = C.stor_shrink_long(im.p, C.int(size), 0, &out)
	} else {
		r = C.stor_thumbnail_image(im.p, C.int(size), &out)
	}
	if r != 0 {
		return nil, lastError("thumbnail")
	}
	return &vimage{p: out}, nil
}

// plainJPEG: a JPEG whose thumbnail is just a resize (8-bit sRGB or grey,
// no alpha): no CMYK import, no premultiplication.
func plainJPEG(in Info) bool {
	return in.BandFormat == "uchar" && !in.HasAlpha &&
		(in.Bands == 3 && in.Interpretation == "srgb" || in.Bands == 1 && in.Interpretation == "b-w")
}

// jpegShrink is the JPEG shrink-on-load factor (8, 4 or 2; 1: none) for a
// thumbnail whose long edge is size: the largest not above the shrink the
// thumbnail needs.
func jpegShrink(src *source, hdr Info, size int) int {
	if src.loader != "jpegload" || size <= 0 {
		return 1
	}
	f := float64(max(hdr.Width, hdr.Height)) / float64(size)
	for _, s := range []int{8, 4, 2} {
		if f >= float64(s) {
			return s
		}
	}
	return 1
}

// AccessJPEG writes a full-size, orientation-corrected, 8-bit sRGB JPEG of
// the first page of src to dst (via a temporary file renamed into place),
// for formats browsers cannot show (TIFF, PSD, JP2, HEIC, ...). quality 0
// means 90.
func (e *Engine) AccessJPEG(src, dst string, quality int) error {
	if err := e.check(); err != nil {
		return err
	}
	if quality <= 0 {
		quality = 90
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	im, err := e.loadUpright(src, "access jpeg")
	if err != nil {
		return err
	}
	defer im.close()
	return writeAtomic(dst, func(tmp *C.char) C.int { return C.stor_save_jpeg_file(im.p, tmp, C.int(quality)) }, "save jpeg")
}

// loadUpright loads the first page of src whole, with its EXIF orientation
// applied, as 8-bit sRGB ready for JPEG (alpha flattened): the input of the
// full-size outputs. The caller holds the OS thread and closes the image.
func (e *Engine) loadUpright(src, op string) (*vimage, error) {
	s, err := openSource(src)
	if err != nil {
		return nil, err
	}
	in, err := e.header(s)
	if err != nil {
		return nil, fmt.Errorf("vips: %s: %w", op, err)
	}
	im, err := s.load(-1, 1, in.Orientation <= 1, 1)
	if err != nil {
		return nil, err
	}
	if err := im.step("autorot", func(in *C.VipsImage, out **C.VipsImage) C.int { return C.stor_autorot(in, out) }); err != nil {
		im.close()
		return nil, err
	}
	if err := im.toOutput(JPEG); err != nil {
		im.close()
		return nil, err
	}
	return im, nil
}

// writeAtomic saves to a temporary name beside dst, then renames it, so a
// reader (or a job that runs twice) never sees a half-written file.
func writeAtomic(dst string, save func(tmp *C.char) C.int, op string) error {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("vips: %s: %w", op, err)
	}
	tmp := f.Name()
	f.Close()
	ctmp := C.CString(tmp)
	defer C.free(unsafe.Pointer(ctmp))
	if save(ctmp) != 0 {
		os.Remove(tmp)
		return lastError(op)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("vips: %s: %w", op, err)
	}
	return nil
}

// PyramidOpts are options for Pyramid.
type PyramidOpts struct {
	TileSize int // default 256 (what OpenSeadragon and most IIIF viewers ask for)
	Quality  int // JPEG quality of the tiles; default 85
}

// Pyramid writes a tiled pyramidal TIFF of the first page of src to dst:
// 8-bit sRGB, orientation applied, alpha flattened on white, JPEG-compressed
// square tiles, and one reduced level per further TIFF page (each half the
// size of the one before, down to one tile), the layout iipsrv reads. Files
// over 2^31 estimated bytes are written as BigTIFF.
func (e *Engine) Pyramid(src, dst string, opts PyramidOpts) error {
	if err := e.check(); err != nil {
		return err
	}
	if opts.TileSize == 0 {
		opts.TileSize = 256
	}
	if opts.Quality == 0 {
		opts.Quality = 85
	}
	if opts.TileSize < 16 || opts.TileSize%16 != 0 || opts.Quality < 1 || opts.Quality > 100 {
		return fmt.Errorf("vips: pyramid: %+v: %w", opts, ErrBadRequest)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	im, err := e.loadUpright(src, "pyramid")
	if err != nil {
		return err
	}
	defer im.close()
	big := 0
	if int64(im.width())*int64(im.height())*3 > math.MaxInt32 { // uncompressed estimate, generous
		big = 1
	}
	return writeAtomic(dst, func(tmp *C.char) C.int {
		return C.stor_save_pyramid(im.p, tmp, C.int(opts.TileSize), C.int(opts.Quality), C.int(big))
	}, "save pyramid")
}
