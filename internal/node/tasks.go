package node

import (
	"stor/internal/av"
	"stor/internal/config"
	"stor/internal/pipeline"
)

// Tasks lists the processing tasks this build runs, after the built-in
// "analyze". Each media feature adds its tasks here.
func Tasks(cfg config.Config) []pipeline.Task {
	var ts []pipeline.Task
	ts = append(ts, av.Tasks(av.Options{})...)
	return ts
}
