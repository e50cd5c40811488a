package doctask

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"stor/internal/catalog"
	"stor/internal/pipeline"
	"stor/internal/proc"
	"stor/internal/vips"
)

// TaskTIFFPages gives the pages of a multipage TIFF the same page
// derivatives as a PDF's (page-0001.jpg, page-0001-thumb.webp …). The
// image tasks already make the asset thumbnails and page_count from page 1.
const TaskTIFFPages = "tiff-pages"

func isTIFF(a *catalog.Asset) bool { return a.Format == "tif" }

func tiffTask(r *runner) pipeline.Task {
	return pipeline.Task{Name: TaskTIFFPages, Applies: isTIFF, Required: false, Class: pipeline.Heavy,
		TimeoutFor: pagesTimeout, MaxAttempts: 2, After: []string{"image-probe"}, Run: r.tiffPages}
}

// tiffPages renders each page of a multipage TIFF with the vips command
// (page=N, shrunk to PageEdge, never enlarged); a one-page TIFF has
// nothing to do.
func (r *runner) tiffPages(ctx context.Context, tc *pipeline.TaskContext) error {
	src, err := tc.OriginalFile(ctx)
	if err != nil {
		return err
	}
	in, err := r.eng.Probe(src)
	if err != nil {
		return pipeline.Permanentf("tiff pages: %w", err)
	}
	if in.Pages <= 1 {
		return nil
	}
	if in.Pages > r.cfg.MaxPages {
		return pipeline.Permanentf("the TIFF has %d pages, over the limit of %d", in.Pages, r.cfg.MaxPages)
	}
	dir, err := tc.TempDir()
	if err != nil {
		return err
	}
	for p := 1; p <= in.Pages; p++ {
		img := filepath.Join(dir, fmt.Sprintf("page-%d.jpg", p))
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		_, err := proc.Run(pctx, r.cfg.Vips, "thumbnail", src+"[page="+strconv.Itoa(p-1)+"]",
			img+"[Q="+strconv.Itoa(r.cfg.Quality)+",strip]", strconv.Itoa(r.cfg.PageEdge), "--size", "down")
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			return pipeline.Permanentf("tiff page %d: %w", p, err)
		}
		pi, err := r.eng.Probe(img)
		if err != nil {
			return fmt.Errorf("tiff page %d: %w", p, err)
		}
		if err := putFile(ctx, tc, img, catalog.Derivative{Name: PageName(p), ContentType: "image/jpeg", Width: pi.Width, Height: pi.Height}); err != nil {
			return err
		}
		b, ti, err := r.eng.Thumbnail(img, vips.ThumbOpts{Size: r.cfg.PageThumb, Format: vips.WebP, Quality: 80})
		if err != nil {
			return fmt.Errorf("tiff page %d thumbnail: %w", p, err)
		}
		if err := tc.PutDerivative(ctx, catalog.Derivative{Name: PageThumbName(p), ContentType: "image/webp", Width: ti.Width, Height: ti.Height}, bytes.NewReader(b)); err != nil {
			return err
		}
		tc.Progress(ctx, p*100/in.Pages)
	}
	return tc.UpdateAsset(ctx, catalog.AssetInfo{PageCount: in.Pages})
}
