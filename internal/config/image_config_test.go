package config

import (
	"flag"
	"slices"
	"strings"
	"testing"
)

func TestImageSettings(t *testing.T) {
	c := Default()
	if c.MaxImagePixels != 1<<30 || !slices.Equal(c.ThumbnailSizes, IntList{150, 400, 1024}) ||
		c.PyramidMinSize != 2048 || c.ThumbnailQuality != 80 {
		t.Fatalf("defaults %+v", c)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse([]string{"--pyramid-min-size=4096"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"STOR_MAX_IMAGE_PIXELS": "500000000", "STOR_THUMBNAIL_SIZES": "800, 200,200",
		"STOR_PYRAMID_MIN_SIZE": "1000", "STOR_THUMBNAIL_QUALITY": "72",
	}
	if err := c.Resolve(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.MaxImagePixels != 500e6 || !slices.Equal(c.ThumbnailSizes, IntList{200, 800}) ||
		c.PyramidMinSize != 4096 || c.ThumbnailQuality != 72 {
		t.Fatalf("resolved %+v", c)
	}

	bad := Default()
	bad.MaxImagePixels, bad.ThumbnailSizes, bad.PyramidMinSize, bad.ThumbnailQuality = 0, IntList{8}, 100, 101
	err := bad.Validate()
	for _, want := range []string{"max-image-pixels (STOR_MAX_IMAGE_PIXELS)", "thumbnail-sizes (STOR_THUMBNAIL_SIZES): 8",
		"pyramid-min-size (STOR_PYRAMID_MIN_SIZE)", "thumbnail-quality (STOR_THUMBNAIL_QUALITY): 101"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v; want it to name %s", err, want)
		}
	}
	var l IntList
	if err := l.Set("150,x"); err == nil {
		t.Error("IntList accepted 150,x")
	}
}
