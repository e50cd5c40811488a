package imagetask

import (
	"stor/internal/catalog"
)

// Links returns the asset links the image tasks add to the API's asset
// view: "thumbnail" (the thumb-400 derivative, or the configured size
// nearest 400) and "iiif" (the IIIF Image API 3.0 info.json), for the
// assets the image tasks apply to. They are given whatever the asset's
// state: the thumbnail answers 404 until the thumbnails task has run.
func Links(cfg Config, baseURL string) func(a *catalog.Asset) map[string]string {
	cfg = cfg.withDefaults()
	size := cfg.ThumbSizes[0]
	for _, s := range cfg.ThumbSizes {
		if abs(s-400) < abs(size-400) {
			size = s
		}
	}
	thumb := ThumbName(size, false)
	return func(a *catalog.Asset) map[string]string {
		if !IsImage(a) || a.State == catalog.StateDeleted {
			return nil
		}
		return map[string]string{
			"thumbnail": baseURL + "/api/v1/assets/" + a.ID + "/derivatives/" + thumb,
			"iiif":      baseURL + "/iiif/3/" + a.ID + "/info.json",
		}
	}
}

func abs(n int) int { return max(n, -n) }
