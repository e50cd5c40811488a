package node

import (
	"stor/internal/config"
	"stor/internal/imagetask"
	"stor/internal/pipeline"
	"stor/internal/vips"
)

// Tasks lists the processing tasks this build runs, after the built-in
// "analyze". Each media feature adds its tasks here.
func Tasks(cfg config.Config, eng *vips.Engine) []pipeline.Task {
	var ts []pipeline.Task
	ts = append(ts, imagetask.Tasks(imageConfig(cfg), eng)...)
	return ts
}

// imageConfig is the image tasks' part of the configuration.
func imageConfig(cfg config.Config) imagetask.Config {
	ic := imagetask.DefaultConfig()
	ic.MaxPixels = cfg.MaxImagePixels
	ic.ThumbSizes = cfg.ThumbnailSizes
	ic.PyramidMinSize = cfg.PyramidMinSize
	return ic
}
