// Package doctask makes documents viewable: Office files are converted to
// PDF with LibreOffice (a warm converter, see Converter), and every PDF —
// original or converted — gets a page count, an image per page (long edge
// PageEdge pixels, for zooming through IIIF), a thumbnail per page, and its
// first page as the asset's thumbnails. GET /api/v1/assets/{id}/pages lists
// the pages (Server).
//
// Derivatives: "pdf" (Office only), "page-0001.jpg" … (JPEG),
// "page-0001-thumb.webp" … (WebP, long edge 400), and the image tasks'
// "thumb-N" / "thumb-N-jpg" names from page 1.
package doctask

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"stor/internal/catalog"
	"stor/internal/imagetask"
	"stor/internal/pipeline"
	"stor/internal/proc"
	"stor/internal/vips"
)

// Task names.
const (
	TaskOfficePDF = "office-pdf"
	TaskPages     = "pdf-pages"
)

// DerivPDF is the PDF rendition of an Office document.
const DerivPDF = "pdf"

// PageName is the derivative name of page n's image ("page-0001.jpg").
func PageName(n int) string { return fmt.Sprintf("page-%04d.jpg", n) }

// PageThumbName is the derivative name of page n's thumbnail.
func PageThumbName(n int) string { return fmt.Sprintf("page-%04d-thumb.webp", n) }

var pageRE = regexp.MustCompile(`^page-([0-9]{4,6})\.jpg$`)

// PageOf returns the page number of a page image derivative name.
func PageOf(name string) (int, bool) {
	m := pageRE.FindStringSubmatch(name)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(m[1])
	return n, n > 0
}

// officeFormats are converted to PDF by LibreOffice.
var officeFormats = []string{"doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf"}

// IsOffice reports whether a is an Office document LibreOffice converts.
func IsOffice(a *catalog.Asset) bool { return slices.Contains(officeFormats, a.Format) }

// IsPDF reports whether a's original is a PDF (or an Illustrator file,
// which is a PDF since Illustrator 9).
func IsPDF(a *catalog.Asset) bool { return a.Format == "pdf" || a.Format == "ai" }

// HasPages reports whether the page tasks apply to a.
func HasPages(a *catalog.Asset) bool { return IsPDF(a) || IsOffice(a) }

// Config tunes the document tasks. Zero fields take the defaults noted.
type Config struct {
	// PageEdge is the long edge of a page image in pixels. Default 2400.
	PageEdge int
	// MaxDPI bounds the resolution of small pages. Default 300.
	MaxDPI float64
	// PageThumb is the long edge of page thumbnails. Default 400.
	PageThumb int
	// ThumbSizes are the asset thumbnails made from page 1 (the image
	// tasks' sizes). Default 150, 400, 1024.
	ThumbSizes []int
	// Quality of page JPEGs. Default 85.
	Quality int
	// Pdfinfo and Pdftoppm are the poppler tools, Vips the libvips
	// command (TIFF pages), Gs Ghostscript (PostScript-era Illustrator
	// files). Defaults by name.
	Pdfinfo, Pdftoppm, Vips, Gs string
	// MaxPages bounds the pages rendered (a page count above fails the
	// task). Default 5000.
	MaxPages int
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{PageEdge: 2400, MaxDPI: 300, PageThumb: 400, ThumbSizes: []int{150, 400, 1024}, Quality: 85,
		Pdfinfo: "pdfinfo", Pdftoppm: "pdftoppm", Vips: "vips", Gs: "gs", MaxPages: 5000}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.PageEdge <= 0 {
		c.PageEdge = d.PageEdge
	}
	if c.MaxDPI <= 0 {
		c.MaxDPI = d.MaxDPI
	}
	if c.PageThumb <= 0 {
		c.PageThumb = d.PageThumb
	}
	if len(c.ThumbSizes) == 0 {
		c.ThumbSizes = d.ThumbSizes
	}
	if c.Quality <= 0 {
		c.Quality = d.Quality
	}
	if c.Pdfinfo == "" {
		c.Pdfinfo = d.Pdfinfo
	}
	if c.Pdftoppm == "" {
		c.Pdftoppm = d.Pdftoppm
	}
	if c.Vips == "" {
		c.Vips = d.Vips
	}
	if c.Gs == "" {
		c.Gs = d.Gs
	}
	if c.MaxPages <= 0 {
		c.MaxPages = d.MaxPages
	}
	return c
}

