package iiif

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps exactly one.
var (
	// ErrBadRequest means the request is malformed or asks for something the
	// spec says is an error (HTTP 400).
	ErrBadRequest = errors.New("iiif: bad request")
	// ErrNotImplemented means a valid IIIF request that stor does not
	// implement (HTTP 501).
	ErrNotImplemented = errors.New("iiif: not implemented")
)

// Error describes what was wrong with one request parameter.
type Error struct {
	Param  string // "region", "size", "rotation", "quality", "format", "path"
	Value  string // the offending text
	Reason string // human readable
	Kind   error  // ErrBadRequest or ErrNotImplemented
}

func (e *Error) Error() string {
	return fmt.Sprintf("iiif: %s %q: %s", e.Param, e.Value, e.Reason)
}

// Unwrap returns the sentinel (ErrBadRequest or ErrNotImplemented).
func (e *Error) Unwrap() error { return e.Kind }

func bad(param, value, reason string) error {
	return &Error{Param: param, Value: value, Reason: reason, Kind: ErrBadRequest}
}

// StatusCode maps an error from this package to an HTTP status code:
// 400 for ErrBadRequest, 501 for ErrNotImplemented, 500 otherwise.
func StatusCode(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotImplemented):
		return http.StatusNotImplemented
	}
	return http.StatusInternalServerError
}

// Version is an Image API major version.
type Version int

// Supported versions.
const (
	V2 Version = 2 // Image API 2.1
	V3 Version = 3 // Image API 3.0
)

// RegionKind says how a region was written.
type RegionKind int

// Region forms.
const (
	RegionFull RegionKind = iota
	RegionSquare
	RegionPixels  // x,y,w,h
	RegionPercent // pct:x,y,w,h
)

// Region is a parsed, unresolved region parameter.
type Region struct {
	Kind       RegionKind
	X, Y, W, H float64 // pixels (integers) or percentages
}

// SizeKind says how a size was written.
type SizeKind int

// Size forms.
const (
	SizeMax      SizeKind = iota // max (and 2.1 "full")
	SizeWidth                    // w,
	SizeHeight                   // ,h
	SizePercent                  // pct:n
	SizeExact                    // w,h
	SizeConfined                 // !w,h
)

// Size is a parsed, unresolved size parameter.
type Size struct {
	Kind    SizeKind
	Upscale bool // "^" prefix (3.0); always true for 2.1 requests
	W, H    int
	Percent float64
}

// Rotation is a parsed rotation parameter.
type Rotation struct {
	Degrees float64 // clockwise, 0 ≤ Degrees ≤ 360
	Mirror  bool    // "!" prefix: mirror on the vertical axis before rotating
}

// Quality is the quality parameter.
type Quality string

// Qualities.
const (
	QualityDefault Quality = "default"
	QualityColor   Quality = "color"
	QualityGray    Quality = "gray"
	QualityBitonal Quality = "bitonal"
)

// Format is the format parameter (the extension).
type Format string

// Formats stor produces.
const (
	FormatJPG  Format = "jpg"
	FormatPNG  Format = "png"
	FormatWebP Format = "webp"
	FormatTIF  Format = "tif"
	FormatGIF  Format = "gif"
	FormatJP2  Format = "jp2"
)

// MediaType returns the MIME type for the format.
func (f Format) MediaType() string {
	switch f {
	case FormatJPG:
		return "image/jpeg"
	case FormatPNG:
		return "image/png"
	case FormatWebP:
		return "image/webp"
	case FormatTIF:
		return "image/tiff"
	case FormatGIF:
		return "image/gif"
	case FormatJP2:
		return "image/jp2"
	}
	return "application/octet-stream"
}

// MaxSide is the longest side the format's encoder takes (libjpeg's
// JPEG_MAX_DIMENSION, WebP's 14-bit size fields, GIF's 16-bit ones), or 0
// when only the server's limits bound it.
func (f Format) MaxSide() int {
	switch f {
	case FormatJPG:
		return 65500
	case FormatWebP:
		return 16383
	case FormatGIF:
		return 65535
	}
	return 0
}

// SupportedFormats lists the formats stor produces, level-2 ones first.
var SupportedFormats = []Format{FormatJPG, FormatPNG, FormatWebP, FormatTIF, FormatGIF, FormatJP2}

// Request is a parsed image request, not yet resolved against an image.
type Request struct {
	Version  Version
	Region   Region
	Size     Size
	Rotation Rotation
	Quality  Quality
	Format   Format
}

// Parse parses "{region}/{size}/{rotation}/{quality}.{format}" (no leading
// slash, no identifier) for the given API version.
func Parse(v Version, path string) (Request, error) {
	if v != V2 && v != V3 {
		return Request{}, bad("path", path, "unknown API version")
	}
	parts := strings.Split(path, "/")
	if len(parts) != 4 {
		return Request{}, bad("path", path, "want region/size/rotation/quality.format")
	}
	r := Request{Version: v}
	var err error
	if r.Region, err = parseRegion(parts[0]); err != nil {
		return Request{}, err
	}
	if r.Size, err = parseSize(v, parts[1]); err != nil {
		return Request{}, err
	}
	if r.Rotation, err = parseRotation(parts[2]); err != nil {
		return Request{}, err
	}
	qf := parts[3]
	dot := strings.LastIndexByte(qf, '.')
	if dot < 0 {
		return Request{}, bad("format", qf, "missing format extension")
	}
	if r.Quality, err = parseQuality(qf[:dot]); err != nil {
		return Request{}, err
	}
	if r.Format, err = parseFormat(qf[dot+1:]); err != nil {
		return Request{}, err
	}
	return r, nil
}

