package iiif

import (
	"fmt"
	"math"
	"strconv"
)

// Limits are the server-imposed output limits advertised in info.json as
// maxWidth, maxHeight and maxArea. Zero means "no limit" for that field.
type Limits struct {
	MaxWidth  int   // default 0 (none); when set alone, MaxHeight is taken to be MaxWidth (3.0 §5.2)
	MaxHeight int   // default 0; only valid together with MaxWidth
	MaxArea   int64 // default 0 (none)
}

// DefaultLimits caps outputs at 100 megapixels, which lets any reasonable
// viewer request through while bounding what one request can cost. The 3.0
// spec requires maxWidth or maxArea when upscaling is offered.
func DefaultLimits() Limits { return Limits{MaxArea: 100_000_000} }

// Validate checks the limits are coherent.
func (l Limits) Validate() error {
	if l.MaxWidth < 0 || l.MaxHeight < 0 || l.MaxArea < 0 {
		return fmt.Errorf("iiif: limits: negative value in %+v", l)
	}
	if l.MaxHeight > 0 && l.MaxWidth == 0 {
		return fmt.Errorf("iiif: limits: MaxHeight needs MaxWidth (IIIF 3.0 §5.2)")
	}
	return nil
}

func (l Limits) maxH() int {
	if l.MaxHeight == 0 {
		return l.MaxWidth
	}
	return l.MaxHeight
}

// exceeds reports whether a w×h output breaks the limits.
func (l Limits) exceeds(w, h int) bool {
	if l.MaxWidth > 0 && (w > l.MaxWidth || h > l.maxH()) {
		return true
	}
	return l.MaxArea > 0 && int64(w)*int64(h) > l.MaxArea
}

// fit returns the largest size with the aspect of rw×rh that fits the
// limits, scaled by at most maxScale (1 for "max", +Inf for "^max").
func (l Limits) fit(rw, rh int, maxScale float64) (int, int) {
	s := maxScale
	if l.MaxWidth > 0 {
		s = math.Min(s, float64(l.MaxWidth)/float64(rw))
		s = math.Min(s, float64(l.maxH())/float64(rh))
	}
	if l.MaxArea > 0 {
		s = math.Min(s, math.Sqrt(float64(l.MaxArea)/(float64(rw)*float64(rh))))
	}
	if math.IsInf(s, 1) { // ^max with no limits: the region itself
		s = 1
	}
	if s == 1 {
		return rw, rh
	}
	w := max(1, int(math.Floor(float64(rw)*s+1e-9)))
	h := max(1, int(math.Floor(float64(rh)*s+1e-9)))
	for l.exceeds(w, h) && (w > 1 || h > 1) { // guard float error
		if w >= h {
			w--
		} else {
			h--
		}
	}
	return w, h
}

// Resolved is a request resolved against an image: integer pixels.
type Resolved struct {
	Version Version
	// Region in full-image pixels, clipped to the image.
	X, Y, W, H int
	// Output size before rotation.
	Width, Height int
	Rotation      Rotation
	Quality       Quality
	Format        Format

	imgW, imgH int // full image size
	maxW, maxH int // what "max" would give for this region
}

// Full reports whether the region is the whole image.
func (r Resolved) Full() bool { return r.X == 0 && r.Y == 0 && r.W == r.imgW && r.H == r.imgH }

// Upscaled reports whether the output is larger than the region in either
// dimension.
func (r Resolved) Upscaled() bool { return r.Width > r.W || r.Height > r.H }

func round(f float64) int { return int(math.Floor(f + 0.5)) }