// Tasks returns the document tasks over the image engine and the Office
// converter.
func Tasks(cfg Config, eng *vips.Engine, conv *Converter) []pipeline.Task {
	r := &runner{cfg: cfg.withDefaults(), eng: eng, conv: conv}
	return []pipeline.Task{
		{Name: TaskOfficePDF, Applies: IsOffice, Required: true, Class: pipeline.Heavy,
			Timeout: 5 * time.Minute, MaxAttempts: 2, Run: r.officePDF},
		{Name: TaskPages, Applies: HasPages, Required: true, Class: pipeline.Heavy,
			TimeoutFor: pagesTimeout, MaxAttempts: 3, After: []string{TaskOfficePDF}, Run: r.pages},
		tiffTask(r),
	}
}

// pagesTimeout: two minutes plus 15 seconds a page when the page count is
// known; 30 minutes before (a retry gets the scaled bound). At most 12 h.
func pagesTimeout(a *catalog.Asset) time.Duration {
	if a == nil || a.PageCount <= 0 {
		return 30 * time.Minute
	}
	return min(2*time.Minute+time.Duration(a.PageCount)*15*time.Second, 12*time.Hour)
}

type runner struct {
	cfg  Config
	eng  *vips.Engine
	conv *Converter
}

func (r *runner) officePDF(ctx context.Context, tc *pipeline.TaskContext) error {
	if r.conv == nil {
		return pipeline.Permanentf("office: no converter configured")
	}
	src, err := tc.OriginalFile(ctx)
	if err != nil {
		return err
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	pdf, err := r.conv.ToPDF(ctx, src, dir)
	if err != nil {
		if errors.Is(err, ErrConvert) {
			return pipeline.Permanentf("%s: %w", tc.Asset.Format, err)
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return pipeline.Permanent(err) // this document hangs the converter
		}
		return err
	}
	f, err := os.Open(pdf)
	if err != nil {
		return err
	}
	defer f.Close()
	return tc.PutDerivative(ctx, catalog.Derivative{Name: DerivPDF, ContentType: "application/pdf"}, f)
}

// source is the PDF to render: the original, or the Office rendition.
func (r *runner) source(ctx context.Context, tc *pipeline.TaskContext) (string, error) {
	if IsPDF(tc.Asset) {
		src, err := tc.OriginalFile(ctx)
		if err != nil || tc.Asset.Format != "ai" {
			return src, err
		}
		return r.illustrator(ctx, tc, src)
	}
	d, err := catalog.GetDerivative(ctx, tc.DB().Reader(), tc.Asset.ID, DerivPDF)
	if errors.Is(err, catalog.ErrNotFound) {
		return "", pipeline.Permanentf("no PDF rendition of this %s (the %s task did not make one)", tc.Asset.Format, TaskOfficePDF)
	}
	if err != nil {
		return "", err
	}
	dir, err := tc.TempDir()
	if err != nil {
		return "", err
	}
	rc, err := tc.Store().Open(ctx, d.BlobKey, 0, -1)
	if err != nil {
		return "", fmt.Errorf("pdf rendition: %w", err)
	}
	defer rc.Close()
	p := filepath.Join(dir, "doc.pdf")
	f, err := os.Create(p)
	if err != nil {
		return "", err
	}
	if _, err := f.ReadFrom(rc); err != nil {
		f.Close()
		return "", fmt.Errorf("pdf rendition: %w", err)
	}
	return p, f.Close()
}

// illustrator returns an Illustrator file as a PDF: files since
// Illustrator 9 are PDFs already; older ones are PostScript (EPS with
// Illustrator's prolog), which Ghostscript turns into a PDF (-dSAFER: no
// file access beyond the input and output, -dEPSCrop: the artwork's
// bounding box as the page).
func (r *runner) illustrator(ctx context.Context, tc *pipeline.TaskContext, src string) (string, error) {
	head := make([]byte, 1024)
	f, err := os.Open(src)
	if err != nil {
		return "", err
	}
	n, _ := io.ReadFull(f, head)
	f.Close()
	head = head[:n]
	if bytes.Contains(head, []byte("%PDF-")) {
		return src, nil
	}
	if !bytes.HasPrefix(head, []byte("%!PS")) && !bytes.HasPrefix(head, []byte("\xc5\xd0\xd3\xc6")) {
		return "", pipeline.Permanentf("ai: neither a PDF-based nor a PostScript-based Illustrator file")
	}
	dir, err := tc.TempDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "ai.pdf")
	if _, err := proc.Run(ctx, r.cfg.Gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dEPSCrop",
		"-sDEVICE=pdfwrite", "-o", out, src); err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("ai: a PostScript-based Illustrator file needs Ghostscript (%s): %w", r.cfg.Gs, err)
		}
		return "", pipeline.Permanentf("ai: Ghostscript could not convert this PostScript-based Illustrator file: %w", err)
	}
	return out, nil
}

