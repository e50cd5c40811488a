package metatask

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/proc"
)

// HasText reports whether the text task applies: PDFs, images, and
// Office documents (read through their "pdf" rendition).
func HasText(a *catalog.Asset) bool {
	return a.Format == "pdf" || a.Kind == "image" || isOffice(a)
}

// officeFormats get a "pdf" derivative from the document tasks
// (doctask.TaskOfficePDF); the text task reads it.
var officeFormats = map[string]bool{"doc": true, "docx": true, "xls": true, "xlsx": true, "ppt": true,
	"pptx": true, "odt": true, "ods": true, "odp": true, "rtf": true}

func isOffice(a *catalog.Asset) bool { return officeFormats[a.Format] }

// textTimeout: ten minutes, plus two per page when the page count is
// known (OCR at 200 dpi is seconds per page on one core; the margin is for
// a loaded machine). An asset whose page count is not known yet gets 30
// minutes; a retry after the metadata task has counted its pages gets the
// scaled bound. At most 12 hours.
func textTimeout(a *catalog.Asset) time.Duration {
	if a == nil {
		return 30 * time.Minute
	}
	if a.Format != "pdf" && !isOffice(a) {
		return 10 * time.Minute
	}
	if a.PageCount <= 0 {
		return 30 * time.Minute
	}
	return min(10*time.Minute+time.Duration(a.PageCount)*2*time.Minute, 12*time.Hour)
}

// ocrFormats are the originals tesseract (leptonica) reads directly.
var ocrFormats = map[string]bool{"jpg": true, "png": true, "tif": true, "gif": true, "bmp": true, "webp": true, "jp2": true}

// ocrDerivatives are tried before the original, best first: the image
// tasks' full-size access JPEG, then the 1024-pixel thumbnails (upright,
// in a format tesseract reads).
var ocrDerivatives = []string{"access", "thumb-1024-jpg", "thumb-1024"}

func (r *runner) text(ctx context.Context, tc *pipeline.TaskContext) error {
	var pages []catalog.TextPage
	var warnings []string
	var err error
	if tc.Asset.Format == "pdf" || isOffice(tc.Asset) {
		pages, warnings, err = r.pdfText(ctx, tc)
	} else {
		pages, warnings, err = r.imageText(ctx, tc)
	}
	if err != nil {
		return err
	}
	a := tc.Asset
	return tc.DB().InTx(ctx, func(tx *sql.Tx) error {
		if err := catalog.ReplaceText(ctx, tx, a.ID, pages); err != nil {
			return err
		}
		return catalog.SetWarnings(ctx, tx, a.ID, TaskText, warnings)
	})
}

func (r *runner) pdfText(ctx context.Context, tc *pipeline.TaskContext) ([]catalog.TextPage, []string, error) {
	var path string
	var err error
	if isOffice(tc.Asset) {
		d, err := catalog.GetDerivative(ctx, tc.DB().Reader(), tc.Asset.ID, "pdf")
		if errors.Is(err, catalog.ErrNotFound) {
			return nil, []string{"no text: this document has no PDF rendition"}, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if path, err = r.localDerivative(ctx, tc, d); err != nil {
			return nil, nil, err
		}
	} else if path, err = tc.OriginalFile(ctx); err != nil {
		return nil, nil, err
	}
	n, err := r.pdfPages(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	out, err := proc.Run(ctx, r.cfg.Pdftotext, "-layout", "-enc", "UTF-8", "-q", path, "-")
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, err
		}
		return nil, nil, pipeline.Permanentf("pdftotext: %w", err)
	}
	// pdftotext ends every page with a form feed.
	layer := strings.Split(string(out), "\f")
	dir, err := tc.TempDir()
	if err != nil {
		return nil, nil, err
	}
	var warnings []string
	pages := make([]catalog.TextPage, 0, n)
	for i := 1; i <= n; i++ {
		text := ""
		if i-1 < len(layer) {
			text = clean(layer[i-1])
		}
		if strings.TrimSpace(text) != "" {
			pages = append(pages, catalog.TextPage{Page: i, Source: catalog.TextLayer, Text: text})
		} else {
			text, err := r.ocrPDFPage(ctx, path, i, dir)
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil, err
				}
				warnings = append(warnings, fmt.Sprintf("page %d: OCR failed: %v", i, err))
			}
			pages = append(pages, catalog.TextPage{Page: i, Source: catalog.TextOCR, Text: text})
		}
		tc.Progress(ctx, i*100/n)
	}
	return pages, firstN(warnings, 20), nil
}

// pdfPages counts pages with pdfinfo.
func (r *runner) pdfPages(ctx context.Context, path string) (int, error) {
	out, err := proc.Run(ctx, r.cfg.Pdfinfo, path)
	if err != nil {
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, pipeline.Permanentf("pdfinfo: the PDF cannot be read: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				break
			}
			return n, nil
		}
	}
	return 0, pipeline.Permanentf("pdfinfo: no page count in its answer")
}

// ocrMaxEdge bounds the long edge of a page rendered for OCR: a 20,000 pt
// poster page at 200 dpi would be 55,000 pixels square.
const ocrMaxEdge = 6000

