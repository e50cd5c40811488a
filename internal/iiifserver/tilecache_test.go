package iiifserver_test

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
	"time"

	"stor/internal/config"
	"stor/internal/vips"
)

// TestTileCacheReprocessed: a region rendered from decoded tiles of a
// pyramid is rendered from the new pyramid's tiles once the asset is
// reprocessed (the cache is keyed by the source's version), and the
// server still renders regions with the tile cache off.
func TestTileCacheReprocessed(t *testing.T) {
	for _, size := range []config.ByteSize{1 << 20, 0} {
		e := newEnv(t, func(c *config.Config) { c.IIIFTileCacheSize = size; c.IIIFCacheSize = 0 })
		work := filepath.Join(e.dir, "work")
		os.MkdirAll(work, 0o755)
		flat := func(name string, c color.RGBA) string {
			im := image.NewRGBA(image.Rect(0, 0, 700, 600))
			for i := 0; i < len(im.Pix); i += 4 {
				im.Pix[i], im.Pix[i+1], im.Pix[i+2], im.Pix[i+3] = c.R, c.G, c.B, 255
			}
			src := filepath.Join(work, name+".png")
			os.WriteFile(src, pngBytes(t, im), 0o644)
			p := filepath.Join(work, name+".tif")
			if err := e.eng.Pyramid(src, p, vips.PyramidOpts{TileSize: 256}); err != nil {
				t.Fatal(err)
			}
			return p
		}
		red, blue := flat("red", color.RGBA{200, 20, 20, 255}), flat("blue", color.RGBA{20, 20, 200, 255})
		id := e.ingest("flat.png", pngBytes(t, pattern(700, 600)))
		e.derive(id, "pyramid", "image/tiff", red, 700, 600)
		// PNG takes libvips (mosaic), JPEG the short region path: both
		// read the decoded tiles.
		centre := func(ext, how string) color.RGBA {
			t.Helper()
			region := "/iiif/3/" + id + "/100,100,400,300/200,/0/default." + ext
			r := e.get(region)
			if r.status != 200 || r.h.Get("X-Stor-Render") != how {
				t.Fatalf("cache %d: %s: %d %q %s", size, region, r.status, r.h.Get("X-Stor-Render"), r.body)
			}
			_, _, im := e.decode(r.body)
			return color.RGBAModel.Convert(im.At(100, 75)).(color.RGBA)
		}
		for _, p := range [][2]string{{"png", "mosaic"}, {"jpg", "region"}} {
			if c := centre(p[0], p[1]); c.R < 150 || c.B > 60 {
				t.Fatalf("cache %d: red pyramid gives %v", size, c)
			}
			centre(p[0], p[1]) // from cached tiles
		}
		e.derive(id, "pyramid", "image/tiff", blue, 700, 600)
		time.Sleep(1100 * time.Millisecond) // the server reuses an asset's source for a second
		for _, p := range [][2]string{{"png", "mosaic"}, {"jpg", "region"}} {
			if c := centre(p[0], p[1]); c.B < 150 || c.R > 60 {
				t.Fatalf("cache %d: after reprocessing, %v (old tiles?)", size, c)
			}
		}
	}
}