// Page is one page's size in PDF points (1/72 inch), as displayed (the
// page's rotation applied).
type Page struct {
	N             int
	Width, Height float64
}

// ErrEncrypted is wrapped by the failure of a PDF that needs a password.
var ErrEncrypted = errors.New("encrypted PDF")

// Info reads a PDF's page count and page sizes with pdfinfo.
func Info(ctx context.Context, pdfinfo, path string, maxPages int) ([]Page, error) {
	out, err := proc.Run(ctx, pdfinfo, path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		if strings.Contains(strings.ToLower(err.Error()), "password") {
			return nil, pipeline.Permanent(fmt.Errorf("%w: it needs a password to open (%v)", ErrEncrypted, err))
		}
		return nil, pipeline.Permanentf("pdfinfo: the PDF cannot be read: %w", err)
	}
	n := -1
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	if n <= 0 {
		return nil, pipeline.Permanentf("pdfinfo: the PDF has no pages")
	}
	if n > maxPages {
		return nil, pipeline.Permanentf("the PDF has %d pages, over the limit of %d", n, maxPages)
	}
	out, err = proc.Run(ctx, pdfinfo, "-f", "1", "-l", strconv.Itoa(n), path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, pipeline.Permanentf("pdfinfo: page sizes: %w", err)
	}
	pages := make([]Page, n)
	for i := range pages {
		pages[i] = Page{N: i + 1, Width: 612, Height: 792}
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		// "Page    1 size: 612 x 792 pts (letter)" / "Page    1 rot:  90"
		if len(f) < 4 || f[0] != "Page" {
			continue
		}
		i, err := strconv.Atoi(f[1])
		if err != nil || i < 1 || i > n {
			continue
		}
		p := &pages[i-1]
		switch {
		case f[2] == "size:" && len(f) >= 6:
			w, e1 := strconv.ParseFloat(f[3], 64)
			h, e2 := strconv.ParseFloat(f[5], 64)
			if e1 == nil && e2 == nil && w > 0 && h > 0 {
				p.Width, p.Height = w, h
			}
		case f[2] == "rot:":
			if rot, _ := strconv.Atoi(f[3]); rot%180 != 0 {
				p.Width, p.Height = p.Height, p.Width
			}
		}
	}
	return pages, nil
}

// dpi is the resolution that renders p at long edge edge pixels, at most
// maxDPI.
func dpi(p Page, edge int, maxDPI float64) float64 {
	d := float64(edge) * 72 / math.Max(p.Width, p.Height)
	return math.Min(d, maxDPI)
}