// ocrPDFPage renders one page at 200 dpi (less for a page so large that
// its long edge would pass ocrMaxEdge pixels) and OCRs it.
func (r *runner) ocrPDFPage(ctx context.Context, path string, page int, dir string) (string, error) {
	prefix := filepath.Join(dir, "page")
	p := strconv.Itoa(page)
	res := 200.0
	if edge := r.pageEdge(ctx, path, p); edge > 0 {
		res = min(res, ocrMaxEdge*72/edge)
	}
	if _, err := proc.Run(ctx, r.cfg.Pdftoppm, "-r", strconv.FormatFloat(res, 'f', 3, 64), "-f", p, "-l", p, "-singlefile", "-png", path, prefix); err != nil {
		return "", err
	}
	img := prefix + ".png"
	defer os.Remove(img)
	return r.tesseract(ctx, img)
}

// pageEdge is the long edge of a page in points per pdfinfo, 0 if unknown.
func (r *runner) pageEdge(ctx context.Context, path, page string) float64 {
	out, err := proc.Run(ctx, r.cfg.Pdfinfo, "-f", page, "-l", page, path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(out), "\n") {
		// "Page    1 size: 612 x 792 pts (letter)"
		f := strings.Fields(line)
		if len(f) >= 6 && f[0] == "Page" && f[2] == "size:" {
			w, e1 := strconv.ParseFloat(f[3], 64)
			h, e2 := strconv.ParseFloat(f[5], 64)
			if e1 == nil && e2 == nil {
				return max(w, h)
			}
		}
	}
	return 0
}

// tesseract OCRs one image file with the configured languages, one
// thread (the machine's cores belong to the workers).
func (r *runner) tesseract(ctx context.Context, img string) (string, error) {
	cmd := proc.Command(ctx, r.cfg.Tesseract, img, "stdout", "-l", r.cfg.OCRLanguages)
	cmd.Env = append(os.Environ(), "OMP_THREAD_LIMIT=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("tesseract: %w", ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 1000 {
			msg = msg[len(msg)-1000:]
		}
		return "", fmt.Errorf("tesseract (languages %s): %w: %s", r.cfg.OCRLanguages, err, msg)
	}
	return clean(stdout.String()), nil
}

func (r *runner) imageText(ctx context.Context, tc *pipeline.TaskContext) ([]catalog.TextPage, []string, error) {
	a := tc.Asset
	src, w, h := "", 0, 0
	for _, name := range ocrDerivatives {
		d, err := catalog.GetDerivative(ctx, tc.DB().Reader(), a.ID, name)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if src, err = r.localDerivative(ctx, tc, d); err != nil {
			return nil, nil, err
		}
		w, h = d.Width, d.Height
		break
	}
	if src == "" {
		if !ocrFormats[a.Format] {
			return nil, []string{fmt.Sprintf("OCR skipped: no rendition tesseract can read yet (original is %s)", a.Format)}, nil
		}
		var err error
		if src, err = tc.OriginalFile(ctx); err != nil {
			return nil, nil, err
		}
		w, h = a.Width, a.Height
		if w == 0 || h == 0 {
			// The metadata task may not have run yet: ask exiftool.
			m, err := r.exif.Extract(ctx, src)
			if err != nil {
				return nil, nil, fmt.Errorf("image size for OCR: %w", err)
			}
			w, h = m.Normalized.Width, m.Normalized.Height
		}
	}
	if px := int64(w) * int64(h); px > r.cfg.OCRMaxPixels {
		return nil, []string{fmt.Sprintf("OCR skipped: the image is %d×%d (%.0f megapixels), above the OCR bound of %.0f megapixels",
			w, h, float64(px)/1e6, float64(r.cfg.OCRMaxPixels)/1e6)}, nil
	}
	text, err := r.tesseract(ctx, src)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, err
		}
		return nil, nil, pipeline.Permanent(err)
	}
	return []catalog.TextPage{{Page: 1, Source: catalog.TextOCR, Text: text}}, nil, nil
}

// localDerivative copies a derivative into the task's temp dir.
func (r *runner) localDerivative(ctx context.Context, tc *pipeline.TaskContext, d *catalog.Derivative) (string, error) {
	dir, err := tc.TempDir()
	if err != nil {
		return "", err
	}
	rc, err := tc.Store().Open(ctx, d.BlobKey, 0, -1)
	if err != nil {
		return "", fmt.Errorf("derivative %s: %w", d.Name, err)
	}
	defer rc.Close()
	ext := ".jpg"
	switch {
	case strings.Contains(d.ContentType, "webp"):
		ext = ".webp"
	case d.ContentType == "application/pdf":
		ext = ".pdf"
	}
	dst := filepath.Join(dir, d.Name+ext)
	f, err := os.Create(dst)
	if err != nil {
		return "", err
	}
	if _, err := f.ReadFrom(rc); err != nil {
		f.Close()
		return "", fmt.Errorf("derivative %s: %w", d.Name, err)
	}
	return dst, f.Close()
}

// clean makes text storable: valid UTF-8, no NUL, no trailing blank lines.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.TrimRight(s, " \t\r\n\f")
}
