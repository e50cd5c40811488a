package node

import (
	"fmt"
	"path/filepath"

	"stor/internal/config"
	"stor/internal/exiftool"
	"stor/internal/metatask"
	"stor/internal/pipeline"
	"stor/internal/pronom"
)

// Tools are the engines started once per process and shared by the tasks
// and the routes; Open starts them, Close stops them.
type Tools struct {
	Exif   *exiftool.Pool     // long-lived exiftool processes
	PRONOM *pronom.Identifier // siegfried with embedded signatures, warmed
}

// Tasks lists the processing tasks this build runs, after the built-in
// "analyze". Each media feature adds its tasks here.
func Tasks(cfg config.Config, tools Tools) []pipeline.Task {
	var ts []pipeline.Task
	ts = append(ts, metatask.Tasks(metaConfig(cfg), tools.Exif, tools.PRONOM)...)
	return ts
}

// metaConfig is the metadata, identification and text tasks' part of the
// configuration.
func metaConfig(cfg config.Config) metatask.Config {
	mc := metatask.DefaultConfig()
	mc.OCRLanguages = cfg.OCRLanguages
	mc.ExiftoolTimeout = cfg.ExiftoolTimeout
	return mc
}

// openTools starts the per-process engines.
func openTools(cfg config.Config) (Tools, error) {
	var t Tools
	var err error
	t.Exif, err = exiftool.NewPool(exiftool.Config{Size: cfg.ExiftoolProcesses, Timeout: cfg.ExiftoolTimeout,
		Binary: cfg.ExiftoolBinary, TempDir: filepath.Join(cfg.DataDir, "tmp")})
	if err != nil {
		return t, fmt.Errorf("metadata: %w", err)
	}
	if t.PRONOM, err = pronom.New(); err != nil {
		t.Close()
		return t, fmt.Errorf("identification: %w", err)
	}
	return t, nil
}

// Close stops the engines.
func (t Tools) Close() error {
	if t.Exif != nil {
		return t.Exif.Close()
	}
	return nil
}
