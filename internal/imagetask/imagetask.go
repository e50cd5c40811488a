package imagetask

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/vips"
)

// Task names.
const (
	TaskProbe      = "image-probe"
	TaskThumbnails = "thumbnails"
	TaskAccess     = "access-jpeg"
	TaskPyramid    = "pyramid"
	TaskNoRenderer = "no-renderer"
)

// Derivative names that are not thumbnails (see ThumbName).
const (
	Access  = "access"  // full-size JPEG of a format browsers cannot show
	Pyramid = "pyramid" // tiled pyramidal TIFF (image/tiff)
)

// ThumbName is the derivative name of the thumbnail with long edge size:
// "thumb-400" (WebP) or "thumb-400-jpg" (JPEG).
func ThumbName(size int, jpeg bool) string {
	n := "thumb-" + strconv.Itoa(size)
	if jpeg {
		n += "-jpg"
	}
	return n
}

// Config tunes the image tasks. Zero fields take the defaults noted.
type Config struct {
	// MaxPixels is the pixel limit, the same the Engine was started with
	// (the Engine enforces it; the tasks name it in their reasons).
	// Default 1<<30.
	MaxPixels int64
	// ThumbSizes are the thumbnail long edges. Default 150, 400, 1024.
	ThumbSizes []int
	// PyramidMinSize: a pyramid is made when the long edge is larger.
	// Default 2048.
	PyramidMinSize int
	// TileSize of the pyramid. Default 256.
	TileSize int
	// ThumbQuality and AccessQuality are encoder qualities. Defaults 80, 90.
	ThumbQuality, AccessQuality int
	// MinPreview is the smallest long edge of a RAW's embedded preview
	// that is used instead of a real RAW decode. Default 1024.
	MinPreview int
	// ExifTool and DCRaw are the programs run for camera RAW. Defaults
	// "exiftool" and "dcraw".
	ExifTool, DCRaw string
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		MaxPixels: 1 << 30, ThumbSizes: []int{150, 400, 1024}, PyramidMinSize: 2048, TileSize: 256,
		ThumbQuality: 80, AccessQuality: 90, MinPreview: 1024, ExifTool: "exiftool", DCRaw: "dcraw",
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxPixels <= 0 {
		c.MaxPixels = d.MaxPixels
	}
	if len(c.ThumbSizes) == 0 {
		c.ThumbSizes = d.ThumbSizes
	}
	c.ThumbSizes = slices.Clone(c.ThumbSizes)
	slices.Sort(c.ThumbSizes)
	c.ThumbSizes = slices.Compact(c.ThumbSizes)
	if c.PyramidMinSize <= 0 {
		c.PyramidMinSize = d.PyramidMinSize
	}
	if c.TileSize <= 0 {
		c.TileSize = d.TileSize
	}
	if c.ThumbQuality <= 0 {
		c.ThumbQuality = d.ThumbQuality
	}
	if c.AccessQuality <= 0 {
		c.AccessQuality = d.AccessQuality
	}
	if c.MinPreview <= 0 {
		c.MinPreview = d.MinPreview
	}
	if c.ExifTool == "" {
		c.ExifTool = d.ExifTool
	}
	if c.DCRaw == "" {
		c.DCRaw = d.DCRaw
	}
	return c
}

// rawFormats are the camera RAW formats decoded through a preview or dcraw.
var rawFormats = []string{"crw", "cr2", "cr3", "dng", "nef", "arw", "orf", "rw2", "raf"}

// accessFormats are the formats browsers cannot show, which get an access JPEG.
var accessFormats = []string{"tif", "psd", "psb", "jp2", "j2k", "jpf", "jpx", "heic", "heif"}

func isRaw(a *catalog.Asset) bool { return a.Kind == "raw" && slices.Contains(rawFormats, a.Format) }

// IsImage reports whether the image tasks apply to a: a raster or SVG
// image, or a camera RAW stor can render.
func IsImage(a *catalog.Asset) bool { return a.Kind == "image" || isRaw(a) }

func needsAccess(a *catalog.Asset) bool { return isRaw(a) || slices.Contains(accessFormats, a.Format) }