// parseNumber accepts the spec's floating point syntax: decimal digits and
// at most one "." (no sign, no exponent). ".5" and "5." are tolerated.
func parseNumber(s string) (float64, bool) {
	if s == "" || s == "." {
		return 0, false
	}
	dots := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			dots++
		case c < '0' || c > '9':
			return 0, false
		}
	}
	if dots > 1 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// parseInt accepts decimal digits only, up to a sane bound.
func parseInt(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func parseRegion(s string) (Region, error) {
	switch s {
	case "full":
		return Region{Kind: RegionFull}, nil
	case "square":
		return Region{Kind: RegionSquare}, nil
	}
	if rest, ok := strings.CutPrefix(s, "pct:"); ok {
		f := strings.Split(rest, ",")
		if len(f) != 4 {
			return Region{}, bad("region", s, "want pct:x,y,w,h")
		}
		var v [4]float64
		for i, p := range f {
			n, ok := parseNumber(p)
			if !ok {
				return Region{}, bad("region", s, "not a number: "+p)
			}
			v[i] = n
		}
		if v[2] <= 0 || v[3] <= 0 {
			return Region{}, bad("region", s, "width and height must be positive")
		}
		return Region{Kind: RegionPercent, X: v[0], Y: v[1], W: v[2], H: v[3]}, nil
	}
	f := strings.Split(s, ",")
	if len(f) != 4 {
		return Region{}, bad("region", s, "want full, square, x,y,w,h or pct:x,y,w,h")
	}
	var v [4]int
	for i, p := range f {
		n, ok := parseInt(p)
		if !ok {
			return Region{}, bad("region", s, "not a non-negative integer: "+p)
		}
		v[i] = n
	}
	if v[2] == 0 || v[3] == 0 {
		return Region{}, bad("region", s, "width and height must be positive")
	}
	return Region{Kind: RegionPixels, X: float64(v[0]), Y: float64(v[1]), W: float64(v[2]), H: float64(v[3])}, nil
}

func parseSize(v Version, s string) (Size, error) {
	orig := s
	var sz Size
	if v == V3 {
		if rest, ok := strings.CutPrefix(s, "^"); ok {
			sz.Upscale = true
			s = rest
		}
	} else {
		sz.Upscale = true // 2.1 allows sizes above the region (sizeAboveFull)
	}
	switch {
	case s == "max":
		sz.Kind = SizeMax
		return sz, nil
	case s == "full" && v == V2:
		sz.Kind = SizeMax
		return sz, nil
	case strings.HasPrefix(s, "pct:"):
		n, ok := parseNumber(s[4:])
		if !ok || n <= 0 {
			return Size{}, bad("size", orig, "want pct:n with n > 0")
		}
		if n > 100 && !sz.Upscale {
			return Size{}, bad("size", orig, "pct over 100 needs ^")
		}
		sz.Kind, sz.Percent = SizePercent, n
		return sz, nil
	}
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		w, h, ok := splitWH(rest)
		if !ok || w == 0 || h == 0 {
			return Size{}, bad("size", orig, "want !w,h")
		}
		sz.Kind, sz.W, sz.H = SizeConfined, w, h
		return sz, nil
	}
	ws, hs, ok := strings.Cut(s, ",")
	if !ok {
		return Size{}, bad("size", orig, "unknown size form")
	}
	switch {
	case ws != "" && hs == "":
		w, ok := parseInt(ws)
		if !ok || w == 0 {
			return Size{}, bad("size", orig, "want w, with w > 0")
		}
		sz.Kind, sz.W = SizeWidth, w
	case ws == "" && hs != "":
		h, ok := parseInt(hs)
		if !ok || h == 0 {
			return Size{}, bad("size", orig, "want ,h with h > 0")
		}
		sz.Kind, sz.H = SizeHeight, h
	default:
		w, h, ok := splitWH(s)
		if !ok || w == 0 || h == 0 {
			return Size{}, bad("size", orig, "want w,h with w, h > 0")
		}
		sz.Kind, sz.W, sz.H = SizeExact, w, h
	}
	return sz, nil
}

func splitWH(s string) (int, int, bool) {
	ws, hs, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, false
	}
	w, ok1 := parseInt(ws)
	h, ok2 := parseInt(hs)
	return w, h, ok1 && ok2
}

func parseRotation(s string) (Rotation, error) {
	var r Rotation
	n := s
	if rest, ok := strings.CutPrefix(s, "!"); ok {
		r.Mirror = true
		n = rest
	}
	d, ok := parseNumber(n)
	if !ok {
		return Rotation{}, bad("rotation", s, "want a number from 0 to 360, optionally prefixed by !")
	}
	if d > 360 {
		return Rotation{}, bad("rotation", s, "out of range 0-360")
	}
	r.Degrees = d
	return r, nil
}

func parseQuality(s string) (Quality, error) {
	switch q := Quality(s); q {
	case QualityDefault, QualityColor, QualityGray, QualityBitonal:
		return q, nil
	}
	return "", bad("quality", s, "want default, color, gray or bitonal")
}

func parseFormat(s string) (Format, error) {
	for _, f := range SupportedFormats {
		if string(f) == s {
			return f, nil
		}
	}
	if s == "pdf" {
		return "", bad("format", s, "format not supported by this server")
	}
	return "", bad("format", s, "unknown format")
}