// Resolve resolves the request against a full image of width×height pixels.
func (q Request) Resolve(width, height int, lim Limits) (Resolved, error) {
	if width <= 0 || height <= 0 {
		return Resolved{}, fmt.Errorf("iiif: resolve: bad image size %dx%d", width, height)
	}
	if err := lim.Validate(); err != nil {
		return Resolved{}, err
	}
	r := Resolved{Version: q.Version, Rotation: q.Rotation, Quality: q.Quality, Format: q.Format, imgW: width, imgH: height}

	// Region.
	var x, y, w, h int
	switch q.Region.Kind {
	case RegionFull:
		x, y, w, h = 0, 0, width, height
	case RegionSquare:
		side := min(width, height)
		x, y, w, h = (width-side)/2, (height-side)/2, side, side
	case RegionPixels:
		x, y, w, h = int(q.Region.X), int(q.Region.Y), int(q.Region.W), int(q.Region.H)
	case RegionPercent:
		x = round(float64(width) * q.Region.X / 100)
		y = round(float64(height) * q.Region.Y / 100)
		w = round(float64(width) * q.Region.W / 100)
		h = round(float64(height) * q.Region.H / 100)
	}
	if x >= width || y >= height {
		return Resolved{}, bad("region", regionString(q.Region), "region is outside the image")
	}
	w = min(w, width-x)
	h = min(h, height-y)
	if w <= 0 || h <= 0 {
		return Resolved{}, bad("region", regionString(q.Region), "region has zero width or height")
	}
	r.X, r.Y, r.W, r.H = x, y, w, h
	r.maxW, r.maxH = lim.fit(w, h, 1)

	// Size.
	sz := q.Size
	var ow, oh int
	switch sz.Kind {
	case SizeMax:
		if sz.Upscale && q.Version == V3 {
			ow, oh = lim.fit(w, h, math.Inf(1))
		} else {
			ow, oh = r.maxW, r.maxH
		}
		// "max" is the most this server can deliver: in the format asked
		// for, too.
		if m := q.Format.MaxSide(); m > 0 && max(ow, oh) > m {
			f := float64(m) / float64(max(ow, oh))
			ow, oh = min(m, max(1, int(float64(ow)*f))), min(m, max(1, int(float64(oh)*f)))
		}
	case SizeWidth:
		ow, oh = sz.W, round(float64(h)*float64(sz.W)/float64(w))
	case SizeHeight:
		ow, oh = round(float64(w)*float64(sz.H)/float64(h)), sz.H
	case SizePercent:
		ow, oh = round(float64(w)*sz.Percent/100), round(float64(h)*sz.Percent/100)
	case SizeExact:
		ow, oh = sz.W, sz.H
	case SizeConfined:
		// Without "^" (3.0), a box that would scale the region up is a 400
		// below, as the official validator's size_noup test requires: the
		// box is not clamped to the region.
		bw, bh := sz.W, sz.H
		// Compare bw/w with bh/h exactly in integers.
		if int64(bw)*int64(h) <= int64(bh)*int64(w) {
			ow, oh = bw, min(bh, round(float64(h)*float64(bw)/float64(w)))
		} else {
			ow, oh = min(bw, round(float64(w)*float64(bh)/float64(h))), bh
		}
		if lim.exceeds(ow, oh) { // shrink into the limits, keeping aspect
			lw, lh := lim.fit(ow, oh, 1)
			ow, oh = lw, lh
		}
	}
	ss := sizeString(q.Version, sz)
	if ow < 1 || oh < 1 {
		return Resolved{}, bad("size", ss, "output would be less than 1 pixel")
	}
	if !sz.Upscale && (ow > w || oh > h) {
		return Resolved{}, bad("size", ss, fmt.Sprintf("size %dx%d is larger than the region %dx%d; use ^ to upscale", ow, oh, w, h))
	}
	if lim.exceeds(ow, oh) {
		return Resolved{}, bad("size", ss, fmt.Sprintf("size %dx%d exceeds the server limits", ow, oh))
	}
	if m := q.Format.MaxSide(); m > 0 {
		// The rotated output's bounding box is what gets encoded.
		rad := q.Rotation.Degrees * math.Pi / 180
		c, sn := math.Abs(math.Cos(rad)), math.Abs(math.Sin(rad))
		bw := math.Ceil(float64(ow)*c + float64(oh)*sn - 1e-9)
		bh := math.Ceil(float64(ow)*sn + float64(oh)*c - 1e-9)
		if bw > float64(m) || bh > float64(m) {
			return Resolved{}, bad("size", ss, fmt.Sprintf("a %s is at most %d pixels a side (this one would be %.0fx%.0f); ask for a smaller size or another format", q.Format, m, bw, bh))
		}
	}
	r.Width, r.Height = ow, oh
	return r, nil
}

// Canonical returns the canonical "{region}/{size}/{rotation}/{quality}.{format}"
// for the resolved request in its version's rules (3.0 §4.8, 2.1 §4.7).
func (r Resolved) Canonical() string {
	region := "full"
	if !r.Full() {
		region = fmt.Sprintf("%d,%d,%d,%d", r.X, r.Y, r.W, r.H)
	}
	var size string
	if r.Version == V3 {
		switch {
		case r.Width == r.maxW && r.Height == r.maxH:
			size = "max"
		case r.Upscaled():
			size = fmt.Sprintf("^%d,%d", r.Width, r.Height)
		default:
			size = fmt.Sprintf("%d,%d", r.Width, r.Height)
		}
	} else {
		switch {
		case r.Width == r.W && r.Height == r.H:
			size = "full"
		case round(float64(r.H)*float64(r.Width)/float64(r.W)) == r.Height:
			size = fmt.Sprintf("%d,", r.Width)
		default:
			size = fmt.Sprintf("%d,%d", r.Width, r.Height)
		}
	}
	rot := strconv.FormatFloat(r.Rotation.Degrees, 'f', -1, 64)
	if r.Rotation.Mirror {
		rot = "!" + rot
	}
	return region + "/" + size + "/" + rot + "/" + string(r.Quality) + "." + string(r.Format)
}

// String returns the canonical form.
func (r Resolved) String() string { return r.Canonical() }

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func regionString(g Region) string {
	switch g.Kind {
	case RegionFull:
		return "full"
	case RegionSquare:
		return "square"
	case RegionPercent:
		return "pct:" + fmtNum(g.X) + "," + fmtNum(g.Y) + "," + fmtNum(g.W) + "," + fmtNum(g.H)
	}
	return fmtNum(g.X) + "," + fmtNum(g.Y) + "," + fmtNum(g.W) + "," + fmtNum(g.H)
}

func sizeString(v Version, s Size) string {
	p := ""
	if s.Upscale && v == V3 {
		p = "^"
	}
	switch s.Kind {
	case SizeMax:
		return p + "max"
	case SizeWidth:
		return p + strconv.Itoa(s.W) + ","
	case SizeHeight:
		return p + "," + strconv.Itoa(s.H)
	case SizePercent:
		return p + "pct:" + fmtNum(s.Percent)
	case SizeExact:
		return p + strconv.Itoa(s.W) + "," + strconv.Itoa(s.H)
	}
	return p + "!" + strconv.Itoa(s.W) + "," + strconv.Itoa(s.H)
}