// Tasks returns the image tasks over eng.
func Tasks(cfg Config, eng *vips.Engine) []pipeline.Task {
	r := &runner{cfg: cfg.withDefaults(), eng: eng}
	return []pipeline.Task{
		{Name: TaskProbe, Applies: IsImage, Required: true, Class: pipeline.Light,
			Timeout: 2 * time.Minute, MaxAttempts: 3, Run: r.probe},
		{Name: TaskThumbnails, Applies: IsImage, Required: true, Class: pipeline.Light,
			TimeoutFor: scaled(10 * time.Minute), MaxAttempts: 3, Run: r.thumbnails},
		{Name: TaskAccess, Applies: needsAccess, Required: true, Class: pipeline.Heavy,
			TimeoutFor: scaled(20 * time.Minute), MaxAttempts: 3, Run: r.access},
		{Name: TaskPyramid, Applies: func(a *catalog.Asset) bool { return IsImage(a) && a.Format != "svg" },
			Required: true, Class: pipeline.Heavy, TimeoutFor: scaled(30 * time.Minute), MaxAttempts: 3, Run: r.pyramid},
		{Name: TaskNoRenderer, Applies: func(a *catalog.Asset) bool { return a.Format == "zvi" },
			Required: false, Class: pipeline.Light, Timeout: time.Minute, Run: noRenderer},
	}
}

// scaled is base plus a minute per 100 MB of original.
func scaled(base time.Duration) func(a *catalog.Asset) time.Duration {
	return func(a *catalog.Asset) time.Duration {
		if a == nil {
			return base
		}
		return base + time.Duration(a.Size/100e6)*time.Minute
	}
}

type runner struct {
	cfg Config
	eng *vips.Engine
}

// displayed is an image's size as shown: EXIF orientations 5–8 swap it.
func displayed(in vips.Info) (w, h int) {
	if in.Orientation >= 5 && in.Orientation <= 8 {
		return in.Height, in.Width
	}
	return in.Width, in.Height
}

// LimitError is the reason an image over the pixel limit fails.
type LimitError struct {
	Width, Height int
	Limit         int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("image is %d×%d = %s, over the limit of %s (STOR_MAX_IMAGE_PIXELS=%d)",
		e.Width, e.Height, humanPixels(int64(e.Width)*int64(e.Height)), humanPixels(e.Limit), e.Limit)
}

// Unwrap returns vips.ErrTooManyPixels.
func (e *LimitError) Unwrap() error { return vips.ErrTooManyPixels }

func humanPixels(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.3g gigapixels", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.3g megapixels", float64(n)/1e6)
	}
	return fmt.Sprintf("%d pixels", n)
}

