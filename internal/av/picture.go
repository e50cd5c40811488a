package av

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/png" // poster candidates are PNG
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/proc"
)

// ThumbSizes are the thumbnail boxes, named like the image tasks'
// thumbnails: thumb-N (WebP) and thumb-N-jpg (JPEG).
var ThumbSizes = []int{150, 400, 1024}

// PosterMax bounds the poster's long side.
const PosterMax = 1920

// fitBox scales w×h into an n×n box, never up.
func fitBox(w, h, n int) (int, int) {
	if w <= n && h <= n {
		return w, h
	}
	s := float64(n) / float64(max(w, h))
	return max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
}

// blank reports whether a picture is black or flat: its luma barely
// varies (a fade, a slate of one colour).
func blank(img image.Image) bool {
	b := img.Bounds()
	var n, sum, sq float64
	step := max(1, b.Dx()/200)
	for y := b.Min.Y; y < b.Max.Y; y += step {
		for x := b.Min.X; x < b.Max.X; x += step {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			sum += l
			sq += l * l
			n++
		}
	}
	if n == 0 {
		return true
	}
	mean := sum / n
	sd := math.Sqrt(max(0, sq/n-mean*mean))
	return sd < 6
}

// PickPoster writes a poster candidate PNG of display size (long side at
// most PosterMax) to dir and returns its path and size. It tries points
// at 10%, 25%, 50% and 75% of the duration and, at each, lets ffmpeg's
// thumbnail filter choose the most representative of the next frames;
// black or flat frames are skipped. If every candidate is blank, the
// first is used.
func PickPoster(ctx context.Context, src string, a *Analysis, dir string) (string, int, int, error) {
	if a.Video == nil {
		return "", 0, 0, pipeline.Permanentf("av: no video stream for a poster")
	}
	w, h := fitBox(a.Video.DisplayWidth, a.Video.DisplayHeight, PosterMax)
	first := ""
	for i, frac := range []float64{0.1, 0.25, 0.5, 0.75, 0} {
		at := a.Duration * frac
		out := filepath.Join(dir, "cand"+strconv.Itoa(i)+".png")
		args := []string{"-nostdin", "-v", "error", "-y"}
		if at > 0 {
			args = append(args, "-ss", strconv.FormatFloat(at, 'f', 3, 64))
		}
		args = append(args, "-i", src, "-map", fmt.Sprintf("0:%d", a.Video.Index),
			"-vf", fmt.Sprintf("thumbnail=12,scale=%d:%d,setsar=1", w, h), "-frames:v", "1", "-f", "image2", "-c:v", "png", out)
		if _, err := proc.Run(ctx, "ffmpeg", args...); err != nil {
			if ctx.Err() != nil {
				return "", 0, 0, err
			}
			continue
		}
		b, err := os.ReadFile(out)
		if err != nil || len(b) == 0 {
			continue
		}
		img, _, err := image.Decode(bytes.NewReader(b))
		if err != nil {
			continue
		}
		if first == "" {
			first = out
		}
		if !blank(img) {
			return out, w, h, nil
		}
	}
	if first == "" {
		return "", 0, 0, pipeline.Permanentf("av: no frame could be decoded for a poster")
	}
	return first, w, h, nil
}

func (o Options) runPoster(ctx context.Context, tc *pipeline.TaskContext) error {
	src, a, _, err := o.probe(ctx, tc)
	if err != nil {
		return err
	}
	if a.Video == nil {
		tc.Log.InfoContext(ctx, "no video stream: no poster")
		return nil
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	cand, w, h, err := PickPoster(ctx, src, a, dir)
	if err != nil {
		return err
	}
	// One ffmpeg run encodes the poster and every thumbnail.
	type out struct {
		d    catalog.Derivative
		path string
	}
	outs := []out{{catalog.Derivative{Name: "poster", ContentType: "image/jpeg", Width: w, Height: h}, filepath.Join(dir, "poster.jpg")}}
	args := []string{"-nostdin", "-v", "error", "-y", "-i", cand,
		"-map", "0", "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", outs[0].path}
	for _, n := range ThumbSizes {
		tw, th := fitBox(w, h, n)
		scale := fmt.Sprintf("scale=%d:%d", tw, th)
		webp := out{catalog.Derivative{Name: "thumb-" + strconv.Itoa(n), ContentType: "image/webp", Width: tw, Height: th},
			filepath.Join(dir, "thumb-"+strconv.Itoa(n)+".webp")}
		jpg := out{catalog.Derivative{Name: "thumb-" + strconv.Itoa(n) + "-jpg", ContentType: "image/jpeg", Width: tw, Height: th},
			filepath.Join(dir, "thumb-"+strconv.Itoa(n)+".jpg")}
		args = append(args, "-map", "0", "-vf", scale, "-c:v", "libwebp", "-quality", "80", "-f", "webp", webp.path,
			"-map", "0", "-vf", scale, "-q:v", "3", "-f", "image2", "-c:v", "mjpeg", jpg.path)
		outs = append(outs, webp, jpg)
	}
	if _, err := proc.Run(ctx, "ffmpeg", args...); err != nil {
		return fmt.Errorf("av: poster: %w", err)
	}
	for _, o := range outs {
		if err := putFile(ctx, tc, o.d, o.path); err != nil {
			return err
		}
	}
	return nil
}

func putFile(ctx context.Context, tc *pipeline.TaskContext, d catalog.Derivative, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("av: %s: %w", d.Name, err)
	}
	defer f.Close()
	return tc.PutDerivative(ctx, d, f)
}