func (r *runner) pages(ctx context.Context, tc *pipeline.TaskContext) error {
	src, err := r.source(ctx, tc)
	if err != nil {
		return err
	}
	pages, err := Info(ctx, r.cfg.Pdfinfo, src, r.cfg.MaxPages)
	if err != nil {
		return err
	}
	if tc.Asset.PageCount != len(pages) {
		// Early, so that a retry after a timeout gets the scaled bound.
		if err := tc.UpdateAsset(ctx, catalog.AssetInfo{PageCount: len(pages)}); err != nil {
			return err
		}
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	for _, p := range pages {
		img, err := r.render(ctx, src, p, dir)
		if err != nil {
			return err
		}
		in, err := r.eng.Probe(img)
		if err != nil {
			return fmt.Errorf("page %d: %w", p.N, err)
		}
		if err := putFile(ctx, tc, img, catalog.Derivative{Name: PageName(p.N), ContentType: "image/jpeg", Width: in.Width, Height: in.Height}); err != nil {
			return err
		}
		b, ti, err := r.eng.Thumbnail(img, vips.ThumbOpts{Size: r.cfg.PageThumb, Format: vips.WebP, Quality: 80})
		if err != nil {
			return fmt.Errorf("page %d thumbnail: %w", p.N, err)
		}
		if err := tc.PutDerivative(ctx, catalog.Derivative{Name: PageThumbName(p.N), ContentType: "image/webp", Width: ti.Width, Height: ti.Height}, bytes.NewReader(b)); err != nil {
			return err
		}
		if p.N == 1 {
			if err := r.thumbs(ctx, tc, img); err != nil {
				return err
			}
		}
		if p.N > 1 {
			os.Remove(img)
		}
		tc.Progress(ctx, p.N*100/len(pages))
	}
	return tc.UpdateAsset(ctx, catalog.AssetInfo{PageCount: len(pages)})
}

// render draws one page as a JPEG with pdftoppm, long edge PageEdge (a
// 20,000 pt page too: the resolution follows the page, so pixels are
// bounded whatever the page size).
func (r *runner) render(ctx context.Context, src string, p Page, dir string) (string, error) {
	prefix := filepath.Join(dir, "page-"+strconv.Itoa(p.N))
	n := strconv.Itoa(p.N)
	// The long edge is PageEdge exactly (pdftoppm -scale-to), unless that
	// would pass MaxDPI.
	scale := []string{"-scale-to", strconv.Itoa(r.cfg.PageEdge)}
	if d := dpi(p, r.cfg.PageEdge, math.Inf(1)); d > r.cfg.MaxDPI {
		scale = []string{"-r", strconv.FormatFloat(r.cfg.MaxDPI, 'f', 2, 64)}
	}
	args := append(scale, "-f", n, "-l", n, "-singlefile", "-jpeg", "-jpegopt", "quality="+strconv.Itoa(r.cfg.Quality), src, prefix)
	if _, err := proc.Run(ctx, r.cfg.Pdftoppm, args...); err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return "", pipeline.Permanentf("pdftoppm: page %d cannot be rendered: %w", p.N, err)
	}
	return prefix + ".jpg", nil
}

// thumbs makes the asset thumbnails from page 1's image.
func (r *runner) thumbs(ctx context.Context, tc *pipeline.TaskContext, img string) error {
	for _, size := range r.cfg.ThumbSizes {
		for _, jpeg := range []bool{false, true} {
			f, ct := vips.WebP, "image/webp"
			if jpeg {
				f, ct = vips.JPEG, "image/jpeg"
			}
			b, info, err := r.eng.Thumbnail(img, vips.ThumbOpts{Size: size, Format: f, Quality: 80})
			if err != nil {
				return fmt.Errorf("thumbnail: %w", err)
			}
			d := catalog.Derivative{Name: imagetask.ThumbName(size, jpeg), ContentType: ct, Width: info.Width, Height: info.Height}
			if err := tc.PutDerivative(ctx, d, bytes.NewReader(b)); err != nil {
				return err
			}
		}
	}
	return nil
}

func putFile(ctx context.Context, tc *pipeline.TaskContext, path string, d catalog.Derivative) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return tc.PutDerivative(ctx, d, f)
}