// fail turns an engine error into a task error: what a retry cannot fix
// (pixel limit, no decoder, a file libvips cannot read) is permanent;
// anything else (a failed write, say) is retried.
func (r *runner) fail(a *catalog.Asset, op string, err error) error {
	var pe *vips.PixelLimitError
	var ve *vips.Error
	switch {
	case errors.As(err, &pe):
		return pipeline.Permanent(&LimitError{Width: pe.Width, Height: pe.Height, Limit: pe.Limit})
	case errors.Is(err, vips.ErrUnsupported):
		return pipeline.Permanentf("no decoder for this %s file: %w", a.Format, err)
	case errors.As(err, &ve) && (ve.Op == "load" || ve.Op == "load svg" || ve.Op == "thumbnail"):
		return pipeline.Permanentf("%s: cannot decode the %s image: %w", op, a.Format, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// input returns a file the engine can decode for the asset and its header:
// the original, or for camera RAW a preview or dcraw's decode.
func (r *runner) input(ctx context.Context, tc *pipeline.TaskContext) (string, vips.Info, error) {
	orig, err := tc.OriginalFile(ctx)
	if err != nil {
		return "", vips.Info{}, err
	}
	src := orig
	if isRaw(tc.Asset) {
		if src, err = r.rawSource(ctx, tc, orig); err != nil {
			return "", vips.Info{}, err
		}
	}
	in, err := r.eng.Probe(src)
	if err != nil {
		return "", vips.Info{}, r.fail(tc.Asset, "probe", err)
	}
	if in.Pixels() > r.cfg.MaxPixels {
		return "", in, pipeline.Permanent(&LimitError{Width: in.Width, Height: in.Height, Limit: r.cfg.MaxPixels})
	}
	return src, in, nil
}

func (r *runner) probe(ctx context.Context, tc *pipeline.TaskContext) error {
	_, in, err := r.input(ctx, tc)
	if err != nil {
		return err
	}
	w, h := displayed(in)
	info := catalog.AssetInfo{Width: w, Height: h}
	if in.Loader == "tiffload" && in.Pages > 1 {
		info.PageCount = in.Pages
	}
	return tc.UpdateAsset(ctx, info)
}

// thumbnails makes every thumbnail (each size, WebP and JPEG) from one
// decode of the source: vips Thumbnails decodes it once with
// shrink-on-load at the largest size, keeps that in memory, and resizes
// and encodes each output from it.
func (r *runner) thumbnails(ctx context.Context, tc *pipeline.TaskContext) error {
	src, _, err := r.input(ctx, tc)
	if err != nil {
		return err
	}
	sizes := r.cfg.ThumbSizes
	var opts []vips.ThumbOpts
	var names, types []string
	for _, size := range slices.Backward(sizes) {
		for _, jpeg := range []bool{false, true} {
			f, ct := vips.WebP, "image/webp"
			if jpeg {
				f, ct = vips.JPEG, "image/jpeg"
			}
			opts = append(opts, vips.ThumbOpts{Size: size, Format: f, Quality: r.cfg.ThumbQuality})
			names, types = append(names, ThumbName(size, jpeg)), append(types, ct)
		}
	}
	ts, err := r.eng.Thumbnails(src, opts)
	if err != nil {
		return r.fail(tc.Asset, "thumbnail", err)
	}
	for i, t := range ts {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := catalog.Derivative{Name: names[i], ContentType: types[i], Width: t.Info.Width, Height: t.Info.Height}
		if err := tc.PutDerivative(ctx, d, bytesReader(t.Data)); err != nil {
			return err
		}
		if i%2 == 1 {
			tc.Progress(ctx, 100*(i+1)/len(ts))
		}
	}
	return nil
}

func (r *runner) access(ctx context.Context, tc *pipeline.TaskContext) error {
	src, _, err := r.input(ctx, tc)
	if err != nil {
		return err
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, "access.jpg")
	if err := r.eng.AccessJPEG(src, dst, r.cfg.AccessQuality); err != nil {
		return r.fail(tc.Asset, "access jpeg", err)
	}
	return r.putFile(ctx, tc, dst, Access, "image/jpeg")
}

func (r *runner) pyramid(ctx context.Context, tc *pipeline.TaskContext) error {
	src, in, err := r.input(ctx, tc)
	if err != nil {
		return err
	}
	if w, h := displayed(in); max(w, h) <= r.cfg.PyramidMinSize {
		tc.Log.DebugContext(ctx, "image is small; no pyramid", "width", w, "height", h)
		return nil
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, "pyramid.tif")
	tc.Progress(ctx, 1)
	if err := r.eng.Pyramid(src, dst, vips.PyramidOpts{TileSize: r.cfg.TileSize}); err != nil {
		return r.fail(tc.Asset, "pyramid", err)
	}
	tc.Progress(ctx, 90)
	return r.putFile(ctx, tc, dst, Pyramid, "image/tiff")
}

// fit is the size of a w×h image shrunk (never enlarged) to long edge n,
// as libvips rounds it.
func fit(w, h, n int) (int, int) {
	if max(w, h) <= n {
		return w, h
	}
	if w >= h {
		return n, max(1, int(math.Round(float64(h)*float64(n)/float64(w))))
	}
	return max(1, int(math.Round(float64(w)*float64(n)/float64(h)))), n
}

// putFile stores a file the engine wrote as a derivative, with its size.
func (r *runner) putFile(ctx context.Context, tc *pipeline.TaskContext, path, name, ct string) error {
	in, err := r.eng.Probe(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	return tc.PutDerivative(ctx, catalog.Derivative{Name: name, ContentType: ct, Width: in.Width, Height: in.Height}, f)
}