// Storyboard geometry.
const (
	StoryboardColumns = 10
	StoryboardFrames  = 100
	StoryboardWidth   = 160
)

// Storyboard makes a sprite sheet of StoryboardFrames frames (one every
// duration/100 s), StoryboardColumns across, and its WebVTT thumbnails
// track. Long videos decode key frames only.
func Storyboard(ctx context.Context, src string, a *Analysis, dir string) (jpg string, vtt []byte, w, h int, err error) {
	if a.Video == nil || a.Duration <= 0 {
		return "", nil, 0, 0, pipeline.Permanentf("av: no video stream or duration for a storyboard")
	}
	tw := StoryboardWidth
	th := even(int(math.Round(float64(tw) * float64(a.Video.DisplayHeight) / float64(a.Video.DisplayWidth))))
	interval := a.Duration / StoryboardFrames
	rows := (StoryboardFrames + StoryboardColumns - 1) / StoryboardColumns
	jpg = filepath.Join(dir, "storyboard.jpg")
	args := []string{"-nostdin", "-v", "error", "-y"}
	if a.Duration > 120 {
		args = append(args, "-skip_frame", "nokey")
	}
	args = append(args, "-i", src, "-map", fmt.Sprintf("0:%d", a.Video.Index), "-vf",
		fmt.Sprintf("fps=%s,scale=%d:%d,setsar=1,tile=%dx%d", strconv.FormatFloat(1/interval, 'f', 6, 64), tw, th, StoryboardColumns, rows),
		"-frames:v", "1", "-q:v", "4", "-f", "image2", "-c:v", "mjpeg", jpg)
	if _, err := proc.Run(ctx, "ffmpeg", args...); err != nil {
		return "", nil, 0, 0, fmt.Errorf("av: storyboard: %w", err)
	}
	if fi, err := os.Stat(jpg); err != nil || fi.Size() == 0 {
		return "", nil, 0, 0, errors.New("av: storyboard: ffmpeg wrote no sheet")
	}
	var b strings.Builder
	b.WriteString("WEBVTT\n\n")
	for i := range StoryboardFrames {
		x, y := (i%StoryboardColumns)*tw, (i/StoryboardColumns)*th
		fmt.Fprintf(&b, "%s --> %s\nstoryboard.jpg#xywh=%d,%d,%d,%d\n\n",
			vttTime(float64(i)*interval), vttTime(float64(i+1)*interval), x, y, tw, th)
	}
	return jpg, []byte(b.String()), tw * StoryboardColumns, th * rows, nil
}

func vttTime(s float64) string {
	ms := int64(math.Round(s * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

func (o Options) runStoryboard(ctx context.Context, tc *pipeline.TaskContext) error {
	src, a, _, err := o.probe(ctx, tc)
	if err != nil {
		return err
	}
	if a.Video == nil {
		return nil
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	jpg, vtt, w, h, err := Storyboard(ctx, src, a, dir)
	if err != nil {
		return err
	}
	if err := putFile(ctx, tc, catalog.Derivative{Name: "storyboard.jpg", ContentType: "image/jpeg", Width: w, Height: h}, jpg); err != nil {
		return err
	}
	// The track refers to the sheet relatively: both are served from
	// /api/v1/assets/{id}/derivatives/.
	return tc.PutDerivative(ctx, catalog.Derivative{Name: "storyboard.vtt", ContentType: "text/vtt; charset=utf-8"}, bytes.NewReader(vtt))
}
